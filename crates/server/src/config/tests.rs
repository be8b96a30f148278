use super::*;
use partneros_domain::shared::secret::Secret;
use std::time::Duration;

fn vars(pairs: &[(&str, &str)]) -> Vars {
    Vars(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn fails_on(pairs: &[(&str, &str)], variable: &str) {
    let e = Config::from_vars(&vars(pairs)).unwrap_err();
    assert_eq!(e.variable, variable, "{e}");
}

#[test]
fn development_needs_nothing() {
    let c = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(c.mode, Mode::Development);
    assert_eq!(c.database.url, None);
    assert_eq!(c.http.public_base_url, "http://127.0.0.1:8080");
    assert!(matches!(c.storage, Storage::Local { .. }));
    assert!(c.auth.signup_enabled && c.auth.demo_account);
    assert_eq!(
        (c.analysis.refreshes_per_day, c.analysis.llm_calls_per_day),
        (20, 200)
    );
}

#[test]
fn daily_analysis_limits_are_counts() {
    let c = Config::from_vars(&vars(&[
        ("ANALYSIS_REFRESHES_PER_DAY", "0"),
        ("LLM_CALLS_PER_DAY", " 5000 "),
    ]))
    .unwrap();
    assert_eq!(
        (c.analysis.refreshes_per_day, c.analysis.llm_calls_per_day),
        (0, 5000)
    );
    for bad in ["-1", "1.5", "lots", "99999999999"] {
        fails_on(
            &[("ANALYSIS_REFRESHES_PER_DAY", bad)],
            "ANALYSIS_REFRESHES_PER_DAY",
        );
        fails_on(&[("LLM_CALLS_PER_DAY", bad)], "LLM_CALLS_PER_DAY");
    }
}

#[test]
fn production_requires_its_essentials() {
    fails_on(&[("APP_ENV", "production")], "DATABASE_URL");
    fails_on(
        &[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://x/y"),
        ],
        "PUBLIC_BASE_URL",
    );
    fails_on(
        &[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://x/y"),
            ("PUBLIC_BASE_URL", "https://p.example"),
        ],
        "TURNSTILE_SECRET_KEY",
    );
    let ok = Config::from_vars(&vars(&[
        ("APP_ENV", "production"),
        ("DATABASE_URL", "postgres://x/y"),
        ("PUBLIC_BASE_URL", "https://p.example"),
        ("TURNSTILE_SECRET_KEY", "s"),
    ]))
    .unwrap();
    assert!(!ok.auth.demo_account);
    assert_eq!(ok.http.host, "0.0.0.0");
}

#[test]
fn contradictions_name_the_variable() {
    fails_on(&[("APP_ENV", "staging")], "APP_ENV");
    fails_on(&[("DATABASE_URL", "mysql://x")], "DATABASE_URL");
    fails_on(&[("PORT", "eighty")], "PORT");
    fails_on(&[("STORAGE_BACKEND", "s3")], "S3_BUCKET");
    fails_on(&[("STORAGE_BACKEND", "ftp")], "STORAGE_BACKEND");
    fails_on(&[("DOCUSEAL_URL", "https://d.example")], "DOCUSEAL_API_KEY");
    fails_on(
        &[("LLM_BASE_URL", "http://localhost:11434/v1")],
        "LLM_MODEL",
    );
    fails_on(&[("BOOTSTRAP_EMAIL", "a@b.co")], "BOOTSTRAP_PASSWORD");
    fails_on(
        &[
            ("BOOTSTRAP_EMAIL", "a@b.co"),
            ("BOOTSTRAP_PASSWORD", "short"),
            ("BOOTSTRAP_ORGANIZATION", "A"),
        ],
        "BOOTSTRAP_PASSWORD",
    );
    fails_on(&[("SIGNUP_ENABLED", "maybe")], "SIGNUP_ENABLED");
    fails_on(&[("DB_POOL_SIZE", "0")], "DB_POOL_SIZE");
    fails_on(
        &[("DB_STATEMENT_TIMEOUT_MS", "0")],
        "DB_STATEMENT_TIMEOUT_MS",
    );
    fails_on(&[("HASHING_CONCURRENCY", "0")], "HASHING_CONCURRENCY");
    fails_on(&[("SIGN_INS_PER_ADDRESS", "0")], "SIGN_INS_PER_ADDRESS");
    fails_on(&[("SIGN_UPS_PER_ADDRESS", "many")], "SIGN_UPS_PER_ADDRESS");
    fails_on(&[("MAIL_FROM", "not an address")], "MAIL_FROM");
    fails_on(&[("INVITATION_URL", "ftp://x")], "INVITATION_URL");
    fails_on(&[("VERIFY_EMAIL_URL", "nope")], "VERIFY_EMAIL_URL");
    fails_on(&[("RESET_PASSWORD_URL", "ftp://x")], "RESET_PASSWORD_URL");
    fails_on(&[("PUBLIC_APP_URL", "app.example")], "PUBLIC_APP_URL");
    fails_on(
        &[("PASSWORD_RESETS_PER_ADDRESS", "0")],
        "PASSWORD_RESETS_PER_ADDRESS",
    );
}

#[test]
fn abuse_limits_and_mail_have_documented_defaults() {
    let c = Config::from_vars(&vars(&[])).unwrap();
    assert_eq!(c.auth.limits.sign_ins_per_address, 30);
    assert_eq!(c.auth.limits.sign_ups_per_address, 10);
    assert!(c.auth.hashing.slots >= 1);
    assert_eq!(c.auth.hashing.wait, Duration::from_secs(2));
    assert_eq!(c.mail.dir, std::path::PathBuf::from(".data/mail"));
    assert_eq!(c.auth.limits.password_resets_per_address, 20);
    assert!(
        c.mail.smtp.is_none(),
        "without SMTP_URL, mail goes to files"
    );
    assert_eq!(
        c.mail.from.to_string(),
        "PartnerOS <no-reply@partneros.local>"
    );
    assert_eq!(
        c.mail.invitation_url,
        "http://127.0.0.1:8080/accept-invitation"
    );
    assert_eq!(
        c.mail.verify_email_url,
        "http://127.0.0.1:8080/verify-email"
    );
    assert_eq!(
        c.mail.reset_password_url,
        "http://127.0.0.1:8080/reset-password"
    );
    assert_eq!(c.mail.app_url, None);
}

#[test]
fn the_web_app_is_the_base_of_mailed_links_unless_a_page_is_set() {
    let c = Config::from_vars(&vars(&[
        ("PUBLIC_APP_URL", "https://app.example.com/"),
        ("RESET_PASSWORD_URL", "https://id.example.com/reset"),
    ]))
    .unwrap();
    let links = c.mail.links();
    assert_eq!(links.app.as_deref(), Some("https://app.example.com"));
    assert_eq!(
        links.accept_invitation,
        "https://app.example.com/accept-invitation"
    );
    assert_eq!(links.verify_email, "https://app.example.com/verify-email");
    assert_eq!(links.reset_password, "https://id.example.com/reset");
}

#[test]
fn cors_origins_are_bare_origins_in_browser_form() {
    let c = Config::from_vars(&vars(&[(
        "CORS_ALLOWED_ORIGINS",
        " https://App.Example.com , http://localhost:3000/,https://b.example:443",
    )]))
    .unwrap();
    assert_eq!(
        c.http.cors_allowed_origins,
        [
            "https://app.example.com",
            "http://localhost:3000",
            "https://b.example"
        ]
    );
    assert!(
        Config::from_vars(&vars(&[]))
            .unwrap()
            .http
            .cors_allowed_origins
            .is_empty()
    );
    for bad in [
        "*",
        "null",
        "app.example.com",
        "https://app.example.com/path",
        "https://app.example.com?x=1",
        "https://user@app.example.com",
        "ftp://files.example.com",
        "https://ok.example, https://bad.example/x",
    ] {
        fails_on(&[("CORS_ALLOWED_ORIGINS", bad)], "CORS_ALLOWED_ORIGINS");
    }
}

#[test]
fn public_origin_drops_the_path_of_the_base_url() {
    let c = Config::from_vars(&vars(&[(
        "PUBLIC_BASE_URL",
        "https://Partners.Example.com:443/base/",
    )]))
    .unwrap();
    assert_eq!(
        c.http.public_origin().as_deref(),
        Some("https://partners.example.com")
    );
}

#[test]
fn metrics_settings_are_checked() {
    let c = Config::from_vars(&vars(&[
        ("METRICS_ADDR", "127.0.0.1:9464"),
        ("METRICS_TOKEN", "a-long-metrics-token"),
    ]))
    .unwrap();
    assert_eq!(c.metrics.addr, Some("127.0.0.1:9464".parse().unwrap()));
    assert_eq!(
        c.metrics.token.as_ref().map(Secret::expose),
        Some("a-long-metrics-token")
    );
    fails_on(&[("METRICS_ADDR", "localhost")], "METRICS_ADDR");
    fails_on(&[("METRICS_ADDR", "9464")], "METRICS_ADDR");
    fails_on(&[("METRICS_TOKEN", "short")], "METRICS_TOKEN");
}

#[test]
fn secrets_never_show_in_debug() {
    let c = Config::from_vars(&vars(&[
        ("DOCUSEAL_URL", "https://d.example"),
        ("DOCUSEAL_API_KEY", "docuseal-secret-123"),
        ("TURNSTILE_SECRET_KEY", "turnstile-secret-456"),
        ("BOOTSTRAP_EMAIL", "a@b.co"),
        ("BOOTSTRAP_PASSWORD", "bootstrap-secret-789"),
        ("BOOTSTRAP_ORGANIZATION", "Acme"),
        ("METRICS_TOKEN", "metrics-secret-0123456789"),
        ("STORAGE_BACKEND", "s3"),
        ("S3_BUCKET", "b"),
        ("S3_ACCESS_KEY_ID", "id"),
        ("S3_SECRET_ACCESS_KEY", "s3-secret-246"),
        ("LLM_BASE_URL", "http://localhost:11434/v1"),
        ("LLM_MODEL", "m"),
        ("LLM_API_KEY", "llm-secret-135"),
        ("SMTP_URL", "smtps://relay:smtp-secret-864@mail.example.com"),
    ]))
    .unwrap();
    let shown = format!("{c:?}");
    for secret in [
        "docuseal-secret-123",
        "turnstile-secret-456",
        "bootstrap-secret-789",
        "metrics-secret-0123456789",
        "s3-secret-246",
        "llm-secret-135",
        "smtp-secret-864",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked");
    }
}

#[test]
fn prod_is_production_everywhere() {
    for value in ["production", "prod", " prod "] {
        assert_eq!(Mode::from_app_env(Some(value)).unwrap(), Mode::Production);
        fails_on(&[("APP_ENV", value)], "DATABASE_URL");
    }
    for value in [None, Some(""), Some("development"), Some("dev")] {
        assert_eq!(Mode::from_app_env(value).unwrap(), Mode::Development);
    }
}

#[test]
fn dotenv_is_read_in_development_only() {
    for app_env in [
        None,
        Some(""),
        Some("development"),
        Some("dev"),
        Some(" dev "),
    ] {
        assert!(loads_dotenv(app_env), "{app_env:?}");
    }
    // Production, however it is spelled, reads only the real environment; so does an invalid
    // APP_ENV, which stops the process without anything read from a file.
    for app_env in ["production", "prod", " prod", "staging"] {
        assert!(!loads_dotenv(Some(app_env)), "{app_env}");
    }
}

#[test]
fn adapter_settings_carry_the_variables() {
    let c = Config::from_vars(&vars(&[
        ("STORAGE_BACKEND", "s3"),
        ("S3_BUCKET", "b"),
        ("S3_ACCESS_KEY_ID", "id"),
        ("S3_SECRET_ACCESS_KEY", "key"),
        ("S3_ENDPOINT", "http://127.0.0.1:9000/"),
        ("DOCUSEAL_URL", "https://d.example/api/"),
        ("DOCUSEAL_API_KEY", "k"),
        ("LLM_BASE_URL", "http://localhost:11434/v1"),
        ("LLM_MODEL", "llama3.1:8b"),
        ("TURNSTILE_SECRET_KEY", "s"),
    ]))
    .unwrap();
    let Storage::S3(s3) = &c.storage else {
        panic!("{:?}", c.storage)
    };
    assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!((s3.region.as_str(), s3.bucket.as_str()), ("us-east-1", "b"));
    assert!(s3.force_path_style);
    let docuseal = c.docuseal.as_ref().unwrap();
    assert_eq!(docuseal.base_url, "https://d.example/api");
    let llm = c.llm.as_ref().unwrap();
    assert_eq!(
        (llm.base_url.as_str(), llm.model.as_str()),
        ("http://localhost:11434/v1", "llama3.1:8b")
    );
    assert!(llm.api_key.is_none());
    let verifier = c.turnstile.verifier.as_ref().unwrap();
    assert_eq!(
        verifier.siteverify_url,
        partneros_turnstile::CLOUDFLARE_SITEVERIFY_URL
    );
}

#[test]
fn smtp_url_selects_the_smtp_mailer() {
    let c = Config::from_vars(&vars(&[
        (
            "SMTP_URL",
            " smtp://relay%40acme.example:p%40ss@smtp.example.com:587?tls=required ",
        ),
        ("SMTP_CA_FILE", "/etc/partneros/smtp-ca.pem"),
        ("MAIL_FROM", "Acme Partners <partners@acme.example>"),
    ]))
    .unwrap();
    let smtp = c.mail.smtp.as_ref().unwrap();
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.security),
        (
            "smtp.example.com",
            587,
            partneros_mail::SmtpSecurity::StartTls
        )
    );
    let (user, password) = smtp.credentials.as_ref().unwrap();
    assert_eq!(
        (user.as_str(), password.expose()),
        ("relay@acme.example", "p@ss")
    );
    assert_eq!(
        smtp.ca_file.as_deref(),
        Some(std::path::Path::new("/etc/partneros/smtp-ca.pem"))
    );
    assert_eq!(smtp.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.mail.from.email.to_string(), "partners@acme.example");

    let c = Config::from_vars(&vars(&[("SMTP_URL", "smtp://mailpit:1025")])).unwrap();
    let smtp = c.mail.smtp.as_ref().unwrap();
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.security),
        ("mailpit", 1025, partneros_mail::SmtpSecurity::None)
    );
    assert!(smtp.credentials.is_none() && smtp.ca_file.is_none());
    let c = Config::from_vars(&vars(&[("SMTP_URL", "smtps://u:p@smtp.example.com")])).unwrap();
    assert_eq!(c.mail.smtp.unwrap().port, 465);
}

