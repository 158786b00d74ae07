//! The review queue: who holds an event's lease, and a record of every attempt (`event_runs`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, integer, string, string_null, text_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    LeaseOwner,
}

#[derive(DeriveIden)]
enum EventRuns {
    Table,
    Id,
    EventId,
    Attempt,
    Worker,
    StartedAt,
    FinishedAt,
    Outcome,
    Error,
    Result,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .add_column(string_null(Events::LeaseOwner))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EventRuns::Table)
                    .col(big_pk_auto(EventRuns::Id))
                    .col(big_integer(EventRuns::EventId))
                    .col(integer(EventRuns::Attempt))
                    .col(string(EventRuns::Worker))
                    .col(
                        ColumnDef::new(EventRuns::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EventRuns::FinishedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(string(EventRuns::Outcome))
                    .col(text_null(EventRuns::Error))
                    .col(text_null(EventRuns::Result))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EventRuns::Table, EventRuns::EventId)
                            .to(Alias::new("events"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("CREATE INDEX ix_event_runs_event ON event_runs (event_id)")
            .await?;
        // Expired leases are looked up by time.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_events_lease ON events (lease_expires_at) WHERE status = 'processing'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EventRuns::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .drop_column(Events::LeaseOwner)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
