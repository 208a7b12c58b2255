//! Users: staff accounts created by an admin, and the user shape every
//! identity endpoint answers with.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::conditional::{IfMatch, etag, time_tag};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageLinks, ordering, page_request};
use super::responses::{ReadErrors, WriteErrors};
use super::rules;
use super::{created, no_content};
use crate::auth::Actor;
use crate::auth::accounts::{self, NewAccount};
use crate::auth::policy::{Action, Owner, authorize_object};
use crate::db::{self, entities::user};
use crate::domain::{Email, Phone, Role};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use garde::Validate;

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    #[schema(example = "rahim.uddin")]
    pub username: String,
    #[schema(example = "rahim@example.com")]
    pub email: Option<String>,
    /// E.164.
    #[schema(example = "+8801712345678")]
    pub phone: Option<String>,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    /// Home facility of nurses and receptionists.
    pub facility_id: Option<Uuid>,
    pub is_active: bool,
    /// The linked patient record (patients).
    pub patient_id: Option<Uuid>,
    /// The doctor profile (doctors).
    pub doctor_id: Option<Uuid>,
    /// Whether login needs a TOTP code.
    pub totp_enabled: bool,
    /// Set by an administrator's password reset: until the password is
    /// changed, only the account's own operations are allowed.
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
}

impl UserOut {
    /// Shape a user row with its patient/doctor links.
    pub fn new(row: user::Model, links: db::users::Links) -> UserOut {
        UserOut {
            id: row.id,
            username: row.username,
            email: row.email,
            phone: row.phone,
            role: row.role,
            first_name: row.first_name,
            last_name: row.last_name,
            facility_id: row.facility_id,
            is_active: row.is_active,
            patient_id: links.patient_id,
            doctor_id: links.doctor_id,
            totp_enabled: row.totp_enabled,
            must_change_password: row.must_change_password,
            created_at: row.created_at,
        }
    }
}

/// A new staff or admin account.
#[derive(Debug, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct NewUserIn {
    /// 3–150 of a–z, 0–9, `.`, `_`, `-`, starting with a letter (stored lower-case).
    #[schema(example = "nasreen.akter")]
    #[schema(pattern = "^[A-Za-z][A-Za-z0-9._-]{2,149}$")]
    #[garde(custom(rules::username))]
    pub username: String,
    #[schema(example = "nasreen@clinic.example")]
    #[schema(max_length = 254)]
    #[garde(custom(rules::optional_email))]
    pub email: Option<String>,
    /// Any common notation; stored as E.164 (numbers without a country code are read as Bangladeshi).
    #[schema(example = "01812345678")]
    #[schema(max_length = 32)]
    #[garde(custom(rules::optional_phone))]
    pub phone: Option<String>,
    /// 8–128 characters, not equal to the username, email or phone.
    #[schema(example = "a long passphrase", min_length = 8, max_length = 128)]
    #[garde(skip)]
    pub password: String,
    /// Any role; a patient account gets a linked patient record.
    #[garde(skip)]
    pub role: Role,
    #[schema(example = "Nasreen")]
    #[schema(min_length = 1, max_length = 150)]
    #[garde(custom(rules::text::<150>))]
    pub first_name: String,
    #[schema(example = "Akter")]
    #[schema(min_length = 1, max_length = 150)]
    #[garde(custom(rules::text::<150>))]
    pub last_name: String,
    /// Home facility of nurses and receptionists.
    #[garde(skip)]
    pub facility_id: Option<Uuid>,
}

/// Account fields as a request gives them (already checked by garde).
pub struct AccountFields<'a> {
    pub username: &'a str,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password: String,
    pub role: Role,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub facility_id: Option<Uuid>,
}

