//! One conformance suite for every knowledge-graph store: the same fixture of pull requests indexed
//! into the SQL store on SQLite and on PostgreSQL (from `NECTR_TEST_POSTGRES_URL`, default the local
//! server), and into the Bolt store on a real ArcadeDB server, gives the same answers.
//!
//! ArcadeDB: see `nectr_tests::arcadedb`. Where PostgreSQL or ArcadeDB is missing, its test passes
//! without running and a notice says so, unless `NECTR_REQUIRE_POSTGRES=1` or
//! `NECTR_REQUIRE_ARCADEDB=1` (CI) makes it fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_db::Db;
use adapters_graph::SqlGraph;
use chrono::{DateTime, Duration, Utc};
use domain::knowledge::{IndexedPullRequest, KnowledgeGraph};
use domain::webhook::values::RepoFullName;
use nectr_tests::arcadedb::ArcadeDb;
use nectr_tests::{Backend, DbGuard, fresh_database, on_both_backends};

on_both_backends!(the_sql_store_answers_the_two_questions);

fn t(day: i64) -> DateTime<Utc> {
    "2026-11-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::days(day)
}

fn repo(name: &str) -> RepoFullName {
    RepoFullName::parse(name).unwrap()
}

fn pr(repository: &str, number: u64, author: &str, day: i64, paths: &[&str]) -> IndexedPullRequest {
    IndexedPullRequest {
        repository: repo(repository),
        number,
        title: format!("Change {number}"),
        author: author.to_owned(),
        at: t(day),
        merged: true,
        verdict: None,
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    }
}

fn paths(list: &[&str]) -> Vec<String> {
    list.iter().map(|p| (*p).to_owned()).collect()
}

async fn answers_the_two_questions(graph: &dyn KnowledgeGraph) {
    for indexed in [
        pr("acme/api", 1, "alice", 1, &["src/a.rs", "src/b.rs"]),
        pr("acme/api", 2, "Alice", 2, &["src/a.rs"]),
        pr("acme/api", 3, "bob", 3, &["src/a.rs", "docs/x.md"]),
        pr("acme/api", 4, "dependabot[bot]", 4, &["src/a.rs"]),
        pr("acme/web", 5, "carol", 5, &["src/a.rs"]),
        pr("acme/api", 6, "bob", 6, &["src/a.rs", "src/b.rs"]),
    ] {
        graph.index(&indexed).await.unwrap();
    }
    let asked = paths(&["src/a.rs", "src/b.rs"]);
    let api = repo("ACME/api");

    // PR 6 by bob asks: bob is not his own expert; the bot and the other repository do not count.
    let experts = graph
        .file_experts(&api, &asked, Some("Bob".into()), 10)
        .await
        .unwrap();
    let found: Vec<(&str, u32, DateTime<Utc>)> = experts
        .iter()
        .map(|e| (e.login.as_str(), e.pull_requests, e.last_at))
        .collect();
    assert_eq!(found, [("Alice", 2, t(2))], "logins compared without case");
    let everyone = graph.file_experts(&api, &asked, None, 10).await.unwrap();
    let order: Vec<(&str, u32)> = everyone
        .iter()
        .map(|e| (e.login.as_str(), e.pull_requests))
        .collect();
    assert_eq!(
        order,
        [("bob", 2), ("Alice", 2)],
        "ties go to the most recent"
    );
    assert_eq!(
        graph
            .file_experts(&api, &asked, None, 1)
            .await
            .unwrap()
            .len(),
        1
    );

    let related = graph
        .related_pull_requests(&api, &asked, Some(6), 10)
        .await
        .unwrap();
    let found: Vec<(u64, Vec<String>)> = related
        .iter()
        .map(|r| (r.number, r.shared_paths.clone()))
        .collect();
    assert_eq!(
        found,
        [
            (1, paths(&["src/a.rs", "src/b.rs"])),
            (3, paths(&["src/a.rs"])),
            (2, paths(&["src/a.rs"])),
        ],
        "most shared first, then the most recent; never itself, never a bot's"
    );
    assert_eq!(related[0].title, "Change 1");

    // Re-indexed after a force-push that dropped its files: no stale link is left.
    graph
        .index(&pr("acme/api", 1, "alice", 7, &["src/c.rs"]))
        .await
        .unwrap();
    let related = graph
        .related_pull_requests(&api, &asked, Some(6), 10)
        .await
        .unwrap();
    assert!(related.iter().all(|r| r.number != 1));
    let experts = graph
        .file_experts(&api, &asked, Some("bob".into()), 10)
        .await
        .unwrap();
    assert_eq!(
        experts[0].pull_requests, 1,
        "only #2 is still Alice's on these paths"
    );
    assert!(
        graph
            .file_experts(&api, &[], None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The SQL store on a fresh, migrated database of `backend`.
async fn sql_store(backend: Backend) -> Option<(SqlGraph, DbGuard)> {
    let (url, guard) = fresh_database(backend).await?;
    let db = Db::connect(&url, None).await.unwrap();
    db.migrate().await.unwrap();
    Some((
        SqlGraph::new(db.connection().clone(), db.writer().clone()),
        guard,
    ))
}

async fn the_sql_store_answers_the_two_questions(backend: Backend) {
    let Some((graph, _database)) = sql_store(backend).await else {
        return;
    };
    answers_the_two_questions(&graph).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arcadedb_over_bolt_answers_the_two_questions() {
    let Some(server) = ArcadeDb::start() else {
        return;
    };
    answers_the_two_questions(&server.graph()).await;
    // The constraints are declared again by a second client: idempotent.
    let again = server.graph();
    assert!(
        again
            .file_experts(&repo("acme/api"), &paths(&["src/a.rs"]), None, 5)
            .await
            .is_ok()
    );
}
