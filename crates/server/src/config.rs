//! Configuration from the environment (and `.env` in development). Invalid or contradictory
//! settings stop the process at start with a message naming the variable.

use partneros_domain::shared::secret::Secret;
use std::collections::HashMap;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    Local,
    S3(S3Config),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: SecretEq,
    pub force_path_style: bool,
    pub public_base_url: Option<String>,
}

/// A secret that compares by value (for config equality in tests) and never prints.
#[derive(Clone, Debug)]
pub struct SecretEq(pub Secret);

impl PartialEq for SecretEq {
    fn eq(&self, other: &Self) -> bool {
        self.0.expose() == other.0.expose()
    }
}
impl Eq for SecretEq {}

#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub email: String,
    pub password: Secret,
    pub organization: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    /// `None` in development when unset: the server finds or starts a local database.
    pub database_url: Option<String>,
    pub host: String,
    pub port: u16,
    pub public_base_url: String,
    pub storage: Storage,
    pub docuseal: Option<(String, Secret)>,
    pub turnstile_secret: Option<Secret>,
    pub turnstile_site_key: Option<String>,
    pub llm: Option<(String, Option<Secret>, String)>,
    pub signup_enabled: bool,
    pub bootstrap: Option<Bootstrap>,
    pub pool_size: usize,
    pub pool_wait: Duration,
    /// The server-side limit on one statement (`DB_STATEMENT_TIMEOUT_MS`); a connection silent for
    /// longer while an answer is due is given up as lost.
    pub statement_timeout: Duration,
    /// Argon2 memory cost in KiB (19 MiB by default, the OWASP recommendation).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// Print a demo account on an empty development database.
    pub demo_account: bool,
    /// HTTP worker threads (`WORKERS`); unset, one per CPU.
    pub workers: Option<usize>,
    /// Where the local file store keeps files (`STORAGE_BACKEND=local`).
    pub local_storage_dir: std::path::PathBuf,
    /// Trusted reverse proxies in front of the service (for client IPs from `X-Forwarded-For`).
    pub forwarded_hops: usize,
    /// Cloudflare's siteverify endpoint (tests point it at a local fake).
    pub turnstile_verify_url: String,
    /// Background analysis workers in this process (`ANALYSIS_WORKERS`, 0 turns them off).
    pub analysis_workers: usize,
    /// How often an idle analysis worker looks for due jobs.
    pub analysis_poll: Duration,
    /// Whether analyses read partners' websites (`ANALYSIS_SCRAPE`); off, they use what is
    /// known without any outbound request to the partner.
    pub analysis_scrape: bool,
    /// Browser origins besides the service's own that may call the authenticated API with
    /// credentials (`CORS_ALLOWED_ORIGINS`), each a bare origin.
    pub cors_allowed_origins: Vec<String>,
    /// A listener of its own for `/metrics` (`METRICS_ADDR`); the API listener then hides it.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Required as `Authorization: Bearer` to read `/metrics` (`METRICS_TOKEN`).
    pub metrics_token: Option<Secret>,
    /// Analyses with `?refresh=true` per organization per rolling day
    /// (`ANALYSIS_REFRESHES_PER_DAY`; 0 allows none).
    pub analysis_refreshes_per_day: u32,
    /// Analyses that call the language model per organization per rolling day
    /// (`LLM_CALLS_PER_DAY`; 0 allows none).
    pub llm_calls_per_day: u32,
    /// Per-address limits of sign-in and sign-up (`SIGN_INS_PER_ADDRESS`, `SIGN_UPS_PER_ADDRESS`).
    pub auth_limits: partneros_domain::identity::auth::AuthLimits,
    /// Password hashes that may run at once (`HASHING_CONCURRENCY`; one per core by default).
    pub hashing_slots: usize,
    /// How long a request waits for a hashing slot before answering 503 (`HASHING_WAIT_MS`).
    pub hashing_wait: Duration,
    /// Where mail goes without an SMTP server: one `.eml` file a message (`MAIL_DIR`).
    pub mail_dir: std::path::PathBuf,
    /// The sender of the service's mail (`MAIL_FROM`).
    pub mail_from: partneros_mail::Mailbox,
    /// The page that accepts invitations (`INVITATION_URL`); the token is appended as `?token=`.
    pub invitation_url: String,
}

impl Config {
    /// The Argon2 hasher these settings describe.
    pub fn hasher(&self) -> anyhow::Result<crate::passwords::Argon2Hasher> {
        Ok(crate::passwords::Argon2Hasher::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.hashing_slots,
            self.hashing_wait,
        )?)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn err(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// Reads settings from a map of variables (the process environment in production).
pub struct Vars(pub HashMap<String, String>);

impl Vars {
    pub fn from_env() -> Self {
        Self(std::env::vars().collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    fn bool(&self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(err(key, format!("expected true or false, got {other:?}"))),
        }
    }

    fn number<T: std::str::FromStr>(
        &self,
        key: &'static str,
        default: T,
    ) -> Result<T, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| err(key, format!("expected a number, got {v:?}"))),
        }
    }
}