/// Normalise request fields into a new account.
///
/// Errors: 422 if a field does not parse after all.
pub fn new_account(fields: AccountFields<'_>) -> AppResult<NewAccount> {
    let invalid = |field: &'static str| move |message: String| AppError::invalid_field(field, message);
    Ok(NewAccount {
        username: accounts::normalise_username(fields.username).map_err(invalid("username"))?,
        email: rules::clean(fields.email)
            .map(|e| Email::parse(&e))
            .transpose()
            .map_err(invalid("email"))?,
        phone: rules::clean(fields.phone)
            .map(|p| Phone::parse(&p))
            .transpose()
            .map_err(invalid("phone"))?,
        password: fields.password,
        role: fields.role,
        first_name: fields.first_name.trim().to_owned(),
        last_name: fields.last_name.trim().to_owned(),
        facility_id: fields.facility_id,
    })
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(deactivate_user))
        .routes(routes!(reactivate_user))
        .routes(routes!(reset_password))
        .routes(routes!(assign_role))
        .routes(routes!(create_patient_account))
}

/// Create an account of any role. Admin only. A patient account gets a
/// linked patient record (with the names and contact details given).
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = NewUserIn,
    responses((status = 201, description = "Created", body = UserOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = []))
)]
pub async fn create_user(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewUserIn>,
) -> AppResult<(StatusCode, [(HeaderName, String); 1], Json<UserOut>)> {
    body.validate()?;
    if let Some(facility) = body.facility_id
        && db::directory::find_facility(state.db.conn(), facility).await?.is_none()
    {
        return Err(AppError::invalid_field("facility_id", "no such facility"));
    }
    let account = new_account(AccountFields {
        username: &body.username,
        email: body.email,
        phone: body.phone,
        password: body.password,
        role: body.role,
        first_name: &body.first_name,
        last_name: &body.last_name,
        facility_id: body.facility_id,
    })?;
    let (user, links) = if account.role == Role::Patient {
        let details = accounts::patient_details(&account, state.clock.now());
        let (user, patient) = accounts::register_patient(&state, account, details).await?;
        let links = db::users::Links {
            patient_id: Some(patient.id),
            doctor_id: None,
        };
        (user, links)
    } else {
        (accounts::create_user(&state, account).await?, Default::default())
    };
    Ok(created(format!("/api/v1/users/{}", user.id), UserOut::new(user, links)))
}

/// Filters of the user list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only active (true) or deactivated (false) users.
    pub is_active: Option<bool>,
    /// Text in username, names, email or phone.
    pub search: Option<String>,
    /// `username`, `last_name`, `created_at`, `role`; prefix `-` for descending.
    #[param(pattern = "^(-?(username|last_name|created_at|role)(,-?(username|last_name|created_at|role))*)?$")]
    pub ordering: Option<String>,
    /// Page number, from 1.
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
}

/// List users. Admin only.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(UserListQuery),
    responses((status = 200, description = "A page of users", body = Page<UserOut>), ReadErrors),
    security(("bearer" = []))
)]
pub async fn list_users(
    State(state): State<AppState>,
    links: PageLinks,
    ApiQuery(query): ApiQuery<UserListQuery>,
) -> AppResult<Json<Page<UserOut>>> {
    let page = page_request(query.page, query.page_size)?;
    let order = ordering(query.ordering.as_deref(), db::users::USER_ORDERING)?;
    let filter = db::users::UserFilter {
        role: query.role,
        is_active: query.is_active,
        search: query.search.filter(|s| !s.trim().is_empty()),
    };
    let paged = db::users::list(state.db.conn(), &filter, &order, page).await?;
    let ids: Vec<Uuid> = paged.rows.iter().map(|u| u.id).collect();
    let mut user_links = db::users::links_of(state.db.conn(), &ids).await?;
    Ok(Json(links.page(page, paged, |row| {
        let linked = user_links.remove(&row.id).unwrap_or_default();
        UserOut::new(row, linked)
    })))
}

