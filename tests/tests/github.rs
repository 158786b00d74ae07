//! Contract tests of the GitHub adapter against a fake GitHub: method, path, headers (auth, accept, API
//! version) and bodies as GitHub expects them; answers shaped like GitHub's; errors and rate limits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use domain::accounts::{OAuthClient, WebhookManager};
use domain::codehost::{AccessToken, CodeHostError};
use domain::review::codehost::{
    CodeHost, DiffSide, InlineComment, NewReview, PullRequestState, ReviewVerdict,
};
use domain::webhook::values::{HeadSha, RepoFullName};
use nectr_tests::fake_github::{FakeGitHub, TEST_PAT};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

fn repo() -> RepoFullName {
    RepoFullName::parse("Codertocat/Hello-World").unwrap()
}

fn user_token() -> AccessToken {
    AccessToken::new("gho_usertoken")
}

#[tokio::test]
async fn a_pull_request_is_read_with_the_users_token_and_githubs_headers() {
    let gh = FakeGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/Codertocat/Hello-World/pulls/2"))
        .and(header("authorization", "Bearer gho_usertoken"))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(FakeGitHub::pull_request_json(
                "Codertocat/Hello-World",
                2,
                SHA,
                "open",
            )),
        )
        .expect(1)
        .mount(&gh.server)
        .await;
    let pr = gh
        .client()
        .pull_request(Some(user_token()), &repo(), 2)
        .await
        .unwrap();
    assert_eq!(pr.number, 2);
    assert_eq!(pr.state, PullRequestState::Open);
    assert_eq!(pr.head_sha.as_str(), SHA);
    assert_eq!(
        (pr.head_ref.as_str(), pr.base_ref.as_str()),
        ("changes", "master")
    );
    assert_eq!(pr.author, "Codertocat");
    assert_eq!(pr.title, "Update the README with new information.");
}

#[tokio::test]
async fn without_a_users_token_the_pat_is_used() {
    let gh = FakeGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/Codertocat/Hello-World/pulls/3"))
        .and(header(
            "authorization",
            format!("Bearer {TEST_PAT}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(FakeGitHub::pull_request_json(
                "Codertocat/Hello-World",
                3,
                SHA,
                "merged",
            )),
        )
        .expect(1)
        .mount(&gh.server)
        .await;
    let pr = gh.client().pull_request(None, &repo(), 3).await.unwrap();
    assert_eq!(pr.state, PullRequestState::Merged);
}

#[tokio::test]
async fn pull_request_state_is_cached_and_fetched_once() {
    let gh = FakeGitHub::start().await;
    gh.serve_pull_request("Codertocat/Hello-World", 2, SHA, "open")
        .await;
    let client = gh.client();
    let repo = repo();
    let (a, b) = tokio::join!(
        client.pull_request(None, &repo, 2),
        client.pull_request(None, &repo, 2)
    );
    assert_eq!(a.unwrap(), b.unwrap());
    client
        .pull_request(
            None,
            &RepoFullName::parse("codertocat/hello-world").unwrap(),
            2,
        )
        .await
        .unwrap();
    assert_eq!(
        gh.requests("GET", "/repos/Codertocat/Hello-World/pulls/2")
            .await
            .len(),
        1
    );
}

fn file_json(i: usize) -> Value {
    json!({
        "sha": "bbcd538c8e72b8c175046e27cc8f907076331401",
        "filename": format!("src/file_{i:04}.rs"),
        "status": "modified",
        "additions": 3, "deletions": 1, "changes": 4,
        "blob_url": "https://github.com/o/r/blob/x", "raw_url": "https://github.com/o/r/raw/x",
        "contents_url": "https://api.github.com/repos/o/r/contents/x",
        "patch": "@@ -1,2 +1,4 @@\n line\n+added"
    })
}

