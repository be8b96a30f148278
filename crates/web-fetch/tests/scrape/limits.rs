//! Per-fetch limits: body size, content type, redirects, robots.txt, time.

use crate::support::{LOCALHOST, config_for, domain, html};
use partneros_domain::analysis::site::{Source, SourceStatus};
use partneros_web_fetch::{FetchError, Fetcher, MAX_BODY_BYTES, Scraper};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn url(s: &str) -> Url {
    Url::parse(s).expect("a URL")
}

fn source(url: &str, status: SourceStatus) -> Source {
    Source {
        url: url.to_owned(),
        status,
    }
}

async fn mount(server: &MockServer, p: &str, response: ResponseTemplate) {
    Mock::given(path(p))
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_body_over_the_cap_is_failed() {
    let server = MockServer::start().await;
    let big = format!(
        "<html><body>{}</body></html>",
        "x".repeat(MAX_BODY_BYTES + 1)
    );
    mount(&server, "/big", html(&big)).await;
    let at_cap = format!("<title>ok</title>{}", " ".repeat(MAX_BODY_BYTES - 17));
    mount(&server, "/at-cap", html(&at_cap)).await;
    let fetcher = Fetcher::new(&config_for(*server.address(), &["acme.test"]));

    assert_eq!(
        fetcher.fetch(&url("http://acme.test/big")).await.err(),
        Some(FetchError::TooLarge)
    );
    let doc = fetcher
        .fetch(&url("http://acme.test/at-cap"))
        .await
        .expect("exactly the cap");
    assert_eq!(doc.body.len(), MAX_BODY_BYTES);
}

/// An endless chunked HTML body with no Content-Length: only cutting the stream ends the fetch.
/// Returns the address and the bytes the server managed to write before the client hung up.
async fn endless_body_server() -> (SocketAddr, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(LOCALHOST, 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let written = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&written);
    let task = tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf).await;
        let head =
            b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\n\r\n";
        if stream.write_all(head).await.is_err() {
            return;
        }
        let payload = vec![b'a'; 64 * 1024];
        let chunk = [
            format!("{:x}\r\n", payload.len()).into_bytes(),
            payload,
            b"\r\n".to_vec(),
        ]
        .concat();
        // Stops when the client closes the connection (or after 1 GiB, which would fail the test).
        while counter.load(Ordering::SeqCst) < 1 << 30 {
            if stream.write_all(&chunk).await.is_err() {
                return;
            }
            counter.fetch_add(chunk.len(), Ordering::SeqCst);
        }
    });
    (addr, written, task)
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap() {
    let (addr, written, server) = endless_body_server().await;
    let fetcher = Fetcher::new(&config_for(addr, &["stream.test"]));

    let started = Instant::now();
    let result = fetcher.fetch(&url("http://stream.test/")).await;
    assert_eq!(result.err(), Some(FetchError::TooLarge));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "cut, not timed out"
    );
    // The client hung up: the server's writes fail soon after, well short of the 1 GiB it offers.
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server saw the connection closed")
        .expect("server task");
    let sent = written.load(Ordering::SeqCst);
    assert!(sent >= MAX_BODY_BYTES, "{sent}");
    assert!(
        sent < 64 * 1024 * 1024,
        "{sent} bytes written: the stream was not cut"
    );
}

#[tokio::test]
async fn only_html_is_accepted() {
    let server = MockServer::start().await;
    mount(
        &server,
        "/data",
        ResponseTemplate::new(200).set_body_raw(b"{}".to_vec(), "application/json"),
    )
    .await;
    mount(
        &server,
        "/bare",
        ResponseTemplate::new(200).set_body_bytes(b"<p>no type</p>".to_vec()),
    )
    .await;
    mount(
        &server,
        "/xhtml-ish",
        ResponseTemplate::new(200).set_body_raw(b"<p>x</p>".to_vec(), "text/plain; charset=utf-8"),
    )
    .await;
    mount(
        &server,
        "/html-upper",
        ResponseTemplate::new(200)
            .set_body_raw(b"<title>T</title>".to_vec(), "Text/HTML; Charset=UTF-8"),
    )
    .await;
    mount(&server, "/missing", ResponseTemplate::new(404)).await;
    let fetcher = Fetcher::new(&config_for(*server.address(), &["acme.test"]));

    for p in ["/data", "/bare", "/xhtml-ish"] {
        let result = fetcher.fetch(&url(&format!("http://acme.test{p}"))).await;
        assert!(
            matches!(result, Err(FetchError::NotHtml(_))),
            "{p}: {result:?}"
        );
    }
    assert!(
        fetcher
            .fetch(&url("http://acme.test/html-upper"))
            .await
            .is_ok()
    );
    assert_eq!(
        fetcher.fetch(&url("http://acme.test/missing")).await.err(),
        Some(FetchError::Status(404))
    );

    // Through the scraper, a non-HTML home page is a failed source, and no fallback follows an
    // answer.
    mount(
        &server,
        "/",
        ResponseTemplate::new(200).set_body_raw(b"%PDF-1.7".to_vec(), "application/pdf"),
    )
    .await;
    let snapshot = Scraper::new(&config_for(*server.address(), &["acme.test"]))
        .scrape(&domain("acme.test"))
        .await;
    assert!(snapshot.pages.is_empty());
    assert_eq!(
        snapshot.sources,
        [
            source("https://acme.test/", SourceStatus::Failed),
            source("http://acme.test/", SourceStatus::Failed),
        ]
    );
}

