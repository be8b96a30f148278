//! Readiness and housekeeping.

use crate::helpers::*;
use partneros_domain::shared::health::HealthCheck;

#[tokio::test]
async fn readiness_requires_every_migration() {
    let (db, store) = setup().await;
    store.ready().await.unwrap();
    db.client()
        .await
        .batch_execute(
            "DELETE FROM __diesel_schema_migrations \
             WHERE version = (SELECT max(version) FROM __diesel_schema_migrations)",
        )
        .await
        .unwrap();
    assert!(store.ready().await.is_err());
}

#[tokio::test]
async fn purging_removes_only_expired_rate_limit_hits() {
    use partneros_domain::shared::rate_limit::RateLimiter;
    let test_db = partneros_test_support::TestDatabase::new().await;
    let db = partneros_postgres::connect(test_db.url(), &partneros_postgres::PoolConfig::default())
        .unwrap();
    let now = chrono::Utc::now();
    let day = chrono::Duration::days(1);
    db.hit("old", 10, day, now - chrono::Duration::hours(2))
        .await
        .unwrap();
    db.hit("new", 10, day, now - chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        db.purge_rate_limit_hits(now - chrono::Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    let client = test_db.client().await;
    let left: Vec<String> = client
        .query("SELECT bucket FROM rate_limit_hits", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, ["new"]);
}
