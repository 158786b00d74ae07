//! The knowledge graph in a Cypher database over Bolt 4.x (`neo4rs`): Neo4j 5, Memgraph, ArcadeDB.
//!
//! Nodes: `(:Repository {key})`, `(:PullRequest {id, repo, number, title, at_ms, merged, verdict})`,
//! `(:Developer {key, login, bot})`, `(:File {id, repo, path})`; relationships
//! `(:Developer)-[:AUTHORED]->(:PullRequest)`, `(:PullRequest)-[:TOUCHES]->(:File)` and
//! `-[:BELONGS_TO]->(:Repository)` from pull requests and files. Each node is found by one string
//! key (`id` or `key`) under a uniqueness constraint, declared once, idempotently, before the first
//! query. (Keys are single strings on purpose: ArcadeDB makes the properties of a key constraint
//! mandatory strings, which would turn a composite key's number into text.) Questions start from
//! the asked files and walk to their pull requests and authors.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::knowledge::graph::is_bot;
use domain::knowledge::{FileExpert, IndexedPullRequest, KnowledgeGraph, RelatedPullRequest};
use domain::webhook::values::RepoFullName;
use neo4rs::{ConfigBuilder, Graph, Query, query};
use tokio::sync::OnceCell;

use crate::related::{Touch, group};

/// `GRAPH_URL`, `GRAPH_USER`, `GRAPH_PASSWORD`, `GRAPH_DATABASE`.
#[derive(Clone)]
pub struct BoltConfig {
    /// `bolt://host:port` (or `host:port`).
    pub url: String,
    pub user: String,
    pub password: String,
    /// The database to use; the server's default when `None`.
    pub database: Option<String>,
}

impl std::fmt::Debug for BoltConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoltConfig")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("password", &"[REDACTED]")
            .field("database", &self.database)
            .finish()
    }
}

/// The constraints and indexes the queries rely on; `IF NOT EXISTS`, so declaring them again is
/// harmless.
const SCHEMA: [&str; 4] = [
    "CREATE CONSTRAINT nectr_repository_key IF NOT EXISTS FOR (r:Repository) REQUIRE r.key IS UNIQUE",
    "CREATE CONSTRAINT nectr_pull_request_id IF NOT EXISTS FOR (p:PullRequest) REQUIRE p.id IS UNIQUE",
    "CREATE CONSTRAINT nectr_developer_key IF NOT EXISTS FOR (d:Developer) REQUIRE d.key IS UNIQUE",
    "CREATE CONSTRAINT nectr_file_id IF NOT EXISTS FOR (f:File) REQUIRE f.id IS UNIQUE",
];

/// The graph on a Bolt server. Connections are made as queries need them.
pub struct BoltGraph {
    graph: Graph,
    schema: OnceCell<()>,
}

impl std::fmt::Debug for BoltGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoltGraph")
    }
}

fn transient(e: neo4rs::Error) -> domain::Error {
    tracing::warn!(error = %e, "knowledge graph query failed");
    domain::Error::Transient("the knowledge graph's server is unavailable".into())
}

fn repo_key(repository: &RepoFullName) -> String {
    repository.as_str().to_ascii_lowercase()
}

fn pull_request_id(repo: &str, number: u64) -> String {
    format!("{repo}#{number}")
}

fn file_ids(repo: &str, paths: &[String]) -> Vec<String> {
    paths.iter().map(|p| format!("{repo}:{p}")).collect()
}