/// Read a user. Admin only.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The user", body = UserOut,
        headers(("ETag" = String, description = "The account's version, for If-Match"))), ReadErrors),
    security(("bearer" = []))
)]
pub async fn get_user(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<TaggedUser> {
    let user = find_user(&state, id).await?;
    tagged(&state, user).await
}

/// A user with its `ETag`.
pub type TaggedUser = ([(HeaderName, HeaderValue); 1], Json<UserOut>);

async fn tagged(state: &AppState, user: user::Model) -> AppResult<TaggedUser> {
    let links = db::users::links(state.db.conn(), user.id).await?;
    Ok((etag(&time_tag(user.updated_at)), Json(UserOut::new(user, links))))
}

async fn find_user(state: &AppState, id: Uuid) -> AppResult<user::Model> {
    db::users::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("user"))
}

/// Changes to an account's details. Role, active flag and password have
/// their own operations; unknown fields are refused (400).
#[derive(Debug, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Null removes it.
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 254)]
    #[garde(inner(custom(rules::optional_email)))]
    pub email: Option<Option<String>>,
    /// Null removes it.
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 32)]
    #[garde(custom(rules::optional_phone_patch))]
    pub phone: Option<Option<String>>,
    #[schema(min_length = 1, max_length = 150)]
    #[garde(inner(custom(rules::text::<150>)))]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 150)]
    #[garde(inner(custom(rules::text::<150>)))]
    pub last_name: Option<String>,
    /// Home facility (nurses, receptionists); null removes it.
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<Uuid>)]
    #[garde(skip)]
    pub facility_id: Option<Option<Uuid>>,
}

/// Change an account's details. Admin only.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the account has changed since")),
    request_body = UserPatch,
    responses((status = 200, description = "The changed user", body = UserOut,
        headers(("ETag" = String, description = "The account's new version"))), WriteErrors),
    security(("bearer" = []))
)]
pub async fn update_user(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<UserPatch>,
) -> AppResult<TaggedUser> {
    body.validate()?;
    if let Some(Some(facility)) = body.facility_id
        && db::directory::find_facility(state.db.conn(), facility).await?.is_none()
    {
        return Err(AppError::invalid_field("facility_id", "no such facility"));
    }
    let txn = state.db.begin_write().await?;
    let mut row: user::Model = db::find_for_update(&txn, "users", id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if_match.check(&time_tag(row.updated_at))?;
    apply_contact(&mut row, body.email, body.phone)?;
    if let Some(v) = body.first_name {
        row.first_name = v.trim().to_owned();
    }
    if let Some(v) = body.last_name {
        row.last_name = v.trim().to_owned();
    }
    if let Some(v) = body.facility_id {
        row.facility_id = v;
    }
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    let row = db::users::update(&txn, row).await?;
    txn.commit().await?;
    tagged(&state, row).await
}

/// Apply email and phone changes (`Some(None)` removes one).
///
/// Errors: 422 naming `email` or `phone` when it does not parse.
pub fn apply_contact(
    row: &mut user::Model,
    email: Option<Option<String>>,
    phone: Option<Option<String>>,
) -> AppResult<()> {
    if let Some(email) = email {
        row.email = rules::clean(email)
            .map(|e| Email::parse(&e).map(Email::into_string))
            .transpose()
            .map_err(|m| AppError::invalid_field("email", m))?;
    }
    if let Some(phone) = phone {
        row.phone = rules::clean(phone)
            .map(|p| Phone::parse(&p).map(Phone::into_string))
            .transpose()
            .map_err(|m| AppError::invalid_field("phone", m))?;
    }
    Ok(())
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

/// Deactivate an account: it cannot log in, and its tokens stop working at
/// once. Admin only; not one's own account.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/deactivate",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "Deactivated", body = UserOut), WriteErrors),
    security(("bearer" = []))
)]
pub async fn deactivate_user(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<TaggedUser> {
    not_self(&actor, id, "deactivate")?;
    let user = find_user(&state, id).await?;
    let user = accounts::set_active(&state, user, false).await?;
    tagged(&state, user).await
}

/// Reactivate an account (and lift a lockout). Admin only.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/reactivate",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "Active", body = UserOut), WriteErrors),
    security(("bearer" = []))
)]
pub async fn reactivate_user(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<TaggedUser> {
    let user = find_user(&state, id).await?;
    let user = accounts::set_active(&state, user, true).await?;
    tagged(&state, user).await
}

/// A password set by an administrator.
#[derive(Debug, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetIn {
    /// 8–128 characters, not a common password, not equal to the username, email or phone.
    /// The user must change it at the next login.
    #[schema(min_length = 8, max_length = 128)]
    #[garde(skip)]
    pub password: String,
}

