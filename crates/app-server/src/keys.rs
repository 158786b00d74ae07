//! The session-signing key and the encryption keyring: from `SESSION_KEY` and `ENCRYPTION_KEYS`, or,
//! in development only (production refuses to start without them), from a file generated beside the
//! SQLite database on first start (`nectr.db.keys`, mode 0600), so signing in and connected
//! repositories survive restarts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::accounts::crypto::Keyring;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::ExposeSecret;

use crate::settings::Settings;
use crate::startup::StartupError;

/// The keys the application runs with.
#[derive(Clone)]
pub struct Keys {
    pub keyring: Arc<Keyring>,
    /// HMAC-SHA256 key for session cookies.
    pub session: Arc<ring::hmac::Key>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

fn keys_error(reason: impl std::fmt::Display) -> StartupError {
    StartupError::Keys(reason.to_string())
}

/// Where development keys are kept: beside the SQLite file, else in the working directory; `None`
/// for an in-memory database (the keys live as long as it does).
fn dev_key_file(database_url: &str) -> Option<PathBuf> {
    if let Some(rest) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
    {
        let path = rest.split('?').next().unwrap_or(rest);
        if path.is_empty() || path.starts_with(":memory:") {
            return None;
        }
        return Some(PathBuf::from(format!("{path}.keys")));
    }
    Some(PathBuf::from("nectr-dev.keys"))
}

/// 48 random bytes in base64: a `SESSION_KEY`.
pub fn random_session_key() -> Result<String, StartupError> {
    let mut bytes = [0u8; 48];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| keys_error("the system random number generator failed"))?;
    Ok(STANDARD.encode(bytes))
}

/// Reads `NAME=value` lines of the development key file, generating what is missing.
fn dev_keys(path: Option<&Path>) -> Result<(String, String), StartupError> {
    let existing = path
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let find = |name: &str| {
        existing.lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|v| v.strip_prefix('='))
                .map(str::to_owned)
        })
    };
    let (encryption, session) = (find("ENCRYPTION_KEYS"), find("SESSION_KEY"));
    if let (Some(e), Some(s)) = (&encryption, &session) {
        return Ok((e.clone(), s.clone()));
    }
    let encryption = match encryption {
        Some(e) => e,
        None => Keyring::generate_spec("dev").map_err(keys_error)?,
    };
    let session = match session {
        Some(s) => s,
        None => random_session_key()?,
    };
    if let Some(path) = path {
        write_private(
            path,
            &format!("ENCRYPTION_KEYS={encryption}\nSESSION_KEY={session}\n"),
        )
        .map_err(|e| keys_error(format!("cannot write {}: {e}", path.display())))?;
        tracing::warn!(
            file = %path.display(),
            "development keys generated; set ENCRYPTION_KEYS and SESSION_KEY in production"
        );
    }
    Ok((encryption, session))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

/// The keys from the settings, else (development) from the key file.
pub fn load(settings: &Settings) -> Result<Keys, StartupError> {
    let configured = (
        settings
            .accounts
            .encryption_keys
            .as_ref()
            .map(|k| k.expose_secret().to_owned()),
        settings
            .accounts
            .session_key
            .as_ref()
            .map(|k| k.expose_secret().to_owned()),
    );
    let (encryption, session) = match configured {
        (Some(e), Some(s)) => (e, s),
        (e, s) => {
            let (dev_e, dev_s) =
                dev_keys(dev_key_file(settings.database.url.expose_secret()).as_deref())?;
            (e.unwrap_or(dev_e), s.unwrap_or(dev_s))
        }
    };
    let keyring = Keyring::parse(&encryption).map_err(keys_error)?;
    Ok(Keys {
        keyring: Arc::new(keyring),
        session: Arc::new(ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            session.as_bytes(),
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_keys_live_beside_the_sqlite_file() {
        assert_eq!(
            dev_key_file("sqlite://data/nectr.db?mode=rwc"),
            Some(PathBuf::from("data/nectr.db.keys"))
        );
        assert_eq!(dev_key_file("sqlite::memory:"), None);
        assert_eq!(
            dev_key_file("postgres://localhost/nectr"),
            Some(PathBuf::from("nectr-dev.keys"))
        );
    }

    #[test]
    fn development_keys_are_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nectr.db.keys");
        let first = dev_keys(Some(&path)).unwrap();
        assert_eq!(
            dev_keys(Some(&path)).unwrap(),
            first,
            "kept across restarts"
        );
        assert!(Keyring::parse(&first.0).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
