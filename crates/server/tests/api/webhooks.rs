//! Webhooks end to end: the app's relay and senders deliver to a local receiver (standing in for
//! a customer's server, reached by a name the test resolver maps to loopback), signatures are
//! checked with the `standardwebhooks` crate (an independent implementation), and the delivery
//! log is read through the API.

use crate::helpers::*;
use partneros_web_fetch::{GuardPolicy, StaticResolver};
use partneros_webhooks::{HttpWebhookSender, WebhookSenderConfig};
use reqwest::Method;
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const HOST: &str = "hooks.customer.test";
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn sender(allowed: Vec<SocketAddr>, total: Duration) -> HttpWebhookSender {
    HttpWebhookSender::new(&WebhookSenderConfig {
        resolver: Arc::new(
            StaticResolver::new()
                .with(HOST, [LOOPBACK])
                .with("intranet.customer.test", [LOOPBACK]),
        ),
        policy: GuardPolicy { allow: allowed },
        allow_http: true,
        connect_timeout: Duration::from_secs(1),
        total_timeout: total,
        ..WebhookSenderConfig::default()
    })
}

/// An app whose senders may reach `receivers`, retrying after `retries`.
async fn app_for(
    receivers: Vec<SocketAddr>,
    retries: Vec<Duration>,
    disable_after: Duration,
) -> TestApp {
    let app = spawn_app_with(Options {
        config: Box::new(move |c| {
            c.outbound.webhooks.retries = retries;
            c.outbound.webhooks.disable_after = disable_after;
        }),
        externals: Box::new(move |e| {
            e.webhooks = Arc::new(sender(receivers, Duration::from_millis(700)));
        }),
        ..Options::default()
    })
    .await;
    // Attempts are stamped by the app's clock; receivers check `webhook-timestamp` against
    // theirs.
    app.clock.advance(chrono::Utc::now() - app.clock_now());
    app
}

fn url(server: &MockServer) -> String {
    format!("http://{HOST}:{}/hook", server.address().port())
}

