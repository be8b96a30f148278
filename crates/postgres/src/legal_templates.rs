//! Legal agreement templates.

use crate::Database;
use crate::error::ResultExt;
use crate::fragments::lower;
use crate::models::{TxError, corrupt, record_event};
use crate::schema::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use partneros_domain::legal::model::{LegalTemplate, TemplateScope};
use partneros_domain::legal::ports::LegalTemplateStore;
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::ids::{OrganizationId, PartnerId, UserId};
use uuid::Uuid;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = legal_templates, check_for_backend(diesel::pg::Pg))]
struct TemplateRow {
    id: Uuid,
    organization_id: Uuid,
    partner_id: Uuid,
    name: String,
    description: Option<String>,
    scope: String,
    roles: Vec<String>,
    fields: serde_json::Value,
    docuseal_template_id: i64,
    docuseal_slug: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl TemplateRow {
    fn into_template(self) -> Result<LegalTemplate, StoreError> {
        Ok(LegalTemplate {
            id: self.id,
            organization_id: OrganizationId::from_uuid(self.organization_id),
            partner_id: PartnerId::from_uuid(self.partner_id),
            scope: TemplateScope::parse(&self.scope)
                .map_err(|_| corrupt("template scope", &self.scope))?,
            fields: serde_json::from_value(self.fields).map_err(StoreError::unexpected)?,
            name: self.name,
            description: self.description,
            roles: self.roles,
            docuseal_template_id: self.docuseal_template_id,
            docuseal_slug: self.docuseal_slug,
            created_by: self.created_by.map(UserId::from_uuid),
            created_at: self.created_at,
        })
    }
}

#[async_trait]
impl LegalTemplateStore for Database {
    async fn template_name_taken(
        &self,
        organization: OrganizationId,
        name: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        diesel::select(diesel::dsl::exists(
            legal_templates::table
                .filter(legal_templates::organization_id.eq(organization.as_uuid()))
                .filter(lower(legal_templates::name).eq(name.to_lowercase())),
        ))
        .get_result(&mut conn)
        .await
        .store()
    }

    async fn insert_template(&self, t: LegalTemplate) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let row = TemplateRow {
            id: t.id,
            organization_id: t.organization_id.as_uuid(),
            partner_id: t.partner_id.as_uuid(),
            name: t.name.clone(),
            description: t.description.clone(),
            scope: t.scope.as_str().to_owned(),
            roles: t.roles.clone(),
            fields: serde_json::to_value(&t.fields).map_err(StoreError::unexpected)?,
            docuseal_template_id: t.docuseal_template_id,
            docuseal_slug: t.docuseal_slug.clone(),
            created_by: t.created_by.map(|u| u.as_uuid()),
            created_at: t.created_at,
        };
        conn.transaction::<_, TxError, _>(async move |conn| {
            diesel::insert_into(legal_templates::table)
                .values(&row)
                .execute(conn)
                .await?;
            record_event(
                conn,
                Some(t.organization_id),
                partneros_domain::outbox::EventType::LegalTemplateCreated,
                t.id,
                serde_json::json!({
                    "templateId": t.id,
                    "partnerId": t.partner_id,
                    "name": t.name,
                    "docusealTemplateId": t.docuseal_template_id,
                    "createdBy": t.created_by,
                }),
                t.created_at,
            )
            .await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    async fn list_templates(
        &self,
        organization: OrganizationId,
        partner: Option<PartnerId>,
    ) -> Result<Vec<LegalTemplate>, StoreError> {
        let mut conn = self.conn().await?;
        let mut query = legal_templates::table
            .filter(legal_templates::organization_id.eq(organization.as_uuid()))
            .order((
                legal_templates::created_at.desc(),
                legal_templates::id.desc(),
            ))
            .select(TemplateRow::as_select())
            .into_boxed();
        if let Some(p) = partner {
            query = query.filter(legal_templates::partner_id.eq(p.as_uuid()));
        }
        let rows: Vec<TemplateRow> = query.load(&mut conn).await.store()?;
        rows.into_iter().map(TemplateRow::into_template).collect()
    }

    async fn get_template(
        &self,
        organization: OrganizationId,
        id: Uuid,
    ) -> Result<Option<LegalTemplate>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<TemplateRow> = legal_templates::table
            .filter(legal_templates::organization_id.eq(organization.as_uuid()))
            .filter(legal_templates::id.eq(id))
            .select(TemplateRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .store()?;
        row.map(TemplateRow::into_template).transpose()
    }

    async fn delete_template(
        &self,
        organization: OrganizationId,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let n = diesel::delete(
            legal_templates::table
                .filter(legal_templates::organization_id.eq(organization.as_uuid()))
                .filter(legal_templates::id.eq(id)),
        )
        .execute(&mut conn)
        .await
        .store()?;
        Ok(n == 1)
    }
}
