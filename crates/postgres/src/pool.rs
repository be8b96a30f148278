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
    /// Thread-affine shards for threads that call [`Database::pin_thread`] (the server's HTTP
    /// workers); other threads share one more shard, and `max_size` is split evenly over all.
    /// A connection's I/O is driven by the thread that opened it, so a statement sent from
    /// another thread costs two cross-thread wake-ups; with a shard per worker thread, each
    /// thread uses the connections it drives. `0` (the default) makes one shard for all.
    pub pinned_shards: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            pinned_shards: 0,
            max_size: 16,
            wait_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            application_name: "partneros".into(),
        }
    }
}

thread_local! {
    /// The pinned number of this thread (see [`Database::pin_thread`]).
    static PINNED: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The database handle shared by every repository.
#[derive(Clone)]
pub struct Database {
    /// Thread-affine pools: a thread checks out from its home shard first (see
    /// [`PoolConfig::pinned_shards`]).
    shards: Arc<[PgPool]>,
    /// Per shard, the connection that single statements share (see [`Database::pipelined`]);
    /// none for a shard of fewer than three connections, which keeps them for exclusive use
    /// (sharing one of two would halve what transactions have).
    shared: Arc<[Option<SharedSlot>]>,
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

    /// Makes the calling thread use a shard of its own (the next of
    /// [`PoolConfig::pinned_shards`], round robin), for the connections it opens and checks
    /// out first. Call it on each long-lived worker thread before it uses the database.
    pub fn pin_thread(&self) {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        PINNED.with(|pinned| {
            if pinned.get().is_none() {
                pinned.set(Some(NEXT.fetch_add(1, Ordering::Relaxed)));
            }
        });
    }

    /// This thread's shard: its pinned one, else shard 0 (shared by unpinned threads).
    fn home(&self) -> usize {
        match (PINNED.with(Cell::get), self.shards.len()) {
            (Some(n), count) if count > 1 => 1 + n % (count - 1),
            _ => 0,
        }
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

/// A connection that single statements share, pipelined (see [`Database::pipelined`]).
type SharedConn = Arc<diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>>;

/// A shard's shared connection, and the lock held by the one task taking it.
#[derive(Default)]
struct SharedSlot {
    conn: std::sync::Mutex<Option<SharedConn>>,
    opening: tokio::sync::Mutex<()>,
}

impl SharedSlot {
    fn get(&self) -> Option<SharedConn> {
        self.conn.lock().unwrap().clone()
    }

    /// Stops sharing `conn` (unless another has replaced it already); it goes back to the
    /// pool when its last statement ends.
    fn unshare(&self, conn: &SharedConn) {
        let mut current = self.conn.lock().unwrap();
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            *current = None;
        }
    }
}

/// The future of one statement on a shared connection.
pub(crate) type Pipelined<'c, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = diesel::QueryResult<T>> + Send + 'c>>;

impl Database {
    /// Runs one statement on this thread's shared connection instead of a connection of its
    /// own: concurrent statements are pipelined on it, so the server reads them back to back
    /// and a request needs no checkout. Only for single statements that cannot wait on a lock
    /// (plain reads): a statement that waits holds up those queued behind it. A failure stops
    /// sharing the connection; the pool checks it when it comes back. A shard of fewer than
    /// three connections shares none: the statement then checks one out.
    pub(crate) async fn pipelined<T>(
        &self,
        statement: impl for<'c> FnOnce(&'c AsyncPgConnection) -> Pipelined<'c, T>,
    ) -> Result<T, StoreError> {
        let shared = match &self.shared[self.home()] {
            Some(slot) => self.shared(slot).await?.map(|conn| (slot, conn)),
            None => None,
        };
        let Some((slot, conn)) = shared else {
            let conn = self.conn().await?;
            return crate::error::ResultExt::store(statement(&conn).await);
        };
        let result = statement(&conn).await;
        if result.is_err() {
            slot.unshare(&conn);
        }
        crate::error::ResultExt::store(result)
    }

    /// The slot's shared connection, taken from this thread's shard on first use. `None` while
    /// another task is taking it: that statement uses a connection of its own rather than wait
    /// on someone else's checkout (which, with the database away, would queue every waiter
    /// behind one failing attempt after another).
    async fn shared(&self, slot: &SharedSlot) -> Result<Option<SharedConn>, StoreError> {
        if let Some(conn) = slot.get() {
            return Ok(Some(conn));
        }
        let Ok(_opening) = slot.opening.try_lock() else {
            return Ok(None);
        };
        if let Some(conn) = slot.get() {
            return Ok(Some(conn));
        }
        let conn = Arc::new(self.conn().await?);
        *slot.conn.lock().unwrap() = Some(conn.clone());
        Ok(Some(conn))
    }
}

/// Builds the pool: `config.pinned_shards + 1` pools sharing `config.max_size` connections
/// (fewer when there are fewer connections than that).
pub fn connect(database_url: &str, config: &PoolConfig) -> Result<Database, StoreError> {
    let shards = (config.pinned_shards + 1).clamp(1, config.max_size.max(1));
    let shards = (0..shards)
        .map(|i| {
            let size = config.max_size / shards + usize::from(i < config.max_size % shards);
            build_pool(database_url, config, size)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Database {
        shared: shards
            .iter()
            .map(|pool| (pool.status().max_size >= 3).then(SharedSlot::default))
            .collect(),
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

    fn config(pinned_shards: usize, max_size: usize) -> PoolConfig {
        PoolConfig {
            pinned_shards,
            max_size,
            wait_timeout: Duration::from_secs(30),
            ..PoolConfig::default()
        }
    }

    fn sizes(db: &Database) -> Vec<usize> {
        db.shards.iter().map(|p| p.status().max_size).collect()
    }

    #[test]
    fn shards_share_the_pool_size() {
        let url = "postgres://postgres@127.0.0.1:5432/none";
        let db = |pinned, max| connect(url, &config(pinned, max)).unwrap();
        assert_eq!(sizes(&db(2, 16)), [6, 5, 5]);
        assert_eq!(db(2, 16).pool_status(), (0, 0, 16));
        assert_eq!(sizes(&db(0, 16)), [16]);
        // Never an empty shard.
        assert_eq!(sizes(&db(7, 2)), [1, 1]);
    }

    #[test]
    fn pinned_threads_get_shards_of_their_own_and_the_others_share_one() {
        let db = connect("postgres://postgres@127.0.0.1:5432/none", &config(2, 16)).unwrap();
        let home = |pin: bool| {
            let db = db.clone();
            std::thread::spawn(move || {
                if pin {
                    db.pin_thread();
                    db.pin_thread(); // idempotent
                }
                db.home()
            })
            .join()
            .unwrap()
        };
        assert_eq!(home(false), 0);
        let (a, b, c) = (home(true), home(true), home(true));
        assert!([a, b, c].iter().all(|h| (1..=2).contains(h)));
        assert_ne!(a, b);
        assert_eq!(a, c, "round robin over the pinned shards");
        // Without pinned shards everyone uses the one pool.
        let single = connect("postgres://postgres@127.0.0.1:5432/none", &config(0, 4)).unwrap();
        single.pin_thread();
        assert_eq!(single.home(), 0);
    }

    /// A thread whose own shard is busy takes another shard's idle connection at once rather
    /// than waiting for its own.
    #[test]
    fn a_busy_shard_borrows_an_idle_connection_of_another() {
        let rt = runtime();
        let db = rt.block_on(TestDatabase::new());
        let store = connect(db.url(), &config(2, 3)).unwrap();

        // Thread A opens its shard's connection, gives it back, and keeps driving it.
        let (opened_tx, opened_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let a = std::thread::spawn({
            let store = store.clone();
            move || {
                store.pin_thread();
                runtime().block_on(async {
                    drop(store.conn().await.unwrap());
                    opened_tx.send(store.home()).unwrap();
                    let _ = stop_rx.await;
                })
            }
        });
        let home_a = opened_rx.recv().unwrap();

        // Thread B (pinned to the other shard) holds its only connection and checks out a
        // second.
        let b = loop {
            let store = store.clone();
            let b = std::thread::spawn(move || {
                store.pin_thread();
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
        assert_eq!(b, (1, (2, 0, 3)));
        stop_tx.send(()).unwrap();
        a.join().unwrap();
    }

    async fn backend_pid(store: &Database) -> Result<i32, StoreError> {
        store
            .pipelined(|conn| {
                Box::pin(async move {
                    let mut conn = conn;
                    diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
                        "pg_backend_pid()",
                    ))
                    .get_result(&mut conn)
                    .await
                })
            })
            .await
    }

    #[tokio::test]
    async fn concurrent_pipelined_statements_share_one_connection() {
        let db = TestDatabase::new().await;
        let store = connect(db.url(), &config(0, 4)).unwrap();
        // The first statement takes the shared connection (statements arriving meanwhile
        // would use connections of their own).
        let first = backend_pid(&store).await.unwrap();
        let (a, b, c, d) = tokio::join!(
            backend_pid(&store),
            backend_pid(&store),
            backend_pid(&store),
            backend_pid(&store)
        );
        let pids = [a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
        assert!(pids.iter().all(|p| *p == first), "{first}: {pids:?}");
        assert_eq!(
            store.pool_status(),
            (1, 0, 4),
            "one connection, kept for sharing"
        );
        // Exclusive checkouts do not take it.
        let own = store.conn().await.unwrap();
        assert_eq!(store.pool_status().0, 2);
        drop(own);
    }

    #[tokio::test]
    async fn a_shared_connection_that_dies_is_replaced() {
        let db = TestDatabase::new().await;
        let store = connect(db.url(), &config(0, 4)).unwrap();
        let first = backend_pid(&store).await.unwrap();
        let terminated: bool = db
            .client()
            .await
            .query_one("SELECT pg_terminate_backend($1, 5000)", &[&first])
            .await
            .unwrap()
            .get(0);
        assert!(terminated);
        assert!(
            backend_pid(&store).await.is_err(),
            "the dead connection fails once"
        );
        let next = backend_pid(&store).await.unwrap();
        assert_ne!(next, first);
        assert_eq!(backend_pid(&store).await.unwrap(), next);
    }

    #[tokio::test]
    async fn a_pool_of_one_or_two_is_not_shared() {
        for size in [1, 2] {
            let db = TestDatabase::new().await;
            let store = connect(db.url(), &config(0, size)).unwrap();
            backend_pid(&store).await.unwrap();
            assert_eq!(store.pool_status(), (1, 1, size), "back in the pool");
            let own = tokio::time::timeout(Duration::from_secs(2), store.conn()).await;
            assert!(own.expect("not held by sharing").is_ok());
        }
    }
}
