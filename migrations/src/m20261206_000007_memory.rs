//! Project memory, ticket context and Linear deliveries:
//!
//! - `memories`: one row per memory of a repository, unique per repository, kind and content hash;
//!   full-text searchable on both databases: an external-content FTS5 table kept in step by
//!   triggers on SQLite (`porter unicode61`, ranked by `bm25`), a generated, weighted `tsvector`
//!   with a GIN index on PostgreSQL (ranked by `ts_rank_cd`).
//! - `linear_issues`: the Linear issues reviews were given as context, cached (and refreshed by
//!   Linear's webhooks).
//! - `provider` on `events` and `deliveries`: who sent a delivery (`github`, `linear`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COMMON: [&str; 6] = [
    "CREATE UNIQUE INDEX ux_memories_hash ON memories (repo_key, kind, content_hash)",
    "CREATE INDEX ix_memories_listing ON memories (repo_key, status, kind, id)",
    "CREATE TABLE linear_issues (
        identifier VARCHAR(64) PRIMARY KEY,
        linear_id VARCHAR(64),
        title TEXT NOT NULL,
        state VARCHAR(128),
        description TEXT,
        url TEXT,
        fetched_at TIMESTAMP WITH TIME ZONE NOT NULL
    )",
    "ALTER TABLE events ADD COLUMN provider VARCHAR(16) NOT NULL DEFAULT 'github'",
    "ALTER TABLE deliveries ADD COLUMN provider VARCHAR(16) NOT NULL DEFAULT 'github'",
    "CREATE INDEX ix_deliveries_provider ON deliveries (provider, received_at)",
];

const SQLITE: [&str; 5] = [
    "CREATE TABLE memories (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        repo_key VARCHAR(256) NOT NULL,
        repository VARCHAR(256) NOT NULL,
        kind VARCHAR(16) NOT NULL,
        developer VARCHAR(64),
        developer_key VARCHAR(64),
        title TEXT NOT NULL,
        content TEXT NOT NULL,
        source VARCHAR(16) NOT NULL,
        source_ref VARCHAR(256),
        status VARCHAR(16) NOT NULL,
        content_hash VARCHAR(64) NOT NULL,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE NOT NULL
    )",
    "CREATE VIRTUAL TABLE memories_fts USING fts5(
        title, content, content='memories', content_rowid='id', tokenize='porter unicode61'
    )",
    "CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts(rowid, title, content) VALUES (new.id, new.title, new.content);
    END",
    "CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, title, content)
            VALUES ('delete', old.id, old.title, old.content);
    END",
    "CREATE TRIGGER memories_fts_update AFTER UPDATE OF title, content ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, title, content)
            VALUES ('delete', old.id, old.title, old.content);
        INSERT INTO memories_fts(rowid, title, content) VALUES (new.id, new.title, new.content);
    END",
];

const POSTGRES: [&str; 2] = [
    "CREATE TABLE memories (
        id BIGSERIAL PRIMARY KEY,
        repo_key VARCHAR(256) NOT NULL,
        repository VARCHAR(256) NOT NULL,
        kind VARCHAR(16) NOT NULL,
        developer VARCHAR(64),
        developer_key VARCHAR(64),
        title TEXT NOT NULL,
        content TEXT NOT NULL,
        source VARCHAR(16) NOT NULL,
        source_ref VARCHAR(256),
        status VARCHAR(16) NOT NULL,
        content_hash VARCHAR(64) NOT NULL,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
        search tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', title), 'A') ||
            setweight(to_tsvector('english', content), 'B')
        ) STORED
    )",
    "CREATE INDEX ix_memories_search ON memories USING GIN (search)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let own: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &POSTGRES,
            _ => &SQLITE,
        };
        for sql in own.iter().chain(COMMON.iter()) {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let sqlite = manager.get_database_backend() == DbBackend::Sqlite;
        let mut statements = vec![
            "DROP INDEX ix_deliveries_provider",
            "ALTER TABLE deliveries DROP COLUMN provider",
            "ALTER TABLE events DROP COLUMN provider",
            "DROP TABLE linear_issues",
        ];
        if sqlite {
            statements.push("DROP TABLE memories_fts");
        }
        statements.push("DROP TABLE memories");
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
