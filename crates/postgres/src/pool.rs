//! The connection pool, built in one function, and the embedded migrations.

use crate::connection::ConnectOptions;
use crate::deadline::Conn;
use diesel_async::AsyncPgConnection;
use diesel_async::SimpleAsyncConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Hook, HookError, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use partneros_domain::shared::error::StoreError;
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
    /// Server-side limit on any one statement (`statement_timeout`). The client gives a
    /// statement that long plus up to 5 s (at most twice as long) before it takes the server
    /// for hung and discards the connection, so a hung server or a network that swallows
    /// packets cannot hold a request.
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

impl PoolConfig {
    /// The client-side deadline of one statement: the server's own limit answers first.
    pub fn statement_deadline(&self) -> Duration {
        self.statement_timeout + self.statement_timeout.min(Duration::from_secs(5))
    }
}

/// The database handle shared by every repository.
#[derive(Clone)]
pub struct Database {
    pool: PgPool,
    statement_deadline: Duration,
    /// The longest a checkout may take in all: waiting for a slot, opening a connection and
    /// setting it up.
    checkout_timeout: Duration,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (size, available, max) = self.pool_status();
        f.debug_struct("Database")
            .field("size", &size)
            .field("available", &available)
            .field("max_size", &max)
            .finish()
    }
}

impl Database {
    /// Pool usage: (connections open, connections idle, max size).
    pub fn pool_status(&self) -> (usize, usize, usize) {
        let s = self.pool.status();
        (s.size, s.available, s.max_size)
    }

    /// A connection of the pool whose every statement has [`PoolConfig::statement_deadline`].
    pub(crate) async fn conn(&self) -> Result<Conn, StoreError> {
        // The pool bounds each step of a checkout on its own; the request waits the pool's
        // timeout in all.
        match tokio::time::timeout(self.checkout_timeout, self.pool.get()).await {
            Ok(Ok(conn)) => Ok(Conn::new(conn, self.statement_deadline)),
            Ok(Err(e)) => Err(StoreError::Unavailable(Box::new(e))),
            Err(_) => Err(StoreError::Unavailable(
                format!("no database connection within {:?}", self.checkout_timeout).into(),
            )),
        }
    }
}

