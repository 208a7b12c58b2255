//! Users: staff accounts created by an admin, and the user shape every
//! identity endpoint answers with.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::conditional::{IfMatch, etag, time_tag};
use super::extract::{ApiJson, ApiPath};
use super::pagination::{ListQuery, Page, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use super::{created, no_content};
use crate::accounts::users::{self, NewUserIn, PasswordResetIn, PatientAccountIn, RoleIn, UserListQuery, UserPatch};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::db::{self, entities::user};
use crate::domain::Role;
use crate::error::AppResult;
use crate::state::AppState;

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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::UserCreate)))
)]
pub async fn create_user(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewUserIn>,
) -> AppResult<impl IntoResponse> {
    let (user, patient_id) = users::create(&state, body).await?;
    let links = db::users::Links {
        patient_id,
        doctor_id: None,
    };
    Ok(created(format!("/api/v1/users/{}", user.id), UserOut::new(user, links)))
}

/// List users. Admin only.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(PageParams, UserListQuery),
    responses((status = 200, description = "A page of users", body = Page<UserOut>), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::UserRead)))
)]
pub async fn list_users(
    State(state): State<AppState>,
    query: ListQuery<UserListQuery>,
) -> AppResult<Json<Page<UserOut>>> {
    let (found, mut links) = users::list(&state, &query.filter, query.page).await?;
    Ok(Json(query.page_of(found, |row| {
        let linked = links.remove(&row.id).unwrap_or_default();
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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::UserRead)))
)]
pub async fn get_user(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<TaggedUser> {
    tagged(&state, users::find(&state, id).await?).await
}

/// A user with its `ETag`.
pub type TaggedUser = ([(HeaderName, HeaderValue); 1], Json<UserOut>);

async fn tagged(state: &AppState, user: user::Model) -> AppResult<TaggedUser> {
    let links = users::links(state, user.id).await?;
    Ok((etag(&time_tag(user.updated_at)), Json(UserOut::new(user, links))))
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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::UserUpdate)))
)]
pub async fn update_user(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<UserPatch>,
) -> AppResult<TaggedUser> {
    let check = |row: &user::Model| if_match.check(&time_tag(row.updated_at));
    tagged(&state, users::update(&state, id, body, check).await?).await
}

/// Deactivate an account: it cannot log in, and its tokens stop working at
/// once. Admin only; not one's own account.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/deactivate",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "Deactivated", body = UserOut), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::UserUpdate)))
)]
pub async fn deactivate_user(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<TaggedUser> {
    tagged(&state, users::set_active(&state, &actor, id, false).await?).await
}

/// Reactivate an account (and lift a lockout). Admin only.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/reactivate",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "Active", body = UserOut), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::UserUpdate)))
)]
pub async fn reactivate_user(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<TaggedUser> {
    tagged(&state, users::set_active(&state, &actor, id, true).await?).await
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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::UserUpdate)))
)]
pub async fn reset_password(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PasswordResetIn>,
) -> AppResult<Response> {
    users::reset_password(&state, id, &body).await?;
    Ok(no_content())
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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::UserUpdate)))
)]
pub async fn assign_role(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RoleIn>,
) -> AppResult<TaggedUser> {
    tagged(&state, users::assign_role(&state, &actor, id, body).await?).await
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
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::PatientAccountCreate)))
)]
pub async fn create_patient_account(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PatientAccountIn>,
) -> AppResult<impl IntoResponse> {
    let user = users::create_patient_login(&state, &actor, id, body).await?;
    let links = db::users::Links {
        patient_id: Some(id),
        doctor_id: None,
    };
    Ok(created(format!("/api/v1/users/{}", user.id), UserOut::new(user, links)))
}
