//! A fake GitHub (wiremock) that speaks GitHub's wire format and records what nectr sent it, for the
//! GitHub adapter's contract tests and the black-box tests of later issues.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use adapters_github::{GitHub, GitHubConfig};
use domain::codehost::AccessToken;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The token the fake's helpers expect when none is named.
pub const TEST_PAT: &str = "ghp_fallbackpersonalaccesstoken0000000000";

/// A pull request served by [`FakeGitHub::serve_moving_pull_request`].
#[derive(Debug, Clone)]
pub struct MovingPullRequest {
    head: Arc<Mutex<String>>,
    files: Arc<Mutex<Vec<Value>>>,
}

impl MovingPullRequest {
    /// The branch moves to `head_sha`, and the pull request's whole diff is now `diff`.
    pub fn push(&self, head_sha: &str, diff: &str) {
        *self.head.lock().unwrap() = head_sha.to_owned();
        *self.files.lock().unwrap() = files_json(diff);
    }
}

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
        app_server::install_crypto_provider();
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

    /// The settings an app needs to call this fake's API and sign users in through its OAuth pages.
    pub fn app_settings(&self) -> Vec<(&'static str, String)> {
        let url = self.url();
        vec![
            ("GITHUB_API_URL", url.clone()),
            ("GITHUB_OAUTH_URL", url),
            ("GITHUB_CLIENT_ID", "Iv1.testclientid".to_owned()),
            ("GITHUB_CLIENT_SECRET", "test-client-secret".to_owned()),
            ("BACKEND_URL", "https://nectr.example".to_owned()),
        ]
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

    /// Serves a pull request (JSON and its changed files) that can move: [`MovingPullRequest::push`]
    /// gives it a new head commit and a new diff, as a push to its branch does.
    pub async fn serve_moving_pull_request(
        &self,
        repo: &str,
        number: u64,
        head_sha: &str,
        diff: &str,
    ) -> MovingPullRequest {
        let moving = MovingPullRequest {
            head: Arc::new(Mutex::new(head_sha.to_owned())),
            files: Arc::new(Mutex::new(files_json(diff))),
        };
        let (head, repo_owned) = (moving.head.clone(), repo.to_owned());
        Mock::given(method("GET"))
            .and(path(format!("/repos/{repo}/pulls/{number}")))
            .and(header("accept", "application/vnd.github+json"))
            .respond_with(move |_: &Request| {
                let sha = head.lock().unwrap().clone();
                ResponseTemplate::new(200).set_body_json(Self::pull_request_json(
                    &repo_owned,
                    number,
                    &sha,
                    "open",
                ))
            })
            .mount(&self.server)
            .await;
        let files = moving.files.clone();
        let base = format!("{}/repos/{repo}/pulls/{number}/files", self.url());
        Mock::given(method("GET"))
            .and(path(format!("/repos/{repo}/pulls/{number}/files")))
            .respond_with(move |req: &Request| paged(req, &files.lock().unwrap(), &base))
            .mount(&self.server)
            .await;
        moving
    }

    /// Serves the pull request's unified diff (`Accept: application/vnd.github.v3.diff`) and the same
    /// change as its changed-files list ([`Self::serve_files`]).
    pub async fn serve_diff(&self, repo: &str, number: u64, diff: &str) {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{repo}/pulls/{number}")))
            .and(header("accept", "application/vnd.github.v3.diff"))
            .respond_with(ResponseTemplate::new(200).set_body_string(diff))
            .mount(&self.server)
            .await;
        self.serve_files(repo, number, files_json(diff)).await;
    }

    /// Serves `GET /repos/{repo}/pulls/{number}/files` as GitHub does: `per_page` (30 by default,
    /// 100 at most) per page, `Link: <…>; rel="next"` while more remain, and no more than 3,000.
    pub async fn serve_files(&self, repo: &str, number: u64, files: Vec<Value>) {
        let base = format!("{}/repos/{repo}/pulls/{number}/files", self.url());
        let files: Vec<Value> = files.into_iter().take(3000).collect();
        Mock::given(method("GET"))
            .and(path(format!("/repos/{repo}/pulls/{number}/files")))
            .respond_with(move |req: &Request| paged(req, &files, &base))
            .mount(&self.server)
            .await;
    }

    /// Serves `GET /repos/{repo}/compare/{base}...{head}` with this status (`ahead`, `diverged`, …)
    /// and the files of the change (see [`files_json`]).
    pub async fn serve_compare(
        &self,
        repo: &str,
        base: &str,
        head: &str,
        status: &str,
        files: Vec<Value>,
    ) {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{repo}/compare/{base}...{head}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "url": format!("https://api.github.com/repos/{repo}/compare/{base}...{head}"),
                "status": status,
                "ahead_by": 1,
                "behind_by": if status == "diverged" { 2 } else { 0 },
                "total_commits": 1,
                "commits": [],
                "files": files,
            })))
            .mount(&self.server)
            .await;
    }

    /// Serves an issue (`GET /repos/{repo}/issues/{number}`).
    pub async fn serve_issue(&self, repo: &str, number: u64, title: &str, body: &str) {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{repo}/issues/{number}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "number": number, "title": title, "body": body, "state": "open",
                "html_url": format!("https://github.com/{repo}/issues/{number}"),
                "user": {"login": "reporter", "id": 9, "type": "User"},
            })))
            .mount(&self.server)
            .await;
    }

    /// Serves a file's contents at any ref (`GET /repos/{repo}/contents/{path}`, base64 as GitHub).
    pub async fn serve_content(&self, repo: &str, file: &str, text: &str) {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        Mock::given(method("GET"))
            .and(path(format!("/repos/{repo}/contents/{file}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "type": "file", "encoding": "base64", "size": text.len(), "name": file.rsplit('/').next(),
                "path": file, "sha": "3d21ec53a331a6f037a91c368710b99387d012c1", "content": encoded,
            })))
            .mount(&self.server)
            .await;
    }

    /// Serves GitHub's side of a sign-in: `code` is exchanged for `token`, which belongs to `login`
    /// (GitHub id `id`) and sees `repos` (with admin rights). Other codes get GitHub's
    /// `bad_verification_code` answer.
    pub async fn serve_sign_in(
        &self,
        code: &str,
        token: &str,
        login: &str,
        id: u64,
        repos: &[&str],
    ) {
        Mock::given(method("POST"))
            .and(path("/login/oauth/access_token"))
            .and(body_string_contains(format!("\"code\":\"{code}\"")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": token, "scope": "repo,read:user,user:email", "token_type": "bearer",
            })))
            .with_priority(1)
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path("/login/oauth/access_token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "error": "bad_verification_code",
                "error_description": "The code passed is incorrect or expired.",
            })))
            .with_priority(10)
            .mount(&self.server)
            .await;
        let bearer = format!("Bearer {token}");
        Mock::given(method("GET"))
            .and(path("/user"))
            .and(header("authorization", bearer.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "login": login, "id": id, "type": "User", "name": login, "email": null,
                "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}"),
            })))
            .mount(&self.server)
            .await;
        let listed: Vec<Value> = repos
            .iter()
            .map(|r| {
                json!({
                    "full_name": r, "private": true, "default_branch": "main",
                    "html_url": format!("https://github.com/{r}"),
                    "permissions": {"admin": true, "push": true, "pull": true},
                })
            })
            .collect();
        Mock::given(method("GET"))
            .and(path("/user/repos"))
            .and(header("authorization", bearer.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(listed)))
            .mount(&self.server)
            .await;
    }

    /// Serves GitHub's authorize page for a browser: a link per user, each going back to the
    /// `redirect_uri` with that user's `code` and the `state` nectr sent.
    pub async fn serve_authorize_page(&self, users: &[(&str, &str)]) {
        let users: Vec<(String, String)> = users
            .iter()
            .map(|(code, login)| ((*code).to_owned(), (*login).to_owned()))
            .collect();
        Mock::given(method("GET"))
            .and(path("/login/oauth/authorize"))
            .respond_with(move |req: &Request| {
                let query: std::collections::HashMap<String, String> =
                    req.url.query_pairs().into_owned().collect();
                let back = query.get("redirect_uri").cloned().unwrap_or_default();
                let state = query.get("state").cloned().unwrap_or_default();
                let links: String = users
                    .iter()
                    .map(|(code, login)| {
                        format!(
                            r#"<p><a id="as-{login}" href="{back}?code={code}&amp;state={state}">Sign in as {login}</a></p>"#
                        )
                    })
                    .collect();
                ResponseTemplate::new(200).set_body_raw(
                    format!("<!doctype html><title>GitHub: authorize nectr</title><h1>Authorize nectr</h1>{links}"),
                    "text/html",
                )
            })
            .mount(&self.server)
            .await;
    }

    /// Keeps webhooks on every repository as GitHub does: `POST /repos/{o}/{r}/hooks` creates one
    /// (ids from 5000), `PATCH …/hooks/{id}/config` changes its secret, `PATCH …/hooks/{id}` with
    /// `add_events` subscribes it to more events, `DELETE …/hooks/{id}` removes it (404 when it is
    /// not there).
    pub async fn keep_hooks(&self) {
        let hooks: Arc<Mutex<Vec<(u64, Value)>>> = Arc::default();
        let (created, deleted, patched) = (hooks.clone(), hooks.clone(), hooks);
        let next = Arc::new(Mutex::new(5000u64));
        Mock::given(method("POST"))
            .and(path_regex(r"^/repos/[^/]+/[^/]+/hooks$"))
            .respond_with(move |req: &Request| {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                let mut id = next.lock().unwrap();
                *id += 1;
                let hook = json!({
                    "type": "Repository", "id": *id, "name": "web", "active": true,
                    "events": body["events"], "config": {"url": body["config"]["url"], "content_type": "json", "insecure_ssl": "0"},
                });
                created.lock().unwrap().push((*id, hook.clone()));
                ResponseTemplate::new(201).set_body_json(hook)
            })
            .mount(&self.server)
            .await;
        Mock::given(method("PATCH"))
            .and(path_regex(r"^/repos/[^/]+/[^/]+/hooks/[0-9]+/config$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"content_type": "json", "insecure_ssl": "0", "url": "https://nectr.example/api/v1/webhooks/github"}),
            ))
            .mount(&self.server)
            .await;
        Mock::given(method("PATCH"))
            .and(path_regex(r"^/repos/[^/]+/[^/]+/hooks/[0-9]+$"))
            .respond_with(move |req: &Request| {
                let id: u64 = req
                    .url
                    .path()
                    .rsplit('/')
                    .next()
                    .and_then(|id| id.parse().ok())
                    .unwrap_or(0);
                let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                let mut hooks = patched.lock().unwrap();
                match hooks.iter_mut().find(|(h, _)| *h == id) {
                    Some((_, hook)) => {
                        let mut events: Vec<Value> =
                            hook["events"].as_array().cloned().unwrap_or_default();
                        for added in body["add_events"].as_array().into_iter().flatten() {
                            if !events.contains(added) {
                                events.push(added.clone());
                            }
                        }
                        hook["events"] = Value::Array(events);
                        ResponseTemplate::new(200).set_body_json(hook.clone())
                    }
                    None => {
                        ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}))
                    }
                }
            })
            .mount(&self.server)
            .await;
        Mock::given(method("DELETE"))
            .and(path_regex(r"^/repos/[^/]+/[^/]+/hooks/[0-9]+$"))
            .respond_with(move |req: &Request| {
                let id: u64 = req
                    .url
                    .path()
                    .rsplit('/')
                    .next()
                    .and_then(|id| id.parse().ok())
                    .unwrap_or(0);
                let mut hooks = deleted.lock().unwrap();
                match hooks.iter().position(|(h, _)| *h == id) {
                    Some(i) => {
                        hooks.remove(i);
                        ResponseTemplate::new(204)
                    }
                    None => {
                        ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}))
                    }
                }
            })
            .mount(&self.server)
            .await;
    }

    /// Serves `GET /user`: the fallback token belongs to `login`.
    pub async fn serve_token_owner(&self, login: &str) {
        Mock::given(method("GET"))
            .and(path("/user"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "login": login, "id": 4242, "type": "User", "name": null, "email": null, "avatar_url": null,
            })))
            .mount(&self.server)
            .await;
    }

    /// Keeps reviews like GitHub does: `POST .../reviews` stores one (ids from 1000) and
    /// `GET .../reviews` lists them, starting from `existing`.
    pub async fn keep_reviews(&self, repo: &str, number: u64, existing: Vec<Value>) {
        self.keep_reviews_refusing(repo, number, existing, Vec::new())
            .await;
    }

    /// [`Self::keep_reviews`], where a comment on one of the `refused` (path, line) places makes
    /// GitHub answer 422 for the whole review, as it does for a line it cannot resolve. A review
    /// without `event` stays PENDING (one per user and pull request) until
    /// `DELETE .../reviews/{id}` removes it.
    pub async fn keep_reviews_refusing(
        &self,
        repo: &str,
        number: u64,
        existing: Vec<Value>,
        refused: Vec<(String, u64)>,
    ) {
        let store = Arc::new(Mutex::new(existing));
        let (posted, listed, deleted) = (store.clone(), store.clone(), store);
        let repo_owned = repo.to_owned();
        let next_id = Arc::new(Mutex::new(1000u64));
        Mock::given(method("POST"))
            .and(path(format!("/repos/{repo}/pulls/{number}/reviews")))
            .respond_with(move |req: &Request| {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                let refuses = body["comments"].as_array().into_iter().flatten().any(|c| {
                    refused.iter().any(|(p, l)| c["path"] == p.as_str() && c["line"] == *l)
                });
                if refuses {
                    return ResponseTemplate::new(422).set_body_json(json!({
                        "message": "Unprocessable Entity",
                        "errors": ["Line could not be resolved"],
                        "documentation_url": "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request",
                        "status": "422"
                    }));
                }
                let mut reviews = posted.lock().unwrap();
                let pending = body["event"].is_null();
                if pending && reviews.iter().any(|r| r["state"] == "PENDING") {
                    return ResponseTemplate::new(422).set_body_json(json!({
                        "message": "Unprocessable Entity",
                        "errors": ["User can only have one pending review per pull request"],
                        "status": "422"
                    }));
                }
                let mut next = next_id.lock().unwrap();
                let id = *next;
                *next += 1;
                let review = json!({
                    "id": id,
                    "node_id": "PRR_kwDOtest",
                    "user": {"login": "nectr-bot", "id": 1, "type": "User"},
                    "body": body["body"],
                    "state": match body["event"].as_str() { Some("APPROVE") => "APPROVED", Some("REQUEST_CHANGES") => "CHANGES_REQUESTED", None => "PENDING", _ => "COMMENTED" },
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
        Mock::given(method("DELETE"))
            .and(path_regex(format!(
                "^/repos/{repo}/pulls/{number}/reviews/[0-9]+$"
            )))
            .respond_with(move |req: &Request| {
                let id: u64 = req
                    .url
                    .path()
                    .rsplit('/')
                    .next()
                    .and_then(|id| id.parse().ok())
                    .unwrap_or(0);
                let mut reviews = deleted.lock().unwrap();
                match reviews.iter().position(|r| r["id"] == id) {
                    Some(i) if reviews[i]["state"] == "PENDING" => {
                        let review = reviews.remove(i);
                        ResponseTemplate::new(200).set_body_json(review)
                    }
                    Some(_) => ResponseTemplate::new(422).set_body_json(json!({
                        "message": "Unprocessable Entity", "errors": ["Can not delete a non-pending review"]
                    })),
                    None => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
                }
            })
            .mount(&self.server)
            .await;
    }

    /// The reviews GitHub now holds on the pull request (submitted and pending), as it lists them.
    pub async fn current_reviews(&self, repo: &str, number: u64) -> Vec<Value> {
        let url = format!("{}/repos/{repo}/pulls/{number}/reviews", self.url());
        reqwest::get(url)
            .await
            .expect("fake GitHub")
            .json()
            .await
            .expect("JSON")
    }

    /// Accepts `POST /repos/{repo}/pulls/{number}/reviews` (and lists them), as GitHub would.
    pub async fn accept_reviews(&self, repo: &str, number: u64) {
        self.keep_reviews(repo, number, Vec::new()).await;
    }

    /// Keeps a pull request's conversation as GitHub does: `POST …/issues/{number}/comments`
    /// creates a comment (`201`, ids from 9000, written by `nectr-bot`), `GET` lists them,
    /// `PATCH …/issues/comments/{id}` edits one, and reactions on comments are accepted.
    pub async fn accept_comments(&self, repo: &str, number: u64) {
        let comments: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (created, listed, edited) = (comments.clone(), comments.clone(), comments);
        let next = Arc::new(Mutex::new(9000u64));
        Mock::given(method("POST"))
            .and(path(format!("/repos/{repo}/issues/{number}/comments")))
            .respond_with(move |req: &Request| {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                let mut id = next.lock().unwrap();
                *id += 1;
                let comment = json!({
                    "id": *id, "body": body["body"], "user": {"login": "nectr-bot", "type": "User"},
                    "author_association": "MEMBER",
                });
                created.lock().unwrap().push(comment.clone());
                ResponseTemplate::new(201).set_body_json(comment)
            })
            .mount(&self.server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/repos/{repo}/issues/{number}/comments")))
            .respond_with(move |_: &Request| {
                ResponseTemplate::new(200)
                    .set_body_json(Value::Array(listed.lock().unwrap().clone()))
            })
            .mount(&self.server)
            .await;
        Mock::given(method("PATCH"))
            .and(path_regex(format!(
                r"^/repos/{repo}/issues/comments/[0-9]+$"
            )))
            .respond_with(move |req: &Request| {
                let id: u64 = req
                    .url
                    .path()
                    .rsplit('/')
                    .next()
                    .and_then(|id| id.parse().ok())
                    .unwrap_or(0);
                let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                let mut comments = edited.lock().unwrap();
                match comments.iter_mut().find(|c| c["id"] == id) {
                    Some(comment) => {
                        comment["body"] = body["body"].clone();
                        ResponseTemplate::new(200).set_body_json(comment.clone())
                    }
                    None => {
                        ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}))
                    }
                }
            })
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(format!(
                r"^/repos/{repo}/issues/comments/[0-9]+/reactions$"
            )))
            .respond_with(
                ResponseTemplate::new(201).set_body_json(json!({"id": 1, "content": "eyes"})),
            )
            .mount(&self.server)
            .await;
    }

    /// The comments of a pull request's conversation as they are now (edits applied).
    pub async fn current_comments(&self, repo: &str, number: u64) -> Vec<Value> {
        let response = reqwest::get(format!(
            "{}/repos/{repo}/issues/{number}/comments",
            self.url()
        ))
        .await
        .expect("list comments");
        response.json().await.unwrap_or_default()
    }

    /// Accepts commit statuses on any commit of `repo` (`POST /repos/{repo}/statuses/{sha}`).
    pub async fn accept_statuses(&self, repo: &str) {
        Mock::given(method("POST"))
            .and(path_regex(format!(r"^/repos/{repo}/statuses/[0-9a-f]+$")))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({"id": 1, "context": "nectr/review"})),
            )
            .mount(&self.server)
            .await;
    }

    /// The `(state, description)` of every status set on `sha`, in order.
    pub async fn statuses(&self, repo: &str, sha: &str) -> Vec<(String, String)> {
        self.requests("POST", &format!("/repos/{repo}/statuses/{sha}"))
            .await
            .iter()
            .filter_map(|r| {
                let body: Value = serde_json::from_slice(&r.body).ok()?;
                Some((
                    body["state"].as_str()?.to_owned(),
                    body["description"].as_str().unwrap_or("").to_owned(),
                ))
            })
            .collect()
    }

    /// The bodies of the comments posted in a pull request's conversation, in order.
    pub async fn posted_comments(&self, repo: &str, number: u64) -> Vec<String> {
        self.requests("POST", &format!("/repos/{repo}/issues/{number}/comments"))
            .await
            .iter()
            .filter_map(|r| {
                let body: Value = serde_json::from_slice(&r.body).ok()?;
                body["body"].as_str().map(str::to_owned)
            })
            .collect()
    }

    /// The secret of the webhook nectr created (or last rotated) on `repo`, from what it sent.
    pub async fn hook_secret(&self, repo: &str) -> String {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .rev()
            .filter(|r| {
                let p = r.url.path();
                p.starts_with(&format!("/repos/{repo}/hooks"))
                    && ((r.method.as_str() == "POST" && p.ends_with("/hooks"))
                        || (r.method.as_str() == "PATCH" && p.ends_with("/config")))
            })
            .filter_map(|r| {
                let body: Value = serde_json::from_slice(&r.body).ok()?;
                body["config"]["secret"]
                    .as_str()
                    .or(body["secret"].as_str())
                    .map(str::to_owned)
            })
            .next()
            .expect("a webhook secret was sent")
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

    /// The JSON bodies of the reviews submitted on a pull request (pending probes left out).
    pub async fn posted_reviews(&self, repo: &str, number: u64) -> Vec<Value> {
        self.requests("POST", &format!("/repos/{repo}/pulls/{number}/reviews"))
            .await
            .iter()
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap_or_default())
            .filter(|body| !body["event"].is_null())
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

/// One page of `items` as GitHub serves lists: `per_page` (default 30, at most 100) and `page` from
/// the query, `Link: <…>; rel="next"` while more remain.
fn paged(req: &Request, items: &[Value], base: &str) -> ResponseTemplate {
    let query = |name: &str| {
        req.url
            .query_pairs()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let per_page = query("per_page").unwrap_or(30).clamp(1, 100);
    let page = query("page").unwrap_or(1).max(1);
    let start = (page - 1) * per_page;
    let slice: Vec<Value> = items.iter().skip(start).take(per_page).cloned().collect();
    let mut response = ResponseTemplate::new(200).set_body_json(Value::Array(slice));
    if start + per_page < items.len() {
        response = response.insert_header(
            "link",
            format!(
                "<{base}?per_page={per_page}&page={}>; rel=\"next\"",
                page + 1
            )
            .as_str(),
        );
    }
    response
}

/// A unified diff as GitHub's changed-files list: one object per file with `filename`, `status`,
/// counts, `patch` (the hunks; absent for binary files) and `previous_filename` for renames.
pub fn files_json(diff: &str) -> Vec<Value> {
    let mut files = Vec::new();
    for section in diff.split("diff --git ").skip(1) {
        let (header, patch) = match section.find("\n@@") {
            Some(at) => (&section[..at], Some(&section[at + 1..])),
            None => (section, None),
        };
        let line_after = |prefix: &str| {
            header
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map(str::to_owned)
        };
        let strip = |p: String| {
            p.strip_prefix("a/")
                .or_else(|| p.strip_prefix("b/"))
                .map(str::to_owned)
                .unwrap_or(p)
        };
        let new = line_after("+++ ").filter(|p| p != "/dev/null").map(strip);
        let old = line_after("--- ").filter(|p| p != "/dev/null").map(strip);
        let (status, filename, previous) = if let Some(to) = line_after("rename to ") {
            ("renamed", to, line_after("rename from "))
        } else if header.contains("new file mode") {
            ("added", new.clone().unwrap_or_default(), None)
        } else if header.contains("deleted file mode") {
            ("removed", old.clone().unwrap_or_default(), None)
        } else {
            let first = header.lines().next().unwrap_or("");
            let fallback = first
                .split_once(" b/")
                .map(|(_, b)| b.to_owned())
                .unwrap_or_default();
            ("modified", new.clone().unwrap_or(fallback), None)
        };
        let patch = patch.map(|p| p.trim_end_matches('\n').to_owned());
        let count = |mark: char| {
            patch.as_deref().map_or(0, |p| {
                p.lines()
                    .filter(|l| l.starts_with(mark) && !l.starts_with("@@"))
                    .count()
            })
        };
        let (additions, deletions) = (count('+'), count('-'));
        let mut file = json!({
            "sha": "bbcd538c8e72b8c175046e27cc8f907076331401",
            "filename": filename,
            "status": status,
            "additions": additions,
            "deletions": deletions,
            "changes": additions + deletions,
        });
        if let Some(patch) = patch {
            file["patch"] = json!(patch);
        }
        if let Some(previous) = previous {
            file["previous_filename"] = json!(previous);
        }
        files.push(file);
    }
    files
}
