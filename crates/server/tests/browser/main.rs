//! Browser test of the hosted application page `GET /apply/{slug}`, of its embed `GET /embed.js`
//! on a page of another origin, and of the invitation page: the real application with a fresh
//! database, driven through headless Chromium over WebDriver (fantoccini + chromedriver).
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`; other
//! paths via `CHROMIUM` / `CHROMEDRIVER`); without them the test fails, naming what is missing.
//! Screenshots and the chromedriver log go to `target/test-artifacts/`.
//!
//! One chromedriver and one browser session serve the whole binary, so the scenarios run in
//! order inside one test.

mod app;
mod driver;
mod embed;

use app::TestApp;
use driver::{Binaries, ChromeDriver};
use fantoccini::{Client, Locator};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_application_page() {
    let binaries = Binaries::find().expect(
        "chromium and chromedriver are needed: apt-get install chromium chromium-driver \
         (or set CHROMIUM / CHROMEDRIVER)",
    );
    let artifacts = artifacts_dir();
    let driver = ChromeDriver::start(&binaries, &artifacts).await;
    let app = app::spawn_app().await;
    let browser = Browser {
        client: driver.session().await,
        artifacts,
    };
    let outcome = AssertUnwindSafe(async {
        submits_a_complete_application(&app, &browser).await;
        shows_errors_next_to_fields_and_stores_nothing(&app, &browser).await;
        says_an_unknown_form_is_not_available(&app, &browser).await;
        accepts_invitations_for_new_and_existing_accounts(&app, &browser).await;
        embed::embeds_the_form_on_another_origin(&app, &browser).await;
    })
    .catch_unwind()
    .await;
    if outcome.is_err() {
        browser.save_failure().await;
    }
    // Close the session even after a failure, so no Chromium outlives the test.
    let _ = browser.client.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// (a) Every kind of input filled, the agreement ticked: the confirmation replaces the form and
/// exactly one submission is stored, attributed to the `?ref=` slug.
async fn submits_a_complete_application(app: &TestApp, b: &Browser) {
    let owner = app.owner("complete").await;
    let confirmation = "Thanks! We review every application within two business days.";
    let application = app
        .create_application(&owner, "browser-complete", confirmation)
        .await;
    let application_id = application["id"].as_str().unwrap();
    let agreement_id = application["agreements"][0]["id"].as_str().unwrap();

    b.open(app, "/apply/browser-complete?ref=launch-partner")
        .await;
    b.wait_for("#application-form").await;
    assert_eq!(b.text("h1").await, "Become a partner");
    assert!(
        b.text(".agreement-body").await.contains("<b>Not bold</b>"),
        "agreement bodies are shown as text"
    );
    b.type_into("#field-companyName", "Acme Widgets").await;
    b.type_into("#field-email", "Pat.Partner@Example.com").await;
    b.find("#field-partnerType")
        .await
        .select_by_value("Referral")
        .await
        .expect("choose an option");
    b.click("#field-newsletter").await;
    b.type_into("#field-about", "We resell\nwidgets.").await;
    b.click(&format!("#agreement-{agreement_id}")).await;
    b.screenshot("apply-filled").await;

    b.click("#submit").await;
    b.wait_for("#confirmation").await;
    assert!(
        b.text("#confirmation").await.contains(confirmation),
        "the configured confirmation message is shown"
    );
    assert!(
        !b.exists("#application-form").await,
        "the form is replaced by the confirmation"
    );
    b.screenshot("apply-confirmation").await;

    let stored = app.submissions(application_id).await;
    assert_eq!(stored.len(), 1, "exactly one submission: {stored:?}");
    let s = &stored[0];
    assert_eq!(s.form_data["companyName"], "Acme Widgets");
    assert_eq!(s.form_data["partnerType"], "Referral");
    assert_eq!(s.form_data["newsletter"], "true");
    assert_eq!(s.form_data["about"], "We resell\nwidgets.");
    assert_eq!(s.email.as_deref(), Some("pat.partner@example.com"));
    assert_eq!(s.accepted_agreements, vec![agreement_id.to_owned()]);
    assert_eq!(s.affiliate_slug.as_deref(), Some("launch-partner"));
}

/// (b) A required field left empty: its error appears next to it and nothing is sent. Then an
/// email the browser accepts but the server refuses: the server's error lands next to the field.
async fn shows_errors_next_to_fields_and_stores_nothing(app: &TestApp, b: &Browser) {
    let owner = app.owner("errors").await;
    let application = app
        .create_application(&owner, "browser-errors", "Thank you.")
        .await;
    let application_id = application["id"].as_str().unwrap();
    let agreement_id = application["agreements"][0]["id"].as_str().unwrap();

    b.open(app, "/apply/browser-errors").await;
    b.wait_for("#application-form").await;
    b.type_into("#field-email", "pat@example.com").await;
    b.find("#field-partnerType")
        .await
        .select_by_value("Reseller")
        .await
        .expect("choose an option");
    b.click(&format!("#agreement-{agreement_id}")).await;
    b.click("#submit").await;

    let message = b.error_for("companyName").await;
    assert!(
        !message.is_empty(),
        "an error is shown next to the empty field"
    );
    assert_eq!(
        b.attr("#field-companyName", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    for other in ["email", "partnerType", "newsletter", "about"] {
        assert_eq!(b.current_error(other).await, "", "no error next to {other}");
    }
    b.screenshot("apply-required-error").await;
    // Give a wrongly sent request time to land before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!b.exists("#confirmation").await);
    assert_eq!(app.submissions(application_id).await.len(), 0);

    // Server-side validation: `pat@localhost` passes the browser's email check, not the API's.
    b.type_into("#field-companyName", "Acme Widgets").await;
    assert_eq!(
        b.current_error("companyName").await,
        "",
        "the error goes away once the field is filled"
    );
    b.find("#field-email")
        .await
        .clear()
        .await
        .expect("clear the email");
    b.type_into("#field-email", "pat@localhost").await;
    b.click("#submit").await;
    let message = b.error_for("email").await;
    assert!(
        message.to_lowercase().contains("email"),
        "the server's message is shown next to the email field: {message:?}"
    );
    assert!(
        b.find("#submit")
            .await
            .is_enabled()
            .await
            .expect("button state"),
        "the button is enabled again after the answer"
    );
    b.screenshot("apply-server-error").await;
    assert!(!b.exists("#confirmation").await);
    assert_eq!(app.submissions(application_id).await.len(), 0);
}

/// (c) An unknown slug: a friendly "not available" message instead of a form.
async fn says_an_unknown_form_is_not_available(app: &TestApp, b: &Browser) {
    b.open(app, "/apply/no-such-form").await;
    b.wait_for("#not-available").await;
    assert!(
        b.text("#not-available")
            .await
            .contains("This form is not available")
    );
    assert!(!b.exists("#application-form").await);
    b.screenshot("apply-not-available").await;
}

/// (d) The invitation page of the mailed link: a new address sets a password and is signed in;
/// an existing account signs in first (the browser still holds the newcomer's session, so the
/// page is told it is another account); a used link says so.
async fn accepts_invitations_for_new_and_existing_accounts(app: &TestApp, b: &Browser) {
    let owner = app.owner("invite").await;
    let token = app.invite(&owner, "newcomer@example.com").await;
    b.open(app, &format!("/accept-invitation?token={token}"))
        .await;
    b.wait_for("#accept").await;
    b.click("#accept").await;
    b.wait_for("#create-account:not([hidden])").await;
    b.type_into("#name", "Nina Newcomer").await;
    b.type_into("#new-password", "a-long-new-password").await;
    b.click("#create-account button[type=submit]").await;
    b.wait_for("#joined").await;
    assert!(b.text("#joined").await.contains("Welcome, Nina Newcomer"));
    b.screenshot("accept-invitation-new-account").await;
    assert_eq!(
        app.sign_in_status("newcomer@example.com", "a-long-new-password")
            .await,
        200
    );

    app.sign_up("ivy@example.com", "ivys-own-password").await;
    let token = app.invite(&owner, "ivy@example.com").await;
    let page = format!("/accept-invitation?token={token}");
    b.open(app, &page).await;
    b.wait_for("#accept").await;
    b.click("#accept").await;
    b.wait_for("#sign-in:not([hidden])").await;
    b.type_into("#email", "ivy@example.com").await;
    b.type_into("#password", "ivys-own-password").await;
    b.click("#sign-in button[type=submit]").await;
    b.wait_for("#joined").await;
    b.screenshot("accept-invitation-existing-account").await;

    // Single use.
    b.open(app, &page).await;
    b.wait_for("#accept").await;
    b.click("#accept").await;
    b.wait_for("#message:not([hidden])").await;
    assert!(b.text("#message").await.contains("already used"));
}

struct Browser {
    client: Client,
    artifacts: PathBuf,
}

impl Browser {
    async fn open(&self, app: &TestApp, path: &str) {
        let url = format!("{}{path}", app.address);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    async fn wait_for(&self, css: &str) {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
    }

    async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("query the page")
            .is_empty()
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.expect("attribute")
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.find(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The text of the error element next to `key`, now.
    async fn current_error(&self, key: &str) -> String {
        let value = self
            .client
            .execute(
                "const e = Array.from(document.querySelectorAll('.field-error'))\
                   .find(n => n.dataset.errorFor === arguments[0]);\
                 return e ? e.textContent : null;",
                vec![key.into()],
            )
            .await
            .expect("read an error element");
        value
            .as_str()
            .unwrap_or_else(|| panic!("no [data-error-for={key:?}] element on the page"))
            .to_owned()
    }

    /// Waits until the error element next to `key` has text; returns it.
    async fn error_for(&self, key: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.current_error(key).await;
            if !text.trim().is_empty() {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "no error appeared next to {key:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the browser showed when a scenario failed: `apply-failure.png` and `.html`.
    async fn save_failure(&self) {
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(self.artifacts.join("apply-failure.png"), png);
        }
        if let Ok(html) = self.client.source().await {
            let _ = std::fs::write(self.artifacts.join("apply-failure.html"), html);
        }
        eprintln!(
            "browser state saved to {}/apply-failure.{{png,html}}",
            self.artifacts.display()
        );
    }

    /// Saves a full-page screenshot as `target/test-artifacts/<name>.png`.
    async fn screenshot(&self, name: &str) {
        let height = self
            .client
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(1400)
            .clamp(600, 6000);
        let _ = self.client.set_window_size(1024, height as u32 + 140).await;
        let png = self.client.screenshot().await.expect("take a screenshot");
        let _ = self.client.set_window_size(1024, 1400).await;
        let path = self.artifacts.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

/// `<workspace>/target/test-artifacts`, created on demand.
fn artifacts_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir.canonicalize().unwrap_or(dir)
}
