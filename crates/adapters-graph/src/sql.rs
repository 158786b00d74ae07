//! The knowledge graph in SQL: `graph_pull_requests` (one row per indexed pull request) and
//! `graph_files` (one per file it changed, with its pull request's author and date), made by nectr's
//! migrations. Both questions are answered from the asked paths' ranges of `ix_graph_files_path`,
//! which holds all they read, so they cost what the paths' history holds, not what the repository
//! holds; related pull requests then read the titles of the few they name.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::knowledge::graph::is_bot;
use domain::knowledge::{FileExpert, IndexedPullRequest, KnowledgeGraph, RelatedPullRequest};

use crate::related::{Touch, group};
use domain::webhook::values::RepoFullName;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, Statement,
    TransactionTrait, Value,
};

/// Files inserted per statement (SQLite's bound parameters are limited).
const FILES_PER_INSERT: usize = 300;

/// The graph on nectr's database: reads on `reader`, writes on `writer` (on SQLite the single
/// writer every write queues on).
#[derive(Debug, Clone)]
pub struct SqlGraph {
    reader: DatabaseConnection,
    writer: DatabaseConnection,
}

impl SqlGraph {
    pub fn new(reader: DatabaseConnection, writer: DatabaseConnection) -> Self {
        Self { reader, writer }
    }

    fn statement(&self, text: &str, values: Vec<Value>) -> Statement {
        let backend = self.reader.get_database_backend();
        let text = match backend {
            DbBackend::Sqlite => text.replace('$', "?"),
            _ => text.to_owned(),
        };
        Statement::from_sql_and_values(backend, text, values)
    }
}

fn transient(e: DbErr) -> domain::Error {
    tracing::warn!(error = %e, "knowledge graph query failed");
    domain::Error::Transient("the knowledge graph's database is unavailable".into())
}

