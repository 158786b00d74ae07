//! Response headers every answer carries: no content sniffing, no referrer, no framing; and
//! `Cache-Control: no-store` on `/auth/*` and `/api/*`, whose answers are per user or secret.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};

/// `X-Content-Type-Options`, `Referrer-Policy`, `X-Frame-Options` and a `frame-ancestors` policy.
pub fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"))
}

/// Answers of `/auth/*` and `/api/*` are never stored by a browser or a proxy.
pub async fn no_store(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let private = req.path().starts_with("/auth/") || req.path().starts_with("/api/");
    let mut res = next.call(req).await?;
    if private {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
