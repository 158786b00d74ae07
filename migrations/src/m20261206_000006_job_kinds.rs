//! Kinds of queued work: an event's `job` says what the workers do with it (`review`, or `index` a
//! merged pull request into the knowledge graph). Events before this were all reviews. At most one
//! of each kind is in flight per repository, pull request and head commit, so a merge delivered
//! while that commit's review runs is queued, not taken for a duplicate of the review.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Job,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .add_column(string(Events::Job).default("review"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in [
            "DROP INDEX ux_events_in_flight",
            "CREATE UNIQUE INDEX ux_events_in_flight ON events (repository, pr_number, head_sha, job) \
             WHERE status IN ('pending', 'processing')",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP INDEX ux_events_in_flight",
            "CREATE UNIQUE INDEX ux_events_in_flight ON events (repository, pr_number, head_sha) \
             WHERE status IN ('pending', 'processing')",
        ] {
            db.execute_unprepared(sql).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .drop_column(Events::Job)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
