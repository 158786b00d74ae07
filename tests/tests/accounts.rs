//! Accounts, black-box, on SQLite and PostgreSQL, with the fake GitHub serving OAuth and the API:
//! the sign-in flow (state reuse, expiry and forgery refused), connecting, rotating and disconnecting
//! repositories, two users each seeing and acting on their own only, values encrypted at rest, and
//! rotating the encryption key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use adapters_db::entities::{event_runs, events, installations, users};
use app_server::api::manage::{EventBody, PageBody};
use app_server::{Application, Settings};
use domain::accounts::SessionStore;
use nectr_tests::api::{
    Session, Started, begin, browser, callback, callback_from, set_cookie, sign_in,
};
use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{
    Backend, TEST_ENCRYPTION_KEYS, TEST_SESSION_KEY, TestApp, delivery_id, on_both_backends, sign,
};
use reqwest::StatusCode;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

on_both_backends!(
    signing_in_checks_a_single_use_state_and_starts_a_signed_session,
    two_users_connect_rotate_and_disconnect_each_their_own,
    encryption_keys_rotate_without_losing_a_secret,
    a_connected_repository_is_reviewed_with_its_users_token,
    out_of_range_query_values_are_refused_with_a_clear_detail,
    production_sessions_use_a_host_prefixed_secure_cookie,
    cross_site_state_changes_are_refused_and_same_origin_json_works,
);

const WEB: &str = "acme/web";
const TOOLS: &str = "bob/tools";

async fn start(backend: Backend, github: &FakeGitHub, extra: &[(&str, &str)]) -> Option<TestApp> {
    let settings = github.app_settings();
    let mut vars: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.extend_from_slice(extra);
    TestApp::spawn_with(backend, &vars).await
}

/// A signed `opened` delivery for `repo` as GitHub sends it with `secret`.
async fn deliver(app: &TestApp, repo: &str, number: u64, secret: &str) -> (StatusCode, Value) {
    let body = json!({
        "action": "opened", "number": number,
        "pull_request": {"number": number, "state": "open", "draft": false, "head": {"sha": "a".repeat(40)},
                         "updated_at": "2026-11-22T10:00:00Z"},
        "repository": {"full_name": repo}, "sender": {"login": "dev", "type": "User"},
    })
    .to_string()
    .into_bytes();
    let answer = app
        .deliver(
            "pull_request",
            &delivery_id(),
            &body,
            Some(&sign(secret, &body)),
        )
        .await;
    (answer.status, answer.body)
}

