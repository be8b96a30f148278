//! The connection pool, built in one place, and the embedded migrations.

use deadpool::managed::{PoolError, TimeoutType, Timeouts};
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
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// How many thread-affine shards `max_size` is split into (at least 1, at most
    /// `max_size`). A connection's I/O is driven by the thread that opened it, so a request
    /// served on another thread costs two cross-thread wake-ups per statement; with one shard
    /// per server worker thread, each thread uses the connections it drives.
    pub shards: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            shards: 1,
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
    /// Thread-affine pools: a thread checks out from its home shard first (see
    /// [`PoolConfig::shards`]).
    shards: Arc<[PgPool]>,
    /// The longest a checkout may take in all: waiting for a slot, opening a connection and
    /// setting it up.
    checkout_timeout: Duration,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (size, available, _) = self.pool_status();
        f.debug_struct("Database")
            .field("shards", &self.shards.len())
            .field("size", &size)
            .field("available", &available)
            .finish()
    }
}

impl Database {
    /// Pool usage: (connections open, connections idle, max size).
    pub fn pool_status(&self) -> (usize, usize, usize) {
        self.shards
            .iter()
            .fold((0, 0, 0), |(size, idle, max), pool| {
                let s = pool.status();
                (size + s.size, idle + s.available, max + s.max_size)
            })
    }

    /// This thread's shard: threads are numbered in the order they first check out.
    fn home(&self) -> usize {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static HOME: Cell<Option<usize>> = const { Cell::new(None) };
        }
        if self.shards.len() == 1 {
            return 0;
        }
        let n = HOME.with(|home| {
            home.get().unwrap_or_else(|| {
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                home.set(Some(n));
                n
            })
        });
        n % self.shards.len()
    }

    pub(crate) async fn conn(
        &self,
    ) -> Result<diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>, StoreError>
    {
        let home = self.home();
        let count = self.shards.len();
        if count > 1 {
            // Without waiting: a connection of the home shard (opened on this thread when it
            // has room), else an idle one of another shard, so no request waits while one
            // is free.
            let now = Timeouts {
                wait: Some(Duration::ZERO),
                ..self.shards[home].timeouts()
            };
            for i in 0..count {
                let pool = &self.shards[(home + i) % count];
                if i > 0 && pool.status().available == 0 {
                    continue;
                }
                match pool.timeout_get(&now).await {
                    Ok(conn) => return Ok(conn),
                    Err(PoolError::Timeout(TimeoutType::Wait)) => {}
                    Err(e) => return Err(StoreError::Unavailable(Box::new(e))),
                }
            }
        }
        // The pool bounds each step of a checkout on its own; the request waits the pool's
        // timeout in all.
        match tokio::time::timeout(self.checkout_timeout, self.shards[home].get()).await {
            Ok(got) => got.map_err(|e| StoreError::Unavailable(Box::new(e))),
            Err(_) => Err(StoreError::Unavailable(
                format!("no database connection within {:?}", self.checkout_timeout).into(),
            )),
        }
    }
}

/// Builds the pool: `config.shards` pools sharing `config.max_size` connections.
pub fn connect(database_url: &str, config: &PoolConfig) -> Result<Database, StoreError> {
    let shards = config.shards.clamp(1, config.max_size.max(1));
    let shards = (0..shards)
        .map(|i| {
            let size = config.max_size / shards + usize::from(i < config.max_size % shards);
            build_pool(database_url, config, size)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Database {
        shards: shards.into(),
        // A zero wait means "never queue for a slot", not "never open a connection".
        checkout_timeout: if config.wait_timeout.is_zero() {
            config.connect_timeout
        } else {
            config.wait_timeout
        },
    })
}

/// One shard's pool of `max_size` connections. Connections are opened lazily; each new one
/// gets the statement timeout and application name.
fn build_pool(
    database_url: &str,
    config: &PoolConfig,
    max_size: usize,
) -> Result<PgPool, StoreError> {
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
    Pool::builder(manager)
        .max_size(max_size)
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
        .map_err(|e| StoreError::unexpected(e.to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use diesel_async::RunQueryDsl;
    use partneros_test_support::TestDatabase;
    use std::sync::mpsc;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn config(shards: usize, max_size: usize) -> PoolConfig {
        PoolConfig {
            shards,
            max_size,
            wait_timeout: Duration::from_secs(30),
            ..PoolConfig::default()
        }
    }

    #[test]
    fn shards_share_the_pool_size() {
        let url = "postgres://postgres@127.0.0.1:5432/none";
        let status = |shards, max| connect(url, &config(shards, max)).unwrap();
        let db = status(3, 16);
        assert_eq!(db.shards.len(), 3);
        assert_eq!(db.pool_status(), (0, 0, 16));
        let sizes: Vec<usize> = db.shards.iter().map(|p| p.status().max_size).collect();
        assert_eq!(sizes, [6, 5, 5]);
        // Never an empty shard.
        assert_eq!(status(8, 2).shards.len(), 2);
        assert_eq!(status(0, 4).shards.len(), 1);
    }

    /// A thread whose own shard is busy takes another shard's idle connection at once rather
    /// than waiting for its own.
    #[test]
    fn a_busy_shard_borrows_an_idle_connection_of_another() {
        let rt = runtime();
        let db = rt.block_on(TestDatabase::new());
        let store = connect(db.url(), &config(2, 2)).unwrap();

        // Thread A opens its shard's connection, gives it back, and keeps driving it.
        let (opened_tx, opened_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let a = std::thread::spawn({
            let store = store.clone();
            move || {
                runtime().block_on(async {
                    drop(store.conn().await.unwrap());
                    opened_tx.send(store.home()).unwrap();
                    let _ = stop_rx.await;
                })
            }
        });
        let home_a = opened_rx.recv().unwrap();

        // Thread B (the first thread whose home is the other shard) holds its only connection
        // and checks out a second.
        let b = loop {
            let store = store.clone();
            let b = std::thread::spawn(move || {
                runtime().block_on(async {
                    if store.home() == home_a {
                        return None;
                    }
                    let _mine = store.conn().await.unwrap();
                    let second = tokio::time::timeout(Duration::from_secs(5), store.conn()).await;
                    let mut second = second.expect("waited for its own busy shard").unwrap();
                    let one: i32 =
                        diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("1"))
                            .get_result(&mut second)
                            .await
                            .unwrap();
                    Some((one, store.pool_status()))
                })
            });
            if let Some(result) = b.join().unwrap() {
                break result;
            }
        };
        assert_eq!(b, (1, (2, 0, 2)));
        stop_tx.send(()).unwrap();
        a.join().unwrap();
    }
}
