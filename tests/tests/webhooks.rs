//! Black-box tests of `POST /api/v1/webhooks/github`, each on SQLite and on PostgreSQL with a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::type_complexity)]

use std::collections::HashMap;
use std::time::Duration;

use domain::accounts::InstallationRegistry;

use nectr_tests::{
    Backend, CORPUS_SECRET, StatusCode, TestApp, corpus, corpus_dir, delivery_id, on_both_backends,
    sign,
};
use serde_json::{Value, json};

on_both_backends!(
    every_corpus_payload_gets_the_right_answer,
    a_redelivered_delivery_is_skipped,
    a_rejected_delivery_may_come_again_and_be_accepted,
    a_newer_head_sha_supersedes_older_pending_work,
    an_older_head_sha_arriving_late_supersedes_nothing,
    a_stale_in_flight_review_no_longer_blocks_its_commit,
    fifty_concurrent_deliveries_of_one_commit_queue_exactly_one,
    forged_and_malformed_signatures_are_refused_and_logged,
    bad_requests_are_refused_with_a_clear_detail_and_logged,
    a_body_over_25_mib_is_refused_with_413,
    github_app_deliveries_are_ignored,
    the_installation_secret_is_used_for_its_repository,
    without_any_secret_deliveries_are_refused,
    the_insecure_development_setting_accepts_unsigned_deliveries,
    reopened_is_reviewed_when_enabled,
    health_reports_the_database,
    unknown_paths_get_a_json_404,
    headers_are_logged_with_signatures_redacted,
    every_answer_carries_the_security_headers,
    a_stalled_body_is_answered_408_and_logged_while_health_answers,
    past_the_buffered_bytes_budget_new_bodies_get_503_with_retry_after,
    a_forged_request_stores_a_bounded_row_and_long_names_are_refused,
);

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A reviewable `opened` payload for acme/backend#7 at `SHA_A`.
fn opened_pr() -> Vec<u8> {
    pr_payload("opened", 7, SHA_A, "2026-11-22T10:00:00Z")
}

fn pr_payload(action: &str, number: u64, sha: &str, updated_at: &str) -> Vec<u8> {
    json!({
        "action": action,
        "number": number,
        "pull_request": {
            "number": number, "state": "open", "draft": false,
            "head": {"sha": sha, "ref": "feature"}, "base": {"sha": SHA_A, "ref": "main"},
            "updated_at": updated_at,
        },
        "repository": {"full_name": "acme/backend", "name": "backend", "owner": {"login": "acme"}},
        "sender": {"login": "developer123", "type": "User"},
    })
    .to_string()
    .into_bytes()
}

/// Delivers a signed pull_request payload with a fresh delivery id.
async fn deliver_pr(
    app: &TestApp,
    action: &str,
    number: u64,
    sha: &str,
    updated_at: &str,
) -> nectr_tests::Answer {
    let body = pr_payload(action, number, sha, updated_at);
    deliver_signed(app, "pull_request", &delivery_id(), &body).await
}

async fn deliver_signed(
    app: &TestApp,
    event: &str,
    delivery: &str,
    body: &[u8],
) -> nectr_tests::Answer {
    app.deliver(event, delivery, body, Some(&sign(CORPUS_SECRET, body)))
        .await
}

/// The recorded answer for each corpus file (`fixtures/corpus/EXPECTED.tsv`), by path: status,
/// event type, and for duplicates the detail.
fn expected_answers() -> HashMap<String, (String, String, String)> {
    let tsv = std::fs::read_to_string(corpus_dir().join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let col = |i: usize| cols.get(i).copied().unwrap_or("").to_owned();
            (col(0), (col(1), col(2), col(3)))
        })
        .collect()
}

