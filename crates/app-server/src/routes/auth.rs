//! Signing in with GitHub (OAuth web flow): `GET /auth/github` redirects to GitHub with a single-use
//! state; `GET /auth/github/callback` checks it, exchanges the code, stores the user with their token
//! sealed, and starts a session. `GET /auth/me`, `POST /auth/logout`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use domain::codehost::CodeHostError;
use serde::Deserialize;
use serde_json::json;

use super::{detail, unavailable};
use crate::session::{self, CurrentUser};
use crate::startup::AppState;

/// How long a sign-in may take between leaving for GitHub and coming back.
const STATE_TTL_MINUTES: i64 = 10;

/// What GitHub is asked to let nectr do: read and review repositories, read the user.
const SCOPES: &str = "repo read:user user:email";

fn encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// `GET /auth/github`
pub async fn start(state: web::Data<AppState>) -> HttpResponse {
    let Some(client_id) = &state.oauth.client_id else {
        return detail(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "GitHub sign-in is not configured: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET",
        );
    };
    let Some(oauth_state) = session::random_token() else {
        return unavailable("the system random number generator failed");
    };
    let expires = Utc::now() + chrono::Duration::minutes(STATE_TTL_MINUTES);
    if let Err(e) = state
        .db
        .create_oauth_state(&session::hash(&oauth_state), expires)
        .await
    {
        return unavailable(e);
    }
    let mut url = format!(
        "{}/login/oauth/authorize?client_id={}&scope={}&state={}",
        state.oauth.oauth_url,
        encode(client_id),
        encode(SCOPES),
        oauth_state
    );
    if let Some(callback) = &state.oauth.callback_url {
        url.push_str(&format!("&redirect_uri={}", encode(callback)));
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /auth/github/callback?code=…&state=…`
pub async fn callback(state: web::Data<AppState>, query: web::Query<Callback>) -> HttpResponse {
    use actix_web::http::StatusCode;
    if let Some(error) = &query.error {
        return detail(
            StatusCode::BAD_REQUEST,
            format!("GitHub sign-in did not complete ({error}); start again at /auth/github"),
        );
    }
    let (Some(code), Some(oauth_state)) = (&query.code, &query.state) else {
        return detail(
            StatusCode::BAD_REQUEST,
            "the callback needs code and state; start again at /auth/github",
        );
    };
    // Single use: taken here whatever happens next.
    match state
        .db
        .take_oauth_state(&session::hash(oauth_state), Utc::now())
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return detail(
                StatusCode::BAD_REQUEST,
                "unknown, used or expired sign-in state; start again at /auth/github",
            );
        }
        Err(e) => return unavailable(e),
    }
    let grant = match state
        .oauth_client
        .exchange_code(code, state.oauth.callback_url.clone())
        .await
    {
        Ok(grant) => grant,
        Err(CodeHostError::Validation(message)) => {
            return detail(
                StatusCode::BAD_REQUEST,
                format!("GitHub refused the sign-in: {message}"),
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "OAuth code exchange failed");
            return detail(
                StatusCode::BAD_GATEWAY,
                "GitHub could not complete the sign-in",
            );
        }
    };
    let user = match state.oauth_client.user(&grant.token).await {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!(error = %e, "reading the signed-in user failed");
            return detail(
                StatusCode::BAD_GATEWAY,
                "GitHub could not tell who signed in",
            );
        }
    };
    let user_id = match state.db.upsert_user(&user, &grant.token).await {
        Ok(id) => id,
        Err(e) => return unavailable(e),
    };
    let Some(token) = session::random_token() else {
        return unavailable("the system random number generator failed");
    };
    let ttl = state.oauth.session_ttl;
    let expires = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(7));
    if let Err(e) = state
        .db
        .create_session(&session::hash(&token), user_id, expires)
        .await
    {
        return unavailable(e);
    }
    tracing::info!(user = %user.login, "signed in");
    HttpResponse::Found()
        .cookie(session::cookie(
            session::cookie_value(&state.keys.session, &token),
            ttl,
            state.oauth.secure_cookies,
        ))
        .insert_header((header::LOCATION, state.oauth.after_sign_in.clone()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// `GET /auth/me`
pub async fn me(user: CurrentUser) -> HttpResponse {
    let u = &user.user;
    HttpResponse::Ok().json(json!({
        "id": u.id,
        "github_id": u.github_id,
        "login": u.login,
        "name": u.name,
        "email": u.email,
        "avatar_url": u.avatar_url,
    }))
}

/// `POST /auth/logout`: ends the session (if any) and clears the cookie.
pub async fn logout(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if let Some(value) = req.cookie(session::COOKIE)
        && let Some(token) = session::verified_token(&state.keys.session, value.value())
        && let Err(e) = state.db.delete_session(&session::hash(token)).await
    {
        return unavailable(e);
    }
    HttpResponse::NoContent()
        .cookie(session::removal(state.oauth.secure_cookies))
        .finish()
}
