//! The knowledge graph of the caller's connected repositories: who knows these files, and which pull
//! requests touched what a pull request touches. Another user's repository answers 404.

use std::sync::Arc;

use actix_web::{HttpRequest, web};
use domain::accounts::Scope;
use domain::knowledge::KnowledgeGraph;
use domain::webhook::values::RepoFullName;

use crate::api::knowledge::{ExpertsBody, KnowledgeQuery, RelatedPullsBody};
use crate::deadline::within;
use crate::error::ApiError;
use crate::session::CallerScope;
use crate::startup::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/v1/repos/{owner}/{repo}/experts",
        web::get().to(experts),
    )
    .route(
        "/api/v1/repos/{owner}/{repo}/pulls/{number}/related",
        web::get().to(related),
    );
}

/// The repository named by the path, if it is one of the caller's.
pub(crate) fn repository(scope: &Scope, owner: &str, repo: &str) -> Result<RepoFullName, ApiError> {
    let name = RepoFullName::parse(&format!("{owner}/{repo}"))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if !scope.repo_keys.contains(&name.key()) {
        return Err(ApiError::NotFound("no such repository".into()));
    }
    Ok(name)
}

fn graph(state: &AppState) -> Arc<dyn KnowledgeGraph> {
    state.graph.clone()
}

/// `GET /api/v1/repos/{owner}/{repo}/experts?path=P&path=Q[&limit=N]`
async fn experts(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    path: web::Path<(String, String)>,
    request: HttpRequest,
) -> Result<web::Json<ExpertsBody>, ApiError> {
    let query = KnowledgeQuery::parse(request.query_string())?;
    if query.paths.is_empty() {
        return Err(ApiError::BadRequest(
            "name at least one file: ?path=src/lib.rs".into(),
        ));
    }
    let repo = repository(&scope, &path.0, &path.1)?;
    let graph = graph(&state);
    let experts = within(state.store_timeout, async {
        Ok(graph
            .file_experts(&repo, &query.paths, None, query.limit)
            .await?)
    })
    .await?;
    Ok(web::Json(ExpertsBody {
        repository: repo.as_str().to_owned(),
        paths: query.paths,
        experts: experts.into_iter().map(Into::into).collect(),
    }))
}

/// `GET /api/v1/repos/{owner}/{repo}/pulls/{number}/related[?limit=N]`
async fn related(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    path: web::Path<(String, String, u64)>,
    request: HttpRequest,
) -> Result<web::Json<RelatedPullsBody>, ApiError> {
    let query = KnowledgeQuery::parse(request.query_string())?;
    if !query.paths.is_empty() {
        return Err(ApiError::BadRequest(
            "the pull request's own paths are used: leave out path".into(),
        ));
    }
    let (owner, name, number) = path.into_inner();
    let repo = repository(&scope, &owner, &name)?;
    let graph = graph(&state);
    let (paths, related) = within(state.store_timeout, async {
        let paths = graph
            .pull_request_paths(&repo, number)
            .await?
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "pull request #{number} is not in the knowledge graph yet (it is indexed when nectr reviews it)"
                ))
            })?;
        let related = graph
            .related_pull_requests(&repo, &paths, Some(number), query.limit)
            .await?;
        Ok((paths, related))
    })
    .await?;
    Ok(web::Json(RelatedPullsBody {
        repository: repo.as_str().to_owned(),
        number,
        paths,
        related: related.into_iter().map(Into::into).collect(),
    }))
}