async fn endpoint(app: &TestApp, token: &str, url: &str, types: &[&str]) -> (String, String) {
    let res = app
        .post(
            "/api/webhooks/endpoints",
            Some(token),
            json!({"url": url, "eventTypes": types, "description": "CRM sync"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let secret = res.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    (
        res.body["endpoint"]["id"].as_str().unwrap().to_owned(),
        secret,
    )
}

/// Waits (up to 10 s) until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn received(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

fn verifies(secret: &str, request: &wiremock::Request) -> bool {
    standardwebhooks::Webhook::new(secret)
        .expect("a whsec_ secret")
        .verify(&request.body, &request.headers)
        .is_ok()
}

fn body(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

async fn deliveries(app: &TestApp, token: &str, endpoint: &str) -> Vec<Value> {
    let res = app
        .get(
            &format!("/api/webhooks/endpoints/{endpoint}/deliveries"),
            token,
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    res.body["deliveries"].as_array().unwrap().clone()
}

async fn receiver(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_string("thanks"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn events_arrive_signed_in_order_and_match_the_documented_schemas() {
    let server = receiver(202).await;
    let app = app_for(
        vec![*server.address()],
        vec![Duration::from_millis(50)],
        Duration::from_secs(3600),
    )
    .await;
    let owner = app.owner("hooks").await;
    let types = ["partner.created", "partner.updated", "partner.deleted"];
    let (endpoint_id, secret) = endpoint(&app, &owner.token, &url(&server), &types).await;

    let partner = app
        .create_partner(&owner.token, "Acme Müller", Some("acme.example"))
        .await;
    let id = partner["id"].as_str().unwrap();
    let res = app
        .patch(
            &format!("/api/partners/{id}"),
            &owner.token,
            json!({"stage": "active"}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let res = app
        .delete(&format!("/api/partners/{id}"), &owner.token)
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);

    eventually("three deliveries", || async {
        received(&server).await.len() >= 3
    })
    .await;
    let got = received(&server).await;
    assert_eq!(got.len(), 3, "each event once");
    // Publication follows the aggregate's order; deliveries are sent concurrently, so receipt
    // order is not promised (receivers order by the event's `timestamp`).
    let mut kinds: Vec<String> = got
        .iter()
        .map(|r| body(r)["type"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    let mut expected = types.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(kinds, expected);
    let openapi = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .body;
    for request in &got {
        assert!(
            verifies(&secret, request),
            "the reference library verifies the signature"
        );
        assert!(!verifies("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", request));
        let event = body(request);
        assert_eq!(event["data"]["partnerId"], id);
        assert_eq!(request.headers["content-type"], "application/json");
        // The data has exactly the documented properties, and the required ones.
        let name = event["type"].as_str().unwrap();
        let reference = openapi["webhooks"][name]["post"]["requestBody"]["content"]
            ["application/json"]["schema"]["properties"]["data"]["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} is documented"));
        let schema = &openapi["components"]["schemas"][reference.rsplit('/').next().unwrap()];
        let documented: std::collections::BTreeSet<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let sent: std::collections::BTreeSet<&str> = event["data"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(sent, documented, "{name}");
    }
    let updated = got
        .iter()
        .find(|r| body(r)["type"] == "partner.updated")
        .unwrap();
    assert_eq!(body(updated)["data"]["changedFields"], json!(["stage"]));

    // The log: one successful attempt each, under the id the receiver saw.
    let log = deliveries(&app, &owner.token, &endpoint_id).await;
    assert_eq!(log.len(), 3);
    for d in &log {
        assert_eq!(d["status"], "succeeded");
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["log"][0]["statusCode"], 202);
        assert_eq!(d["log"][0]["response"], "thanks");
        assert!(
            got.iter()
                .any(|r| r.headers["webhook-id"] == d["messageId"].as_str().unwrap())
        );
    }
}

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_answers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("db down"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let app = app_for(
        vec![*server.address()],
        vec![Duration::from_millis(100); 3],
        Duration::from_secs(3600),
    )
    .await;
    let owner = app.owner("retry").await;
    let (endpoint_id, _) = endpoint(&app, &owner.token, &url(&server), &["partner.created"]).await;
    app.create_partner(&owner.token, "Retry Ltd", None).await;

    eventually("the third attempt", || async {
        received(&server).await.len() >= 3
    })
    .await;
    let got = received(&server).await;
    let ids: std::collections::HashSet<_> = got
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    assert_eq!(ids.len(), 1, "every attempt carries the same webhook-id");
    eventually("the success recorded", || async {
        deliveries(&app, &owner.token, &endpoint_id).await[0]["status"] == "succeeded"
    })
    .await;
    let d = &deliveries(&app, &owner.token, &endpoint_id).await[0];
    let full = app
        .get(
            &format!(
                "/api/webhooks/endpoints/{endpoint_id}/deliveries/{}",
                d["id"].as_str().unwrap()
            ),
            &owner.token,
        )
        .await;
    let log = full.body["delivery"]["log"].as_array().unwrap();
    let codes: Vec<Value> = log.iter().map(|a| a["statusCode"].clone()).collect();
    assert_eq!(codes, [json!(200), json!(500), json!(500)], "newest first");
    assert_eq!(log[1]["response"], "db down");
    assert_eq!(log[1]["error"], "HTTP 500");
    let endpoint = app
        .get(
            &format!("/api/webhooks/endpoints/{endpoint_id}"),
            &owner.token,
        )
        .await;
    assert_eq!(
        endpoint.body["endpoint"]["failingSince"],
        Value::Null,
        "a success clears the failure record"
    );
}

#[tokio::test]
async fn an_endpoint_failing_too_long_is_disabled_with_an_event_and_a_mail_and_can_be_redelivered()
{
    // A receiver slower than the senders' 700 ms deadline.
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&slow)
        .await;
    let watcher = receiver(200).await;
    let app = app_for(
        vec![*slow.address(), *watcher.address()],
        vec![Duration::from_millis(50)],
        Duration::ZERO,
    )
    .await;
    let owner = app.owner("disable").await;
    let (slow_id, _) = endpoint(&app, &owner.token, &url(&slow), &["partner.created"]).await;
    let (_, watcher_secret) = endpoint(
        &app,
        &owner.token,
        &url(&watcher),
        &["webhook_endpoint.disabled"],
    )
    .await;
    app.create_partner(&owner.token, "Slow Co", None).await;

    eventually("the endpoint disabled", || async {
        let e = app
            .get(&format!("/api/webhooks/endpoints/{slow_id}"), &owner.token)
            .await;
        e.body["endpoint"]["enabled"] == false
    })
    .await;
    let e = app
        .get(&format!("/api/webhooks/endpoints/{slow_id}"), &owner.token)
        .await;
    assert!(
        e.body["endpoint"]["disabledReason"]
            .as_str()
            .unwrap()
            .contains("failed since")
    );
    let d = deliveries(&app, &owner.token, &slow_id).await;
    assert_eq!(
        d[0]["status"], "failed",
        "two attempts, the last of the schedule"
    );
    assert_eq!(d[0]["attempts"], 2);
    assert_eq!(d[0]["log"][0]["error"], "timed out");
    // The event reaches the organization's other endpoint, and the owner is mailed.
    eventually("the disabled event", || async {
        !received(&watcher).await.is_empty()
    })
    .await;
    let event = &received(&watcher).await[0];
    assert!(verifies(&watcher_secret, event));
    assert_eq!(body(event)["data"]["endpointId"], slow_id);
    eventually("the owner's mail", || async {
        app.mail
            .to("owner-disable@example.com")
            .iter()
            .any(|m| m.subject.starts_with("Webhook endpoint disabled"))
    })
    .await;

    // Redelivery: sent again now with the same id, whatever the state; the answer is the attempt.
    let delivery_id = d[0]["id"].as_str().unwrap();
    let before = received(&slow).await.len();
    let res = app
        .post(
            &format!("/api/webhooks/endpoints/{slow_id}/deliveries/{delivery_id}/redeliver"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["attempt"]["manual"], true);
    assert_eq!(res.body["attempt"]["attempt"], 3);
    assert_eq!(res.body["attempt"]["error"], "timed out");
    eventually("the redelivery received", || async {
        received(&slow).await.len() > before
    })
    .await;
    let ids: std::collections::HashSet<_> = received(&slow)
        .await
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    assert_eq!(ids.len(), 1);
    // Enabling gives the endpoint a clean record.
    let res = app
        .patch(
            &format!("/api/webhooks/endpoints/{slow_id}"),
            &owner.token,
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["endpoint"]["disabledReason"], Value::Null);
    assert_eq!(res.body["endpoint"]["failingSince"], Value::Null);
}

#[tokio::test]
async fn a_url_resolving_to_a_private_address_is_never_connected_to() {
    // A listener on loopback that is not allow-listed: to the guard it is a private address.
    let listener = tokio::net::TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let app = app_for(
        Vec::new(),
        vec![Duration::from_millis(50)],
        Duration::from_secs(3600),
    )
    .await;
    let owner = app.owner("ssrf").await;
    let (endpoint_id, _) = endpoint(
        &app,
        &owner.token,
        &format!("http://intranet.customer.test:{port}/admin"),
        &["partner.created"],
    )
    .await;
    app.create_partner(&owner.token, "Probe", None).await;
    eventually("both attempts refused", || async {
        deliveries(&app, &owner.token, &endpoint_id)
            .await
            .first()
            .is_some_and(|d| d["status"] == "failed")
    })
    .await;
    let d = &deliveries(&app, &owner.token, &endpoint_id).await[0];
    assert!(
        d["log"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("blocked"),
        "{d}"
    );
    assert_eq!(d["log"][0]["statusCode"], Value::Null);
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_rotated_secret_keeps_signing_next_to_its_successor() {
    let server = receiver(200).await;
    let app = app_for(
        vec![*server.address()],
        vec![Duration::from_millis(50)],
        Duration::from_secs(3600),
    )
    .await;
    let owner = app.owner("rotate").await;
    let (endpoint_id, old) =
        endpoint(&app, &owner.token, &url(&server), &["partner.created"]).await;
    let res = app
        .post(
            &format!("/api/webhooks/endpoints/{endpoint_id}/rotate-secret"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let new = res.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    app.create_partner(&owner.token, "Rotated", None).await;
    eventually("the delivery", || async {
        !received(&server).await.is_empty()
    })
    .await;
    let request = &received(&server).await[0];
    let header = request.headers["webhook-signature"].to_str().unwrap();
    assert_eq!(header.split(' ').count(), 2, "{header}");
    assert!(verifies(&old, request) && verifies(&new, request));
    // Past the overlap, only the new one signs.
    app.db
        .client()
        .await
        .execute("UPDATE webhook_secrets SET expires_at = now() - interval '1 second' WHERE expires_at IS NOT NULL", &[])
        .await
        .unwrap();
    app.create_partner(&owner.token, "Rotated Again", None)
        .await;
    eventually("the second delivery", || async {
        received(&server).await.len() >= 2
    })
    .await;
    let request = &received(&server).await[1];
    assert!(verifies(&new, request) && !verifies(&old, request));
}

#[tokio::test]
async fn endpoints_are_for_owners_and_admins_of_their_own_organization() {
    let app = spawn_app().await;
    let owner = app.owner("acl").await;
    let member = app.member(&owner, "member", "acl").await;
    let res = app
        .post(
            "/api/webhooks/endpoints",
            Some(&member),
            json!({"url": "https://h.example/", "eventTypes": ["partner.created"]}),
        )
        .await;
    assert_eq!(res.status, 403);
    let (id, _) = endpoint(
        &app,
        &owner.token,
        "https://h.example/hook",
        &["partner.created"],
    )
    .await;
    let stranger = app.owner("acl-other").await;
    for (m, path) in [
        (Method::GET, format!("/api/webhooks/endpoints/{id}")),
        (Method::DELETE, format!("/api/webhooks/endpoints/{id}")),
        (
            Method::POST,
            format!("/api/webhooks/endpoints/{id}/rotate-secret"),
        ),
        (
            Method::GET,
            format!("/api/webhooks/endpoints/{id}/deliveries"),
        ),
    ] {
        let res = app
            .call(m.clone(), &path, Some(&stranger.token), None)
            .await;
        assert_eq!(res.status, 404, "{m} {path}");
    }
    assert_eq!(
        app.get("/api/webhooks/endpoints", &stranger.token)
            .await
            .body["endpoints"],
        json!([])
    );
    let res = app
        .post(
            "/api/webhooks/endpoints",
            Some(&owner.token),
            json!({"url": "ftp://h.example/", "eventTypes": ["invitation.created"]}),
        )
        .await;
    assert_eq!(res.status, 400);
    let fields: Vec<&str> = res.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["url", "eventTypes"]);
    let catalogue = app
        .call(Method::GET, "/api/webhooks/event-types", None, None)
        .await;
    assert_eq!(catalogue.body["eventTypes"].as_array().unwrap().len(), 10);
    let res = app
        .delete(&format!("/api/webhooks/endpoints/{id}"), &owner.token)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        app.get(&format!("/api/webhooks/endpoints/{id}"), &owner.token)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn two_relays_and_two_sender_pools_deliver_each_event_once() {
    let server = receiver(200).await;
    let app = spawn_app_with(Options {
        config: Box::new(|c| {
            c.outbound.relay_workers = 2;
            c.outbound.webhook_workers = 2;
            c.outbound.webhook_batch = 2;
        }),
        externals: {
            let allowed = vec![*server.address()];
            Box::new(move |e| e.webhooks = Arc::new(sender(allowed, Duration::from_secs(5))))
        },
        ..Options::default()
    })
    .await;
    app.clock.advance(chrono::Utc::now() - app.clock_now());
    let owner = app.owner("twice").await;
    endpoint(&app, &owner.token, &url(&server), &["partner.created"]).await;
    // A second instance on the same database: its own pool, relay and senders.
    let other =
        partneros_postgres::connect(app.db.url(), &partneros_postgres::PoolConfig::default())
            .unwrap();
    let other = Arc::new(other);
    let relay = Arc::new(partneros_domain::outbox::Relay::new(
        other.clone(),
        Vec::new(),
        partneros_domain::outbox::RelaySettings {
            batch: 3,
            ..Default::default()
        },
    ));
    let worker = Arc::new(partneros_domain::webhooks::worker::WebhookWorker::new(
        other.clone(),
        Arc::new(sender(vec![*server.address()], Duration::from_secs(5))),
        Arc::new(partneros_domain::shared::clock::SystemClock),
        partneros_domain::webhooks::model::DeliveryPolicy::default(),
        2,
        Duration::from_secs(60),
    ));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let second = tokio::spawn({
        let stop = stop.clone();
        async move {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                relay.run_once().await.unwrap();
                worker.run_once().await.unwrap();
            }
        }
    });
    const N: usize = 24;
    let names: Vec<String> = (0..N).map(|i| format!("Twice {i}")).collect();
    futures::future::join_all(
        names
            .iter()
            .map(|n| app.create_partner(&owner.token, n, None)),
    )
    .await;
    eventually("every event delivered", || async {
        received(&server).await.len() >= N
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    second.await.unwrap();
    let got = received(&server).await;
    let ids: std::collections::HashSet<_> = got
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    assert_eq!(got.len(), N, "no event sent twice");
    assert_eq!(ids.len(), N);
    let c = app.db.client().await;
    let attempts: i64 = c
        .query_one("SELECT count(*) FROM webhook_attempts", &[])
        .await
        .unwrap()
        .get(0);
    let deliveries: i64 = c
        .query_one(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded' AND attempts = 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        (attempts, deliveries),
        (N as i64, N as i64),
        "each once in the log"
    );
}
