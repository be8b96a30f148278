//! Opening a connection whose socket gives up on a server that stops answering.
//!
//! PostgreSQL bounds each statement itself (`statement_timeout`), but a server that hangs, or a
//! network or proxy that swallows packets without resetting the connection, never answers and
//! never closes it: a query would wait forever. The socket here knows when an answer is due (it
//! counts the requests that end in `ReadyForQuery`) and fails with `TimedOut` when nothing arrives
//! for `io_timeout` while one is. The connection then ends, the query fails as a lost connection
//! (`Unavailable`), and the pool drops it. An idle connection is never timed out.

use diesel::{ConnectionError, ConnectionResult};
use diesel_async::AsyncPgConnection;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};
use tokio_postgres::config::Host;
use tokio_postgres::{Config, NoTls};

/// Connects to the first host of `url` that accepts (as libpq does), without TLS like
/// `AsyncPgConnection::establish`.
pub(crate) async fn establish(
    url: &str,
    io_timeout: Duration,
) -> ConnectionResult<AsyncPgConnection> {
    let config: Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| ConnectionError::InvalidConnectionUrl(e.to_string()))?;
    let ports = config.get_ports();
    let mut last = ConnectionError::BadConnection("the database URL names no host".into());
    for (i, host) in config.get_hosts().iter().enumerate() {
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let attempt = match host {
            Host::Tcp(name) => match tokio::net::TcpStream::connect((name.as_str(), port)).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    handshake(&config, stream, io_timeout).await
                }
                Err(e) => Err(bad(e)),
            },
            #[cfg(unix)]
            Host::Unix(dir) => {
                match tokio::net::UnixStream::connect(dir.join(format!(".s.PGSQL.{port}"))).await {
                    Ok(stream) => handshake(&config, stream, io_timeout).await,
                    Err(e) => Err(bad(e)),
                }
            }
        };
        match attempt {
            Ok(conn) => return Ok(conn),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn bad(e: impl std::fmt::Display) -> ConnectionError {
    ConnectionError::BadConnection(e.to_string())
}

async fn handshake<S>(
    config: &Config,
    stream: S,
    io_timeout: Duration,
) -> ConnectionResult<AsyncPgConnection>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) = config
        .connect_raw(Guarded::new(stream, io_timeout), NoTls)
        .await
        .map_err(bad)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "a database connection ended");
        }
    });
    AsyncPgConnection::try_from(client).await
}

/// The frontend's first message (startup) has no type byte; it is answered by `ReadyForQuery`
/// once authentication is done.
const STARTUP: u8 = 0;

/// A stream that fails a read with `TimedOut` when the server has sent nothing for `io_timeout`
/// while an answer is due.
struct Guarded<S> {
    inner: S,
    io_timeout: Duration,
    /// Requests sent (startup, `Sync`, simple `Query`) whose `ReadyForQuery` has not arrived.
    due: usize,
    sent: Framer,
    received: Framer,
    /// When the server last made progress, or an answer became due. The timer below is moved
    /// to `last + io_timeout` only when it fires (resetting it at every read costs a timer-wheel
    /// update per read on the hot path).
    last: Instant,
    deadline: Pin<Box<Sleep>>,
}

impl<S> Guarded<S> {
    fn new(inner: S, io_timeout: Duration) -> Self {
        Self {
            inner,
            io_timeout,
            due: 0,
            sent: Framer::new(false),
            received: Framer::new(true),
            last: Instant::now(),
            deadline: Box::pin(tokio::time::sleep(io_timeout)),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let due = &mut this.due;
                this.received.feed(&buf.filled()[before..], |kind| {
                    if kind == b'Z' {
                        *due = due.saturating_sub(1);
                    }
                });
                // The server is making progress: the wait starts again.
                this.last = Instant::now();
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.due > 0 => this.poll_overdue(cx).map(Err),
            other => other,
        }
    }
}

