//! Webhook endpoints, their secrets, deliveries and the delivery log.

use crate::Database;
use crate::error::ResultExt;
use crate::models::{TxError, corrupt, record_event};
use crate::schema::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    BigInt, Double, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use partneros_domain::outbox::EventType;
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::ids::{
    EventId, OrganizationId, UserId, WebhookDeliveryId, WebhookEndpointId,
};
use partneros_domain::webhooks::model::{
    AttemptRecord, Delivery, DeliveryStatus, EndpointPatch, NewEndpoint, WebhookEndpoint,
};
use partneros_domain::webhooks::ports::{DueDelivery, EndpointHealth, NextStep, WebhookStore};
use partneros_domain::webhooks::sender::SigningSecret;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints, check_for_backend(diesel::pg::Pg))]
struct EndpointRow {
    id: Uuid,
    organization_id: Uuid,
    url: String,
    description: String,
    event_types: Vec<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    failing_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<EndpointRow> for WebhookEndpoint {
    fn from(r: EndpointRow) -> Self {
        Self {
            id: WebhookEndpointId::from_uuid(r.id),
            organization_id: OrganizationId::from_uuid(r.organization_id),
            url: r.url,
            description: r.description,
            event_types: r.event_types,
            enabled: r.enabled,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
struct DeliveryRow {
    id: Uuid,
    endpoint_id: Uuid,
    event_id: Uuid,
    event_type: String,
    status: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_attempts, check_for_backend(diesel::pg::Pg))]
struct AttemptRow {
    delivery_id: Uuid,
    attempt: i32,
    manual: bool,
    attempted_at: DateTime<Utc>,
    status_code: Option<i32>,
    latency_ms: i32,
    response_prefix: String,
    error: Option<String>,
}

impl From<AttemptRow> for AttemptRecord {
    fn from(r: AttemptRow) -> Self {
        Self {
            attempt: r.attempt,
            manual: r.manual,
            attempted_at: r.attempted_at,
            status_code: r.status_code.and_then(|c| u16::try_from(c).ok()),
            latency_ms: r.latency_ms,
            response_prefix: r.response_prefix,
            error: r.error,
        }
    }
}

fn delivery(r: DeliveryRow, log: Vec<AttemptRecord>) -> Result<Delivery, StoreError> {
    let status =
        DeliveryStatus::parse(&r.status).ok_or_else(|| corrupt("delivery status", &r.status))?;
    Ok(Delivery {
        id: WebhookDeliveryId::from_uuid(r.id),
        endpoint_id: WebhookEndpointId::from_uuid(r.endpoint_id),
        event_id: EventId::from_uuid(r.event_id),
        event_type: r.event_type,
        status,
        attempts: r.attempts,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(r.next_attempt_at),
        created_at: r.created_at,
        updated_at: r.updated_at,
        log,
    })
}

fn type_names(types: &[EventType]) -> Vec<String> {
    types
        .iter()
        .filter_map(|t| t.webhook_type())
        .map(str::to_owned)
        .collect()
}

/// Claimed deliveries: the row, then what the attempt needs.
#[derive(diesel::QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    organization_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    endpoint_id: Uuid,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    failing_since: Option<DateTime<Utc>>,
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    event_created_at: DateTime<Utc>,
}

/// What an attempt needs, for deliveries `ids` (attempt numbers as given by `attempts`).
const DUE_COLUMNS: &str = "d.id, d.organization_id, d.endpoint_id, d.event_type, d.attempts, \
     d.status, w.url, w.failing_since, e.payload, e.created_at AS event_created_at";

async fn secrets_of(
    conn: &mut crate::Conn,
    endpoints: &[Uuid],
) -> Result<HashMap<Uuid, Vec<SigningSecret>>, StoreError> {
    let rows: Vec<(Uuid, String)> = webhook_secrets::table
        .filter(webhook_secrets::endpoint_id.eq_any(endpoints))
        .filter(
            webhook_secrets::expires_at
                .is_null()
                .or(webhook_secrets::expires_at.gt(diesel::dsl::now)),
        )
        .order(webhook_secrets::created_at.desc())
        .select((webhook_secrets::endpoint_id, webhook_secrets::secret))
        .load(conn)
        .await
        .store()?;
    let mut out: HashMap<Uuid, Vec<SigningSecret>> = HashMap::new();
    for (endpoint, secret) in rows {
        let secret =
            SigningSecret::parse(&secret).ok_or_else(|| corrupt("webhook secret", "not whsec_"))?;
        out.entry(endpoint).or_default().push(secret);
    }
    Ok(out)
}

fn due(
    rows: Vec<ClaimedRow>,
    secrets: HashMap<Uuid, Vec<SigningSecret>>,
    next_attempt: bool,
) -> Result<Vec<DueDelivery>, StoreError> {
    rows.into_iter()
        .map(|r| {
            Ok(DueDelivery {
                id: WebhookDeliveryId::from_uuid(r.id),
                organization_id: OrganizationId::from_uuid(r.organization_id),
                endpoint_id: WebhookEndpointId::from_uuid(r.endpoint_id),
                secrets: secrets.get(&r.endpoint_id).cloned().unwrap_or_default(),
                url: r.url,
                event_type: r.event_type,
                event_created_at: r.event_created_at,
                payload: r.payload,
                attempt: if next_attempt {
                    r.attempts + 1
                } else {
                    r.attempts
                },
                status: DeliveryStatus::parse(&r.status)
                    .ok_or_else(|| corrupt("delivery status", &r.status))?,
                failing_since: r.failing_since,
            })
        })
        .collect()
}

#[async_trait]
impl WebhookStore for Database {
    async fn create_endpoint(
        &self,
        organization: OrganizationId,
        endpoint: &NewEndpoint,
        secret: &SigningSecret,
        created_by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, StoreError> {
        let mut conn = self.conn().await?;
        let id = Uuid::now_v7();
        let row = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let row: EndpointRow = diesel::insert_into(webhook_endpoints::table)
                    .values((
                        webhook_endpoints::id.eq(id),
                        webhook_endpoints::organization_id.eq(organization.as_uuid()),
                        webhook_endpoints::url.eq(endpoint.url.as_str()),
                        webhook_endpoints::description.eq(&endpoint.description),
                        webhook_endpoints::event_types.eq(type_names(&endpoint.event_types)),
                        webhook_endpoints::enabled.eq(endpoint.enabled),
                        webhook_endpoints::created_by.eq(created_by.map(|u| u.as_uuid())),
                        webhook_endpoints::created_at.eq(now),
                        webhook_endpoints::updated_at.eq(now),
                    ))
                    .returning(EndpointRow::as_returning())
                    .get_result(conn)
                    .await?;
                diesel::insert_into(webhook_secrets::table)
                    .values((
                        webhook_secrets::id.eq(Uuid::now_v7()),
                        webhook_secrets::endpoint_id.eq(id),
                        webhook_secrets::secret.eq(secret.expose()),
                        webhook_secrets::created_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
                Ok(row)
            })
            .await?;
        Ok(row.into())
    }

    async fn list_endpoints(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<EndpointRow> = webhook_endpoints::table
            .filter(webhook_endpoints::organization_id.eq(organization.as_uuid()))
            .order((
                webhook_endpoints::created_at.desc(),
                webhook_endpoints::id.desc(),
            ))
            .select(EndpointRow::as_select())
            .load(&mut conn)
            .await
            .store()?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn find_endpoint(
        &self,
        organization: OrganizationId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<EndpointRow> = webhook_endpoints::table
            .filter(webhook_endpoints::organization_id.eq(organization.as_uuid()))
            .filter(webhook_endpoints::id.eq(id.as_uuid()))
            .select(EndpointRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        Ok(row.map(Into::into))
    }

    async fn update_endpoint(
        &self,
        organization: OrganizationId,
        id: WebhookEndpointId,
        patch: &EndpointPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        #[derive(AsChangeset)]
        #[diesel(table_name = webhook_endpoints)]
        struct Changes<'a> {
            url: Option<&'a str>,
            description: Option<&'a str>,
            event_types: Option<Vec<String>>,
            enabled: Option<bool>,
            // Enabling gives the endpoint a clean record.
            disabled_reason: Option<Option<String>>,
            failing_since: Option<Option<DateTime<Utc>>>,
            updated_at: DateTime<Utc>,
        }
        let enabling = patch.enabled == Some(true);
        let changes = Changes {
            url: patch.url.as_ref().map(|u| u.as_str()),
            description: patch.description.as_deref(),
            event_types: patch.event_types.as_deref().map(type_names),
            enabled: patch.enabled,
            disabled_reason: enabling.then_some(None),
            failing_since: enabling.then_some(None),
            updated_at: now,
        };
        let mut conn = self.conn().await?;
        let row: Option<EndpointRow> = diesel::update(
            webhook_endpoints::table
                .filter(webhook_endpoints::organization_id.eq(organization.as_uuid()))
                .filter(webhook_endpoints::id.eq(id.as_uuid())),
        )
        .set(&changes)
        .returning(EndpointRow::as_returning())
        .get_result(&mut conn)
        .await
        .optional()
        .store()?;
        Ok(row.map(Into::into))
    }

    async fn delete_endpoint(
        &self,
        organization: OrganizationId,
        id: WebhookEndpointId,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let n = diesel::delete(
            webhook_endpoints::table
                .filter(webhook_endpoints::organization_id.eq(organization.as_uuid()))
                .filter(webhook_endpoints::id.eq(id.as_uuid())),
        )
        .execute(&mut conn)
        .await
        .store()?;
        Ok(n == 1)
    }

    async fn rotate_secret(
        &self,
        organization: OrganizationId,
        id: WebhookEndpointId,
        secret: &SigningSecret,
        old_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let found = conn
            .transaction::<_, TxError, _>(async move |conn| {
                // The endpoint's row lock serializes concurrent rotations.
                let found: Option<Uuid> = webhook_endpoints::table
                    .filter(webhook_endpoints::organization_id.eq(organization.as_uuid()))
                    .filter(webhook_endpoints::id.eq(id.as_uuid()))
                    .select(webhook_endpoints::id)
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?;
                if found.is_none() {
                    return Ok(false);
                }
                diesel::update(
                    webhook_secrets::table
                        .filter(webhook_secrets::endpoint_id.eq(id.as_uuid()))
                        .filter(
                            webhook_secrets::expires_at
                                .is_null()
                                .or(webhook_secrets::expires_at.gt(old_expires_at)),
                        ),
                )
                .set(webhook_secrets::expires_at.eq(old_expires_at))
                .execute(conn)
                .await?;
                // Secrets past their window are of no more use.
                diesel::delete(
                    webhook_secrets::table
                        .filter(webhook_secrets::endpoint_id.eq(id.as_uuid()))
                        .filter(webhook_secrets::expires_at.le(now)),
                )
                .execute(conn)
                .await?;
                diesel::insert_into(webhook_secrets::table)
                    .values((
                        webhook_secrets::id.eq(Uuid::now_v7()),
                        webhook_secrets::endpoint_id.eq(id.as_uuid()),
                        webhook_secrets::secret.eq(secret.expose()),
                        webhook_secrets::created_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
                diesel::update(
                    webhook_endpoints::table.filter(webhook_endpoints::id.eq(id.as_uuid())),
                )
                .set(webhook_endpoints::updated_at.eq(now))
                .execute(conn)
                .await?;
                Ok(true)
            })
            .await?;
        Ok(found)
    }

    async fn list_deliveries(
        &self,
        organization: OrganizationId,
        endpoint: WebhookEndpointId,
        limit: i64,
        after: Option<WebhookDeliveryId>,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut conn = self.conn().await?;
        let mut query = webhook_deliveries::table
            .filter(webhook_deliveries::organization_id.eq(organization.as_uuid()))
            .filter(webhook_deliveries::endpoint_id.eq(endpoint.as_uuid()))
            .order((
                webhook_deliveries::created_at.desc(),
                webhook_deliveries::id.desc(),
            ))
            .select(DeliveryRow::as_select())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            let anchor: Option<(DateTime<Utc>, Uuid)> = webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(after.as_uuid()))
                .filter(webhook_deliveries::endpoint_id.eq(endpoint.as_uuid()))
                .select((webhook_deliveries::created_at, webhook_deliveries::id))
                .first(&mut conn)
                .await
                .optional()
                .store()?;
            let Some((at, id)) = anchor else {
                return Ok(Vec::new());
            };
            query = query.filter(
                webhook_deliveries::created_at
                    .lt(at)
                    .or(webhook_deliveries::created_at
                        .eq(at)
                        .and(webhook_deliveries::id.lt(id))),
            );
        }
        let rows: Vec<DeliveryRow> = query.load(&mut conn).await.store()?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        // The latest attempt of each, for the list.
        let latest: Vec<AttemptRow> = webhook_attempts::table
            .filter(webhook_attempts::delivery_id.eq_any(&ids))
            .distinct_on(webhook_attempts::delivery_id)
            .order((
                webhook_attempts::delivery_id,
                webhook_attempts::attempt.desc(),
            ))
            .select(AttemptRow::as_select())
            .load(&mut conn)
            .await
            .store()?;
        let mut latest: HashMap<Uuid, AttemptRecord> = latest
            .into_iter()
            .map(|a| (a.delivery_id, a.into()))
            .collect();
        rows.into_iter()
            .map(|r| {
                let log = latest.remove(&r.id).into_iter().collect();
                delivery(r, log)
            })
            .collect()
    }

    async fn find_delivery(
        &self,
        organization: OrganizationId,
        endpoint: WebhookEndpointId,
        id: WebhookDeliveryId,
    ) -> Result<Option<Delivery>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<DeliveryRow> = webhook_deliveries::table
            .filter(webhook_deliveries::organization_id.eq(organization.as_uuid()))
            .filter(webhook_deliveries::endpoint_id.eq(endpoint.as_uuid()))
            .filter(webhook_deliveries::id.eq(id.as_uuid()))
            .select(DeliveryRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        let Some(row) = row else { return Ok(None) };
        let log: Vec<AttemptRow> = webhook_attempts::table
            .filter(webhook_attempts::delivery_id.eq(row.id))
            .order(webhook_attempts::attempt.desc())
            .select(AttemptRow::as_select())
            .load(&mut conn)
            .await
            .store()?;
        delivery(row, log.into_iter().map(Into::into).collect()).map(Some)
    }

    async fn delivery_for_redelivery(
        &self,
        organization: OrganizationId,
        endpoint: WebhookEndpointId,
        id: WebhookDeliveryId,
    ) -> Result<Option<DueDelivery>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<ClaimedRow> = diesel::sql_query(format!(
            "SELECT {DUE_COLUMNS} FROM webhook_deliveries d \
             JOIN webhook_endpoints w ON w.id = d.endpoint_id \
             JOIN events e ON e.id = d.event_id \
             WHERE d.organization_id = $1 AND d.endpoint_id = $2 AND d.id = $3"
        ))
        .bind::<SqlUuid, _>(organization.as_uuid())
        .bind::<SqlUuid, _>(endpoint.as_uuid())
        .bind::<SqlUuid, _>(id.as_uuid())
        .load(&mut conn)
        .await
        .store()?;
        let secrets = secrets_of(&mut conn, &[endpoint.as_uuid()]).await?;
        Ok(due(rows, secrets, true)?.into_iter().next())
    }

    async fn claim_due(
        &self,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<ClaimedRow> = diesel::sql_query(format!(
            "WITH claimed AS ( \
                 UPDATE webhook_deliveries d SET attempts = d.attempts + 1, \
                     leased_until = now() + make_interval(secs => $2), updated_at = now() \
                 FROM (SELECT x.id FROM webhook_deliveries x \
                       JOIN webhook_endpoints w ON w.id = x.endpoint_id \
                       WHERE x.status = 'pending' AND x.next_attempt_at <= now() \
                         AND (x.leased_until IS NULL OR x.leased_until < now()) AND w.enabled \
                       ORDER BY x.next_attempt_at LIMIT $1 FOR UPDATE OF x SKIP LOCKED) due \
                 WHERE d.id = due.id RETURNING d.*) \
             SELECT {DUE_COLUMNS} FROM claimed d \
             JOIN webhook_endpoints w ON w.id = d.endpoint_id \
             JOIN events e ON e.id = d.event_id"
        ))
        .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind::<Double, _>(lease.as_secs_f64())
        .load(&mut conn)
        .await
        .store()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut endpoints: Vec<Uuid> = rows.iter().map(|r| r.endpoint_id).collect();
        endpoints.sort_unstable();
        endpoints.dedup();
        let secrets = secrets_of(&mut conn, &endpoints).await?;
        due(rows, secrets, false)
    }

    async fn record_attempt(
        &self,
        delivery: &DueDelivery,
        record: &AttemptRecord,
        next: NextStep,
        health: &EndpointHealth,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let delivery = delivery.clone();
        let record = record.clone();
        let health = health.clone();
        let recorded = conn
            .transaction::<_, TxError, _>(async move |conn| {
                let id = delivery.id.as_uuid();
                let target = webhook_deliveries::table.filter(webhook_deliveries::id.eq(id));
                // An automatic attempt holds the delivery only while its claim is the latest;
                // a manual one takes the next attempt number.
                let n = if record.manual {
                    let n: Option<i32> = diesel::update(target)
                        .set((
                            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
                            webhook_deliveries::updated_at.eq(diesel::dsl::now),
                        ))
                        .returning(webhook_deliveries::attempts)
                        .get_result(conn)
                        .await
                        .optional()?;
                    match n {
                        Some(n) => n,
                        None => return Ok(false),
                    }
                } else {
                    let held: i64 = webhook_deliveries::table
                        .filter(webhook_deliveries::id.eq(id))
                        .filter(webhook_deliveries::attempts.eq(delivery.attempt))
                        .filter(webhook_deliveries::status.eq("pending"))
                        .count()
                        .get_result(conn)
                        .await?;
                    if held == 0 {
                        return Ok(false);
                    }
                    delivery.attempt
                };
                diesel::insert_into(webhook_attempts::table)
                    .values((
                        webhook_attempts::id.eq(Uuid::now_v7()),
                        webhook_attempts::delivery_id.eq(id),
                        webhook_attempts::attempt.eq(n),
                        webhook_attempts::manual.eq(record.manual),
                        webhook_attempts::attempted_at.eq(record.attempted_at),
                        webhook_attempts::status_code.eq(record.status_code.map(i32::from)),
                        webhook_attempts::latency_ms.eq(record.latency_ms),
                        webhook_attempts::response_prefix.eq(&record.response_prefix),
                        webhook_attempts::error.eq(&record.error),
                    ))
                    .execute(conn)
                    .await?;
                match next {
                    NextStep::Succeeded => {
                        diesel::update(target)
                            .set((
                                webhook_deliveries::status.eq("succeeded"),
                                webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
                                webhook_deliveries::updated_at.eq(diesel::dsl::now),
                            ))
                            .execute(conn)
                            .await?;
                    }
                    NextStep::RetryAfter(after) => {
                        let at = diesel::dsl::now
                            .into_sql::<Timestamptz>()
                            + diesel::dsl::IntervalDsl::microseconds(
                                i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
                            );
                        diesel::update(target)
                            .set((
                                webhook_deliveries::next_attempt_at.eq(at),
                                webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
                                webhook_deliveries::updated_at.eq(diesel::dsl::now),
                            ))
                            .execute(conn)
                            .await?;
                    }
                    NextStep::Failed => {
                        diesel::update(target)
                            .set((
                                webhook_deliveries::status.eq("failed"),
                                webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
                                webhook_deliveries::updated_at.eq(diesel::dsl::now),
                            ))
                            .execute(conn)
                            .await?;
                    }
                    NextStep::Unchanged => {}
                }
                let endpoint = webhook_endpoints::table
                    .filter(webhook_endpoints::id.eq(delivery.endpoint_id.as_uuid()));
                match health {
                    EndpointHealth::Healthy => {
                        diesel::update(endpoint.filter(webhook_endpoints::failing_since.is_not_null()))
                            .set(webhook_endpoints::failing_since.eq(None::<DateTime<Utc>>))
                            .execute(conn)
                            .await?;
                    }
                    EndpointHealth::Failing => {
                        diesel::update(endpoint.filter(webhook_endpoints::failing_since.is_null()))
                            .set(webhook_endpoints::failing_since.eq(record.attempted_at))
                            .execute(conn)
                            .await?;
                    }
                    EndpointHealth::Disable { reason } => {
                        let disabled: Option<(String, Option<DateTime<Utc>>)> =
                            diesel::update(endpoint.filter(webhook_endpoints::enabled.eq(true)))
                                .set((
                                    webhook_endpoints::enabled.eq(false),
                                    webhook_endpoints::disabled_reason.eq(&reason),
                                    webhook_endpoints::updated_at.eq(diesel::dsl::now),
                                ))
                                .returning((webhook_endpoints::url, webhook_endpoints::failing_since))
                                .get_result(conn)
                                .await
                                .optional()?;
                        if let Some((url, since)) = disabled {
                            record_event(
                                conn,
                                Some(delivery.organization_id),
                                EventType::WebhookEndpointDisabled,
                                delivery.endpoint_id.as_uuid(),
                                serde_json::json!({
                                    "endpointId": delivery.endpoint_id,
                                    "url": url,
                                    "reason": reason,
                                    "failingSince": since.map(|s| partneros_domain::shared::time::format_timestamp(&s)),
                                }),
                                record.attempted_at,
                            )
                            .await?;
                        }
                    }
                }
                Ok(true)
            })
            .await?;
        Ok(recorded)
    }
}
