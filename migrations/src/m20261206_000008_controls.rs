//! The team's controls: an installation's default `.nectr.toml` (its owner's policy), its delivery
//! filters, pull requests whose automatic reviews are paused, and what reviews cost per repository
//! and month.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: [&str; 4] = [
    "ALTER TABLE installations ADD COLUMN review_defaults TEXT",
    "ALTER TABLE installations ADD COLUMN delivery_filters TEXT",
    "CREATE TABLE review_usage (
        repo_key VARCHAR(256) NOT NULL,
        month VARCHAR(7) NOT NULL,
        reviews BIGINT NOT NULL,
        tokens BIGINT NOT NULL,
        usd DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (repo_key, month)
    )",
    "CREATE TABLE paused_pull_requests (
        repo_key VARCHAR(256) NOT NULL,
        pr_number BIGINT NOT NULL,
        paused_by VARCHAR(64) NOT NULL,
        paused_at TIMESTAMP WITH TIME ZONE NOT NULL,
        PRIMARY KEY (repo_key, pr_number)
    )",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP TABLE paused_pull_requests",
            "DROP TABLE review_usage",
            "ALTER TABLE installations DROP COLUMN delivery_filters",
            "ALTER TABLE installations DROP COLUMN review_defaults",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
