//! Sign-in sessions. The cookie holds a random token and its HMAC under `SESSION_KEY`; the database
//! holds only the token's SHA-256, so neither a leaked cookie signature key nor a leaked table alone
//! gives a session. `CurrentUser` is the extractor every scoped route takes: no session, 401.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use adapters_db::entities::users;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

use crate::startup::AppState;

pub const COOKIE: &str = "nectr_session";

/// 32 random bytes, URL-safe.
pub fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database stores for a token.
pub fn hash(token: &str) -> String {
    hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

fn sign(key: &ring::hmac::Key, token: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::hmac::sign(key, token.as_bytes()))
}

/// The cookie's value for `token`: `token.signature`.
pub fn cookie_value(key: &ring::hmac::Key, token: &str) -> String {
    format!("{token}.{}", sign(key, token))
}

/// The token of a cookie value whose signature checks out (in constant time).
pub fn verified_token<'a>(key: &ring::hmac::Key, value: &'a str) -> Option<&'a str> {
    let (token, signature) = value.split_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    ring::hmac::verify(key, token.as_bytes(), &signature).ok()?;
    Some(token)
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure in production.
pub fn cookie(value: String, max_age: std::time::Duration, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ))
        .finish()
}

/// A cookie that clears the session cookie.
pub fn removal(secure: bool) -> Cookie<'static> {
    let mut cookie = cookie(String::new(), std::time::Duration::ZERO, secure);
    cookie.make_removal();
    cookie
}

/// Why a request has no user.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("not signed in")]
    Missing,
    #[error("the session store failed: {0}")]
    Store(String),
}

impl ResponseError for AuthError {
    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Missing => HttpResponse::Unauthorized().json(serde_json::json!({
                "detail": "Sign in first: GET /auth/github"
            })),
            Self::Store(cause) => {
                tracing::error!(error = %cause, "session lookup failed");
                HttpResponse::ServiceUnavailable()
                    .json(serde_json::json!({ "detail": "Service temporarily unavailable" }))
            }
        }
    }
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: users::Model,
    /// The SHA-256 of the session token (for signing out).
    pub session_hash: String,
}

impl FromRequest for CurrentUser {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let value = req.cookie(COOKIE).map(|c| c.value().to_owned());
        Box::pin(async move {
            let (Some(state), Some(value)) = (state, value) else {
                return Err(AuthError::Missing);
            };
            let token = verified_token(&state.keys.session, &value).ok_or(AuthError::Missing)?;
            let session_hash = hash(token);
            let user = state
                .db
                .session_user(&session_hash, chrono::Utc::now())
                .await
                .map_err(|e| AuthError::Store(e.to_string()))?
                .ok_or(AuthError::Missing)?;
            Ok(Self { user, session_hash })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_verifies_only_with_its_key_and_unchanged() {
        let key =
            ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"0123456789abcdef0123456789abcdef");
        let other =
            ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"another key of 32 characters....");
        let token = random_token().unwrap();
        let value = cookie_value(&key, &token);
        assert_eq!(verified_token(&key, &value), Some(token.as_str()));
        assert_eq!(verified_token(&other, &value), None);
        let forged = format!("{}x.{}", token, value.split_once('.').unwrap().1);
        assert_eq!(verified_token(&key, &forged), None);
        assert_eq!(verified_token(&key, &token), None, "unsigned");
        assert_ne!(hash(&token), token);
    }
}
