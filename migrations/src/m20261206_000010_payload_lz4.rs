//! PostgreSQL compresses a delivery's stored body (10–60 KB of JSON) with lz4 where the server was
//! built with it (PostgreSQL 14 and later, as Debian's are), instead of the default pglz: several
//! times less CPU per delivery stored and per payload read back, for about the same size. Bodies
//! stored before keep their compression; SQLite does not compress.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Whether this PostgreSQL server can compress with lz4.
async fn lz4(db: &SchemaManagerConnection<'_>) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT COUNT(*) AS n FROM pg_settings \
             WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)",
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0)
        > 0)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres && lz4(db).await? {
            db.execute_unprepared("ALTER TABLE events ALTER COLUMN payload SET COMPRESSION lz4")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres && lz4(db).await? {
            db.execute_unprepared(
                "ALTER TABLE events ALTER COLUMN payload SET COMPRESSION DEFAULT",
            )
            .await?;
        }
        Ok(())
    }
}
