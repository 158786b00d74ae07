//! Signing in with GitHub (OAuth web flow): `GET /auth/github` redirects to GitHub with a single-use
//! state; `GET /auth/github/callback` hands it and the code to the accounts service and starts the
//! session cookie. `GET /auth/me`, `POST /auth/logout`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;

use crate::api::accounts::{CallbackQuery, MeBody};
use crate::error::ApiError;
use crate::session::{self, CurrentUser};
use crate::startup::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/github", web::get().to(start))
        .route("/auth/github/callback", web::get().to(callback))
        .route("/auth/me", web::get().to(me))
        .route("/auth/logout", web::post().to(logout));
}

/// `GET /auth/github`: the state goes to GitHub and into a short-lived cookie of this browser, so
/// only this browser can come back with it (no login CSRF).
async fn start(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (oauth_state, url) = state.accounts.start_sign_in(Utc::now()).await?;
    let ttl = state.accounts.policy().state_ttl;
    Ok(HttpResponse::Found()
        .cookie(session::state_cookie(
            oauth_state,
            ttl,
            state.secure_cookies,
        ))
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// `GET /auth/github/callback?code=…&state=…`
async fn callback(
    state: web::Data<AppState>,
    query: web::Query<CallbackQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if let Some(error) = &query.error {
        return Err(ApiError::BadRequest(format!(
            "GitHub sign-in did not complete ({error}); start again at /auth/github"
        )));
    }
    let (Some(code), Some(oauth_state)) = (&query.code, &query.state) else {
        return Err(ApiError::BadRequest(
            "the callback needs code and state; start again at /auth/github".into(),
        ));
    };
    // A state from another browser (someone else's sign-in link) never signs this one in.
    if !session::state_matches(&req, state.secure_cookies, oauth_state) {
        return Err(ApiError::BadRequest(
            "this sign-in was started in another browser (or its cookie expired); start again at /auth/github"
                .into(),
        ));
    }
    let signed_in = state
        .accounts
        .finish_sign_in(oauth_state, code, Utc::now())
        .await?;
    let ttl = state.accounts.policy().session_ttl;
    Ok(HttpResponse::Found()
        .cookie(session::cookie(
            session::cookie_value(&state.session_key, &signed_in.session_token),
            ttl,
            state.secure_cookies,
        ))
        .cookie(session::state_removal(state.secure_cookies))
        .insert_header((header::LOCATION, state.after_sign_in.clone()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// `GET /auth/me`
async fn me(CurrentUser(user): CurrentUser) -> web::Json<MeBody> {
    web::Json(user.into())
}

/// `POST /auth/logout`: ends the session (if any) and clears the cookie.
async fn logout(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(token) = session::session_token(&state, &req) {
        crate::deadline::within(state.store_timeout, async {
            Ok(state.accounts.sign_out(&token).await?)
        })
        .await?;
    }
    Ok(HttpResponse::NoContent()
        .cookie(session::removal(state.secure_cookies))
        .finish())
}