/// Builds the pool. Connections are opened lazily, as `database_url` says (TLS, keepalives:
/// see [`ConnectOptions`]); each new one gets the statement timeout and application name.
///
/// # Errors
/// `Unexpected` when the URL cannot be used (its syntax, an unknown `sslmode`, an unreadable
/// `sslrootcert`).
pub fn connect(database_url: &str, config: &PoolConfig) -> Result<Database, StoreError> {
    let options = ConnectOptions::parse(database_url).map_err(StoreError::unexpected)?;
    let mut manager_config = ManagerConfig::default();
    // The default (`Verified`) sends `SELECT 1` at every checkout: a round trip per request.
    // A broken connection is still detected and replaced (`Fast` checks its state), and one
    // that hangs is discarded by the statement deadline.
    manager_config.recycling_method = RecyclingMethod::Fast;
    let connect_timeout = config.connect_timeout;
    manager_config.custom_setup = Box::new(move |_| {
        let options = options.clone();
        Box::pin(async move {
            match tokio::time::timeout(connect_timeout, options.establish()).await {
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
        statement_deadline: config.statement_deadline(),
        // A zero wait means "never queue for a slot", not "never open a connection".
        checkout_timeout: if config.wait_timeout.is_zero() {
            config.connect_timeout
        } else {
            config.wait_timeout
        },
    })
}

type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// A blocking connection for the migration harness, opened as the pool opens them (TLS
/// included); use it inside `spawn_blocking`.
async fn blocking_connection(
    database_url: &str,
) -> Result<AsyncConnectionWrapper<AsyncPgConnection>, MigrationError> {
    let conn = ConnectOptions::parse(database_url)?.establish().await?;
    Ok(AsyncConnectionWrapper::from(conn))
}

/// Applies every pending migration; returns how many ran.
pub async fn migrate(database_url: &str) -> Result<usize, MigrationError> {
    let mut conn = blocking_connection(database_url).await?;
    tokio::task::spawn_blocking(move || {
        let applied = conn.run_pending_migrations(MIGRATIONS)?;
        Ok(applied.len())
    })
    .await?
}

/// How many embedded migrations the database lacks.
pub async fn pending_migrations(database_url: &str) -> Result<usize, MigrationError> {
    let mut conn = blocking_connection(database_url).await?;
    tokio::task::spawn_blocking(move || Ok(conn.pending_migrations(MIGRATIONS)?.len())).await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sql_types::Integer;
    use diesel_async::{AsyncConnection, RunQueryDsl};
    use partneros_test_support::TestDatabase;
    use std::time::Instant;

    /// A pool whose statements get a deadline of 600 ms (300 ms plus as much again).
    fn short_deadline(db: &TestDatabase, max_size: usize) -> Database {
        let config = PoolConfig {
            max_size,
            statement_timeout: Duration::from_millis(300),
            ..PoolConfig::default()
        };
        assert_eq!(config.statement_deadline(), Duration::from_millis(600));
        connect(db.url(), &config).unwrap()
    }

    async fn backend_pid(conn: &mut Conn) -> diesel::QueryResult<i32> {
        diesel::select(diesel::dsl::sql::<Integer>("pg_backend_pid()"))
            .get_result(conn)
            .await
    }

    /// A statement the server does not answer in time (its own limit lifted, as a hung server
    /// would not apply it) fails as a lost connection at the deadline, and the connection leaves
    /// the pool; the next checkout opens a new one.
    #[tokio::test]
    async fn a_statement_past_its_deadline_discards_its_connection() {
        let db = TestDatabase::new().await;
        let store = short_deadline(&db, 2);
        let mut conn = store.conn().await.unwrap();
        let hung = backend_pid(&mut conn).await.unwrap();
        conn.batch_execute("SET statement_timeout = 0")
            .await
            .unwrap();
        let started = Instant::now();
        let err = diesel::sql_query("SELECT pg_sleep(5)")
            .execute(&mut conn)
            .await
            .unwrap_err();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(600) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
        assert!(matches!(crate::map_error(err), StoreError::Unavailable(_)));
        // Later statements on it fail at once.
        let started = Instant::now();
        assert!(backend_pid(&mut conn).await.is_err());
        assert!(started.elapsed() < Duration::from_millis(100));
        drop(conn);
        assert_eq!(store.pool_status().0, 0, "taken out of the pool");

        let mut next = store.conn().await.unwrap();
        assert_ne!(backend_pid(&mut next).await.unwrap(), hung);
        let _ = tokio_postgres::Client::execute(
            &db.client().await,
            "SELECT pg_terminate_backend($1)",
            &[&hung],
        )
        .await;
    }

    /// A transaction whose statement outlives the deadline fails once: its rollback does not
    /// wait a second deadline on the hung connection.
    #[tokio::test]
    async fn a_hung_transaction_fails_within_one_deadline() {
        let db = TestDatabase::new().await;
        let store = short_deadline(&db, 1);
        let mut conn = store.conn().await.unwrap();
        conn.batch_execute("SET statement_timeout = 0")
            .await
            .unwrap();
        let started = Instant::now();
        let result = conn
            .transaction::<(), diesel::result::Error, _>(async |conn| {
                diesel::sql_query("SELECT pg_sleep(5)")
                    .execute(conn)
                    .await?;
                Ok(())
            })
            .await;
        assert!(result.is_err());
        assert!(
            started.elapsed() < Duration::from_millis(1100),
            "{:?}",
            started.elapsed()
        );
        drop(conn);
        // The pool's only slot is free again.
        let mut next = tokio::time::timeout(Duration::from_secs(2), store.conn())
            .await
            .expect("a slot")
            .unwrap();
        assert!(backend_pid(&mut next).await.is_ok());
    }

    /// A connection given back in good order is reused, not reopened.
    #[tokio::test]
    async fn a_healthy_connection_goes_back_to_the_pool() {
        let db = TestDatabase::new().await;
        let store = short_deadline(&db, 4);
        let first = backend_pid(&mut store.conn().await.unwrap()).await.unwrap();
        assert_eq!(store.pool_status(), (1, 1, 4));
        let again = backend_pid(&mut store.conn().await.unwrap()).await.unwrap();
        assert_eq!(first, again);
    }
}