async fn signing_in_checks_a_single_use_state_and_starts_a_signed_session(backend: Backend) {
    let github = FakeGitHub::start().await;
    github
        .serve_sign_in("code-alice", "gho_alicetoken", "alice", 101, &[WEB])
        .await;
    let Some(app) = start(backend, &github, &[]).await else {
        return;
    };
    // Not signed in: 401 everywhere.
    for path in [
        "/auth/me",
        "/api/v1/repos",
        "/api/v1/events",
        "/api/v1/reviews",
        "/api/v1/deliveries",
    ] {
        let reply = app.call::<Value>(reqwest::Method::GET, path, None).await;
        let (status, body) = (reply.status, reply.body);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["detail"], "Sign in first: GET /auth/github");
    }

    let response = browser()
        .get(format!("{}/auth/github", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!(
            "{}/login/oauth/authorize?client_id=Iv1.testclientid&scope=repo%20read%3Auser%20user%3Aemail&state=",
            github.url()
        )),
        "{location}"
    );
    assert!(
        location.ends_with("&redirect_uri=https%3A%2F%2Fnectr.example%2Fauth%2Fgithub%2Fcallback")
    );
    let state = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("state="))
        .unwrap()
        .to_owned();
    let (state_cookie, state_attributes) = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("nectr_oauth_state="))
        .map(|v| (v.split(';').next().unwrap().to_owned(), v))
        .expect("the state is bound to this browser by a cookie");
    assert!(
        state_attributes.contains("HttpOnly") && state_attributes.contains("SameSite=Lax"),
        "{state_attributes}"
    );
    let started = Started {
        state: state.clone(),
        cookie: state_cookie,
    };

    // GitHub sends another browser back with this state (a login CSRF link): refused, and the state
    // still serves the browser that started the sign-in.
    let other = callback_from(&app, "code-alice", &state, None).await;
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    assert!(
        set_cookie(&other).is_none(),
        "no session for the other browser"
    );
    let detail = other.json::<Value>().await.unwrap()["detail"].clone();
    assert_eq!(
        detail,
        "this sign-in was started in another browser (or its cookie expired); start again at /auth/github"
    );
    let theirs = begin(&app).await;
    assert_eq!(
        callback_from(&app, "code-alice", &state, Some(&theirs.cookie))
            .await
            .status(),
        StatusCode::BAD_REQUEST,
        "a cookie of another sign-in does not match"
    );

    let response = callback(&app, "code-alice", &started).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/auth/me");
    let (cookie, attributes) = set_cookie(&response).unwrap();
    assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite=Lax"));
    assert!(!attributes.contains("Secure"), "plain HTTP in development");
    let session = Session(cookie.clone());
    let me = app.me(&session).await.ok();
    assert_eq!((me.login.as_str(), me.github_id), ("alice", 101));

    // The state is single use; forged and expired states are refused; nothing signs in.
    let (status, body) = {
        let r = callback(&app, "code-alice", &started).await;
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("unknown, used or expired sign-in state")
    );
    assert_eq!(
        callback_from(
            &app,
            "code-alice",
            "forged-state",
            Some("nectr_oauth_state=forged-state")
        )
        .await
        .status(),
        StatusCode::BAD_REQUEST
    );
    let expired = "an-expired-state-made-eleven-minutes-ago";
    app.db
        .create_oauth_state(
            &domain::accounts::tokens::hash(expired),
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(
        callback_from(
            &app,
            "code-alice",
            expired,
            Some(&format!("nectr_oauth_state={expired}"))
        )
        .await
        .status(),
        StatusCode::BAD_REQUEST
    );
    // A code GitHub does not accept.
    let started = begin(&app).await;
    let response = callback(&app, "stale-code", &started).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("bad_verification_code")
    );

    // A tampered cookie is no session.
    let (name, value) = cookie.split_once('=').unwrap();
    let tampered = format!("{name}=x{value}");
    assert_eq!(
        app.me(&Session(tampered)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // The token is stored encrypted, and only one user exists.
    let stored = users::Entity::find()
        .all(app.db.connection())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    let token = stored[0].access_token.as_deref().unwrap();
    assert!(
        token.starts_with("enc:v1:t1:") && !token.contains("gho_alicetoken"),
        "{token}"
    );

    // Signing out ends the session.
    assert_eq!(app.logout(&session).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.me(&session).await.status, StatusCode::UNAUTHORIZED);
}

/// The secret nectr gave GitHub for the `nth` webhook it created (0-based) and the last secret it
/// set on a webhook with a rotation.
async fn hook_secrets(github: &FakeGitHub) -> Vec<String> {
    let requests = github.server.received_requests().await.unwrap();
    requests
        .iter()
        .filter(|r| {
            (r.method.as_str() == "POST" && r.url.path().ends_with("/hooks"))
                || (r.method.as_str() == "PATCH" && r.url.path().ends_with("/config"))
        })
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["config"]["secret"]
                .as_str()
                .or(body["secret"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn two_users_connect_rotate_and_disconnect_each_their_own(backend: Backend) {
    let github = FakeGitHub::start().await;
    github
        .serve_sign_in("code-alice", "gho_alicetoken", "alice", 101, &[WEB])
        .await;
    github
        .serve_sign_in("code-bob", "gho_bobtoken", "bob", 202, &[WEB, TOOLS])
        .await;
    github.keep_hooks().await;
    let Some(app) = start(backend, &github, &[("WEBHOOK_SECRET_GRACE_SECONDS", "2")]).await else {
        return;
    };
    let alice = sign_in(&app, "code-alice").await;
    let bob = sign_in(&app, "code-bob").await;

    let reply = app.repos(&alice).await;
    let (status, repos) = (reply.status, reply.body);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        repos["items"],
        json!([{
            "full_name": WEB, "private": true, "html_url": "https://github.com/acme/web", "admin": true,
            "connected": false, "connected_by_you": false,
        }])
    );

    // Alice connects acme/web: a webhook pointed at nectr, the secret stored encrypted.
    let reply = app.install(&alice, WEB).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let installed = reply.ok();
    assert_eq!(
        (installed.repository.as_str(), installed.active),
        (WEB, true)
    );
    let created = github.created_hooks(WEB).await;
    assert_eq!(
        created[0]["config"]["url"],
        "https://nectr.example/api/v1/webhooks/github"
    );
    assert_eq!(
        created[0]["events"],
        json!(["pull_request", "issues", "issue_comment"])
    );
    let web_secret = hook_secrets(&github).await[0].clone();
    let row = installations::Entity::find()
        .all(app.db.connection())
        .await
        .unwrap();
    assert!(
        row[0].webhook_secret.starts_with("enc:v1:t1:")
            && !row[0].webhook_secret.contains(&web_secret),
        "the secret is encrypted at rest"
    );
    let (status, answer) = deliver(&app, WEB, 1, &web_secret).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("received"))
    );
    assert!(app.repos(&alice).await.ok().items[0].connected_by_you);

    // Bob cannot connect it again; its deliveries keep working. He connects his own.
    let reply = app.install(&bob, WEB).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.detail(),
        "acme/web is already connected to nectr by another user; its reviews keep working"
    );
    assert_eq!(
        github.created_hooks(WEB).await.len(),
        1,
        "no second webhook"
    );
    let repos = app.repos(&bob).await.ok();
    assert_eq!(
        (repos.items[0].connected, repos.items[0].connected_by_you),
        (true, false)
    );
    assert_eq!(deliver(&app, WEB, 2, &web_secret).await.0, StatusCode::OK);
    assert_eq!(app.install(&bob, TOOLS).await.status, StatusCode::CREATED);
    let tools_secret = hook_secrets(&github).await[1].clone();
    assert_eq!(
        deliver(&app, TOOLS, 9, &tools_secret).await.0,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, TOOLS, 10, &web_secret).await.0,
        StatusCode::FORBIDDEN,
        "each repository its own secret"
    );

    // Each sees their own events, deliveries and reviews only.
    let alices = app.list_events(&alice, "").await.ok();
    let bobs = app.list_events(&bob, "").await.ok();
    let repos_of = |page: &PageBody<EventBody>| -> Vec<String> {
        page.items
            .iter()
            .map(|e| e.repository.clone().unwrap())
            .collect()
    };
    assert_eq!(repos_of(&alices), [WEB, WEB]);
    assert_eq!(alices.total, 2);
    assert_eq!(repos_of(&bobs), [TOOLS]);
    let alice_event = alices.items[0].id;
    let detail = app.event(&alice, alice_event).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.body["runs"], json!([]));
    for id in [alice_event, 999_999] {
        let reply = app.event(&bob, id).await;
        assert_eq!(
            (reply.status, reply.detail()),
            (StatusCode::NOT_FOUND, "no such event")
        );
    }
    assert_eq!(
        app.retry(&bob, alice_event).await.status,
        StatusCode::NOT_FOUND
    );
    let filtered = app
        .list_events(&alice, "?status=pending&per_page=1&page=2")
        .await
        .ok();
    assert_eq!((filtered.items.len(), filtered.total), (1, 2));
    let none = app.list_events(&alice, "?repository=bob/tools").await.ok();
    assert_eq!(none.total, 0, "filters stay inside the caller's scope");

    let deliveries = app.list_deliveries(&bob, "").await.ok();
    let outcomes: Vec<(&str, i32)> = deliveries
        .items
        .iter()
        .map(|d| (d.outcome.as_str(), d.status_code))
        .collect();
    assert_eq!(
        outcomes,
        [("rejected", 403), ("received", 200)],
        "accepted and rejected, newest first"
    );
    let rejected = deliveries.items[0].id;
    let one = app.delivery(&bob, rejected).await.ok();
    assert_eq!(one.headers["x-hub-signature-256"], "[REDACTED]");
    assert_eq!(
        app.delivery(&alice, rejected).await.status,
        StatusCode::NOT_FOUND
    );

    // A failed event is retried by its owner; a pending one is not.
    let reply = app.retry(&alice, alice_event).await;
    let (status, body) = (reply.status, reply.body);
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("this one is pending")
    );
    events::Entity::update(events::ActiveModel {
        id: Set(alice_event),
        status: Set("failed".into()),
        attempts: Set(5),
        last_error: Set(Some("GitHub answered 500".into())),
        ..Default::default()
    })
    .exec(app.db.connection())
    .await
    .unwrap();
    let reply = app.retry(&alice, alice_event).await;
    let (status, body) = (reply.status, reply.body);
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::ACCEPTED, Some("pending"))
    );
    let event = events::Entity::find_by_id(alice_event)
        .one(app.db.connection())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (event.status.as_str(), event.attempts, event.last_error),
        ("pending", 0, None)
    );

    // Reviews: a posted review on alice's event is hers to see.
    event_runs::Entity::insert(event_runs::ActiveModel {
        event_id: Set(alice_event),
        attempt: Set(1),
        worker: Set("w".into()),
        started_at: Set(chrono::Utc::now()),
        finished_at: Set(chrono::Utc::now()),
        outcome: Set("completed".into()),
        error: Set(None),
        result: Set(Some(json!({"review_id": 77, "review_url": "https://github.com/acme/web/pull/1#pullrequestreview-77", "input_tokens": 900}).to_string())),
        ..Default::default()
    })
    .exec(app.db.connection())
    .await
    .unwrap();
    let reviews = app.reviews(&alice, "").await.body;
    assert_eq!(reviews["total"], 1);
    assert_eq!(reviews["items"][0]["review_id"], 77);
    assert_eq!(reviews["items"][0]["figures"]["input_tokens"], 900);
    assert_eq!(app.reviews(&bob, "").await.ok().total, 0);

    // Alice rotates the secret: the new one works, the old one during the grace period only.
    assert_eq!(
        app.rotate_secret(&bob, WEB).await.status,
        StatusCode::NOT_FOUND
    );
    let reply = app.rotate_secret(&alice, WEB).await;
    let (status, rotated) = (reply.status, reply.body);
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert!(rotated["previous_secret_valid_until"].is_string());
    let new_secret = hook_secrets(&github).await[2].clone();
    assert_ne!(new_secret, web_secret);
    assert_eq!(deliver(&app, WEB, 3, &new_secret).await.0, StatusCode::OK);
    assert_eq!(
        deliver(&app, WEB, 4, &web_secret).await.0,
        StatusCode::OK,
        "old secret in its grace period"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        deliver(&app, WEB, 5, &web_secret).await.0,
        StatusCode::FORBIDDEN,
        "old secret after it"
    );
    assert_eq!(deliver(&app, WEB, 6, &new_secret).await.0, StatusCode::OK);

    // Only Alice disconnects acme/web; then its deliveries are refused.
    assert_eq!(app.uninstall(&bob, WEB).await.status, StatusCode::NOT_FOUND);
    let reply = app.uninstall(&alice, WEB).await;
    let (status, body) = (reply.status, reply.body);
    assert_eq!(
        (status, body["connected"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    assert_eq!(
        github
            .requests("DELETE", "/repos/acme/web/hooks/5001")
            .await
            .len(),
        1
    );
    assert_eq!(
        deliver(&app, WEB, 7, &new_secret).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.uninstall(&alice, WEB).await.status,
        StatusCode::NOT_FOUND,
        "already disconnected"
    );
    assert_eq!(
        app.list_events(&alice, "").await.body["total"],
        0,
        "no repositories, no events"
    );
}

async fn build(database_url: &str, github: &FakeGitHub, keys: &str) -> Result<Application, String> {
    let url = github.url();
    let vars = [
        ("DATABASE_URL", database_url),
        ("PORT", "0"),
        ("GITHUB_API_URL", url.as_str()),
        ("GITHUB_OAUTH_URL", url.as_str()),
        ("ENCRYPTION_KEYS", keys),
        ("SESSION_KEY", TEST_SESSION_KEY),
    ];
    let mut settings = Settings::from_vars(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    settings.server.run_workers = false;
    Application::build(settings)
        .await
        .map_err(|e| e.to_string())
}

async fn encryption_keys_rotate_without_losing_a_secret(backend: Backend) {
    let github = FakeGitHub::start().await;
    github
        .serve_sign_in("code-alice", "gho_alicetoken", "alice", 101, &[WEB])
        .await;
    github.keep_hooks().await;
    let Some(app) = start(backend, &github, &[]).await else {
        return;
    };
    let alice = sign_in(&app, "code-alice").await;
    assert_eq!(app.install(&alice, WEB).await.status, StatusCode::CREATED);
    let secret = hook_secrets(&github).await[0].clone();

    // A new key is added in front: the next start seals everything with it; old values still opened.
    let new_key = "t2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    let rotated = build(
        &app.database_url,
        &github,
        &format!("{new_key},{TEST_ENCRYPTION_KEYS}"),
    )
    .await
    .unwrap();
    let stored_user = users::Entity::find()
        .all(rotated.db().connection())
        .await
        .unwrap();
    let stored_installation = installations::Entity::find()
        .all(rotated.db().connection())
        .await
        .unwrap();
    assert!(
        stored_user[0]
            .access_token
            .as_deref()
            .unwrap()
            .starts_with("enc:v1:t2:")
    );
    assert!(
        stored_installation[0]
            .webhook_secret
            .starts_with("enc:v1:t2:")
    );
    drop(rotated);

    // The old key can now go: with only the new key, tokens and secrets still open.
    let only_new = build(&app.database_url, &github, new_key).await.unwrap();
    let port = only_new.port();
    tokio::spawn(only_new.run_until_stopped());
    let body = json!({
        "action": "opened", "number": 1,
        "pull_request": {"number": 1, "state": "open", "draft": false, "head": {"sha": "a".repeat(40)}, "updated_at": "2026-11-22T10:00:00Z"},
        "repository": {"full_name": WEB}, "sender": {"login": "dev", "type": "User"},
    })
    .to_string();
    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v1/webhooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", delivery_id())
        .header("x-hub-signature-256", sign(&secret, body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let repos = browser()
        .get(format!("http://127.0.0.1:{port}/api/v1/repos"))
        .header("cookie", &alice.0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        repos.status(),
        StatusCode::OK,
        "the token opens with the new key"
    );

    // A key that opens nothing stored is refused at start-up, never worked around.
    let wrong = "t9:QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";
    let err = build(&app.database_url, &github, wrong).await.unwrap_err();
    assert!(err.contains("which is not configured"), "{err}");
}

async fn a_connected_repository_is_reviewed_with_its_users_token(backend: Backend) {
    let github = FakeGitHub::start().await;
    github
        .serve_sign_in("code-alice", "gho_alicetoken", "alice", 101, &[WEB])
        .await;
    github.keep_hooks().await;
    github
        .serve_pull_request(WEB, 1, &"a".repeat(40), "open")
        .await;
    github
        .serve_diff(
            WEB,
            1,
            "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1 +1,2 @@\n fn a() {}\n+// TODO: more\n",
        )
        .await;
    github.accept_reviews(WEB, 1).await;
    // No GITHUB_PAT: only Alice's token can read her repository.
    let Some(app) = start(backend, &github, &[]).await else {
        return;
    };
    let alice = sign_in(&app, "code-alice").await;
    assert_eq!(app.install(&alice, WEB).await.status, StatusCode::CREATED);
    let secret = hook_secrets(&github).await[0].clone();
    let (status, answer) = deliver(&app, WEB, 1, &secret).await;
    assert_eq!(status, StatusCode::OK);
    let event = app
        .finished_event(answer["event_id"].as_i64().unwrap())
        .await;
    assert_eq!(event.status, "completed", "{:?}", event.last_error);
    let reads = github.requests("GET", "/repos/acme/web/pulls/1").await;
    assert!(!reads.is_empty());
    assert!(
        reads
            .iter()
            .all(|r| r.headers["authorization"] == "Bearer gho_alicetoken"),
        "every call with Alice's token"
    );
    assert_eq!(github.posted_reviews(WEB, 1).await.len(), 1);
}

async fn out_of_range_query_values_are_refused_with_a_clear_detail(backend: Backend) {
    let github = FakeGitHub::start().await;
    github
        .serve_sign_in("code-alice", "gho_alicetoken", "alice", 101, &[WEB])
        .await;
    github.keep_hooks().await;
    let Some(app) = start(backend, &github, &[]).await else {
        return;
    };
    let alice = sign_in(&app, "code-alice").await;
    // A connected repository, so the listings reach the database.
    assert_eq!(app.install(&alice, WEB).await.status, StatusCode::CREATED);
    for (query, detail) in [
        (
            "?page=18446744073709551615",
            "page must be between 1 and 1000000, got 18446744073709551615",
        ),
        ("?page=0", "page must be between 1 and 1000000, got 0"),
        ("?per_page=0", "per_page must be between 1 and 100, got 0"),
        (
            "?per_page=101",
            "per_page must be between 1 and 100, got 101",
        ),
    ] {
        for reply in [
            app.list_events(&alice, query).await.body,
            app.reviews(&alice, query).await.body,
            app.list_deliveries(&alice, query).await.body,
        ] {
            assert_eq!(reply, json!({"detail": detail}), "{query}");
        }
        assert_eq!(
            app.list_events(&alice, query).await.status,
            StatusCode::BAD_REQUEST
        );
    }
    // Numbers past u64, negative ones and words do not read at all: a JSON 400 too.
    for query in ["?page=18446744073709551616", "?page=-1", "?per_page=many"] {
        let reply = app.list_events(&alice, query).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            reply.detail().starts_with("invalid query string"),
            "{query}: {}",
            reply.body
        );
    }
    let reply = app
        .call::<Value>(
            reqwest::Method::GET,
            "/api/v1/events/99999999999999999999",
            Some(&alice),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.detail().starts_with("invalid path"), "{}", reply.body);
    // The largest page allowed is answered, empty.
    let last = app
        .list_events(&alice, "?page=1000000&per_page=100")
        .await
        .ok();
    assert!(last.items.is_empty());
}

async fn production_sessions_use_a_host_prefixed_secure_cookie(backend: Backend) {
    let github = FakeGitHub::start().await;
    github
        .serve_sign_in("code-alice", "gho_alicetoken", "alice", 101, &[WEB])
        .await;
    let production = [
        ("APP_ENV", "production"),
        ("GITHUB_WEBHOOK_SECRET", "a-production-webhook-secret-0123"),
    ];
    let Some(app) = start(backend, &github, &production).await else {
        return;
    };
    let started = begin(&app).await;
    assert!(started.cookie.starts_with("__Host-nectr_oauth_state="));
    let response = callback(&app, "code-alice", &started).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (pair, attributes) = set_cookie(&response).unwrap();
    assert!(pair.starts_with("__Host-nectr_session="), "{attributes}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(attributes.contains(attribute), "{attribute}: {attributes}");
    }
    assert!(!attributes.contains("Domain"), "{attributes}");
    let session = Session(pair.clone());
    assert_eq!(app.me(&session).await.ok().login, "alice");
    // The unprefixed name is not a session in production.
    let unprefixed = Session(pair.replacen("__Host-", "", 1));
    assert_eq!(app.me(&unprefixed).await.status, StatusCode::UNAUTHORIZED);
}

async fn cross_site_state_changes_are_refused_and_same_origin_json_works(backend: Backend) {
    let github = FakeGitHub::start().await;
    github
        .serve_sign_in("code-alice", "gho_alicetoken", "alice", 101, &[WEB])
        .await;
    github.keep_hooks().await;
    let Some(app) = start(backend, &github, &[]).await else {
        return;
    };
    let alice = sign_in(&app, "code-alice").await;
    let send = |method: reqwest::Method, path: &str, headers: &[(&str, &str)], body: &str| {
        let mut request = browser()
            .request(method, format!("{}{path}", app.address))
            .header("cookie", &alice.0)
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let install = "/api/v1/repos/acme/web/install";
    let form = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", "https://evil.example"),
    ];
    let attacks = [
        (
            reqwest::Method::POST,
            install,
            &form[..],
            "a=1",
            "Origin https://evil.example is not this server's",
        ),
        (
            reqwest::Method::POST,
            "/api/v1/repos/acme/web/rotate-secret",
            &[("content-type", "text/plain")][..],
            "x",
            "need Content-Type: application/json",
        ),
        (
            reqwest::Method::POST,
            "/auth/logout",
            &[
                ("origin", "https://evil.example"),
                ("content-type", "application/json"),
            ][..],
            "",
            "is not this server's",
        ),
        (
            reqwest::Method::DELETE,
            install,
            &[
                ("sec-fetch-site", "cross-site"),
                ("content-type", "application/json"),
            ][..],
            "",
            "Sec-Fetch-Site: cross-site",
        ),
        (
            reqwest::Method::POST,
            install,
            &[][..],
            "",
            "need Content-Type: application/json",
        ),
    ];
    for (method, path, headers, body, why) in attacks {
        let response = send(method.clone(), path, headers, body).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let detail = response.json::<Value>().await.unwrap()["detail"].clone();
        assert!(
            detail.as_str().unwrap().contains(why),
            "{method} {path}: {detail}"
        );
    }
    assert!(
        github.created_hooks(WEB).await.is_empty(),
        "nothing was connected"
    );
    assert_eq!(
        app.me(&alice).await.status,
        StatusCode::OK,
        "still signed in"
    );

    // JSON from nectr's own origin (BACKEND_URL) works without extra steps, as documented.
    let own = [
        ("content-type", "application/json"),
        ("origin", "https://nectr.example"),
        ("sec-fetch-site", "same-origin"),
    ];
    let response = send(reqwest::Method::POST, install, &own, "")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // An HTML form of this session carries its token instead of a JSON content type.
    let token_value = alice
        .0
        .split_once('=')
        .unwrap()
        .1
        .split_once('.')
        .unwrap()
        .0;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, TEST_SESSION_KEY.as_bytes());
    let token = app_server::csrf::token(&key, token_value);
    let with_token = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-csrf-token", token.as_str()),
    ];
    let response = send(
        reqwest::Method::POST,
        "/api/v1/repos/acme/web/rotate-secret",
        &with_token,
        "",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let forged = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-csrf-token", "forged"),
    ];
    let response = send(
        reqwest::Method::POST,
        "/api/v1/repos/acme/web/rotate-secret",
        &forged,
        "",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
