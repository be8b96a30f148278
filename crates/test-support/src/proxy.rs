//! A TCP proxy whose link a test controls: it forwards, stalls or resets, so a test can take a
//! real peer (PostgreSQL, a fake HTTP service) away from the application and give it back without
//! touching the peer itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The state of the link between the proxy's clients and the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Bytes flow both ways.
    Up,
    /// Connections are accepted and kept open, but nothing is forwarded either way: a peer that
    /// hangs. Back `Up`, the held bytes flow again (new connections reach the upstream then).
    Stalled,
    /// Requests reach the upstream but its answers are swallowed: a peer that does the work and
    /// never answers in time (back `Up`, later answers flow again).
    Mute,
    /// Every open connection is reset; a new one is reset as soon as its first bytes arrive
    /// (the request was sent, then the peer died).
    Down,
}

/// A proxy on a loopback port in front of `upstream`.
pub struct TcpProxy {
    address: SocketAddr,
    link: watch::Sender<Link>,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TcpProxy {
    /// Starts forwarding to `upstream` (a `host:port`, resolved once).
    pub async fn start(upstream: &str) -> Self {
        let upstream: SocketAddr = tokio::net::lookup_host(upstream)
            .await
            .expect("resolve the upstream")
            .next()
            .expect("an upstream address");
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a free loopback port");
        let address = listener.local_addr().expect("the proxy's address");
        let (link, _) = watch::channel(Link::Up);
        let accepted = Arc::new(AtomicUsize::new(0));
        let task = {
            let link = link.clone();
            let accepted = accepted.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    accepted.fetch_add(1, Ordering::Relaxed);
                    let _ = client.set_nodelay(true);
                    tokio::spawn(relay(client, upstream, link.subscribe()));
                }
            })
        };
        Self {
            address,
            link,
            accepted,
            task,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Switches the link for open and new connections alike.
    pub fn set(&self, link: Link) {
        self.link.send_replace(link);
    }

    /// How many connections the proxy has accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
        // Open relays see the sender go and reset their connections.
        self.link.send_replace(Link::Down);
    }
}

/// Carries one client connection; the upstream connection is opened once the link is up.
async fn relay(client: TcpStream, upstream: SocketAddr, mut link: watch::Receiver<Link>) {
    let mut client = client;
    let mut server: Option<TcpStream> = None;
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_server = vec![0u8; 16 * 1024];
    loop {
        let state = *link.borrow_and_update();
        match state {
            Link::Down => {
                if server.is_none() {
                    // Let the request arrive first, so the client has really sent something.
                    let _ = tokio::time::timeout(
                        Duration::from_millis(200),
                        client.read(&mut from_client),
                    )
                    .await;
                }
                reset(client);
                if let Some(s) = server {
                    reset(s);
                }
                return;
            }
            Link::Stalled => {
                if link.changed().await.is_err() {
                    reset(client);
                    return;
                }
            }
            Link::Up | Link::Mute => {
                let s = match server.as_mut() {
                    Some(s) => s,
                    None => match TcpStream::connect(upstream).await {
                        Ok(s) => {
                            let _ = s.set_nodelay(true);
                            server.insert(s)
                        }
                        Err(_) => {
                            reset(client);
                            return;
                        }
                    },
                };
                tokio::select! {
                    r = client.read(&mut from_client) => match r {
                        Ok(n) if n > 0 => {
                            if s.write_all(&from_client[..n]).await.is_err() {
                                return;
                            }
                        }
                        _ => return,
                    },
                    r = s.read(&mut from_server) => match r {
                        Ok(n) if n > 0 => {
                            if state == Link::Up
                                && client.write_all(&from_server[..n]).await.is_err()
                            {
                                return;
                            }
                        }
                        _ => {
                            if state == Link::Mute {
                                // The upstream is done; the client still hears nothing.
                                let _ = link.changed().await;
                            }
                            return;
                        }
                    },
                    changed = link.changed() => if changed.is_err() {
                        reset(client);
                        return;
                    },
                }
            }
        }
    }
}

/// Closes with RST instead of FIN.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
