//! The project memory on the `memories` table. Duplicates are refused by the unique index on
//! (repository, kind, content hash) inside the insert, never by reading first. Full-text search is
//! the database's own: FTS5 `MATCH` ranked by `bm25` on SQLite, a weighted `tsvector` matched with
//! `websearch_to_tsquery` and ranked by `ts_rank_cd` on PostgreSQL. Search terms are quoted words
//! on both: user text never reaches the query syntax.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::memory::model::content_hash;
use domain::memory::{
    Memory, MemoryFilter, MemoryKind, MemoryPatch, MemorySource, MemoryStatus, NewMemory,
    ProjectMemory, Remembered,
};
use domain::webhook::values::RepoFullName;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement, TryInsertResult,
};

use crate::entities::memories::{self, Column};
use crate::{Db, DbError};

impl TryFrom<memories::Model> for Memory {
    type Error = DbError;

    fn try_from(row: memories::Model) -> Result<Self, DbError> {
        let bad = |what: &str, value: &str| {
            DbError::Race(format!("memory {}: unknown {what} '{value}'", row.id))
        };
        Ok(Memory {
            repository: RepoFullName::parse(&row.repository)
                .map_err(|_| bad("repository", &row.repository))?,
            kind: MemoryKind::parse(&row.kind).ok_or_else(|| bad("kind", &row.kind))?,
            source: MemorySource::parse(&row.source).ok_or_else(|| bad("source", &row.source))?,
            status: MemoryStatus::parse(&row.status).ok_or_else(|| bad("status", &row.status))?,
            id: row.id,
            developer: row.developer,
            title: row.title,
            content: row.content,
            source_ref: row.source_ref,
            content_hash: row.content_hash,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn memories_of(rows: Vec<memories::Model>) -> domain::Result<Vec<Memory>> {
    Ok(rows
        .into_iter()
        .map(Memory::try_from)
        .collect::<Result<_, _>>()?)
}

#[derive(Debug, FromQueryResult)]
struct Hit {
    id: i64,
}

/// The full-text query for `terms`: each a quoted phrase (quotes inside doubled, or dropped for
/// PostgreSQL's web-search syntax), any of them matching.
fn fts_query(backend: DbBackend, terms: &[String]) -> String {
    let quoted: Vec<String> = terms
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map(|t| match backend {
            DbBackend::Postgres => format!("\"{}\"", t.replace('"', " ")),
            _ => format!("\"{}\"", t.replace('"', "\"\"")),
        })
        .collect();
    let or = if backend == DbBackend::Postgres {
        " or "
    } else {
        " OR "
    };
    quoted.join(or)
}

impl Db {
    async fn memory_by_id(
        &self,
        conn: &impl ConnectionTrait,
        repository: &RepoFullName,
        id: i64,
    ) -> domain::Result<Option<Memory>> {
        let row = memories::Entity::find_by_id(id)
            .filter(Column::RepoKey.eq(repository.key()))
            .one(conn)
            .await
            .map_err(DbError::Query)?;
        Ok(row.map(Memory::try_from).transpose()?)
    }

    async fn memory_by_hash(
        &self,
        conn: &impl ConnectionTrait,
        repository: &RepoFullName,
        kind: MemoryKind,
        hash: &str,
    ) -> domain::Result<Option<Memory>> {
        let row = memories::Entity::find()
            .filter(Column::RepoKey.eq(repository.key()))
            .filter(Column::Kind.eq(kind.as_str()))
            .filter(Column::ContentHash.eq(hash))
            .one(conn)
            .await
            .map_err(DbError::Query)?;
        Ok(row.map(Memory::try_from).transpose()?)
    }
}

#[async_trait]
impl ProjectMemory for Db {
    async fn remember(&self, memory: NewMemory, now: DateTime<Utc>) -> domain::Result<Remembered> {
        let hash = memory.content_hash();
        let row = memories::ActiveModel {
            repo_key: Set(memory.repository.key()),
            repository: Set(memory.repository.as_str().to_owned()),
            kind: Set(memory.kind.as_str().to_owned()),
            developer_key: Set(memory.developer.as_ref().map(|d| d.to_ascii_lowercase())),
            developer: Set(memory.developer.clone()),
            title: Set(memory.title.clone()),
            content: Set(memory.content.clone()),
            source: Set(memory.source.as_str().to_owned()),
            source_ref: Set(memory.source_ref.clone()),
            status: Set(memory.status.as_str().to_owned()),
            content_hash: Set(hash.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let txn = self.begin_write().await?;
        let inserted = memories::Entity::insert(row)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .try_insert()
            .exec(&txn)
            .await
            .map_err(DbError::Query)?;
        let remembered = match inserted {
            TryInsertResult::Inserted(result) => self
                .memory_by_id(&txn, &memory.repository, result.last_insert_id)
                .await?
                .map(Remembered::Created),
            _ => self
                .memory_by_hash(&txn, &memory.repository, memory.kind, &hash)
                .await?
                .map(Remembered::Exists),
        };
        txn.commit().await.map_err(DbError::Query)?;
        remembered.ok_or_else(|| {
            DbError::Race("a memory conflicted but could not be read back".into()).into()
        })
    }

    async fn list(
        &self,
        repository: &RepoFullName,
        filter: &MemoryFilter,
        limit: u64,
        offset: u64,
    ) -> domain::Result<Vec<Memory>> {
        let mut query = memories::Entity::find().filter(Column::RepoKey.eq(repository.key()));
        if let Some(status) = filter.status {
            query = query.filter(Column::Status.eq(status.as_str()));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(Column::Kind.eq(kind.as_str()));
        }
        if let Some(developer) = &filter.developer {
            query = query.filter(Column::DeveloperKey.eq(developer.to_ascii_lowercase()));
        }
        let rows = query
            .order_by_desc(Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.reader)
            .await
            .map_err(DbError::Query)?;
        memories_of(rows)
    }

    async fn get(&self, repository: &RepoFullName, id: i64) -> domain::Result<Option<Memory>> {
        self.memory_by_id(&self.reader, repository, id).await
    }

    async fn update(
        &self,
        repository: &RepoFullName,
        id: i64,
        patch: MemoryPatch,
        now: DateTime<Utc>,
    ) -> domain::Result<Option<Memory>> {
        let txn = self.begin_write().await?;
        let Some(current) = memories::Entity::find_by_id(id)
            .filter(Column::RepoKey.eq(repository.key()))
            .one(&txn)
            .await
            .map_err(DbError::Query)?
        else {
            return Ok(None);
        };
        let mut row: memories::ActiveModel = current.clone().into();
        if let Some(title) = patch.title {
            row.title = Set(title);
        }
        if let Some(content) = patch.content {
            row.content_hash = Set(content_hash(current.developer.as_deref(), &content));
            row.content = Set(content);
        }
        if let Some(status) = patch.status {
            row.status = Set(status.as_str().to_owned());
        }
        row.updated_at = Set(now);
        let updated = match row.update(&txn).await {
            Ok(updated) => updated,
            Err(e) if is_unique_violation(&e) => {
                return Err(domain::Error::Duplicate(
                    "the repository already holds a memory of this kind with this content".into(),
                ));
            }
            Err(e) => return Err(DbError::Query(e).into()),
        };
        txn.commit().await.map_err(DbError::Query)?;
        Ok(Some(Memory::try_from(updated)?))
    }

    async fn forget(&self, repository: &RepoFullName, id: i64) -> domain::Result<bool> {
        let deleted = memories::Entity::delete_many()
            .filter(Column::Id.eq(id))
            .filter(Column::RepoKey.eq(repository.key()))
            .exec(&self.writer)
            .await
            .map_err(DbError::Query)?;
        Ok(deleted.rows_affected == 1)
    }

    async fn search(
        &self,
        repository: &RepoFullName,
        terms: &[String],
        limit: u64,
    ) -> domain::Result<Vec<Memory>> {
        let backend = self.backend();
        let query = fts_query(backend, terms);
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = match backend {
            DbBackend::Postgres => {
                "SELECT id FROM memories, websearch_to_tsquery('english', $1) AS q \
                 WHERE repo_key = $2 AND status = 'active' AND kind <> 'rule' AND search @@ q \
                 ORDER BY ts_rank_cd(search, q) DESC, id DESC LIMIT $3"
            }
            _ => {
                "SELECT m.id AS id FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid \
                 WHERE memories_fts MATCH ?1 AND m.repo_key = ?2 AND m.status = 'active' \
                 AND m.kind <> 'rule' \
                 ORDER BY bm25(memories_fts, 2.0, 1.0), m.id DESC LIMIT ?3"
            }
        };
        let statement = Statement::from_sql_and_values(
            backend,
            sql,
            [query.into(), repository.key().into(), limit.into()],
        );
        let hits = Hit::find_by_statement(statement)
            .all(&self.reader)
            .await
            .map_err(DbError::Query)?;
        let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
        let mut rows = memories::Entity::find()
            .filter(Column::Id.is_in(ids.clone()))
            .all(&self.reader)
            .await
            .map_err(DbError::Query)?;
        rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
        memories_of(rows)
    }
}

fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_quoted_never_syntax() {
        let terms = vec!["auth".to_owned(), "to\"ken".to_owned(), " ".to_owned()];
        assert_eq!(
            fts_query(DbBackend::Sqlite, &terms),
            r#""auth" OR "to""ken""#
        );
        assert_eq!(
            fts_query(DbBackend::Postgres, &terms),
            r#""auth" or "to ken""#
        );
    }
}