/// Set a temporary password: every session of the user ends, and after the
/// next login the user can do nothing but change it. Admin only.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/reset-password",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = PasswordResetIn,
    responses((status = 204, description = "Reset"), WriteErrors),
    security(("bearer" = []))
)]
pub async fn reset_password(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PasswordResetIn>,
) -> AppResult<Response> {
    let user = find_user(&state, id).await?;
    accounts::reset_password(&state, &user, &body.password).await?;
    Ok(no_content())
}

/// A role to assign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleIn {
    pub role: Role,
}

/// Assign a role directly. Every session of the user ends (their tokens
/// carry the old role); a new patient gets a patient record. Admin only; not
/// one's own account.
#[utoipa::path(
    put,
    path = "/api/v1/users/{id}/role",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = RoleIn,
    responses((status = 200, description = "The user with the new role", body = UserOut), WriteErrors),
    security(("bearer" = []))
)]
pub async fn assign_role(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RoleIn>,
) -> AppResult<TaggedUser> {
    not_self(&actor, id, "change the role of")?;
    let txn = state.db.begin_write().await?;
    let user: user::Model = db::find_for_update(&txn, "users", id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let user = accounts::set_role(&txn, user, body.role, state.clock.now()).await?;
    txn.commit().await?;
    tagged(&state, user).await
}

/// A login for a patient record registered without one.
#[derive(Debug, Deserialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct PatientAccountIn {
    /// 3–150 of a–z, 0–9, `.`, `_`, `-`, starting with a letter.
    #[schema(example = "karim.mia")]
    #[schema(pattern = "^[A-Za-z][A-Za-z0-9._-]{2,149}$")]
    #[garde(custom(rules::username))]
    pub username: String,
    /// Defaults to the record's email.
    #[schema(max_length = 254)]
    #[garde(custom(rules::optional_email))]
    pub email: Option<String>,
    /// Defaults to the record's phone.
    #[schema(max_length = 32)]
    #[garde(custom(rules::optional_phone))]
    pub phone: Option<String>,
    /// A temporary password (8–128 characters, not common), to be changed at the first login.
    #[schema(min_length = 8, max_length = 128)]
    #[garde(skip)]
    pub password: String,
}

/// Give a patient record registered without a login (a walk-in) a new
/// patient account linked to it. The password must be changed at the first
/// login. Admin and receptionist.
#[utoipa::path(
    post,
    path = "/api/v1/patients/{id}/account",
    tag = "patients",
    params(("id" = Uuid, Path, description = "Patient id")),
    request_body = PatientAccountIn,
    responses((status = 201, description = "Created and linked", body = UserOut,
        headers(("Location" = String, description = "The new user"))), WriteErrors),
    security(("bearer" = []))
)]
pub async fn create_patient_account(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PatientAccountIn>,
) -> AppResult<(StatusCode, [(HeaderName, String); 1], Json<UserOut>)> {
    let owner = Owner {
        patient_id: Some(id),
        ..Owner::default()
    };
    authorize_object(&actor, Action::PatientAccountCreate, &owner, "patient")?;
    body.validate()?;
    let patient = db::patients::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("patient"))?;
    let account = new_account(AccountFields {
        username: &body.username,
        email: body.email.or(patient.email),
        phone: body.phone.or(patient.phone),
        password: body.password,
        role: Role::Patient,
        first_name: &patient.first_name,
        last_name: &patient.last_name,
        facility_id: None,
    })?;
    let user = accounts::create_patient_login(&state, id, account).await?;
    let links = db::users::Links {
        patient_id: Some(id),
        doctor_id: None,
    };
    Ok(created(format!("/api/v1/users/{}", user.id), UserOut::new(user, links)))
}