#[tokio::test]
async fn every_page_of_changed_files_is_read() {
    let gh = FakeGitHub::start().await;
    let total = 250;
    for page in 1..=3usize {
        let items: Vec<Value> = ((page - 1) * 100..(page * 100).min(total))
            .map(file_json)
            .collect();
        let mut response = ResponseTemplate::new(200).set_body_json(items);
        if page < 3 {
            let next = format!(
                "{}/repos/Codertocat/Hello-World/pulls/2/files?per_page=100&page={}",
                gh.url(),
                page + 1
            );
            let last = format!(
                "{}/repos/Codertocat/Hello-World/pulls/2/files?per_page=100&page=3",
                gh.url()
            );
            response = response.insert_header(
                "link",
                format!(r#"<{next}>; rel="next", <{last}>; rel="last""#).as_str(),
            );
        }
        let mut mock = Mock::given(method("GET"))
            .and(path("/repos/Codertocat/Hello-World/pulls/2/files"))
            .and(query_param("per_page", "100"));
        mock = if page == 1 {
            mock.and(wiremock::matchers::query_param_is_missing("page"))
        } else {
            mock.and(query_param("page", page.to_string().as_str()))
        };
        mock.respond_with(response)
            .expect(1)
            .mount(&gh.server)
            .await;
    }
    let files = gh
        .client()
        .pull_request_files(None, &repo(), 2)
        .await
        .unwrap();
    assert_eq!(files.len(), total);
    assert_eq!(files[249].filename, "src/file_0249.rs");
    assert_eq!(
        files[0].patch.as_deref(),
        Some("@@ -1,2 +1,4 @@\n line\n+added")
    );
}

#[tokio::test]
async fn file_content_is_base64_decoded_and_large_files_come_raw() {
    let gh = FakeGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/Codertocat/Hello-World/contents/docs/READ%20ME.md"))
        .and(query_param("ref", SHA))
        .and(header("accept", "application/vnd.github+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "type": "file", "encoding": "base64", "size": 12, "name": "READ ME.md", "path": "docs/READ ME.md",
            "content": "SGVsbG8s\nIHdvcmxk\n", "sha": "3d21ec53a331a6f037a91c368710b99387d012c1"
        })))
        .mount(&gh.server)
        .await;
    let file = gh
        .client()
        .file_content(None, &repo(), "docs/READ ME.md", SHA)
        .await
        .unwrap();
    assert_eq!(file.bytes, b"Hello, world");

    Mock::given(method("GET"))
        .and(path("/repos/Codertocat/Hello-World/contents/big.bin"))
        .and(header("accept", "application/vnd.github+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "type": "file", "encoding": "none", "size": 2_000_000, "path": "big.bin", "content": "", "sha": "abc"
        })))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/Codertocat/Hello-World/contents/big.bin"))
        .and(header("accept", "application/vnd.github.raw"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![7u8; 2_000_000]))
        .expect(1)
        .mount(&gh.server)
        .await;
    let big = gh
        .client()
        .file_content(None, &repo(), "big.bin", "main")
        .await
        .unwrap();
    assert_eq!(big.bytes.len(), 2_000_000);
}

#[tokio::test]
async fn a_review_is_posted_with_its_inline_comments() {
    let gh = FakeGitHub::start().await;
    gh.accept_reviews("Codertocat/Hello-World", 2).await;
    let review = NewReview {
        commit_id: HeadSha::parse(SHA).unwrap(),
        body: "Summary".into(),
        event: ReviewVerdict::RequestChanges,
        comments: vec![
            InlineComment {
                path: "src/a.rs".into(),
                line: 12,
                side: DiffSide::Right,
                start_line: None,
                body: "one".into(),
            },
            InlineComment {
                path: "src/b.rs".into(),
                line: 20,
                side: DiffSide::Right,
                start_line: Some(15),
                body: "range".into(),
            },
        ],
    };
    let posted = gh
        .client()
        .post_review(Some(user_token()), &repo(), 2, &review)
        .await
        .unwrap();
    assert_eq!(posted.id, 1000);
    assert!(posted.html_url.ends_with("#pullrequestreview-1000"));
    let sent = gh.posted_reviews("Codertocat/Hello-World", 2).await;
    assert_eq!(
        sent,
        vec![json!({
            "commit_id": SHA, "body": "Summary", "event": "REQUEST_CHANGES",
            "comments": [
                {"path": "src/a.rs", "line": 12, "side": "RIGHT", "body": "one"},
                {"path": "src/b.rs", "line": 20, "side": "RIGHT", "start_line": 15, "start_side": "RIGHT", "body": "range"},
            ]
        })]
    );
}

#[tokio::test]
async fn errors_map_to_outcomes() {
    let gh = FakeGitHub::start().await;
    let answer = |status: u16, body: Value| ResponseTemplate::new(status).set_body_json(body);
    let cases = [
        (1, answer(404, json!({"message": "Not Found"}))),
        (2, answer(401, json!({"message": "Bad credentials"}))),
        (
            3,
            answer(
                422,
                json!({"message": "Validation Failed", "errors": [{"message": "Line could not be resolved"}]}),
            ),
        ),
        (4, answer(502, json!({"message": "Server Error"}))),
        (
            5,
            answer(
                403,
                json!({"message": "Resource not accessible by integration"}),
            ),
        ),
    ];
    for (n, response) in cases {
        Mock::given(method("GET"))
            .and(path(format!("/repos/Codertocat/Hello-World/issues/{n}")))
            .respond_with(response)
            .mount(&gh.server)
            .await;
    }
    let client = gh.client();
    let get = |n: u64| {
        let client = client.clone();
        async move { client.issue(None, &repo(), n).await.unwrap_err() }
    };
    assert!(matches!(get(1).await, CodeHostError::NotFound(_)));
    assert!(matches!(get(2).await, CodeHostError::Unauthorized(_)));
    assert_eq!(
        get(3).await,
        CodeHostError::Validation(
            "get issue: Validation Failed: Line could not be resolved".into()
        )
    );
    assert!(matches!(get(4).await, CodeHostError::Transient(_)));
    assert!(matches!(get(5).await, CodeHostError::Forbidden(_)));
}

