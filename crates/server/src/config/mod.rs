//! Configuration from the environment (and `.env` in development). Invalid or contradictory
//! settings stop the process at start with a message naming the variable. Settings are grouped
//! by the adapter or part of the service they configure.

mod adapters;
mod analysis;
mod auth;
mod database;
mod http;
mod outbound;
mod vars;

pub use adapters::{MailConfig, Storage, TurnstileConfig};
pub use analysis::AnalysisConfig;
pub use auth::{AuthConfig, Bootstrap, HashingConfig};
pub use database::DatabaseConfig;
pub use http::{HttpConfig, MetricsConfig};
pub use outbound::OutboundConfig;
pub use vars::Vars;

use partneros_docuseal::DocusealSettings;
use partneros_llm::LlmSettings;
use vars::err;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

impl Mode {
    /// The mode `APP_ENV` names (unset or blank: development).
    pub fn from_app_env(value: Option<&str>) -> Result<Self, ConfigError> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None | Some("development" | "dev") => Ok(Mode::Development),
            Some("production" | "prod") => Ok(Mode::Production),
            Some(other) => Err(err(
                "APP_ENV",
                format!("must be development or production, got {other:?}"),
            )),
        }
    }
}

/// Whether `.env` may be read, decided from the process's own `APP_ENV` before reading it:
/// only in development (production reads only the real environment, and an invalid `APP_ENV`
/// is reported by [`Config::from_vars`] without anything read from a file).
pub fn loads_dotenv(process_app_env: Option<&str>) -> bool {
    matches!(Mode::from_app_env(process_app_env), Ok(Mode::Development))
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub storage: Storage,
    /// E-signature (`DOCUSEAL_*`); `None` answers signature requests as not configured.
    pub docuseal: Option<DocusealSettings>,
    pub turnstile: TurnstileConfig,
    /// The language model (`LLM_*`); `None` means the heuristic enricher.
    pub llm: Option<LlmSettings>,
    pub mail: MailConfig,
    pub auth: AuthConfig,
    pub analysis: AnalysisConfig,
    pub metrics: MetricsConfig,
    pub outbound: OutboundConfig,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl Config {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let mode = Mode::from_app_env(vars.get("APP_ENV"))?;
        let prod = mode == Mode::Production;
        // Groups are read in this order so that a bare production environment is told about
        // DATABASE_URL, then PUBLIC_BASE_URL, then TURNSTILE_SECRET_KEY.
        let database = DatabaseConfig::from_vars(vars, prod)?;
        let http = HttpConfig::from_vars(vars, prod)?;
        let storage = Storage::from_vars(vars)?;
        let docuseal = adapters::docuseal(vars)?;
        let turnstile = TurnstileConfig::from_vars(vars, prod)?;
        let llm = adapters::llm(vars)?;
        let auth = AuthConfig::from_vars(vars, mode == Mode::Development)?;
        let analysis = AnalysisConfig::from_vars(vars)?;
        let mail = MailConfig::from_vars(vars, &http.public_base_url, prod)?;
        let metrics = MetricsConfig::from_vars(vars)?;
        let outbound = OutboundConfig::from_vars(vars, mode == Mode::Development)?;
        Ok(Config {
            mode,
            http,
            database,
            storage,
            docuseal,
            turnstile,
            llm,
            mail,
            auth,
            analysis,
            metrics,
            outbound,
        })
    }

    /// The Argon2 hasher these settings describe.
    pub fn hasher(&self) -> anyhow::Result<crate::passwords::Argon2Hasher> {
        self.auth.hashing.hasher()
    }
}

#[cfg(test)]
mod tests;