/// `$first, $first+1, …` for `count` values.
fn marks(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn key(repository: &RepoFullName) -> String {
    repository.as_str().to_ascii_lowercase()
}

fn number(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[derive(Debug, FromQueryResult)]
struct ExpertRow {
    author: String,
    pull_requests: i64,
    last_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct TopRow {
    number: i64,
}

#[derive(Debug, FromQueryResult)]
struct PathRow {
    path: String,
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    indexed: i64,
}

#[derive(Debug, FromQueryResult)]
struct TouchRow {
    number: i64,
    title: String,
    author: String,
    at: DateTime<Utc>,
    path: String,
}

#[async_trait]
impl KnowledgeGraph for SqlGraph {
    async fn index(&self, pr: &IndexedPullRequest) -> domain::Result<()> {
        let repo = key(&pr.repository);
        let txn = self.writer.begin().await.map_err(transient)?;
        txn.execute_raw(self.statement(
            "INSERT INTO graph_pull_requests \
             (repo_key, number, title, author, author_key, is_bot, at, merged, verdict) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (repo_key, number) DO UPDATE SET title = excluded.title, \
             author = excluded.author, author_key = excluded.author_key, is_bot = excluded.is_bot, \
             at = excluded.at, merged = excluded.merged, verdict = excluded.verdict",
            vec![
                repo.clone().into(),
                number(pr.number).into(),
                pr.title.clone().into(),
                pr.author.clone().into(),
                pr.author.to_ascii_lowercase().into(),
                is_bot(&pr.author).into(),
                pr.at.into(),
                pr.merged.into(),
                pr.verdict.clone().into(),
            ],
        ))
        .await
        .map_err(transient)?;
        // Its files are replaced: a path it no longer changes is no longer linked to it.
        txn.execute_raw(self.statement(
            "DELETE FROM graph_files WHERE repo_key = $1 AND number = $2",
            vec![repo.clone().into(), number(pr.number).into()],
        ))
        .await
        .map_err(transient)?;
        let mut paths: Vec<&String> = pr.paths.iter().collect();
        paths.sort_unstable();
        paths.dedup();
        for batch in paths.chunks(FILES_PER_INSERT) {
            let rows: Vec<String> = (0..batch.len())
                .map(|i| format!("($1, $2, $3, $4, $5, $6, ${})", i + 7))
                .collect();
            let mut values: Vec<Value> = vec![
                repo.clone().into(),
                number(pr.number).into(),
                pr.author.clone().into(),
                pr.author.to_ascii_lowercase().into(),
                is_bot(&pr.author).into(),
                pr.at.into(),
            ];
            values.extend(batch.iter().map(|p| Value::from((*p).clone())));
            txn.execute_raw(self.statement(
                &format!(
                    "INSERT INTO graph_files (repo_key, number, author, author_key, is_bot, at, path) \
                     VALUES {}",
                    rows.join(", ")
                ),
                values,
            ))
            .await
            .map_err(transient)?;
        }
        txn.commit().await.map_err(transient)
    }

    async fn file_experts(
        &self,
        repository: &RepoFullName,
        paths: &[String],
        exclude_author: Option<String>,
        limit: usize,
    ) -> domain::Result<Vec<FileExpert>> {
        if paths.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let text = format!(
            "SELECT MIN(author) AS author, COUNT(DISTINCT number) AS pull_requests, \
             MAX(at) AS last_at FROM graph_files \
             WHERE repo_key = $1 AND author_key <> $2 AND is_bot = $3 AND path IN ({}) \
             GROUP BY author_key \
             ORDER BY pull_requests DESC, last_at DESC, author_key LIMIT {}",
            marks(4, paths.len()),
            limit
        );
        let mut values: Vec<Value> = vec![
            key(repository).into(),
            exclude_author
                .unwrap_or_default()
                .to_ascii_lowercase()
                .into(),
            false.into(),
        ];
        values.extend(paths.iter().map(|p| Value::from(p.clone())));
        let rows = ExpertRow::find_by_statement(self.statement(&text, values))
            .all(&self.reader)
            .await
            .map_err(transient)?;
        Ok(rows
            .into_iter()
            .map(|r| FileExpert {
                login: r.author,
                pull_requests: u32::try_from(r.pull_requests).unwrap_or(u32::MAX),
                last_at: r.last_at,
            })
            .collect())
    }

    async fn related_pull_requests(
        &self,
        repository: &RepoFullName,
        paths: &[String],
        exclude_number: Option<u64>,
        limit: usize,
    ) -> domain::Result<Vec<RelatedPullRequest>> {
        if paths.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        // The pull requests sharing the most paths (`+number`: grouped after the index range, not
        // by walking the table in number order).
        let text = format!(
            "SELECT +number AS number, COUNT(*) AS shared, MAX(at) AS last_at FROM graph_files \
             WHERE repo_key = $1 AND number <> $2 AND is_bot = $3 AND path IN ({}) \
             GROUP BY +number ORDER BY shared DESC, last_at DESC, number DESC LIMIT {}",
            marks(4, paths.len()),
            limit
        );
        let mut values: Vec<Value> = vec![
            key(repository).into(),
            exclude_number.map_or(-1, number).into(),
            false.into(),
        ];
        values.extend(paths.iter().map(|p| Value::from(p.clone())));
        let top: Vec<i64> = TopRow::find_by_statement(self.statement(&text, values))
            .all(&self.reader)
            .await
            .map_err(transient)?
            .into_iter()
            .map(|r| r.number)
            .collect();
        if top.is_empty() {
            return Ok(Vec::new());
        }
        // Their titles and the asked paths each touched.
        let text = format!(
            "SELECT p.number, p.title, p.author, p.at, f.path \
             FROM graph_files f JOIN graph_pull_requests p \
               ON p.repo_key = f.repo_key AND p.number = f.number \
             WHERE f.repo_key = $1 AND f.number IN ({}) AND f.path IN ({})",
            marks(2, top.len()),
            marks(2 + top.len(), paths.len())
        );
        let mut values: Vec<Value> = vec![key(repository).into()];
        values.extend(top.iter().map(|n| Value::from(*n)));
        values.extend(paths.iter().map(|p| Value::from(p.clone())));
        let rows = TouchRow::find_by_statement(self.statement(&text, values))
            .all(&self.reader)
            .await
            .map_err(transient)?;
        let touches = rows
            .into_iter()
            .map(|row| Touch {
                number: u64::try_from(row.number).unwrap_or(0),
                title: row.title,
                author: row.author,
                at: row.at,
                path: row.path,
            })
            .collect();
        Ok(group(touches, limit))
    }

    async fn pull_request_paths(
        &self,
        repository: &RepoFullName,
        number_: u64,
    ) -> domain::Result<Option<Vec<String>>> {
        let values = || vec![Value::from(key(repository)), Value::from(number(number_))];
        let indexed = CountRow::find_by_statement(self.statement(
            "SELECT COUNT(*) AS indexed FROM graph_pull_requests WHERE repo_key = $1 AND number = $2",
            values(),
        ))
        .one(&self.reader)
        .await
        .map_err(transient)?
        .is_some_and(|row| row.indexed > 0);
        if !indexed {
            return Ok(None);
        }
        let rows = PathRow::find_by_statement(self.statement(
            "SELECT path FROM graph_files WHERE repo_key = $1 AND number = $2 ORDER BY path",
            values(),
        ))
        .all(&self.reader)
        .await
        .map_err(transient)?;
        Ok(Some(rows.into_iter().map(|r| r.path).collect()))
    }
}
