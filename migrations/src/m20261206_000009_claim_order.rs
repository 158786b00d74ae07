//! Claiming in order from the index: workers take due work `ORDER BY run_at, id`, and the index on
//! `(status, run_at)` alone left the database to sort every pending row with the same `run_at` on
//! each claim (every row of a burst of deliveries): with 30,000 pending jobs a claim read them all.
//! `(status, run_at, id)` hands the first due ones over in order, whatever the queue's depth.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP INDEX ix_events_due",
            "CREATE INDEX ix_events_due ON events (status, run_at, id)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP INDEX ix_events_due",
            "CREATE INDEX ix_events_due ON events (status, run_at)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
