//! Spawning the app and driving it.

use chrono::{TimeZone, Utc};
use partneros_domain::shared::clock::ManualClock;
use partneros_server::config::{Config, Storage, Vars};
use partneros_server::startup::{Application, Externals, services};
use partneros_test_support::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub const PASSWORD: &str = "correct-horse-battery";

/// The mail the app sent (in place of the file mailer), newest last.
#[derive(Default)]
pub struct SentMail(std::sync::Mutex<Vec<partneros_domain::organizations::mail::OutgoingMail>>);

#[async_trait::async_trait]
impl partneros_domain::organizations::mail::Mailer for SentMail {
    async fn send(
        &self,
        mail: partneros_domain::organizations::mail::OutgoingMail,
    ) -> Result<(), partneros_domain::organizations::mail::MailError> {
        self.0.lock().unwrap().push(mail);
        Ok(())
    }
}

impl SentMail {
    pub fn to(&self, address: &str) -> Vec<partneros_domain::organizations::mail::OutgoingMail> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.eq_ignore_ascii_case(address))
            .cloned()
            .collect()
    }
}

pub struct TestApp {
    pub address: String,
    /// Every message the app mailed.
    pub mail: Arc<SentMail>,
    /// The metrics listener, when the configuration sets `metrics_addr`.
    pub metrics_address: Option<String>,
    /// The local file store of this app.
    pub files: tempfile::TempDir,
    pub db: TestDatabase,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Res {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("<none>")
    }
}

