//! Connecting repositories: the signed-in user's GitHub repositories, and installing, removing and
//! re-keying nectr's webhook on one of them. Calls to GitHub are made with the user's own token.

// Helpers hand back a ready answer as their error: a response is what the handler returns anyway.
#![allow(clippy::result_large_err)]

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use adapters_db::entities::installations;
use chrono::Utc;
use domain::codehost::{AccessToken, CodeHostError};
use domain::webhook::values::RepoFullName;
use serde_json::json;

use super::{detail, unavailable};
use crate::session::CurrentUser;
use crate::startup::AppState;

/// A GitHub failure as the user should see it.
fn github_error(repo: Option<&RepoFullName>, e: CodeHostError) -> HttpResponse {
    let name = repo.map_or_else(|| "your repositories".to_owned(), |r| r.to_string());
    match e {
        CodeHostError::Unauthorized(_) => detail(
            StatusCode::UNAUTHORIZED,
            "GitHub no longer accepts your token; sign in again at /auth/github",
        ),
        CodeHostError::NotFound(_) | CodeHostError::Forbidden(_) => detail(
            StatusCode::FORBIDDEN,
            format!(
                "GitHub does not let you manage webhooks of {name}: you need admin rights on it"
            ),
        ),
        CodeHostError::Validation(message) => detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("GitHub refused the change to {name}: {message}"),
        ),
        CodeHostError::RateLimited { retry_at } => HttpResponse::TooManyRequests()
            .insert_header((
                "Retry-After",
                (retry_at - Utc::now()).num_seconds().max(1).to_string(),
            ))
            .json(json!({ "detail": format!("GitHub's rate limit is reached until {retry_at}") })),
        other => {
            tracing::warn!(error = %other, "GitHub call failed");
            detail(
                StatusCode::BAD_GATEWAY,
                "GitHub could not be reached; try again",
            )
        }
    }
}

fn installation_json(i: &installations::Model) -> serde_json::Value {
    json!({
        "id": i.id,
        "repository": i.repo_full_name,
        "webhook_id": i.webhook_id,
        "active": i.is_active,
        "created_at": i.created_at,
        "previous_secret_valid_until": i.previous_secret_expires_at.filter(|t| *t > Utc::now()),
    })
}

/// The user's token, or the answer to give when there is none.
async fn token_of(state: &AppState, user: &CurrentUser) -> Result<AccessToken, HttpResponse> {
    match state.db.user_token(&user.user).await {
        Ok(Some(token)) => Ok(token),
        Ok(None) => Err(detail(
            StatusCode::UNAUTHORIZED,
            "no GitHub token is stored for you; sign in again at /auth/github",
        )),
        // A token that does not decrypt is an error, never used as it is stored.
        Err(e) => Err(unavailable(e)),
    }
}

fn repo_of(path: &(String, String)) -> Result<RepoFullName, HttpResponse> {
    RepoFullName::parse(&format!("{}/{}", path.0, path.1))
        .map_err(|e| detail(StatusCode::BAD_REQUEST, e.to_string()))
}

/// `GET /api/v1/repos`
pub async fn list(state: web::Data<AppState>, user: CurrentUser) -> HttpResponse {
    let token = match token_of(&state, &user).await {
        Ok(token) => token,
        Err(answer) => return answer,
    };
    let repos = match state.hooks.user_repositories(Some(token)).await {
        Ok(repos) => repos,
        Err(e) => return github_error(None, e),
    };
    let keys: Vec<String> = repos
        .iter()
        .filter_map(|r| RepoFullName::parse(&r.full_name).ok())
        .map(|r| r.key())
        .collect();
    let installed = match state.db.active_installations(&keys).await {
        Ok(installed) => installed,
        Err(e) => return unavailable(e),
    };
    let items: Vec<serde_json::Value> = repos
        .iter()
        .map(|repo| {
            let key = repo.full_name.to_ascii_lowercase();
            let installation = installed.iter().find(|i| i.repo_key == key);
            json!({
                "full_name": repo.full_name,
                "private": repo.private,
                "html_url": repo.html_url,
                "admin": repo.admin,
                "connected": installation.is_some(),
                "connected_by_you": installation.is_some_and(|i| i.user_id == user.user.id),
            })
        })
        .collect();
    HttpResponse::Ok().json(json!({ "items": items }))
}