impl<S> Guarded<S> {
    /// Ready with the error once an answer is overdue; else registers the task to be woken when
    /// it would be.
    fn poll_overdue(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        while self.deadline.as_mut().poll(cx).is_ready() {
            let at = self.last + self.io_timeout;
            if Instant::now() >= at {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the database sent nothing for {:?} while an answer was due",
                        self.io_timeout
                    ),
                ));
            }
            self.deadline.as_mut().reset(at);
        }
        Poll::Pending
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written {
            let was_due = this.due;
            let due = &mut this.due;
            this.sent.feed(&buf[..n], |kind| {
                if matches!(kind, STARTUP | b'S' | b'Q') {
                    *due += 1;
                }
            });
            if was_due == 0 && this.due > 0 {
                this.last = Instant::now();
                // Register for the deadline now: tokio-postgres polls its read before it writes,
                // so no read may be polled while this answer is due, and nothing else would wake
                // the connection to notice a server that never answers.
                let _ = this.poll_overdue(cx);
            }
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Follows the message boundaries of one direction of the protocol: a type byte (absent from
/// the frontend's startup message), then a big-endian length that counts itself.
struct Framer {
    typed: bool,
    header: [u8; 5],
    filled: usize,
    /// Body bytes of the current message still to pass.
    skip: usize,
}

impl Framer {
    fn new(typed: bool) -> Self {
        Self {
            typed,
            header: [0; 5],
            filled: 0,
            skip: 0,
        }
    }

    /// Calls `on_message` with the type of every message whose header completes in `bytes`.
    fn feed(&mut self, mut bytes: &[u8], mut on_message: impl FnMut(u8)) {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            let header_len = if self.typed { 5 } else { 4 };
            let n = (header_len - self.filled).min(bytes.len());
            self.header[self.filled..self.filled + n].copy_from_slice(&bytes[..n]);
            self.filled += n;
            bytes = &bytes[n..];
            if self.filled == header_len {
                let mut len = [0; 4];
                len.copy_from_slice(&self.header[header_len - 4..header_len]);
                self.skip = (u32::from_be_bytes(len) as usize).saturating_sub(4);
                on_message(if self.typed { self.header[0] } else { STARTUP });
                self.typed = true;
                self.filled = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn frames_are_followed_across_any_split() {
        let mut stream = Vec::new();
        stream.extend_from_slice(&12u32.to_be_bytes());
        stream.extend_from_slice(&[0, 3, 0, 0, b'u', 0, b'x', 0]);
        stream.extend(message(b'P', b"SELECT 1\0\0\0"));
        stream.extend(message(b'S', b""));
        stream.extend(message(b'Q', &[b'x'; 300]));
        for chunk in [1, 2, 3, 7, 64, stream.len()] {
            let mut framer = Framer::new(false);
            let mut kinds = Vec::new();
            for piece in stream.chunks(chunk) {
                framer.feed(piece, |k| kinds.push(k));
            }
            assert_eq!(kinds, [STARTUP, b'P', b'S', b'Q'], "chunks of {chunk}");
        }
    }

    const WAIT: Duration = Duration::from_millis(300);

    /// The startup message (untyped) and the server's `ReadyForQuery` after authentication.
    async fn startup(
        client: &mut Guarded<tokio::io::DuplexStream>,
        server: &mut tokio::io::DuplexStream,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut hello = 8u32.to_be_bytes().to_vec();
        hello.extend_from_slice(&[0, 3, 0, 0]);
        client.write_all(&hello).await.unwrap();
        assert_eq!(client.due, 1);
        server.read_exact(&mut [0u8; 8]).await.unwrap();
        server.write_all(&message(b'Z', b"I")).await.unwrap();
        let mut buf = [0u8; 6];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(client.due, 0);
    }

    #[tokio::test]
    async fn a_due_answer_that_never_comes_times_out_and_an_idle_connection_does_not() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let mut client = Guarded::new(client, WAIT);
        let mut buf = [0u8; 64];
        startup(&mut client, &mut server).await;
        // Idle: nothing is due, so waiting for the server is fine however long it lasts.
        let idle = tokio::time::timeout(WAIT * 3, client.read(&mut buf)).await;
        assert!(idle.is_err(), "an idle read only waits");

        client.write_all(&message(b'S', b"")).await.unwrap();
        let mut sync = [0u8; 5];
        server.read_exact(&mut sync).await.unwrap();
        server.write_all(&message(b'Z', b"I")).await.unwrap();
        assert_eq!(client.read(&mut buf).await.unwrap(), 6);
        let idle = tokio::time::timeout(WAIT * 3, client.read(&mut buf)).await;
        assert!(idle.is_err(), "answered: nothing is due any more");

        client.write_all(&message(b'S', b"")).await.unwrap();
        let started = std::time::Instant::now();
        let err = client.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= WAIT && started.elapsed() < WAIT * 3);
    }

    /// tokio-postgres polls its read before it writes a request, in one poll of its task: the
    /// deadline must wake that task although no read was polled while the answer was due.
    #[tokio::test]
    async fn a_read_polled_before_the_write_still_times_out() {
        use tokio::io::AsyncReadExt;
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let mut client = Guarded::new(client, WAIT);
        startup(&mut client, &mut server).await;
        let sync = message(b'S', b"");
        let mut written = false;
        let connection = std::future::poll_fn(|cx| {
            let mut buf = [0u8; 64];
            let mut read = ReadBuf::new(&mut buf);
            let polled = Pin::new(&mut client).poll_read(cx, &mut read);
            if !written {
                assert!(polled.is_pending(), "nothing to read yet");
                assert!(Pin::new(&mut client).poll_write(cx, &sync).is_ready());
                written = true;
                return Poll::Pending;
            }
            polled
        });
        let started = std::time::Instant::now();
        let outcome = tokio::time::timeout(WAIT * 3, connection).await;
        assert!(
            started.elapsed() < WAIT * 2,
            "the deadline, not the test's timeout, woke the connection"
        );
        assert_eq!(
            outcome.unwrap().unwrap_err().kind(),
            io::ErrorKind::TimedOut
        );
        let _ = server.read(&mut [0u8; 8]).await;
    }

    #[tokio::test]
    async fn a_slow_answer_that_keeps_coming_is_not_cut() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let mut client = Guarded::new(client, WAIT);
        startup(&mut client, &mut server).await;
        client.write_all(&message(b'S', b"")).await.unwrap();
        let feeder = tokio::spawn(async move {
            // Each row comes after two thirds of the wait; the whole answer takes far longer.
            for _ in 0..5 {
                tokio::time::sleep(WAIT * 2 / 3).await;
                server.write_all(&message(b'D', b"row")).await.unwrap();
            }
            tokio::time::sleep(WAIT * 2 / 3).await;
            server.write_all(&message(b'Z', b"I")).await.unwrap();
            server
        });
        let mut got = 0;
        let mut buf = [0u8; 64];
        while got < 5 * 8 + 6 {
            got += client
                .read(&mut buf)
                .await
                .expect("progress keeps it alive");
        }
        drop(feeder.await.unwrap());
    }
}
