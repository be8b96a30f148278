use chrono::Utc;
use partneros_domain::webhooks::sender::{SigningSecret, WebhookRequest};
use partneros_web_fetch::{GuardPolicy, StaticResolver};
use partneros_webhooks::{HttpWebhookSender, WebhookSenderConfig};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The name the endpoints are reached by (mapped to 127.0.0.1 by the static resolver).
pub const HOST: &str = "hooks.partner.test";

pub const SECRET_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const SECRET_B: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

pub fn secret(s: &str) -> SigningSecret {
    SigningSecret::parse(s).expect("a whsec_ secret")
}

/// A configuration where [`HOST`] resolves to 127.0.0.1 and the `servers` stand in for the public
/// internet (allow-listed), over plain http, with short timeouts.
pub fn config_for(servers: &[SocketAddr]) -> WebhookSenderConfig {
    WebhookSenderConfig {
        resolver: Arc::new(StaticResolver::new().with(HOST, [LOCALHOST])),
        policy: GuardPolicy {
            allow: servers.to_vec(),
        },
        allow_http: true,
        connect_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(5),
        ..WebhookSenderConfig::default()
    }
}

pub fn sender_for(servers: &[SocketAddr]) -> HttpWebhookSender {
    HttpWebhookSender::new(&config_for(servers))
}

/// `http://hooks.partner.test:<port><path>`.
pub fn url(server: SocketAddr, path: &str) -> String {
    format!("http://{HOST}:{}{path}", server.port())
}

/// A message as the outbox would send it: a body with non-ASCII text and odd spacing, so that any
/// re-serialization on the way would show.
pub fn message(url: String, secrets: &[&str]) -> WebhookRequest {
    WebhookRequest {
        url,
        message_id: "msg_2mJ0lBQJnO9Gs8Y3Pq3K1aTzXf".to_owned(),
        timestamp: Utc::now(),
        body: r#"{"type":"partner.approved", "timestamp":"2025-01-01T00:00:00Z","data":{"name":"Müller & Söhne – “GmbH”","n":1.50}}"#.to_owned(),
        secrets: secrets.iter().map(|s| secret(s)).collect(),
    }
}

/// A TCP server that counts connections and answers each with fixed bytes, then keeps the
/// connection open without writing more (a receiver that never finishes its answer).
pub struct RawServer {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl RawServer {
    pub async fn answering(answer: Vec<u8>) -> Self {
        let listener = TcpListener::bind(SocketAddr::new(LOCALHOST, 0))
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("bound");
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let answer = Arc::clone(&answer);
                tokio::spawn(async move {
                    let mut buf = [0u8; 8192];
                    let _ = stream.read(&mut buf).await;
                    if stream.write_all(&answer).await.is_ok() {
                        tokio::time::sleep(Duration::from_secs(120)).await;
                    }
                });
            }
        });
        Self { addr, connections }
    }

    /// A listener that accepts and counts, and never answers.
    pub async fn silent() -> Self {
        Self::answering(Vec::new()).await
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