async fn every_corpus_payload_gets_the_right_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let expected = expected_answers();
    let mut posted = 0;
    for event in ["pull_request", "ping", "issues", "push"] {
        for file in corpus(event) {
            let payload: Value = serde_json::from_slice(&file.bytes).unwrap();
            let (status, event_type, detail) = expected
                .get(&file.path)
                .unwrap_or_else(|| panic!("{} has no recorded answer", file.path));
            let answer = app.deliver_file(event, &file).await;
            posted += 1;
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "{}: {}",
                file.path,
                answer.body
            );
            let body = &answer.body;
            assert_eq!(body["status"], status.as_str(), "{}: {body}", file.path);
            if !event_type.is_empty() {
                assert_eq!(body["event_type"], event_type.as_str(), "{}", file.path);
            }
            match status.as_str() {
                "received" => assert!(body["event_id"].as_i64().unwrap() > 0),
                "ignored" => assert!(!body["reason"].as_str().unwrap().is_empty()),
                "duplicate_skipped" => assert_eq!(body["detail"], detail.as_str(), "{}", file.path),
                _ => {
                    assert_eq!(body["zen"], payload["zen"]);
                    assert_eq!(body["hook_id"], payload["hook_id"]);
                }
            }
        }
    }
    // Every request is in the delivery log; every non-ping one is an event, none left pending but reviews.
    let deliveries = app.deliveries().await;
    assert_eq!(deliveries.len(), posted);
    assert!(
        deliveries
            .iter()
            .all(|d| d.status_code == 200 && d.body_sha256.is_some())
    );
    let events = app.events().await;
    let pings = corpus("ping").len();
    let duplicates = deliveries
        .iter()
        .filter(|d| d.outcome == "duplicate_skipped")
        .count();
    assert_eq!(events.len(), posted - pings - duplicates);
    for event in &events {
        let expected = if event.event_name == "pull_request" {
            ["pending", "ignored"]
        } else {
            ["ignored", "ignored"]
        };
        assert!(
            expected.contains(&event.status.as_str()),
            "event {} is {}",
            event.id,
            event.status
        );
        if event.status == "ignored" {
            assert!(event.reason.is_some() && event.processed_at.is_some());
        }
    }
    let received = expected.values().filter(|a| a.0 == "received").count();
    assert_eq!(
        events.iter().filter(|e| e.status == "pending").count(),
        received
    );
}

async fn a_redelivered_delivery_is_skipped(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = opened_pr();
    let id = delivery_id();
    let first = deliver_signed(&app, "pull_request", &id, &body).await;
    assert_eq!(first.body["status"], "received");
    let event_id = first.body["event_id"].as_i64().unwrap();
    let again = deliver_signed(&app, "pull_request", &id, &body).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again.body,
        json!({"status": "duplicate_skipped", "detail": format!("Delivery {id} was already accepted as event {event_id}")})
    );
    assert_eq!(app.events().await.len(), 1);
    let log = app.deliveries().await;
    assert_eq!(
        log.iter().map(|d| d.outcome.as_str()).collect::<Vec<_>>(),
        ["received", "duplicate_skipped"]
    );
    assert!(log.iter().all(|d| d.event_id == Some(event_id)));
}

async fn a_rejected_delivery_may_come_again_and_be_accepted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = opened_pr();
    let id = delivery_id();
    let forged = app
        .deliver(
            "pull_request",
            &id,
            &body,
            Some(&sign("wrong secret", &body)),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let redelivered = deliver_signed(&app, "pull_request", &id, &body).await;
    assert_eq!(
        redelivered.body["status"], "received",
        "{}",
        redelivered.body
    );
    let log = app.deliveries().await;
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].outcome.as_str(), log[0].cause.as_deref()),
        ("rejected", Some("signature_mismatch"))
    );
    assert_eq!(log[1].outcome, "received");
}

async fn a_newer_head_sha_supersedes_older_pending_work(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let opened = deliver_pr(&app, "opened", 7, SHA_A, "2026-11-22T10:00:00Z").await;
    let pushed = deliver_pr(&app, "synchronize", 7, SHA_B, "2026-11-22T10:05:00Z").await;
    assert_eq!(opened.body["status"], "received");
    assert_eq!(pushed.body["status"], "received");
    assert_eq!(pushed.body["event_type"], "synchronize_pull_request");
    let events = app.events().await;
    assert_eq!(events[0].status, "superseded");
    assert!(
        events[0]
            .reason
            .as_deref()
            .unwrap()
            .contains(&format!("superseded by event {}", events[1].id))
    );
    assert_eq!(events[1].status, "pending");
    // The same commit again is now a duplicate of the newer work, and another PR is unaffected.
    let again = deliver_pr(&app, "synchronize", 7, SHA_B, "2026-11-22T10:05:00Z").await;
    assert_eq!(
        again.body,
        json!({"status": "duplicate_skipped", "detail": "Event already exists for acme/backend#7"})
    );
    let other = deliver_pr(&app, "opened", 8, SHA_A, "2026-11-22T10:06:00Z").await;
    assert_eq!(other.body["status"], "received");
    assert_eq!(app.events().await[1].status, "pending");
}