pub struct Options {
    pub signup_enabled: bool,
    pub pool_size: usize,
    pub pool_wait_ms: u64,
    /// Docuseal API root and key (a fake's), when the test needs one.
    pub docuseal: Option<(String, String)>,
    /// Turnstile secret and siteverify URL (a fake's).
    pub turnstile: Option<(String, String)>,
    /// Another app's database, to run two instances on one database.
    pub database_url: Option<String>,
    /// Trust this many proxies' `X-Forwarded-For` entries.
    pub forwarded_hops: usize,
    /// Store files in an S3-compatible store at this endpoint instead of on disk.
    pub s3_endpoint: Option<String>,
    /// An OpenAI-compatible fake's base URL (else the heuristic enricher).
    pub llm: Option<String>,
    /// Fixture websites: the scraper resolves these names to these addresses and connects
    /// to `site_port` for http; only `127.0.0.1:site_port` is allow-listed as "public".
    pub sites: Vec<(&'static str, std::net::IpAddr)>,
    pub site_port: u16,
    /// Background analysis workers (none unless a test needs them).
    pub analysis_workers: usize,
    /// The test's database (a fresh one when `None`); `database_url` may reach it another way
    /// (e.g. through a proxy).
    pub db: Option<TestDatabase>,
    /// Changes to the configuration, applied after the options above.
    pub config: Box<dyn FnOnce(&mut Config)>,
    /// Replacements of the external adapters once they are built (e.g. with short timeouts).
    pub externals: Box<dyn FnOnce(&mut Externals)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            signup_enabled: true,
            pool_size: 4,
            pool_wait_ms: 5000,
            docuseal: None,
            turnstile: None,
            database_url: None,
            forwarded_hops: 0,
            s3_endpoint: None,
            llm: None,
            sites: Vec::new(),
            site_port: 9,
            analysis_workers: 0,
            db: None,
            config: Box::new(|_| {}),
            externals: Box::new(|_| {}),
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let db = match options.db {
        Some(db) => db,
        None => TestDatabase::new().await,
    };
    let mut config = Config::from_vars(&Vars(HashMap::new())).expect("development defaults");
    config.http.port = 0;
    config.database.url = Some(db.url().to_owned());
    config.auth.demo_account = false;
    config.http.workers = Some(1);
    config.database.pool_size = options.pool_size;
    config.database.pool_wait = std::time::Duration::from_millis(options.pool_wait_ms);
    config.auth.signup_enabled = options.signup_enabled;
    config.http.forwarded_hops = options.forwarded_hops;
    let files = tempfile::tempdir().expect("a temp dir");
    config.storage = match options.s3_endpoint {
        Some(endpoint) => Storage::S3(partneros_storage::S3Settings {
            endpoint: Some(endpoint),
            region: "us-east-1".into(),
            bucket: "banners".into(),
            access_key_id: "test".into(),
            secret_access_key: partneros_domain::shared::secret::Secret::new("test"),
            force_path_style: true,
            public_base_url: None,
            timeout: std::time::Duration::from_secs(30),
        }),
        None => Storage::Local {
            dir: files.path().to_owned(),
        },
    };
    if let Some((secret, url)) = options.turnstile {
        let mut verifier = partneros_turnstile::TurnstileSettings::new(
            partneros_domain::shared::secret::Secret::new(secret),
        );
        verifier.siteverify_url = url;
        config.turnstile.verifier = Some(verifier);
        config.turnstile.site_key = Some("1x00000000000000000000AA".into());
    }
    config.docuseal = options.docuseal.map(|(url, key)| {
        partneros_docuseal::DocusealSettings::new(
            url,
            partneros_domain::shared::secret::Secret::new(key),
        )
    });
    // Cheap hashes keep the suite fast; production parameters are the defaults. Tests sign up
    // many users from one loopback address: the per-address limits are tested on their own.
    config.auth.hashing.argon2_memory_kib = 256;
    config.auth.hashing.argon2_iterations = 1;
    config.auth.limits = partneros_domain::identity::auth::AuthLimits {
        sign_ins_per_address: 100_000,
        sign_ups_per_address: 100_000,
        password_resets_per_address: 100_000,
    };
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 5, 16, 12, 0, 0).unwrap(),
    ));
    let url = options.database_url.unwrap_or_else(|| db.url().to_owned());
    // The address is known only after binding; links handed out use it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    config.http.port = port;
    config.http.public_base_url = format!("http://127.0.0.1:{port}");
    // Links in mail point at this app (they were derived from the default base).
    config.mail.invitation_url = format!("http://127.0.0.1:{port}/accept-invitation");
    config.mail.verify_email_url = format!("http://127.0.0.1:{port}/verify-email");
    config.mail.reset_password_url = format!("http://127.0.0.1:{port}/reset-password");
    config.analysis.workers = options.analysis_workers;
    config.analysis.poll = std::time::Duration::from_millis(50);
    // The relay and the webhook senders poll often and retry soon; webhook tests set their own
    // schedules.
    config.outbound.poll = std::time::Duration::from_millis(20);
    config.outbound.relay.backoff = std::time::Duration::from_millis(50);
    config.outbound.relay.max_backoff = std::time::Duration::from_millis(200);
    config.database.url = Some(url.clone());
    (options.config)(&mut config);
    let mut externals = Externals::from_config(&config).expect("externals");
    let mail = Arc::new(SentMail::default());
    externals.mailer = mail.clone();
    externals.scraper = Arc::new(test_scraper(&options.sites, options.site_port));
    if let Some(url) = options.llm {
        let mut settings = partneros_llm::LlmSettings::new(url, "test-model".to_owned())
            .with_api_key(partneros_domain::shared::secret::Secret::new("sk-test"));
        settings.backoff_base = std::time::Duration::from_millis(20);
        settings.request_timeout = std::time::Duration::from_secs(5);
        settings.budget = std::time::Duration::from_secs(10);
        externals.model = Some(Arc::new(
            partneros_llm::LlmClient::new(settings).expect("llm settings"),
        ));
    }
    (options.externals)(&mut externals);
    let services = services(&config, &url, clock.clone(), externals).expect("services");
    let app = Application::build(&config, services).expect("bind");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        address,
        mail,
        metrics_address,
        files,
        db,
        clock,
        http,
    }
}

