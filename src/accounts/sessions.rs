//! Sessions: login (with account lockout and per-address throttling), the
//! two-factor step, refresh-token rotation, logout.
//!
//! A session is one login. Its refresh tokens form a family, rotated on
//! every use; presenting a spent one revokes the session. Access tokens carry
//! the session id and stop working the moment it is revoked.

use chrono::TimeDelta;
use uuid::Uuid;

use super::two_factor;
use crate::auth::token::{self, ACCESS_LIFETIME, MFA_LIFETIME, REFRESH_LIFETIME};
use crate::auth::{Actor, password};
use crate::db::entities::user;
use crate::db::security::{self, Client};
use crate::db::{self, Tx, users::RefreshUse};
use crate::domain::{Email, Phone};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How far back failed logins from one address are counted.
pub const ADDRESS_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// The one answer to every refused login, whatever the reason.
fn refused() -> AppError {
    AppError::Unauthorized("no active account with these credentials")
}

/// An issued access + refresh token pair.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// JWT access token.
    pub access: String,
    /// Opaque refresh token.
    pub refresh: String,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
}

/// What a correct password leads to.
#[derive(Debug, Clone)]
pub enum Login {
    /// A session.
    Session(Box<user::Model>, Tokens),
    /// A code is still needed: send it with this token (5 minutes).
    SecondFactor { mfa_token: String, expires_in: i64 },
}

