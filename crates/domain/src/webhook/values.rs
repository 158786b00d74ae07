//! Values with rules, as newtypes built by `parse`: a value that exists is a valid one.

use std::fmt;

use crate::error::{Error, Result};

/// `owner/name` of a GitHub repository, as GitHub spells it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoFullName(String);

impl RepoFullName {
    /// Parses `owner/name`. The owner is 1-39 letters, digits or hyphens; the name is 1-100 letters,
    /// digits, `.`, `-` or `_`, and neither `.` nor `..`.
    pub fn parse(raw: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::invalid("repository full name", reason);
        let (owner, name) = raw
            .split_once('/')
            .ok_or_else(|| invalid("expected owner/name"))?;
        if owner.is_empty() || owner.len() > 39 {
            return Err(invalid("owner must be 1 to 39 characters"));
        }
        if !owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(invalid("owner may hold only letters, digits and hyphens"));
        }
        if name.is_empty() || name.len() > 100 || name == "." || name == ".." {
            return Err(invalid("name must be 1 to 100 characters, not . or .."));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(invalid(
                "name may hold only letters, digits, '.', '-' and '_'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn owner(&self) -> &str {
        self.0.split_once('/').map_or("", |(owner, _)| owner)
    }

    pub fn name(&self) -> &str {
        self.0.split_once('/').map_or("", |(_, name)| name)
    }

    /// The case-insensitive key GitHub itself uses: two spellings of one repository share it.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for RepoFullName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RepoFullName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RepoFullName({})", self.0)
    }
}

/// The `X-GitHub-Delivery` id: a GUID from github.com, an opaque token from other senders.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DeliveryId(String);

impl DeliveryId {
    /// 1-128 characters of letters, digits, `-`, `_`, `.` or `:`.
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 128 {
            return Err(Error::invalid("delivery id", "must be 1 to 128 characters"));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        {
            return Err(Error::invalid(
                "delivery id",
                "may hold only letters, digits, '-', '_', '.' and ':'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeliveryId({})", self.0)
    }
}

/// A commit id: 40 hex digits (SHA-1) or 64 (SHA-256 repositories), kept in lower case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HeadSha(String);

impl HeadSha {
    pub fn parse(raw: &str) -> Result<Self> {
        if !(raw.len() == 40 || raw.len() == 64) {
            return Err(Error::invalid("head SHA", "must be 40 or 64 hex digits"));
        }
        if !raw.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::invalid("head SHA", "must be hex digits"));
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HeadSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for HeadSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeadSha({})", self.0)
    }
}

/// The shared secret GitHub signs deliveries with. Its `Debug` never shows it and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// Any non-empty string of at most 1,024 bytes (GitHub sets no other rule).
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.is_empty() {
            return Err(Error::invalid("webhook secret", "must not be empty"));
        }
        if raw.len() > 1024 {
            return Err(Error::invalid(
                "webhook secret",
                "must be at most 1024 bytes",
            ));
        }
        Ok(Self(raw.as_bytes().to_vec()))
    }

    /// The secret's bytes, for signing and for storage by an adapter. Never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_githubs_rules() {
        let repo = RepoFullName::parse("Codertocat/Hello-World").unwrap();
        assert_eq!(repo.owner(), "Codertocat");
        assert_eq!(repo.name(), "Hello-World");
        assert_eq!(repo.key(), "codertocat/hello-world");
        for bad in [
            "", "owner", "/name", "owner/", "own er/x", "o/..", "o/a/b", "o/na me",
        ] {
            assert!(
                RepoFullName::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert!(RepoFullName::parse(&format!("{}/x", "a".repeat(40))).is_err());
    }

    #[test]
    fn delivery_ids_are_bounded_tokens() {
        assert!(DeliveryId::parse("72d3162e-cc78-11ec-9d64-0242ac120002").is_ok());
        for bad in ["", "has space", "semi;colon", &"a".repeat(129)] {
            assert!(DeliveryId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn head_shas_are_normalised_to_lower_case() {
        let sha = HeadSha::parse("ABCDEF0123456789ABCDEF0123456789ABCDEF01").unwrap();
        assert_eq!(sha.as_str(), "abcdef0123456789abcdef0123456789abcdef01");
        assert!(HeadSha::parse("abc").is_err());
        assert!(HeadSha::parse(&"g".repeat(40)).is_err());
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let secret = WebhookSecret::parse("hunter2").unwrap();
        assert_eq!(format!("{secret:?}"), "WebhookSecret([REDACTED])");
        assert!(WebhookSecret::parse("").is_err());
    }
}
