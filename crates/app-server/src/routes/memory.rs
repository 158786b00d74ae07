//! The project memory of the caller's connected repositories: list, add, change and forget
//! memories. Another user's repository, or a memory of another repository, answers 404.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use domain::memory::{
    ForbidRule, MemoryFilter, MemoryKind, MemoryPatch, MemorySource, MemoryStatus, NewMemory,
    Remembered,
};

use crate::api::manage::{MAX_PAGE, MAX_PER_PAGE};
use crate::api::memory::{
    MemoriesBody, MemoryBody, MemoryPatchBody, MemoryQuery, NewMemoryBody, json_body, kind, status,
};
use crate::deadline::within;
use crate::error::ApiError;
use crate::routes::knowledge::repository;
use crate::session::{CallerScope, CurrentUser};
use crate::startup::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/repos/{owner}/{repo}/memories", web::get().to(list))
        .route(
            "/api/v1/repos/{owner}/{repo}/memories",
            web::post().to(create),
        )
        .route(
            "/api/v1/repos/{owner}/{repo}/memories/{id}",
            web::get().to(show),
        )
        .route(
            "/api/v1/repos/{owner}/{repo}/memories/{id}",
            web::patch().to(change),
        )
        .route(
            "/api/v1/repos/{owner}/{repo}/memories/{id}",
            web::delete().to(forget),
        );
}

/// A `forbid` rule must read, so a typo is told at once rather than silently never checked.
fn check_rule(content: &str) -> Result<(), ApiError> {
    if ForbidRule::looks_like_one(content) {
        ForbidRule::parse(0, content).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    Ok(())
}

fn no_such_memory(id: i64) -> ApiError {
    ApiError::NotFound(format!("no memory {id} in this repository"))
}

/// `GET /api/v1/repos/{owner}/{repo}/memories[?status=&kind=&page=&per_page=]`, newest first.
async fn list(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    path: web::Path<(String, String)>,
    query: web::Query<MemoryQuery>,
) -> Result<web::Json<MemoriesBody>, ApiError> {
    let repo = repository(&scope, &path.0, &path.1)?;
    let filter = MemoryFilter {
        status: status(query.status.as_deref())?,
        kind: kind(query.kind.as_deref())?,
        developer: None,
    };
    let page = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&page) || !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::BadRequest(format!(
            "page must be 1 to {MAX_PAGE} and per_page 1 to {MAX_PER_PAGE}"
        )));
    }
    let memory = state.memory.clone();
    let memories = within(state.store_timeout, async {
        Ok(memory
            .list(&repo, &filter, per_page, (page - 1) * per_page)
            .await?)
    })
    .await?;
    Ok(web::Json(MemoriesBody {
        repository: repo.as_str().to_owned(),
        page,
        per_page,
        memories: memories.into_iter().map(Into::into).collect(),
    }))
}

/// `POST /api/v1/repos/{owner}/{repo}/memories`: `201` with the memory, `409` when the
/// repository already holds it.
async fn create(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    CallerScope(scope): CallerScope,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let repo = repository(&scope, &path.0, &path.1)?;
    let asked: NewMemoryBody = json_body(&body)?;
    let new = NewMemory::new(
        repo,
        kind(asked.kind.as_deref())?.unwrap_or(MemoryKind::Rule),
        asked.developer,
        asked.title.as_deref(),
        &asked.content,
        MemorySource::Api,
        Some(format!("@{}", user.login)),
        status(asked.status.as_deref())?.unwrap_or(MemoryStatus::Active),
    )?;
    check_rule(&new.content)?;
    let memory = state.memory.clone();
    let remembered = within(state.store_timeout, async {
        Ok(memory.remember(new, Utc::now()).await?)
    })
    .await?;
    match remembered {
        Remembered::Created(m) => Ok(HttpResponse::Created().json(MemoryBody::from(m))),
        Remembered::Exists(m) => Err(ApiError::Conflict(format!(
            "the repository already remembers this as {} {} ({})",
            m.kind.as_str(),
            m.id,
            m.status.as_str()
        ))),
    }
}

/// `GET /api/v1/repos/{owner}/{repo}/memories/{id}`.
async fn show(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    path: web::Path<(String, String, i64)>,
) -> Result<web::Json<MemoryBody>, ApiError> {
    let (owner, name, id) = path.into_inner();
    let repo = repository(&scope, &owner, &name)?;
    let memory = state.memory.clone();
    let found = within(state.store_timeout, async {
        Ok(memory.get(&repo, id).await?)
    })
    .await?;
    found
        .map(|m| web::Json(m.into()))
        .ok_or_else(|| no_such_memory(id))
}

/// `PATCH /api/v1/repos/{owner}/{repo}/memories/{id}`: accept (`"status": "active"`), reject, or
/// edit a memory.
async fn change(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    path: web::Path<(String, String, i64)>,
    body: web::Bytes,
) -> Result<web::Json<MemoryBody>, ApiError> {
    let (owner, name, id) = path.into_inner();
    let repo = repository(&scope, &owner, &name)?;
    let asked: MemoryPatchBody = json_body(&body)?;
    let checked = |what, text: Option<String>, max| {
        text.map(|t| domain::memory::model::checked_text(what, &t, max))
            .transpose()
    };
    let patch = MemoryPatch {
        title: checked(
            "memory title",
            asked.title,
            domain::memory::model::MAX_TITLE_CHARS,
        )?,
        content: checked(
            "memory content",
            asked.content,
            domain::memory::model::MAX_CONTENT_CHARS,
        )?,
        status: status(asked.status.as_deref())?,
    };
    if patch == MemoryPatch::default() {
        return Err(ApiError::BadRequest(
            "change at least one of title, content and status".into(),
        ));
    }
    if let Some(content) = &patch.content {
        check_rule(content)?;
    }
    let memory = state.memory.clone();
    let updated = within(state.store_timeout, async {
        Ok(memory.update(&repo, id, patch, Utc::now()).await?)
    })
    .await?;
    updated
        .map(|m| web::Json(m.into()))
        .ok_or_else(|| no_such_memory(id))
}

/// `DELETE /api/v1/repos/{owner}/{repo}/memories/{id}`: `204`.
async fn forget(
    state: web::Data<AppState>,
    CallerScope(scope): CallerScope,
    path: web::Path<(String, String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, name, id) = path.into_inner();
    let repo = repository(&scope, &owner, &name)?;
    let memory = state.memory.clone();
    let forgotten = within(state.store_timeout, async {
        Ok(memory.forget(&repo, id).await?)
    })
    .await?;
    if forgotten {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(no_such_memory(id))
    }
}