async fn an_older_head_sha_arriving_late_supersedes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    deliver_pr(&app, "synchronize", 7, SHA_B, "2026-11-22T10:05:00Z").await;
    let late = deliver_pr(&app, "opened", 7, SHA_A, "2026-11-22T10:00:00Z").await;
    assert_eq!(late.body["status"], "received");
    let events = app.events().await;
    assert_eq!(
        events[0].status, "pending",
        "the newer commit's work must survive a late, older delivery"
    );
}

async fn a_stale_in_flight_review_no_longer_blocks_its_commit(backend: Backend) {
    use adapters_db::entities::events;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = opened_pr();
    let first = deliver_signed(&app, "pull_request", &delivery_id(), &body).await;
    let first_id = first.body["event_id"].as_i64().unwrap();
    // Age the in-flight review past the one-hour window.
    let two_hours_ago = chrono::Utc::now() - chrono::Duration::hours(2);
    events::Entity::update_many()
        .col_expr(events::Column::CreatedAt, Expr::value(two_hours_ago))
        .filter(events::Column::Id.eq(first_id))
        .exec(app.db.connection())
        .await
        .unwrap();
    let second = deliver_signed(&app, "pull_request", &delivery_id(), &body).await;
    assert_eq!(second.body["status"], "received", "{}", second.body);
    let events = app.events().await;
    assert_eq!(events[0].status, "superseded");
    assert!(events[0].reason.as_deref().unwrap().starts_with("stale"));
}

async fn fifty_concurrent_deliveries_of_one_commit_queue_exactly_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = pr_payload("synchronize", 9, SHA_B, "2026-11-22T10:00:00Z");
    let answers = futures_util::future::join_all((0..50).map(|_| {
        let id = delivery_id();
        let body = body.clone();
        let app = &app;
        async move { deliver_signed(app, "pull_request", &id, &body).await }
    }))
    .await;
    assert!(
        answers.iter().all(|a| a.status == StatusCode::OK),
        "{:?}",
        answers.iter().find(|a| a.status != StatusCode::OK)
    );
    let received = answers
        .iter()
        .filter(|a| a.body["status"] == "received")
        .count();
    let skipped = answers
        .iter()
        .filter(|a| a.body["status"] == "duplicate_skipped")
        .count();
    assert_eq!((received, skipped), (1, 49));
    assert_eq!(app.events().await.len(), 1);
    assert_eq!(app.deliveries().await.len(), 50);
}

async fn forged_and_malformed_signatures_are_refused_and_logged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let file = &corpus("pull_request")
        .into_iter()
        .find(|f| f.path.ends_with("/opened.json"))
        .unwrap();
    let mut altered = file.bytes.clone();
    let at = altered.len() / 2;
    altered[at] ^= 0x01;
    let sha1 = (
        "X-Hub-Signature",
        "sha1=d03207e4b030cf234e3447bac4d93add4c6643d8".to_owned(),
    );
    let cases: Vec<(Vec<u8>, Option<String>, Option<(&str, String)>, &str)> = vec![
        (
            altered,
            Some(file.signature.clone()),
            None,
            "signature_mismatch",
        ),
        (
            file.bytes.clone(),
            Some(sign("not the secret", &file.bytes)),
            None,
            "signature_mismatch",
        ),
        (file.bytes.clone(), None, None, "signature_missing"),
        (file.bytes.clone(), None, Some(sha1), "signature_sha1_only"),
        (
            file.bytes.clone(),
            Some(file.signature.replace("sha256=", "sha512=")),
            None,
            "signature_wrong_prefix",
        ),
        (
            file.bytes.clone(),
            Some("sha256=zz".to_owned() + &file.signature[9..]),
            None,
            "signature_malformed",
        ),
    ];
    for (body, signature, extra, cause) in &cases {
        let mut headers = vec![
            ("Content-Type", "application/json".to_owned()),
            ("X-GitHub-Event", "pull_request".to_owned()),
            ("X-GitHub-Delivery", delivery_id()),
        ];
        if let Some(s) = signature {
            headers.push(("X-Hub-Signature-256", s.clone()));
        }
        headers.extend(extra.clone());
        let answer = app.post(&headers, body.clone()).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{cause}");
        assert_eq!(
            answer.body,
            json!({"detail": "Invalid webhook signature"}),
            "{cause}"
        );
    }
    assert!(
        app.events().await.is_empty(),
        "a forged delivery must record no event"
    );
    let log = app.deliveries().await;
    let causes: Vec<&str> = log.iter().map(|d| d.cause.as_deref().unwrap()).collect();
    assert_eq!(causes, cases.iter().map(|c| c.3).collect::<Vec<_>>());
    assert!(
        log.iter()
            .all(|d| d.outcome == "rejected" && d.status_code == 403)
    );
}

