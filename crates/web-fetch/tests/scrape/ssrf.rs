//! The SSRF guard with the strict policy: nothing reaches a loopback server that is not
//! allow-listed. (Non-loopback private addresses are checked without any network traffic: the
//! tests never send a packet anywhere but 127.0.0.0/8 and ::1, even if the guard were broken.)

use crate::support::{
    CountingServer, LOCALHOST, config_for, domain, mock_and_counter_on_same_port,
};
use partneros_domain::analysis::site::{Source, SourceStatus};
use partneros_web_fetch::{
    AddressClass, FetchError, Fetcher, Refusal, Scraper, ScraperConfig, StaticResolver,
};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use url::Url;
use wiremock::matchers::path;
use wiremock::{Mock, ResponseTemplate};

fn url(s: &str) -> Url {
    Url::parse(s).expect("a URL")
}

/// The strict guard, but with the counting server's port as the http/https port, so that only the
/// address rules (not the port rule) stand between the scraper and the server.
fn strict_on_port(port: u16, resolver: StaticResolver) -> ScraperConfig {
    ScraperConfig {
        resolver: Arc::new(resolver),
        http_port: port,
        https_port: port,
        ..ScraperConfig::default()
    }
}

fn assert_blocked(
    result: Result<impl std::fmt::Debug, FetchError>,
    class: AddressClass,
    what: &str,
) {
    match result {
        Err(FetchError::Blocked(Refusal::Address(_, c))) if c == class => {}
        other => panic!("{what}: expected blocked as {class:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn ip_literal_urls_are_blocked_before_any_connection() {
    let v4 = CountingServer::bind(SocketAddr::new(LOCALHOST, 0))
        .await
        .expect("a loopback server");
    let port = v4.addr.port();
    let v6 = CountingServer::bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)).await;
    let fetcher = Fetcher::new(&strict_on_port(port, StaticResolver::new()));

    let mut urls = vec![
        "http://127.0.0.1/".to_owned(),
        format!("http://127.0.0.1:{port}/"),
        "https://127.0.0.1/".to_owned(),
        "http://2130706433/".to_owned(),
        "http://0177.0.0.1/".to_owned(),
        "http://0x7f.0.0.1/".to_owned(),
        "http://127.1/".to_owned(),
        "http://[::ffff:127.0.0.1]/".to_owned(),
    ];
    if v6.is_some() {
        urls.push("http://[::1]/".to_owned());
    }
    for u in &urls {
        assert_blocked(fetcher.fetch(&url(u)).await, AddressClass::Loopback, u);
    }
    assert_eq!(v4.connections(), 0);
    v4.assert_counts_a_direct_connection().await;
    if let Some(v6) = v6 {
        assert_eq!(v6.connections(), 0);
        v6.assert_counts_a_direct_connection().await;
    }

    // Other private literals: the same check, without any traffic.
    for (u, class) in [
        ("http://10.0.0.1/", AddressClass::Private),
        (
            "http://169.254.169.254/latest/meta-data/",
            AddressClass::Metadata,
        ),
        ("http://192.168.1.1/", AddressClass::Private),
        ("http://100.64.0.1/", AddressClass::SharedAddressSpace),
        ("http://[fd00:ec2::254]/", AddressClass::Metadata),
        ("http://[fe80::1]/", AddressClass::LinkLocal),
        ("http://[::ffff:10.0.0.1]/", AddressClass::Private),
    ] {
        assert_blocked(fetcher.checked_addrs(&url(u)).await, class, u);
    }
}

#[tokio::test]
async fn names_resolving_to_loopback_are_blocked_and_the_snapshot_says_so() {
    let server = CountingServer::bind(SocketAddr::new(LOCALHOST, 0))
        .await
        .expect("a loopback server");
    let mapped: IpAddr = "::ffff:127.0.0.1".parse().expect("ip");
    let resolver = StaticResolver::new()
        .with("loopback.test", [LOCALHOST])
        .with("mapped.test", [mapped])
        .with(
            "mixed.test",
            [LOCALHOST, IpAddr::V6(Ipv6Addr::LOCALHOST), mapped],
        );
    let scraper = Scraper::new(&strict_on_port(server.addr.port(), resolver));

    for name in ["loopback.test", "mapped.test", "mixed.test"] {
        let snapshot = scraper.scrape(&domain(name)).await;
        assert!(snapshot.pages.is_empty(), "{name}");
        assert_eq!(
            snapshot.sources,
            [
                Source {
                    url: format!("https://{name}/"),
                    status: SourceStatus::Blocked
                },
                Source {
                    url: format!("http://{name}/"),
                    status: SourceStatus::Blocked
                },
            ],
            "{name}"
        );
    }
    assert_eq!(server.connections(), 0);
    server.assert_counts_a_direct_connection().await;
}

