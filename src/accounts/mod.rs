//! Accounts: sign-up, accounts of every role, passwords, roles,
//! deactivation, and logins for patient records registered without one.
//!
//! Sessions and two-factor authentication are in [`sessions`] and
//! [`two_factor`]; an administrator's changes to accounts in [`users`];
//! one's own profile in [`profile`]; role-change requests in
//! [`role_requests`]. Every change is one [`Tx`](crate::db::Tx).

pub mod profile;
pub mod role_requests;
pub mod sessions;
pub mod two_factor;
pub mod users;

use chrono::{DateTime, NaiveDate, Utc};
use garde::Validate;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Actor, password};
use crate::db::entities::{patient, user};
use crate::db::{self, Tx, audit, security};
use crate::domain::{Email, Phone, Role, Sex};
use crate::error::{AppError, AppResult};
use crate::input::text::Name;
use crate::input::{EmailText, NewPassword, PhoneText, Username, normalise_username};
use crate::state::AppState;

/// A patient signing up.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RegisterIn {
    #[garde(dive)]
    pub username: Username,
    #[garde(dive)]
    pub email: Option<EmailText>,
    #[garde(dive)]
    pub phone: Option<PhoneText>,
    #[garde(skip)]
    pub password: NewPassword,
    #[schema(example = "Rahim")]
    #[garde(dive)]
    pub first_name: Name,
    #[schema(example = "Uddin")]
    #[garde(dive)]
    pub last_name: Name,
    /// `YYYY-MM-DD`.
    #[garde(skip)]
    pub date_of_birth: Option<NaiveDate>,
    #[garde(skip)]
    pub sex: Option<Sex>,
}

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

/// Account fields as a request gives them (already checked by garde).
#[derive(Debug)]
pub struct AccountFields<'a> {
    /// As typed; lower-cased here.
    pub username: &'a Username,
    /// Blank or absent: none.
    pub email: Option<&'a EmailText>,
    /// Blank or absent: none.
    pub phone: Option<&'a PhoneText>,
    /// In clear.
    pub password: String,
    /// The role.
    pub role: Role,
    /// Given name.
    pub first_name: &'a Name,
    /// Family name.
    pub last_name: &'a Name,
    /// Home facility.
    pub facility_id: Option<Uuid>,
}

impl NewAccount {
    /// Normalise request fields into a new account.
    ///
    /// Errors: 422 naming a field that does not parse after all.
    pub fn from_fields(fields: AccountFields<'_>) -> AppResult<NewAccount> {
        let invalid = |field: &'static str| move |message: String| AppError::invalid_field(field, message);
        Ok(NewAccount {
            username: normalise_username(fields.username.as_str()).map_err(invalid("username"))?,
            email: fields
                .email
                .map(EmailText::parse)
                .transpose()
                .map_err(invalid("email"))?
                .flatten(),
            phone: fields
                .phone
                .map(PhoneText::parse)
                .transpose()
                .map_err(invalid("phone"))?
                .flatten(),
            password: fields.password,
            role: fields.role,
            first_name: fields.first_name.trimmed().to_owned(),
            last_name: fields.last_name.trimmed().to_owned(),
            facility_id: fields.facility_id,
        })
    }
}

/// Hash a password on the blocking pool.
pub async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::Internal)
}

/// Whether `given` is the password of `user` (on the blocking pool).
pub async fn verify_password(user: &user::Model, given: &str) -> AppResult<bool> {
    let (stored, given) = (user.password_hash.clone(), given.to_owned());
    tokio::task::spawn_blocking(move || password::verify(&given, &stored))
        .await
        .map_err(|e| AppError::Internal(e.into()))
}

fn check_password(account: &NewAccount) -> AppResult<()> {
    let email = account.email.as_ref().map(Email::as_str).unwrap_or_default();
    let phone = account.phone.as_ref().map(Phone::as_str).unwrap_or_default();
    password::check_rules(&account.password, &[&account.username, email, phone])
        .map_err(|message| AppError::invalid_field("password", message))
}

