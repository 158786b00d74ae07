//! GitHub's answers mapped to the domain's outcomes: 404 NotFound, 401 Unauthorized, 422 Validation,
//! rate limits with their reset time, 5xx and timeouts Transient.

use chrono::{DateTime, TimeZone, Utc};
use domain::codehost::CodeHostError;
use http::{HeaderMap, StatusCode};

/// How long to wait after a secondary rate limit that names no time (GitHub's advice: at least a minute).
const DEFAULT_BACKOFF_SECS: i64 = 60;

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The time a rate-limited caller may try again, from `Retry-After` (seconds) or
/// `X-RateLimit-Reset` (epoch seconds) when the primary limit is exhausted.
pub(crate) fn retry_at(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Some(secs) = header_u64(headers, "retry-after") {
        return Some(now + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 2)));
    }
    if header_u64(headers, "x-ratelimit-remaining") == Some(0) {
        let reset = header_u64(headers, "x-ratelimit-reset")?;
        return Utc.timestamp_opt(i64::try_from(reset).ok()?, 0).single();
    }
    None
}

/// GitHub's error message (`message`, and the `errors` list of a 422), for the error's text.
fn github_message(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    };
    let mut message = value["message"].as_str().unwrap_or("no message").to_owned();
    if let Some(errors) = value["errors"].as_array() {
        let details: Vec<String> = errors
            .iter()
            .map(|e| match e {
                serde_json::Value::String(s) => s.clone(),
                other => other["message"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{} {}", other["field"], other["code"])),
            })
            .collect();
        if !details.is_empty() {
            message = format!("{message}: {}", details.join("; "));
        }
    }
    message
}

/// Maps a non-success answer to its outcome. `what` names the call for the message.
pub(crate) fn from_status(
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> CodeHostError {
    let message = || format!("{what}: {}", github_message(body));
    match status.as_u16() {
        401 => CodeHostError::Unauthorized(message()),
        404 => CodeHostError::NotFound(message()),
        422 => CodeHostError::Validation(message()),
        403 | 429 => {
            if let Some(retry_at) = retry_at(headers, now) {
                return CodeHostError::RateLimited { retry_at };
            }
            let text = github_message(body).to_ascii_lowercase();
            if status == StatusCode::TOO_MANY_REQUESTS || text.contains("rate limit") {
                CodeHostError::RateLimited {
                    retry_at: now + chrono::Duration::seconds(DEFAULT_BACKOFF_SECS),
                }
            } else {
                CodeHostError::Forbidden(message())
            }
        }
        500..=599 => CodeHostError::Transient(format!("{what}: GitHub answered {status}")),
        _ => CodeHostError::Permanent(format!(
            "{what}: unexpected {status}: {}",
            github_message(body)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn statuses_map_to_outcomes() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let none = HeaderMap::new();
        let body = br#"{"message":"Validation Failed","errors":[{"resource":"PullRequestReview","code":"custom","message":"Line could not be resolved"}]}"#;
        assert_eq!(
            from_status(
                "post review",
                StatusCode::UNPROCESSABLE_ENTITY,
                &none,
                body,
                now
            ),
            CodeHostError::Validation(
                "post review: Validation Failed: Line could not be resolved".into()
            )
        );
        assert!(matches!(
            from_status("x", StatusCode::NOT_FOUND, &none, b"{}", now),
            CodeHostError::NotFound(_)
        ));
        assert!(matches!(
            from_status("x", StatusCode::UNAUTHORIZED, &none, b"{}", now),
            CodeHostError::Unauthorized(_)
        ));
        assert!(matches!(
            from_status("x", StatusCode::BAD_GATEWAY, &none, b"", now),
            CodeHostError::Transient(_)
        ));
        assert!(matches!(
            from_status(
                "x",
                StatusCode::FORBIDDEN,
                &none,
                br#"{"message":"Resource not accessible"}"#,
                now
            ),
            CodeHostError::Forbidden(_)
        ));
    }

    #[test]
    fn rate_limits_carry_their_reset_time() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let primary = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1795363200"),
        ]);
        assert_eq!(
            from_status("x", StatusCode::FORBIDDEN, &primary, b"{}", now),
            CodeHostError::RateLimited {
                retry_at: Utc.timestamp_opt(1_795_363_200, 0).unwrap()
            }
        );
        let secondary = headers(&[("retry-after", "30")]);
        assert_eq!(
            from_status("x", StatusCode::TOO_MANY_REQUESTS, &secondary, b"{}", now),
            CodeHostError::RateLimited {
                retry_at: now + chrono::Duration::seconds(30)
            }
        );
        let unnamed = br#"{"message":"You have exceeded a secondary rate limit."}"#;
        assert_eq!(
            from_status("x", StatusCode::FORBIDDEN, &HeaderMap::new(), unnamed, now),
            CodeHostError::RateLimited {
                retry_at: now + chrono::Duration::seconds(60)
            }
        );
    }
}
