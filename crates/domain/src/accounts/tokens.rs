//! Session tokens and sign-in states: 32 random bytes, URL-safe, stored only as their SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, Result};

/// 32 random bytes from the system's CSPRNG, URL-safe base64.
///
/// # Errors
/// `Transient` when the system's random number generator fails.
pub fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Transient("the system random number generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the store keeps for a token.
pub fn hash(token: &str) -> String {
    crate::digest::sha256_hex(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_url_safe_and_stored_as_hashes() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), a);
    }
}
