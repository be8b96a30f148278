//! Extraction end to end through a fixture website.

use crate::support::{config_for, domain, html};
use partneros_domain::analysis::site::{
    EmployeeCount, JsonLdOrganization, PageExtract, Source, SourceStatus, WebScraper,
};
use partneros_web_fetch::{Scraper, USER_AGENT};
use std::sync::Arc;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HOME: &str = include_str!("../fixtures/home.html");
const ABOUT: &str = include_str!("../fixtures/about.html");
const SERVICES: &str = include_str!("../fixtures/services.html");
const PARTNERS: &str = include_str!("../fixtures/partners.html");

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn source(url: &str, status: SourceStatus) -> Source {
    Source {
        url: url.to_owned(),
        status,
    }
}

async fn fixture_site() -> MockServer {
    let server = MockServer::start().await;
    let routes = [
        (
            "/robots.txt",
            ResponseTemplate::new(200).set_body_string("User-agent: *\nDisallow: /private\n"),
        ),
        ("/", html(HOME)),
        ("/about", html(ABOUT)),
        ("/services", html(SERVICES)),
        ("/partners", html(PARTNERS)),
        ("/kontakt", ResponseTemplate::new(500)),
    ];
    for (p, response) in routes {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(response)
            .mount(&server)
            .await;
    }
    server
}

#[tokio::test]
async fn a_company_site_yields_its_home_and_company_pages() {
    let server = fixture_site().await;
    let config = config_for(*server.address(), &["acme.test", "www.acme.test"]);
    // Through the domain port, as the analysis use case holds it.
    let scraper: Arc<dyn WebScraper> = Arc::new(Scraper::new(&config));

    let snapshot = scraper.scrape(&domain("www.acme.test")).await;

    assert_eq!(
        snapshot.sources,
        [
            // The fixture server speaks no TLS: https fails, http is the fallback.
            source("https://acme.test/", SourceStatus::Failed),
            source("http://acme.test/", SourceStatus::Fetched),
            // Company pages in order of preference: about, services, partners, contact.
            source("http://acme.test/about", SourceStatus::Fetched),
            source("http://acme.test/services", SourceStatus::Fetched),
            source("http://www.acme.test/partners", SourceStatus::Fetched),
            source("http://acme.test/kontakt", SourceStatus::Failed),
        ]
    );
    let home = PageExtract {
        url: "http://acme.test/".into(),
        title: Some("Acme Cloud Consulting".into()),
        meta_description: Some("Acme helps mid-sized companies move to the cloud.".into()),
        og_description: Some("Cloud migration and managed services.".into()),
        og_site_name: Some("Acme".into()),
        lang: Some("en-US".into()),
        hreflangs: strings(&["en", "de", "fr-CA"]),
        organization: None,
        headings: strings(&["Acme Cloud", "Managed services"]),
        text: "Acme Cloud We move your workloads to the cloud. Managed services \
               24/7 operations for AWS and Azure."
            .into(),
    };
    let about = PageExtract {
        url: "http://acme.test/about".into(),
        title: Some("Über uns – Acme".into()),
        meta_description: Some("Acme GmbH ist ein Cloud-Beratungshaus aus München.".into()),
        lang: Some("de".into()),
        organization: Some(JsonLdOrganization {
            name: Some("Acme GmbH".into()),
            description: Some("Cloud-Beratung und Betrieb.".into()),
            employees: Some(EmployeeCount {
                value: None,
                min: Some(51),
                max: Some(200),
            }),
            countries: strings(&["DE", "Austria"]),
            area_served: strings(&["DE", "Switzerland", "Europe"]),
            languages: strings(&["de", "English"]),
        }),
        headings: strings(&["Über uns", "Unsere Geschichte"]),
        text: "Über uns Wir sind ein Team aus 120 Cloud-Expertinnen und -Experten. \
               Unsere Geschichte Gegründet 2009 in München."
            .into(),
        ..PageExtract::default()
    };
    let services = PageExtract {
        url: "http://acme.test/services".into(),
        title: Some("Services".into()),
        ..PageExtract::default()
    };
    let partners = PageExtract {
        url: "http://www.acme.test/partners".into(),
        title: Some("Partners | Acme".into()),
        lang: Some("en".into()),
        hreflangs: strings(&["en-GB", "de-AT"]),
        headings: strings(&["Partner programme"]),
        text: "Partner programme We partner with AWS and Microsoft.".into(),
        ..PageExtract::default()
    };
    assert_eq!(snapshot.pages, [home, about, services, partners]);

    let requests = server.received_requests().await.expect("recording is on");
    assert!(
        requests.iter().all(|r| r
            .headers
            .get("user-agent")
            .is_some_and(|ua| ua == USER_AGENT)),
        "every request carries the User-Agent"
    );
    let robots = requests
        .iter()
        .filter(|r| r.url.path() == "/robots.txt")
        .count();
    assert_eq!(
        robots, 2,
        "robots.txt once per origin (acme.test and www.acme.test)"
    );
    let paths: Vec<&str> = requests.iter().map(|r| r.url.path()).collect();
    for not_fetched in ["/blog", "/privacy"] {
        assert!(!paths.contains(&not_fetched), "{paths:?}");
    }
}

#[tokio::test]
async fn a_site_answering_only_over_http_with_a_redirect_to_www() {
    let server = MockServer::start().await;
    Mock::given(path("/"))
        .respond_with(
            ResponseTemplate::new(301).insert_header("location", "http://www.acme.test/start"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/start"))
        .respond_with(html(
            "<html lang=\"de\"><title>Start</title><a href=\"/ueber-uns\">Über uns</a></html>",
        ))
        .mount(&server)
        .await;
    Mock::given(path("/ueber-uns"))
        .respond_with(html(
            "<html lang=\"de\"><title>Über uns</title><p>Wir.</p></html>",
        ))
        .mount(&server)
        .await;
    let config = config_for(*server.address(), &["acme.test", "www.acme.test"]);

    let snapshot = Scraper::new(&config).scrape(&domain("acme.test")).await;

    assert_eq!(
        snapshot.sources,
        [
            source("https://acme.test/", SourceStatus::Failed),
            source("http://acme.test/", SourceStatus::Fetched),
            source("http://www.acme.test/ueber-uns", SourceStatus::Fetched),
        ]
    );
    let urls: Vec<&str> = snapshot.pages.iter().map(|p| p.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "http://www.acme.test/start",
            "http://www.acme.test/ueber-uns"
        ]
    );
    assert_eq!(snapshot.pages[1].text, "Wir.");
    assert_eq!(snapshot.pages[1].lang.as_deref(), Some("de"));
}

#[tokio::test]
async fn a_site_that_does_not_resolve_is_failed_not_an_error() {
    let server = MockServer::start().await;
    let config = config_for(*server.address(), &[]);
    let snapshot = Scraper::new(&config).scrape(&domain("nowhere.test")).await;
    assert!(snapshot.pages.is_empty());
    assert_eq!(
        snapshot.sources,
        [
            source("https://nowhere.test/", SourceStatus::Failed),
            source("http://nowhere.test/", SourceStatus::Failed),
        ]
    );
}
