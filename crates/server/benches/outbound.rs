//! Outbound throughput: the relay's own ceiling (events published per second with no webhook
//! endpoint, so publishing is the database work alone) and webhook deliveries per second to a
//! local receiver at 16 endpoints (fan-out, signing, HTTP and the delivery log included).
//!
//! `cargo bench -p partneros-server --bench outbound` (release build; PostgreSQL at
//! `TEST_DATABASE_URL` or 127.0.0.1:5432). `EVENTS` (default 5000) events per run,
//! `RELAYS` relay loops, `SENDERS` sender loops of `BATCH` deliveries each.

use actix_web::{App, HttpResponse, HttpServer, web};
use partneros_domain::outbox::{Relay, RelaySettings};
use partneros_domain::shared::clock::SystemClock;
use partneros_domain::webhooks::model::DeliveryPolicy;
use partneros_domain::webhooks::worker::WebhookWorker;
use partneros_postgres::{Database, PoolConfig};
use partneros_test_support::TestDatabase;
use partneros_web_fetch::{GuardPolicy, StaticResolver};
use partneros_webhooks::{HttpWebhookSender, WebhookSenderConfig};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn var(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn seed(db: &TestDatabase, events: usize, endpoints: usize, receiver_port: u16) -> String {
    let c = db.client().await;
    c.batch_execute(&format!(
        "INSERT INTO organizations (id, name, slug) VALUES ('00000000-0000-7000-8000-000000000001', 'Bench', 'bench');
         INSERT INTO webhook_endpoints (id, organization_id, url, event_types)
           SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000001',
                  'http://hooks.bench.test:{receiver_port}/hook/' || i, ARRAY['partner.created']
           FROM generate_series(1, {endpoints}) i;
         INSERT INTO webhook_secrets (id, endpoint_id, secret)
           SELECT gen_random_uuid(), id, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' FROM webhook_endpoints;
         INSERT INTO events (id, organization_id, aggregate_id, kind, payload)
           SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000001', gen_random_uuid(),
                  'partner_created',
                  jsonb_build_object('partnerId', gen_random_uuid(), 'name', 'Partner ' || i,
                                     'domain', 'p' || i || '.example', 'createdBy', null)
           FROM generate_series(1, {events}) i;
         ANALYZE;"
    ))
    .await
    .expect("seed");
    db.url().to_owned()
}

async fn until(done: impl Fn() -> bool) {
    while !done() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs `loops` copies of `round` until `stop`.
fn spawn_loops<F, Fut>(
    loops: usize,
    stop: &Arc<AtomicBool>,
    round: F,
) -> Vec<tokio::task::JoinHandle<()>>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    (0..loops)
        .map(|_| {
            let stop = stop.clone();
            let round = round.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if !round().await {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
            })
        })
        .collect()
}

async fn count(db: &TestDatabase, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo nextest run --all-targets` lists every target's tests; this one has none.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let events = var("EVENTS", 5000);
    let relays = var("RELAYS", 2);
    let senders = var("SENDERS", 8);
    let batch = var("BATCH", 8);
    let pool = PoolConfig {
        max_size: relays + senders + 4,
        ..PoolConfig::default()
    };

    // The receiver: answers every POST at once, counting them.
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().default_service(web::to(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async { HttpResponse::Ok().finish() }
        }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .expect("bind the receiver");
    let receiver = server.addrs()[0];
    tokio::spawn(server.run());

    // 1. The relay's ceiling: no endpoint, so publishing is claim + mark published.
    let db = TestDatabase::new().await;
    let url = seed(&db, events, 0, receiver.port()).await;
    let store = Arc::new(partneros_postgres::connect(&url, &pool).expect("pool"));
    let relay = Arc::new(Relay::new(
        store.clone(),
        Vec::new(),
        RelaySettings::default(),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let handles = spawn_loops(relays, &stop, {
        let relay = relay.clone();
        move || {
            let relay = relay.clone();
            async move {
                relay
                    .run_once()
                    .await
                    .map(|r| r.claimed > 0)
                    .unwrap_or(false)
            }
        }
    });
    while count(
        &db,
        "SELECT count(*) FROM events WHERE published_at IS NULL",
    )
    .await
        > 0
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ceiling = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    futures::future::join_all(handles).await;
    println!(
        "relay ceiling (no-op target): {events} events published in {:.2} s = {:.0} events/s ({relays} relay loops, batch 32)",
        ceiling.as_secs_f64(),
        events as f64 / ceiling.as_secs_f64()
    );
    drop(store);
    drop(db);

    // 2. Deliveries at 16 endpoints: every event fans out to each.
    let endpoints = 16;
    let deliveries = events / 4 * endpoints;
    let db = TestDatabase::new().await;
    let url = seed(&db, events / 4, endpoints, receiver.port()).await;
    let store: Arc<Database> = Arc::new(partneros_postgres::connect(&url, &pool).expect("pool"));
    let sender = Arc::new(HttpWebhookSender::new(&WebhookSenderConfig {
        resolver: Arc::new(
            StaticResolver::new().with("hooks.bench.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        ),
        policy: GuardPolicy {
            allow: vec![receiver],
        },
        allow_http: true,
        ..WebhookSenderConfig::default()
    }));
    let relay = Arc::new(Relay::new(
        store.clone(),
        Vec::new(),
        RelaySettings::default(),
    ));
    let worker = Arc::new(WebhookWorker::new(
        store.clone(),
        sender,
        Arc::new(SystemClock),
        DeliveryPolicy::default(),
        batch,
        Duration::from_secs(60),
    ));
    hits.store(0, Ordering::Relaxed);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut handles = spawn_loops(relays, &stop, {
        let relay = relay.clone();
        move || {
            let relay = relay.clone();
            async move {
                relay
                    .run_once()
                    .await
                    .map(|r| r.claimed > 0)
                    .unwrap_or(false)
            }
        }
    });
    handles.extend(spawn_loops(senders, &stop, {
        let worker = worker.clone();
        move || {
            let worker = worker.clone();
            async move { worker.run_once().await.map(|n| n > 0).unwrap_or(false) }
        }
    }));
    let hits_seen = hits.clone();
    until(move || hits_seen.load(Ordering::Relaxed) >= deliveries).await;
    let elapsed = started.elapsed();
    // Let the last attempts be recorded before counting the log.
    while count(
        &db,
        "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'",
    )
    .await
        < deliveries as i64
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    futures::future::join_all(handles).await;
    let logged = count(&db, "SELECT count(*) FROM webhook_attempts").await;
    println!(
        "webhooks: {deliveries} deliveries ({} events x {endpoints} endpoints) received in {:.2} s = {:.0} deliveries/s ({senders} sender loops x batch {batch}); {logged} attempts logged, {} received",
        events / 4,
        elapsed.as_secs_f64(),
        deliveries as f64 / elapsed.as_secs_f64(),
        hits.load(Ordering::Relaxed)
    );
}
