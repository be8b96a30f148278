//! The real application on port 0 with a fresh database (as in `tests/api/helpers.rs`), and the
//! few API calls the browser test needs to arrange its forms.

use chrono::{TimeZone, Utc};
use partneros_domain::shared::clock::ManualClock;
use partneros_server::config::{Config, Vars};
use partneros_server::startup::{Application, Externals, services};
use partneros_test_support::TestDatabase;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub struct TestApp {
    pub address: String,
    pub db: TestDatabase,
    /// Where the development file mailer writes its `.eml` files.
    pub mail: tempfile::TempDir,
    http: reqwest::Client,
}

pub async fn spawn_app() -> TestApp {
    let db = TestDatabase::new().await;
    let mut config = Config::from_vars(&Vars(HashMap::new())).expect("development defaults");
    config.http.port = 0;
    config.database.url = Some(db.url().to_owned());
    config.auth.demo_account = false;
    config.http.workers = Some(1);
    config.database.pool_size = 4;
    // Cheap hashes keep the test fast; production parameters are the defaults.
    config.auth.hashing.argon2_memory_kib = 256;
    config.auth.hashing.argon2_iterations = 1;
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 5, 16, 12, 0, 0).unwrap(),
    ));
    let mail = tempfile::tempdir().expect("a mail dir");
    config.mail.dir = mail.path().to_owned();
    let externals = Externals::from_config(&config).expect("externals");
    let services = services(&config, db.url(), clock, externals).expect("services");
    let app = Application::build(&config, services).expect("bind");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db,
        mail,
        http: reqwest::Client::new(),
    }
}

impl TestApp {
    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.address))
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A GET with a bearer token: the status and the JSON body.
    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let res = self
            .http
            .get(format!("{}{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Invites `email` to the owner's organization; returns the token of the mailed link, read
    /// from the `.eml` file the development mailer wrote (quoted-printable) once the outbox
    /// relay has sent it.
    pub async fn invite(&self, owner_token: &str, email: &str) -> String {
        let (status, body) = self
            .post(
                "/api/organizations/members",
                Some(owner_token),
                json!({"email": email, "role": "member"}),
            )
            .await;
        assert_eq!(status, 201, "invite: {body}");
        // The outbox relay sends the mail moments later.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let text = loop {
            let found = std::fs::read_dir(self.mail.path())
                .expect("the mail dir")
                .map(|e| std::fs::read_to_string(e.expect("an entry").path()).expect("an .eml"))
                .map(|eml| {
                    eml.replace("=\r\n", "")
                        .replace("=\n", "")
                        .replace("=3D", "=")
                })
                .find(|m| {
                    m.contains(&format!("To: {email}")) && m.contains("/accept-invitation?token=")
                });
            if let Some(text) = found {
                break text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no invitation mail to {email} after 10 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        let start = text.find("token=").expect("a link with a token") + "token=".len();
        text[start..]
            .split_whitespace()
            .next()
            .expect("the token")
            .to_owned()
    }

    /// Marks the account's address verified, as its verification link would (that flow has
    /// API tests of its own).
    async fn verify(&self, email: &str) {
        self.db
            .client()
            .await
            .execute(
                "UPDATE users SET email_verified_at = now() WHERE lower(email) = lower($1)",
                &[&email],
            )
            .await
            .expect("verify the address");
    }

    /// Signs up a user with a password of their own.
    pub async fn sign_up(&self, email: &str, password: &str) {
        let (status, body) = self
            .post(
                "/api/auth/sign-up/email",
                None,
                json!({"name": "Ivy Invitee", "email": email, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "sign-up: {body}");
        self.verify(email).await;
    }

    /// Signs in; the status code.
    pub async fn sign_in_status(&self, email: &str, password: &str) -> u16 {
        self.post(
            "/api/auth/sign-in/email",
            None,
            json!({"email": email, "password": password}),
        )
        .await
        .0
    }

    /// A new user owning a new organization; returns their session token.
    pub async fn owner(&self, tag: &str) -> String {
        let (status, body) = self
            .post(
                "/api/auth/sign-up/email",
                None,
                json!({"name": "Olive Owner", "email": format!("owner-{tag}@example.com"),
                       "password": "correct-horse-battery"}),
            )
            .await;
        assert_eq!(status, 200, "sign-up: {body}");
        let token = body["token"].as_str().expect("a session token").to_owned();
        self.verify(&format!("owner-{tag}@example.com")).await;
        let (status, body) = self
            .post(
                "/api/organizations",
                Some(&token),
                json!({"name": format!("Browser Test Org {tag}")}),
            )
            .await;
        assert_eq!(status, 201, "create organization: {body}");
        token
    }

    /// Creates a published application; returns its JSON (`id`, `agreements[].id`, …).
    pub async fn create_application(&self, token: &str, slug: &str, confirmation: &str) -> Value {
        let (status, body) = self
            .post(
                "/api/partners/applications",
                Some(token),
                json!({
                    "name": format!("Partner program {slug}"),
                    "slug": slug,
                    "status": "published",
                    "fields": [
                        {"fieldKey": "companyName", "label": "Company name", "type": "text",
                         "required": true, "placeholder": "Acme Inc."},
                        {"fieldKey": "email", "label": "Work email", "type": "email",
                         "required": true, "helpText": "We reply to this address."},
                        {"fieldKey": "partnerType", "label": "Partner type", "type": "select",
                         "required": true, "options": ["Reseller", "Referral", "Technology"]},
                        {"fieldKey": "newsletter", "label": "Send me partner news", "type": "checkbox",
                         "required": false},
                        {"fieldKey": "about", "label": "About your company", "type": "textarea",
                         "required": false, "maxLength": 2000}
                    ],
                    "agreements": [
                        {"title": "Partner terms",
                         "body": "1. Represent the product honestly.\n2. Keep customer data confidential.\n\n<b>Not bold</b>: shown as text.",
                         "required": true}
                    ],
                    "content": {
                        "title": "Become a partner",
                        "description": "Tell us about your company.\nWe review every application.",
                        "confirmationMessage": confirmation
                    }
                }),
            )
            .await;
        assert_eq!(status, 201, "create application: {body}");
        body["application"].clone()
    }

    /// Submissions stored for one application, read straight from the database.
    pub async fn submissions(&self, application_id: &str) -> Vec<StoredSubmission> {
        let rows = self
            .db
            .client()
            .await
            .query(
                "SELECT form_data::text, accepted_agreements::text[], affiliate_slug, email \
                 FROM submissions WHERE application_id::text = $1",
                &[&application_id],
            )
            .await
            .expect("read submissions");
        rows.iter()
            .map(|row| StoredSubmission {
                form_data: serde_json::from_str(row.get::<_, &str>(0)).expect("form_data json"),
                accepted_agreements: row.get(1),
                affiliate_slug: row.get(2),
                email: row.get(3),
            })
            .collect()
    }
}

#[derive(Debug)]
pub struct StoredSubmission {
    pub form_data: Value,
    pub accepted_agreements: Vec<String>,
    pub affiliate_slug: Option<String>,
    pub email: Option<String>,
}