async fn bad_requests_are_refused_with_a_clear_detail_and_logged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let good = opened_pr();
    let signed = |body: &[u8]| sign(CORPUS_SECRET, body);
    let base = |event: Option<&str>, content_type: &str, body: &[u8]| {
        let mut h = vec![
            ("Content-Type", content_type.to_owned()),
            ("X-GitHub-Delivery", delivery_id()),
            ("X-Hub-Signature-256", signed(body)),
        ];
        if let Some(e) = event {
            h.push(("X-GitHub-Event", e.to_owned()));
        }
        h
    };
    let broken = b"{\"action\": \"opened\", ".to_vec();
    let no_sha = br#"{"action":"opened","pull_request":{"number":1},"repository":{"full_name":"acme/backend"}}"#.to_vec();
    let cases: Vec<(Vec<(&str, String)>, Vec<u8>, StatusCode, &str, &str)> = vec![
        (
            base(None, "application/json", &good),
            good.clone(),
            StatusCode::BAD_REQUEST,
            "missing_event_header",
            "Missing X-GitHub-Event header",
        ),
        (
            base(Some("pull_request"), "application/json", &broken),
            broken.clone(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "Malformed JSON payload",
        ),
        (
            base(Some("pull_request"), "application/json", &no_sha),
            no_sha.clone(),
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "Invalid payload",
        ),
        (
            base(
                Some("pull_request"),
                "application/x-www-form-urlencoded",
                b"payload=%7B%7D",
            ),
            b"payload=%7B%7D".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json",
        ),
        (
            vec![
                ("Content-Type", "application/json".into()),
                ("X-GitHub-Event", "pull_request".into()),
                ("X-Hub-Signature-256", signed(&good)),
            ],
            good.clone(),
            StatusCode::BAD_REQUEST,
            "missing_delivery_id",
            "Missing X-GitHub-Delivery header",
        ),
    ];
    for (headers, body, status, cause, detail) in &cases {
        let answer = app.post(headers, body.clone()).await;
        assert_eq!(answer.status, *status, "{cause}: {}", answer.body);
        let got = answer.body["detail"].as_str().unwrap_or_default();
        assert!(got.starts_with(detail), "{cause}: {got}");
    }
    assert!(app.events().await.is_empty());
    let log = app.deliveries().await;
    assert_eq!(log.len(), cases.len());
    for (row, case) in log.iter().zip(&cases) {
        assert_eq!(row.cause.as_deref(), Some(case.3));
        assert_eq!(row.status_code, i32::from(case.2.as_u16()));
        assert_eq!(row.outcome, "rejected");
    }
}