#[tokio::test]
async fn names_resolving_to_private_addresses_are_refused() {
    let ip = |s: &str| -> IpAddr { s.parse().expect("ip") };
    let resolver = StaticResolver::new()
        .with("intranet.test", [ip("10.1.2.3")])
        .with("metadata.test", [ip("169.254.169.254")])
        .with("cgnat.test", [ip("100.100.100.200")])
        .with("ula.test", [ip("fd12::1")])
        .with("doc.test", [ip("192.0.2.10"), ip("2001:db8::1")])
        .with("broadcast.test", [ip("255.255.255.255")])
        .with("empty.test", []);
    let fetcher = Fetcher::new(&ScraperConfig {
        resolver: Arc::new(resolver),
        ..ScraperConfig::default()
    });
    for (name, class) in [
        ("intranet.test", AddressClass::Private),
        ("metadata.test", AddressClass::Metadata),
        ("cgnat.test", AddressClass::SharedAddressSpace),
        ("ula.test", AddressClass::UniqueLocal),
        ("doc.test", AddressClass::Documentation),
        ("broadcast.test", AddressClass::Broadcast),
    ] {
        let u = url(&format!("https://{name}/"));
        assert_blocked(fetcher.checked_addrs(&u).await, class, name);
    }
    assert_eq!(
        fetcher
            .checked_addrs(&url("https://empty.test/"))
            .await
            .err(),
        Some(FetchError::Blocked(Refusal::NoAddress))
    );
    // Bad ports and schemes are refused before resolution.
    assert_eq!(
        fetcher
            .fetch(&url("http://intranet.test:8080/"))
            .await
            .err(),
        Some(FetchError::Blocked(Refusal::Port(8080)))
    );
    assert_eq!(
        fetcher.fetch(&url("file:///etc/passwd")).await.err(),
        Some(FetchError::Blocked(Refusal::Scheme("file".into())))
    );
}

#[tokio::test]
async fn a_public_site_redirecting_to_loopback_is_blocked_at_the_hop() {
    let loopback2: IpAddr = "127.0.0.2".parse().expect("ip");
    let (site, inside) = mock_and_counter_on_same_port(loopback2).await;
    let port = site.address().port();
    for (from, to) in [
        ("/", "http://127.0.0.2/".to_owned()),
        ("/via-name", "http://internal.test/admin".to_owned()),
        ("/via-mapped", "http://[::ffff:127.0.0.2]/".to_owned()),
        ("/via-decimal", "http://2130706434/".to_owned()),
        ("/via-port", "http://127.0.0.2:22/".to_owned()),
        ("/hop", "/via-name".to_owned()),
        ("/fine", "/landing".to_owned()),
    ] {
        Mock::given(path(from))
            .respond_with(ResponseTemplate::new(302).insert_header("location", to.as_str()))
            .mount(&site)
            .await;
    }
    Mock::given(path("/landing"))
        .respond_with(crate::support::html("<title>Landing</title>"))
        .mount(&site)
        .await;
    let mut config = config_for(*site.address(), &["acme.test"]);
    config.resolver = Arc::new(
        StaticResolver::new()
            .with("acme.test", [LOCALHOST])
            .with("internal.test", [loopback2]),
    );
    let scraper = Scraper::new(&config);

    let snapshot = scraper.scrape(&domain("acme.test")).await;
    assert!(snapshot.pages.is_empty());
    assert_eq!(
        snapshot.sources,
        [
            Source {
                url: "https://acme.test/".into(),
                status: SourceStatus::Failed
            },
            Source {
                url: "http://acme.test/".into(),
                status: SourceStatus::Blocked
            },
        ]
    );
    let fetcher = scraper.fetcher();
    for p in ["/via-name", "/via-mapped", "/via-decimal", "/hop"] {
        let u = url(&format!("http://acme.test{p}"));
        assert_blocked(fetcher.fetch(&u).await, AddressClass::Loopback, p);
    }
    assert_eq!(
        fetcher.fetch(&url("http://acme.test/via-port")).await.err(),
        Some(FetchError::Blocked(Refusal::Port(22)))
    );
    // The control: redirects within the allowed site are followed.
    let landing = fetcher
        .fetch(&url("http://acme.test/fine"))
        .await
        .expect("followed");
    assert_eq!(landing.url.as_str(), "http://acme.test/landing");

    assert_eq!(inside.connections(), 0, "nothing reached 127.0.0.2:{port}");
    inside.assert_counts_a_direct_connection().await;
    let asked: Vec<String> = site
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert!(
        asked.contains(&"/".to_owned()),
        "the public site was asked: {asked:?}"
    );
}
