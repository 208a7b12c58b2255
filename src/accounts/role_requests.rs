//! Role-change requests: a user asks for another role with a reason; an
//! administrator approves (the role changes and the user's sessions end) or
//! rejects, with notes. At most one request per user is pending (the
//! database holds that too: a partial unique index).

use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::set_role;
use crate::auth::Actor;
use crate::auth::policy::{Action, authorize_object, reach};
use crate::db::entities::{role_change_request, user};
use crate::db::role_requests::RequestFilter;
use crate::db::{self, PageRequest, Paged, Reach, audit};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::input::{Text, TextOrEmpty};
use crate::state::AppState;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
}

impl RequestStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
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
    /// Why.
    #[schema(example = "I joined the nursing staff at Dhanmondi Clinic.")]
    #[garde(dive)]
    pub reason: Text<2000>,
}

/// An administrator's decision.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    /// Shown to the requester.
    #[garde(dive)]
    pub notes: Option<TextOrEmpty<2000>>,
}

/// Ask for another role.
///
/// Errors: 422 `same_role`; 409 `request_pending` while another is pending.
pub async fn create(state: &AppState, actor: &Actor, body: RoleRequestIn) -> AppResult<role_change_request::Model> {
    body.validate()?;
    if body.requested_role == actor.role {
        return Err(AppError::rule(
            "same_role",
            "requested_role",
            format!("you already are a {}", actor.role.as_str()),
        ));
    }
    if db::role_requests::has_pending(state.db.conn(), actor.user_id).await? {
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
        reason: body.reason.into_trimmed(),
        status: RequestStatus::Pending.as_str().into(),
        reviewed_by: None,
        review_notes: None,
        created_at: state.clock.now(),
        reviewed_at: None,
    };
    let tx = state.db.begin_write().await?;
    db::insert_row::<role_change_request::ActiveModel>(&tx, row.clone()).await?;
    let message = format!(
        "A {} asks for the {} role: review it under role-change requests.",
        row.current_role, row.requested_role
    );
    crate::notifications::tell_role(
        &tx,
        Role::Admin,
        None,
        "role_request",
        "Role change requested",
        &message,
        row.created_at,
    )
    .await?;
    audit::note_object(row.id);
    tx.commit().await?;
    Ok(row)
}

/// The requests the actor may see, newest first: every one for
/// administrators (optionally one user's), their own for everyone else.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    user: Option<Uuid>,
    status: Option<RequestStatus>,
    page: PageRequest,
) -> AppResult<Paged<role_change_request::Model>> {
    let user = match reach::<role_change_request::Model>(actor, Action::RoleRequestRead)? {
        Reach::All => user,
        Reach::User(own) => Some(own),
        _ => return Ok(Paged { count: 0, rows: vec![] }),
    };
    let filter = RequestFilter {
        user,
        status: status.map(|s| s.as_str().to_owned()),
    };
    Ok(db::role_requests::list(state.db.conn(), &filter, page).await?)
}

/// A request the actor may see, or 404.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<role_change_request::Model> {
    visible(state, actor, id, Action::RoleRequestRead).await
}

async fn visible(state: &AppState, actor: &Actor, id: Uuid, action: Action) -> AppResult<role_change_request::Model> {
    let row = db::role_requests::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("role-change request"))?;
    authorize_object(actor, action, &row)?;
    Ok(row)
}

/// Approve (`approve`) or reject a pending request. Approval gives the user
/// the role and ends their sessions.
///
/// Errors: 404; 409 `request_not_pending` when already decided, `role_changed`
/// when the user's role changed since they asked.
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: DecisionIn,
    approve: bool,
) -> AppResult<role_change_request::Model> {
    body.validate()?;
    let request = visible(state, actor, id, Action::RoleRequestReview).await?;
    let now = state.clock.now();
    let status = if approve {
        RequestStatus::Approved
    } else {
        RequestStatus::Rejected
    };
    let notes = body.notes.and_then(|n| n.non_blank());
    let tx = state.db.begin_write().await?;
    if !db::role_requests::decide(&tx, id, status.as_str(), actor.user_id, notes, now).await? {
        return Err(AppError::conflict(
            "request_not_pending",
            "the request was already decided",
        ));
    }
    if approve {
        let user: user::Model = db::find_for_update(&tx, "users", request.user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        if user.role != request.current_role {
            return Err(AppError::conflict(
                "role_changed",
                "the user's role changed since the request was made; reject it and let them ask again",
            ));
        }
        set_role(&tx, user, request.requested_role, now).await?;
    }
    let decided = db::role_requests::find(&tx, id)
        .await?
        .ok_or(AppError::NotFound("role-change request"))?;
    tx.commit().await?;
    Ok(decided)
}
