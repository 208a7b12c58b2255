//! Accounts: sign-up, staff accounts, login and token issue/rotation.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::password;
use super::token::{self, ACCESS_LIFETIME, REFRESH_LIFETIME};
use crate::db::entities::{patient, user};
use crate::db::{self, users::RefreshUse};
use crate::domain::{Email, Phone, Role};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A validated new login.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Lower-case username starting with a letter.
    pub username: String,
    /// Normalised email.
    pub email: Option<Email>,
    /// E.164 phone.
    pub phone: Option<Phone>,
    /// The password in clear, checked against the rules here.
    pub password: String,
    /// Role of the account.
    pub role: Role,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Home facility (nurses, receptionists).
    pub facility_id: Option<Uuid>,
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

/// Check `username` (3–150 of a–z, 0–9, `.`, `_`, `-`, starting with a
/// letter; any case) and return it lower-cased.
pub fn normalise_username(username: &str) -> Result<String, String> {
    let lowered = username.to_ascii_lowercase();
    let length = lowered.chars().count();
    if !(3..=150).contains(&length) {
        return Err("must be 3 to 150 characters".into());
    }
    if !lowered.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a letter".into());
    }
    if !lowered
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
    {
        return Err("may contain only letters, digits, '.', '_' and '-'".into());
    }
    Ok(lowered)
}

/// Hash a password on the blocking pool.
pub async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::Internal)
}

fn check_password(account: &NewAccount) -> AppResult<()> {
    let email = account.email.as_ref().map(Email::as_str).unwrap_or_default();
    let phone = account.phone.as_ref().map(Phone::as_str).unwrap_or_default();
    password::check_rules(&account.password, &[&account.username, email, phone])
        .map_err(|message| AppError::invalid_field("password", message))
}

fn user_row(account: NewAccount, password_hash: String, now: DateTime<Utc>) -> user::Model {
    user::Model {
        id: Uuid::new_v4(),
        username: account.username,
        email: account.email.map(Email::into_string),
        phone: account.phone.map(Phone::into_string),
        password_hash,
        role: account.role,
        first_name: account.first_name,
        last_name: account.last_name,
        facility_id: account.facility_id,
        is_active: true,
        created_at: now,
        updated_at: now,
    }
}

/// Create a staff (or admin) account. Errors: 422 for a weak password, 409 for a taken username/email/phone.
pub async fn create_user(state: &AppState, account: NewAccount) -> AppResult<user::Model> {
    check_password(&account)?;
    let hash = hash_password(account.password.clone()).await?;
    let row = user_row(account, hash, state.clock.now());
    db::insert_row::<user::ActiveModel>(state.db.conn(), row.clone()).await?;
    Ok(row)
}

/// Create an administrator (the `create-admin` command).
///
/// Errors: 422 naming an invalid username, email or weak password; 409 when taken.
pub async fn create_admin(state: &AppState, username: &str, email: &str, password: String) -> AppResult<user::Model> {
    let username = normalise_username(username).map_err(|m| AppError::invalid_field("username", m))?;
    let email = Email::parse(email).map_err(|m| AppError::invalid_field("email", m))?;
    let account = NewAccount {
        first_name: "Administrator".into(),
        last_name: username.clone(),
        username,
        email: Some(email),
        phone: None,
        password,
        role: Role::Admin,
        facility_id: None,
    };
    create_user(state, account).await
}

/// Sign a patient up: the user and the linked patient record, in one transaction.
pub async fn register_patient(
    state: &AppState,
    account: NewAccount,
    details: patient::Model,
) -> AppResult<(user::Model, patient::Model)> {
    check_password(&account)?;
    let hash = hash_password(account.password.clone()).await?;
    let now = state.clock.now();
    let user = user_row(account, hash, now);
    let patient = patient::Model {
        user_id: Some(user.id),
        created_at: now,
        updated_at: now,
        ..details
    };
    let txn = state.db.begin_write().await?;
    db::insert_row::<user::ActiveModel>(&txn, user.clone()).await?;
    let patient = db::patients::insert(&txn, patient).await?;
    txn.commit().await?;
    Ok((user, patient))
}

/// Find the active user `login` names (username, email or phone) whose password is `password`.
///
/// Unknown users, wrong passwords and deactivated users get the same answer
/// and take the same time (a dummy hash is verified when there is no user).
pub async fn authenticate(state: &AppState, login: &str, password: &str) -> AppResult<user::Model> {
    let login = login.trim();
    let username = login.to_lowercase();
    let email = login.contains('@').then(|| Email::parse(login).ok()).flatten();
    let phone = Phone::looks_like(login).then(|| Phone::parse(login).ok()).flatten();
    let found = db::users::find_by_login(
        state.db.conn(),
        &username,
        email.as_ref().map(Email::as_str),
        phone.as_ref().map(Phone::as_str),
    )
    .await?;
    let password = password.to_owned();
    let (found, matches) = tokio::task::spawn_blocking(move || match found {
        Some(user) => {
            let ok = password::verify(&password, &user.password_hash);
            (Some(user), ok)
        }
        None => {
            password::verify_dummy(&password);
            (None, false)
        }
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    match found {
        Some(user) if matches && user.is_active => Ok(user),
        _ => Err(AppError::Unauthorized("no active account with these credentials")),
    }
}

/// Issue an access token and a refresh token (in `family`, or a new family).
pub async fn issue_tokens(state: &AppState, user: &user::Model, family: Option<Uuid>) -> AppResult<Tokens> {
    let now = state.clock.now();
    let (access, _) = state.keys.issue(user.id, user.role, now)?;
    let refresh = token::random_token();
    db::users::insert_refresh_token(
        state.db.conn(),
        user.id,
        family.unwrap_or_else(Uuid::new_v4),
        token::digest(&refresh),
        now,
        now + REFRESH_LIFETIME,
    )
    .await?;
    Ok(Tokens {
        access,
        refresh,
        expires_in: ACCESS_LIFETIME.num_seconds(),
    })
}

/// Rotate a refresh token: spend it and issue the next pair of its family.
///
/// Errors: 401 for an unknown, expired, revoked or already spent token (the
/// last also revokes the whole family), or a deactivated user.
pub async fn refresh(state: &AppState, refresh_token: &str) -> AppResult<(user::Model, Tokens)> {
    let now = state.clock.now();
    let invalid = AppError::Unauthorized("the refresh token is invalid or expired");
    match db::users::use_refresh_token(state.db.conn(), &token::digest(refresh_token), now).await? {
        RefreshUse::Rotated { user_id, family_id } => {
            let user = db::users::find(state.db.conn(), user_id)
                .await?
                .filter(|u| u.is_active)
                .ok_or(invalid)?;
            let tokens = issue_tokens(state, &user, Some(family_id)).await?;
            Ok((user, tokens))
        }
        RefreshUse::Reused | RefreshUse::Invalid => Err(invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercase_and_start_with_a_letter() {
        assert_eq!(normalise_username("Rahim.Uddin").unwrap(), "rahim.uddin");
        assert!(normalise_username(" rahim").is_err(), "no silent trimming");
        assert!(
            normalise_username("01712345678").is_err(),
            "would be confused with a phone"
        );
        assert!(normalise_username("ab").is_err());
        assert!(normalise_username("rahim uddin").is_err());
        assert!(
            normalise_username("rahim@x.org").is_err(),
            "would be confused with an email"
        );
    }
}