/// `POST /api/v1/repos/{owner}/{repo}/install`
pub async fn install(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let repo = match repo_of(&path) {
        Ok(repo) => repo,
        Err(answer) => return answer,
    };
    match state.db.active_installation(&repo).await {
        Ok(Some(existing)) if existing.user_id == user.user.id => {
            return HttpResponse::Ok().json(installation_json(&existing));
        }
        Ok(Some(_)) => {
            return detail(
                StatusCode::CONFLICT,
                format!(
                    "{repo} is already connected to nectr by another user; its reviews keep working"
                ),
            );
        }
        Ok(None) => {}
        Err(e) => return unavailable(e),
    }
    let Some(url) = &state.webhook_url else {
        return detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "BACKEND_URL is not set: nectr cannot tell GitHub where to deliver",
        );
    };
    let token = match token_of(&state, &user).await {
        Ok(token) => token,
        Err(answer) => return answer,
    };
    let hook = match state
        .hooks
        .install_hook(Some(token.clone()), &repo, url)
        .await
    {
        Ok(hook) => hook,
        Err(e) => return github_error(Some(&repo), e),
    };
    let webhook_id = i64::try_from(hook.id).ok();
    match state
        .db
        .create_installation(user.user.id, &repo, webhook_id, &hook.secret)
        .await
    {
        Ok(id) => {
            tracing::info!(repository = %repo, installation = id, "repository connected");
            match state.db.active_installation(&repo).await {
                Ok(Some(installation)) => {
                    HttpResponse::Created().json(installation_json(&installation))
                }
                Ok(None) => unavailable("the installation just stored is gone"),
                Err(e) => unavailable(e),
            }
        }
        Err(e) => {
            // Someone connected it at the same moment (or the store failed): remove our webhook
            // again, so GitHub does not deliver with a secret nobody knows.
            if let Err(undo) = state
                .hooks
                .uninstall_hook(Some(token), &repo, hook.id)
                .await
            {
                tracing::warn!(error = %undo, repository = %repo, "could not remove the webhook just created");
            }
            match e {
                domain::Error::Duplicate(_) => detail(
                    StatusCode::CONFLICT,
                    format!(
                        "{repo} is already connected to nectr by another user; its reviews keep working"
                    ),
                ),
                other => unavailable(other),
            }
        }
    }
}

/// The caller's own active installation of the path's repository, or the answer to give.
async fn own_installation(
    state: &AppState,
    user: &CurrentUser,
    path: &(String, String),
) -> Result<(RepoFullName, installations::Model), HttpResponse> {
    let repo = repo_of(path)?;
    match state.db.active_installation(&repo).await {
        Ok(Some(i)) if i.user_id == user.user.id => Ok((repo, i)),
        // Another user's installation is not the caller's to see or change.
        Ok(_) => Err(detail(
            StatusCode::NOT_FOUND,
            format!("you have not connected {repo}"),
        )),
        Err(e) => Err(unavailable(e)),
    }
}

/// `DELETE /api/v1/repos/{owner}/{repo}/install`
pub async fn uninstall(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (repo, installation) = match own_installation(&state, &user, &path).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    if let Some(hook_id) = installation
        .webhook_id
        .and_then(|id| u64::try_from(id).ok())
    {
        let token = match token_of(&state, &user).await {
            Ok(token) => token,
            Err(answer) => return answer,
        };
        // A webhook already deleted on GitHub is fine (the adapter treats 404 as done).
        if let Err(e) = state
            .hooks
            .uninstall_hook(Some(token), &repo, hook_id)
            .await
        {
            return github_error(Some(&repo), e);
        }
    }
    if let Err(e) = state.db.deactivate_installation(installation.id).await {
        return unavailable(e);
    }
    tracing::info!(repository = %repo, "repository disconnected");
    HttpResponse::Ok().json(json!({ "repository": repo.to_string(), "connected": false }))
}

/// `POST /api/v1/repos/{owner}/{repo}/rotate-secret`
pub async fn rotate_secret(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (repo, installation) = match own_installation(&state, &user, &path).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let Some(hook_id) = installation
        .webhook_id
        .and_then(|id| u64::try_from(id).ok())
    else {
        return detail(
            StatusCode::CONFLICT,
            format!("no webhook is recorded for {repo}; disconnect and connect it again"),
        );
    };
    let token = match token_of(&state, &user).await {
        Ok(token) => token,
        Err(answer) => return answer,
    };
    let secret = match state
        .hooks
        .rotate_hook_secret(Some(token), &repo, hook_id)
        .await
    {
        Ok(secret) => secret,
        Err(e) => return github_error(Some(&repo), e),
    };
    let grace_until = Utc::now()
        + chrono::Duration::from_std(state.secret_grace).unwrap_or(chrono::Duration::hours(1));
    if let Err(e) = state
        .db
        .rotate_installation_secret(&installation, &secret, grace_until)
        .await
    {
        // GitHub signs with the new secret now; until this is stored, its deliveries are refused
        // and GitHub keeps them for redelivery. Rotating again fixes it.
        tracing::error!(error = %e, repository = %repo, "the rotated secret could not be stored");
        return unavailable(e);
    }
    tracing::info!(repository = %repo, "webhook secret rotated");
    HttpResponse::Ok().json(json!({
        "repository": repo.to_string(),
        "rotated": true,
        "previous_secret_valid_until": grace_until,
    }))
}
