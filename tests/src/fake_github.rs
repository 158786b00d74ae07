//! A fake GitHub (wiremock) that speaks GitHub's wire format and records what nectr sent it, for the
//! GitHub adapter's contract tests and the black-box tests of later issues.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use adapters_github::{GitHub, GitHubConfig};
use domain::codehost::AccessToken;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The token the fake's helpers expect when none is named.
pub const TEST_PAT: &str = "ghp_fallbackpersonalaccesstoken0000000000";

#[derive(Debug)]
pub struct FakeGitHub {
    pub server: MockServer,
}

impl FakeGitHub {
    pub async fn start() -> Self {
        Self {
            server: MockServer::start().await,
        }
    }

    /// The API base URL (and OAuth base URL: the fake serves both).
    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// The GitHub adapter pointed at this fake, with `TEST_PAT` as fallback token and a short timeout.
    pub fn client(&self) -> GitHub {
        GitHub::new(GitHubConfig {
            api_url: self.url(),
            oauth_url: self.url(),
            pat: Some(AccessToken::new(TEST_PAT)),
            client_id: Some("Iv1.testclientid".to_owned()),
            client_secret: Some("test-client-secret".to_owned().into()),
            timeout: Duration::from_millis(500),
            low_rate_limit_warning: 100,
        })
        .expect("GitHub client")
    }

    /// A pull request object shaped exactly like GitHub's (the corpus's `opened.json`), with this
    /// repository, number, head SHA and state.
    pub fn pull_request_json(repo: &str, number: u64, head_sha: &str, state: &str) -> Value {
        let payload: Value = serde_json::from_slice(
            &std::fs::read(crate::corpus_dir().join("github/pull_request/opened.json"))
                .expect("corpus"),
        )
        .expect("corpus JSON");
        let mut pr = payload["pull_request"].clone();
        pr["number"] = json!(number);
        pr["state"] = json!(if state == "merged" { "closed" } else { state });
        pr["merged"] = json!(state == "merged");
        pr["merged_at"] = if state == "merged" {
            json!("2026-11-22T10:00:00Z")
        } else {
            Value::Null
        };
        pr["head"]["sha"] = json!(head_sha);
        pr["base"]["repo"]["full_name"] = json!(repo);
        pr["html_url"] = json!(format!("https://github.com/{repo}/pull/{number}"));
        pr
    }

    /// Serves `GET /repos/{repo}/pulls/{number}` (the JSON media type).
    pub async fn serve_pull_request(&self, repo: &str, number: u64, head_sha: &str, state: &str) {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{repo}/pulls/{number}")))
            .and(header("accept", "application/vnd.github+json"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(Self::pull_request_json(repo, number, head_sha, state)),
            )
            .mount(&self.server)
            .await;
    }

    /// Serves the pull request's unified diff (`Accept: application/vnd.github.v3.diff`).
    pub async fn serve_diff(&self, repo: &str, number: u64, diff: &str) {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{repo}/pulls/{number}")))
            .and(header("accept", "application/vnd.github.v3.diff"))
            .respond_with(ResponseTemplate::new(200).set_body_string(diff))
            .mount(&self.server)
            .await;
    }

    /// Keeps reviews like GitHub does: `POST .../reviews` stores one (ids from 1000) and
    /// `GET .../reviews` lists them, starting from `existing`.
    pub async fn keep_reviews(&self, repo: &str, number: u64, existing: Vec<Value>) {
        let store = Arc::new(Mutex::new(existing));
        let (posted, listed) = (store.clone(), store);
        let repo_owned = repo.to_owned();
        Mock::given(method("POST"))
            .and(path(format!("/repos/{repo}/pulls/{number}/reviews")))
            .respond_with(move |req: &Request| {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                let mut reviews = posted.lock().unwrap();
                let id = 1000 + reviews.len() as u64;
                let review = json!({
                    "id": id,
                    "node_id": "PRR_kwDOtest",
                    "user": {"login": "nectr-bot", "id": 1, "type": "User"},
                    "body": body["body"],
                    "state": match body["event"].as_str() { Some("APPROVE") => "APPROVED", Some("REQUEST_CHANGES") => "CHANGES_REQUESTED", _ => "COMMENTED" },
                    "html_url": format!("https://github.com/{repo_owned}/pull/{number}#pullrequestreview-{id}"),
                    "commit_id": body["commit_id"],
                });
                reviews.push(review.clone());
                ResponseTemplate::new(200).set_body_json(review)
            })
            .mount(&self.server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/repos/{repo}/pulls/{number}/reviews")))
            .respond_with(move |_: &Request| {
                ResponseTemplate::new(200)
                    .set_body_json(Value::Array(listed.lock().unwrap().clone()))
            })
            .mount(&self.server)
            .await;
    }

    /// Accepts `POST /repos/{repo}/pulls/{number}/reviews` (and lists them), as GitHub would.
    pub async fn accept_reviews(&self, repo: &str, number: u64) {
        self.keep_reviews(repo, number, Vec::new()).await;
    }

    /// Every request received with this method and path, in order.
    pub async fn requests(&self, verb: &str, request_path: &str) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == verb && r.url.path() == request_path)
            .collect()
    }

    /// The JSON bodies of the reviews posted on a pull request.
    pub async fn posted_reviews(&self, repo: &str, number: u64) -> Vec<Value> {
        self.requests("POST", &format!("/repos/{repo}/pulls/{number}/reviews"))
            .await
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap_or_default())
            .collect()
    }

    /// The JSON bodies of the webhooks created on a repository.
    pub async fn created_hooks(&self, repo: &str) -> Vec<Value> {
        self.requests("POST", &format!("/repos/{repo}/hooks"))
            .await
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap_or_default())
            .collect()
    }
}
