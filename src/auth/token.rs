//! Access tokens (JWT, RFC 7519, HS256 pinned) and opaque refresh tokens.
//!
//! Access tokens carry `iss`, `aud`, `sub` (user id), `role`, `iat`, `exp`
//! and live 15 minutes. Expiry is checked against Carebook's clock with a
//! 10-second leeway. Refresh tokens are 256-bit random strings; only their
//! SHA-256 digest is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Secret;
use crate::domain::Role;

/// Issuer of Carebook access tokens.
pub const ISSUER: &str = "carebook";
/// Audience of Carebook access tokens.
pub const AUDIENCE: &str = "carebook-api";
/// Audience of the token that carries a login to its two-factor step.
pub const MFA_AUDIENCE: &str = "carebook-mfa";
/// Lifetime of that token.
pub const MFA_LIFETIME: TimeDelta = TimeDelta::minutes(5);
/// Access token lifetime.
pub const ACCESS_LIFETIME: TimeDelta = TimeDelta::minutes(15);
/// Refresh token lifetime.
pub const REFRESH_LIFETIME: TimeDelta = TimeDelta::days(7);
/// Tolerated clock skew when checking expiry, in seconds.
pub const LEEWAY_SECONDS: i64 = 10;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer, always [`ISSUER`].
    pub iss: String,
    /// Audience, always [`AUDIENCE`].
    pub aud: String,
    /// The user's id.
    pub sub: Uuid,
    /// The user's role when the token was issued.
    pub role: Role,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Token id.
    pub jti: Uuid,
    /// The session (login) the token belongs to; revoking it ends the token at once.
    pub sid: Uuid,
}

/// The claims of a two-factor step token: a password was right, a code is due.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MfaClaims {
    /// Issuer, always [`ISSUER`].
    pub iss: String,
    /// Audience, always [`MFA_AUDIENCE`].
    pub aud: String,
    /// The user's id.
    pub sub: Uuid,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Token id.
    pub jti: Uuid,
}

/// Signing and verification keys, built once from the configured secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    mfa_validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys([redacted])")
    }
}

impl TokenKeys {
    /// Keys for HS256 with `secret`.
    pub fn new(secret: &Secret) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked against Carebook's clock in `verify`.
        validation.validate_exp = false;
        validation.leeway = 0;
        let mut mfa_validation = validation.clone();
        mfa_validation.set_audience(&[MFA_AUDIENCE]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            mfa_validation,
        }
    }

    /// Issue an access token for a user in session `sid`; returns the token and its claims.
    pub fn issue(&self, user_id: Uuid, role: Role, sid: Uuid, now: DateTime<Utc>) -> anyhow::Result<(String, Claims)> {
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id,
            role,
            iat: now.timestamp(),
            exp: (now + ACCESS_LIFETIME).timestamp(),
            jti: Uuid::new_v4(),
            sid,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// Verify signature, algorithm, issuer, audience and expiry. `None` for any failure.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        (data.claims.exp + LEEWAY_SECONDS >= now.timestamp()).then_some(data.claims)
    }

    /// Issue the token of a login's two-factor step (5 minutes).
    pub fn issue_mfa(&self, user_id: Uuid, now: DateTime<Utc>) -> anyhow::Result<String> {
        let claims = MfaClaims {
            iss: ISSUER.into(),
            aud: MFA_AUDIENCE.into(),
            sub: user_id,
            exp: (now + MFA_LIFETIME).timestamp(),
            jti: Uuid::new_v4(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Verify a two-factor step token. `None` for any failure.
    pub fn verify_mfa(&self, token: &str, now: DateTime<Utc>) -> Option<MfaClaims> {
        let data = jsonwebtoken::decode::<MfaClaims>(token, &self.decoding, &self.mfa_validation).ok()?;
        (data.claims.exp + LEEWAY_SECONDS >= now.timestamp()).then_some(data.claims)
    }
}

/// A fresh 256-bit random value, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a refresh token: hex SHA-256.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&Secret::new("k".repeat(32)))
    }

    #[test]
    fn issued_tokens_verify_until_expiry_plus_leeway() {
        let now = Utc::now();
        let (token, claims) = keys().issue(Uuid::nil(), Role::Patient, Uuid::nil(), now).unwrap();
        assert_eq!(keys().verify(&token, now).unwrap().sub, claims.sub);
        assert!(
            keys().verify_mfa(&token, now).is_none(),
            "an access token is not a two-factor step token"
        );
        let mfa = keys().issue_mfa(Uuid::nil(), now).unwrap();
        assert!(
            keys().verify(&mfa, now).is_none(),
            "a two-factor step token is not an access token"
        );
        assert!(keys().verify_mfa(&mfa, now).is_some());
        let edge = now + ACCESS_LIFETIME + TimeDelta::seconds(LEEWAY_SECONDS);
        assert!(keys().verify(&token, edge).is_some());
        assert!(keys().verify(&token, edge + TimeDelta::seconds(1)).is_none());
    }

    #[test]
    fn foreign_and_tampered_tokens_fail() {
        let now = Utc::now();
        let (token, _) = keys().issue(Uuid::nil(), Role::Patient, Uuid::nil(), now).unwrap();
        let other = TokenKeys::new(&Secret::new("o".repeat(32)));
        assert!(other.verify(&token, now).is_none());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        parts[0] = &forged;
        assert!(keys().verify(&parts.join("."), now).is_none());
        assert!(keys().verify("not.a.token", now).is_none());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_as_digests() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(digest(&a).len(), 64);
        assert_eq!(digest(&a), digest(&a));
    }
}