/// Check a new password of an existing `user` against the rules. Errors: 422 naming `field`.
fn check_new_password(user: &user::Model, new: &str, field: &'static str) -> AppResult<()> {
    let personal = [
        user.username.as_str(),
        user.email.as_deref().unwrap_or(""),
        user.phone.as_deref().unwrap_or(""),
    ];
    password::check_rules(new, &personal).map_err(|m| AppError::invalid_field(field, m))
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

/// The actor's user row, locked for this transaction.
///
/// Errors: 401 when it vanished.
pub(crate) async fn own_row(tx: &Tx, actor: &Actor) -> AppResult<user::Model> {
    db::find_for_update(tx, "users", actor.user_id)
        .await?
        .ok_or_else(AppError::invalid_token)
}

/// The actor's user row. Errors: 401 if it vanished.
pub async fn current_user(state: &AppState, actor: &Actor) -> AppResult<user::Model> {
    let account = state
        .db
        .views()
        .account(state.db.conn(), actor.user_id)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    Ok(user::Model::clone(&account))
}

/// Create a staff (or admin) account. Errors: 422 for a weak password, 409
/// for a taken username/email/phone, 422 for an unknown facility.
pub async fn create_user(state: &AppState, account: NewAccount) -> AppResult<user::Model> {
    check_password(&account)?;
    if let Some(facility) = account.facility_id
        && db::directory::find_facility(state.db.conn(), facility).await?.is_none()
    {
        return Err(AppError::invalid_field("facility_id", "no such facility"));
    }
    let hash = hash_password(account.password.clone()).await?;
    let row = user_row(account, hash, state.clock.now());
    let tx = state.db.begin_write().await?;
    db::users::insert(&tx, row.clone()).await?;
    audit::note_object(row.id);
    tx.commit().await?;
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

/// A patient record for a new account: names and contact details from the
/// account, everything else empty (set the rest with struct update).
pub fn patient_details(account: &NewAccount, now: DateTime<Utc>) -> patient::Model {
    patient::Model {
        first_name: account.first_name.clone(),
        last_name: account.last_name.clone(),
        phone: account.phone.as_ref().map(|p| p.as_str().to_owned()),
        email: account.email.as_ref().map(|e| e.as_str().to_owned()),
        ..db::patients::blank(now)
    }
}

/// Insert a patient login and its linked record inside `tx`.
async fn insert_patient_account(
    tx: &Tx,
    account: NewAccount,
    details: patient::Model,
    now: DateTime<Utc>,
) -> AppResult<(user::Model, patient::Model)> {
    check_password(&account)?;
    let hash = hash_password(account.password.clone()).await?;
    let user = user_row(account, hash, now);
    let patient = patient::Model {
        user_id: Some(user.id),
        created_at: now,
        updated_at: now,
        ..details
    };
    db::users::insert(tx, user.clone()).await?;
    let patient = db::patients::insert(tx, patient).await?;
    audit::note_object(user.id);
    audit::note(Some(patient.id), false);
    Ok((user, patient))
}

/// Create a patient account and its linked record (an administrator's
/// `POST /users` with role patient).
pub async fn create_patient(state: &AppState, account: NewAccount) -> AppResult<(user::Model, patient::Model)> {
    let now = state.clock.now();
    let details = patient_details(&account, now);
    let tx = state.db.begin_write().await?;
    let created = insert_patient_account(&tx, account, details, now).await?;
    tx.commit().await?;
    Ok(created)
}

/// Sign a patient up: the user, the linked patient record and a first
/// session, in one transaction.
///
/// Errors: 422 for invalid fields or a weak password; 409 for a taken
/// username, email or phone.
pub async fn sign_up(
    state: &AppState,
    body: RegisterIn,
    client: &security::Client,
) -> AppResult<(user::Model, sessions::Tokens)> {
    body.validate()?;
    let account = NewAccount::from_fields(AccountFields {
        username: &body.username,
        email: body.email.as_ref(),
        phone: body.phone.as_ref(),
        password: body.password.expose().to_owned(),
        role: Role::Patient,
        first_name: &body.first_name,
        last_name: &body.last_name,
        facility_id: None,
    })?;
    let now = state.clock.now();
    let details = patient::Model {
        date_of_birth: body.date_of_birth,
        sex: body.sex,
        ..patient_details(&account, now)
    };
    let tx = state.db.begin_write().await?;
    let (user, _) = insert_patient_account(&tx, account, details, now).await?;
    let tokens = sessions::open_session(state, &tx, &user, client).await?;
    tx.commit().await?;
    Ok((user, tokens))
}

/// Change the actor's own password: the current one is needed, the new one
/// follows the rules; every other session ends.
///
/// Errors: 422 naming `current_password` (wrong) or `new_password` (rules).
pub async fn change_password(state: &AppState, actor: &Actor, current: &str, new: &str) -> AppResult<()> {
    let user = current_user(state, actor).await?;
    if !verify_password(&user, current).await? {
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
    check_new_password(&user, new, "new_password")?;
    let hash = hash_password(new.to_owned()).await?;
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    set_password(&tx, &user, hash, false, now).await?;
    security::revoke_sessions(&tx, user.id, None, Some(actor.session_id), now).await?;
    tx.commit().await?;
    Ok(())
}

async fn set_password(
    tx: &Tx,
    user: &user::Model,
    hash: String,
    must_change: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut active = user.clone().into_active_model();
    active.password_hash = Set(hash);
    active.must_change_password = Set(must_change);
    active.updated_at = Set(db::next_update(user.updated_at, now));
    db::users::update_columns(tx, active).await?;
    Ok(())
}

/// Give `user` another role, inside `tx`: a user who becomes a patient
/// gets a patient record if they have none; every session of the user ends
/// (their tokens carry the old role). Returns the changed row.
///
/// Errors: 409 `no_change` when the role is the same.
pub async fn set_role(tx: &Tx, user: user::Model, role: Role, now: DateTime<Utc>) -> AppResult<user::Model> {
    if user.role == role {
        return Err(AppError::conflict(
            "no_change",
            format!("the user already is a {}", role.as_str()),
        ));
    }
    if role == Role::Patient && db::users::links(tx, user.id).await?.patient_id.is_none() {
        let patient = patient::Model {
            user_id: Some(user.id),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            phone: user.phone.clone(),
            email: user.email.clone(),
            ..db::patients::blank(now)
        };
        db::patients::insert(tx, patient).await?;
    }
    let mut active = user.clone().into_active_model();
    active.role = Set(role);
    active.updated_at = Set(db::next_update(user.updated_at, now));
    let row = db::users::update_columns(tx, active).await?;
    security::revoke_sessions(tx, user.id, None, None, now).await?;
    Ok(row)
}

/// Give a patient record without a login (a walk-in registered by the front
/// desk) a new patient account. The password is temporary: it must be
/// changed at the first login. The record's email and phone are the
/// defaults of the account's.
///
/// Errors: 404 for no such record, 409 `patient_has_account` when it already
/// has one, 422 for a weak password, 409 for a taken username/email/phone.
pub async fn create_patient_login(
    state: &AppState,
    patient_id: Uuid,
    input: &users::PatientAccountIn,
) -> AppResult<user::Model> {
    let record = db::patients::find(state.db.conn(), patient_id)
        .await?
        .ok_or(AppError::NotFound("patient"))?;
    let mut account = NewAccount::from_fields(AccountFields {
        username: &input.username,
        email: input.email.as_ref(),
        phone: input.phone.as_ref(),
        password: input.password.expose().to_owned(),
        role: Role::Patient,
        first_name: &Name::from(record.first_name.as_str()),
        last_name: &Name::from(record.last_name.as_str()),
        facility_id: None,
    })?;
    if account.email.is_none() {
        account.email = record.email.as_deref().and_then(|e| Email::parse(e).ok());
    }
    if account.phone.is_none() {
        account.phone = record.phone.as_deref().and_then(|p| Phone::parse(p).ok());
    }
    check_password(&account)?;
    let hash = hash_password(account.password.clone()).await?;
    let now = state.clock.now();
    let user = user::Model {
        must_change_password: true,
        ..user_row(account, hash, now)
    };
    let tx = state.db.begin_write().await?;
    let patient: patient::Model = db::find_for_update(&tx, "patients", patient_id)
        .await?
        .ok_or(AppError::NotFound("patient"))?;
    if patient.user_id.is_some() {
        return Err(AppError::conflict(
            "patient_has_account",
            "this patient already has an account",
        ));
    }
    db::users::insert(&tx, user.clone()).await?;
    let updated_at = db::next_update(patient.updated_at, now);
    let mut linked = patient.into_active_model();
    linked.user_id = Set(Some(user.id));
    linked.updated_at = Set(updated_at);
    linked.update(&tx).await?;
    tx.commit().await?;
    Ok(user)
}
