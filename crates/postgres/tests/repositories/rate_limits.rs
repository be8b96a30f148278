//! The PostgreSQL rate limiter: exact limits under concurrency, reservations, purging.

use crate::helpers::*;
use chrono::Duration;
use partneros_domain::shared::rate_limit::{RateDecision, RateLimiter};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_hits_allow_exactly_the_limit() {
    let (db, store) = setup().await;
    let now = t0();
    let window = Duration::minutes(1);
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.hit("sign-in:a", 10, window, now).await })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            RateDecision::Allowed => allowed += 1,
            RateDecision::Limited { retry_after_secs } => assert!(retry_after_secs >= 1),
        }
    }
    assert_eq!(allowed, 10);
    assert_eq!(
        count(&db, "rate_limit_hits WHERE bucket = 'sign-in:a'").await,
        10
    );

    assert_eq!(
        store.hit("sign-in:b", 10, window, now).await.unwrap(),
        RateDecision::Allowed
    );
    // A refused hit records nothing and says when the oldest leaves the window.
    assert_eq!(
        store
            .hit("sign-in:a", 10, window, now + Duration::seconds(20))
            .await
            .unwrap(),
        RateDecision::Limited {
            retry_after_secs: 40
        }
    );
    assert_eq!(
        count(&db, "rate_limit_hits WHERE bucket = 'sign-in:a'").await,
        10
    );
    // Once the window has passed, hits are allowed again.
    assert_eq!(
        store
            .hit("sign-in:a", 10, window, now + window)
            .await
            .unwrap(),
        RateDecision::Allowed
    );
}

#[tokio::test]
async fn reservations_count_at_once_and_settle_as_failures_releases_or_lapses() {
    let (db, store) = setup().await;
    let now = t0();
    let (window, lease) = (Duration::minutes(15), Duration::minutes(2));
    // A concurrent burst: exactly the limit is reserved.
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.reserve("acct", 3, window, lease, now).await })
        })
        .collect();
    let mut reserved = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() == RateDecision::Allowed {
            reserved += 1;
        }
    }
    assert_eq!(reserved, 3);
    // One is a failure (kept), one had no verdict (released), one is never settled.
    store.settle("acct", now, true).await.unwrap();
    store.settle("acct", now, false).await.unwrap();
    assert_eq!(count(&db, "rate_limit_hits WHERE bucket = 'acct'").await, 2);
    let later = now + Duration::seconds(30);
    assert_eq!(
        store
            .reserve("acct", 3, window, lease, later)
            .await
            .unwrap(),
        RateDecision::Allowed,
        "the released place is free again"
    );
    store.settle("acct", later, true).await.unwrap();
    // Past the lease the unsettled reservation lapses; the two failures still count.
    let after_lease = now + lease + Duration::seconds(1);
    assert_eq!(
        store
            .reserve("acct", 3, window, lease, after_lease)
            .await
            .unwrap(),
        RateDecision::Allowed
    );
    assert!(matches!(
        store
            .reserve("acct", 3, window, lease, after_lease)
            .await
            .unwrap(),
        RateDecision::Limited { .. }
    ));
}
