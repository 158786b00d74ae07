//! One conformance suite for every store port `Db` implements, run on SQLite and on PostgreSQL (the way
//! a job-queue library tests each of its drivers): what each method returns and changes, seen only
//! through the ports. PostgreSQL comes from `NECTR_TEST_POSTGRES_URL` (default the local server); where
//! it is unreachable its variants pass without running, with a notice, unless `NECTR_REQUIRE_POSTGRES=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use adapters_db::Db;
use chrono::{DateTime, Utc};
use domain::accounts::github::GitHubUser;
use domain::accounts::model::{EventFilter, RetryOutcome};
use domain::accounts::{
    InstallationRegistry, Keyring, ManagementStore, Page, Scope, SessionStore, UserStore,
};
use domain::codehost::AccessToken;
use domain::health::StoreHealth;
use domain::queue::{EventStatus, Finish, JobKind, RetryPolicy, ReviewQueue};
use domain::review::RepositoryTokens;
use domain::webhook::delivery::{DeliveryOutcome, DeliveryRecord, Provider};
use domain::webhook::event::{DeliveredPullRequest, ReviewKey, WebhookEvent};
use domain::webhook::ports::{
    DeliveryLog, Disposition, EventStore, InstallationStore, NewEvent, Recorded,
};
use domain::webhook::retention::RetentionStore;
use domain::webhook::values::{DeliveryId, HeadSha, RepoFullName, WebhookSecret};
use sea_orm::ConnectionTrait;

const KEYS: &str = "t1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const NEWER: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A fresh, migrated database on one backend, dropped afterwards.
struct Store {
    db: Db,
    _sqlite: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl Drop for Store {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(admin) = Db::connect(&admin_url, None).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = admin.connection().execute_unprepared(&sql).await;
                }
            });
        })
        .join();
    }
}

fn keyring() -> Option<Arc<Keyring>> {
    Some(Arc::new(Keyring::parse(KEYS).unwrap()))
}

async fn sqlite() -> Option<Store> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nectr.db").display());
    let db = Db::connect(&url, keyring()).await.unwrap();
    db.migrate().await.unwrap();
    Some(Store {
        db,
        _sqlite: Some(dir),
        postgres: None,
    })
}

async fn postgres() -> Option<Store> {
    let admin_url = std::env::var("NECTR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let admin = match Db::connect(&admin_url, None).await {
        Ok(admin) => admin,
        Err(e) => {
            assert!(
                !std::env::var("NECTR_REQUIRE_POSTGRES").is_ok_and(|v| v == "1"),
                "NECTR_REQUIRE_POSTGRES=1 but PostgreSQL is not reachable: {e}"
            );
            eprintln!(
                "\nNOTICE: PostgreSQL is not reachable: the PostgreSQL conformance tests were SKIPPED (they passed without running).\n"
            );
            return None;
        }
    };
    let name = format!("nectr_conformance_{}", uuid::Uuid::new_v4().simple());
    admin
        .connection()
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let (path, query) = match admin_url.split_once('?') {
        Some((path, query)) => (path, format!("?{query}")),
        None => (admin_url.as_str(), String::new()),
    };
    let base = path.rsplit_once('/').map_or(path, |(base, _)| base);
    let db = Db::connect(&format!("{base}/{name}{query}"), keyring())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    Some(Store {
        db,
        _sqlite: None,
        postgres: Some((admin_url, name)),
    })
}

/// Runs each named suite function on SQLite and on PostgreSQL.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(store) = super::sqlite().await {
                        super::$name(&store.db).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(store) = super::postgres().await {
                        super::$name(&store.db).await;
                    }
                }
            )*
        }
    };
}

