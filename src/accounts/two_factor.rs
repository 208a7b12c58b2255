//! Two-factor authentication with time-based one-time passwords (TOTP,
//! RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, ±1 step of clock skew)
//! and single-use recovery codes.
//!
//! The TOTP secret is stored sealed under the data key ([`crate::sealing`],
//! bound to its user), so a copy of the database does not reveal it;
//! recovery codes are stored as digests.

use rand::RngCore;
use sea_orm::{ActiveValue::Set, IntoActiveModel};
use totp_rs::{Builder, Secret, Totp};

use crate::auth::Actor;
use crate::auth::token::digest;
use crate::db::entities::user;
use crate::db::{Tx, security};
use crate::error::{AppError, AppResult};
use crate::sealing::DataKeys;
use crate::state::AppState;

/// Issuer shown by authenticator apps.
pub const ISSUER: &str = "Carebook";
/// Recovery codes issued at confirmation.
pub const RECOVERY_CODES: usize = 10;

/// What an authenticator app needs.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// Base32 secret (RFC 4648), for typing in.
    pub secret: String,
    /// `otpauth://totp/…` URI, for a QR code.
    pub otpauth_uri: String,
}

/// Where a user's TOTP secret is sealed (the associated data).
fn sealed_for(user: uuid::Uuid) -> String {
    format!("users.totp_secret:{user}")
}

/// The user's TOTP secret (base32), opened.
///
/// Errors: 500 when it does not open (a missing or wrong data key; logged without the value).
fn stored_secret(state: &AppState, user: &user::Model) -> AppResult<Option<String>> {
    let Some(stored) = user.totp_secret.as_deref() else {
        return Ok(None);
    };
    if !DataKeys::is_sealed(stored) {
        // From before secrets were sealed; sealed when a node starts.
        return Ok(Some(stored.to_owned()));
    }
    let opened = state
        .config
        .data_keys
        .open(stored, &sealed_for(user.id))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("a TOTP secret: {e}")))?;
    String::from_utf8(opened)
        .map(Some)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("a TOTP secret is not text")))
}

/// Seal every stored TOTP secret that is not sealed under the current data
/// key: plain text from before sealing, or (after a rotation) an earlier
/// key's. With `rotate` false only plain text is sealed (what a node does at
/// start). Returns how many were sealed.
///
/// Errors: a secret does not open (its key is not configured); nothing is changed.
pub async fn seal_stored_secrets(state: &AppState, rotate: bool) -> AppResult<u64> {
    let keys = &state.config.data_keys;
    let stored = security::totp_secrets(state.db.conn()).await?;
    let mut resealed = Vec::new();
    for (user, value) in stored {
        let plain = if !DataKeys::is_sealed(&value) {
            value.as_bytes().to_vec()
        } else if rotate && !keys.is_current(&value) {
            keys.open(&value, &sealed_for(user))
                .map_err(|e| AppError::Internal(anyhow::anyhow!("the TOTP secret of user {user}: {e}")))?
        } else {
            continue;
        };
        resealed.push((user, value, keys.seal(&plain, &sealed_for(user))));
    }
    if resealed.is_empty() {
        return Ok(0);
    }
    let tx = state.db.begin_write().await?;
    let mut count = 0;
    for (user, old, new) in &resealed {
        count += u64::from(security::replace_totp_secret(&tx, *user, old, new).await?);
    }
    tx.commit().await?;
    Ok(count)
}

fn totp(user: &user::Model, secret: &str) -> AppResult<Totp> {
    let secret = Secret::try_from_base32(secret)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("stored TOTP secret is not base32")))?;
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(user.username.as_str())
        .build()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("building TOTP: {e}")))
}

/// The time step a code matches now, if any.
fn matching_step(state: &AppState, user: &user::Model, secret: &str, code: &str) -> AppResult<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let now = u64::try_from(state.clock.now().timestamp()).unwrap_or_default();
    Ok(totp(user, secret)?
        .check(&code, now)
        .and_then(|step| i64::try_from(step).ok()))
}

