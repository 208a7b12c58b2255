//! Role-change requests: a user asks for another role with a reason; an
//! administrator approves (the role changes and the user's sessions end) or
//! rejects, with notes. At most one request per user is pending.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode};
use chrono::{DateTime, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageLinks, page_request};
use super::responses::{ReadErrors, WriteErrors};
use super::rules;
use crate::auth::policy::{Action, Owner, Scope, authorize, authorize_object};
use crate::auth::{Actor, accounts};
use crate::db::entities::{role_change_request, user};
use crate::db::{self, role_requests::RequestFilter};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_requests, create_request))
        .routes(routes!(get_request))
        .routes(routes!(approve_request))
        .routes(routes!(reject_request))
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
}

impl RequestStatus {
    fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
        }
    }
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

/// A new request.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RoleRequestIn {
    /// The role asked for; not the current one.
    #[garde(skip)]
    pub requested_role: Role,
    /// Why (1–2000 characters).
    #[schema(
        example = "I joined the nursing staff at Dhanmondi Clinic.",
        min_length = 1,
        max_length = 2000
    )]
    #[garde(custom(rules::text::<2000>))]
    pub reason: String,
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
    security(("bearer" = []))
)]
pub async fn create_request(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<RoleRequestIn>,
) -> AppResult<(StatusCode, [(HeaderName, String); 1], Json<RoleRequestOut>)> {
    body.validate()?;
    if body.requested_role == actor.role {
        return Err(AppError::rule(
            "same_role",
            "requested_role",
            format!("you already are a {}", actor.role.as_str()),
        ));
    }
    let pending = RequestFilter {
        user: Some(actor.user_id),
        status: Some("pending".into()),
    };
    let one = crate::db::PageRequest { page: 1, page_size: 1 };
    if db::role_requests::list(state.db.conn(), &pending, one).await?.count > 0 {
        return Err(AppError::conflict(
            "request_pending",
            "you already have a pending role-change request",
        ));
    }
    let row = role_change_request::Model {
        id: Uuid::new_v4(),
        user_id: actor.user_id,
        current_role: actor.role,
        requested_role: body.requested_role,
        reason: body.reason.trim().to_owned(),
        status: "pending".into(),
        reviewed_by: None,
        review_notes: None,
        created_at: state.clock.now(),
        reviewed_at: None,
    };
    db::insert_row::<role_change_request::ActiveModel>(state.db.conn(), row.clone()).await?;
    Ok(created(format!("/api/v1/role-change-requests/{}", row.id), row.into()))
}

/// Filters of the request list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RoleRequestQuery {
    pub status: Option<RequestStatus>,
    /// Only this user's requests (administrators; others only see their own).
    pub user: Option<Uuid>,
    /// Page number, from 1.
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
}

/// List requests, newest first: administrators see all, others their own.
#[utoipa::path(
    get,
    path = "/api/v1/role-change-requests",
    tag = "users",
    params(RoleRequestQuery),
    responses((status = 200, description = "A page of requests", body = Page<RoleRequestOut>), ReadErrors),
    security(("bearer" = []))
)]
pub async fn list_requests(
    State(state): State<AppState>,
    actor: Actor,
    links: PageLinks,
    ApiQuery(query): ApiQuery<RoleRequestQuery>,
) -> AppResult<Json<Page<RoleRequestOut>>> {
    let page = page_request(query.page, query.page_size)?;
    let user = match authorize(&actor, Action::RoleRequestRead)? {
        Scope::All => query.user,
        _ => Some(actor.user_id),
    };
    let filter = RequestFilter {
        user,
        status: query.status.map(|s| s.as_str().to_owned()),
    };
    let paged = db::role_requests::list(state.db.conn(), &filter, page).await?;
    Ok(Json(links.page(page, paged, RoleRequestOut::from)))
}

async fn find(state: &AppState, actor: &Actor, id: Uuid, action: Action) -> AppResult<role_change_request::Model> {
    let row = db::role_requests::find(state.db.conn(), id).await?;
    let owner = Owner {
        user_id: row.as_ref().map(|r| r.user_id),
        ..Owner::default()
    };
    authorize_object(actor, action, &owner, "role-change request")?;
    row.ok_or(AppError::NotFound("role-change request"))
}

/// One request: one's own, or any for administrators.
#[utoipa::path(
    get,
    path = "/api/v1/role-change-requests/{id}",
    tag = "users",
    params(("id" = Uuid, Path, description = "Request id")),
    responses((status = 200, description = "The request", body = RoleRequestOut), ReadErrors),
    security(("bearer" = []))
)]
pub async fn get_request(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<RoleRequestOut>> {
    Ok(Json(find(&state, &actor, id, Action::RoleRequestRead).await?.into()))
}

/// An administrator's decision.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    /// Shown to the requester (up to 2000 characters).
    #[schema(max_length = 2000)]
    #[garde(inner(custom(rules::long_text::<2000>)))]
    pub notes: Option<String>,
}

async fn decide(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: DecisionIn,
    approve: bool,
) -> AppResult<role_change_request::Model> {
    body.validate()?;
    let request = find(state, actor, id, Action::RoleRequestReview).await?;
    let now = state.clock.now();
    let status = if approve { "approved" } else { "rejected" };
    let notes = rules::clean(body.notes);
    let txn = state.db.begin_write().await?;
    if !db::role_requests::decide(&txn, id, status, actor.user_id, notes, now).await? {
        return Err(AppError::conflict(
            "request_not_pending",
            "the request was already decided",
        ));
    }
    if approve {
        let user: user::Model = db::find_for_update(&txn, "users", request.user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        if user.role != request.current_role {
            return Err(AppError::conflict(
                "role_changed",
                "the user's role changed since the request was made; reject it and let them ask again",
            ));
        }
        accounts::set_role(&txn, user, request.requested_role, now).await?;
    }
    txn.commit().await?;
    db::role_requests::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("role-change request"))
}

/// Approve a pending request: the user gets the role and their sessions end. Admin only.
#[utoipa::path(
    post,
    path = "/api/v1/role-change-requests/{id}/approve",
    tag = "users",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = DecisionIn,
    responses((status = 200, description = "Approved", body = RoleRequestOut), WriteErrors),
    security(("bearer" = []))
)]
pub async fn approve_request(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DecisionIn>,
) -> AppResult<Json<RoleRequestOut>> {
    Ok(Json(decide(&state, &actor, id, body, true).await?.into()))
}

/// Reject a pending request. Admin only.
#[utoipa::path(
    post,
    path = "/api/v1/role-change-requests/{id}/reject",
    tag = "users",
    params(("id" = Uuid, Path, description = "Request id")),
    request_body = DecisionIn,
    responses((status = 200, description = "Rejected", body = RoleRequestOut), WriteErrors),
    security(("bearer" = []))
)]
pub async fn reject_request(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DecisionIn>,
) -> AppResult<Json<RoleRequestOut>> {
    Ok(Json(decide(&state, &actor, id, body, false).await?.into()))
}
