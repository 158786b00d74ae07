//! The batched path of recording: deliveries recorded together come out as they would one by one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use domain::queue::JobKind;
use domain::webhook::delivery::Provider;
use domain::webhook::event::{DeliveredPullRequest, ReviewKey, WebhookEvent};
use domain::webhook::ports::{Disposition, NewEvent, Recorded};
use domain::webhook::values::{DeliveryId, HeadSha, RepoFullName};
use sea_orm::EntityTrait;

use super::{begin_write, record_all, supersede_all_statement};
use crate::Db;
use crate::body::Body;
use crate::entities::events;

fn review(delivery: &str, number: u64, sha: char, now: DateTime<Utc>) -> NewEvent {
    let key = ReviewKey {
        repository: RepoFullName::parse("acme/api").unwrap(),
        pr_number: number,
        head_sha: HeadSha::parse(&sha.to_string().repeat(40)).unwrap(),
    };
    NewEvent {
        provider: Provider::GitHub,
        delivery_id: DeliveryId::parse(delivery).unwrap(),
        event: WebhookEvent {
            name: "pull_request".into(),
            action: Some("synchronize".into()),
            event_type: "updated_pull_request".into(),
            repository: Some(key.repository.clone()),
            sender: Some("octocat".into()),
            sender_is_bot: false,
            comment: None,
            pull_request: Some(DeliveredPullRequest {
                number,
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

async fn record(db: &Db, events: &[&NewEvent]) -> Vec<Recorded> {
    let bodies: Vec<Body> = events
        .iter()
        .map(|e| Body::pack(e.payload.clone()))
        .collect();
    let pairs: Vec<(&NewEvent, &Body)> = events.iter().copied().zip(&bodies).collect();
    let txn = begin_write(db.writer()).await.unwrap();
    let recorded = record_all(&txn, &pairs).await.unwrap();
    txn.commit().await.unwrap();
    recorded
}

async fn row(db: &Db, id: i64) -> events::Model {
    events::Entity::find_by_id(id)
        .one(db.connection())
        .await
        .unwrap()
        .unwrap()
}

fn id(recorded: &Recorded) -> i64 {
    match recorded {
        Recorded::Queued { event_id, .. }
        | Recorded::AlreadyInFlight { event_id }
        | Recorded::DuplicateDelivery { event_id }
        | Recorded::Ignored { event_id }
        | Recorded::Done { event_id } => *event_id,
    }
}

#[tokio::test]
async fn deliveries_recorded_together_come_out_as_they_would_one_by_one_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("n.db").display());
    let db = Db::connect(&url, None).await.unwrap();
    db.migrate().await.unwrap();
    together_as_one_by_one(&db).await;
}

/// On the PostgreSQL server `NECTR_TEST_POSTGRES_URL` names, in a database of its own; skipped
/// without it (the conformance suite, which CI requires, records concurrently on both).
#[tokio::test]
async fn deliveries_recorded_together_come_out_as_they_would_one_by_one_on_postgres() {
    use sea_orm::ConnectionTrait;
    let Ok(admin_url) = std::env::var("NECTR_TEST_POSTGRES_URL") else {
        return;
    };
    let Ok(admin) = Db::connect(&admin_url, None).await else {
        assert!(
            std::env::var("NECTR_REQUIRE_POSTGRES").is_err(),
            "PostgreSQL is required"
        );
        return;
    };
    let name = format!("nectr_unit_{}", uuid::Uuid::new_v4().simple());
    admin
        .connection()
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let (path, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
    let base = path.rsplit_once('/').map_or(path, |(base, _)| base);
    let url = format!("{base}/{name}?{query}");
    let db = Db::connect(&url, None).await.unwrap();
    db.migrate().await.unwrap();
    together_as_one_by_one(&db).await;
    db.close().await.unwrap();
    admin
        .connection()
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
}

async fn together_as_one_by_one(db: &Db) {
    let db = db.clone();
    let now = Utc::now();
    let later = now + chrono::Duration::seconds(5);

    let older = record(&db, &[&review("d1", 7, 'a', now)]).await;
    let older_of_8 = record(&db, &[&review("d0", 8, '0', now)]).await;
    let in_flight = record(&db, &[&review("d2", 9, 'd', now)]).await;

    // Distinct pull requests: one insert, one supersede; the in-flight copy resolved on its own.
    let together = record(
        &db,
        &[
            &review("d3", 7, 'b', later),
            &review("d4", 8, 'c', later),
            &review("d5", 9, 'd', later),
            &review("d1", 7, 'a', now),
        ],
    )
    .await;
    assert!(matches!(
        together[0],
        Recorded::Queued { superseded: 1, .. }
    ));
    assert!(matches!(
        together[1],
        Recorded::Queued { superseded: 1, .. }
    ));
    assert_eq!(
        together[2],
        Recorded::AlreadyInFlight {
            event_id: id(&in_flight[0])
        }
    );
    assert_eq!(
        together[3],
        Recorded::DuplicateDelivery {
            event_id: id(&older[0])
        }
    );
    let superseded = row(&db, id(&older[0])).await;
    assert_eq!(superseded.status, "superseded");
    assert_eq!(
        superseded.reason.as_deref(),
        Some(
            format!(
                "superseded by event {} (head {})",
                id(&together[0]),
                "b".repeat(40)
            )
            .as_str()
        )
    );
    assert_eq!(
        superseded.updated_at.timestamp_micros(),
        later.timestamp_micros()
    );
    // Superseded by the same statement, each with its own review's reason.
    let superseded_8 = row(&db, id(&older_of_8[0])).await;
    assert_eq!(superseded_8.status, "superseded");
    assert_eq!(
        superseded_8.reason,
        Some(format!(
            "superseded by event {} (head {})",
            id(&together[1]),
            "c".repeat(40)
        ))
    );
    assert_eq!(row(&db, id(&together[1])).await.status, "pending");

    // Two of one pull request: one after the other, the later superseding the earlier.
    let same = record(
        &db,
        &[&review("d6", 10, 'e', now), &review("d7", 10, 'f', later)],
    )
    .await;
    assert!(matches!(same[0], Recorded::Queued { .. }));
    assert!(matches!(same[1], Recorded::Queued { superseded: 1, .. }));
    assert_eq!(row(&db, id(&same[0])).await.status, "superseded");
}

/// The supersede of a batch is looked up per pull request on `ix_events_pr`. Written as one `OR` with
/// its status filter outside, SQLite searched every pending event on `ix_events_due` instead, and
/// ingest fell from about 3,000 deliveries/s to under 700 as pending work piled up.
#[tokio::test]
async fn a_batch_supersedes_by_index_lookups_on_sqlite() {
    use sea_orm::ConnectionTrait;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("n.db").display());
    let db = Db::connect(&url, None).await.unwrap();
    db.migrate().await.unwrap();
    let now = Utc::now();
    let (a, b) = (review("d1", 7, 'a', now), review("d2", 8, 'b', now));
    let keys: Vec<ReviewKey> = [&a, &b]
        .iter()
        .map(|e| match &e.disposition {
            Disposition::Queue { key, .. } => key.clone(),
            _ => unreachable!("a review"),
        })
        .collect();
    let reviews = [(0, 1, &keys[0], &a), (1, 2, &keys[1], &b)];
    let mut statement = db.backend().build(&supersede_all_statement(&reviews));
    statement.sql = format!("EXPLAIN QUERY PLAN {}", statement.sql);
    let plan = db.connection().query_all_raw(statement).await.unwrap();
    let plan: Vec<String> = plan
        .iter()
        .map(|row| row.try_get::<String>("", "detail").unwrap())
        .collect();
    assert_eq!(
        plan.iter().filter(|d| d.contains("ix_events_pr")).count(),
        2,
        "{plan:?}"
    );
    assert!(
        !plan
            .iter()
            .any(|d| d.contains("ix_events_due") || d.starts_with("SCAN")),
        "{plan:?}"
    );
}
