//! The dashboard in a real browser (headless Chromium over WebDriver): sign in through the fake
//! GitHub's authorize page, connect a repository, see a delivery's event reach `completed`, retry a
//! failed one, and see that a second user sees none of it. A screenshot of each page is saved under
//! the test's output directory (`CARGO_TARGET_TMPDIR/screenshots`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::Locator;
use nectr_tests::browser::Browser;
use nectr_tests::fake_github::FakeGitHub;
use nectr_tests::{Backend, CORPUS_SECRET, TestApp};

const REPO: &str = "acme/backend";
const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_connects_watches_a_review_and_retries_in_a_browser() {
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    let Some(browser) = Browser::start(shots.clone()).await else {
        return;
    };
    let github = FakeGitHub::start().await;
    github.serve_pull_request(REPO, 7, SHA, "open").await;
    github
        .serve_diff(REPO, 7, "diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1 +1,2 @@\n fn a() {}\n+fn b() {}\n")
        .await;
    github.accept_reviews(REPO, 7).await;
    github.serve_pull_request(REPO, 8, SHA, "open").await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(format!(
            "/repos/{REPO}/pulls/8/files"
        )))
        .respond_with(
            wiremock::ResponseTemplate::new(403)
                .set_body_json(serde_json::json!({"message": "Forbidden"})),
        )
        .mount(&github.server)
        .await;
    github
        .serve_sign_in("code-alice", "gho_alicetoken", "alice", 101, &[REPO])
        .await;
    github
        .serve_sign_in("code-eve", "gho_evetoken", "eve", 303, &["eve/own"])
        .await;
    github
        .serve_authorize_page(&[("code-alice", "alice"), ("code-eve", "eve")])
        .await;
    github.keep_hooks().await;
    // The browser reaches nectr at a known address: its own URL is the one GitHub sends it back to.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let own = format!("http://127.0.0.1:{port}");
    let (port_text, home) = (port.to_string(), format!("{own}/"));
    let url = github.url();
    let vars = [
        ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET),
        ("GITHUB_API_URL", url.as_str()),
        ("GITHUB_OAUTH_URL", url.as_str()),
        ("GITHUB_CLIENT_ID", "Iv1.testclientid"),
        ("GITHUB_CLIENT_SECRET", "test-client-secret"),
        ("PORT", port_text.as_str()),
        ("BACKEND_URL", own.as_str()),
        ("FRONTEND_URL", home.as_str()),
    ];
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, &vars).await else {
        return;
    };
    let c = &browser.client;

    // Signed out: what nectr is; then GitHub's page, and back signed in.
    c.goto(&home).await.unwrap();
    browser.wait_for_text("Sign in with GitHub").await;
    browser.screenshot("1-welcome").await;
    browser
        .click(Locator::Css(r#"a.button[href="/auth/github"]"#))
        .await;
    browser.click(Locator::Id("as-alice")).await;
    browser
        .wait_for_text("Signed in as <strong>alice</strong>")
        .await;
    browser.screenshot("2-repositories").await;

    // Connect.
    browser
        .click(Locator::Css(r#"button[aria-label="Connect acme/backend"]"#))
        .await;
    browser
        .wait_for_text(r#"<span class="ok">Connected</span>"#)
        .await;
    browser.screenshot("3-connected").await;

    // The repository's own page: its review defaults, and a memory added.
    browser
        .click(Locator::Css(r#"a[aria-label="Manage acme/backend"]"#))
        .await;
    browser.wait_for_text("Review defaults").await;
    let defaults = c.find(Locator::Id("settings-json")).await.unwrap();
    defaults.clear().await.unwrap();
    defaults
        .send_keys(r#"{"review": {"min_severity": "warning"}}"#)
        .await
        .unwrap();
    browser
        .click(Locator::Css(r#"button[data-body-from="settings-json"]"#))
        .await;
    browser.wait_for_text(r#""min_severity": "warning""#).await;
    c.find(Locator::Id("memory-content"))
        .await
        .unwrap()
        .send_keys(r#"forbid "println!" in "src/**/*.rs": use tracing"#)
        .await
        .unwrap();
    browser.click(Locator::Id("add-memory")).await;
    browser.wait_for_text("[rule] forbid").await;
    browser.screenshot("3b-repository").await;
    c.goto(&home).await.unwrap();

    // A delivery, reviewed; another that fails.
    let secret = github.hook_secret(REPO).await;
    let ok = app
        .deliver_pull_request_signed(&secret, REPO, 7, SHA, "opened")
        .await;
    let failing = app
        .deliver_pull_request_signed(&secret, REPO, 8, SHA, "opened")
        .await;
    let failing = failing.body["event_id"].as_i64().unwrap();
    assert_eq!(
        app.finished_event(ok.body["event_id"].as_i64().unwrap())
            .await
            .status,
        "completed"
    );
    assert_eq!(app.finished_event(failing).await.status, "failed");
    browser.click(Locator::LinkText("Events")).await;
    browser
        .wait_for_text(r#"<span class="ok">completed</span>"#)
        .await;
    browser.screenshot("4-events").await;
    assert_eq!(github.posted_reviews(REPO, 7).await.len(), 1);

    // Retry the failed one: it is queued again.
    browser
        .click(Locator::Css(&format!(
            r#"button[aria-label="Retry event {failing}"]"#
        )))
        .await;
    browser.wait_for_text(">pending</span>").await;
    browser.screenshot("5-retried").await;

    // The delivery log, the reviews and the server's settings.
    for (link, shot, text) in [
        ("Deliveries", "6-deliveries", "200 received"),
        ("Reviews", "7-reviews", "acme/backend#7"),
        ("Settings", "8-settings", "built-in (offline rules)"),
    ] {
        browser.click(Locator::LinkText(link)).await;
        browser.wait_for_text(text).await;
        browser.screenshot(shot).await;
    }

    // Another user sees none of it.
    c.delete_all_cookies().await.unwrap();
    c.goto(&format!("{own}/auth/github")).await.unwrap();
    browser.click(Locator::Id("as-eve")).await;
    let theirs = browser
        .wait_for_text("Signed in as <strong>eve</strong>")
        .await;
    assert!(
        theirs.contains("eve/own") && !theirs.contains(REPO),
        "{theirs}"
    );
    c.goto(&format!("{own}/events")).await.unwrap();
    let events = browser.wait_for_text("0 event(s)").await;
    assert!(!events.contains(REPO));
    browser.screenshot("9-another-user").await;
    for name in [
        "1-welcome",
        "3-connected",
        "4-events",
        "8-settings",
        "9-another-user",
    ] {
        let size = std::fs::metadata(shots.join(format!("{name}.png")))
            .unwrap()
            .len();
        assert!(size > 1_000, "{name}.png is {size} bytes");
    }
}
