//! Sign-in sessions over HTTP. The cookie holds a random token and its HMAC under `SESSION_KEY`; the
//! database holds only the token's SHA-256, so neither a leaked cookie signature key nor a leaked table
//! alone gives a session. [`CurrentUser`] is the extractor every signed-in route takes (no session:
//! 401), and [`CallerScope`] the repositories a management route is limited to.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::accounts::{Scope, User};

use crate::error::ApiError;
use crate::startup::AppState;

/// The session cookie's name in development (plain HTTP).
pub const COOKIE: &str = "nectr_session";
/// Its name in production: the `__Host-` prefix makes browsers accept it only when `Secure`, for
/// path `/` and without a `Domain`, so a sibling subdomain cannot plant or overwrite it.
pub const SECURE_COOKIE: &str = "__Host-nectr_session";

/// The session cookie's name for a server whose cookies are `Secure` (production) or not.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
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

/// A cookie of nectr's: for `/`, HttpOnly, SameSite=Lax, Secure in production.
fn build(
    name: &'static str,
    value: String,
    max_age: std::time::Duration,
    secure: bool,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ))
        .finish()
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure in production.
pub fn cookie(value: String, max_age: std::time::Duration, secure: bool) -> Cookie<'static> {
    build(cookie_name(secure), value, max_age, secure)
}

/// A cookie that clears the session cookie.
pub fn removal(secure: bool) -> Cookie<'static> {
    let mut cookie = cookie(String::new(), std::time::Duration::ZERO, secure);
    cookie.make_removal();
    cookie
}

/// The cookie that binds a sign-in to the browser that started it (development name; `__Host-`
/// prefixed in production).
pub fn state_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-nectr_oauth_state"
    } else {
        "nectr_oauth_state"
    }
}

/// The sign-in state, kept by the browser that left for GitHub for as long as the state lives.
/// `SameSite=Lax`, so it comes back on GitHub's top-level redirect to the callback.
pub fn state_cookie(state: String, max_age: std::time::Duration, secure: bool) -> Cookie<'static> {
    build(state_cookie_name(secure), state, max_age, secure)
}

/// A cookie that clears the sign-in state cookie.
pub fn state_removal(secure: bool) -> Cookie<'static> {
    let mut cookie = state_cookie(String::new(), std::time::Duration::ZERO, secure);
    cookie.make_removal();
    cookie
}

/// Whether the callback's `state` is the one this browser was given (compared through their
/// digests, so the time taken says nothing about the value).
pub fn state_matches(req: &HttpRequest, secure: bool, state: &str) -> bool {
    req.cookie(state_cookie_name(secure)).is_some_and(|c| {
        domain::accounts::tokens::hash(c.value()) == domain::accounts::tokens::hash(state)
    })
}

/// The session token of a request's cookie, when its signature checks out.
pub fn session_token(state: &AppState, req: &HttpRequest) -> Option<String> {
    let value = req.cookie(cookie_name(state.secure_cookies))?;
    verified_token(&state.session_key, value.value()).map(str::to_owned)
}

fn signed_out() -> ApiError {
    ApiError::Unauthorized("Sign in first: GET /auth/github".into())
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

async fn current_user(
    state: Option<web::Data<AppState>>,
    token: Option<String>,
) -> Result<User, ApiError> {
    let (Some(state), Some(token)) = (state, token) else {
        return Err(signed_out());
    };
    let lookup = async {
        Ok(state
            .accounts
            .session_user(&token, chrono::Utc::now())
            .await?)
    };
    crate::deadline::within(state.store_timeout, lookup)
        .await?
        .ok_or_else(signed_out)
}

fn request_parts(req: &HttpRequest) -> (Option<web::Data<AppState>>, Option<String>) {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let token = state.as_ref().and_then(|s| session_token(s, req));
    (state, token)
}

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let (state, token) = request_parts(req);
        Box::pin(async move { current_user(state, token).await.map(Self) })
    }
}

/// The caller's connected repositories: what every management route is scoped to. Without a session,
/// 401.
#[derive(Debug, Clone)]
pub struct CallerScope(pub Scope);

impl FromRequest for CallerScope {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let (state, token) = request_parts(req);
        Box::pin(async move {
            let user = current_user(state.clone(), token).await?;
            let state = state.ok_or_else(signed_out)?;
            let scope = async { Ok(state.accounts.scope(&user).await?) };
            Ok(Self(
                crate::deadline::within(state.store_timeout, scope).await?,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use domain::accounts::tokens::{hash, new_token};

    use super::*;

    #[test]
    fn a_cookie_verifies_only_with_its_key_and_unchanged() {
        let key =
            ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"0123456789abcdef0123456789abcdef");
        let other =
            ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"another key of 32 characters....");
        let token = new_token().unwrap();
        let value = cookie_value(&key, &token);
        assert_eq!(verified_token(&key, &value), Some(token.as_str()));
        assert_eq!(verified_token(&other, &value), None);
        let forged = format!("{}x.{}", token, value.split_once('.').unwrap().1);
        assert_eq!(verified_token(&key, &forged), None);
        assert_eq!(verified_token(&key, &token), None, "unsigned");
        assert_ne!(hash(&token), token);
    }
}
