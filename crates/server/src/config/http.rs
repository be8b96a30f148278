//! The HTTP listener, the service's public address, browsers allowed in, and `/metrics`.

use super::ConfigError;
use super::vars::{Vars, err, http_url, origin};
use partneros_domain::shared::secret::Secret;

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `HOST`: `0.0.0.0` in production, `127.0.0.1` in development.
    pub host: String,
    pub port: u16,
    /// `PUBLIC_BASE_URL`, without a trailing slash.
    pub public_base_url: String,
    /// HTTP worker threads (`WORKERS`); unset, one per CPU.
    pub workers: Option<usize>,
    /// Trusted reverse proxies in front of the service (for client IPs from `X-Forwarded-For`).
    pub forwarded_hops: usize,
    /// Browser origins besides the service's own that may call the authenticated API with
    /// credentials (`CORS_ALLOWED_ORIGINS`), each a bare origin.
    pub cors_allowed_origins: Vec<String>,
}

impl HttpConfig {
    pub(super) fn from_vars(vars: &Vars, prod: bool) -> Result<Self, ConfigError> {
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
        let cors_allowed_origins = vars
            .get("CORS_ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| origin("CORS_ALLOWED_ORIGINS", o))
            .collect::<Result<Vec<_>, _>>()?;
        let workers = match vars.get("WORKERS") {
            None => None,
            Some(_) => Some(vars.number::<usize>("WORKERS", 1)?.max(1)),
        };
        Ok(Self {
            host,
            port,
            public_base_url,
            workers,
            forwarded_hops: vars.number("FORWARDED_HOPS", 0)?,
            cors_allowed_origins,
        })
    }

    /// The service's own origin, from `PUBLIC_BASE_URL` (none when the development default
    /// built from `HOST` is not a URL, e.g. with a bare IPv6 address).
    pub fn public_origin(&self) -> Option<String> {
        url::Url::parse(&self.public_base_url)
            .ok()
            .map(|u| u.origin().ascii_serialization())
    }

    /// How many HTTP worker threads serve requests: `WORKERS`, else one per CPU.
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }
}

/// Who may read `/metrics`, and where.
#[derive(Debug, Clone, Default)]
pub struct MetricsConfig {
    /// A listener of its own for `/metrics` (`METRICS_ADDR`); the API listener then hides it.
    pub addr: Option<std::net::SocketAddr>,
    /// Required as `Authorization: Bearer` to read `/metrics` (`METRICS_TOKEN`).
    pub token: Option<Secret>,
}

impl MetricsConfig {
    pub(super) fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let addr = vars
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
        let token = vars.get("METRICS_TOKEN").map(Secret::new);
        if token
            .as_ref()
            .is_some_and(|t| t.expose().chars().count() < 16)
        {
            return Err(err("METRICS_TOKEN", "must be at least 16 characters"));
        }
        Ok(Self { addr, token })
    }
}