/// Log in with a username, email or phone number and a password.
///
/// Unknown users, wrong passwords, locked and deactivated accounts all get
/// the same 401 and take the same time (a dummy hash is verified when there is
/// no usable account). After `security.lockout_threshold` consecutive
/// failures the account is locked, each lockout twice as long as the last.
/// Every attempt is recorded in the login activity, in the transaction of
/// whatever else it changes.
/// Errors: 401 as above; 429 when this address failed too often lately.
pub async fn login(state: &AppState, login: &str, password: &str, client: &Client) -> AppResult<Login> {
    let settings = state.settings().await?;
    let now = state.clock.now();
    if let Some(ip) = &client.ip {
        let limit = settings.int("security.login_failures_per_address");
        let failures = security::failures_from(state.db.conn(), ip, now - ADDRESS_WINDOW).await?;
        if failures >= u64::try_from(limit).unwrap_or(u64::MAX) {
            let refusal = AppError::TooManyRequests {
                retry_after: ADDRESS_WINDOW.num_seconds() as u64,
            };
            return refuse(state, None, client, "throttled", refusal).await;
        }
    }
    let found = find_login(state, login).await?;
    let locked = found
        .as_ref()
        .is_some_and(|u| u.locked_until.is_some_and(|until| until > now));
    let usable = found.clone().filter(|u| u.is_active && !locked);
    let password = password.to_owned();
    let candidate = usable.clone();
    let matches = tokio::task::spawn_blocking(move || match candidate {
        Some(user) => password::verify(&password, &user.password_hash),
        None => {
            password::verify_dummy(&password);
            false
        }
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;

    match usable {
        Some(user) if matches => {
            let tx = state.db.begin_write().await?;
            security::reset_failures(&tx, user.id).await?;
            if user.totp_enabled {
                security::record_login(&tx, Some(user.id), client, "mfa_required", now).await?;
                tx.commit().await?;
                let mfa_token = state.keys.issue_mfa(user.id, now)?;
                return Ok(Login::SecondFactor {
                    mfa_token,
                    expires_in: MFA_LIFETIME.num_seconds(),
                });
            }
            let tokens = open_session(state, &tx, &user, client).await?;
            security::record_login(&tx, Some(user.id), client, "success", now).await?;
            tx.commit().await?;
            Ok(Login::Session(Box::new(user), tokens))
        }
        Some(user) => {
            let threshold = settings.int("security.lockout_threshold");
            let base = TimeDelta::minutes(settings.int("security.lockout_minutes"));
            let mut outcome = "failure";
            let tx = state.db.begin_write().await?;
            if security::register_failure(&tx, user.id, threshold, base, now).await? {
                outcome = "locked";
            }
            security::record_login(&tx, Some(user.id), client, outcome, now).await?;
            tx.commit_refused(refused().status().as_u16()).await?;
            Err(refused())
        }
        None => {
            let outcome = if locked { "locked" } else { "failure" };
            let user_id = found.as_ref().map(|u| u.id);
            refuse(state, user_id, client, outcome, refused()).await
        }
    }
}

/// Record a refused attempt with its audit event in one transaction, then
/// answer `refusal`.
async fn refuse<T>(
    state: &AppState,
    user: Option<Uuid>,
    client: &Client,
    outcome: &str,
    refusal: AppError,
) -> AppResult<T> {
    let tx = state.db.begin_write().await?;
    security::record_login(&tx, user, client, outcome, state.clock.now()).await?;
    tx.commit_refused(refusal.status().as_u16()).await?;
    Err(refusal)
}

/// The second step of a two-factor login: a TOTP code or an unused recovery code.
///
/// Errors: 401 for an invalid or expired step token, a wrong or reused code,
/// or an account that is no longer usable.
pub async fn second_factor(
    state: &AppState,
    mfa_token: &str,
    code: &str,
    client: &Client,
) -> AppResult<(user::Model, Tokens)> {
    let now = state.clock.now();
    let invalid = || AppError::Unauthorized("the code or the two-factor step token is invalid or expired");
    let claims = state.keys.verify_mfa(mfa_token, now).ok_or_else(invalid)?;
    let user = db::users::find(state.db.conn(), claims.sub)
        .await?
        .filter(|u| u.is_active && u.totp_enabled)
        .ok_or_else(invalid)?;
    let tx = state.db.begin_write().await?;
    if !two_factor::accept_code(state, &tx, &user, code).await? {
        security::record_login(&tx, Some(user.id), client, "mfa_failure", now).await?;
        tx.commit_refused(invalid().status().as_u16()).await?;
        return Err(invalid());
    }
    let tokens = open_session(state, &tx, &user, client).await?;
    security::record_login(&tx, Some(user.id), client, "success", now).await?;
    tx.commit().await?;
    Ok((user, tokens))
}

async fn find_login(state: &AppState, login: &str) -> AppResult<Option<user::Model>> {
    let login = login.trim();
    let username = login.to_lowercase();
    let email = login.contains('@').then(|| Email::parse(login).ok()).flatten();
    let phone = Phone::looks_like(login).then(|| Phone::parse(login).ok()).flatten();
    Ok(db::users::find_by_login(
        state.db.conn(),
        &username,
        email.as_ref().map(Email::as_str),
        phone.as_ref().map(Phone::as_str),
    )
    .await?)
}

/// Start a session for `user` inside `tx`: an access token and the first
/// refresh token of its family.
pub async fn open_session(state: &AppState, tx: &Tx, user: &user::Model, client: &Client) -> AppResult<Tokens> {
    let sid = security::create_session(tx, user.id, client, state.clock.now()).await?;
    issue(state, tx, user, sid).await
}

async fn issue(state: &AppState, tx: &Tx, user: &user::Model, sid: Uuid) -> AppResult<Tokens> {
    let now = state.clock.now();
    let (access, _) = state.keys.issue(user.id, user.role, sid, now)?;
    let refresh = token::random_token();
    db::users::insert_refresh_token(tx, user.id, sid, token::digest(&refresh), now, now + REFRESH_LIFETIME).await?;
    Ok(Tokens {
        access,
        refresh,
        expires_in: ACCESS_LIFETIME.num_seconds(),
    })
}

/// Where a rotation's successor pair is sealed (the associated data).
fn successor_of(token_id: Uuid) -> String {
    format!("refresh_tokens.successor:{token_id}")
}

/// Rotate a refresh token: spend it and issue the next pair of its session.
/// The same token presented again within `CAREBOOK_REFRESH_REUSE_LEEWAY_SECONDS`
/// of its rotation (two tabs, a retry, the same refresh sent to two nodes)
/// gets that same pair again (as Auth0 and Okta do).
///
/// Errors: 401 for an unknown, expired or revoked token, a revoked session,
/// a deactivated user, or a token spent longer ago than the leeway (which
/// revokes the whole session, so the newest token of its family stops
/// working too).
pub async fn refresh(state: &AppState, refresh_token: &str) -> AppResult<(user::Model, Tokens)> {
    let now = state.clock.now();
    let invalid = || AppError::Unauthorized("the refresh token is invalid or expired");
    let leeway = state.config.refresh_reuse_leeway;
    // One transaction: spending the token, checking the session and issuing the
    // next token happen together, so the one request that spends a token gets
    // its tokens, and concurrent repeats see them once it has committed.
    let tx = state.db.begin_write().await?;
    match db::users::use_refresh_token(&tx, &token::digest(refresh_token), now, leeway).await? {
        RefreshUse::Rotated {
            token_id,
            user_id,
            family_id,
        } => {
            let user = live_user(&tx, user_id, family_id).await?.ok_or_else(invalid)?;
            security::touch_session(&tx, family_id, now).await?;
            let tokens = issue(state, &tx, &user, family_id).await?;
            if !leeway.is_zero() {
                let pair =
                    serde_json::to_vec(&(&tokens.access, &tokens.refresh)).map_err(|e| AppError::Internal(e.into()))?;
                let sealed = state.config.data_keys.seal(&pair, &successor_of(token_id));
                db::users::record_successor(&tx, token_id, sealed).await?;
            }
            tx.commit().await?;
            Ok((user, tokens))
        }
        RefreshUse::Repeated {
            token_id,
            user_id,
            family_id,
            used_at,
            successor,
        } => {
            let user = live_user(&tx, user_id, family_id).await?.ok_or_else(invalid)?;
            drop(tx);
            let pair = state
                .config
                .data_keys
                .open(&successor, &successor_of(token_id))
                .map_err(|e| AppError::Internal(anyhow::anyhow!("a refresh successor: {e}")))?;
            let (access, refresh): (String, String) =
                serde_json::from_slice(&pair).map_err(|e| AppError::Internal(e.into()))?;
            let tokens = Tokens {
                access,
                refresh,
                expires_in: (ACCESS_LIFETIME - (now - used_at)).num_seconds().max(0),
            };
            Ok((user, tokens))
        }
        RefreshUse::Reused { user_id, family_id } => {
            security::revoke_sessions(&tx, user_id, Some(family_id), None, now).await?;
            tx.commit_refused(invalid().status().as_u16()).await?;
            Err(invalid())
        }
        RefreshUse::Invalid => Err(invalid()),
    }
}

/// The active user of a live session, inside `tx`.
async fn live_user(tx: &Tx, user_id: Uuid, family_id: Uuid) -> AppResult<Option<user::Model>> {
    if !security::session_live(tx, family_id).await? {
        return Ok(None);
    }
    Ok(db::users::find(tx, user_id).await?.filter(|u| u.is_active))
}

/// End the actor's session (its access and refresh tokens stop working).
pub async fn logout(state: &AppState, actor: &Actor) -> AppResult<()> {
    revoke(state, actor, Some(actor.session_id)).await.map(|_| ())
}

/// End every session of the actor, this one included. Returns how many.
pub async fn logout_all(state: &AppState, actor: &Actor) -> AppResult<u64> {
    revoke(state, actor, None).await
}

async fn revoke(state: &AppState, actor: &Actor, only: Option<Uuid>) -> AppResult<u64> {
    let tx = state.db.begin_write().await?;
    let ended = security::revoke_sessions(&tx, actor.user_id, only, None, state.clock.now()).await?;
    tx.commit().await?;
    Ok(ended)
}
