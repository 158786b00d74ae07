//! Cross-site request forgery: a state-changing request (`POST`, `PUT`, `PATCH`, `DELETE`) to a
//! cookie-authenticated route (`/api/*` but the webhook, `/auth/*`) is refused with `403` when
//!
//! - the browser says it is cross-site (`Sec-Fetch-Site: cross-site` or `same-site`), or
//! - its `Origin` is not nectr's own (`BACKEND_URL`, else the request's `Host`), or
//! - it is neither JSON (`Content-Type: application/json`, which a cross-site page cannot send without
//!   a CORS preflight nectr never grants) nor carries the session's `X-CSRF-Token` (for HTML forms).
//!
//! The webhook endpoints (GitHub's and Linear's) are exempt: they are authenticated by their
//! signatures, not a cookie.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ApiError;
use crate::routes::webhooks::{LINEAR_WEBHOOK_PATH, WEBHOOK_PATH};
use crate::startup::AppState;

/// The token an HTML form of this session carries (`X-CSRF-Token`, or the form's `csrf_token`):
/// the HMAC of the session token under `SESSION_KEY`, so it is worth nothing without the session.
pub fn token(key: &ring::hmac::Key, session_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::hmac::sign(
        key,
        format!("csrf:{session_token}").as_bytes(),
    ))
}

fn guarded(req: &ServiceRequest) -> bool {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let path = req.path();
    unsafe_method
        && path != WEBHOOK_PATH
        && path != LINEAR_WEBHOOK_PATH
        && (path.starts_with("/api/") || path.starts_with("/auth/"))
}

/// Why the request is refused, if it is.
fn refusal(req: &ServiceRequest, state: &AppState) -> Option<String> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Some(format!(
            "cross-site request refused (Sec-Fetch-Site: {site})"
        ));
    }
    if let Some(origin) = header("origin") {
        let own = match &state.own_origin {
            Some(own) => origin.eq_ignore_ascii_case(own),
            None => header("host").is_some_and(|host| {
                origin
                    .split_once("://")
                    .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
            }),
        };
        if !own {
            return Some(format!(
                "cross-site request refused: Origin {origin} is not this server's"
            ));
        }
    }
    let json = header("content-type").is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    });
    if json || valid_token(req, state) {
        return None;
    }
    Some(
        "state-changing requests need Content-Type: application/json (or the form's X-CSRF-Token)"
            .to_owned(),
    )
}

fn valid_token(req: &ServiceRequest, state: &AppState) -> bool {
    let Some(sent) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(session) = crate::session::session_token(state, req.request()) else {
        return false;
    };
    let expected = token(&state.session_key, &session);
    domain::digest::sha256_hex(sent) == domain::digest::sha256_hex(expected)
}

/// The middleware: refused requests never reach a handler.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if guarded(&req)
        && let Some(state) = req.app_data::<web::Data<AppState>>().cloned()
        && let Some(why) = refusal(&req, &state)
    {
        tracing::info!(path = req.path(), reason = %why, "cross-site request refused");
        let response = ApiError::Forbidden(why).error_response();
        return Ok(req.into_response(response));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
