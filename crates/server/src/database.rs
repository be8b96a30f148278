//! Finding the database: the configured one, else a local server, else a private cluster under
//! `.data/` (development only). Creates the database when it is missing.

use crate::config::{Config, Mode};
use anyhow::Context;
use tokio_postgres::NoTls;

const DEV_URL: &str = "postgres://postgres@127.0.0.1:5432/partneros";
const PRIVATE_PORT: u16 = 54320;

async fn answers(url: &str) -> bool {
    matches!(
        tokio::time::timeout(
            std::time::Duration::from_secs(3),
            tokio_postgres::connect(url, NoTls)
        )
        .await,
        Ok(Ok(_))
    )
}

fn with_database(url: &str, db: &str) -> anyhow::Result<url::Url> {
    let mut u = url::Url::parse(url)?;
    u.set_path(&format!("/{db}"));
    Ok(u)
}

/// Creates the URL's database if the server lacks it (development convenience).
async fn create_if_missing(url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url)?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(());
    }
    let admin = with_database(url, "postgres")?;
    let (client, conn) = tokio_postgres::connect(admin.as_str(), NoTls)
        .await
        .context("connecting to the server's postgres database")?;
    tokio::spawn(conn);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if !exists {
        match client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
        {
            Ok(()) => tracing::info!(database = %name, "created the database"),
            // Another instance created it first.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {}
            Err(e) => return Err(e).context("creating the database"),
        }
    }
    Ok(())
}

/// The database URL to use, after making sure (in development) that it exists.
pub async fn resolve(config: &Config) -> anyhow::Result<String> {
    if config.mode == Mode::Production {
        return config
            .database
            .url
            .clone()
            .context("DATABASE_URL is required in production");
    }
    let wanted = config
        .database
        .url
        .clone()
        .unwrap_or_else(|| DEV_URL.to_owned());
    let server = with_database(&wanted, "postgres")?;
    if answers(server.as_str()).await {
        create_if_missing(&wanted).await?;
        return Ok(wanted);
    }
    // Nothing answers: start a private cluster for a newcomer, when PostgreSQL is installed.
    tracing::warn!(url = %redact(&wanted), "no PostgreSQL answers; starting a private cluster under .data/postgres");
    let dir = std::path::Path::new(".data").join("postgres");
    let admin = partneros_postgres::local_cluster::ensure_running(&dir, PRIVATE_PORT)
        .await
        .with_context(|| {
            format!(
                "no PostgreSQL answers at {} and none could be started",
                redact(&wanted)
            )
        })?;
    let url = with_database(&admin, "partneros")?.to_string();
    create_if_missing(&url).await?;
    Ok(url)
}

/// A URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<invalid url>".into(),
    }
}
