//! Wiring: adapters into ports, ports into services, services into the HTTP app.

use crate::config::{Config, Mode, Storage};
use actix_web::HttpServer;
use actix_web::dev::Server;
use anyhow::Context;
use partneros_domain::analysis::model::LanguageModel;
use partneros_domain::analysis::service::{AnalysisService, AnalysisSettings};
use partneros_domain::analysis::site::WebScraper;
use partneros_domain::applications::notice::SubmissionNotifier;
use partneros_domain::applications::ports::Captcha;
use partneros_domain::applications::service::ApplicationService;
use partneros_domain::banners::ports::ObjectStore;
use partneros_domain::banners::service::BannerService;
use partneros_domain::identity::account::AccountService;
use partneros_domain::identity::api_keys::ApiKeyService;
use partneros_domain::identity::auth::{AuthService, FirstAccount};
use partneros_domain::identity::mail::AccountMail;
use partneros_domain::identity::password::Password;
use partneros_domain::legal::ports::ESignature;
use partneros_domain::legal::service::LegalTemplateService;
use partneros_domain::organizations::invitations::InvitationDelivery;
use partneros_domain::organizations::mail::Mailer;
use partneros_domain::organizations::service::OrganizationService;
use partneros_domain::outbox::{EventHandler, Relay};
use partneros_domain::partners::service::PartnerService;
use partneros_domain::shared::clock::{Clock, SystemClock};
use partneros_domain::shared::values::Email;
use partneros_domain::webhooks::notice::EndpointDisabledNotice;
use partneros_domain::webhooks::sender::WebhookSender;
use partneros_domain::webhooks::service::WebhookService;
use partneros_domain::webhooks::worker::WebhookWorker;
use partneros_http::{AppState, HttpSettings, MetricsAccess};
use partneros_postgres::{Database, PoolConfig};
use std::net::TcpListener;
use std::sync::Arc;

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    /// The metrics listener (`METRICS_ADDR`) and its port.
    metrics: Option<(u16, Server)>,
    workers: crate::workers::Workers,
    pub database: Database,
    pub state: AppState,
    pub relay: Arc<Relay>,
    pub webhook_worker: Arc<WebhookWorker>,
}

/// Everything built from the configuration, before binding.
pub struct Services {
    pub database: Database,
    pub state: AppState,
    /// Publishes the outbox.
    pub relay: Arc<Relay>,
    /// Sends webhook deliveries.
    pub webhook_worker: Arc<WebhookWorker>,
}

/// External services; tests replace them with fakes of the real protocols.
pub struct Externals {
    pub esign: Arc<dyn ESignature>,
    pub files: Arc<dyn ObjectStore>,
    /// The local store's root when files are kept on this machine (served at `/files/`).
    pub local_files: Option<std::path::PathBuf>,
    pub captcha: Option<Arc<dyn Captcha>>,
    /// The partner's website, read behind the SSRF guard.
    pub scraper: Arc<dyn WebScraper>,
    /// The language model; `None` means the heuristic enricher.
    pub model: Option<Arc<dyn LanguageModel>>,
    /// Outgoing mail (invitations, account mail, notices), sent by the outbox relay.
    pub mailer: Arc<dyn Mailer>,
    /// Webhook deliveries, behind the SSRF guard.
    pub webhooks: Arc<dyn WebhookSender>,
}

