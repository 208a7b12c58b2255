//! The audit trail and login activity, for administrators. Read-only: no
//! route changes or deletes an audit event.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::pagination::{ListQuery, Page, PageParams};
use super::responses::ReadErrors;
use crate::audit::{self, AuditQuery, LoginActivityQuery, LoginOutcome};
use crate::auth::policy::Action;
use crate::db::entities::{audit_event, login_activity};
use crate::error::AppResult;
use crate::state::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit_events))
        .routes(routes!(list_login_activity))
}

/// One audit event: who did or tried what to which object. Never the data itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventOut {
    pub id: Uuid,
    /// When (RFC 3339, UTC).
    pub at: DateTime<Utc>,
    /// The authenticated user (none when the request carried no valid token).
    pub actor_id: Option<Uuid>,
    /// Their role at the time.
    #[schema(example = "receptionist")]
    pub actor_role: Option<String>,
    /// The policy action (`appointment_cancel`), or `public` for operations without a token.
    #[schema(example = "appointment_cancel")]
    pub action: String,
    #[schema(example = "POST")]
    pub method: String,
    /// The route template.
    #[schema(example = "/api/v1/appointments/{id}/cancel")]
    pub route: String,
    #[schema(example = "appointment")]
    pub object_type: Option<String>,
    /// The object's id (a UUID, or a setting's key).
    pub object_id: Option<String>,
    /// The patient whose data was touched, when there was one.
    pub patient_id: Option<Uuid>,
    /// `denied` for 401, 403 and objects hidden from the actor (404).
    #[schema(example = "allowed")]
    pub outcome: String,
    /// The HTTP status answered.
    #[schema(example = 200)]
    pub status: i16,
    /// Client address.
    pub ip: Option<String>,
    /// The request id (`X-Request-Id`, the `instance` of problem documents).
    pub request_id: Option<String>,
    /// How many requests the event stands for: 1, or for unauthenticated
    /// denials (401) the further ones from its address in the same minute,
    /// aggregated into one event (its `at` the last of them, no request id).
    #[schema(example = 1, minimum = 1)]
    pub occurrences: i32,
}

impl From<audit_event::Model> for AuditEventOut {
    fn from(e: audit_event::Model) -> Self {
        AuditEventOut {
            id: e.id,
            at: e.at,
            actor_id: e.actor_id,
            actor_role: e.actor_role,
            action: e.action,
            method: e.method,
            route: e.route,
            object_type: e.object_type,
            object_id: e.object_id,
            patient_id: e.patient_id,
            outcome: e.outcome,
            status: e.status,
            ip: e.ip,
            request_id: e.request_id,
            occurrences: e.occurrences,
        }
    }
}

/// Search the audit trail, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit-events",
    tag = "audit",
    params(PageParams, AuditQuery),
    responses((status = 200, description = "A page of events", body = Page<AuditEventOut>), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::AuditRead)))
)]
pub async fn list_audit_events(
    State(state): State<AppState>,
    query: ListQuery<AuditQuery>,
) -> AppResult<Json<Page<AuditEventOut>>> {
    let events = audit::events(&state, &query.filter, query.page).await?;
    Ok(Json(query.page_of(events, AuditEventOut::from)))
}

/// One login attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginActivityOut {
    pub id: Uuid,
    /// The account, when the name matched one.
    pub user_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = LoginOutcome)]
    pub outcome: String,
}

impl From<login_activity::Model> for LoginActivityOut {
    fn from(row: login_activity::Model) -> Self {
        LoginActivityOut {
            id: row.id,
            user_id: row.user_id,
            at: row.at,
            ip: row.ip,
            user_agent: row.user_agent,
            outcome: row.outcome,
        }
    }
}

/// Every login attempt, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/login-activity",
    tag = "audit",
    params(PageParams, LoginActivityQuery),
    responses((status = 200, description = "A page of login attempts", body = Page<LoginActivityOut>), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::AuditRead)))
)]
pub async fn list_login_activity(
    State(state): State<AppState>,
    query: ListQuery<LoginActivityQuery>,
) -> AppResult<Json<Page<LoginActivityOut>>> {
    let attempts = audit::login_activity(&state, &query.filter, query.page).await?;
    Ok(Json(query.page_of(attempts, LoginActivityOut::from)))
}
