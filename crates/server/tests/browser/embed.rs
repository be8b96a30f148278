//! The embed (`GET /embed.js`) on a customer's page of another origin: the page is served by a
//! tiny server of its own at `http://localhost:<port>` (the service is at
//! `http://127.0.0.1:<port>`), with a strict Content-Security-Policy that allows the service in
//! `script-src` and `frame-src` and nothing inline.

use super::app::TestApp;
use super::{Browser, WAIT};
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;
use std::time::{Duration, Instant};

const FORM: &str = r#"iframe[data-partneros-form="embed-form"]"#;
const MISSING: &str = r#"iframe[data-partneros-form="embed-missing"]"#;
/// A plain iframe of a hosted page, not made by the embed: it reports its height too (it is
/// framed), and nobody listens.
const PLAIN: &str = "#plain-frame";

/// The customer's site: one page at `/`; stopped when dropped.
struct CustomerSite {
    origin: String,
    server: ServerHandle,
}

impl CustomerSite {
    async fn start(service: &str) -> Self {
        let page = format!(
            r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Acme partners</title></head>
<body>
<h1>Partner with Acme</h1>
<p>Fill in the form below.</p>
<script src="{service}/embed.js" data-form="embed-form" data-ref="embed-partner" async></script>
<p id="between">Another form that no longer exists:</p>
<script src="{service}/embed.js" data-form="embed-missing" data-title="Old form" async></script>
<iframe id="plain-frame" title="Plain" src="{service}/apply/embed-missing"></iframe>
<footer>Acme Inc.</footer>
</body>
</html>"#
        );
        let csp = format!(
            "default-src 'none'; script-src {service}; frame-src {service}; style-src 'none'"
        );
        let server = HttpServer::new(move || {
            let (page, csp) = (page.clone(), csp.clone());
            App::new().route(
                "/",
                web::get().to(move || {
                    let (page, csp) = (page.clone(), csp.clone());
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .insert_header(("content-security-policy", csp))
                            .body(page)
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("bind the customer's site");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            origin: format!("http://localhost:{port}"),
            server: handle,
        }
    }
}

impl Drop for CustomerSite {
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}

/// (e) Two embeds on a customer's page: each iframe appears after its tag and takes its own
/// content's height; messages from the page itself or from another iframe of the service do
/// not resize them; the form is filled and submitted inside its iframe (attributed to the tag's
/// `data-ref`), and the iframe follows the form as errors and then the confirmation change its
/// height.
pub async fn embeds_the_form_on_another_origin(app: &TestApp, b: &Browser) {
    let owner = app.owner("embed").await;
    let confirmation = "Thanks! Your application reached Acme.";
    let application = app
        .create_application(&owner, "embed-form", confirmation)
        .await;
    let application_id = application["id"].as_str().unwrap();
    let agreement_id = application["agreements"][0]["id"].as_str().unwrap();
    let site = CustomerSite::start(&app.address).await;

    b.client
        .goto(&format!("{}/", site.origin))
        .await
        .expect("open the customer's page");
    b.wait_for(FORM).await;
    b.wait_for(MISSING).await;
    let placed = b
        .client
        .execute(
            "const s = document.querySelectorAll('script[data-form]');\
             return Array.from(s).map(t => {\
               const f = t.nextElementSibling;\
               return f && f.tagName === 'IFRAME' ? [f.title, f.src] : null;\
             });",
            vec![],
        )
        .await
        .expect("read the iframes");
    assert_eq!(
        placed,
        json!([
            [
                "Partner application form",
                format!("{}/apply/embed-form?embed=1&ref=embed-partner", app.address)
            ],
            [
                "Old form",
                format!("{}/apply/embed-missing?embed=1", app.address)
            ]
        ]),
        "each iframe follows its tag"
    );

    in_frame(b, FORM, || b.wait_for("#application-form")).await;
    in_frame(b, MISSING, || b.wait_for("#not-available")).await;
    let form_height = settled_height(b, FORM).await;
    let missing_height = settled_height(b, MISSING).await;
    assert!(
        form_height > 480.0,
        "the form's iframe grew from its initial 480 px to the form: {form_height}"
    );
    assert!(
        missing_height > 100.0 && missing_height < form_height,
        "the second iframe has its own height: {missing_height} (form {form_height})"
    );
    b.screenshot("embed-loaded").await;

    // Forged resize messages: from the customer's page (wrong origin), and from a plain iframe
    // of the service (right origin, wrong window).
    b.client
        .execute(
            "window.postMessage({type: 'partneros:resize', height: 4321}, '*');",
            vec![],
        )
        .await
        .expect("post from the page");
    in_frame(b, PLAIN, || async {
        b.client
            .execute(
                "window.parent.postMessage({type: 'partneros:resize', height: 4321}, '*');",
                vec![],
            )
            .await
            .expect("post from another iframe");
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(frame_height(b, FORM).await, form_height);
    assert_eq!(frame_height(b, MISSING).await, missing_height);

    // Inside the iframe: a required field left empty adds errors, and the iframe grows with them.
    in_frame(b, FORM, || async {
        b.type_into("#field-email", "embed@example.com").await;
        b.find("#field-partnerType")
            .await
            .select_by_value("Technology")
            .await
            .expect("choose an option");
        b.click(&format!("#agreement-{agreement_id}")).await;
        b.click("#submit").await;
        assert!(!b.error_for("companyName").await.is_empty());
    })
    .await;
    let with_errors = settled_height(b, FORM).await;
    assert!(
        with_errors > form_height,
        "the iframe grew with the error messages: {with_errors} after {form_height}"
    );
    b.screenshot("embed-errors").await;

    in_frame(b, FORM, || async {
        b.type_into("#field-companyName", "Embedded Widgets").await;
        b.click("#submit").await;
        b.wait_for("#confirmation").await;
        assert!(b.text("#confirmation").await.contains(confirmation));
    })
    .await;
    let confirmed = settled_height(b, FORM).await;
    assert!(
        confirmed < with_errors,
        "the iframe shrank to the confirmation: {confirmed} after {with_errors}"
    );
    b.screenshot("embed-confirmation").await;

    let (status, body) = app
        .get(
            &format!("/api/partners/applications/{application_id}/submissions"),
            &owner,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let submissions = body["submissions"].as_array().expect("submissions");
    assert_eq!(submissions.len(), 1, "{body}");
    let s = &submissions[0];
    assert_eq!(s["formData"]["companyName"], "Embedded Widgets");
    assert_eq!(s["email"], "embed@example.com");
    assert_eq!(s["affiliateSlug"], "embed-partner");
    drop(site);
}

/// Runs `f` inside the iframe `frame` of the top-level page, then returns to the page.
async fn in_frame<F, Fut, T>(b: &Browser, frame: &str, f: F) -> T
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    b.find(frame)
        .await
        .enter_frame()
        .await
        .unwrap_or_else(|e| panic!("enter {frame}: {e}"));
    let out = f().await;
    b.client
        .enter_parent_frame()
        .await
        .expect("back to the customer's page");
    out
}

/// The iframe's height on the customer's page, in CSS pixels.
async fn frame_height(b: &Browser, frame: &str) -> f64 {
    b.client
        .execute(
            "return document.querySelector(arguments[0]).getBoundingClientRect().height;",
            vec![frame.into()],
        )
        .await
        .expect("measure the iframe")
        .as_f64()
        .expect("a height")
}

/// The height of the document inside the iframe: its content (the root element's box) and its
/// `scrollHeight`.
async fn document_heights(b: &Browser, frame: &str) -> (f64, f64) {
    let v = in_frame(b, frame, || async {
        b.client
            .execute(
                "const r = document.documentElement;\
                 return [r.getBoundingClientRect().height, r.scrollHeight];",
                vec![],
            )
            .await
            .expect("measure the document")
    })
    .await;
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

/// Waits until the iframe is as tall as its document's content, twice in a row; its height.
async fn settled_height(b: &Browser, frame: &str) -> f64 {
    let deadline = Instant::now() + WAIT;
    let mut previous = None;
    loop {
        let outer = frame_height(b, frame).await;
        let (content, scroll) = document_heights(b, frame).await;
        let fits = (outer - content).abs() <= 1.0 && (outer - scroll).abs() <= 1.0;
        if fits && previous == Some(outer) {
            return outer;
        }
        previous = fits.then_some(outer);
        assert!(
            Instant::now() < deadline,
            "{frame} is {outer} px tall, its document {content} px (scrollHeight {scroll})"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}
