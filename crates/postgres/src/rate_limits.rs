//! Sliding-window rate limits kept in PostgreSQL, so every instance shares them.
//!
//! A hit takes a transaction-scoped advisory lock on its bucket, so "count, then insert" is
//! atomic across connections and instances: exactly `limit` hits pass per window.

use crate::Database;
use crate::error::ResultExt;
use crate::models::TxError;
use crate::schema::*;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::rate_limit::{RateDecision, RateLimiter};

/// Hits of `bucket` since `since` that count: settled ones, and pending ones younger than
/// `cutoff` (an unsettled reservation lapses).
async fn window(
    conn: &mut crate::Conn,
    bucket: &str,
    since: DateTime<Utc>,
    cutoff: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>), diesel::result::Error> {
    rate_limit_hits::table
        .filter(rate_limit_hits::bucket.eq(bucket))
        .filter(rate_limit_hits::hit_at.gt(since))
        .filter(
            rate_limit_hits::pending
                .eq(false)
                .or(rate_limit_hits::hit_at.gt(cutoff)),
        )
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(rate_limit_hits::hit_at),
        ))
        .get_result(conn)
        .await
}

/// Counts a hit in `bucket` unless `limit` hits happened in the window before `now`, on
/// `conn` inside the caller's transaction (whose lock on the bucket it takes, so the count and
/// the record are atomic across connections and instances).
pub(crate) async fn hit_on(
    conn: &mut crate::Conn,
    bucket: &str,
    limit: u32,
    window_len: Duration,
    now: DateTime<Utc>,
) -> Result<RateDecision, diesel::result::Error> {
    count_and_record(conn, bucket, limit, window_len, None, now).await
}

/// `hit_on`, recording the hit as pending (a reservation lapsing after `lease`) when asked.
async fn count_and_record(
    conn: &mut crate::Conn,
    bucket: &str,
    limit: u32,
    window_len: Duration,
    lease: Option<Duration>,
    now: DateTime<Utc>,
) -> Result<RateDecision, diesel::result::Error> {
    conn.batch_execute(&format!(
        "SELECT pg_advisory_xact_lock({})",
        lock_key(bucket)
    ))
    .await?;
    // Expired hits are not counted (the window filters them); they are purged in the
    // background rather than on this hot path.
    let since = now - window_len;
    let cutoff = lease.map_or(since, |l| now - l);
    // Count and record in one statement (the lock makes it atomic); the window is read again
    // only when the hit is refused, to say when to retry.
    let recent = rate_limit_hits::table
        .filter(rate_limit_hits::bucket.eq(bucket))
        .filter(rate_limit_hits::hit_at.gt(since))
        .filter(
            rate_limit_hits::pending
                .eq(false)
                .or(rate_limit_hits::hit_at.gt(cutoff)),
        )
        .count()
        .single_value()
        .assume_not_null();
    let recorded = diesel::insert_into(rate_limit_hits::table)
        .values(
            diesel::select((
                bucket.into_sql::<diesel::sql_types::Text>(),
                now.into_sql::<diesel::sql_types::Timestamptz>(),
                lease.is_some().into_sql::<diesel::sql_types::Bool>(),
            ))
            .filter(recent.lt(i64::from(limit))),
        )
        .into_columns((
            rate_limit_hits::bucket,
            rate_limit_hits::hit_at,
            rate_limit_hits::pending,
        ))
        .execute(conn)
        .await?;
    if recorded == 1 {
        return Ok(RateDecision::Allowed);
    }
    let (count, oldest) = window(conn, bucket, since, cutoff).await?;
    Ok(decide(
        count.max(i64::from(limit)),
        oldest,
        limit,
        window_len,
        now,
    ))
}