#[test]
fn smtp_mistakes_name_the_variable_and_never_show_the_password() {
    for bad in [
        "smtp.example.com:587",
        "https://smtp.example.com",
        "smtp://relay:hunter2@smtp.example.com?tls=require",
        "smtp://relay:hunter2@smtp.example.com:25",
        "smtp://relay@smtp.example.com?tls=required",
        "smtp://smtp.example.com?tls=required&timeout=5",
    ] {
        let e = Config::from_vars(&vars(&[("SMTP_URL", bad)])).unwrap_err();
        assert_eq!(e.variable, "SMTP_URL", "{bad}: {e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
    fails_on(&[("SMTP_CA_FILE", "/ca.pem")], "SMTP_CA_FILE");
    fails_on(
        &[
            ("SMTP_URL", "smtp://mailpit:1025"),
            ("SMTP_CA_FILE", "/ca.pem"),
        ],
        "SMTP_CA_FILE",
    );
    let production = [
        ("APP_ENV", "production"),
        ("DATABASE_URL", "postgres://x/y"),
        ("PUBLIC_BASE_URL", "https://p.example"),
        ("TURNSTILE_SECRET_KEY", "s"),
        ("SMTP_URL", "smtps://u:p@smtp.example.com"),
    ];
    fails_on(&production, "MAIL_FROM");
    let mut with_from = production.to_vec();
    with_from.push(("MAIL_FROM", "partners@acme.example"));
    assert!(Config::from_vars(&vars(&with_from)).is_ok());
}
