//! Connecting repositories: the signed-in user's GitHub repositories, and installing, removing and
//! re-keying nectr's webhook on one of them. The rules live in the accounts service; calls to GitHub
//! are made with the user's own token.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use domain::webhook::values::RepoFullName;

use crate::api::accounts::{
    DisconnectedBody, InstallationBody, RepositoriesBody, RotatedBody, SubscribedBody,
};
use crate::error::ApiError;
use crate::session::CurrentUser;
use crate::startup::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/repos", web::get().to(list))
        .service(
            web::resource("/api/v1/repos/{owner}/{repo}/install")
                .route(web::post().to(install))
                .route(web::delete().to(uninstall)),
        )
        .route(
            "/api/v1/repos/{owner}/{repo}/rotate-secret",
            web::post().to(rotate_secret),
        )
        .route(
            "/api/v1/repos/{owner}/{repo}/webhook/events",
            web::post().to(subscribe_events),
        );
}

fn repo_of(path: &(String, String)) -> Result<RepoFullName, ApiError> {
    RepoFullName::parse(&format!("{}/{}", path.0, path.1))
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// `GET /api/v1/repos`
async fn list(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<web::Json<RepositoriesBody>, ApiError> {
    let repos = state.accounts.repositories(&user).await?;
    Ok(web::Json(RepositoriesBody {
        items: repos.into_iter().map(Into::into).collect(),
    }))
}

/// `POST /api/v1/repos/{owner}/{repo}/install`: 201 when connected now, 200 when it was already.
async fn install(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let repo = repo_of(&path)?;
    let connected = state.accounts.connect(&user, &repo).await?;
    let mut answer = if connected.created {
        crate::graph::backfill_in_background(state.backfill.clone(), repo.clone());
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(answer.json(InstallationBody::from(connected.installation)))
}

/// `DELETE /api/v1/repos/{owner}/{repo}/install`
async fn uninstall(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<web::Json<DisconnectedBody>, ApiError> {
    let repo = repo_of(&path)?;
    state.accounts.disconnect(&user, &repo).await?;
    Ok(web::Json(DisconnectedBody {
        repository: repo.to_string(),
        connected: false,
    }))
}

/// `POST /api/v1/repos/{owner}/{repo}/rotate-secret`
async fn rotate_secret(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<web::Json<RotatedBody>, ApiError> {
    let repo = repo_of(&path)?;
    let grace_until = state
        .accounts
        .rotate_secret(&user, &repo, Utc::now())
        .await?;
    Ok(web::Json(RotatedBody {
        repository: repo.to_string(),
        rotated: true,
        previous_secret_valid_until: grace_until,
    }))
}

/// `POST /api/v1/repos/{owner}/{repo}/webhook/events`: subscribes a webhook installed by an older
/// version to the events nectr reads now (comments, for `@nectr` commands).
async fn subscribe_events(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<web::Json<SubscribedBody>, ApiError> {
    let repo = repo_of(&path)?;
    let events = state.accounts.subscribe_events(&user, &repo).await?;
    Ok(web::Json(SubscribedBody {
        repository: repo.to_string(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
    }))
}