on_both_stores!(
    the_store_answers_a_ping,
    recording_queues_once_per_commit_and_logs_each_delivery,
    a_newer_head_supersedes_pending_work_of_the_same_pull_request,
    claimed_work_is_leased_once_extended_and_finished_with_its_run,
    released_and_expired_leases_go_back_as_the_retry_policy_says,
    users_sessions_and_sign_in_states_round_trip_as_hashes,
    installations_are_unique_per_repository_and_rotate_with_a_grace_period,
    management_reads_never_leave_the_scope_and_requeue_only_what_may_be_retried,
    retention_purges_old_deliveries_and_finished_payloads_in_batches,
    a_merge_is_queued_beside_a_review_of_its_commit_and_supersedes_nothing,
    writes_arriving_together_share_a_commit_and_each_gets_its_own_answer,
);

fn repo(name: &str) -> RepoFullName {
    RepoFullName::parse(name).unwrap()
}

fn key(sha: &str) -> ReviewKey {
    ReviewKey {
        repository: repo("acme/api"),
        pr_number: 7,
        head_sha: HeadSha::parse(sha).unwrap(),
    }
}

fn record(delivery: &str) -> DeliveryRecord {
    DeliveryRecord {
        provider: Provider::GitHub,
        delivery_id: Some(delivery.to_owned()),
        event: Some("pull_request".into()),
        action: Some("opened".into()),
        repository: Some("acme/api".into()),
        outcome: DeliveryOutcome::Received,
        status_code: 200,
        cause: None,
        detail: None,
        event_id: None,
        headers: vec![("x-github-event".into(), "pull_request".into())],
        body_size: 2,
        body_sha256: None,
        received_at: Utc::now(),
    }
}

fn pr_event(delivery: &str, sha: &str, now: DateTime<Utc>) -> NewEvent {
    let key = key(sha);
    NewEvent {
        provider: Provider::GitHub,
        delivery_id: DeliveryId::parse(delivery).unwrap(),
        event: WebhookEvent {
            name: "pull_request".into(),
            action: Some("opened".into()),
            event_type: "opened_pull_request".into(),
            repository: Some(key.repository.clone()),
            sender: Some("octocat".into()),
            sender_is_bot: false,
            comment: None,
            pull_request: Some(DeliveredPullRequest {
                number: key.pr_number,
                head_sha: key.head_sha.clone(),
                draft: false,
                open: true,
                updated_at: Some(now),
                merged: false,
            }),
        },
        disposition: Disposition::Queue {
            kind: JobKind::Review,
            key,
            window_start: now - chrono::Duration::hours(1),
        },
        payload: "{}".into(),
        received_at: now,
    }
}

async fn queue(db: &Db, delivery: &str, sha: &str) -> i64 {
    let now = Utc::now();
    match db
        .record(pr_event(delivery, sha, now), record(delivery))
        .await
        .unwrap()
    {
        Recorded::Queued { event_id, .. } => event_id,
        other => panic!("not queued: {other:?}"),
    }
}

fn everything() -> Page {
    Page {
        page: 1,
        per_page: 100,
    }
}

fn scope(keys: &[&str]) -> Scope {
    Scope {
        repo_keys: keys.iter().map(|k| (*k).to_owned()).collect(),
    }
}

async fn status_of(db: &Db, id: i64) -> String {
    db.event(&scope(&["acme/api"]), id)
        .await
        .unwrap()
        .unwrap()
        .status
}

async fn the_store_answers_a_ping(db: &Db) {
    db.ping().await.unwrap();
}

async fn recording_queues_once_per_commit_and_logs_each_delivery(db: &Db) {
    let first = queue(db, "d-1", SHA).await;
    // The same delivery again, and another delivery of the same commit: duplicates, nothing stored.
    let again = db
        .record(pr_event("d-1", SHA, Utc::now()), record("d-1"))
        .await
        .unwrap();
    assert_eq!(again, Recorded::DuplicateDelivery { event_id: first });
    let same_commit = db
        .record(pr_event("d-2", SHA, Utc::now()), record("d-2"))
        .await
        .unwrap();
    assert_eq!(same_commit, Recorded::AlreadyInFlight { event_id: first });
    // A delivery refused before it became an event is logged on its own.
    let mut refused = record("d-3");
    refused.outcome = DeliveryOutcome::Rejected;
    refused.status_code = 403;
    assert!(db.append(refused).await.unwrap() > 0);
    let log = db
        .deliveries(&scope(&["acme/api"]), everything())
        .await
        .unwrap();
    assert_eq!(log.total, 4, "every delivery is in the log");
    let outcomes: Vec<&str> = log.items.iter().map(|d| d.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "rejected",
            "duplicate_skipped",
            "duplicate_skipped",
            "received"
        ]
    );
    assert_eq!(log.items[3].event_id, Some(first));
}

