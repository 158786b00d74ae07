//! `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body, checked in constant time.

use ring::hmac;

use crate::webhook::values::WebhookSecret;

const PREFIX: &str = "sha256=";

/// Why a signature was refused. Each is a distinct cause in the delivery log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("X-Hub-Signature-256 header is missing")]
    Missing,
    #[error("only the SHA-1 X-Hub-Signature header was sent; SHA-256 is required")]
    Sha1Only,
    #[error("signature does not start with sha256=")]
    WrongPrefix,
    #[error("signature is not 64 hex digits")]
    Malformed,
    #[error("signature does not match the body")]
    Mismatch,
}

impl SignatureError {
    /// A stable machine-readable name, stored as the delivery log's rejection cause.
    pub fn cause(self) -> &'static str {
        match self {
            Self::Missing => "signature_missing",
            Self::Sha1Only => "signature_sha1_only",
            Self::WrongPrefix => "signature_wrong_prefix",
            Self::Malformed => "signature_malformed",
            Self::Mismatch => "signature_mismatch",
        }
    }
}

/// The header value GitHub would send for `body` signed with `secret`.
pub fn sign(secret: &WebhookSecret, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose());
    format!("{PREFIX}{}", hex::encode(hmac::sign(&key, body).as_ref()))
}

/// Checks `header` (the `X-Hub-Signature-256` value, if any) against `body` under any of `secrets`
/// (the current secret and, during a rotation, the previous one). `sha1_sent` tells whether the legacy
/// `X-Hub-Signature` header was present, so its absence-of-SHA-256 is reported precisely.
pub fn verify(
    secrets: &[&WebhookSecret],
    body: &[u8],
    header: Option<&str>,
    sha1_sent: bool,
) -> Result<(), SignatureError> {
    let header = match header.map(str::trim) {
        Some(h) if !h.is_empty() => h,
        _ if sha1_sent => return Err(SignatureError::Sha1Only),
        _ => return Err(SignatureError::Missing),
    };
    let hex_digest = header
        .strip_prefix(PREFIX)
        .ok_or(SignatureError::WrongPrefix)?;
    if hex_digest.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let tag = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    let matched = secrets.iter().any(|secret| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose());
        hmac::verify(&key, body, &tag).is_ok()
    });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn secret(s: &str) -> WebhookSecret {
        WebhookSecret::parse(s).unwrap()
    }

    // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    const GITHUB_VECTOR: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_published_test_vector_verifies() {
        let s = secret("It's a Secret to Everybody");
        assert_eq!(sign(&s, b"Hello, World!"), GITHUB_VECTOR);
        assert_eq!(
            verify(&[&s], b"Hello, World!", Some(GITHUB_VECTOR), false),
            Ok(())
        );
    }

    #[test]
    fn each_kind_of_bad_signature_has_its_own_cause() {
        let s = secret("It's a Secret to Everybody");
        let body = b"Hello, World!";
        assert_eq!(
            verify(&[&s], body, None, false),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&[&s], body, Some(""), false),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&[&s], body, None, true),
            Err(SignatureError::Sha1Only)
        );
        let sha1_style = GITHUB_VECTOR.replace("sha256=", "sha1=");
        assert_eq!(
            verify(&[&s], body, Some(&sha1_style), false),
            Err(SignatureError::WrongPrefix)
        );
        let bare = GITHUB_VECTOR.trim_start_matches("sha256=");
        assert_eq!(
            verify(&[&s], body, Some(bare), false),
            Err(SignatureError::WrongPrefix)
        );
        let bad_hex = GITHUB_VECTOR.replace('7', "z");
        assert_eq!(
            verify(&[&s], body, Some(&bad_hex), false),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&[&s], body, Some("sha256=abcd"), false),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&[&s], b"Hello, World?", Some(GITHUB_VECTOR), false),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                &[&secret("another secret")],
                body,
                Some(GITHUB_VECTOR),
                false
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn an_upper_case_digest_is_accepted() {
        let s = secret("It's a Secret to Everybody");
        let upper = format!("sha256={}", GITHUB_VECTOR[7..].to_ascii_uppercase());
        assert_eq!(verify(&[&s], b"Hello, World!", Some(&upper), false), Ok(()));
    }

    #[test]
    fn any_of_several_secrets_may_match() {
        let old = secret("old");
        let new = secret("new");
        let header = sign(&old, b"{}");
        assert_eq!(verify(&[&new, &old], b"{}", Some(&header), false), Ok(()));
        assert_eq!(
            verify(&[&new], b"{}", Some(&header), false),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&[], b"{}", Some(&header), false),
            Err(SignatureError::Mismatch)
        );
    }

    proptest! {
        #[test]
        fn a_signature_verifies_its_own_body_and_no_altered_one(
            key in "[ -~]{1,64}",
            body in proptest::collection::vec(any::<u8>(), 1..2048),
            flip in any::<proptest::sample::Index>(),
            bit in 0u8..8,
        ) {
            let s = secret(&key);
            let header = sign(&s, &body);
            prop_assert_eq!(verify(&[&s], &body, Some(&header), false), Ok(()));
            let mut altered = body.clone();
            altered[flip.index(body.len())] ^= 1 << bit;
            prop_assert_eq!(verify(&[&s], &altered, Some(&header), false), Err(SignatureError::Mismatch));
        }

        #[test]
        fn verify_never_panics_on_any_header(header in ".{0,200}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let s = secret("k");
            let _ = verify(&[&s], &body, Some(&header), false);
        }
    }
}