async fn a_body_over_25_mib_is_refused_with_413(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut body = b"{\"padding\":\"".to_vec();
    body.resize(25 * 1024 * 1024 + 10, b'a');
    body.extend_from_slice(b"\"}");
    let answer = app
        .deliver(
            "push",
            &delivery_id(),
            &body,
            Some(&sign(CORPUS_SECRET, &body)),
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        answer.body,
        json!({"detail": "Payload exceeds the 25 MiB limit"})
    );
    let log = app.deliveries().await;
    assert_eq!(log[0].cause.as_deref(), Some("payload_too_large"));
    assert_eq!(log[0].body_size, body.len() as i64);
    assert!(log[0].body_sha256.is_none());
    // Exactly at the limit is still read (and here ignored as a push).
    let mut at_limit = b"{\"padding\":\"".to_vec();
    at_limit.resize(25 * 1024 * 1024 - 2, b'a');
    at_limit.extend_from_slice(b"\"}");
    let answer = app
        .deliver(
            "push",
            &delivery_id(),
            &at_limit,
            Some(&sign(CORPUS_SECRET, &at_limit)),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

async fn github_app_deliveries_are_ignored(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let file = &corpus("pull_request")
        .into_iter()
        .find(|f| f.path.ends_with("/ready_for_review.with-installation.json"))
        .unwrap();
    let headers = vec![
        ("Content-Type", "application/json".to_owned()),
        ("X-GitHub-Event", "pull_request".to_owned()),
        ("X-GitHub-Delivery", delivery_id()),
        (
            "X-GitHub-Hook-Installation-Target-Type",
            "integration".to_owned(),
        ),
        ("X-Hub-Signature-256", file.signature.clone()),
    ];
    let answer = app.post(&headers, file.bytes.clone()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["status"], "ignored");
    assert_eq!(answer.body["event_type"], "ready_for_review_pull_request");
    assert!(
        answer.body["reason"]
            .as_str()
            .unwrap()
            .contains("GitHub App")
    );
    assert!(app.events().await.is_empty());
    assert_eq!(
        app.deliveries().await[0].cause.as_deref(),
        Some("github_app_delivery")
    );
}

async fn the_installation_secret_is_used_for_its_repository(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let repo = domain::webhook::values::RepoFullName::parse("Acme/Backend").unwrap();
    let user_id = insert_user(&app).await;
    let secret =
        domain::webhook::values::WebhookSecret::parse("per-repository-secret-0123456789abcdef")
            .unwrap();
    app.db
        .create_installation(user_id, &repo, Some(1), &secret)
        .await
        .unwrap();
    // A second active installation of the same repository (any case) is refused: lookups stay unambiguous.
    let same = domain::webhook::values::RepoFullName::parse("acme/backend").unwrap();
    assert!(matches!(
        app.db
            .create_installation(user_id, &same, Some(2), &secret)
            .await,
        Err(domain::Error::Duplicate(_))
    ));

    let body = opened_pr();
    let with_global = deliver_signed(&app, "pull_request", &delivery_id(), &body).await;
    assert_eq!(
        with_global.status,
        StatusCode::FORBIDDEN,
        "the global secret must not open a connected repository"
    );
    let with_repo = app
        .deliver(
            "pull_request",
            &delivery_id(),
            &body,
            Some(&sign("per-repository-secret-0123456789abcdef", &body)),
        )
        .await;
    assert_eq!(with_repo.body["status"], "received");
}

async fn insert_user(app: &TestApp) -> i64 {
    use adapters_db::entities::users;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let now = chrono::Utc::now();
    let user = users::ActiveModel {
        github_id: Set(1),
        login: Set("octocat".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    users::Entity::insert(user)
        .exec(app.db.connection())
        .await
        .unwrap()
        .last_insert_id
}

async fn without_any_secret_deliveries_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[]).await else {
        return;
    };
    let body = opened_pr();
    let answer = deliver_signed(&app, "pull_request", &delivery_id(), &body).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let unsigned = app
        .deliver("pull_request", &delivery_id(), &body, None)
        .await;
    assert_eq!(unsigned.status, StatusCode::FORBIDDEN);
    assert!(app.events().await.is_empty());
    assert!(
        app.deliveries()
            .await
            .iter()
            .all(|d| d.cause.as_deref() == Some("no_secret_configured"))
    );
}

async fn the_insecure_development_setting_accepts_unsigned_deliveries(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("ALLOW_UNSIGNED_WEBHOOKS", "true")]).await
    else {
        return;
    };
    let body = opened_pr();
    let answer = app
        .deliver("pull_request", &delivery_id(), &body, None)
        .await;
    assert_eq!(answer.body["status"], "received");
}

async fn reopened_is_reviewed_when_enabled(backend: Backend) {
    let file = corpus("pull_request")
        .into_iter()
        .find(|f| f.path.ends_with("/reopened.json"))
        .unwrap();
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let answer = app.deliver_file("pull_request", &file).await;
    assert_eq!(answer.body["status"], "ignored");
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
            ("REVIEW_ON_REOPENED", "true"),
        ],
    )
    .await
    else {
        return;
    };
    let answer = app.deliver_file("pull_request", &file).await;
    assert_eq!(answer.body["status"], "received");
    assert_eq!(answer.body["event_type"], "reopened_pull_request");
}

async fn health_reports_the_database(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app
        .client
        .get(format!("{}/health", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["database"].as_str()),
        (Some("ok"), Some("ok"))
    );
}

