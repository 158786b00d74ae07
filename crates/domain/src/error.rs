//! Errors the domain and its ports speak in: outcomes, not driver details.

/// What went wrong, named by outcome. Adapters translate their driver errors into these.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value broke its rule (a malformed repository name, delivery id, ...).
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A uniqueness rule refused the write.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// A failure that may pass if tried again (database unavailable, timeout).
    #[error("transient failure: {0}")]
    Transient(String),
    /// A failure that will not pass by retrying.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl Error {
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
