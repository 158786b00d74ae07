//! Retention: the index the payload purge picks finished events' bodies by (only rows that still
//! have one). Deliveries are purged by `ix_deliveries_received_at`, which the first migration made.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_events_payload_kept ON events (updated_at) WHERE payload <> ''",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX ix_events_payload_kept")
            .await?;
        Ok(())
    }
}
