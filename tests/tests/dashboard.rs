//! The dashboard's pages, on SQLite and PostgreSQL: `/` tells a signed-out visitor what nectr is
//! and how to sign in; signed in, it lists the user's own repositories with Connect or Disconnect,
//! and nothing of another user's. `/events` lists their events, filtered, with Retry on a failed
//! one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nectr_tests::api::{Session, sign_in};
use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{Backend, CORPUS_SECRET, StatusCode, TestApp, on_both_backends};

on_both_backends!(
    the_home_page_welcomes_then_lists_the_users_repositories,
    the_events_page_lists_the_users_events_with_retry,
);

async fn page(app: &TestApp, session: Option<&Session>) -> (StatusCode, String) {
    page_at(app, "/", session).await
}

async fn page_at(app: &TestApp, path: &str, session: Option<&Session>) -> (StatusCode, String) {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(session) = session {
        request = request.header("cookie", &session.0);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
    );
    (status, answer.text().await.unwrap())
}

/// An app signing in alice (who administers `acme/backend`) and eve (`eve/own`) through `github`.
async fn spawn(backend: Backend, github: &FakeGitHub) -> Option<TestApp> {
    github
        .serve_sign_in(
            "code-alice",
            "gho_alicetoken",
            "alice",
            101,
            &["acme/backend"],
        )
        .await;
    github
        .serve_sign_in("code-eve", "gho_evetoken", "eve", 303, &["eve/own"])
        .await;
    github.keep_hooks().await;
    let settings = github.app_settings();
    let mut vars = vec![("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET)];
    vars.extend(settings.iter().map(|(k, v)| (*k, v.as_str())));
    TestApp::spawn_with(backend, &vars).await
}

async fn the_home_page_welcomes_then_lists_the_users_repositories(backend: Backend) {
    let github = FakeGitHub::start().await;
    let Some(app) = spawn(backend, &github).await else {
        return;
    };

    let (status, welcome) = page(&app, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(welcome.contains(r#"<a class="button" href="/auth/github">Sign in with GitHub</a>"#));
    assert!(welcome.contains("<html lang=\"en\">"));

    let alice = sign_in(&app, "code-alice").await;
    let (_, home) = page(&app, Some(&alice)).await;
    assert!(
        home.contains("Signed in as <strong>alice</strong>"),
        "{home}"
    );
    assert!(home.contains("acme/backend"), "{home}");
    assert!(
        home.contains(r#"aria-label="Connect acme/backend">Connect</button>"#),
        "{home}"
    );

    assert_eq!(
        app.install(&alice, "acme/backend").await.status,
        StatusCode::CREATED
    );
    let (_, home) = page(&app, Some(&alice)).await;
    assert!(
        home.contains(r#"<span class="ok">Connected</span>"#),
        "{home}"
    );
    assert!(
        home.contains(r#"aria-label="Disconnect acme/backend""#),
        "{home}"
    );

    let (status, managed) = page_at(&app, "/repos/acme/backend", Some(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        managed.contains("Review defaults") && managed.contains("Project memory"),
        "{managed}"
    );

    let eve = sign_in(&app, "code-eve").await;
    let (_, theirs) = page(&app, Some(&eve)).await;
    let (status, _) = page_at(&app, "/repos/acme/backend", Some(&eve)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another user's repository");
    assert!(theirs.contains("eve/own"), "{theirs}");
    assert!(
        !theirs.contains("acme/backend"),
        "another user's repository: {theirs}"
    );
}

async fn the_events_page_lists_the_users_events_with_retry(backend: Backend) {
    const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let github = FakeGitHub::start().await;
    github
        .serve_pull_request("acme/backend", 7, SHA, "open")
        .await;
    github
        .serve_diff("acme/backend", 7, "diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1 +1,2 @@\n fn a() {}\n+fn b() {}\n")
        .await;
    github.accept_reviews("acme/backend", 7).await;
    github
        .serve_pull_request("acme/backend", 8, SHA, "open")
        .await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/repos/acme/backend/pulls/8/files",
        ))
        .respond_with(
            wiremock::ResponseTemplate::new(403)
                .set_body_json(serde_json::json!({"message": "Forbidden"})),
        )
        .mount(&github.server)
        .await;
    let Some(app) = spawn(backend, &github).await else {
        return;
    };
    let alice = sign_in(&app, "code-alice").await;
    assert_eq!(
        app.install(&alice, "acme/backend").await.status,
        StatusCode::CREATED
    );
    let secret = github.hook_secret("acme/backend").await;
    let ok = app
        .deliver_pull_request_signed(&secret, "acme/backend", 7, SHA, "opened")
        .await;
    let failing = app
        .deliver_pull_request_signed(&secret, "acme/backend", 8, SHA, "opened")
        .await;
    let (ok, failing) = (
        ok.body["event_id"].as_i64().unwrap(),
        failing.body["event_id"].as_i64().unwrap(),
    );
    assert_eq!(app.finished_event(ok).await.status, "completed");
    assert_eq!(app.finished_event(failing).await.status, "failed");

    let (status, events) = page_at(&app, "/events", Some(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(events.contains("2 event(s)"), "{events}");
    assert!(
        events.contains(&format!(r#"<a href="/events/{ok}">#{ok}</a>"#)),
        "{events}"
    );
    assert!(
        events.contains(r#"<span class="ok">completed</span>"#),
        "{events}"
    );
    assert!(
        events.contains(&format!(
            r#"aria-label="Retry event {failing}">Retry</button>"#
        )),
        "{events}"
    );
    let (_, failed_only) = page_at(
        &app,
        "/events?status=failed&repository=acme%2Fbackend",
        Some(&alice),
    )
    .await;
    assert!(failed_only.contains("1 event(s)"), "{failed_only}");
    assert!(
        failed_only.contains(r#"<option value="failed" selected>"#),
        "{failed_only}"
    );

    let (_, detail) = page_at(&app, &format!("/events/{ok}"), Some(&alice)).await;
    assert!(
        detail.contains("<code>reviewer</code>: &#34;builtin&#34;"),
        "{detail}"
    );
    assert!(detail.contains("<code>cost_usd</code>: 0.0"), "{detail}");
    let (_, deliveries) = page_at(&app, "/deliveries", Some(&alice)).await;
    assert!(deliveries.contains("2 request(s)"), "{deliveries}");
    assert!(deliveries.contains("200 received"), "{deliveries}");
    assert!(
        deliveries.contains("x-hub-signature-256: [REDACTED]"),
        "{deliveries}"
    );
    let (_, reviews) = page_at(&app, "/reviews", Some(&alice)).await;
    assert!(reviews.contains("1 review(s)"), "{reviews}");
    assert!(reviews.contains("acme/backend#7"), "{reviews}");
    assert!(reviews.contains("1 file(s) reviewed, 0 not"), "{reviews}");
    assert!(
        reviews.contains("0 critical, 0 warning(s), 0 note(s)"),
        "{reviews}"
    );
    let (_, about) = page_at(&app, "/settings", Some(&alice)).await;
    assert!(about.contains("built-in (offline rules)"), "{about}");
    assert!(
        about.contains("<th scope=\"row\">Global webhook secret</th><td>set</td>"),
        "{about}"
    );
    assert!(!about.contains(CORPUS_SECRET), "never a secret");

    let eve = sign_in(&app, "code-eve").await;
    let (_, theirs) = page_at(&app, "/events", Some(&eve)).await;
    assert!(theirs.contains("0 event(s)"), "{theirs}");
    let (status, _) = page_at(&app, &format!("/events/{ok}"), Some(&eve)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another user's event");
    let (_, none) = page_at(&app, "/deliveries", Some(&eve)).await;
    assert!(
        none.contains("0 request(s)") && !none.contains("acme/backend"),
        "{none}"
    );
    let signed_out = app
        .client
        .get(format!("{}/events", app.address))
        .send()
        .await
        .unwrap();
    assert!(signed_out.url().path() == "/" || signed_out.status() == StatusCode::SEE_OTHER);
}
