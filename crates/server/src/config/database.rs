//! The database: where it is and the pool's numbers (the pool itself is `partneros_postgres`'s).

use super::ConfigError;
use super::vars::{Vars, err};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL`; `None` in development when unset: the server finds or starts a local
    /// database.
    pub url: Option<String>,
    /// `DB_POOL_SIZE`.
    pub pool_size: usize,
    /// How long a request waits for a connection (`DB_POOL_TIMEOUT_MS`).
    pub pool_wait: Duration,
    /// The server-side limit on one statement (`DB_STATEMENT_TIMEOUT_MS`); a connection silent for
    /// longer while an answer is due is given up as lost.
    pub statement_timeout: Duration,
}

impl DatabaseConfig {
    pub(super) fn from_vars(vars: &Vars, prod: bool) -> Result<Self, ConfigError> {
        let url = match vars.get("DATABASE_URL") {
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
        Ok(Self {
            url,
            pool_size,
            pool_wait: Duration::from_millis(pool_wait_ms),
            statement_timeout: Duration::from_millis(statement_timeout_ms),
        })
    }
}