/// The production scraper with the default (strict) guard, except that names resolve through a
/// fixed map and `127.0.0.1:port` stands in for the public internet. https goes to a closed port,
/// so every site falls back to http.
pub fn test_scraper(
    sites: &[(&'static str, std::net::IpAddr)],
    port: u16,
) -> partneros_web_fetch::Scraper {
    let mut resolver = partneros_web_fetch::StaticResolver::new();
    for (host, ip) in sites {
        resolver = resolver.with(host, [*ip]);
    }
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().unwrap().port()
    };
    let local = std::net::Ipv4Addr::LOCALHOST;
    let config = partneros_web_fetch::ScraperConfig {
        resolver: Arc::new(resolver),
        policy: partneros_web_fetch::GuardPolicy {
            allow: vec![(local, port).into(), (local, closed).into()],
        },
        http_port: port,
        https_port: closed,
        fetch_timeout: std::time::Duration::from_secs(5),
        ..Default::default()
    };
    partneros_web_fetch::Scraper::new(&config)
}

impl TestApp {
    /// The app's clock now.
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        partneros_domain::shared::clock::Clock::now(self.clock.as_ref())
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Res {
        let mut req = self.http.request(method, format!("{}{path}", self.address));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.expect("request")).await
    }

    /// Sends raw bytes with a content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Res {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.address))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Res {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// Posts JSON as a client at `ip` behind one trusted proxy (`X-Forwarded-For`).
    pub async fn post_from(&self, path: &str, ip: &str, body: Value) -> Res {
        read(
            self.http
                .post(format!("{}{path}", self.address))
                .header("x-forwarded-for", ip)
                .json(&body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Res {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Res {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Res {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Signs up a user and verifies their address (directly in the database, for speed: the
    /// verification flow itself has its own tests); returns their session token.
    pub async fn sign_up(&self, email: &str) -> String {
        let token = self.sign_up_unverified(email).await;
        self.verify_directly(email).await;
        token
    }

    /// Signs up a user, who stays unverified; returns their session token.
    pub async fn sign_up_unverified(&self, email: &str) -> String {
        let res = self
            .post(
                "/api/auth/sign-up/email",
                None,
                json!({"name": "Test User", "email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status, 200, "sign-up: {:?}", res.body);
        res.body["token"].as_str().unwrap().to_owned()
    }

    /// Marks the account of `email` verified and its verification links used (so the relay
    /// mails none, or one whose link no longer works).
    pub async fn verify_directly(&self, email: &str) {
        let client = self.db.client().await;
        let n = client
            .execute(
                "WITH u AS (UPDATE users SET email_verified_at = now() \
                            WHERE lower(email) = lower($1) RETURNING id) \
                 UPDATE user_tokens SET used_at = now() \
                 WHERE user_id IN (SELECT id FROM u) AND used_at IS NULL",
                &[&email],
            )
            .await
            .unwrap();
        assert!(n <= 1, "{email}: {n} verification rows");
    }

    /// Waits until the outbox relay has published every event recorded so far, so every mail
    /// asked for has been sent (or will never be). Polls; panics after 10 seconds.
    pub async fn outbox_drained(&self) {
        let client = self.db.client().await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let pending: i64 = client
                .query_one(
                    "SELECT count(*) FROM events WHERE published_at IS NULL",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if pending == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{pending} outbox events still unpublished after 10 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Every message mailed to `address` once the outbox is drained, oldest first.
    pub async fn mail_to(
        &self,
        address: &str,
    ) -> Vec<partneros_domain::organizations::mail::OutgoingMail> {
        self.outbox_drained().await;
        self.mail.to(address)
    }

    /// The token of the newest mail to `address` that links to `page` (e.g. `/verify-email`),
    /// once the outbox is drained.
    pub async fn link_token(&self, address: &str, page: &str) -> String {
        let needle = format!("{page}?token=");
        let mail = self.mail_to(address).await;
        let last = mail
            .iter()
            .rev()
            .find(|m| m.text.contains(&needle))
            .unwrap_or_else(|| panic!("no mail to {address} links to {page}"));
        token_in(&last.text[last.text.find(&needle).unwrap()..])
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Res {
        self.post(
            "/api/auth/sign-in/email",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// A new user owning a new organization (active in the returned session).
    pub async fn owner(&self, tag: &str) -> Owner {
        let email = format!("owner-{tag}@example.com");
        let token = self.sign_up(&email).await;
        let res = self
            .post(
                "/api/organizations",
                Some(&token),
                json!({"name": format!("Org {tag}")}),
            )
            .await;
        assert_eq!(res.status, 201, "create org: {:?}", res.body);
        Owner {
            token,
            organization_id: res.body["organization"]["id"].as_str().unwrap().to_owned(),
        }
    }

    /// A new user with `role` in the owner's organization (invited, and accepting while signed
    /// in); returns their session token, active in that organization.
    pub async fn member(&self, owner: &Owner, role: &str, tag: &str) -> String {
        let email = format!("{role}-{tag}@example.com");
        let token = self.sign_up(&email).await;
        let res = self
            .post(
                "/api/organizations/members",
                Some(&owner.token),
                json!({"email": email, "role": role}),
            )
            .await;
        assert_eq!(res.status, 201, "add member: {:?}", res.body);
        let invitation = self.invitation_token(&email).await;
        let res = self
            .post(
                "/api/auth/invitations/accept",
                Some(&token),
                json!({"token": invitation}),
            )
            .await;
        assert_eq!(res.status, 200, "accept: {:?}", res.body);
        let res = self
            .post(
                "/api/auth/organization/set-active",
                Some(&token),
                json!({"organizationId": owner.organization_id}),
            )
            .await;
        assert_eq!(res.status, 200, "set active: {:?}", res.body);
        token
    }

    /// Creates a partner; returns its JSON.
    pub async fn create_partner(&self, token: &str, name: &str, domain: Option<&str>) -> Value {
        let res = self
            .post(
                "/api/partners",
                Some(token),
                json!({
                    "name": name,
                    "domain": domain,
                    "type": "technology",
                    "primaryContact": {"firstName": "Pat", "lastName": "Contact",
                                       "email": format!("contact-{}@example.com", uuid::Uuid::new_v4().simple())}
                }),
            )
            .await;
        assert_eq!(res.status, 201, "create partner: {:?}", res.body);
        res.body["partner"].clone()
    }

    /// The token of the latest invitation mailed to `email`, from the link in the mail (once
    /// the relay has sent it).
    pub async fn invitation_token(&self, email: &str) -> String {
        self.link_token(email, "/accept-invitation").await
    }

    /// A partner-portal user for a new partner of the owner's organization.
    pub async fn partner_user(&self, owner: &Owner, tag: &str) -> (String, String) {
        let email = format!("portal-{tag}@example.com");
        let res = self
            .post(
                "/api/partners",
                Some(&owner.token),
                json!({"name": format!("Portal {tag}"), "type": "reseller",
                       "primaryContact": {"firstName": "Pia", "lastName": "Portal", "email": email}}),
            )
            .await;
        assert_eq!(res.status, 201, "{:?}", res.body);
        let partner_id = res.body["partner"]["id"].as_str().unwrap().to_owned();
        let token = self.invitation_token(&email).await;
        let res = self
            .post(
                "/api/auth/invitations/accept",
                None,
                json!({"token": token, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status, 200, "accept: {:?}", res.body);
        (res.body["token"].as_str().unwrap().to_owned(), partner_id)
    }

    /// A count of rows, for asserting that nothing changed.
    pub async fn count(&self, table: &str) -> i64 {
        let client = self.db.client().await;
        client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0)
    }
}

/// The `token=` value of the first link in a text.
pub fn token_in(text: &str) -> String {
    text.split("token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a link with a token")
        .to_owned()
}

pub struct Owner {
    pub token: String,
    pub organization_id: String,
}

/// Reads a whole response (JSON body, or its text when it is not JSON).
pub async fn read(res: reqwest::Response) -> Res {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Res {
        status,
        headers,
        body,
    }
}

/// A minimal PDF that passes the upload's sniffing.
pub const PDF: &[u8] = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

/// A legal-template upload of [`PDF`] for a partner: reusable, with these roles and fields
/// (JSON arrays).
pub fn template_form(
    partner_id: &str,
    name: &str,
    roles: &str,
    fields: String,
) -> reqwest::multipart::Form {
    use reqwest::multipart::{Form, Part};
    Form::new()
        .part(
            "file",
            Part::bytes(PDF.to_vec())
                .file_name("nda.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        )
        .text("partnerId", partner_id.to_owned())
        .text("name", name.to_owned())
        .text("scope", "reusable")
        .text("roles", roles.to_owned())
        .text("fields", fields)
}