impl Externals {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let esign: Arc<dyn ESignature> = match &config.docuseal {
            Some(settings) => Arc::new(
                partneros_docuseal::DocusealClient::from_settings(settings)
                    .context("DOCUSEAL_URL / DOCUSEAL_API_KEY")?,
            ),
            None => Arc::new(partneros_docuseal::UnconfiguredESignature),
        };
        let (files, local_files): (Arc<dyn ObjectStore>, _) = match &config.storage {
            Storage::Local { dir } => (
                Arc::new(partneros_storage::LocalStore::new(
                    dir.clone(),
                    format!("{}/files", config.http.public_base_url),
                )),
                Some(dir.clone()),
            ),
            Storage::S3(s3) => (
                Arc::new(
                    partneros_storage::S3Store::new(s3.clone())
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                ),
                None,
            ),
        };
        let captcha: Option<Arc<dyn Captcha>> = match &config.turnstile.verifier {
            Some(settings) => Some(Arc::new(
                partneros_turnstile::TurnstileVerifier::from_settings(settings)
                    .map_err(|e| anyhow::anyhow!("TURNSTILE_SECRET_KEY: {e}"))?,
            )),
            None => None,
        };
        let model: Option<Arc<dyn LanguageModel>> = match &config.llm {
            Some(settings) => Some(Arc::new(
                partneros_llm::LlmClient::new(settings.clone())
                    .map_err(|e| anyhow::anyhow!("LLM_BASE_URL / LLM_MODEL: {e}"))?,
            )),
            None => None,
        };
        let scraper: Arc<dyn WebScraper> = if config.analysis.scrape {
            Arc::new(partneros_web_fetch::Scraper::new(
                &partneros_web_fetch::ScraperConfig::default(),
            ))
        } else {
            Arc::new(partneros_web_fetch::NoScraping)
        };
        let mailer: Arc<dyn Mailer> = match &config.mail.smtp {
            Some(settings) => Arc::new(
                partneros_mail::SmtpMailer::new(settings, config.mail.from.clone()).map_err(
                    |e| match e {
                        partneros_mail::SmtpSetupError::CaFile { .. } => {
                            anyhow::anyhow!("SMTP_CA_FILE: {e}")
                        }
                        _ => anyhow::anyhow!("SMTP_URL: {e}"),
                    },
                )?,
            ),
            None => Arc::new(partneros_mail::FileMailer::new(
                &config.mail.dir,
                config.mail.from.clone(),
            )),
        };
        let webhooks = Arc::new(partneros_webhooks::HttpWebhookSender::new(
            &partneros_webhooks::WebhookSenderConfig {
                allow_http: config.outbound.webhooks.allow_http,
                ..partneros_webhooks::WebhookSenderConfig::default()
            },
        ));
        Ok(Self {
            esign,
            files,
            local_files,
            captcha,
            scraper,
            model,
            mailer,
            webhooks,
        })
    }
}

pub fn services(
    config: &Config,
    database_url: &str,
    clock: Arc<dyn Clock>,
    externals: Externals,
) -> anyhow::Result<Services> {
    let database = partneros_postgres::connect(
        database_url,
        &PoolConfig {
            max_size: config.database.pool_size,
            wait_timeout: config.database.pool_wait,
            statement_timeout: config.database.statement_timeout,
            ..PoolConfig::default()
        },
    )
    .context("building the database pool")?;
    let db = Arc::new(database.clone());
    let hasher = Arc::new(config.hasher().context("argon2 parameters")?);
    let auth = AuthService::new(
        db.clone(),
        db.clone(),
        hasher.clone(),
        db.clone(),
        clock.clone(),
        config.auth.signup_enabled,
        config.auth.limits,
    );
    let mailer = externals.mailer;
    let relay = Arc::new(Relay::new(
        db.clone(),
        event_handlers(config, &db, &mailer, &clock),
        config.outbound.relay.clone(),
    ));
    let webhook_worker = Arc::new(WebhookWorker::new(
        db.clone(),
        externals.webhooks.clone(),
        clock.clone(),
        config.outbound.webhooks.clone(),
        config.outbound.webhook_batch,
        // Longer than any attempt (the sender's total timeout is 15 s).
        std::time::Duration::from_secs(60),
    ));
    let webhooks = WebhookService::new(
        db.clone(),
        externals.webhooks,
        clock.clone(),
        config.outbound.webhooks.clone(),
    );
    let accounts = AccountService::new(
        db.clone(),
        db.clone(),
        hasher.clone(),
        db.clone(),
        clock.clone(),
        config.auth.limits,
    );
    let organizations = OrganizationService::new(db.clone(), db.clone(), hasher, clock.clone());
    let api_keys = ApiKeyService::new(db.clone(), clock.clone());
    let partners = PartnerService::new(db.clone(), clock.clone());
    let analysis = AnalysisService::new(
        db.clone(),
        db.clone(),
        externals.scraper,
        externals.model,
        db.clone(),
        clock.clone(),
        AnalysisSettings {
            refreshes_per_day: config.analysis.refreshes_per_day,
            model_calls_per_day: config.analysis.llm_calls_per_day,
            ..AnalysisSettings::default()
        },
    );
    let legal_templates = LegalTemplateService::new(
        db.clone(),
        db.clone(),
        externals.esign,
        db.clone(),
        clock.clone(),
    );
    let applications = ApplicationService::new(
        db.clone(),
        db.clone(),
        externals.captcha,
        config.turnstile.site_key.clone(),
        clock.clone(),
    );
    let banners = BannerService::new(externals.files, db.clone(), db.clone(), clock);
    let metrics = crate::telemetry::metrics();
    let pool = database.clone();
    let render: partneros_http::MetricsRenderer = Arc::new(move || {
        let (size, idle, max) = pool.pool_status();
        metrics::gauge!("db_pool_connections").set(size as f64);
        metrics::gauge!("db_pool_idle_connections").set(idle as f64);
        metrics::gauge!("db_pool_max_connections").set(max as f64);
        metrics.render()
    });
    let state = AppState {
        auth: Arc::new(auth),
        accounts: Arc::new(accounts),
        organizations: Arc::new(organizations),
        api_keys: Arc::new(api_keys),
        partners: Arc::new(partners),
        analysis: Arc::new(analysis),
        legal_templates: Arc::new(legal_templates),
        applications: Arc::new(applications),
        banners: Arc::new(banners),
        webhooks: Arc::new(webhooks),
        health: db,
        metrics: Some(render),
        settings: HttpSettings {
            secure_cookies: config.mode == Mode::Production,
            public_base_url: config.http.public_base_url.clone(),
            forwarded_hops: config.http.forwarded_hops,
            local_files: externals.local_files,
            trusted_origins: trusted_origins(config),
            metrics: api_listener_metrics(config),
        },
    };
    Ok(Services {
        database,
        state,
        relay,
        webhook_worker,
    })
}

