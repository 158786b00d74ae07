//! The hardening issue's remaining attacks, black-box: large forged bodies must not stall the server's
//! other answers, and what is past retention is purged while deliveries keep being taken.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use adapters_db::entities::{deliveries, events};
use chrono::Utc;
use nectr_tests::{
    Backend, CORPUS_SECRET, StatusCode, TestApp, delivery_id, on_both_backends, sign,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

on_both_backends!(what_is_past_retention_is_purged_in_batches_while_deliveries_are_taken,);

/// Only the delivery log is touched by a forged body: one backend is enough.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_forged_bodies_do_not_stall_the_other_answers() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    // A 24 MiB body that names a repository (so its secret is looked up) and carries a wrong
    // signature: reading, hashing and verifying it is the work an attacker gets for free.
    let mut body =
        br#"{"action":"opened","repository":{"full_name":"acme/backend"},"pull_request":{"body":""#
            .to_vec();
    body.resize(24 * 1024 * 1024 - 3, b'a');
    body.extend_from_slice(br#""}}"#);
    let forged = format!("sha256={}", "0".repeat(64));
    let senders: Vec<_> = (0..3)
        .map(|_| {
            let (client, url, body, forged) = (
                app.client.clone(),
                app.webhook_url(),
                body.clone(),
                forged.clone(),
            );
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..3 {
                    let sent = Instant::now();
                    let answer = client
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .header("X-GitHub-Event", "pull_request")
                        .header("X-GitHub-Delivery", delivery_id())
                        .header("X-Hub-Signature-256", &forged)
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    answers.push((answer.status(), sent.elapsed()));
                }
                answers
            })
        })
        .collect();
    // Meanwhile `/livez`, on fresh connections, answers as if nothing happened. On the event loop
    // (before), each body held the server thread it landed on while it was read, hashed and
    // verified, and a `/livez` landing there waited about as long as a forged body's own answer.
    // Measured against that answer's time, so the check holds on a slow or busy machine too.
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    while !senders.iter().all(|s| s.is_finished()) && started.elapsed() < Duration::from_secs(60) {
        let probe = reqwest::Client::new();
        let sent = Instant::now();
        let live = probe
            .get(format!("{}/livez", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(live.status(), StatusCode::OK);
        slowest = slowest.max(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut took = Vec::new();
    for sender in senders {
        let answers = sender.await.unwrap();
        assert!(
            answers
                .iter()
                .all(|(status, _)| *status == StatusCode::FORBIDDEN)
        );
        took.extend(answers.into_iter().map(|(_, elapsed)| elapsed));
    }
    took.sort();
    let forged_median = took[took.len() / 2];
    assert!(
        slowest * 2 < forged_median,
        "/livez took up to {slowest:?} while a forged body's answer took {forged_median:?}"
    );
    let rows = app.deliveries().await;
    assert_eq!(rows.len(), 9, "every forged body is in the log");
    assert!(rows.iter().all(|r| r.status_code == 403
        && r.cause.as_deref() == Some("signature_mismatch")
        && r.body_size == body.len() as i64
        && r.repository.as_deref() == Some("acme/backend")));
}

async fn what_is_past_retention_is_purged_in_batches_while_deliveries_are_taken(backend: Backend) {
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
            ("RETENTION_INTERVAL_SECONDS", "1"),
            ("DELIVERY_RETENTION_DAYS", "30"),
            ("PAYLOAD_RETENTION_DAYS", "7"),
        ],
    )
    .await
    else {
        return;
    };
    // What arrives: a forged request, a review, and an event that is recorded and ignored.
    let forged = app
        .deliver("pull_request", "forged-1", b"{}", Some("sha256=00"))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let in_flight = app
        .deliver_pull_request("acme/backend", 5, &"a".repeat(40), "opened")
        .await;
    let issue = json!({"action": "opened", "issue": {"number": 9}, "repository": {"full_name": "acme/backend"},
                       "sender": {"login": "dev", "type": "User"}})
    .to_string()
    .into_bytes();
    let ignored = app
        .deliver(
            "issues",
            "issue-1",
            &issue,
            Some(&sign(CORPUS_SECRET, &issue)),
        )
        .await;
    assert_eq!(ignored.body["status"], "ignored", "{}", ignored.body);

    // A month passes for the forged request and the ignored event, eight days for the review (still
    // pending), and 1,200 more forged requests of a month ago are in the log.
    let conn = app.db.connection();
    let month_ago = Utc::now() - chrono::Duration::days(31);
    let eight_days_ago = Utc::now() - chrono::Duration::days(8);
    deliveries::Entity::update_many()
        .col_expr(deliveries::Column::ReceivedAt, Expr::value(month_ago))
        .filter(deliveries::Column::DeliveryId.is_in(["forged-1", "issue-1"]))
        .exec(conn)
        .await
        .unwrap();
    events::Entity::update_many()
        .col_expr(events::Column::UpdatedAt, Expr::value(eight_days_ago))
        .exec(conn)
        .await
        .unwrap();
    let template = app.deliveries().await[0].clone();
    for batch in 0..4 {
        let rows = (0..300).map(|i| deliveries::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            delivery_id: sea_orm::ActiveValue::Set(Some(format!("old-{batch}-{i}"))),
            received_at: sea_orm::ActiveValue::Set(month_ago),
            ..sea_orm::IntoActiveModel::into_active_model(template.clone())
        });
        deliveries::Entity::insert_many(rows)
            .exec(conn)
            .await
            .unwrap();
    }

    // The job runs every second: the old rows go, in batches, while deliveries keep being taken.
    let started = Instant::now();
    let mut taken = 0;
    loop {
        let old = deliveries::Entity::find()
            .filter(deliveries::Column::ReceivedAt.lt(Utc::now() - chrono::Duration::days(30)))
            .count(conn)
            .await
            .unwrap();
        if old == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{old} old rows left"
        );
        taken += 1;
        app.deliver_pull_request("acme/backend", 100 + taken, &"b".repeat(40), "opened")
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left: Vec<String> = app
        .deliveries()
        .await
        .into_iter()
        .filter_map(|d| d.delivery_id)
        .collect();
    assert!(
        !left
            .iter()
            .any(|d| d.starts_with("old-") || d == "forged-1" || d == "issue-1")
    );
    assert_eq!(
        left.len() as u64,
        1 + taken,
        "the review's row and those sent meanwhile stay"
    );

    // Payloads: the finished (ignored) event's body is emptied; the pending review keeps its own.
    let started = Instant::now();
    let events = loop {
        let events = app.events().await;
        let ignored = events
            .iter()
            .find(|e| e.event_type == "opened_issue")
            .unwrap();
        if ignored.payload.is_empty() {
            break events;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "payload kept");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let review = events.iter().find(|e| e.id == in_flight).unwrap();
    assert!(
        review.payload.contains("\"head\""),
        "work in flight keeps its body"
    );
    assert_eq!(review.status, "pending");
    let recent = events
        .iter()
        .filter(|e| e.id > in_flight && e.event_type == "opened_pull_request");
    assert!(recent.into_iter().all(|e| !e.payload.is_empty()));
}
