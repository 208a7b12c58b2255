//! Users: staff accounts created by an admin, and the user shape every
//! identity endpoint answers with.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageLinks, ordering, page_request};
use super::responses::{ReadErrors, WriteErrors};
use super::rules;
use crate::auth::accounts::{self, NewAccount};

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
    /// doctor, nurse, receptionist or admin (patients sign up or are registered by reception).
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
        .routes(routes!(get_user))
}

/// Create a staff or admin account. Admin only.
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
) -> AppResult<(StatusCode, [(axum::http::HeaderName, String); 1], Json<UserOut>)> {
    body.validate()?;
    if body.role == Role::Patient {
        return Err(AppError::invalid_field(
            "role",
            "patients sign up at /api/v1/auth/register or are registered at /api/v1/patients",
        ));
    }
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
    let user = accounts::create_user(&state, account).await?;
    Ok(created(
        format!("/api/v1/users/{}", user.id),
        UserOut::new(user, Default::default()),
    ))
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
    responses((status = 200, description = "The user", body = UserOut), ReadErrors),
    security(("bearer" = []))
)]
pub async fn get_user(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Json<UserOut>> {
    let user = db::users::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let links = db::users::links(state.db.conn(), id).await?;
    Ok(Json(UserOut::new(user, links)))
}