/// The side effects of outbox events: the mail each kind sends (a token, if any, is minted as
/// its mail is sent). Webhooks are fanned out by the relay itself.
fn event_handlers(
    config: &Config,
    db: &Arc<Database>,
    mailer: &Arc<dyn Mailer>,
    clock: &Arc<dyn Clock>,
) -> Vec<Arc<dyn EventHandler>> {
    let links = config.mail.links();
    vec![
        Arc::new(InvitationDelivery::new(
            mailer.clone(),
            db.clone(),
            links.clone(),
            clock.clone(),
        )),
        Arc::new(AccountMail::new(
            db.clone(),
            mailer.clone(),
            links.clone(),
            clock.clone(),
        )),
        Arc::new(SubmissionNotifier::new(db.clone(), mailer.clone(), links)),
        Arc::new(EndpointDisabledNotice::new(db.clone(), mailer.clone())),
    ]
}

/// The service's own origin, then `CORS_ALLOWED_ORIGINS`.
fn trusted_origins(config: &Config) -> Vec<String> {
    let mut origins: Vec<String> = config.http.public_origin().into_iter().collect();
    for origin in &config.http.cors_allowed_origins {
        if !origins.contains(origin) {
            origins.push(origin.clone());
        }
    }
    origins
}

/// Who may read `/metrics` on the API listener: nobody when it has a listener of its own; with
/// `METRICS_TOKEN`, its holder; otherwise anyone in development (the listener is loopback by
/// default) and nobody in production.
fn api_listener_metrics(config: &Config) -> MetricsAccess {
    match (&config.metrics.addr, &config.metrics.token) {
        (Some(_), _) => MetricsAccess::Hidden,
        (None, Some(token)) => MetricsAccess::Token(token.clone()),
        (None, None) if config.mode == Mode::Development => MetricsAccess::Open,
        (None, None) => MetricsAccess::Hidden,
    }
}

/// The metrics listener (`METRICS_ADDR`): `/metrics` only, behind `METRICS_TOKEN` when set.
fn metrics_server(config: &Config, state: &AppState) -> anyhow::Result<Option<(u16, Server)>> {
    let Some(addr) = config.metrics.addr else {
        return Ok(None);
    };
    let listener =
        TcpListener::bind(addr).with_context(|| format!("binding METRICS_ADDR {addr}"))?;
    let port = listener.local_addr()?.port();
    let render = state.metrics.clone();
    let access = config
        .metrics
        .token
        .clone()
        .map_or(MetricsAccess::Open, MetricsAccess::Token);
    let server =
        HttpServer::new(move || partneros_http::metrics_app(render.clone(), access.clone()))
            .workers(1)
            // Stopped with the API server (`run_until_stopped`), not on its own.
            .disable_signals()
            .listen(listener)?
            .run();
    Ok(Some((port, server)))
}

