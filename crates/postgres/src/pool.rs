//! The connection pool, built in one place, and the embedded migrations.

use diesel::Connection;
use diesel_async::AsyncPgConnection;
use diesel_async::SimpleAsyncConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Hook, HookError, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use partneros_domain::StoreError;
use std::time::Duration;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

pub type PgPool = Pool<AsyncPgConnection>;

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub max_size: usize,
    /// How long a request waits for a free connection before answering 503.
    pub wait_timeout: Duration,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
    /// Server-side limit on any one statement. A connection that hears nothing from the server
    /// for this long plus up to 5 s (at most twice as long) while an answer is due is given up
    /// as lost, so a hung server or a network that swallows packets cannot hold a request.
    pub statement_timeout: Duration,
    pub application_name: String,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_size: 16,
            wait_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            application_name: "partneros".into(),
        }
    }
}

/// The database handle shared by every repository.
#[derive(Clone)]
pub struct Database {
    pub(crate) pool: PgPool,
    /// The longest a checkout may take in all: waiting for a slot, opening a connection and
    /// setting it up.
    checkout_timeout: Duration,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.pool.status();
        f.debug_struct("Database")
            .field("size", &s.size)
            .field("available", &s.available)
            .finish()
    }
}

impl Database {
    /// Pool usage: (connections open, connections idle, max size).
    pub fn pool_status(&self) -> (usize, usize, usize) {
        let s = self.pool.status();
        (s.size, s.available, s.max_size)
    }

    pub(crate) async fn conn(
        &self,
    ) -> Result<diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>, StoreError>
    {
        // The pool bounds each step of a checkout on its own; the request waits the pool's
        // timeout in all.
        match tokio::time::timeout(self.checkout_timeout, self.pool.get()).await {
            Ok(got) => got.map_err(|e| StoreError::Unavailable(Box::new(e))),
            Err(_) => Err(StoreError::Unavailable(
                format!("no database connection within {:?}", self.checkout_timeout).into(),
            )),
        }
    }
}

/// Builds the pool. Connections are opened lazily; each new one gets the statement timeout and
/// application name.
pub fn connect(database_url: &str, config: &PoolConfig) -> Result<Database, StoreError> {
    let mut manager_config = ManagerConfig::default();
    // The default (`Verified`) sends `SELECT 1` at every checkout: a round trip per request.
    // A broken connection is still detected and replaced (`Fast` checks its state).
    manager_config.recycling_method = RecyclingMethod::Fast;
    let connect_timeout = config.connect_timeout;
    let io_timeout =
        config.statement_timeout + config.statement_timeout.min(Duration::from_secs(5));
    manager_config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        Box::pin(async move {
            let establish = crate::connection::establish(&url, io_timeout);
            match tokio::time::timeout(connect_timeout, establish).await {
                Ok(r) => r,
                Err(_) => Err(diesel::ConnectionError::BadConnection(
                    "timed out connecting to the database".into(),
                )),
            }
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        database_url,
        manager_config,
    );
    let statement_timeout = config.statement_timeout.as_millis();
    let application_name = config.application_name.replace('\'', "");
    let pool = Pool::builder(manager)
        .max_size(config.max_size)
        .wait_timeout(Some(config.wait_timeout))
        .create_timeout(Some(config.connect_timeout))
        .recycle_timeout(Some(config.connect_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .post_create(Hook::async_fn(move |conn: &mut AsyncPgConnection, _| {
            let sql = format!(
                "SET statement_timeout = {statement_timeout}; SET application_name = '{application_name}'"
            );
            Box::pin(async move {
                // Two statements: only the simple-query protocol accepts that (a prepared
                // statement may hold one command).
                conn.batch_execute(&sql)
                    .await
                    .map_err(|e| HookError::message(e.to_string()))?;
                Ok(())
            })
        }))
        .build()
        .map_err(|e| StoreError::unexpected(e.to_string()))?;
    Ok(Database {
        pool,
        // A zero wait means "never queue for a slot", not "never open a connection".
        checkout_timeout: if config.wait_timeout.is_zero() {
            config.connect_timeout
        } else {
            config.wait_timeout
        },
    })
}

type MigrationError = Box<dyn std::error::Error + Send + Sync>;

fn blocking_connection(
    database_url: &str,
) -> Result<AsyncConnectionWrapper<AsyncPgConnection>, MigrationError> {
    Ok(<AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(database_url)?)
}

/// Applies every pending migration; returns how many ran.
pub async fn migrate(database_url: &str) -> Result<usize, MigrationError> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = blocking_connection(&url)?;
        let applied = conn.run_pending_migrations(MIGRATIONS)?;
        Ok(applied.len())
    })
    .await?
}

/// How many embedded migrations the database lacks.
pub async fn pending_migrations(database_url: &str) -> Result<usize, MigrationError> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = blocking_connection(&url)?;
        Ok(conn.pending_migrations(MIGRATIONS)?.len())
    })
    .await?
}