async fn a_newer_head_supersedes_pending_work_of_the_same_pull_request(db: &Db) {
    let old = queue(db, "d-old", SHA).await;
    let new = db
        .record(pr_event("d-new", NEWER, Utc::now()), record("d-new"))
        .await
        .unwrap();
    let Recorded::Queued { superseded, .. } = new else {
        panic!("not queued: {new:?}")
    };
    assert_eq!(superseded, 1);
    assert_eq!(status_of(db, old).await, "superseded");
}

async fn claimed_work_is_leased_once_extended_and_finished_with_its_run(db: &Db) {
    let id = queue(db, "d-1", SHA).await;
    let now = Utc::now();
    let jobs = db
        .claim("w1", now, Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!((jobs[0].event_id, jobs[0].attempts), (id, 1));
    assert_eq!(
        jobs[0].review_key(),
        Some(key(SHA)),
        "the job carries its typed key"
    );
    assert!(
        db.claim("w2", now, Duration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let job = &jobs[0];
    assert!(
        db.heartbeat(job, "w1", now + chrono::Duration::minutes(2))
            .await
            .unwrap()
    );
    assert!(
        !db.heartbeat(job, "w2", now).await.unwrap(),
        "not w2's lease"
    );
    let done = Finish::Done {
        status: EventStatus::Completed,
        detail: None,
        result: Some(serde_json::json!({"review_url": "https://example.com/r/1"})),
    };
    assert!(!db.finish(job, "w2", now, done.clone()).await.unwrap());
    assert!(db.finish(job, "w1", now, done.clone()).await.unwrap());
    assert!(
        !db.finish(job, "w1", now, done).await.unwrap(),
        "finished once"
    );
    assert_eq!(status_of(db, id).await, "completed");
    let runs = db.runs(id).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].outcome.as_str(), runs[0].worker.as_str()),
        ("completed", "w1")
    );
    assert_eq!(runs[0].result["review_url"], "https://example.com/r/1");
    let reviews = db
        .reviews(&scope(&["acme/api"]), everything())
        .await
        .unwrap();
    assert_eq!(reviews.total, 1);
    assert_eq!(reviews.items[0].event.id, id);
}

async fn released_and_expired_leases_go_back_as_the_retry_policy_says(db: &Db) {
    let id = queue(db, "d-1", SHA).await;
    let now = Utc::now();
    let lease = Duration::from_secs(5);
    let job = db.claim("w1", now, lease, 1).await.unwrap().remove(0);
    assert!(db.release(&job, "w1").await.unwrap());
    assert!(!db.release(&job, "w1").await.unwrap(), "released once");
    let event = db.event(&scope(&["acme/api"]), id).await.unwrap().unwrap();
    assert_eq!((event.status.as_str(), event.attempts), ("pending", 0));

    // A retry keeps the error and is due later. (A release is due at once.)
    let now = Utc::now();
    let job = db.claim("w1", now, lease, 1).await.unwrap().remove(0);
    let later = now + chrono::Duration::seconds(30);
    let retry = Finish::Retry {
        run_at: later,
        error: "GitHub answered 502".into(),
    };
    assert!(db.finish(&job, "w1", now, retry).await.unwrap());
    assert!(
        db.claim("w1", now, lease, 1).await.unwrap().is_empty(),
        "not due yet"
    );

    // A dead worker's lease: back to pending while attempts remain, failed when they are spent.
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let job = db.claim("dead", later, lease, 1).await.unwrap().remove(0);
    assert_eq!(job.attempts, 2);
    assert_eq!(
        db.reclaim_expired(later, policy).await.unwrap(),
        0,
        "still leased"
    );
    let expired = later + chrono::Duration::seconds(10);
    assert_eq!(db.reclaim_expired(expired, policy).await.unwrap(), 1);
    assert_eq!(status_of(db, id).await, "pending");
    let job = db.claim("dead", expired, lease, 1).await.unwrap().remove(0);
    assert_eq!(job.attempts, 3);
    let gone = expired + chrono::Duration::seconds(10);
    assert_eq!(db.reclaim_expired(gone, policy).await.unwrap(), 1);
    let event = db.event(&scope(&["acme/api"]), id).await.unwrap().unwrap();
    assert_eq!(event.status, "failed");
    assert!(event.last_error.unwrap().contains("lease expired"));
}

