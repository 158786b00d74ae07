//! Secrets at rest (users' access tokens, webhook secrets): AES-256-GCM (ring) under a key id, so keys
//! rotate — the newest key seals, every listed key opens. Each value is bound to what it is (its
//! `context`, e.g. `installation-secret:acme/web`), so a sealed value copied to another row or column
//! does not open there. A value that does not open is an error, never a fallback to the raw text.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// How sealed values start: `enc:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`.
const PREFIX: &str = "enc:v1:";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("invalid encryption keys: {0}")]
    InvalidKeys(String),
    #[error("the value is not encrypted")]
    NotSealed,
    #[error("the value was encrypted with key '{0}', which is not configured")]
    UnknownKey(String),
    #[error("the value does not decrypt (wrong key, wrong context, or tampered with)")]
    Corrupt,
    #[error("the system random number generator failed")]
    Random,
}

struct Key {
    id: String,
    key: LessSafeKey,
}

/// The configured keys; the first one seals.
pub struct Keyring {
    keys: Vec<Key>,
    rng: SystemRandom,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring")
            .field("key_ids", &ids)
            .finish_non_exhaustive()
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Keyring {
    /// Keys as (id, 32 bytes); the first seals.
    pub fn new(keys: Vec<(String, [u8; 32])>) -> Result<Self, CryptoError> {
        if keys.is_empty() {
            return Err(CryptoError::InvalidKeys("no key".into()));
        }
        let mut ring = Vec::with_capacity(keys.len());
        for (id, bytes) in keys {
            if !valid_id(&id) {
                return Err(CryptoError::InvalidKeys(format!(
                    "key id '{id}' must be 1-32 letters, digits, '-' or '_'"
                )));
            }
            if ring.iter().any(|k: &Key| k.id == id) {
                return Err(CryptoError::InvalidKeys(format!(
                    "key id '{id}' is listed twice"
                )));
            }
            let key = UnboundKey::new(&AES_256_GCM, &bytes)
                .map_err(|_| CryptoError::InvalidKeys("a key is not 32 bytes".into()))?;
            ring.push(Key {
                id,
                key: LessSafeKey::new(key),
            });
        }
        Ok(Self {
            keys: ring,
            rng: SystemRandom::new(),
        })
    }

    /// `ENCRYPTION_KEYS`: `id:base64key[,id:base64key…]`, newest first; each key 32 random bytes in
    /// standard base64 (`openssl rand -base64 32`).
    pub fn parse(spec: &str) -> Result<Self, CryptoError> {
        let mut keys = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, encoded) = part.split_once(':').ok_or_else(|| {
                CryptoError::InvalidKeys("expected id:base64key, comma-separated".into())
            })?;
            let bytes = STANDARD
                .decode(encoded.trim())
                .map_err(|_| CryptoError::InvalidKeys(format!("key '{id}' is not base64")))?;
            let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
                CryptoError::InvalidKeys(format!("key '{id}' must be exactly 32 bytes"))
            })?;
            keys.push((id.trim().to_owned(), bytes));
        }
        Self::new(keys)
    }

    /// A fresh random key in `ENCRYPTION_KEYS` form, for `app-server keygen` and development.
    pub fn generate_spec(id: &str) -> Result<String, CryptoError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| CryptoError::Random)?;
        Ok(format!("{id}:{}", STANDARD.encode(bytes)))
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Encrypts `plaintext` for `context` with the newest key.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String, CryptoError> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CryptoError::Random)?;
        let mut data = plaintext.to_vec();
        key.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| CryptoError::Corrupt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!(
            "{PREFIX}{}:{}",
            key.id,
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// Decrypts a value sealed for `context` with any configured key.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
        let rest = sealed.strip_prefix(PREFIX).ok_or(CryptoError::NotSealed)?;
        let (id, encoded) = rest.split_once(':').ok_or(CryptoError::Corrupt)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_owned()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CryptoError::Corrupt)?;
        if bytes.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Corrupt)?;
        let mut data = data.to_vec();
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data)
            .map_err(|_| CryptoError::Corrupt)?;
        Ok(plain.to_vec())
    }

    /// Whether `sealed` is sealed with an older key than the current one (worth sealing again).
    pub fn is_stale(&self, sealed: &str) -> bool {
        sealed
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(id, _)| id != self.current_id())
    }

    /// Whether a stored value is sealed at all (values from before encryption are not).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(ids: &[(&str, u8)]) -> Keyring {
        Keyring::new(
            ids.iter()
                .map(|(id, b)| ((*id).to_owned(), [*b; 32]))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_context_and_is_not_the_plaintext() {
        let keys = ring(&[("k1", 1)]);
        let sealed = keys.seal(b"ghp_token", "user-token:1").unwrap();
        assert!(sealed.starts_with("enc:v1:k1:"));
        assert!(!sealed.contains("ghp_token"));
        assert_ne!(
            sealed,
            keys.seal(b"ghp_token", "user-token:1").unwrap(),
            "fresh nonce"
        );
        assert_eq!(keys.open(&sealed, "user-token:1").unwrap(), b"ghp_token");
        assert_eq!(
            keys.open(&sealed, "user-token:2"),
            Err(CryptoError::Corrupt)
        );
    }

    #[test]
    fn keys_rotate_the_newest_seals_and_old_ones_still_open() {
        let old = ring(&[("k1", 1)]);
        let sealed_old = old.seal(b"secret", "c").unwrap();
        let rotated = ring(&[("k2", 2), ("k1", 1)]);
        assert_eq!(rotated.open(&sealed_old, "c").unwrap(), b"secret");
        assert!(rotated.is_stale(&sealed_old));
        let sealed_new = rotated.seal(b"secret", "c").unwrap();
        assert!(sealed_new.starts_with("enc:v1:k2:") && !rotated.is_stale(&sealed_new));
        assert_eq!(
            ring(&[("k2", 2)]).open(&sealed_old, "c"),
            Err(CryptoError::UnknownKey("k1".into())),
            "a retired key's values are an error, not garbage"
        );
    }

    #[test]
    fn tampering_and_plaintext_are_errors() {
        let keys = ring(&[("k1", 1)]);
        let sealed = keys.seal(b"secret", "c").unwrap();
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            keys.open(&String::from_utf8(tampered).unwrap(), "c"),
            Err(CryptoError::Corrupt)
        );
        assert_eq!(keys.open("ghp_plaintext", "c"), Err(CryptoError::NotSealed));
        assert_eq!(keys.open("enc:v1:k1:", "c"), Err(CryptoError::Corrupt));
        assert!(Keyring::is_sealed(&sealed) && !Keyring::is_sealed("ghp_x"));
    }

    #[test]
    fn keys_are_parsed_from_the_setting_and_checked() {
        let spec = Keyring::generate_spec("2026-11").unwrap();
        let keys = Keyring::parse(&format!("{spec}, old:{}", STANDARD.encode([7u8; 32]))).unwrap();
        assert_eq!(keys.current_id(), "2026-11");
        assert!(
            !format!("{keys:?}").contains(&spec[8..]),
            "Debug shows ids only"
        );
        for bad in [
            "",
            "nocolon",
            "k:notbase64!",
            &format!("k:{}", STANDARD.encode([1u8; 16])),
            &format!("k:{0},k:{0}", STANDARD.encode([1u8; 32])),
            &format!("bad id:{}", STANDARD.encode([1u8; 32])),
        ] {
            assert!(Keyring::parse(bad).is_err(), "{bad}");
        }
    }
}