fn at_of(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl BoltGraph {
    /// A graph on the server `config` names. Nothing is sent until the first query.
    ///
    /// # Errors
    /// `Invalid` for a URL or credentials the driver cannot use.
    pub fn new(config: &BoltConfig) -> domain::Result<Self> {
        let address = config
            .url
            .trim_start_matches("bolt://")
            .trim_start_matches("neo4j://")
            .trim_end_matches('/')
            .to_owned();
        let mut builder = ConfigBuilder::default()
            .uri(address)
            .user(config.user.clone())
            .password(config.password.clone())
            .max_connections(8);
        if let Some(database) = &config.database {
            builder = builder.db(database.clone());
        }
        let built = builder.build().map_err(|e| domain::Error::Invalid {
            what: "GRAPH_URL",
            reason: e.to_string(),
        })?;
        let graph = Graph::connect(built).map_err(|e| domain::Error::Invalid {
            what: "GRAPH_URL",
            reason: e.to_string(),
        })?;
        Ok(Self {
            graph,
            schema: OnceCell::new(),
        })
    }

    /// Declares the constraints once per process, before the first query.
    async fn ready(&self) -> domain::Result<()> {
        self.schema
            .get_or_try_init(|| async {
                for statement in SCHEMA {
                    self.graph.run(query(statement)).await.map_err(transient)?;
                }
                tracing::info!("knowledge graph constraints declared");
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// The rows of `q`, each read by `read`.
    async fn rows<T>(
        &self,
        q: Query,
        read: impl Fn(&neo4rs::Row) -> Result<T, neo4rs::DeError>,
    ) -> domain::Result<Vec<T>> {
        self.ready().await?;
        let mut stream = self.graph.execute(q).await.map_err(transient)?;
        let mut rows = Vec::new();
        while let Some(row) = stream.next().await.map_err(transient)? {
            rows.push(read(&row).map_err(|e| {
                tracing::warn!(error = %e, "knowledge graph answered in an unexpected shape");
                domain::Error::Transient(
                    "the knowledge graph answered in an unexpected shape".into(),
                )
            })?);
        }
        Ok(rows)
    }
}

#[async_trait]
impl KnowledgeGraph for BoltGraph {
    async fn index(&self, pr: &IndexedPullRequest) -> domain::Result<()> {
        self.ready().await?;
        let repo = repo_key(&pr.repository);
        let id = pull_request_id(&repo, pr.number);
        let mut paths = pr.paths.clone();
        paths.sort_unstable();
        paths.dedup();
        let number = i64::try_from(pr.number).unwrap_or(i64::MAX);
        // One transaction: the node and its properties, its old links cut, its author and files
        // linked anew (a force-push or rename leaves nothing stale).
        let mut txn = self.graph.start_txn().await.map_err(transient)?;
        txn.run_queries([
            query(
                "MERGE (r:Repository {key: $repo}) \
                 MERGE (p:PullRequest {id: $id}) \
                 SET p.repo = $repo, p.number = $number, p.title = $title, p.at_ms = $at_ms, \
                     p.merged = $merged, p.verdict = $verdict \
                 MERGE (p)-[:BELONGS_TO]->(r)",
            )
            .param("repo", repo.clone())
            .param("id", id.clone())
            .param("number", number)
            .param("title", pr.title.clone())
            .param("at_ms", pr.at.timestamp_millis())
            .param("merged", pr.merged)
            .param("verdict", pr.verdict.clone().unwrap_or_default()),
            query("MATCH (p:PullRequest {id: $id})-[t:TOUCHES]->(:File) DELETE t")
                .param("id", id.clone()),
            query("MATCH (:Developer)-[a:AUTHORED]->(p:PullRequest {id: $id}) DELETE a")
                .param("id", id.clone()),
            query(
                "MATCH (p:PullRequest {id: $id}) \
                 MERGE (d:Developer {key: $author_key}) \
                 SET d.login = $author, d.bot = $bot \
                 MERGE (d)-[:AUTHORED]->(p)",
            )
            .param("id", id.clone())
            .param("author_key", pr.author.to_ascii_lowercase())
            .param("author", pr.author.clone())
            .param("bot", is_bot(&pr.author)),
            query(
                "MATCH (p:PullRequest {id: $id}), (r:Repository {key: $repo}) \
                 UNWIND $files AS file \
                 MERGE (f:File {id: file.id}) \
                 SET f.repo = $repo, f.path = file.path \
                 MERGE (f)-[:BELONGS_TO]->(r) \
                 MERGE (p)-[:TOUCHES]->(f)",
            )
            .param("id", id)
            .param("repo", repo.clone())
            .param(
                "files",
                file_ids(&repo, &paths)
                    .into_iter()
                    .zip(paths.iter())
                    .map(|(id, path)| {
                        std::collections::HashMap::from([
                            ("id".to_owned(), id),
                            ("path".to_owned(), path.clone()),
                        ])
                    })
                    .collect::<Vec<_>>(),
            ),
        ])
        .await
        .map_err(transient)?;
        txn.commit().await.map_err(transient)?;
        Ok(())
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
        let repo = repo_key(repository);
        let q = query(
            "UNWIND $files AS file \
             MATCH (f:File {id: file})<-[:TOUCHES]-(p:PullRequest)<-[:AUTHORED]-(d:Developer) \
             WHERE d.bot = false AND d.key <> $exclude \
             RETURN d.login AS login, count(DISTINCT p.number) AS prs, max(p.at_ms) AS last_ms \
             ORDER BY prs DESC, last_ms DESC, login \
             LIMIT $limit",
        )
        .param("files", file_ids(&repo, paths))
        .param(
            "exclude",
            exclude_author.unwrap_or_default().to_ascii_lowercase(),
        )
        .param("limit", i64::try_from(limit).unwrap_or(i64::MAX));
        self.rows(q, |row| {
            Ok(FileExpert {
                login: row.get("login")?,
                pull_requests: u32::try_from(row.get::<i64>("prs")?).unwrap_or(u32::MAX),
                last_at: at_of(row.get("last_ms")?),
            })
        })
        .await
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
        let repo = repo_key(repository);
        let q = query(
            "UNWIND $files AS file \
             MATCH (f:File {id: file})<-[:TOUCHES]-(p:PullRequest)<-[:AUTHORED]-(d:Developer) \
             WHERE d.bot = false AND p.number <> $exclude \
             RETURN p.number AS number, p.title AS title, d.login AS author, p.at_ms AS at_ms, \
                    f.path AS path",
        )
        .param("files", file_ids(&repo, paths))
        .param(
            "exclude",
            exclude_number.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
        );
        let touches = self
            .rows(q, |row| {
                Ok(Touch {
                    number: u64::try_from(row.get::<i64>("number")?).unwrap_or(0),
                    title: row.get("title")?,
                    author: row.get("author")?,
                    at: at_of(row.get("at_ms")?),
                    path: row.get("path")?,
                })
            })
            .await?;
        Ok(group(touches, limit))
    }

    async fn pull_request_paths(
        &self,
        repository: &RepoFullName,
        number: u64,
    ) -> domain::Result<Option<Vec<String>>> {
        let repo = repo_key(repository);
        let q = query(
            "MATCH (p:PullRequest {id: $id}) \
             OPTIONAL MATCH (p)-[:TOUCHES]->(f:File) \
             RETURN p.id AS id, f.path AS path",
        )
        .param("id", pull_request_id(&repo, number));
        let rows = self
            .rows(q, |row| row.get::<Option<String>>("path"))
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut paths: Vec<String> = rows.into_iter().flatten().collect();
        paths.sort();
        Ok(Some(paths))
    }
}
