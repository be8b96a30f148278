#![doc = include_str!("../README.md")]

mod proxy;
mod smtp;

pub use proxy::{Link, TcpProxy};
pub use smtp::{ParsedMail, ReceivedMail, SmtpFault, SmtpServer, SmtpServerBuilder, SmtpTls};

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use tokio_postgres::NoTls;

/// A database that exists for one test and is dropped with it.
pub struct TestDatabase {
    url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    pub async fn new() -> Self {
        let admin_url = server_url().await;
        let template = ensure_template(&admin_url).await;
        let name = format!("partneros_test_{}", uuid::Uuid::new_v4().simple());
        let (client, conn) = tokio_postgres::connect(&admin_url, NoTls)
            .await
            .expect("connect to the test PostgreSQL server");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("clone the template database");
        let url = with_database(&admin_url, &name);
        Self {
            url,
            name,
            admin_url,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's `host:port`, for putting a [`TcpProxy`] in front of it.
    pub fn server_address(&self) -> String {
        let parsed = url::Url::parse(&self.url).expect("a postgres:// URL");
        format!(
            "{}:{}",
            parsed.host_str().unwrap_or("127.0.0.1"),
            parsed.port().unwrap_or(5432)
        )
    }

    /// This database's URL with the server reached at `address` instead (a proxy's).
    pub fn url_via(&self, address: std::net::SocketAddr) -> String {
        let mut parsed = url::Url::parse(&self.url).expect("a postgres:// URL");
        parsed
            .set_host(Some(&address.ip().to_string()))
            .expect("an IP host");
        parsed.set_port(Some(address.port())).expect("a port");
        parsed.to_string()
    }

    /// Runs SQL against this database (for arranging and inspecting state in tests).
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(conn);
        client
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // Drop may run inside or outside a runtime; a thread with its own runtime works in both.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&admin, NoTls).await.ok()?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

fn with_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("a postgres:// URL");
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}

async fn reachable(url: &str) -> bool {
    matches!(
        tokio::time::timeout(
            std::time::Duration::from_secs(3),
            tokio_postgres::connect(url, NoTls)
        )
        .await,
        Ok(Ok(_))
    )
}

/// The URL of a server database to administer from (`postgres`).
pub async fn server_url() -> String {
    for var in ["TEST_DATABASE_URL", "DATABASE_URL"] {
        if let Ok(url) = std::env::var(var)
            && !url.is_empty()
        {
            return with_database(&url, "postgres");
        }
    }
    let local = "postgres://postgres@127.0.0.1:5432/postgres";
    if reachable(local).await {
        return local.to_owned();
    }
    let dir = workspace_root().join("target").join("test-pg");
    partneros_postgres::local_cluster::ensure_running(&dir, 54329)
        .await
        .expect("no PostgreSQL server answers and a private one could not be started")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn migrations_fingerprint() -> u64 {
    let dir = workspace_root().join("migrations");
    let mut entries: Vec<PathBuf> = walk(&dir);
    entries.sort();
    let mut hasher = DefaultHasher::new();
    for path in entries {
        path.strip_prefix(&dir).unwrap_or(&path).hash(&mut hasher);
        std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
    }
    hasher.finish()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Builds the migrated template once per migration set; returns its name.
async fn ensure_template(admin_url: &str) -> String {
    let template = format!("partneros_template_{:016x}", migrations_fingerprint());
    let (client, conn) = tokio_postgres::connect(admin_url, NoTls)
        .await
        .expect("connect to the test PostgreSQL server");
    tokio::spawn(conn);
    // Serialize builders across test processes.
    client
        .execute("SELECT pg_advisory_lock(7243100001)", &[])
        .await
        .expect("advisory lock");
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .expect("look up the template")
        .is_some();
    if !exists {
        let building = format!("{template}_building");
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .await
            .expect("drop a half-built template");
        client
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .await
            .expect("create the template");
        partneros_postgres::migrate(&with_database(admin_url, &building))
            .await
            .expect("migrate the template");
        client
            .batch_execute(&format!(
                "ALTER DATABASE {building} RENAME TO {template}; ALTER DATABASE {template} IS_TEMPLATE true"
            ))
            .await
            .expect("publish the template");
    }
    client
        .execute("SELECT pg_advisory_unlock(7243100001)", &[])
        .await
        .expect("advisory unlock");
    template
}
