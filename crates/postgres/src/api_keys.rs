//! Organization API keys (stored as SHA-256 hashes).

use crate::Database;
use crate::error::ResultExt;
use crate::models::ApiKeyRow;
use crate::schema::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use partneros_domain::identity::model::{ApiKey, NewApiKey};
use partneros_domain::identity::ports::ApiKeyStore;
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::ids::{ApiKeyId, OrganizationId};

#[async_trait]
impl ApiKeyStore for Database {
    async fn create_api_key(&self, new: NewApiKey) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let k = new.key;
        diesel::insert_into(api_keys::table)
            .values(ApiKeyRow {
                id: k.id.as_uuid(),
                organization_id: k.organization_id.as_uuid(),
                name: k.name,
                role: k.role.as_str().into(),
                token_hash: new.token.hash.as_bytes().to_vec(),
                prefix: k.prefix,
                created_by: k.created_by.map(|u| u.as_uuid()),
                created_at: k.created_at,
                last_used_at: None,
                revoked_at: None,
            })
            .execute(&mut conn)
            .await
            .store()?;
        Ok(())
    }

    async fn list_api_keys(&self, organization: OrganizationId) -> Result<Vec<ApiKey>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<ApiKeyRow> = api_keys::table
            .filter(api_keys::organization_id.eq(organization.as_uuid()))
            .filter(api_keys::revoked_at.is_null())
            .order((api_keys::created_at.desc(), api_keys::id.desc()))
            .select(ApiKeyRow::as_select())
            .load(&mut conn)
            .await
            .store()?;
        rows.into_iter().map(ApiKeyRow::into_api_key).collect()
    }

    async fn revoke_api_key(
        &self,
        organization: OrganizationId,
        id: ApiKeyId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let n = diesel::update(
            api_keys::table
                .filter(api_keys::organization_id.eq(organization.as_uuid()))
                .filter(api_keys::id.eq(id.as_uuid()))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(now))
        .execute(&mut conn)
        .await
        .store()?;
        Ok(n == 1)
    }
}
