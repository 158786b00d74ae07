//! A delivery's stored body may be kept lz4-compressed: `payload_lz4` holds the compressed bytes
//! (and `payload` is then empty). A GitHub body of 10–60 KB of JSON compresses about five times, so
//! each delivery writes that much less to the database's log before it is answered, and to its file
//! after. Bodies stored before stay as they are; both forms are read. The retention index picks the
//! events that still keep a body in either form.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    PayloadLz4,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .add_column(ColumnDef::new(Events::PayloadLz4).blob().null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            // Already compressed: PostgreSQL is not to try again (its pglz was a tenth of its CPU).
            db.execute_unprepared(
                "ALTER TABLE events ALTER COLUMN payload_lz4 SET STORAGE EXTERNAL",
            )
            .await?;
        }
        db.execute_unprepared("DROP INDEX ix_events_payload_kept")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_events_payload_kept ON events (updated_at) \
             WHERE payload <> '' OR payload_lz4 IS NOT NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ix_events_payload_kept")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_events_payload_kept ON events (updated_at) WHERE payload <> ''",
        )
        .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .drop_column(Events::PayloadLz4)
                    .to_owned(),
            )
            .await
    }
}
