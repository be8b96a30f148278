use crate::{Database, error::ResultExt};
use async_trait::async_trait;
use diesel::migration::MigrationSource;
use diesel_async::RunQueryDsl;
use partneros_domain::shared::error::StoreError;
use partneros_domain::shared::health::HealthCheck;

#[derive(diesel::QueryableByName)]
struct Applied {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    applied: i64,
}

#[async_trait]
impl HealthCheck for Database {
    async fn ready(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        // Every embedded migration's version must be recorded.
        let expected: Vec<String> =
            MigrationSource::<diesel::pg::Pg>::migrations(&crate::pool::MIGRATIONS)
                .map_err(|e| StoreError::unexpected(e.to_string()))?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect();
        let row: Applied = diesel::sql_query(
            "SELECT count(*) AS applied FROM __diesel_schema_migrations WHERE version = ANY($1)",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&expected)
        .get_result(&mut conn)
        .await
        .store()?;
        if row.applied as usize == expected.len() {
            Ok(())
        } else {
            Err(StoreError::unexpected(format!(
                "{} of {} migrations applied",
                row.applied,
                expected.len()
            )))
        }
    }
}
