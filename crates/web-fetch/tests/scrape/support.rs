use partneros_domain::partners::web_domain::PartnerDomain;
use partneros_web_fetch::{GuardPolicy, ScraperConfig, StaticResolver};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::{MockServer, ResponseTemplate};

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

pub fn domain(s: &str) -> PartnerDomain {
    PartnerDomain::parse(s).expect("a valid domain")
}

/// A configuration where `hosts` resolve to the fixture site at `site`, which stands in for the
/// public internet (allow-listed), and both schemes connect to its port.
pub fn config_for(site: SocketAddr, hosts: &[&str]) -> ScraperConfig {
    let resolver = hosts
        .iter()
        .fold(StaticResolver::new(), |r, h| r.with(h, [site.ip()]));
    ScraperConfig {
        resolver: Arc::new(resolver),
        policy: GuardPolicy { allow: vec![site] },
        http_port: site.port(),
        https_port: site.port(),
        fetch_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        ..ScraperConfig::default()
    }
}

pub fn html(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/html; charset=utf-8")
}

/// A wiremock server on 127.0.0.1:P and a counting server on `other`:P (same port), retrying
/// ports that happen to be taken on the second address.
pub async fn mock_and_counter_on_same_port(other: IpAddr) -> (MockServer, CountingServer) {
    for _ in 0..20 {
        let mock = MockServer::start().await;
        if let Some(counter) =
            CountingServer::bind(SocketAddr::new(other, mock.address().port())).await
        {
            return (mock, counter);
        }
    }
    panic!("no free port on both 127.0.0.1 and {other}");
}

/// Counts every TCP connection it accepts (and answers each with a tiny HTML page).
pub struct CountingServer {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl CountingServer {
    pub async fn bind(addr: SocketAddr) -> Option<Self> {
        let listener = TcpListener::bind(addr).await.ok()?;
        let addr = listener.local_addr().ok()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 13\r\nconnection: close\r\n\r\n<p>inside</p>")
                        .await;
                });
            }
        });
        Some(Self { addr, connections })
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Proves the counter counts: a direct connection from the test itself.
    pub async fn assert_counts_a_direct_connection(&self) {
        let before = self.connections();
        let _stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("the counting server accepts connections");
        for _ in 0..100 {
            if self.connections() > before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the counting server did not count a connection");
    }
}
