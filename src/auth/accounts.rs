//! Accounts: sign-up, accounts of every role, password changes and resets,
//! roles, deactivation, and logins for patient records registered without one.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, IntoActiveModel};
use uuid::Uuid;

use super::password;
use crate::db::entities::{patient, user};
use crate::db::{self, security};
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
        email: account.email.map(Email::into_string),
        phone: account.phone.map(Phone::into_string),
        first_name: account.first_name,
        last_name: account.last_name,
        facility_id: account.facility_id,
        ..user::Model::new(Uuid::new_v4(), account.username, account.role, password_hash, now)
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

/// Change the actor's own password: the current one is needed, the new one
/// follows the rules; every other session ends.
///
/// Errors: 422 naming `current_password` (wrong) or `new_password` (rules).
pub async fn change_password(state: &AppState, actor: &super::Actor, current: &str, new: &str) -> AppResult<()> {
    let user = db::users::find(state.db.conn(), actor.user_id)
        .await?
        .ok_or(AppError::Unauthorized("the access token is invalid or expired"))?;
    let (stored, given) = (user.password_hash.clone(), current.to_owned());
    let ok = tokio::task::spawn_blocking(move || password::verify(&given, &stored))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    if !ok {
        return Err(AppError::invalid_field(
            "current_password",
            "is not the current password",
        ));
    }
    if new == current {
        return Err(AppError::invalid_field(
            "new_password",
            "must differ from the current password",
        ));
    }
    let personal = [
        user.username.as_str(),
        user.email.as_deref().unwrap_or(""),
        user.phone.as_deref().unwrap_or(""),
    ];
    password::check_rules(new, &personal).map_err(|m| AppError::invalid_field("new_password", m))?;
    set_password(state, &user, new, false).await?;
    security::revoke_sessions(
        state.db.conn(),
        user.id,
        None,
        Some(actor.session_id),
        state.clock.now(),
    )
    .await?;
    Ok(())
}

/// An administrator sets a new password for `user`, who must change it at
/// the next login; every session of the user ends.
///
/// Errors: 422 naming `password` when it breaks the rules.
pub async fn reset_password(state: &AppState, user: &user::Model, new: &str) -> AppResult<()> {
    let personal = [
        user.username.as_str(),
        user.email.as_deref().unwrap_or(""),
        user.phone.as_deref().unwrap_or(""),
    ];
    password::check_rules(new, &personal).map_err(|m| AppError::invalid_field("password", m))?;
    set_password(state, user, new, true).await?;
    crate::auth::sessions::revoke_all(state, user.id).await?;
    Ok(())
}

async fn set_password(state: &AppState, user: &user::Model, new: &str, must_change: bool) -> AppResult<()> {
    let hash = hash_password(new.to_owned()).await?;
    let mut active = user.clone().into_active_model();
    active.password_hash = Set(hash);
    active.must_change_password = Set(must_change);
    active.updated_at = Set(db::next_update(user.updated_at, state.clock.now()));
    active.update(state.db.conn()).await?;
    Ok(())
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

/// A patient record for a new account: names and contact details from the
/// account, everything else empty (set the rest with struct update).
pub fn patient_details(account: &NewAccount, now: DateTime<Utc>) -> patient::Model {
    patient::Model {
        first_name: account.first_name.clone(),
        last_name: account.last_name.clone(),
        phone: account.phone.as_ref().map(|p| p.as_str().to_owned()),
        email: account.email.as_ref().map(|e| e.as_str().to_owned()),
        ..blank_patient(now)
    }
}

/// An empty patient record (a fresh id, a medical record number assigned at insert).
fn blank_patient(now: DateTime<Utc>) -> patient::Model {
    patient::Model {
        id: Uuid::new_v4(),
        user_id: None,
        medical_record_number: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        date_of_birth: None,
        sex: None,
        phone: None,
        email: None,
        address: String::new(),
        location_id: None,
        national_id: None,
        insurance_number: None,
        blood_group: None,
        allergies: String::new(),
        medical_history: String::new(),
        emergency_contact_name: String::new(),
        emergency_contact_phone: None,
        created_at: now,
        updated_at: now,
    }
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

/// Give `user` another role, inside `txn`: a user who becomes a patient
/// gets a patient record if they have none; every session of the user ends
/// (their tokens carry the old role). Returns the changed row.
///
/// Errors: 409 `no_change` when the role is the same.
pub async fn set_role(
    txn: &DatabaseTransaction,
    user: user::Model,
    role: Role,
    now: DateTime<Utc>,
) -> AppResult<user::Model> {
    if user.role == role {
        return Err(AppError::conflict(
            "no_change",
            format!("the user already is a {}", role.as_str()),
        ));
    }
    if role == Role::Patient && db::users::links(txn, user.id).await?.patient_id.is_none() {
        let patient = patient::Model {
            user_id: Some(user.id),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            phone: user.phone.clone(),
            email: user.email.clone(),
            ..blank_patient(now)
        };
        db::patients::insert(txn, patient).await?;
    }
    let mut active = user.clone().into_active_model();
    active.role = Set(role);
    active.updated_at = Set(db::next_update(user.updated_at, now));
    let row = active.update(txn).await?;
    security::revoke_sessions(txn, user.id, None, None, now).await?;
    Ok(row)
}

/// Deactivate (`active` false) or reactivate an account. Deactivation ends
/// every session at once; reactivation clears a lockout.
pub async fn set_active(state: &AppState, user: user::Model, active: bool) -> AppResult<user::Model> {
    let now = state.clock.now();
    let txn = state.db.begin_write().await?;
    let mut row = user.clone().into_active_model();
    row.is_active = Set(active);
    if active {
        row.failed_logins = Set(0);
        row.locked_until = Set(None);
    }
    row.updated_at = Set(db::next_update(user.updated_at, now));
    let row = row.update(&txn).await?;
    if !active {
        security::revoke_sessions(&txn, user.id, None, None, now).await?;
    }
    txn.commit().await?;
    Ok(row)
}

/// Give a patient record without a login (a walk-in registered by the front
/// desk) a new patient account. The password is temporary: it must be
/// changed at the first login.
///
/// Errors: 404 for no such record, 409 `patient_has_account` when it already
/// has one, 422 for a weak password, 409 for a taken username/email/phone.
pub async fn create_patient_login(state: &AppState, patient_id: Uuid, account: NewAccount) -> AppResult<user::Model> {
    check_password(&account)?;
    let hash = hash_password(account.password.clone()).await?;
    let now = state.clock.now();
    let user = user::Model {
        must_change_password: true,
        ..user_row(account, hash, now)
    };
    let txn = state.db.begin_write().await?;
    let patient: patient::Model = db::find_for_update(&txn, "patients", patient_id)
        .await?
        .ok_or(AppError::NotFound("patient"))?;
    if patient.user_id.is_some() {
        return Err(AppError::conflict(
            "patient_has_account",
            "this patient already has an account",
        ));
    }
    db::insert_row::<user::ActiveModel>(&txn, user.clone()).await?;
    let updated_at = db::next_update(patient.updated_at, now);
    let mut linked = patient.into_active_model();
    linked.user_id = Set(Some(user.id));
    linked.updated_at = Set(updated_at);
    linked.update(&txn).await?;
    txn.commit().await?;
    Ok(user)
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