#[tokio::test]
async fn rate_limits_report_when_to_try_again() {
    let gh = FakeGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/Codertocat/Hello-World/issues/1"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", "1795363200")
                .set_body_json(json!({"message": "API rate limit exceeded for user ID 1."})),
        )
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/Codertocat/Hello-World/issues/2"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "120")
                .set_body_json(json!({"message": "You have exceeded a secondary rate limit."})),
        )
        .mount(&gh.server)
        .await;
    let client = gh.client();
    assert_eq!(
        client.issue(None, &repo(), 1).await.unwrap_err(),
        CodeHostError::RateLimited {
            retry_at: Utc.timestamp_opt(1_795_363_200, 0).unwrap()
        }
    );
    let before = Utc::now();
    let CodeHostError::RateLimited { retry_at } = client.issue(None, &repo(), 2).await.unwrap_err()
    else {
        panic!("a secondary limit is a rate limit")
    };
    assert!(
        retry_at >= before + chrono::Duration::seconds(119)
            && retry_at <= Utc::now() + chrono::Duration::seconds(121)
    );
}

#[tokio::test]
async fn a_slow_github_is_a_transient_failure() {
    let gh = FakeGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/Codertocat/Hello-World/issues/1"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&gh.server)
        .await;
    let err = gh.client().issue(None, &repo(), 1).await.unwrap_err();
    assert!(matches!(err, CodeHostError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn the_webhook_is_installed_uninstalled_and_its_secret_rotated() {
    let gh = FakeGitHub::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/Codertocat/Hello-World/hooks"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "type": "Repository", "id": 12345678, "name": "web", "active": true,
            "events": ["pull_request", "issues"], "config": {"content_type": "json", "insecure_ssl": "0", "url": "https://nectr.example/api/v1/webhooks/github"}
        })))
        .expect(1)
        .mount(&gh.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/Codertocat/Hello-World/hooks/12345678"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&gh.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/Codertocat/Hello-World/hooks/999"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&gh.server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/Codertocat/Hello-World/hooks/12345678/config"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"content_type": "json", "insecure_ssl": "0", "url": "https://nectr.example/api/v1/webhooks/github"})))
        .expect(1)
        .mount(&gh.server)
        .await;
    let client = gh.client();
    let url = "https://nectr.example/api/v1/webhooks/github";
    let created = client
        .install_hook(Some(user_token()), &repo(), url)
        .await
        .unwrap();
    assert_eq!(created.id, 12_345_678);
    let secret = String::from_utf8(created.secret.expose().to_vec()).unwrap();
    assert_eq!(secret.len(), 64);
    let sent = &gh.created_hooks("Codertocat/Hello-World").await[0];
    assert_eq!(
        sent,
        &json!({
            "name": "web", "active": true, "events": ["pull_request", "issues", "issue_comment"],
            "config": {"url": url, "content_type": "json", "insecure_ssl": "0", "secret": secret}
        })
    );
    client
        .uninstall_hook(Some(user_token()), &repo(), 12_345_678)
        .await
        .unwrap();
    client
        .uninstall_hook(Some(user_token()), &repo(), 999)
        .await
        .expect("an already deleted hook is fine");
    let rotated = client
        .rotate_hook_secret(Some(user_token()), &repo(), 12_345_678)
        .await
        .unwrap();
    let patch: Value = serde_json::from_slice(
        &gh.requests(
            "PATCH",
            "/repos/Codertocat/Hello-World/hooks/12345678/config",
        )
        .await[0]
            .body,
    )
    .unwrap();
    assert_eq!(
        patch["secret"].as_str().unwrap().as_bytes(),
        rotated.expose()
    );
    assert_ne!(rotated.expose(), created.secret.expose());

    // An older webhook is subscribed to the events added since, keeping its others.
    Mock::given(method("PATCH"))
        .and(path("/repos/Codertocat/Hello-World/hooks/12345678"))
        .and(body_json(
            json!({"add_events": ["pull_request", "issues", "issue_comment"]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "type": "Repository", "id": 12345678, "name": "web", "active": true,
            "events": ["pull_request", "issues", "issue_comment"], "config": {"content_type": "json", "insecure_ssl": "0", "url": url}
        })))
        .expect(1)
        .mount(&gh.server)
        .await;
    client
        .subscribe_events(Some(user_token()), &repo(), 12_345_678)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_oauth_code_is_exchanged_and_the_user_read() {
    let gh = FakeGitHub::start().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .and(header("accept", "application/json"))
        .and(body_json(json!({"client_id": "Iv1.testclientid", "client_secret": "test-client-secret", "code": "good-code", "redirect_uri": "https://nectr.example/auth/github/callback"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "gho_fromoauth", "token_type": "bearer", "scope": "repo,read:user,user:email"})))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .and(header("authorization", "Bearer gho_fromoauth"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"login": "octocat", "id": 1, "name": "The Octocat", "email": null, "avatar_url": "https://github.com/images/error/octocat_happy.gif", "type": "User"})))
        .mount(&gh.server)
        .await;
    let client = gh.client();
    let grant = client
        .exchange_code(
            "good-code",
            Some("https://nectr.example/auth/github/callback".to_owned()),
        )
        .await
        .unwrap();
    assert_eq!(grant.token.expose(), "gho_fromoauth");
    assert_eq!(grant.scopes, ["repo", "read:user", "user:email"]);
    let user = client.user(&grant.token).await.unwrap();
    assert_eq!(
        (user.id, user.login.as_str(), user.email),
        (1, "octocat", None)
    );
    let err = client.exchange_code("stale-code", None).await.unwrap_err();
    assert_eq!(
        err,
        CodeHostError::Validation(
            "exchange OAuth code: bad_verification_code: The code passed is incorrect or expired."
                .into()
        )
    );
}

