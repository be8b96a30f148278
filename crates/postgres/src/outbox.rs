//! The outbox relay's storage: leases, per-aggregate order, publication with webhook fan-out.

use crate::Database;
use crate::error::ResultExt;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::sql_types::{
    BigInt, Double, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::RunQueryDsl;
use partneros_domain::outbox::{OutboxLag, OutboxStore, PendingEvent};
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::ids::{EventId, OrganizationId};
use std::time::Duration;
use uuid::Uuid;

#[derive(diesel::QueryableByName)]
struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    organization_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct Lag {
    #[diesel(sql_type = BigInt)]
    pending: i64,
    #[diesel(sql_type = Double)]
    oldest: f64,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[async_trait]
impl OutboxStore for Database {
    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<PendingEvent>, StoreError> {
        let mut conn = self.conn().await?;
        // The oldest pending event of each aggregate only: a later one waits until the earlier
        // is published (or given up). SKIP LOCKED keeps concurrent relays off each other's rows;
        // the lease keeps them off rows another relay is still working on.
        let rows: Vec<Claimed> = diesel::sql_query(
            "UPDATE events e SET attempts = e.attempts + 1, \
                 leased_until = now() + make_interval(secs => $2) \
             FROM (SELECT c.id FROM events c \
                   WHERE c.published_at IS NULL AND c.next_attempt_at <= now() \
                     AND (c.leased_until IS NULL OR c.leased_until < now()) \
                     AND NOT EXISTS (SELECT 1 FROM events p \
                         WHERE p.published_at IS NULL AND p.aggregate_id = c.aggregate_id \
                           AND p.seq < c.seq) \
                   ORDER BY c.seq LIMIT $1 FOR UPDATE SKIP LOCKED) due \
             WHERE e.id = due.id \
             RETURNING e.id, e.organization_id, e.kind, e.payload, e.created_at, e.attempts, e.seq",
        )
        .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind::<Double, _>(secs(lease))
        .load(&mut conn)
        .await
        .store()?;
        let mut rows = rows;
        // UPDATE … RETURNING does not keep the subquery's order.
        rows.sort_by_key(|r| r.seq);
        Ok(rows
            .into_iter()
            .map(|r| PendingEvent {
                id: EventId::from_uuid(r.id),
                organization_id: r.organization_id.map(OrganizationId::from_uuid),
                kind: r.kind,
                payload: r.payload,
                created_at: r.created_at,
                attempt: r.attempts,
            })
            .collect())
    }

    async fn complete(
        &self,
        event: &PendingEvent,
        webhook_type: Option<&'static str>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let done: Count = diesel::sql_query(
            "WITH done AS ( \
                 UPDATE events SET published_at = now(), leased_until = NULL, last_error = NULL \
                 WHERE id = $1 AND attempts = $2 AND published_at IS NULL \
                 RETURNING id, organization_id), \
             fanned AS ( \
                 INSERT INTO webhook_deliveries (id, organization_id, endpoint_id, event_id, event_type) \
                 SELECT gen_random_uuid(), w.organization_id, w.id, done.id, $3 \
                 FROM done JOIN webhook_endpoints w ON w.organization_id = done.organization_id \
                 WHERE $3 IS NOT NULL AND w.enabled AND $3 = ANY (w.event_types) \
                 ON CONFLICT (endpoint_id, event_id) DO NOTHING \
                 RETURNING 1) \
             SELECT count(*) AS n FROM done",
        )
        .bind::<SqlUuid, _>(event.id.as_uuid())
        .bind::<Integer, _>(event.attempt)
        .bind::<Nullable<Text>, _>(webhook_type)
        .get_result(&mut conn)
        .await
        .store()?;
        Ok(done.n == 1)
    }

    async fn reschedule(
        &self,
        event: &PendingEvent,
        after: Duration,
        error: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        diesel::sql_query(
            "UPDATE events SET next_attempt_at = now() + make_interval(secs => $3), \
                 leased_until = NULL, last_error = $4 \
             WHERE id = $1 AND attempts = $2 AND published_at IS NULL",
        )
        .bind::<SqlUuid, _>(event.id.as_uuid())
        .bind::<Integer, _>(event.attempt)
        .bind::<Double, _>(secs(after))
        .bind::<Text, _>(error)
        .execute(&mut conn)
        .await
        .store()?;
        Ok(())
    }

    async fn give_up(&self, event: &PendingEvent, error: &str) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        diesel::sql_query(
            "UPDATE events SET published_at = now(), failed_at = now(), leased_until = NULL, \
                 last_error = $3 \
             WHERE id = $1 AND attempts = $2 AND published_at IS NULL",
        )
        .bind::<SqlUuid, _>(event.id.as_uuid())
        .bind::<Integer, _>(event.attempt)
        .bind::<Text, _>(error)
        .execute(&mut conn)
        .await
        .store()?;
        Ok(())
    }

    async fn lag(&self) -> Result<OutboxLag, StoreError> {
        let mut conn = self.conn().await?;
        let lag: Lag = diesel::sql_query(
            "SELECT count(*) AS pending, \
                 COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest \
             FROM events WHERE published_at IS NULL",
        )
        .get_result(&mut conn)
        .await
        .store()?;
        Ok(OutboxLag {
            pending: lag.pending,
            oldest: Duration::from_secs_f64(lag.oldest.max(0.0)),
        })
    }
}
