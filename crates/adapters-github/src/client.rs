//! The client: octocrab for transport, auth and base URLs; one `call` that every port method goes
//! through, reading rate-limit headers and mapping failures; `Link`-header pagination.

use bytes_body::collect;
use chrono::Utc;
use domain::codehost::{AccessToken, CodeHostError, CodeHostResult};
use http::{HeaderMap, Method, StatusCode, header};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;

use crate::cache::PrCache;
use crate::{GitHubConfig, error};

pub(crate) const JSON: &str = "application/vnd.github+json";
/// At 100 items a page, 30 pages hold GitHub's 3,000-file limit; no listing nectr reads is longer.
const MAX_PAGES: usize = 50;

mod bytes_body {
    use http_body_util::BodyExt;

    pub(crate) async fn collect(
        body: http_body_util::combinators::BoxBody<bytes::Bytes, octocrab::Error>,
    ) -> Result<Vec<u8>, octocrab::Error> {
        Ok(body.collect().await?.to_bytes().to_vec())
    }
}

/// The GitHub adapter. Cheap to clone; share one.
#[derive(Clone)]
pub struct GitHub {
    api: Octocrab,
    oauth: Octocrab,
    pub(crate) config: GitHubConfig,
    pub(crate) pr_cache: PrCache,
    /// Who each token (by SHA-256) belongs to, once asked.
    pub(crate) owners:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Option<String>>>>,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("api_url", &self.config.api_url)
            .field("oauth_url", &self.config.oauth_url)
            .finish_non_exhaustive()
    }
}

/// One answer: status, headers and the whole body.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> CodeHostResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            CodeHostError::Permanent(format!("{what}: unexpected answer from GitHub: {e}"))
        })
    }

    /// The `rel="next"` URL of a `Link` header.
    fn next_page(&self) -> Option<String> {
        let link = self.headers.get(header::LINK)?.to_str().ok()?;
        link.split(',').find_map(|part| {
            let (url, params) = part.split_once(';')?;
            params
                .split(';')
                .any(|p| p.trim() == r#"rel="next""#)
                .then(|| {
                    url.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_owned()
                })
        })
    }
}

fn build(base: &str, timeout: std::time::Duration) -> CodeHostResult<Octocrab> {
    Octocrab::builder()
        .base_uri(base)
        .map_err(|e| CodeHostError::Permanent(format!("invalid GitHub URL {base}: {e}")))?
        .set_connect_timeout(Some(timeout))
        .set_read_timeout(Some(timeout))
        .build()
        .map_err(|e| CodeHostError::Permanent(format!("cannot build the GitHub client: {e}")))
}

impl GitHub {
    /// Builds the client. Fails only on malformed base URLs. Needs a process-wide rustls
    /// `CryptoProvider` (the app installs ring's at start-up).
    pub fn new(config: GitHubConfig) -> CodeHostResult<Self> {
        Ok(Self {
            api: build(&config.api_url, config.timeout)?,
            oauth: build(&config.oauth_url, config.timeout)?,
            pr_cache: PrCache::new(500),
            owners: std::sync::Arc::default(),
            config,
        })
    }

    /// The API client authenticated as `token`, else as the configured PAT, else anonymous.
    fn api_as(&self, token: Option<&AccessToken>) -> CodeHostResult<Octocrab> {
        match token.or(self.config.pat.as_ref()) {
            Some(token) => self
                .api
                .user_access_token(token.expose().to_owned())
                .map_err(|e| CodeHostError::Permanent(format!("cannot authenticate: {e}"))),
            None => Ok(self.api.clone()),
        }
    }

    /// Sends one request to the API (`path` relative to the API URL, or an absolute next-page URL).
    pub(crate) async fn call(
        &self,
        what: &str,
        token: Option<&AccessToken>,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        accept: &str,
    ) -> CodeHostResult<Reply> {
        let client = self.api_as(token)?;
        self.send(&client, what, method, path, body, accept).await
    }

    /// Sends one request to the OAuth host (no API token).
    pub(crate) async fn call_oauth(
        &self,
        what: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> CodeHostResult<Reply> {
        self.send(
            &self.oauth,
            what,
            Method::POST,
            path,
            Some(body),
            "application/json",
        )
        .await
    }

    async fn send(
        &self,
        client: &Octocrab,
        what: &str,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        accept: &str,
    ) -> CodeHostResult<Reply> {
        let builder = http::Request::builder()
            .method(method)
            .uri(path)
            // octocrab adds `X-GitHub-Api-Version: 2022-11-28` itself.
            .header(header::ACCEPT, accept);
        let request = client
            .build_request(builder, body)
            .map_err(|e| CodeHostError::Permanent(format!("{what}: cannot build request: {e}")))?;
        let response = client
            .execute(request)
            .await
            .map_err(|e| transport(what, &e))?;
        let (parts, body) = response.into_parts();
        let body = collect(body).await.map_err(|e| transport(what, &e))?;
        let reply = Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        };
        self.watch_rate_limit(what, &reply.headers);
        if reply.status.is_success() {
            Ok(reply)
        } else {
            let err =
                error::from_status(what, reply.status, &reply.headers, &reply.body, Utc::now());
            tracing::info!(call = what, status = reply.status.as_u16(), error = %err, "GitHub call failed");
            Err(err)
        }
    }

    fn watch_rate_limit(&self, what: &str, headers: &HeaderMap) {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        if let Some(remaining) = get("x-ratelimit-remaining") {
            metrics::gauge!("nectr_github_rate_limit_remaining").set(remaining as f64);
        }
        if let (Some(remaining), Some(limit)) =
            (get("x-ratelimit-remaining"), get("x-ratelimit-limit"))
            && remaining < self.config.low_rate_limit_warning
        {
            tracing::warn!(
                call = what,
                remaining,
                limit,
                reset = get("x-ratelimit-reset"),
                "GitHub rate limit running low"
            );
        }
    }

    /// Every item of a paginated listing, following `Link: rel="next"`.
    pub(crate) async fn all_pages<T: DeserializeOwned>(
        &self,
        what: &str,
        token: Option<&AccessToken>,
        first: &str,
    ) -> CodeHostResult<Vec<T>> {
        let client = self.api_as(token)?;
        let separator = if first.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{first}{separator}per_page=100"));
        let mut items = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(CodeHostError::Permanent(format!(
                    "{what}: more than {MAX_PAGES} pages"
                )));
            }
            let reply = self
                .send(&client, what, Method::GET, &url, None, JSON)
                .await?;
            if reply.status == StatusCode::NO_CONTENT {
                break;
            }
            items.extend(reply.json::<Vec<T>>(what)?);
            next = reply.next_page();
        }
        Ok(items)
    }
}

impl GitHub {
    /// Every item of a paginated listing, converted from GitHub's shape `W` into the domain's `T`.
    pub(crate) async fn list<W, T>(
        &self,
        what: &str,
        token: Option<&AccessToken>,
        first: &str,
    ) -> CodeHostResult<Vec<T>>
    where
        W: DeserializeOwned,
        T: From<W>,
    {
        let items: Vec<W> = self.all_pages(what, token, first).await?;
        Ok(items.into_iter().map(T::from).collect())
    }
}

fn transport(what: &str, e: &octocrab::Error) -> CodeHostError {
    // Connection refused, reset, timed out: all worth retrying. The error text names no secret.
    CodeHostError::Transient(format!("{what}: {e}"))
}
