//! An administrator's changes to accounts: create any role, change details,
//! deactivate and reactivate, reset a password, assign a role; and a login
//! for a patient record registered without one.

use std::collections::HashMap;

use garde::Validate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{AccountFields, NewAccount, check_new_password, hash_password, set_password, set_role};
use crate::auth::Actor;
use crate::auth::policy::{Action, PatientRecord, authorize_object};
use crate::db::entities::user;
use crate::db::users::UserOrdering;
use crate::db::users::{Links, UserFilter};
use crate::db::{self, PageRequest, Paged, Tx, audit, security};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::input::text::Name;
use crate::input::{self, EmailText, NewPassword, PhoneText, Username};
use crate::input::{Ordering, Search};
use crate::state::AppState;

/// A new account of any role.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewUserIn {
    /// Stored lower-case.
    #[schema(example = "nasreen.akter")]
    #[garde(dive)]
    pub username: Username,
    #[garde(dive)]
    pub email: Option<EmailText>,
    #[garde(dive)]
    pub phone: Option<PhoneText>,
    #[garde(skip)]
    pub password: NewPassword,
    /// Any role; a patient account gets a linked patient record.
    #[garde(skip)]
    pub role: Role,
    #[schema(example = "Nasreen")]
    #[garde(dive)]
    pub first_name: Name,
    #[schema(example = "Akter")]
    #[garde(dive)]
    pub last_name: Name,
    /// Home facility of nurses and receptionists.
    #[garde(skip)]
    pub facility_id: Option<Uuid>,
}

/// Changes to an account's details. Role, active flag and password have
/// their own operations; unknown fields are refused (400).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Null removes it.
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<EmailText>)]
    #[garde(dive)]
    pub email: Option<Option<EmailText>>,
    /// Null removes it.
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<PhoneText>)]
    #[garde(dive)]
    pub phone: Option<Option<PhoneText>>,
    #[garde(dive)]
    pub first_name: Option<Name>,
    #[garde(dive)]
    pub last_name: Option<Name>,
    /// Home facility (nurses, receptionists); null removes it.
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<Uuid>)]
    #[garde(skip)]
    pub facility_id: Option<Option<Uuid>>,
}

/// A password set by an administrator.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetIn {
    /// The user must change it at the next login.
    #[garde(skip)]
    pub password: NewPassword,
}

/// A role to assign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleIn {
    pub role: Role,
}

/// A login for a patient record registered without one.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PatientAccountIn {
    #[schema(example = "karim.mia")]
    #[garde(dive)]
    pub username: Username,
    /// Defaults to the record's email.
    #[garde(dive)]
    pub email: Option<EmailText>,
    /// Defaults to the record's phone.
    #[garde(dive)]
    pub phone: Option<PhoneText>,
    /// A temporary password, to be changed at the first login.
    #[garde(skip)]
    pub password: NewPassword,
}

/// Filters of the user list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only active (true) or deactivated (false) users.
    pub is_active: Option<bool>,
    /// Text in username, names, email or phone.
    #[param(inline)]
    pub search: Option<Search>,
    /// Sort order.
    #[param(schema_with = Ordering::<UserOrdering>::schema)]
    pub ordering: Option<Ordering<UserOrdering>>,
}

/// One page of users, with each one's patient record and doctor profile.
///
/// Errors: 400 naming `ordering` when it names an unknown field.
pub async fn list(
    state: &AppState,
    query: &UserListQuery,
    page: PageRequest,
) -> AppResult<(Paged<user::Model>, HashMap<Uuid, Links>)> {
    let order = input::sorts(&query.ordering);
    let filter = UserFilter {
        role: query.role,
        is_active: query.is_active,
        search: input::search(&query.search),
    };
    let found = db::users::list(state.db.conn(), &filter, order, page).await?;
    let ids: Vec<Uuid> = found.rows.iter().map(|u| u.id).collect();
    let links = db::users::links_of(state.db.conn(), &ids).await?;
    audit::note_disclosed(links.values().filter_map(|l| l.patient_id));
    Ok((found, links))
}

/// Create an account of any role; a patient account gets a linked patient
/// record (with the names and contact details given). Returns the user and
/// its patient record's id.
///
/// Errors: 422 for invalid fields or a weak password, 409 for a taken
/// username, email or phone.
pub async fn create(state: &AppState, body: NewUserIn) -> AppResult<(user::Model, Option<Uuid>)> {
    body.validate()?;
    let account = NewAccount::from_fields(AccountFields {
        username: &body.username,
        email: body.email.as_ref(),
        phone: body.phone.as_ref(),
        password: body.password.expose().to_owned(),
        role: body.role,
        first_name: &body.first_name,
        last_name: &body.last_name,
        facility_id: body.facility_id,
    })?;
    if account.role == Role::Patient {
        let (user, patient) = super::create_patient(state, account).await?;
        return Ok((user, Some(patient.id)));
    }
    Ok((super::create_user(state, account).await?, None))
}