#[tokio::test]
async fn the_users_repositories_say_whether_they_may_be_administered() {
    let gh = FakeGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/user/repos"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"full_name": "octocat/a", "private": false, "default_branch": "main", "html_url": "https://github.com/octocat/a", "permissions": {"admin": true, "push": true, "pull": true}},
            {"full_name": "octocat/b", "private": true, "default_branch": "main", "html_url": "https://github.com/octocat/b", "permissions": {"admin": false, "push": true, "pull": true}},
        ])))
        .mount(&gh.server)
        .await;
    let repos = gh
        .client()
        .user_repositories(Some(user_token()))
        .await
        .unwrap();
    assert!(repos[0].admin && repos[0].full_name == "octocat/a");
    assert!(!repos[1].admin && repos[1].private);
}

#[tokio::test]
async fn a_github_enterprise_base_path_is_kept() {
    let gh = FakeGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v3/repos/Codertocat/Hello-World/pulls/2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(FakeGitHub::pull_request_json(
                "Codertocat/Hello-World",
                2,
                SHA,
                "open",
            )),
        )
        .expect(1)
        .mount(&gh.server)
        .await;
    app_server::install_crypto_provider();
    let client = adapters_github::GitHub::new(adapters_github::GitHubConfig {
        api_url: format!("{}/api/v3", gh.url()),
        ..adapters_github::GitHubConfig::default()
    })
    .unwrap();
    assert_eq!(
        client.pull_request(None, &repo(), 2).await.unwrap().number,
        2
    );
}

#[tokio::test]
async fn each_tokens_owner_is_asked_once_and_an_app_token_has_none() {
    let gh = FakeGitHub::start().await;
    for (token, answer) in [
        (
            TEST_PAT,
            ResponseTemplate::new(200).set_body_json(json!({"login": "nectr-bot", "id": 1})),
        ),
        (
            "gho_alice",
            ResponseTemplate::new(200).set_body_json(json!({"login": "alice", "id": 2})),
        ),
        (
            "ghs_installation",
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Resource not accessible by integration"})),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path("/user"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(answer)
            .expect(1)
            .mount(&gh.server)
            .await;
    }
    let client = gh.client();
    for _ in 0..3 {
        assert_eq!(
            client.token_owner(None).await.unwrap().as_deref(),
            Some("nectr-bot")
        );
        assert_eq!(
            client
                .token_owner(Some(AccessToken::new("gho_alice")))
                .await
                .unwrap()
                .as_deref(),
            Some("alice")
        );
        assert_eq!(
            client
                .token_owner(Some(AccessToken::new("ghs_installation")))
                .await
                .unwrap(),
            None
        );
    }
}