#[tokio::test]
async fn at_most_five_redirects_are_followed() {
    let server = MockServer::start().await;
    for i in 0..6 {
        mount(
            &server,
            &format!("/hop{i}"),
            ResponseTemplate::new(if i % 2 == 0 { 302 } else { 308 })
                .insert_header("location", format!("/hop{}", i + 1).as_str()),
        )
        .await;
    }
    mount(&server, "/hop6", html("<title>End</title>")).await;
    mount(
        &server,
        "/loop",
        ResponseTemplate::new(301).insert_header("location", "/loop"),
    )
    .await;
    mount(&server, "/nowhere", ResponseTemplate::new(302)).await;
    let fetcher = Fetcher::new(&config_for(*server.address(), &["acme.test"]));

    let five = fetcher
        .fetch(&url("http://acme.test/hop1"))
        .await
        .expect("5 redirects");
    assert_eq!(five.url.as_str(), "http://acme.test/hop6");
    assert_eq!(
        fetcher.fetch(&url("http://acme.test/hop0")).await.err(),
        Some(FetchError::TooManyRedirects)
    );
    assert_eq!(
        fetcher.fetch(&url("http://acme.test/loop")).await.err(),
        Some(FetchError::TooManyRedirects)
    );
    assert_eq!(
        fetcher.fetch(&url("http://acme.test/nowhere")).await.err(),
        Some(FetchError::BadRedirect)
    );
    let loops = server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .filter(|r| r.url.path() == "/loop")
        .count();
    assert_eq!(loops, 6, "the first request and 5 redirects");
}

async fn requested_paths(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect()
}

#[tokio::test]
async fn robots_txt_disallowing_everything_stops_before_the_page() {
    let server = MockServer::start().await;
    mount(
        &server,
        "/robots.txt",
        ResponseTemplate::new(200).set_body_string(
            "User-agent: Googlebot\nAllow: /\n\nUser-agent: PartnerOS-Analyzer\nDisallow: /\n",
        ),
    )
    .await;
    mount(&server, "/", html("<title>Home</title>")).await;
    let scraper = Scraper::new(&config_for(*server.address(), &["acme.test"]));

    let snapshot = scraper.scrape(&domain("acme.test")).await;

    assert!(snapshot.pages.is_empty());
    assert_eq!(
        snapshot.sources,
        [
            source("https://acme.test/", SourceStatus::Failed),
            source("http://acme.test/", SourceStatus::RobotsDisallowed),
        ]
    );
    assert_eq!(requested_paths(&server).await, ["/robots.txt"]);
}

#[tokio::test]
async fn robots_txt_rules_apply_per_path_and_errors_follow_rfc_9309() {
    // Disallowed company page: never requested.
    let server = MockServer::start().await;
    mount(
        &server,
        "/robots.txt",
        ResponseTemplate::new(200).set_body_string("User-agent: *\nDisallow: /about\n"),
    )
    .await;
    mount(
        &server,
        "/",
        html("<title>Home</title><a href=\"/about\">About</a><a href=\"/services\">Services</a>"),
    )
    .await;
    mount(&server, "/services", html("<title>Services</title>")).await;
    let snapshot = Scraper::new(&config_for(*server.address(), &["acme.test"]))
        .scrape(&domain("acme.test"))
        .await;
    assert_eq!(
        snapshot.sources,
        [
            source("https://acme.test/", SourceStatus::Failed),
            source("http://acme.test/", SourceStatus::Fetched),
            source("http://acme.test/about", SourceStatus::RobotsDisallowed),
            source("http://acme.test/services", SourceStatus::Fetched),
        ]
    );
    assert_eq!(snapshot.pages.len(), 2);
    let mut paths = requested_paths(&server).await;
    paths.sort();
    assert_eq!(
        paths,
        ["/", "/robots.txt", "/services"],
        "robots.txt once, /about never"
    );

    // A 5xx robots.txt disallows everything; a 404 allows everything.
    for (status, expected) in [
        (503, SourceStatus::RobotsDisallowed),
        (404, SourceStatus::Fetched),
    ] {
        let server = MockServer::start().await;
        mount(&server, "/robots.txt", ResponseTemplate::new(status)).await;
        mount(&server, "/", html("<title>Home</title>")).await;
        let snapshot = Scraper::new(&config_for(*server.address(), &["acme.test"]))
            .scrape(&domain("acme.test"))
            .await;
        assert_eq!(
            snapshot.sources.last(),
            Some(&source("http://acme.test/", expected)),
            "robots.txt {status}"
        );
    }
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = MockServer::start().await;
    mount(
        &server,
        "/slow",
        html("<title>Late</title>").set_delay(Duration::from_secs(3)),
    )
    .await;
    mount(&server, "/quick", html("<title>Quick</title>")).await;
    let mut config = config_for(*server.address(), &["acme.test"]);
    config.fetch_timeout = Duration::from_millis(300);
    let fetcher = Fetcher::new(&config);

    let started = Instant::now();
    assert_eq!(
        fetcher.fetch(&url("http://acme.test/slow")).await.err(),
        Some(FetchError::Timeout)
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(fetcher.fetch(&url("http://acme.test/quick")).await.is_ok());
}
