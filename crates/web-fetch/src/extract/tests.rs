use super::*;
use partneros_domain::analysis::site::{EmployeeCount, JsonLdOrganization};

pub(crate) const HOME: &str = include_str!("../../tests/fixtures/home.html");
pub(crate) const ABOUT: &str = include_str!("../../tests/fixtures/about.html");
pub(crate) const SERVICES: &str = include_str!("../../tests/fixtures/services.html");
pub(crate) const PARTNERS: &str = include_str!("../../tests/fixtures/partners.html");

fn url(s: &str) -> Url {
    Url::parse(s).expect("a URL")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn home_page_with_meta_open_graph_hreflang_headings_and_main_text() {
    let (page, links) = page(&url("http://acme.test/"), HOME);
    assert_eq!(
        page,
        PageExtract {
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
        }
    );
    let links: Vec<(String, String)> = links
        .into_iter()
        .map(|l| (l.url.to_string(), l.text))
        .collect();
    let expected = [
        ("http://acme.test/about", "About us"),
        ("http://acme.test/about", "Our team"),
        ("http://acme.test/services", "Services"),
        ("http://www.acme.test/partners", "Partners"),
        ("http://acme.test/kontakt", "Kontakt"),
        ("http://acme.test/privacy", "Privacy"),
        ("http://acme.test/blog", "Blog"),
        ("https://other.test/about", "About them"),
        ("http://acme.test/", "Top"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(u, t)| ((*u).to_owned(), (*t).to_owned()))
        .collect();
    assert_eq!(links, expected);
}

#[test]
fn german_page_with_json_ld_in_a_graph() {
    let (page, links) = page(&url("http://acme.test/about"), ABOUT);
    assert_eq!(
        page,
        PageExtract {
            url: "http://acme.test/about".into(),
            title: Some("Über uns – Acme".into()),
            meta_description: Some("Acme GmbH ist ein Cloud-Beratungshaus aus München.".into()),
            og_description: None,
            og_site_name: None,
            lang: Some("de".into()),
            hreflangs: vec![],
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
        }
    );
    assert!(links.is_empty());
}

#[test]
fn page_with_only_a_title() {
    let (page, links) = page(&url("http://acme.test/services"), SERVICES);
    assert_eq!(
        page,
        PageExtract {
            url: "http://acme.test/services".into(),
            title: Some("Services".into()),
            ..PageExtract::default()
        }
    );
    assert!(links.is_empty());
}

#[test]
fn page_with_hreflang_alternates_and_an_article() {
    let (page, _) = page(&url("http://www.acme.test/partners"), PARTNERS);
    assert_eq!(
        page,
        PageExtract {
            url: "http://www.acme.test/partners".into(),
            title: Some("Partners | Acme".into()),
            lang: Some("en".into()),
            hreflangs: strings(&["en-GB", "de-AT"]),
            headings: strings(&["Partner programme"]),
            text: "Partner programme We partner with AWS and Microsoft.".into(),
            ..PageExtract::default()
        }
    );
}

#[test]
fn empty_and_garbage_documents_yield_empty_extracts() {
    for html in [
        "",
        "not html at all <<<>>>",
        "<html><body></body></html>",
        "\u{0}\u{1}",
    ] {
        let (page, links) = page(&url("https://acme.test/"), html);
        assert_eq!(page.title, None, "{html:?}");
        assert_eq!(page.organization, None, "{html:?}");
        assert!(page.headings.is_empty(), "{html:?}");
        assert!(links.is_empty(), "{html:?}");
    }
    let (page, _) = page(&url("https://acme.test/"), "not html at all");
    assert_eq!(page.text, "not html at all");
}

#[test]
fn fields_are_bounded() {
    let long = "word ".repeat(2_000);
    let headings: String = (0..80)
        .map(|i| format!("<h2>Heading {i} {long}</h2>"))
        .collect();
    let html = format!(
        "<html><head><title>{long}</title><meta name=description content='{long}'>\
         <meta property='og:site_name' content='{long}'></head><body>{headings}\
         <p>{long}{long}{long}{long}</p></body></html>"
    );
    let (page, _) = page(&url("https://acme.test/"), &html);
    let chars = |s: &Option<String>| s.as_deref().map_or(0, |s| s.chars().count());
    assert!((TITLE_MAX - 5..=TITLE_MAX).contains(&chars(&page.title)));
    assert!((DESCRIPTION_MAX - 5..=DESCRIPTION_MAX).contains(&chars(&page.meta_description)));
    assert!(chars(&page.og_site_name) <= TITLE_MAX);
    assert_eq!(page.headings.len(), HEADINGS_MAX);
    assert!(
        page.headings
            .iter()
            .all(|h| h.chars().count() <= HEADING_MAX)
    );
    assert!(page.headings[0].starts_with("Heading 0 word word"));
    let text = page.text.chars().count();
    assert!(
        (PAGE_TEXT_MAX - 5..=PAGE_TEXT_MAX).contains(&text),
        "{text}"
    );
}

#[test]
fn meta_variants_and_json_ld_type_parameters() {
    let html = r#"<html xml:lang="fr"><head>
        <meta name="og:description" content="  ">
        <meta name="og:description" content="Second wins when first is blank">
        <meta property="description" content="Property works too">
        <script type="application/ld+json; charset=utf-8">
          [{"@type": "OnlineBusiness", "name": "Shop", "numberOfEmployees": "11-50",
            "knowsLanguage": "fr"}]
        </script>
        <script type="text/javascript">{"@type": "Organization", "name": "Not JSON-LD"}</script>
        </head><body></body></html>"#;
    let (page, _) = page(&url("https://acme.test/"), html);
    assert_eq!(page.lang.as_deref(), Some("fr"));
    assert_eq!(
        page.og_description.as_deref(),
        Some("Second wins when first is blank")
    );
    assert_eq!(page.meta_description.as_deref(), Some("Property works too"));
    let org = page.organization.expect("an organization");
    assert_eq!(org.name.as_deref(), Some("Shop"));
    assert_eq!(
        org.employees,
        Some(EmployeeCount {
            value: None,
            min: Some(11),
            max: Some(50)
        })
    );
    assert_eq!(org.languages, ["fr"]);
}

#[test]
fn links_resolve_against_base_and_skip_non_web_schemes() {
    let html = r#"<html><head><base href="https://acme.test/en/"></head><body>
        <a href="about">About</a>
        <a href=" /contact?x=1#form ">Contact</a>
        <a href="javascript:alert(1)">JS</a>
        <a href="tel:+49">Call</a>
        <a href="ftp://acme.test/file">FTP</a>
        <a href="https://acme.test/partners" aria-label="Partners"><img src="p.png"></a>
        </body></html>"#;
    let (_, links) = page(&url("https://acme.test/"), html);
    let got: Vec<(String, String)> = links
        .into_iter()
        .map(|l| (l.url.to_string(), l.text))
        .collect();
    assert_eq!(
        got,
        [
            ("https://acme.test/en/about".to_owned(), "About".to_owned()),
            (
                "https://acme.test/contact?x=1".to_owned(),
                "Contact".to_owned()
            ),
            (
                "https://acme.test/partners".to_owned(),
                "Partners".to_owned()
            ),
        ]
    );
}

#[test]
fn pathologically_nested_documents_are_cut_not_parsed_for_minutes() {
    let html = format!(
        "<title>Deep</title><p>start</p>{}deep{}",
        "<div>".repeat(200_000),
        "</div>".repeat(200_000)
    );
    let started = std::time::Instant::now();
    let (page, _) = page(&url("https://acme.test/"), &html);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(page.title.as_deref(), Some("Deep"));
    assert_eq!(page.text, "start");
}