fn user(id: u64, login: &str) -> GitHubUser {
    GitHubUser {
        id,
        login: login.into(),
        name: Some("A Person".into()),
        email: None,
        avatar_url: None,
    }
}

async fn users_sessions_and_sign_in_states_round_trip_as_hashes(db: &Db) {
    let id = db
        .upsert_user(&user(42, "alice"), &AccessToken::new("gho_first"))
        .await
        .unwrap();
    let same = db
        .upsert_user(&user(42, "alice2"), &AccessToken::new("gho_second"))
        .await
        .unwrap();
    assert_eq!(id, same, "the same GitHub user is updated, not added");
    assert_eq!(
        db.user_token(id).await.unwrap().unwrap().expose(),
        "gho_second"
    );
    assert!(db.user_token(id + 100).await.unwrap().is_none());

    let now = Utc::now();
    db.create_session("hash-1", id, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    let signed_in = db.session_user("hash-1", now).await.unwrap().unwrap();
    assert_eq!((signed_in.id, signed_in.login.as_str()), (id, "alice2"));
    assert!(
        db.session_user("hash-1", now + chrono::Duration::hours(2))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    db.delete_session("hash-1").await.unwrap();
    db.delete_session("hash-1").await.unwrap();
    assert!(db.session_user("hash-1", now).await.unwrap().is_none());

    db.create_oauth_state("state-1", now + chrono::Duration::minutes(10))
        .await
        .unwrap();
    db.create_oauth_state("state-old", now - chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert!(db.take_oauth_state("state-1", now).await.unwrap());
    assert!(
        !db.take_oauth_state("state-1", now).await.unwrap(),
        "single use"
    );
    assert!(
        !db.take_oauth_state("state-old", now).await.unwrap(),
        "expired"
    );
    assert!(!db.take_oauth_state("never-made", now).await.unwrap());
}

async fn installations_are_unique_per_repository_and_rotate_with_a_grace_period(db: &Db) {
    let owner = db
        .upsert_user(&user(1, "owner"), &AccessToken::new("gho_owner"))
        .await
        .unwrap();
    let secret = WebhookSecret::parse("first-secret-0123456789").unwrap();
    let id = db
        .create_installation(owner, &repo("Acme/API"), Some(9), &secret)
        .await
        .unwrap();
    assert!(matches!(
        db.create_installation(owner, &repo("acme/api"), Some(10), &secret)
            .await,
        Err(domain::Error::Duplicate(_))
    ));
    let found = db
        .active_installation(&repo("ACME/api"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.webhook_id, found.user_id),
        (id, Some(9), owner)
    );
    assert_eq!(found.repository.as_str(), "Acme/API");
    assert_eq!(
        db.active_installations(&["acme/api".into()])
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(db.active_installations(&[]).await.unwrap().is_empty());
    assert_eq!(db.scope_of(owner).await.unwrap(), scope(&["acme/api"]));
    assert_eq!(
        db.webhook_secrets(&repo("acme/api")).await.unwrap(),
        std::slice::from_ref(&secret)
    );
    assert_eq!(
        db.token_for(&repo("acme/api"))
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "gho_owner"
    );

    let rotated = WebhookSecret::parse("second-secret-0123456789").unwrap();
    let grace = Utc::now() + chrono::Duration::hours(1);
    db.rotate_installation_secret(id, &rotated, grace)
        .await
        .unwrap();
    assert_eq!(
        db.webhook_secrets(&repo("acme/api")).await.unwrap(),
        [rotated.clone(), secret],
        "the new secret first, the old one during the grace period"
    );
    db.rotate_installation_secret(id, &rotated, Utc::now() - chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        db.webhook_secrets(&repo("acme/api")).await.unwrap(),
        [rotated]
    );

    db.deactivate_installation(id).await.unwrap();
    assert!(
        db.active_installation(&repo("acme/api"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.webhook_secrets(&repo("acme/api"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(db.token_for(&repo("acme/api")).await.unwrap().is_none());
    assert!(db.scope_of(owner).await.unwrap().is_empty());
}

async fn management_reads_never_leave_the_scope_and_requeue_only_what_may_be_retried(db: &Db) {
    let id = queue(db, "d-1", SHA).await;
    let mine = scope(&["acme/api"]);
    let theirs = scope(&["other/repo"]);
    let all = EventFilter::default();
    assert_eq!(db.events(&mine, &all, everything()).await.unwrap().total, 1);
    assert_eq!(
        db.events(&theirs, &all, everything()).await.unwrap().total,
        0
    );
    assert_eq!(
        db.events(&Scope::default(), &all, everything())
            .await
            .unwrap()
            .total,
        0
    );
    let failed_filter = EventFilter {
        status: Some("failed".into()),
        ..EventFilter::default()
    };
    assert_eq!(
        db.events(&mine, &failed_filter, everything())
            .await
            .unwrap()
            .total,
        0
    );
    assert!(db.event(&theirs, id).await.unwrap().is_none());
    let log = db.deliveries(&mine, everything()).await.unwrap();
    let delivery = db.delivery(&mine, log.items[0].id).await.unwrap().unwrap();
    assert!(delivery.headers.contains("x-github-event"));
    assert!(
        db.delivery(&theirs, log.items[0].id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.deliveries(&theirs, everything())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Pending work is not retried; failed work is, as new.
    assert_eq!(
        db.requeue(id, Utc::now()).await.unwrap(),
        RetryOutcome::NotRetryable("pending".into())
    );
    let lease = Duration::from_secs(60);
    let job = db
        .claim("w1", Utc::now(), lease, 1)
        .await
        .unwrap()
        .remove(0);
    let failed = Finish::Done {
        status: EventStatus::Failed,
        detail: Some("GitHub answered 404".into()),
        result: None,
    };
    assert!(db.finish(&job, "w1", Utc::now(), failed).await.unwrap());
    assert_eq!(
        db.events(&mine, &failed_filter, everything())
            .await
            .unwrap()
            .total,
        1
    );
    // While another delivery of the same commit is in flight, the retry would be a second one.
    let other = queue(db, "d-2", SHA).await;
    assert_eq!(
        db.requeue(id, Utc::now()).await.unwrap(),
        RetryOutcome::AlreadyQueued
    );
    let job = db
        .claim("w1", Utc::now(), lease, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(job.event_id, other);
    let done = Finish::Done {
        status: EventStatus::Completed,
        detail: None,
        result: None,
    };
    assert!(db.finish(&job, "w1", Utc::now(), done).await.unwrap());
    assert_eq!(
        db.requeue(id, Utc::now()).await.unwrap(),
        RetryOutcome::Queued
    );
    let event = db.event(&mine, id).await.unwrap().unwrap();
    assert_eq!(
        (event.status.as_str(), event.attempts, event.last_error),
        ("pending", 0, None)
    );
}

async fn payload_of(db: &Db, id: i64) -> String {
    let row = db
        .connection()
        .query_one_raw(sea_orm::Statement::from_string(
            db.backend(),
            format!("SELECT payload FROM events WHERE id = {id}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "payload").unwrap()
}

async fn retention_purges_old_deliveries_and_finished_payloads_in_batches(db: &Db) {
    let now = Utc::now();
    let month_ago = now - chrono::Duration::days(31);
    for i in 0..3 {
        let mut old = record(&format!("old-{i}"));
        old.received_at = month_ago;
        db.append(old).await.unwrap();
    }
    db.append(record("new")).await.unwrap();
    let cut_off = now - chrono::Duration::days(30);
    assert_eq!(
        db.purge_deliveries(cut_off, 2).await.unwrap(),
        2,
        "at most the batch"
    );
    assert_eq!(db.purge_deliveries(cut_off, 2).await.unwrap(), 1);
    assert_eq!(db.purge_deliveries(cut_off, 2).await.unwrap(), 0);
    let log = db
        .deliveries(&scope(&["acme/api"]), everything())
        .await
        .unwrap();
    let left: Vec<_> = log
        .items
        .iter()
        .filter_map(|d| d.delivery_id.clone())
        .collect();
    assert_eq!(left, ["new"], "only the recent row is left");

    // Events: finished long ago, in flight long ago, finished recently.
    let week_ago = now - chrono::Duration::days(8);
    let ignored = |delivery: &str, at| {
        let mut event = pr_event(delivery, SHA, at);
        event.disposition = Disposition::Ignore {
            reason: "closed".into(),
        };
        event.payload = r#"{"action":"closed"}"#.into();
        event
    };
    let Recorded::Ignored { event_id: old_done } = db
        .record(ignored("e-old", week_ago), record("e-old"))
        .await
        .unwrap()
    else {
        panic!("not ignored")
    };
    let Recorded::Ignored { event_id: new_done } = db
        .record(ignored("e-new", now), record("e-new"))
        .await
        .unwrap()
    else {
        panic!("not ignored")
    };
    let mut pending = pr_event("e-pending", NEWER, week_ago);
    pending.payload = r#"{"action":"opened"}"#.into();
    let Recorded::Queued {
        event_id: in_flight,
        ..
    } = db.record(pending, record("e-pending")).await.unwrap()
    else {
        panic!("not queued")
    };
    let cut_off = now - chrono::Duration::days(7);
    assert_eq!(db.purge_payloads(cut_off, 10).await.unwrap(), 1);
    assert_eq!(
        db.purge_payloads(cut_off, 10).await.unwrap(),
        0,
        "not counted twice"
    );
    assert_eq!(payload_of(db, old_done).await, "");
    assert_eq!(payload_of(db, new_done).await, r#"{"action":"closed"}"#);
    assert_eq!(
        payload_of(db, in_flight).await,
        r#"{"action":"opened"}"#,
        "work in flight keeps its body"
    );
    assert_eq!(
        status_of(db, old_done).await,
        "ignored",
        "the event itself stays"
    );
}

async fn a_merge_is_queued_beside_a_review_of_its_commit_and_supersedes_nothing(db: &Db) {
    let review = queue(db, "d-review", SHA).await;
    let older = queue(db, "d-older", NEWER).await;
    assert_eq!(
        status_of(db, review).await,
        "superseded",
        "a newer review supersedes"
    );
    // The merge of the commit whose review is in flight: its own job, not a duplicate.
    let mut merged = pr_event("d-merged", NEWER, Utc::now());
    merged.event.action = Some("closed".into());
    merged.event.event_type = "closed_pull_request".into();
    if let Disposition::Queue { kind, .. } = &mut merged.disposition {
        *kind = JobKind::Index;
    }
    let Recorded::Queued {
        event_id: index,
        superseded,
    } = db.record(merged, record("d-merged")).await.unwrap()
    else {
        panic!("not queued")
    };
    assert_eq!(superseded, 0);
    assert_eq!(status_of(db, older).await, "pending", "the review stays");
    let jobs = db
        .claim("w", Utc::now(), Duration::from_secs(60), 10)
        .await
        .unwrap();
    let kinds: Vec<(i64, JobKind)> = jobs.iter().map(|j| (j.event_id, j.kind)).collect();
    assert_eq!(kinds, [(older, JobKind::Review), (index, JobKind::Index)]);
}

/// A review of pull request `number` at `sha`.
fn pr_event_on(number: u64, delivery: &str, sha: &str, now: DateTime<Utc>) -> NewEvent {
    let mut event = pr_event(delivery, sha, now);
    if let Some(pr) = event.event.pull_request.as_mut() {
        pr.number = number;
    }
    if let Disposition::Queue { key, .. } = &mut event.disposition {
        key.pr_number = number;
    }
    event
}

/// Concurrent writes go through the group commit: deliveries (with duplicates among them) and
/// finished attempts (some whose lease was lost, one finished twice at once) each get the answer
/// they would get alone, and every delivery gets its log row.
async fn writes_arriving_together_share_a_commit_and_each_gets_its_own_answer(db: &Db) {
    let now = Utc::now();
    let mut sends = Vec::new();
    for copy in 0..5 {
        for n in 0..8u64 {
            let db = db.clone();
            let delivery = format!("together-{n}");
            sends.push(tokio::spawn(async move {
                let answer = db
                    .record(
                        pr_event_on(100 + n, &delivery, &"c".repeat(40), now),
                        record(&delivery),
                    )
                    .await
                    .unwrap();
                (n, copy, answer)
            }));
        }
    }
    let mut queued = std::collections::HashMap::new();
    let mut duplicates = 0;
    for send in sends {
        match send.await.unwrap() {
            (n, _, Recorded::Queued { event_id, .. }) => {
                assert!(
                    queued.insert(n, event_id).is_none(),
                    "delivery {n} queued twice"
                );
            }
            (_, _, Recorded::DuplicateDelivery { .. }) => duplicates += 1,
            (n, copy, other) => panic!("delivery {n} copy {copy}: {other:?}"),
        }
    }
    assert_eq!((queued.len(), duplicates), (8, 32));
    let logged = db
        .connection()
        .query_one_raw(sea_orm::Statement::from_string(
            db.backend(),
            "SELECT COUNT(*) AS n FROM deliveries WHERE delivery_id LIKE 'together-%'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(logged, 40, "one log row per delivery");

    let jobs = db
        .claim("w1", now, Duration::from_secs(60), 8)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 8);
    // Four are given back and taken by w2: w1 no longer holds them.
    for job in &jobs[4..] {
        assert!(db.release(job, "w1").await.unwrap());
    }
    // Given back due at the time of release: claimed a moment later.
    let later = Utc::now() + chrono::Duration::seconds(1);
    let taken = db
        .claim("w2", later, Duration::from_secs(60), 8)
        .await
        .unwrap();
    assert_eq!(taken.len(), 4);
    let done = Finish::Done {
        status: EventStatus::Completed,
        detail: None,
        result: None,
    };
    let mut finishes = Vec::new();
    for (i, job) in jobs.iter().chain(std::iter::once(&jobs[0])).enumerate() {
        let (db, job, done) = (db.clone(), job.clone(), done.clone());
        finishes.push(tokio::spawn(async move {
            (i, db.finish(&job, "w1", now, done).await.unwrap())
        }));
    }
    let mut held = 0;
    for finish in finishes {
        let (i, answer) = finish.await.unwrap();
        assert!(
            !(4..8).contains(&i) || !answer,
            "w1 finished job {i} it no longer held"
        );
        held += usize::from(answer);
    }
    assert_eq!(
        held, 4,
        "each held job finished once, the one finished twice included"
    );
    for job in &jobs[..4] {
        assert_eq!(status_of(db, job.event_id).await, "completed");
        assert_eq!(db.runs(job.event_id).await.unwrap().len(), 1);
    }
    for job in &taken {
        assert_eq!(status_of(db, job.event_id).await, "processing");
        assert!(db.runs(job.event_id).await.unwrap().is_empty());
        assert!(db.finish(job, "w2", now, done.clone()).await.unwrap());
    }
}
