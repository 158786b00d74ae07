//! The dashboard's first page, on SQLite and PostgreSQL: `/` tells a signed-out visitor what nectr
//! is and how to sign in; signed in, it lists the user's own repositories with Connect or
//! Disconnect, and nothing of another user's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nectr_tests::api::{Session, sign_in};
use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{Backend, CORPUS_SECRET, StatusCode, TestApp, on_both_backends};

on_both_backends!(the_home_page_welcomes_then_lists_the_users_repositories,);

async fn page(app: &TestApp, session: Option<&Session>) -> (StatusCode, String) {
    let mut request = app.client.get(format!("{}/", app.address));
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

async fn the_home_page_welcomes_then_lists_the_users_repositories(backend: Backend) {
    let github = FakeGitHub::start().await;
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
    let Some(app) = TestApp::spawn_with(backend, &vars).await else {
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

    let eve = sign_in(&app, "code-eve").await;
    let (_, theirs) = page(&app, Some(&eve)).await;
    assert!(theirs.contains("eve/own"), "{theirs}");
    assert!(
        !theirs.contains("acme/backend"),
        "another user's repository: {theirs}"
    );
}