/// The advisory lock of a bucket: a stable 64-bit FNV-1a hash, the same in every instance (and
/// a number, so nothing from the bucket's text reaches the SQL).
fn lock_key(bucket: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bucket.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

fn decide(
    count: i64,
    oldest: Option<DateTime<Utc>>,
    limit: u32,
    window: Duration,
    now: DateTime<Utc>,
) -> RateDecision {
    if count < i64::from(limit) {
        return RateDecision::Allowed;
    }
    let free_at = oldest.unwrap_or(now) + window;
    let secs = ((free_at - now).num_milliseconds().max(0) + 999) / 1000;
    let secs = secs.max(1);
    RateDecision::Limited {
        retry_after_secs: secs as u64,
    }
}

#[async_trait]
impl RateLimiter for Database {
    async fn hit(
        &self,
        bucket: &str,
        limit: u32,
        window_len: Duration,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, StoreError> {
        let mut conn = self.conn().await?;
        let bucket = bucket.to_owned();
        let decision = conn
            .transaction::<_, TxError, _>(async move |conn| {
                // A hit is ephemeral: losing the last ones in a crash only forgives a few
                // requests, so this commit need not wait for the WAL flush.
                conn.batch_execute("SET LOCAL synchronous_commit TO OFF")
                    .await?;
                let decision = hit_on(conn, &bucket, limit, window_len, now).await?;
                Ok(decision)
            })
            .await?;
        Ok(decision)
    }

    async fn reserve(
        &self,
        bucket: &str,
        limit: u32,
        window_len: Duration,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, StoreError> {
        let mut conn = self.conn().await?;
        let bucket = bucket.to_owned();
        let decision = conn
            .transaction::<_, TxError, _>(async move |conn| {
                Ok(count_and_record(conn, &bucket, limit, window_len, Some(lease), now).await?)
            })
            .await?;
        Ok(decision)
    }

    async fn settle(
        &self,
        bucket: &str,
        at: DateTime<Utc>,
        counted: bool,
    ) -> Result<(), StoreError> {
        use diesel::sql_types::{Text, Timestamptz};
        // Reservations of one bucket made at the same instant are interchangeable: settle one.
        let one = "(SELECT ctid FROM rate_limit_hits \
                   WHERE bucket = $1 AND hit_at = $2 AND pending LIMIT 1)";
        let sql = if counted {
            format!("UPDATE rate_limit_hits SET pending = false WHERE ctid = {one}")
        } else {
            format!("DELETE FROM rate_limit_hits WHERE ctid = {one}")
        };
        let mut conn = self.conn().await?;
        diesel::sql_query(sql)
            .bind::<Text, _>(bucket)
            .bind::<Timestamptz, _>(at)
            .execute(&mut conn)
            .await
            .store()?;
        Ok(())
    }

    async fn clear(&self, bucket: &str) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        diesel::delete(rate_limit_hits::table.filter(rate_limit_hits::bucket.eq(bucket)))
            .execute(&mut conn)
            .await
            .store()?;
        Ok(())
    }
}

impl Database {
    /// Deletes rate-limit hits older than `before` (no window is that long); run periodically.
    pub async fn purge_rate_limit_hits(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut conn = self.conn().await?;
        diesel::delete(rate_limit_hits::table.filter(rate_limit_hits::hit_at.lt(before)))
            .execute(&mut conn)
            .await
            .store()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_distinct() {
        assert_eq!(lock_key(""), 0xcbf2_9ce4_8422_2325_u64 as i64);
        assert_eq!(lock_key("banner:a"), lock_key("banner:a"));
        assert_ne!(lock_key("banner:a"), lock_key("banner:b"));
    }

    #[test]
    fn retry_after_counts_until_the_oldest_hit_leaves_the_window() {
        let now = Utc::now();
        let w = Duration::minutes(15);
        assert_eq!(decide(4, Some(now), 5, w, now), RateDecision::Allowed);
        assert_eq!(
            decide(5, Some(now - Duration::minutes(10)), 5, w, now),
            RateDecision::Limited {
                retry_after_secs: 300
            }
        );
        // Never "retry after 0 seconds".
        assert_eq!(
            decide(5, Some(now - w), 5, w, now),
            RateDecision::Limited {
                retry_after_secs: 1
            }
        );
    }
}
