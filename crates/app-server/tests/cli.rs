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
                @@ -1,2 +1,3 @@\n fn load() {\n+    let key = \"AKIAIOSFODNN7EXAMPLE\";\n }\n";
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
        text.contains("src/config.rs:2 [critical security] Possible AWS access key id committed"),
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
