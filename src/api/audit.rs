//! The audit trail and login activity, for administrators. Read-only: no
//! route changes or deletes an audit event.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::ApiQuery;
use super::pagination::{Page, PageLinks, page_request};
use super::responses::ReadErrors;
use super::rules;
use crate::db::entities::{audit_event, login_activity};
use crate::db::{self, audit::AuditFilter, security::LoginActivityFilter};
use crate::error::AppResult;
use crate::state::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit_events))
        .routes(routes!(list_login_activity))
}

/// Whether access was granted.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Allowed,
    Denied,
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
        }
    }
}

/// Filters of the audit trail (combined with AND).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this user's events.
    pub actor: Option<Uuid>,
    /// Only events about objects of this type (`appointment`, `patient`, `setting`…).
    #[param(max_length = 64)]
    pub object_type: Option<String>,
    /// Only events about this object.
    #[param(max_length = 100)]
    pub object: Option<String>,
    /// Only events touching this patient's data.
    pub patient: Option<Uuid>,
    /// Only this action (`patient_read`, `appointment_create`…, `public`).
    #[param(max_length = 64)]
    pub action: Option<String>,
    pub outcome: Option<AuditOutcome>,
    /// From this instant: RFC 3339, or `YYYY-MM-DD` (00:00 UTC).
    #[param(schema_with = rules::date_or_instant)]
    pub from: Option<String>,
    /// Before this instant: RFC 3339, or `YYYY-MM-DD` (through that day, UTC).
    #[param(schema_with = rules::date_or_instant)]
    pub to: Option<String>,
    /// Page number, from 1.
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
}

/// The stored name of a serde enum value (`snake_case`).
fn name_of(value: impl Serialize) -> Option<String> {
    serde_json::to_value(value).ok()?.as_str().map(str::to_owned)
}

/// Search the audit trail, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit-events",
    tag = "audit",
    params(AuditQuery),
    responses((status = 200, description = "A page of events", body = Page<AuditEventOut>), ReadErrors),
    security(("bearer" = []))
)]
pub async fn list_audit_events(
    State(state): State<AppState>,
    links: PageLinks,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> AppResult<Json<Page<AuditEventOut>>> {
    let page = page_request(query.page, query.page_size)?;
    let filter = AuditFilter {
        actor: query.actor,
        object_type: rules::query_text("object_type", query.object_type, 64)?,
        object_id: rules::query_text("object", query.object, 100)?,
        patient: query.patient,
        action: rules::query_text("action", query.action, 64)?,
        outcome: query.outcome.and_then(name_of),
        from: query
            .from
            .as_deref()
            .map(|v| rules::instant("from", v, false))
            .transpose()?,
        to: query.to.as_deref().map(|v| rules::instant("to", v, true)).transpose()?,
    };
    let paged = db::audit::list(state.db.conn(), &filter, page).await?;
    Ok(Json(links.page(page, paged, AuditEventOut::from)))
}

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginOutcome {
    /// Logged in.
    Success,
    /// Wrong or unknown credentials, or a deactivated account.
    Failure,
    /// Refused because the account is locked (or this failure locked it).
    Locked,
    /// Refused because the address failed too often (429).
    Throttled,
    /// Password right; a second factor was asked for.
    MfaRequired,
    /// Wrong second factor.
    MfaFailure,
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

/// Filters of the login activity.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LoginActivityQuery {
    /// Only this user's attempts.
    pub user: Option<Uuid>,
    pub outcome: Option<LoginOutcome>,
    /// From this instant: RFC 3339, or `YYYY-MM-DD` (00:00 UTC).
    #[param(schema_with = rules::date_or_instant)]
    pub from: Option<String>,
    /// Before this instant: RFC 3339, or `YYYY-MM-DD` (through that day, UTC).
    #[param(schema_with = rules::date_or_instant)]
    pub to: Option<String>,
    /// Page number, from 1.
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
}

/// Every login attempt, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/login-activity",
    tag = "audit",
    params(LoginActivityQuery),
    responses((status = 200, description = "A page of login attempts", body = Page<LoginActivityOut>), ReadErrors),
    security(("bearer" = []))
)]
pub async fn list_login_activity(
    State(state): State<AppState>,
    links: PageLinks,
    ApiQuery(query): ApiQuery<LoginActivityQuery>,
) -> AppResult<Json<Page<LoginActivityOut>>> {
    let page = page_request(query.page, query.page_size)?;
    let filter = LoginActivityFilter {
        user: query.user,
        outcome: query.outcome.and_then(name_of),
        from: query
            .from
            .as_deref()
            .map(|v| rules::instant("from", v, false))
            .transpose()?,
        to: query.to.as_deref().map(|v| rules::instant("to", v, true)).transpose()?,
    };
    let paged = db::security::list_login_activity(state.db.conn(), &filter, page).await?;
    Ok(Json(links.page(page, paged, |row: login_activity::Model| {
        LoginActivityOut {
            id: row.id,
            user_id: row.user_id,
            at: row.at,
            ip: row.ip,
            user_agent: row.user_agent,
            outcome: row.outcome,
        }
    })))
}
