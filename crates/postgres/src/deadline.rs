//! A pooled connection whose every statement has a deadline.
//!
//! PostgreSQL bounds each statement itself (`statement_timeout`), but a server that hangs, or a
//! network or proxy that swallows packets without resetting the connection, never answers and
//! never closes it: a query would wait forever. Each statement here (and each row of a result)
//! is given the pool's statement deadline with `tokio::time::timeout`; past it the statement
//! fails as a lost connection (`Unavailable`), every later statement on it fails at once (so a
//! transaction's `ROLLBACK` does not wait a second time), and the connection is taken out of the
//! pool when it is dropped, which closes it.

use diesel::QueryResult;
use diesel::connection::{CacheSize, Instrumentation};
use diesel::query_builder::{AsQuery, QueryFragment, QueryId};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncConnectionCore, AsyncPgConnection,
    SimpleAsyncConnection,
};
use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A connection checked out of the pool (see the module docs).
pub struct Conn {
    inner: Option<Object<AsyncPgConnection>>,
    deadline: Duration,
    /// Set when a statement outlived its deadline: the server is taken for hung.
    lost: Arc<AtomicBool>,
}

impl Conn {
    pub(crate) fn new(inner: Object<AsyncPgConnection>, deadline: Duration) -> Self {
        Self {
            inner: Some(inner),
            deadline,
            lost: Arc::default(),
        }
    }

    fn pg(&mut self) -> &mut AsyncPgConnection {
        self.inner.as_mut().expect("present until dropped")
    }

    fn lost_error(deadline: Duration) -> DieselError {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new(format!(
                "the database did not answer within {deadline:?}; the connection was discarded"
            )),
        )
    }

    /// Runs `statement` within the deadline, unless an earlier one already outlived it.
    fn bounded<'a, T: Send + 'a>(
        &'a mut self,
        statement: impl FnOnce(&'a mut AsyncPgConnection) -> BoxFuture<'a, QueryResult<T>>,
    ) -> BoxFuture<'a, QueryResult<T>> {
        let deadline = self.deadline;
        let lost = self.lost.clone();
        if lost.load(Ordering::Relaxed) {
            return Box::pin(async move { Err(Self::lost_error(deadline)) });
        }
        let running = statement(self.pg());
        Box::pin(async move {
            match tokio::time::timeout(deadline, running).await {
                Ok(result) => result,
                Err(_) => {
                    lost.store(true, Ordering::Relaxed);
                    Err(Self::lost_error(deadline))
                }
            }
        })
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.lost.load(Ordering::Relaxed)
            && let Some(object) = self.inner.take()
        {
            // Out of the pool: dropping the connection ends its driver task and socket.
            drop(Object::take(object));
        }
    }
}

impl SimpleAsyncConnection for Conn {
    async fn batch_execute(&mut self, query: &str) -> QueryResult<()> {
        self.bounded(|pg| Box::pin(pg.batch_execute(query))).await
    }
}

impl AsyncConnectionCore for Conn {
    type ExecuteFuture<'conn, 'query> = BoxFuture<'conn, QueryResult<usize>>;
    type LoadFuture<'conn, 'query> = BoxFuture<'conn, QueryResult<Self::Stream<'conn, 'query>>>;
    type Stream<'conn, 'query> = BoxStream<'static, QueryResult<Self::Row<'conn, 'query>>>;
    type Row<'conn, 'query> = <AsyncPgConnection as AsyncConnectionCore>::Row<'conn, 'query>;
    type Backend = diesel::pg::Pg;

    fn load<'conn, 'query, T>(&'conn mut self, source: T) -> Self::LoadFuture<'conn, 'query>
    where
        T: AsQuery + 'query,
        T::Query: QueryFragment<Self::Backend> + QueryId + 'query,
    {
        let deadline = self.deadline;
        let lost = self.lost.clone();
        let started = self.bounded(|pg| pg.load(source));
        Box::pin(async move {
            let rows = started.await?;
            // The rows arrive after the first answer: each gets the deadline too.
            Ok(rows_within(rows, deadline, lost))
        })
    }

    fn execute_returning_count<'conn, 'query, T>(
        &'conn mut self,
        source: T,
    ) -> Self::ExecuteFuture<'conn, 'query>
    where
        T: QueryFragment<Self::Backend> + QueryId + 'query,
    {
        self.bounded(|pg| pg.execute_returning_count(source))
    }
}

/// `rows`, failing as a lost connection when the next row takes longer than `deadline`.
fn rows_within<R: Send + 'static>(
    rows: BoxStream<'static, QueryResult<R>>,
    deadline: Duration,
    lost: Arc<AtomicBool>,
) -> BoxStream<'static, QueryResult<R>> {
    futures::stream::unfold(Some(rows), move |rows| {
        let lost = lost.clone();
        async move {
            let mut rows = rows?;
            match tokio::time::timeout(deadline, rows.next()).await {
                Ok(Some(row)) => Some((row, Some(rows))),
                Ok(None) => None,
                Err(_) => {
                    lost.store(true, Ordering::Relaxed);
                    Some((Err(Conn::lost_error(deadline)), None))
                }
            }
        }
    })
    .boxed()
}

impl AsyncConnection for Conn {
    type TransactionManager = AnsiTransactionManager;

    async fn establish(_database_url: &str) -> diesel::ConnectionResult<Self> {
        Err(diesel::ConnectionError::BadConnection(
            "a pooled connection is checked out of the pool, not established".into(),
        ))
    }

    fn transaction_state(&mut self) -> &mut AnsiTransactionManager {
        self.pg().transaction_state()
    }

    fn instrumentation(&mut self) -> &mut dyn Instrumentation {
        self.pg().instrumentation()
    }

    fn set_instrumentation(&mut self, instrumentation: impl Instrumentation) {
        self.pg().set_instrumentation(instrumentation);
    }

    fn set_prepared_statement_cache_size(&mut self, size: CacheSize) {
        self.pg().set_prepared_statement_cache_size(size);
    }
}