/// The records linked to user `id`; a patient's account is their data, so
/// it is attributed to them in the audit trail.
pub async fn links(state: &AppState, id: Uuid) -> AppResult<Links> {
    let links = db::users::links(state.db.conn(), id).await?;
    audit::note(links.patient_id, false);
    Ok(links)
}

/// A user by id. Errors: 404.
pub async fn find(state: &AppState, id: Uuid) -> AppResult<user::Model> {
    db::users::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("user"))
}

async fn locked(tx: &Tx, id: Uuid) -> AppResult<user::Model> {
    db::find_for_update(tx, "users", id)
        .await?
        .ok_or(AppError::NotFound("user"))
}

/// Apply email and phone changes (`Some(None)` removes one).
///
/// Errors: 422 naming `email` or `phone` when it does not parse.
pub fn apply_contact(
    row: &mut user::Model,
    email: Option<Option<EmailText>>,
    phone: Option<Option<PhoneText>>,
) -> AppResult<()> {
    if let Some(email) = email {
        row.email = input::email("email", email.as_ref())?;
    }
    if let Some(phone) = phone {
        row.phone = input::phone("phone", phone.as_ref())?;
    }
    Ok(())
}

/// Change an account's details. `precondition` is checked against the
/// locked row (for `If-Match`).
///
/// Errors: 404; 422 for invalid fields or an unknown facility; 409 for a
/// taken email or phone; whatever `precondition` returns.
pub async fn update(
    state: &AppState,
    id: Uuid,
    body: UserPatch,
    precondition: impl FnOnce(&user::Model) -> AppResult<()>,
) -> AppResult<user::Model> {
    body.validate()?;
    if let Some(Some(facility)) = body.facility_id
        && db::directory::find_facility(state.db.conn(), facility).await?.is_none()
    {
        return Err(AppError::invalid_field("facility_id", "no such facility"));
    }
    let tx = state.db.begin_write().await?;
    let mut row = locked(&tx, id).await?;
    precondition(&row)?;
    apply_contact(&mut row, body.email, body.phone)?;
    if let Some(v) = body.first_name {
        row.first_name = v.into_trimmed();
    }
    if let Some(v) = body.last_name {
        row.last_name = v.into_trimmed();
    }
    if let Some(v) = body.facility_id {
        row.facility_id = v;
    }
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    let row = db::users::update(&tx, row).await?;
    tx.commit().await?;
    Ok(row)
}

fn not_self(actor: &Actor, id: Uuid, what: &str) -> AppResult<()> {
    if actor.user_id == id {
        return Err(AppError::conflict(
            "own_account",
            format!("administrators cannot {what} their own account; ask another administrator"),
        ));
    }
    Ok(())
}

/// Deactivate (`active` false; not one's own account) or reactivate an
/// account. Deactivation ends every session at once; reactivation clears a lockout.
///
/// Errors: 404; 409 `own_account`.
pub async fn set_active(state: &AppState, actor: &Actor, id: Uuid, active: bool) -> AppResult<user::Model> {
    if !active {
        not_self(actor, id, "deactivate")?;
    }
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    let mut row = locked(&tx, id).await?;
    row.is_active = active;
    if active {
        row.failed_logins = 0;
        row.locked_until = None;
    }
    row.updated_at = db::next_update(row.updated_at, now);
    let row = db::users::update(&tx, row).await?;
    if !active {
        security::revoke_sessions(&tx, id, None, None, now).await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// An administrator sets a new password for a user, who must change it at
/// the next login; every session of the user ends.
///
/// Errors: 404; 422 naming `password` when it breaks the rules.
pub async fn reset_password(state: &AppState, id: Uuid, body: &PasswordResetIn) -> AppResult<()> {
    let user = find(state, id).await?;
    let new = body.password.expose();
    check_new_password(&user, new, "password")?;
    let hash = hash_password(new.to_owned()).await?;
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    let user = locked(&tx, id).await?;
    set_password(&tx, &user, hash, true, now).await?;
    security::revoke_sessions(&tx, id, None, None, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Assign a role directly; every session of the user ends and a new
/// patient gets a patient record. Not one's own account.
///
/// Errors: 404; 409 `own_account` or `no_change`.
pub async fn assign_role(state: &AppState, actor: &Actor, id: Uuid, body: RoleIn) -> AppResult<user::Model> {
    not_self(actor, id, "change the role of")?;
    let tx = state.db.begin_write().await?;
    let user = locked(&tx, id).await?;
    let user = set_role(&tx, user, body.role, state.clock.now()).await?;
    tx.commit().await?;
    Ok(user)
}

/// Give patient record `id` (registered without a login) a patient account.
///
/// Errors: 404/403 by the policy; as [`super::create_patient_login`].
pub async fn create_patient_login(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: PatientAccountIn,
) -> AppResult<user::Model> {
    authorize_object(actor, Action::PatientAccountCreate, &PatientRecord::of(id))?;
    body.validate()?;
    super::create_patient_login(state, id, &body).await
}