async fn unknown_paths_get_a_json_404(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app
        .client
        .get(format!("{}/nope", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"detail": "Not Found"})
    );
    let get = app.client.get(app.webhook_url()).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get.headers()["allow"], "POST");
    assert_eq!(
        get.json::<Value>().await.unwrap(),
        json!({"detail": "The webhook endpoint takes POST, not GET"})
    );
    let put = app
        .client
        .put(app.webhook_url())
        .header("x-github-event", "push")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Both are in the delivery log, like every request the endpoint sees.
    let rows: Vec<(i32, Option<String>, Option<String>)> = app
        .deliveries()
        .await
        .into_iter()
        .map(|d| (d.status_code, d.cause, d.event))
        .collect();
    assert_eq!(
        rows,
        [
            (405, Some("method_not_allowed".to_owned()), None),
            (
                405,
                Some("method_not_allowed".to_owned()),
                Some("push".to_owned())
            ),
        ]
    );
}

async fn headers_are_logged_with_signatures_redacted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = opened_pr();
    let signature = sign(CORPUS_SECRET, &body);
    let mut headers = vec![
        ("Content-Type", "application/json".to_owned()),
        ("X-GitHub-Event", "pull_request".to_owned()),
        ("X-GitHub-Delivery", "fixed-delivery-id".to_owned()),
        ("X-Hub-Signature-256", signature.clone()),
    ];
    // Headers whose names carry credentials, as a proxy or a forger may add them.
    let credentials = [
        ("X-Auth", "xauth-value-1"),
        ("X-Password", "xpassword-value-2"),
        ("X-Access-Key", "xaccesskey-value-3"),
    ];
    headers.extend(credentials.iter().map(|(n, v)| (*n, (*v).to_owned())));
    assert_eq!(
        app.post(&headers, body.clone()).await.status,
        StatusCode::OK
    );
    let row = &app.deliveries().await[0];
    let headers: Value = serde_json::from_str(&row.headers).unwrap();
    assert_eq!(headers["x-hub-signature-256"], "[REDACTED]");
    for (name, value) in credentials {
        assert_eq!(headers[name.to_ascii_lowercase()], "[REDACTED]", "{name}");
        assert!(!row.headers.contains(value), "{name} stored");
    }
    assert_eq!(headers["x-github-event"], "pull_request");
    assert!(!row.headers.contains(&signature[7..]));
    assert_eq!(row.delivery_id.as_deref(), Some("fixed-delivery-id"));
    assert_eq!(
        (
            row.event.as_deref(),
            row.action.as_deref(),
            row.repository.as_deref()
        ),
        (Some("pull_request"), Some("opened"), Some("acme/backend"))
    );
    assert_eq!(row.body_size, body.len() as i64);
    assert_eq!(row.body_sha256.as_deref().map(str::len), Some(64));
}

async fn every_answer_carries_the_security_headers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let get = |path: &str| app.client.get(format!("{}{path}", app.address)).send();
    let forged = app
        .client
        .post(app.webhook_url())
        .header("content-type", "application/json")
        .header("x-github-event", "ping")
        .header("x-github-delivery", delivery_id())
        .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
        .body(r#"{"zen":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let responses = [
        ("/health", get("/health").await.unwrap()),
        ("/livez", get("/livez").await.unwrap()),
        ("/nope", get("/nope").await.unwrap()),
        ("/api/v1/events", get("/api/v1/events").await.unwrap()),
        ("/auth/me", get("/auth/me").await.unwrap()),
        ("webhook", forged),
    ];
    for (path, response) in &responses {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(
            headers["content-security-policy"], "frame-ancestors 'none'",
            "{path}"
        );
        let private = path.starts_with("/api/") || path.starts_with("/auth/") || *path == "webhook";
        assert_eq!(
            headers.get("cache-control").map(|v| v.to_str().unwrap()),
            private.then_some("no-store"),
            "{path}"
        );
    }
}

/// Opens a connection and sends a webhook request's head and the first `sent` bytes of a body of
/// `declared` bytes, then nothing more.
async fn stall(app: &TestApp, declared: usize, sent: usize) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {}\r\nContent-Length: {declared}\r\n\r\n",
        delivery_id()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b' '; sent]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// The status line the server sends on `stream`, within `patience`.
