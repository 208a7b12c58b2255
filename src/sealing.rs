//! Secrets at rest: values the database must hold but must not be able to
//! reveal (TOTP secrets) are sealed with XChaCha20-Poly1305 (RFC 8439 with
//! 192-bit random nonces, the `chacha20poly1305` crate) under a key that
//! lives outside the database (`CAREBOOK_DATA_KEY`).
//!
//! A sealed value is `cb1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`:
//! the key id (8 hex digits of a SHA-256 of the key) says which key opens
//! it, so keys can be rotated (new key current, old ones "previous" until
//! `carebook rotate-data-key` has re-sealed everything). Each value is bound
//! to where it is stored (the associated data, e.g. `users.totp_secret:<id>`):
//! a sealed value copied to another row does not open.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Bytes in a data key.
pub const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
const PREFIX: &str = "cb1.";

/// Why a data key or a sealed value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// A key is not base64 of 32 bytes.
    #[error("a data key must be 32 bytes, base64-encoded (generate one with `openssl rand -base64 32`)")]
    BadKey,
    /// The value was sealed under a key this node does not have.
    #[error("sealed with data key {0}, which is not configured (CAREBOOK_DATA_KEY or CAREBOOK_DATA_KEY_PREVIOUS)")]
    UnknownKey(String),
    /// Not a sealed value, or tampered with, or moved from where it was sealed.
    #[error("a sealed value does not open")]
    Corrupt,
}

/// One data key.
#[derive(Clone)]
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn parse(text: &str) -> Result<Key, SealError> {
        let text = text.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| SealError::BadKey)?;
        if bytes.len() != KEY_BYTES {
            return Err(SealError::BadKey);
        }
        let mut hasher = Sha256::new();
        hasher.update(b"carebook data key\n");
        hasher.update(&bytes);
        let id = hex::encode(&hasher.finalize()[..4]);
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SealError::BadKey)?;
        Ok(Key { id, cipher })
    }
}

/// The current data key and the previous ones still accepted for opening.
#[derive(Clone)]
pub struct DataKeys {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKeys")
            .field("current", &self.current.id)
            .field("previous", &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

impl DataKeys {
    /// Parse the current key and the previous ones (base64 of 32 bytes each).
    ///
    /// Errors: [`SealError::BadKey`].
    pub fn new(current: &str, previous: &[String]) -> Result<DataKeys, SealError> {
        Ok(DataKeys {
            current: Key::parse(current)?,
            previous: previous
                .iter()
                .filter(|k| !k.trim().is_empty())
                .map(|k| Key::parse(k))
                .collect::<Result<_, _>>()?,
        })
    }

    /// A new random key, base64 (for development and `openssl rand -base64 32` alike).
    pub fn generate_key() -> String {
        let mut bytes = [0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// The id of the current key (as it appears in sealed values).
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// Seal `plaintext` for the place `context` names.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: context.as_bytes(),
        };
        let sealed = self
            .current
            .cipher
            .encrypt(&XNonce::from(nonce), payload)
            .expect("XChaCha20-Poly1305 encrypts any message shorter than 256 GiB");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}.{}", self.current.id, URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Open a value sealed for `context`.
    ///
    /// Errors: [`SealError::UnknownKey`], [`SealError::Corrupt`].
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, SealError> {
        let rest = sealed.strip_prefix(PREFIX).ok_or(SealError::Corrupt)?;
        let (id, body) = rest.split_once('.').ok_or(SealError::Corrupt)?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
            .ok_or_else(|| SealError::UnknownKey(id.to_owned()))?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| SealError::Corrupt)?;
        if bytes.len() < NONCE_BYTES {
            return Err(SealError::Corrupt);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError::Corrupt)?;
        let payload = Payload {
            msg: ciphertext,
            aad: context.as_bytes(),
        };
        key.cipher
            .decrypt(&XNonce::from(nonce), payload)
            .map_err(|_| SealError::Corrupt)
    }

    /// Whether `value` is sealed under the current key (else it needs re-sealing).
    pub fn is_current(&self, value: &str) -> bool {
        value
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('.'))
            .is_some_and(|(id, _)| id == self.current.id)
    }

    /// Whether `value` is sealed at all (legacy rows hold plain text).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_its_context() {
        let old = DataKeys::generate_key();
        let keys = DataKeys::new(&old, &[]).unwrap();
        let sealed = keys.seal(b"JBSWY3DPEHPK3PXP", "users.totp_secret:1");
        assert!(sealed.starts_with(&format!("cb1.{}.", keys.current_id())));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            sealed,
            keys.seal(b"JBSWY3DPEHPK3PXP", "users.totp_secret:1"),
            "random nonces"
        );
        assert_eq!(keys.open(&sealed, "users.totp_secret:1").unwrap(), b"JBSWY3DPEHPK3PXP");
        assert_eq!(keys.open(&sealed, "users.totp_secret:2"), Err(SealError::Corrupt));
        let mut tampered = sealed.clone();
        tampered.replace_range(sealed.len() - 2.., "AA");
        assert_eq!(keys.open(&tampered, "users.totp_secret:1"), Err(SealError::Corrupt));

        // Rotation: the new key seals, the old one still opens.
        let rotated = DataKeys::new(&DataKeys::generate_key(), &[old]).unwrap();
        assert_eq!(
            rotated.open(&sealed, "users.totp_secret:1").unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert!(!rotated.is_current(&sealed));
        assert!(rotated.is_current(&rotated.seal(b"x", "c")));
        let without_old = DataKeys::new(&DataKeys::generate_key(), &[]).unwrap();
        assert!(matches!(
            without_old.open(&sealed, "users.totp_secret:1"),
            Err(SealError::UnknownKey(_))
        ));
    }

    #[test]
    fn keys_are_32_bytes_of_base64() {
        assert_eq!(DataKeys::new("c2hvcnQ=", &[]).unwrap_err(), SealError::BadKey);
        assert_eq!(DataKeys::new("not base64!", &[]).unwrap_err(), SealError::BadKey);
        let key = DataKeys::generate_key();
        assert!(DataKeys::new(&key, &[]).is_ok());
        let url_safe = key.replace('+', "-").replace('/', "_");
        assert!(DataKeys::new(&url_safe, &[]).is_ok());
    }
}
