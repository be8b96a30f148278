//! The outbox relay's store: per-aggregate order, leases that keep concurrent relays apart,
//! fencing of a claim that lost its lease, and publication with the webhook fan-out in one
//! transaction.

use crate::helpers::*;
use partneros_domain::outbox::{OutboxStore, PendingEvent};
use partneros_postgres::Database;
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(60);

/// Records an event straight into the outbox (as an adapter does inside its transaction).
async fn record(
    db: &partneros_test_support::TestDatabase,
    org: Option<Uuid>,
    aggregate: Uuid,
    kind: &str,
    n: i32,
) -> Uuid {
    let id = Uuid::now_v7();
    db.client()
        .await
        .execute(
            "INSERT INTO events (id, organization_id, aggregate_id, kind, payload) \
             VALUES ($1::text::uuid, $2::text::uuid, $3::text::uuid, $4, \
                     jsonb_build_object('n', $5::int))",
            &[
                &id.to_string(),
                &org.map(|o| o.to_string()),
                &aggregate.to_string(),
                &kind,
                &n,
            ],
        )
        .await
        .unwrap();
    id
}

fn ns(events: &[PendingEvent]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e.payload["n"].as_i64().unwrap())
        .collect()
}

async fn publish_all(store: &Database, events: &[PendingEvent]) {
    for e in events {
        assert!(store.complete(e, None).await.unwrap());
    }
}

#[tokio::test]
async fn an_aggregates_events_go_out_one_at_a_time_in_order() {
    let (db, store) = setup().await;
    let a = Uuid::now_v7();
    let b = Uuid::now_v7();
    record(&db, None, a, "partner_created", 1).await;
    record(&db, None, b, "partner_created", 10).await;
    record(&db, None, a, "partner_updated", 2).await;
    record(&db, None, a, "partner_deleted", 3).await;

    let first = store.claim(10, LEASE).await.unwrap();
    assert_eq!(ns(&first), [1, 10], "the oldest of each aggregate only");
    assert!(
        store.claim(10, LEASE).await.unwrap().is_empty(),
        "leased, and a's next waits"
    );
    publish_all(&store, &first).await;
    let second = store.claim(10, LEASE).await.unwrap();
    assert_eq!(ns(&second), [2]);
    // A failed event holds its aggregate back until it is published or given up.
    store
        .reschedule(&second[0], Duration::ZERO, "smtp down")
        .await
        .unwrap();
    let again = store.claim(10, LEASE).await.unwrap();
    assert_eq!(ns(&again), [2]);
    assert_eq!(again[0].attempt, 2, "each claim counts an attempt");
    store.give_up(&again[0], "gave up").await.unwrap();
    assert_eq!(ns(&store.claim(10, LEASE).await.unwrap()), [3]);
    let lag = store.lag().await.unwrap();
    assert_eq!(lag.pending, 1);
}

#[tokio::test]
async fn concurrent_claimers_never_get_the_same_event() {
    let (db, store) = setup().await;
    for n in 0..60 {
        record(&db, None, Uuid::now_v7(), "partner_created", n).await;
    }
    let claims = futures::future::join_all((0..6).map(|_| {
        let store = store.clone();
        async move {
            let mut mine = Vec::new();
            loop {
                let got = store.claim(4, LEASE).await.unwrap();
                if got.is_empty() {
                    break mine;
                }
                for e in &got {
                    assert!(store.complete(e, None).await.unwrap());
                }
                mine.extend(ns(&got));
            }
        }
    }))
    .await;
    let all: Vec<i64> = claims.into_iter().flatten().collect();
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 60, "each event claimed once");
    assert_eq!(unique.len(), 60);
}

#[tokio::test]
async fn a_claim_whose_lease_ran_out_cannot_complete_after_another_took_it() {
    let (db, store) = setup().await;
    record(&db, None, Uuid::now_v7(), "partner_created", 1).await;
    let stale = store.claim(1, Duration::ZERO).await.unwrap();
    assert_eq!(stale.len(), 1);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let fresh = store.claim(1, LEASE).await.unwrap();
    assert_eq!(
        fresh[0].id, stale[0].id,
        "the lapsed lease lets another relay take it"
    );
    assert!(
        !store.complete(&stale[0], None).await.unwrap(),
        "the stale claim is fenced off"
    );
    assert!(store.complete(&fresh[0], None).await.unwrap());
    assert!(
        store.claim(1, LEASE).await.unwrap().is_empty(),
        "published once"
    );
}

#[tokio::test]
async fn publishing_fans_out_to_the_subscribed_enabled_endpoints_of_the_organization() {
    let (db, store) = setup().await;
    let owner = user(&store, "owner@fan.example").await;
    let o = org(&store, owner, "fan-out").await.as_uuid();
    let other = org(&store, owner, "other-org").await.as_uuid();
    let c = db.client().await;
    let endpoint = |org: Uuid, types: &'static [&'static str], enabled: bool| {
        let c = &c;
        async move {
            let id = Uuid::now_v7();
            let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
            c.execute(
                "INSERT INTO webhook_endpoints (id, organization_id, url, event_types, enabled) \
                 VALUES ($1::text::uuid, $2::text::uuid, 'https://h.example/', $3, $4)",
                &[&id.to_string(), &org.to_string(), &types, &enabled],
            )
            .await
            .unwrap();
            id
        }
    };
    let wanted = endpoint(o, &["partner.created", "partner.deleted"], true).await;
    endpoint(o, &["partner.updated"], true).await;
    endpoint(o, &["partner.created"], false).await;
    endpoint(other, &["partner.created"], true).await;
    let event = record(&db, Some(o), Uuid::now_v7(), "partner_created", 1).await;

    let claimed = store.claim(1, LEASE).await.unwrap();
    assert!(
        store
            .complete(&claimed[0], Some("partner.created"))
            .await
            .unwrap()
    );
    let rows = c
        .query(
            "SELECT endpoint_id::text, event_type, status FROM webhook_deliveries \
             WHERE event_id = $1::text::uuid",
            &[&event.to_string()],
        )
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        1,
        "one delivery, to the one subscribed enabled endpoint"
    );
    assert_eq!(rows[0].get::<_, String>(0), wanted.to_string());
    assert_eq!(rows[0].get::<_, String>(1), "partner.created");
    assert_eq!(rows[0].get::<_, String>(2), "pending");
    let published: bool = c
        .query_one(
            "SELECT published_at IS NOT NULL FROM events WHERE id = $1::text::uuid",
            &[&event.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert!(published);
}