impl Application {
    /// Binds the listener (port 0 picks a free one) and builds the server.
    pub fn build(config: &Config, services: Services) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((config.http.host.as_str(), config.http.port))
            .with_context(|| format!("binding {}:{}", config.http.host, config.http.port))?;
        let port = listener.local_addr()?.port();
        let state = services.state.clone();
        let app_state = state.clone();
        let mut server = HttpServer::new(move || partneros_http::app(app_state.clone()))
            .shutdown_timeout(30)
            .listen(listener)?;
        server = server.workers(config.http.workers());
        let metrics = metrics_server(config, &state)?;
        let mut workers = crate::workers::Workers::default();
        workers.start(
            state.analysis.clone(),
            config.analysis.workers,
            config.analysis.poll,
        );
        let outbound = &config.outbound;
        workers.start(
            services.relay.clone(),
            outbound.relay_workers,
            outbound.poll,
        );
        workers.start(
            services.webhook_worker.clone(),
            outbound.webhook_workers,
            outbound.poll,
        );
        Ok(Self {
            port,
            server: server.run(),
            metrics,
            workers,
            database: services.database,
            state,
            relay: services.relay,
            webhook_worker: services.webhook_worker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The metrics listener's port, when `METRICS_ADDR` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Serves until SIGTERM/SIGINT, then stops accepting and lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (metrics_handle, metrics) = match self.metrics {
            Some((_, server)) => (Some(server.handle()), Some(server)),
            None => (None, None),
        };
        let api = async {
            let served = self.server.await;
            if let Some(handle) = metrics_handle {
                handle.stop(true).await;
            }
            served
        };
        let metrics = async {
            if let Some(server) = metrics
                && let Err(e) = server.await
            {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        };
        let (served, ()) = tokio::join!(api, metrics);
        // The server has drained its requests; let the workers finish their jobs too.
        self.workers.stop(std::time::Duration::from_secs(60)).await;
        served
    }

    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// Creates the first account from `BOOTSTRAP_*`, or in development a printed demo account,
/// when the database has no user yet.
pub async fn first_account(config: &Config, state: &AppState) -> anyhow::Result<()> {
    if let Some(b) = &config.auth.bootstrap {
        let account = FirstAccount {
            email: Email::parse(&b.email).map_err(|e| anyhow::anyhow!("BOOTSTRAP_EMAIL: {e}"))?,
            password: Password::parse(b.password.expose())
                .map_err(|e| anyhow::anyhow!("BOOTSTRAP_PASSWORD: {e}"))?,
            name: "Owner".into(),
            organization_name: b.organization.clone(),
        };
        if state.auth.bootstrap(&account).await? {
            tracing::info!(email = %b.email, organization = %b.organization, "created the bootstrap account");
        }
        return Ok(());
    }
    if !config.auth.demo_account {
        return Ok(());
    }
    let password = {
        use rand::Rng;
        let alphabet = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut rng = rand::thread_rng();
        (0..16)
            .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
            .collect::<String>()
    };
    let account = FirstAccount {
        email: Email::parse("demo@partneros.local").expect("static email"),
        password: Password::parse(&password).expect("generated password"),
        name: "Demo Owner".into(),
        organization_name: "Demo Organization".into(),
    };
    if state.auth.bootstrap(&account).await? {
        // Printed once, on purpose, to the terminal (not the log).
        println!(
            "\n  Demo account created (shown only now):\n    email:    demo@partneros.local\n    password: {password}\n    sign in:  POST {}/api/auth/sign-in/email\n",
            config.http.public_base_url
        );
    }
    Ok(())
}

/// Where outgoing mail goes: the SMTP server (never its password), or files.
fn log_mail_destination(config: &Config) {
    match &config.mail.smtp {
        Some(smtp) => tracing::info!(
            server = %smtp.server(),
            security = ?smtp.security,
            authenticated = smtp.credentials.is_some(),
            from = %config.mail.from,
            "mail goes out through SMTP"
        ),
        None if config.mode == Mode::Production => tracing::warn!(
            dir = %config.mail.dir.display(),
            "SMTP_URL is not set: mail is written to .eml files, not sent"
        ),
        None => tracing::info!(
            dir = %config.mail.dir.display(),
            "SMTP_URL is not set: mail is written to .eml files"
        ),
    }
}

/// The whole start: database, migrations (development), services, first account, server.
pub async fn start(config: &Config) -> anyhow::Result<Application> {
    let url = crate::database::resolve(config).await?;
    if config.mode == Mode::Development {
        let n = partneros_postgres::migrate(&url)
            .await
            .map_err(|e| anyhow::anyhow!("migrating the database: {e}"))?;
        if n > 0 {
            tracing::info!(applied = n, "applied migrations");
        }
    }
    let services = services(
        config,
        &url,
        Arc::new(SystemClock),
        Externals::from_config(config)?,
    )?;
    first_account(config, &services.state).await?;
    if config.turnstile.verifier.is_none() {
        tracing::warn!(
            "TURNSTILE_SECRET_KEY is not set: public application forms are not protected by a captcha"
        );
    }
    log_mail_destination(config);
    if config.mode == Mode::Production
        && config.metrics.addr.is_none()
        && config.metrics.token.is_none()
    {
        tracing::warn!("neither METRICS_ADDR nor METRICS_TOKEN is set: /metrics is not served");
    }
    let app = Application::build(config, services)?;
    // Expired rate-limit hits are purged here, off the request path (every instance does it;
    // the deletes are idempotent). The longest window is the analysis limits' day.
    let db = app.database.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let before = chrono::Utc::now() - chrono::Duration::hours(25);
            if let Err(e) = db.purge_rate_limit_hits(before).await {
                tracing::warn!(error = %e, "purging rate-limit hits failed");
            }
        }
    });
    // Queue depth and outbox lag for /metrics, read off the request path.
    let analysis = app.state.analysis.clone();
    let relay = app.relay.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(15));
        loop {
            tick.tick().await;
            if let Ok(n) = analysis.queue_depth().await {
                metrics::gauge!("analysis_queue_depth").set(n as f64);
            }
            if let Err(e) = relay.observe_lag().await {
                tracing::warn!(error = %e, "reading the outbox lag failed");
            }
        }
    });
    if let (Some(addr), Some(port)) = (config.metrics.addr, app.metrics_port()) {
        tracing::info!(address = %std::net::SocketAddr::new(addr.ip(), port), "serving /metrics");
    }
    tracing::info!(
        address = %format!("{}:{}", config.http.host, app.port()),
        database = %crate::database::redact(&url),
        mode = ?config.mode,
        "serving"
    );
    Ok(app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Vars;
    use partneros_domain::organizations::mail::OutgoingMail;
    use partneros_test_support::{SmtpServer, SmtpTls};

    fn config(pairs: &[(&str, &str)]) -> Config {
        let vars = Vars(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        Config::from_vars(&vars).unwrap()
    }

    fn mail() -> OutgoingMail {
        OutgoingMail {
            to: "ann@example.com".into(),
            subject: "You are invited".into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
        }
    }

    #[tokio::test]
    async fn mail_config_with_smtp_url_sends_through_the_smtp_server() {
        let server = SmtpServer::builder()
            .tls(SmtpTls::StartTls)
            .credentials("relay", "s3cret")
            .start()
            .await;
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, server.ca_pem()).unwrap();
        let externals = Externals::from_config(&config(&[
            ("SMTP_URL", &server.url_with_credentials("relay", "s3cret")),
            ("SMTP_CA_FILE", &ca.to_string_lossy()),
            ("MAIL_FROM", "Acme Partners <partners@acme.example>"),
            ("MAIL_DIR", &dir.path().join("mail").to_string_lossy()),
        ]))
        .unwrap();

        externals.mailer.send(mail()).await.unwrap();

        let received = server.messages();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].from, "partners@acme.example");
        assert!(received[0].tls);
        assert!(!dir.path().join("mail").exists(), "no file written");
    }

    #[tokio::test]
    async fn mail_config_without_smtp_url_writes_files() {
        let dir = tempfile::tempdir().unwrap();
        let externals =
            Externals::from_config(&config(&[("MAIL_DIR", &dir.path().to_string_lossy())]))
                .unwrap();
        externals.mailer.send(mail()).await.unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn mail_config_with_an_unreadable_ca_file_stops_the_start_naming_it() {
        let err = Externals::from_config(&config(&[
            ("SMTP_URL", "smtps://relay:hunter2@smtp.example.com"),
            ("SMTP_CA_FILE", "/nonexistent/smtp-ca.pem"),
        ]))
        .err()
        .unwrap();
        let shown = format!("{err:#}");
        assert!(shown.starts_with("SMTP_CA_FILE: "), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