async fn status_line(stream: &mut tokio::net::TcpStream, patience: Duration) -> String {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0u8; 4096];
    let read = tokio::time::timeout(patience, stream.read(&mut buffer))
        .await
        .expect("an answer within the deadline")
        .unwrap();
    String::from_utf8_lossy(&buffer[..read])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn a_stalled_body_is_answered_408_and_logged_while_health_answers(backend: Backend) {
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
            ("BODY_READ_TIMEOUT_SECONDS", "1"),
        ],
    )
    .await
    else {
        return;
    };
    let started = std::time::Instant::now();
    let mut stalled = stall(&app, 28_011, 1).await;
    // Meanwhile a normal client is answered at once.
    let health = app
        .client
        .get(format!("{}/health", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let line = status_line(&mut stalled, Duration::from_secs(5)).await;
    assert!(line.starts_with("HTTP/1.1 408"), "{line}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let row = &app.deliveries().await[0];
    assert_eq!(
        (row.status_code, row.cause.as_deref(), row.body_size),
        (408, Some("body_timeout"), 1)
    );
    assert_eq!(
        row.detail.as_deref(),
        Some("The request body did not arrive within 1 s")
    );
}

async fn past_the_buffered_bytes_budget_new_bodies_get_503_with_retry_after(backend: Backend) {
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
            ("BODY_READ_TIMEOUT_SECONDS", "2"),
            ("MAX_BUFFERED_BODY_BYTES", "40000"),
        ],
    )
    .await
    else {
        return;
    };
    // One slow body holds 30,000 bytes of the 40,000.
    let mut slow = stall(&app, 35_000, 30_000).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = opened_pr();
    let padded = {
        // A real delivery of about 15 KB: past what is left of the budget.
        let mut payload: Value = serde_json::from_slice(&body).unwrap();
        payload["pull_request"]["body"] = json!("x".repeat(15_000));
        payload.to_string().into_bytes()
    };
    let refused = app
        .client
        .post(app.webhook_url())
        .header("content-type", "application/json")
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", delivery_id())
        .header("x-hub-signature-256", sign(CORPUS_SECRET, &padded))
        .body(padded.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "5");
    assert_eq!(
        refused.json::<Value>().await.unwrap(),
        json!({"detail": "Too many deliveries are being received at once; retry shortly"})
    );
    // The slow body runs out of time and gives its bytes back: the same delivery is now accepted.
    let line = status_line(&mut slow, Duration::from_secs(5)).await;
    assert!(line.starts_with("HTTP/1.1 408"), "{line}");
    let accepted = deliver_signed(&app, "pull_request", &delivery_id(), &padded).await;
    assert_eq!(accepted.body["status"], "received", "{}", accepted.body);
    let causes: Vec<Option<String>> = app
        .deliveries()
        .await
        .into_iter()
        .map(|d| d.cause)
        .collect();
    assert_eq!(
        causes,
        [
            Some("overloaded".to_owned()),
            Some("body_timeout".to_owned()),
            None
        ]
    );
}