/// Start enrolment: a new secret, not yet required at login.
///
/// Errors: 409 when two-factor authentication is already on.
pub async fn enrol(state: &AppState, actor: &Actor) -> AppResult<Enrolment> {
    let tx = state.db.begin_write().await?;
    let user = &super::own_row(&tx, actor).await?;
    if user.totp_enabled {
        return Err(AppError::conflict(
            "two_factor_enabled",
            "two-factor authentication is already on; disable it first",
        ));
    }
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    let secret = Secret::from(bytes).to_base32();
    let otpauth_uri = totp(user, &secret)?
        .to_url()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("otpauth URI: {e}")))?;
    let mut active = user.clone().into_active_model();
    let sealed = state.config.data_keys.seal(secret.as_bytes(), &sealed_for(user.id));
    active.totp_secret = Set(Some(sealed));
    active.totp_last_step = Set(None);
    crate::db::users::update_columns(&tx, active).await?;
    tx.commit().await?;
    Ok(Enrolment { secret, otpauth_uri })
}

fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])
}

/// Finish enrolment with a first code; returns fresh recovery codes (shown once, stored hashed).
///
/// Errors: 409 without a pending enrolment or when already on; 422 for a wrong code.
pub async fn confirm(state: &AppState, actor: &Actor, code: &str) -> AppResult<Vec<String>> {
    let tx = state.db.begin_write().await?;
    let user = &super::own_row(&tx, actor).await?;
    if user.totp_enabled {
        return Err(AppError::conflict(
            "two_factor_enabled",
            "two-factor authentication is already on",
        ));
    }
    let secret = stored_secret(state, user)?
        .ok_or_else(|| AppError::conflict("two_factor_not_enrolled", "start with POST /api/v1/auth/totp/enrol"))?;
    let step = matching_step(state, user, &secret, code)?
        .ok_or_else(|| AppError::invalid_field("code", "is not the current code"))?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let digests: Vec<String> = codes.iter().map(|c| digest(c)).collect();
    let mut active = user.clone().into_active_model();
    active.totp_enabled = Set(true);
    active.totp_last_step = Set(Some(step));
    crate::db::users::update_columns(&tx, active).await?;
    security::replace_recovery_codes(&tx, user.id, &digests).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Whether `code` (a current TOTP code not used before, or an unused recovery
/// code) proves the second factor, inside `tx`; a recovery code is spent.
pub async fn accept_code(state: &AppState, tx: &Tx, user: &user::Model, code: &str) -> AppResult<bool> {
    if !user.totp_enabled {
        return Ok(false);
    }
    let Some(secret) = stored_secret(state, user)? else {
        return Ok(false);
    };
    if let Some(step) = matching_step(state, user, &secret, code)? {
        return Ok(security::accept_totp_step(tx, user.id, step).await?);
    }
    let normalised = code.trim().to_lowercase();
    Ok(security::use_recovery_code(tx, user.id, &digest(&normalised), state.clock.now()).await?)
}

/// Turn two-factor authentication off with a code (TOTP or recovery).
///
/// Errors: 409 when it is off; 422 for a wrong code.
pub async fn disable(state: &AppState, actor: &Actor, code: &str) -> AppResult<()> {
    let tx = state.db.begin_write().await?;
    let user = &super::own_row(&tx, actor).await?;
    if !user.totp_enabled {
        return Err(AppError::conflict(
            "two_factor_not_enabled",
            "two-factor authentication is off",
        ));
    }
    if !accept_code(state, &tx, user, code).await? {
        return Err(AppError::invalid_field("code", "is not a valid code"));
    }
    let mut active = user.clone().into_active_model();
    active.totp_enabled = Set(false);
    active.totp_secret = Set(None);
    active.totp_last_step = Set(None);
    crate::db::users::update_columns(&tx, active).await?;
    security::replace_recovery_codes(&tx, user.id, &[]).await?;
    tx.commit().await?;
    Ok(())
}

/// The current code for a secret at `unix_seconds` (for tests and tools).
pub fn code_at(username: &str, secret: &str, unix_seconds: u64) -> Option<String> {
    let secret = Secret::try_from_base32(secret).ok()?;
    let totp = Builder::new()
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(username)
        .build()
        .ok()?;
    Some(totp.generate(unix_seconds).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_readable_and_distinct() {
        let a = recovery_code();
        assert_eq!(a.len(), 14);
        assert_eq!(a.matches('-').count(), 2);
        assert_ne!(a, recovery_code());
    }

    #[test]
    fn codes_follow_rfc_6238() {
        // RFC 6238 appendix B, SHA-1 key "12345678901234567890" at T = 59 → 94287082 (8 digits); 6 digits: 287082.
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        assert_eq!(code_at("x", &secret, 59).as_deref(), Some("287082"));
    }
}
