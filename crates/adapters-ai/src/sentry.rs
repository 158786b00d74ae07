//! `ErrorTracker` on Sentry's API (sentry.io or self-hosted: only the base URL differs): the
//! unresolved issues of the last 14 days whose stack frames name a changed file, from the
//! organization's issues endpoint (`is:unresolved stack.filename:"*<path>"`), in the project the
//! repository is mapped to. The project's numeric id is looked up once by its slug. Each call is
//! time-limited; files are asked about at once. The token never reaches a log or an error.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::tickets::{ErrorTracker, FileErrors, MAX_ERRORS_PER_FILE, ProductionError};
use domain::webhook::values::RepoFullName;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;

/// sentry.io, unless configured otherwise.
pub const DEFAULT_SENTRY_URL: &str = "https://sentry.io";

/// How to reach Sentry, and which project is whose.
#[derive(Debug, Clone)]
pub struct SentryConfig {
    pub url: String,
    pub auth_token: SecretString,
    /// The organization's slug.
    pub org: String,
    /// Repository (lower-case `owner/repo`) → project slug.
    pub projects: HashMap<String, String>,
    /// Each call's time limit.
    pub timeout: Duration,
}

/// Production errors as review context.
#[derive(Debug)]
pub struct SentryErrors {
    client: reqwest::Client,
    config: SentryConfig,
    /// Project slug → numeric id, once looked up.
    project_ids: Mutex<HashMap<String, String>>,
}

#[derive(Deserialize)]
struct WireProject {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIssue {
    short_id: String,
    title: String,
    culprit: Option<String>,
    /// A string in Sentry's answers ("412"), a number in some versions.
    count: Option<Value>,
    user_count: Option<Value>,
    last_seen: Option<DateTime<Utc>>,
    permalink: Option<String>,
}

fn number(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

impl From<WireIssue> for ProductionError {
    fn from(w: WireIssue) -> Self {
        ProductionError {
            count: number(w.count.as_ref()),
            user_count: number(w.user_count.as_ref()),
            short_id: w.short_id,
            title: w.title,
            culprit: w.culprit,
            last_seen: w.last_seen,
            permalink: w.permalink,
        }
    }
}

/// `SENTRY_PROJECTS`: `owner/repo=project-slug,…`.
///
/// # Errors
/// A message naming the entry that does not read.
pub fn parse_projects(raw: &str) -> Result<HashMap<String, String>, String> {
    let mut projects = HashMap::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (repo, slug) = entry
            .split_once('=')
            .map(|(r, s)| (r.trim(), s.trim()))
            .filter(|(r, s)| !s.is_empty() && RepoFullName::parse(r).is_ok())
            .ok_or_else(|| format!("'{entry}' is not owner/repo=project-slug"))?;
        projects.insert(repo.to_ascii_lowercase(), slug.to_owned());
    }
    Ok(projects)
}

fn failure(status: u16) -> domain::Error {
    match status {
        401 | 403 => {
            domain::Error::Permanent("Sentry refused the token (SENTRY_AUTH_TOKEN)".into())
        }
        404 => domain::Error::Permanent(
            "Sentry has no such organization or project (SENTRY_ORG, SENTRY_PROJECTS)".into(),
        ),
        _ => domain::Error::Transient(format!("Sentry answered {status}")),
    }
}

impl SentryErrors {
    /// Needs a process-wide rustls `CryptoProvider` (the app installs ring's at start-up).
    ///
    /// # Errors
    /// `Permanent` when the HTTP client cannot be built.
    pub fn new(config: SentryConfig) -> domain::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| domain::Error::Permanent(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            config,
            project_ids: Mutex::new(HashMap::new()),
        })
    }

    fn base(&self) -> &str {
        self.config.url.trim_end_matches('/')
    }

    async fn get(&self, url: &str, query: &[(&str, &str)]) -> domain::Result<reqwest::Response> {
        let response = self
            .client
            .get(url)
            .query(query)
            .bearer_auth(self.config.auth_token.expose_secret())
            .send()
            .await
            .map_err(|e| {
                domain::Error::Transient(format!("Sentry unreachable: {}", e.without_url()))
            })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            Ok(response)
        } else {
            Err(failure(status))
        }
    }

    async fn project_id(&self, slug: &str) -> domain::Result<String> {
        if let Some(id) = self.project_ids.lock().await.get(slug) {
            return Ok(id.clone());
        }
        let url = format!(
            "{}/api/0/projects/{}/{}/",
            self.base(),
            encode(&self.config.org),
            encode(slug)
        );
        let project: WireProject =
            self.get(&url, &[]).await?.json().await.map_err(|e| {
                domain::Error::Transient(format!("Sentry's project did not read: {e}"))
            })?;
        self.project_ids
            .lock()
            .await
            .insert(slug.to_owned(), project.id.clone());
        Ok(project.id)
    }

    async fn file_errors(&self, project: &str, path: &str) -> domain::Result<FileErrors> {
        let url = format!(
            "{}/api/0/organizations/{}/issues/",
            self.base(),
            encode(&self.config.org)
        );
        let query = format!(
            "is:unresolved stack.filename:\"*{}\"",
            path.replace(['"', '\\'], "")
        );
        let limit = MAX_ERRORS_PER_FILE.to_string();
        let issues: Vec<WireIssue> = self
            .get(
                &url,
                &[
                    ("project", project),
                    ("query", &query),
                    ("statsPeriod", "14d"),
                    ("limit", &limit),
                ],
            )
            .await?
            .json()
            .await
            .map_err(|e| domain::Error::Transient(format!("Sentry's issues did not read: {e}")))?;
        Ok(FileErrors {
            path: path.to_owned(),
            errors: issues
                .into_iter()
                .take(MAX_ERRORS_PER_FILE)
                .map(Into::into)
                .collect(),
        })
    }
}

fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[async_trait]
impl ErrorTracker for SentryErrors {
    async fn unresolved_errors(
        &self,
        repository: &RepoFullName,
        paths: &[String],
    ) -> domain::Result<Vec<FileErrors>> {
        let Some(slug) = self.config.projects.get(&repository.key()) else {
            return Ok(Vec::new());
        };
        let project = self.project_id(slug).await?;
        let asked = paths.iter().map(|p| self.file_errors(&project, p));
        let answers = futures_util::future::join_all(asked).await;
        let mut found = Vec::new();
        for answer in answers {
            let file = answer?;
            if !file.errors.is_empty() {
                found.push(file);
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_map_repositories_to_slugs() {
        let projects = parse_projects(" Acme/Backend=backend-api, acme/web = web ").unwrap();
        assert_eq!(projects["acme/backend"], "backend-api");
        assert_eq!(projects["acme/web"], "web");
        for bad in ["acme=web", "acme/web=", "acme/web"] {
            assert!(parse_projects(bad).is_err(), "{bad}");
        }
        assert!(parse_projects("").unwrap().is_empty());
    }
}