async fn a_forged_request_stores_a_bounded_row_and_long_names_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = opened_pr();
    let pad = "p".repeat(16_000);
    let extra: Vec<String> = (0..20).map(|i| format!("X-Extra-{i}")).collect();
    let mut headers = vec![
        ("Content-Type", "application/json".to_owned()),
        ("X-GitHub-Event", "pull_request".to_owned()),
        ("X-GitHub-Delivery", delivery_id()),
        ("X-Hub-Signature-256", format!("sha256={}", "0".repeat(64))),
        ("User-Agent", "u".repeat(4_000)),
        ("X-Pad", pad),
    ];
    headers.extend(extra.iter().map(|n| (n.as_str(), "v".repeat(100))));
    assert_eq!(
        app.post(&headers, body.clone()).await.status,
        StatusCode::FORBIDDEN
    );

    // Over-long or malformed event names are refused, and logged cut short.
    let long_event = "a".repeat(2_000);
    for event in [long_event.as_str(), "Pull Request"] {
        let answer = app
            .post(
                &[
                    ("Content-Type", "application/json".to_owned()),
                    ("X-GitHub-Event", event.to_owned()),
                    ("X-GitHub-Delivery", delivery_id()),
                ],
                body.clone(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{event}");
        assert!(
            answer.body["detail"]
                .as_str()
                .unwrap()
                .starts_with("Invalid X-GitHub-Event header"),
            "{}",
            answer.body
        );
    }
    let long_delivery = "d".repeat(5_000);
    let answer = app
        .post(
            &[
                ("Content-Type", "application/json".to_owned()),
                ("X-GitHub-Event", "pull_request".to_owned()),
                ("X-GitHub-Delivery", long_delivery),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);

    for row in app.deliveries().await {
        let stored = row.headers.len()
            + row.delivery_id.as_deref().map_or(0, str::len)
            + row.event.as_deref().map_or(0, str::len)
            + row.action.as_deref().map_or(0, str::len)
            + row.repository.as_deref().map_or(0, str::len)
            + row.detail.as_deref().map_or(0, str::len)
            + row.cause.as_deref().map_or(0, str::len);
        assert!(
            stored < 2_048,
            "row {} stores {stored} bytes of text",
            row.id
        );
    }
    let forged = &app.deliveries().await[0];
    let kept: Value = serde_json::from_str(&forged.headers).unwrap();
    // Other headers are named (the first eight, in whatever order the server lists them), never kept.
    assert!(
        !forged.headers.contains(&"p".repeat(100)) && !forged.headers.contains(&"v".repeat(100))
    );
    let named = kept
        .as_object()
        .unwrap()
        .values()
        .filter(|v| *v == "[not stored]")
        .count();
    assert_eq!(named, 8);
    assert_eq!(kept["x-nectr-omitted"], "13 more headers");
    assert_eq!(kept["user-agent"].as_str().unwrap().len(), 96);
}

/// PostgreSQL only (SQLite has no network to lose): a proxy between nectr and its database is cut
/// (a crashed server: connections refused) or stalled (a hung server or a partition: connections
/// open, nothing answered), then restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_database_outage_requests_answer_503_within_3_s_and_service_recovers() {
    let Some(target) = nectr_tests::postgres_address() else {
        return;
    };
    let proxy = nectr_tests::proxy::TcpProxy::start(target).await;
    let via = format!("127.0.0.1:{}", proxy.port);
    let Some(app) = TestApp::spawn_with(
        Backend::Postgres,
        &[
            ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
            ("NECTR_TEST_DATABASE_VIA", &via),
        ],
    )
    .await
    else {
        return;
    };
    let mut number = 0;
    let mut acknowledged = Vec::new();
    for outage in ["stall", "cut"] {
        number += 1;
        let before = deliver_pr(&app, "opened", number, SHA_A, "2026-11-22T10:00:00Z").await;
        assert_eq!(before.body["status"], "received", "{}", before.body);
        acknowledged.push(Some(number as i64));
        match outage {
            "stall" => proxy.stall(),
            _ => proxy.cut(),
        }
        for _ in 0..3 {
            number += 1;
            let started = std::time::Instant::now();
            let answer = deliver_pr(&app, "opened", number, SHA_A, "2026-11-22T10:00:00Z").await;
            assert_eq!(
                answer.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{outage}: {}",
                answer.body
            );
            let took = started.elapsed();
            assert!(took < Duration::from_secs(3), "{outage}: {took:?}");
            assert!(answer.body["request_id"].is_string(), "{}", answer.body);
        }
        for path in ["/health", "/api/v1/events"] {
            let started = std::time::Instant::now();
            let response = app
                .client
                .get(format!("{}{path}", app.address))
                .header("cookie", "nectr_session=x.y")
                .send()
                .await
                .unwrap();
            let took = started.elapsed();
            assert!(took < Duration::from_secs(3), "{outage} {path}: {took:?}");
            assert!(
                matches!(
                    response.status(),
                    StatusCode::SERVICE_UNAVAILABLE | StatusCode::UNAUTHORIZED
                ),
                "{outage} {path}: {}",
                response.status()
            );
        }
        let live = app
            .client
            .get(format!("{}/livez", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(live.status(), StatusCode::OK);

        // Back without a restart.
        proxy.restore();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let health = app
                .client
                .get(format!("{}/health", app.address))
                .send()
                .await
                .unwrap();
            if health.status() == StatusCode::OK {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no recovery after {outage}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        number += 1;
        let after = deliver_pr(&app, "opened", number, SHA_A, "2026-11-22T10:00:00Z").await;
        assert_eq!(after.body["status"], "received", "{outage}: {}", after.body);
        acknowledged.push(Some(number as i64));
    }
    // Every delivery answered `received` is stored. A refused one may have been stored too (its
    // commit can land after the answer): GitHub's redelivery is then a duplicate, never a loss.
    let stored: Vec<Option<i64>> = app
        .events()
        .await
        .into_iter()
        .map(|e| e.pr_number)
        .collect();
    for number in &acknowledged {
        assert!(stored.contains(number), "{number:?} lost: {stored:?}");
    }
}
