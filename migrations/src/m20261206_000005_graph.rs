//! The knowledge graph's SQL tables (the default store of `adapters-graph`): one row per indexed pull
//! request, and one per file it changed, carrying its pull request's author and date. Both questions
//! are answered from one index range per asked path (`ix_graph_files_path`, which covers what they
//! read), without visiting the pull requests' rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, boolean, string, string_null, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GraphPullRequests {
    Table,
    Id,
    RepoKey,
    Number,
    Title,
    Author,
    AuthorKey,
    IsBot,
    At,
    Merged,
    Verdict,
}

#[derive(DeriveIden)]
enum GraphFiles {
    Table,
    Id,
    RepoKey,
    Path,
    Number,
    Author,
    AuthorKey,
    IsBot,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(GraphPullRequests::Table)
                    .col(big_pk_auto(GraphPullRequests::Id))
                    .col(string(GraphPullRequests::RepoKey))
                    .col(big_integer(GraphPullRequests::Number))
                    .col(text(GraphPullRequests::Title))
                    .col(string(GraphPullRequests::Author))
                    .col(string(GraphPullRequests::AuthorKey))
                    .col(boolean(GraphPullRequests::IsBot))
                    .col(
                        ColumnDef::new(GraphPullRequests::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(boolean(GraphPullRequests::Merged))
                    .col(string_null(GraphPullRequests::Verdict))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GraphFiles::Table)
                    .col(big_pk_auto(GraphFiles::Id))
                    .col(string(GraphFiles::RepoKey))
                    .col(text(GraphFiles::Path))
                    .col(big_integer(GraphFiles::Number))
                    .col(string(GraphFiles::Author))
                    .col(string(GraphFiles::AuthorKey))
                    .col(boolean(GraphFiles::IsBot))
                    .col(
                        ColumnDef::new(GraphFiles::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in [
            "CREATE UNIQUE INDEX ux_graph_pull_requests ON graph_pull_requests (repo_key, number)",
            "CREATE UNIQUE INDEX ux_graph_files ON graph_files (repo_key, number, path)",
            "CREATE INDEX ix_graph_files_path ON graph_files \
             (repo_key, path, is_bot, author_key, number, at, author)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["graph_files", "graph_pull_requests"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
