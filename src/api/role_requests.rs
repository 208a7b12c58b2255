//! Role-change requests over HTTP (see [`crate::accounts::role_requests`]).

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use super::extract::{ApiJson, ApiPath};
use super::pagination::{ListQuery, Page, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use crate::accounts::role_requests::{self, DecisionIn, RequestStatus, RoleRequestIn};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::db::entities::role_change_request;
use crate::domain::Role;
use crate::error::AppResult;
use crate::state::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_requests, create_request))
        .routes(routes!(get_request))
        .routes(routes!(approve_request))
        .routes(routes!(reject_request))
}

/// A role-change request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleRequestOut {
    pub id: Uuid,
    /// Who asks.
    pub user_id: Uuid,
    /// Their role when they asked.
    pub current_role: Role,
    pub requested_role: Role,
    pub reason: String,
    #[schema(value_type = RequestStatus)]
    pub status: String,
    /// The administrator who decided.
    pub reviewed_by: Option<Uuid>,
    pub review_notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

impl From<role_change_request::Model> for RoleRequestOut {
    fn from(r: role_change_request::Model) -> Self {
        RoleRequestOut {
            id: r.id,
            user_id: r.user_id,
            current_role: r.current_role,
            requested_role: r.requested_role,
            reason: r.reason,
            status: r.status,
            reviewed_by: r.reviewed_by,
            review_notes: r.review_notes,
            created_at: r.created_at,
            reviewed_at: r.reviewed_at,
        }
    }
}

/// Ask for another role. Any signed-in user except administrators (who
/// assign roles directly).
#[utoipa::path(
    post,
    path = "/api/v1/role-change-requests",
    tag = "users",
    request_body = RoleRequestIn,
    responses((status = 201, description = "Requested", body = RoleRequestOut,
        headers(("Location" = String, description = "The new request"))), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::RoleRequestCreate)))
)]
pub async fn create_request(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<RoleRequestIn>,
) -> AppResult<impl IntoResponse> {
    let row = role_requests::create(&state, &actor, body).await?;
    Ok(created(
        format!("/api/v1/role-change-requests/{}", row.id),
        RoleRequestOut::from(row),
    ))
}

/// Filters of the request list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RoleRequestQuery {
    pub status: Option<RequestStatus>,
    /// Only this user's requests (administrators; others only see their own).
    pub user: Option<Uuid>,
}

/// List requests, newest first: administrators see all, others their own.
#[utoipa::path(
    get,
    path = "/api/v1/role-change-requests",
    tag = "users",
    params(PageParams, RoleRequestQuery),
    responses((status = 200, description = "A page of requests", body = Page<RoleRequestOut>), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::RoleRequestRead)))
)]
pub async fn list_requests(
    State(state): State<AppState>,
    actor: Actor,
    query: ListQuery<RoleRequestQuery>,
) -> AppResult<Json<Page<RoleRequestOut>>> {
    let filter = &query.filter;
    let found = role_requests::list(&state, &actor, filter.user, filter.status, query.page).await?;
    Ok(Json(query.page_of(found, RoleRequestOut::from)))
}

/// One request: one's own, or any for administrators.
#[utoipa::path(
    get,
    path = "/api/v1/role-change-requests/{id}",
    tag = "users",
    params(("id" = Uuid, Path, description = "Request id")),
    responses((status = 200, description = "The request", body = RoleRequestOut), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::RoleRequestRead)))
)]
pub async fn get_request(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<RoleRequestOut>> {
    Ok(Json(role_requests::get(&state, &actor, id).await?.into()))
}

/// Approve a pending request: the user gets the role and their sessions end. Admin only.
#[utoipa::path(
    post,
    path = "/api/v1/role-change-requests/{id}/approve",
    tag = "users",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = DecisionIn,
    responses((status = 200, description = "Approved", body = RoleRequestOut), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::RoleRequestReview)))
)]
pub async fn approve_request(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DecisionIn>,
) -> AppResult<Json<RoleRequestOut>> {
    Ok(Json(
        role_requests::decide(&state, &actor, id, body, true).await?.into(),
    ))
}

/// Reject a pending request. Admin only.
#[utoipa::path(
    post,
    path = "/api/v1/role-change-requests/{id}/reject",
    tag = "users",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = DecisionIn,
    responses((status = 200, description = "Rejected", body = RoleRequestOut), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::RoleRequestReview)))
)]
pub async fn reject_request(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DecisionIn>,
) -> AppResult<Json<RoleRequestOut>> {
    Ok(Json(
        role_requests::decide(&state, &actor, id, body, false).await?.into(),
    ))
}