fn http_url(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(value).map_err(|e| err(variable, format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(err(variable, "must be an http(s) URL"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// A bare origin (`scheme://host[:port]`), in the form browsers send in `Origin`.
fn origin(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let bare = "must be bare origins (scheme://host[:port], e.g. https://app.example.com)";
    let url =
        url::Url::parse(value).map_err(|e| err(variable, format!("{value:?}: {e}; {bare}")))?;
    let is_bare = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    if !is_bare {
        return Err(err(variable, format!("{value:?}: {bare}")));
    }
    Ok(url.origin().ascii_serialization())
}

impl Config {
    /// The service's own origin, from `PUBLIC_BASE_URL` (none when the development default
    /// built from `HOST` is not a URL, e.g. with a bare IPv6 address).
    pub fn public_origin(&self) -> Option<String> {
        url::Url::parse(&self.public_base_url)
            .ok()
            .map(|u| u.origin().ascii_serialization())
    }

    /// How many HTTP worker threads serve requests: `WORKERS`, else one per CPU.
    pub fn http_workers(&self) -> usize {
        self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let mode = match vars.get("APP_ENV").unwrap_or("development") {
            "development" | "dev" => Mode::Development,
            "production" | "prod" => Mode::Production,
            other => {
                return Err(err(
                    "APP_ENV",
                    format!("must be development or production, got {other:?}"),
                ));
            }
        };
        let prod = mode == Mode::Production;

        let database_url = match vars.get("DATABASE_URL") {
            Some(u) => {
                let parsed = url::Url::parse(u)
                    .map_err(|e| err("DATABASE_URL", format!("not a URL: {e}")))?;
                if !matches!(parsed.scheme(), "postgres" | "postgresql") {
                    return Err(err("DATABASE_URL", "must be a postgres:// URL"));
                }
                Some(u.to_owned())
            }
            None if prod => return Err(err("DATABASE_URL", "is required in production")),
            None => None,
        };

        let host = vars
            .get("HOST")
            .unwrap_or(if prod { "0.0.0.0" } else { "127.0.0.1" })
            .to_owned();
        let port: u16 = vars.number("PORT", 8080)?;
        let public_base_url = match vars.get("PUBLIC_BASE_URL") {
            Some(u) => http_url("PUBLIC_BASE_URL", u)?,
            None if prod => return Err(err("PUBLIC_BASE_URL", "is required in production")),
            None => format!(
                "http://{}:{port}",
                if host == "0.0.0.0" {
                    "localhost"
                } else {
                    &host
                }
            ),
        };

        let storage = match vars.get("STORAGE_BACKEND").unwrap_or("local") {
            "local" => Storage::Local,
            "s3" => {
                let need = |k: &'static str| {
                    vars.get(k)
                        .map(str::to_owned)
                        .ok_or_else(|| err(k, "is required when STORAGE_BACKEND=s3"))
                };
                Storage::S3(S3Config {
                    endpoint: vars
                        .get("S3_ENDPOINT")
                        .map(|e| http_url("S3_ENDPOINT", e))
                        .transpose()?,
                    region: vars.get("S3_REGION").unwrap_or("us-east-1").to_owned(),
                    bucket: need("S3_BUCKET")?,
                    access_key_id: need("S3_ACCESS_KEY_ID")?,
                    secret_access_key: SecretEq(Secret::new(need("S3_SECRET_ACCESS_KEY")?)),
                    force_path_style: vars.bool("S3_FORCE_PATH_STYLE", true)?,
                    public_base_url: vars
                        .get("S3_PUBLIC_BASE_URL")
                        .map(|u| http_url("S3_PUBLIC_BASE_URL", u))
                        .transpose()?,
                })
            }
            other => {
                return Err(err(
                    "STORAGE_BACKEND",
                    format!("must be local or s3, got {other:?}"),
                ));
            }
        };

        let docuseal = match (vars.get("DOCUSEAL_URL"), vars.get("DOCUSEAL_API_KEY")) {
            (Some(u), Some(k)) => Some((http_url("DOCUSEAL_URL", u)?, Secret::new(k))),
            (None, None) => None,
            (Some(_), None) => {
                return Err(err(
                    "DOCUSEAL_API_KEY",
                    "is required when DOCUSEAL_URL is set",
                ));
            }
            (None, Some(_)) => {
                return Err(err(
                    "DOCUSEAL_URL",
                    "is required when DOCUSEAL_API_KEY is set",
                ));
            }
        };

        let turnstile_secret = vars.get("TURNSTILE_SECRET_KEY").map(Secret::new);
        if prod && turnstile_secret.is_none() {
            return Err(err(
                "TURNSTILE_SECRET_KEY",
                "is required in production (public application forms must be protected)",
            ));
        }
        let turnstile_site_key = vars.get("TURNSTILE_SITE_KEY").map(str::to_owned);

        let llm = match (vars.get("LLM_BASE_URL"), vars.get("LLM_MODEL")) {
            (Some(u), Some(m)) => Some((
                http_url("LLM_BASE_URL", u)?,
                vars.get("LLM_API_KEY").map(Secret::new),
                m.to_owned(),
            )),
            (None, None) => {
                if vars.get("LLM_API_KEY").is_some() {
                    return Err(err("LLM_BASE_URL", "is required when LLM_API_KEY is set"));
                }
                None
            }
            (Some(_), None) => {
                return Err(err("LLM_MODEL", "is required when LLM_BASE_URL is set"));
            }
            (None, Some(_)) => {
                return Err(err("LLM_BASE_URL", "is required when LLM_MODEL is set"));
            }
        };

        let bootstrap = match (
            vars.get("BOOTSTRAP_EMAIL"),
            vars.get("BOOTSTRAP_PASSWORD"),
            vars.get("BOOTSTRAP_ORGANIZATION"),
        ) {
            (None, None, None) => None,
            (Some(e), Some(p), Some(o)) => {
                partneros_domain::shared::values::Email::parse(e)
                    .map_err(|m| err("BOOTSTRAP_EMAIL", m.0))?;
                partneros_domain::identity::password::Password::parse(p)
                    .map_err(|m| err("BOOTSTRAP_PASSWORD", m.0))?;
                Some(Bootstrap {
                    email: e.to_owned(),
                    password: Secret::new(p),
                    organization: o.to_owned(),
                })
            }
            (e, p, _) => {
                let missing = if e.is_none() {
                    "BOOTSTRAP_EMAIL"
                } else if p.is_none() {
                    "BOOTSTRAP_PASSWORD"
                } else {
                    "BOOTSTRAP_ORGANIZATION"
                };
                return Err(err(
                    missing,
                    "BOOTSTRAP_EMAIL, BOOTSTRAP_PASSWORD and BOOTSTRAP_ORGANIZATION go together",
                ));
            }
        };

        let pool_size: usize = vars.number("DB_POOL_SIZE", 16)?;
        if !(1..=1000).contains(&pool_size) {
            return Err(err("DB_POOL_SIZE", "must be between 1 and 1000"));
        }
        let pool_wait_ms: u64 = vars.number("DB_POOL_TIMEOUT_MS", 5000)?;
        let statement_timeout_ms: u64 = vars.number("DB_STATEMENT_TIMEOUT_MS", 30_000)?;
        if !(100..=3_600_000).contains(&statement_timeout_ms) {
            return Err(err(
                "DB_STATEMENT_TIMEOUT_MS",
                "must be between 100 and 3600000",
            ));
        }
        let analysis_workers: usize = vars.number("ANALYSIS_WORKERS", 2)?;
        if analysis_workers > 64 {
            return Err(err("ANALYSIS_WORKERS", "must be between 0 and 64"));
        }
        let hashing_slots = match vars.get("HASHING_CONCURRENCY") {
            None => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            Some(_) => vars.number("HASHING_CONCURRENCY", 1usize)?,
        };
        if !(1..=256).contains(&hashing_slots) {
            return Err(err("HASHING_CONCURRENCY", "must be between 1 and 256"));
        }
        let auth_limits = partneros_domain::identity::auth::AuthLimits {
            sign_ins_per_address: vars.number("SIGN_INS_PER_ADDRESS", 30)?,
            sign_ups_per_address: vars.number("SIGN_UPS_PER_ADDRESS", 10)?,
        };
        for (variable, limit) in [
            ("SIGN_INS_PER_ADDRESS", auth_limits.sign_ins_per_address),
            ("SIGN_UPS_PER_ADDRESS", auth_limits.sign_ups_per_address),
        ] {
            if limit == 0 {
                return Err(err(variable, "must be at least 1"));
            }
        }
        let mail_from = vars
            .get("MAIL_FROM")
            .unwrap_or("PartnerOS <no-reply@partneros.local>")
            .parse()
            .map_err(|_| {
                err(
                    "MAIL_FROM",
                    "must be an address such as `PartnerOS <no-reply@example.com>`",
                )
            })?;
        let invitation_url = match vars.get("INVITATION_URL") {
            Some(u) => http_url("INVITATION_URL", u)?,
            None => format!("{public_base_url}/accept-invitation"),
        };
        let cors_allowed_origins = vars
            .get("CORS_ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| origin("CORS_ALLOWED_ORIGINS", o))
            .collect::<Result<Vec<_>, _>>()?;
        let metrics_addr = vars
            .get("METRICS_ADDR")
            .map(|a| {
                a.parse().map_err(|_| {
                    err(
                        "METRICS_ADDR",
                        format!(
                            "expected an IP address and port such as 127.0.0.1:9464, got {a:?}"
                        ),
                    )
                })
            })
            .transpose()?;
        let metrics_token = vars.get("METRICS_TOKEN").map(Secret::new);
        if metrics_token
            .as_ref()
            .is_some_and(|t| t.expose().chars().count() < 16)
        {
            return Err(err("METRICS_TOKEN", "must be at least 16 characters"));
        }
        let workers = match vars.get("WORKERS") {
            None => None,
            Some(_) => Some(vars.number::<usize>("WORKERS", 1)?.max(1)),
        };

        Ok(Config {
            mode,
            database_url,
            host,
            port,
            public_base_url,
            storage,
            docuseal,
            turnstile_secret,
            turnstile_site_key,
            llm,
            signup_enabled: vars.bool("SIGNUP_ENABLED", true)?,
            bootstrap,
            pool_size,
            pool_wait: Duration::from_millis(pool_wait_ms),
            statement_timeout: Duration::from_millis(statement_timeout_ms),
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            demo_account: mode == Mode::Development,
            workers,
            local_storage_dir: vars
                .get("LOCAL_STORAGE_DIR")
                .unwrap_or(".data/files")
                .into(),
            forwarded_hops: vars.number("FORWARDED_HOPS", 0)?,
            turnstile_verify_url: partneros_turnstile::CLOUDFLARE_SITEVERIFY_URL.into(),
            analysis_workers,
            analysis_poll: Duration::from_millis(1000),
            analysis_scrape: vars.bool("ANALYSIS_SCRAPE", true)?,
            analysis_refreshes_per_day: vars.number("ANALYSIS_REFRESHES_PER_DAY", 20)?,
            llm_calls_per_day: vars.number("LLM_CALLS_PER_DAY", 200)?,
            auth_limits,
            hashing_slots,
            hashing_wait: Duration::from_millis(vars.number("HASHING_WAIT_MS", 2000)?),
            mail_dir: vars.get("MAIL_DIR").unwrap_or(".data/mail").into(),
            mail_from,
            invitation_url,
            cors_allowed_origins,
            metrics_addr,
            metrics_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(c.database_url, None);
        assert_eq!(c.public_base_url, "http://127.0.0.1:8080");
        assert_eq!(c.storage, Storage::Local);
        assert!(c.signup_enabled && c.demo_account);
        assert_eq!(
            (c.analysis_refreshes_per_day, c.llm_calls_per_day),
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
            (c.analysis_refreshes_per_day, c.llm_calls_per_day),
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
        assert!(!ok.demo_account);
        assert_eq!(ok.host, "0.0.0.0");
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
    }

    #[test]
    fn abuse_limits_and_mail_have_documented_defaults() {
        let c = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(c.auth_limits.sign_ins_per_address, 30);
        assert_eq!(c.auth_limits.sign_ups_per_address, 10);
        assert!(c.hashing_slots >= 1);
        assert_eq!(c.hashing_wait, Duration::from_secs(2));
        assert_eq!(c.mail_dir, std::path::PathBuf::from(".data/mail"));
        assert_eq!(c.invitation_url, "http://127.0.0.1:8080/accept-invitation");
    }

    #[test]
    fn cors_origins_are_bare_origins_in_browser_form() {
        let c = Config::from_vars(&vars(&[(
            "CORS_ALLOWED_ORIGINS",
            " https://App.Example.com , http://localhost:3000/,https://b.example:443",
        )]))
        .unwrap();
        assert_eq!(
            c.cors_allowed_origins,
            [
                "https://app.example.com",
                "http://localhost:3000",
                "https://b.example"
            ]
        );
        assert!(
            Config::from_vars(&vars(&[]))
                .unwrap()
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
            c.public_origin().as_deref(),
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
        assert_eq!(c.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(
            c.metrics_token.as_ref().map(Secret::expose),
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
        ]))
        .unwrap();
        let shown = format!("{c:?}");
        for secret in [
            "docuseal-secret-123",
            "turnstile-secret-456",
            "bootstrap-secret-789",
            "metrics-secret-0123456789",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked");
        }
    }
}
