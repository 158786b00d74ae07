//! The real `app-server` binary: `serve` with nothing but a SQLite file, `sign`, `send`, `migrate`, and
//! start-up refusing unsafe settings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{Server, free_port, wait_until_listening};

const BIN: &str = env!("CARGO_BIN_EXE_app-server");
const CORPUS_SECRET: &str = "It's a Secret to Everybody";

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/corpus")
        .join(path)
}

fn recorded_signature(path: &str) -> String {
    let tsv = std::fs::read_to_string(fixture("SIGNATURES.tsv")).unwrap();
    let line = tsv
        .lines()
        .find(|l| l.starts_with(&format!("{path}\t")))
        .unwrap();
    line.split('\t').nth(2).unwrap().to_owned()
}

fn app_server(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn sign_prints_the_signature_github_would_send() {
    let dir = tempfile::tempdir().unwrap();
    let path = "github/pull_request/opened.json";
    let out = app_server(
        dir.path(),
        &[
            "sign",
            "--secret",
            CORPUS_SECRET,
            fixture(path).to_str().unwrap(),
        ],
        &[],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out).trim(), recorded_signature(path));
    // The secret may come from the environment instead of the command line.
    let out = app_server(
        dir.path(),
        &["sign", fixture(path).to_str().unwrap()],
        &[("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET)],
    )
    .output()
    .unwrap();
    assert_eq!(stdout(&out).trim(), recorded_signature(path));
}

#[test]
fn serve_with_nothing_set_but_a_secret_receives_what_send_posts() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_s = port.to_string();
    let _server = Server(
        app_server(
            dir.path(),
            &["serve"],
            &[("PORT", &port_s), ("GITHUB_WEBHOOK_SECRET", CORPUS_SECRET)],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    wait_until_listening(port);
    assert!(
        dir.path().join("nectr.db").exists(),
        "the default SQLite file is created in the working directory"
    );

    let url = format!("http://127.0.0.1:{port}/api/v1/webhooks/github");
    let file = fixture("github/pull_request/opened.json");
    let send = |event: &str, secret: &str, file: &Path| {
        app_server(
            dir.path(),
            &[
                "send",
                "--url",
                &url,
                "--secret",
                secret,
                "--event",
                event,
                file.to_str().unwrap(),
            ],
            &[],
        )
        .output()
        .unwrap()
    };
    let out = send("pull_request", CORPUS_SECRET, &file);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("-> HTTP 200"), "{text}");
    assert!(
        text.contains(r#""status":"received""#)
            && text.contains(r#""event_type":"opened_pull_request""#),
        "{text}"
    );

    let out = send("ping", CORPUS_SECRET, &fixture("github/ping/payload.json"));
    assert!(stdout(&out).contains(r#""status":"pong""#), "{out:?}");

    let out = send("pull_request", "the wrong secret", &file);
    assert!(
        !out.status.success(),
        "a refused delivery makes send exit non-zero"
    );
    assert!(
        stdout(&out).contains("-> HTTP 403") && stdout(&out).contains("Invalid webhook signature"),
        "{out:?}"
    );
}

#[test]
fn migrate_creates_the_schema_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let out = app_server(
        dir.path(),
        &["migrate"],
        &[("DATABASE_URL", "sqlite://fresh.db")],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(dir.path().join("fresh.db").exists());
    // Running it again is a no-op.
    let out = app_server(
        dir.path(),
        &["migrate"],
        &[("DATABASE_URL", "sqlite://fresh.db")],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[tokio::test]
async fn purge_removes_what_is_past_retention_and_says_how_much() {
    use adapters_db::entities::deliveries;
    use sea_orm::{ActiveValue::Set, EntityTrait};

    let dir = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", "sqlite://purge.db")];
    let purge = || app_server(dir.path(), &["purge"], &env).output().unwrap();
    let out = purge();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out).trim(),
        "purged 0 delivery-log row(s) and 0 event payload(s)"
    );
    let url = format!("sqlite://{}", dir.path().join("purge.db").display());
    let db = adapters_db::Db::connect(&url, None).await.unwrap();
    for (id, days) in [("old", 31), ("recent", 1)] {
        let row = deliveries::ActiveModel {
            delivery_id: Set(Some(id.to_owned())),
            outcome: Set("rejected".to_owned()),
            status_code: Set(403),
            headers: Set("{}".to_owned()),
            body_size: Set(2),
            received_at: Set(chrono::Utc::now() - chrono::Duration::days(days)),
            ..Default::default()
        };
        deliveries::Entity::insert(row)
            .exec(db.connection())
            .await
            .unwrap();
    }
    db.close().await.unwrap();
    let out = purge();
    assert_eq!(
        stdout(&out).trim(),
        "purged 1 delivery-log row(s) and 0 event payload(s)"
    );
}

#[test]
fn start_up_refuses_the_insecure_setting_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let out = app_server(
        dir.path(),
        &["serve"],
        &[
            ("APP_ENV", "production"),
            ("ALLOW_UNSIGNED_WEBHOOKS", "true"),
        ],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ALLOW_UNSIGNED_WEBHOOKS") && err.contains("production"),
        "{err}"
    );
    assert!(
        !dir.path().join("nectr.db").exists(),
        "nothing is created when settings are refused"
    );
}

#[test]
fn sigterm_stops_the_server_and_its_workers_with_exit_code_0() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_s = port.to_string();
    let mut child = app_server(
        dir.path(),
        &["serve"],
        &[
            ("PORT", &port_s),
            ("GITHUB_API_URL", "http://127.0.0.1:9"),
            ("SHUTDOWN_GRACE_SECONDS", "2"),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    wait_until_listening(port);
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("app-server did not stop after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn review_prints_the_builtin_review_of_a_local_diff() {
    let dir = tempfile::tempdir().unwrap();
    let diff = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n\
                @@ -1,2 +1,3 @@\n fn load() {\n+    let key = \"AKIA2OGYBAH6STMMNXNN\";\n }\n";
    std::fs::write(dir.path().join("change.diff"), diff).unwrap();
    let out = app_server(dir.path(), &["review", "--diff", "change.diff"], &[])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.starts_with("Review by nectr (builtin): REQUEST_CHANGES"),
        "{text}"
    );
    assert!(
        text.contains("src/config.rs:2 [critical security] Possible credential committed"),
        "{text}"
    );

    let mut child = app_server(dir.path(), &["review", "--diff", "-"], &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"not a diff")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "text that is no diff is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no `diff --git` sections found"));
}

#[test]
fn keygen_prints_keys_that_production_starts_with() {
    let dir = tempfile::tempdir().unwrap();
    let out = app_server(dir.path(), &["keygen", "--id", "2026-11"], &[])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let printed = stdout(&out);
    let value = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let (keys, session) = (value("ENCRYPTION_KEYS"), value("SESSION_KEY"));
    assert!(
        keys.starts_with("2026-11:") && session.len() >= 32,
        "{printed}"
    );

    // Production refuses to start without them, and starts (migrates) with them.
    let out = app_server(dir.path(), &["serve"], &[("APP_ENV", "production")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SESSION_KEY"));
    let out = app_server(
        dir.path(),
        &["migrate"],
        &[
            ("APP_ENV", "production"),
            ("ENCRYPTION_KEYS", &keys),
            ("SESSION_KEY", &session),
        ],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// A closed pull request as GitHub lists it (`merged_at` set when merged).
fn closed_pull(number: u64, author: &str, merged: bool) -> serde_json::Value {
    let sha = "ffffffffffffffffffffffffffffffffffffffff";
    serde_json::json!({
        "number": number, "title": format!("Change {number}"), "body": null, "state": "closed",
        "merged_at": if merged { serde_json::json!("2026-11-30T10:00:00Z") } else { serde_json::Value::Null },
        "user": {"login": author, "id": number}, "head": {"sha": sha, "ref": "f"},
        "base": {"sha": sha, "ref": "main"}, "updated_at": "2026-11-30T10:00:00Z",
        "html_url": format!("https://github.com/acme/backend/pull/{number}"),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_backfill_indexes_merged_pull_requests_and_goes_on_where_it_stopped() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    app_server::install_crypto_provider();
    let github = MockServer::start().await;
    let list = |page: &str| {
        Mock::given(method("GET"))
            .and(path("/repos/acme/backend/pulls"))
            .and(query_param("state", "closed"))
            .and(query_param("page", page.to_owned()))
    };
    list("1")
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            closed_pull(3, "alice", true),
            closed_pull(2, "bob", false),
            closed_pull(1, "carol", true),
        ])))
        .mount(&github)
        .await;
    list("2")
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&github)
        .await;
    for (number, files) in [(3, vec!["src/a.rs"]), (1, vec!["src/a.rs", "src/b.rs"])] {
        let files: Vec<_> = files
            .iter()
            .map(|f| serde_json::json!({"filename": f, "status": "modified", "additions": 1, "deletions": 0, "changes": 1}))
            .collect();
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/backend/pulls/{number}/files")))
            .respond_with(ResponseTemplate::new(200).set_body_json(files))
            .mount(&github)
            .await;
    }
    // Another repository whose listing is refused by the rate limit.
    Mock::given(method("GET"))
        .and(path("/repos/acme/limited/pulls"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", "1795363200")
                .set_body_json(serde_json::json!({"message": "API rate limit exceeded"})),
        )
        .mount(&github)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let uri = github.uri();
    let env = [
        ("DATABASE_URL", "sqlite://graph.db"),
        ("GITHUB_API_URL", uri.as_str()),
        ("GITHUB_PAT", "ghp_backfill_test_token"),
    ];
    let backfill = |repo: &str| {
        app_server(dir.path(), &["graph", "backfill", repo], &env)
            .output()
            .unwrap()
    };
    let out = backfill("acme/backend");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out).trim(),
        "acme/backend: 2 merged pull request(s) looked at, 2 indexed, 0 already indexed"
    );
    let again = backfill("acme/backend");
    assert_eq!(
        stdout(&again).trim(),
        "acme/backend: 2 merged pull request(s) looked at, 0 indexed, 2 already indexed",
        "a second run asks GitHub for no files again"
    );
    let limited = backfill("acme/limited");
    assert!(!limited.status.success());
    let said = String::from_utf8_lossy(&limited.stderr);
    assert!(
        said.contains("rate limit is spent until 2026-11-22 16:00:00 UTC"),
        "{said}"
    );
    assert!(said.contains("run it again to go on"), "{said}");
    assert!(!said.contains("ghp_backfill_test_token"));

    // What the graph now knows.
    use domain::knowledge::KnowledgeGraph;
    let db = adapters_db::Db::connect(
        &format!("sqlite://{}", dir.path().join("graph.db").display()),
        None,
    )
    .await
    .unwrap();
    let graph = adapters_graph::SqlGraph::new(db.connection().clone(), db.writer().clone());
    let repo = domain::webhook::values::RepoFullName::parse("acme/backend").unwrap();
    let experts = graph
        .file_experts(&repo, &["src/a.rs".to_owned()], None, 5)
        .await
        .unwrap();
    let logins: Vec<&str> = experts.iter().map(|e| e.login.as_str()).collect();
    assert_eq!(logins, ["alice", "carol"]);
    let files_asked = github
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/files"))
        .count();
    assert_eq!(
        files_asked, 2,
        "each merged pull request's files asked for once"
    );
}

#[test]
fn review_reads_the_working_tree_s_files_whole() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    let mut source = String::from("pub fn f() {}\n\n#[cfg(test)]\nmod tests {\n");
    for i in 0..30 {
        source.push_str(&format!("    fn h{i}() {{}}\n"));
    }
    source.push_str("    fn t() {\n        g().unwrap();\n    }\n}\n");
    let line = source.lines().count() - 2;
    std::fs::write(dir.path().join("src/lib.rs"), &source).unwrap();
    let diff = format!(
        "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n\
         @@ -{0},2 +{0},3 @@ fn h29() {{}}\n     fn t() {{\n+        g().unwrap();\n     }}\n",
        line - 1
    );
    std::fs::write(dir.path().join("change.diff"), &diff).unwrap();
    let out = app_server(dir.path(), &["review", "--diff", "change.diff"], &[])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    // The module opens 30 lines above the hunk: only the whole file shows the line is test code.
    assert!(
        text.contains(
            "1 file(s) (every one parsed whole) and 1 added line(s): 0 critical, 0 warning(s)"
        ),
        "{text}"
    );

    // Without the file (another directory), its lines alone: the `unwrap()` is flagged.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("change.diff"), &diff).unwrap();
    let out = app_server(elsewhere.path(), &["review", "--diff", "change.diff"], &[])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.contains("(rule `rust-unwrap`)"), "{text}");
}
