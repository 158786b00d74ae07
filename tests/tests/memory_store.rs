//! The project memory's store, the same on SQLite (FTS5) and PostgreSQL (`tsvector`): one copy per
//! repository, kind and content; full-text recall that stems, ranks titles first, keeps to active
//! non-rule memories of the one repository, follows edits and deletions, and takes any user text
//! without a syntax error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_db::Db;
use chrono::Utc;
use domain::memory::{
    MemoryFilter, MemoryKind, MemoryPatch, MemorySource, MemoryStatus, NewMemory, ProjectMemory,
    Remembered, search_terms,
};
use domain::webhook::values::RepoFullName;
use nectr_tests::{Backend, fresh_database, on_both_backends};

on_both_backends!(
    memories_are_kept_once_and_recalled_by_full_text,
    hostile_text_never_reaches_the_query_syntax,
);

fn repo(name: &str) -> RepoFullName {
    RepoFullName::parse(name).unwrap()
}

fn new(repository: &str, kind: MemoryKind, title: &str, content: &str) -> NewMemory {
    NewMemory::new(
        repo(repository),
        kind,
        None,
        Some(title),
        content,
        MemorySource::Api,
        None,
        MemoryStatus::Active,
    )
    .unwrap()
}

async fn store(backend: Backend) -> Option<(Db, nectr_tests::DbGuard)> {
    let (url, guard) = fresh_database(backend).await?;
    let db = Db::connect(&url, None).await.unwrap();
    db.migrate().await.unwrap();
    Some((db, guard))
}

async fn created(db: &Db, memory: NewMemory) -> i64 {
    match db.remember(memory, Utc::now()).await.unwrap() {
        Remembered::Created(m) => m.id,
        Remembered::Exists(m) => panic!("{} existed", m.id),
    }
}

async fn titles(db: &Db, repository: &str, terms: &[&str]) -> Vec<String> {
    let terms: Vec<String> = terms.iter().map(|t| (*t).to_owned()).collect();
    db.search(&repo(repository), &terms, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.title)
        .collect()
}

async fn memories_are_kept_once_and_recalled_by_full_text(backend: Backend) {
    let Some((db, _guard)) = store(backend).await else {
        return;
    };
    let backend_repo = "acme/backend";
    let in_title = created(
        &db,
        new(
            backend_repo,
            MemoryKind::Decision,
            "Payment retries",
            "Backoff doubles each time.",
        ),
    )
    .await;
    created(
        &db,
        new(
            backend_repo,
            MemoryKind::Pattern,
            "Errors",
            "Every payment error is a typed enum.",
        ),
    )
    .await;
    created(
        &db,
        new(
            backend_repo,
            MemoryKind::Rule,
            "No prints",
            "payments log with tracing",
        ),
    )
    .await;
    created(
        &db,
        new(
            "acme/web",
            MemoryKind::Decision,
            "Payments page",
            "Payments are shown in cents.",
        ),
    )
    .await;
    let mut pending = new(
        backend_repo,
        MemoryKind::Pattern,
        "Payment cache",
        "Payments are cached.",
    );
    pending.status = MemoryStatus::Pending;
    created(&db, pending).await;

    // Stemmed ("payments" finds "payment"), title above content, this repository's active
    // patterns and decisions only (rules are always given anyway).
    assert_eq!(
        titles(&db, backend_repo, &["payments"]).await,
        ["Payment retries", "Errors"]
    );
    assert!(
        titles(&db, backend_repo, &["nothing", "matches"])
            .await
            .is_empty()
    );

    // The same content again (case, spacing) is the same memory; another kind is another.
    let again = new(
        backend_repo,
        MemoryKind::Decision,
        "Other title",
        "backoff  DOUBLES each time.",
    );
    assert!(matches!(
        db.remember(again, Utc::now()).await.unwrap(),
        Remembered::Exists(m) if m.id == in_title
    ));
    let as_pattern = new(
        backend_repo,
        MemoryKind::Pattern,
        "t",
        "Backoff doubles each time.",
    );
    assert!(matches!(
        db.remember(as_pattern, Utc::now()).await.unwrap(),
        Remembered::Created(_)
    ));

    // An edit is searched by its new words; an edit onto another memory's content is refused.
    let edited = db
        .update(
            &repo(backend_repo),
            in_title,
            MemoryPatch {
                title: Some("Refund retries".into()),
                content: Some("Refunds back off exponentially.".into()),
                status: None,
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(edited.title, "Refund retries");
    assert_eq!(
        titles(&db, backend_repo, &["refund"]).await,
        ["Refund retries"]
    );
    assert_eq!(titles(&db, backend_repo, &["payments"]).await, ["Errors"]);
    created(
        &db,
        new(
            backend_repo,
            MemoryKind::Decision,
            "Webhooks",
            "Webhooks are verified first.",
        ),
    )
    .await;
    let clash = db
        .update(
            &repo(backend_repo),
            in_title,
            MemoryPatch {
                content: Some("webhooks are verified FIRST.".into()),
                ..MemoryPatch::default()
            },
            Utc::now(),
        )
        .await;
    assert!(
        matches!(clash, Err(domain::Error::Duplicate(_))),
        "{clash:?}"
    );

    // Another repository's name reaches nothing; a deleted memory is no longer found.
    assert!(db.get(&repo("acme/web"), in_title).await.unwrap().is_none());
    assert!(!db.forget(&repo("acme/web"), in_title).await.unwrap());
    assert!(db.forget(&repo(backend_repo), in_title).await.unwrap());
    assert!(titles(&db, backend_repo, &["refund"]).await.is_empty());

    let rules = db
        .list(
            &repo("ACME/Backend"),
            &MemoryFilter {
                status: Some(MemoryStatus::Active),
                kind: Some(MemoryKind::Rule),
                developer: None,
            },
            10,
            0,
        )
        .await
        .unwrap();
    assert_eq!(rules.len(), 1, "names match in any case");
}

async fn hostile_text_never_reaches_the_query_syntax(backend: Backend) {
    let Some((db, _guard)) = store(backend).await else {
        return;
    };
    created(
        &db,
        new(
            "acme/backend",
            MemoryKind::Decision,
            "Auth tokens",
            "Tokens are hashed at rest.",
        ),
    )
    .await;
    let hostile = r#"fix: "auth (token" OR NOT x* NEAR(a b) ^c -d {e} 'f' & | ! <-> :*"#;
    // Raw text as terms (as a caller might pass it) and the terms nectr builds from it.
    let raw: Vec<&str> = hostile.split(' ').collect();
    let found = titles(&db, "acme/backend", &raw).await;
    assert_eq!(found, ["Auth tokens"]);
    let built = search_terms(hostile, Some(hostile), &["src/auth/(token).rs".into()]);
    let built: Vec<&str> = built.iter().map(String::as_str).collect();
    assert_eq!(titles(&db, "acme/backend", &built).await, ["Auth tokens"]);
    assert!(
        titles(&db, "acme/backend", &["\"", "''", ")", "*"])
            .await
            .is_empty()
    );
}
