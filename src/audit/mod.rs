//! Reading the audit trail and the login activity, for administrators
//! (writing it is [`crate::db::audit`]'s, inside each change); the tally
//! that aggregates unauthenticated denials ([`db::audit::DenialTally`]). Nothing changes
//! an audit event, and the database refuses it too; only a recorded
//! retention purge deletes old ones ([`retention`]).

pub mod retention;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::entities::{audit_event, login_activity};
use crate::db::{self, PageRequest, Paged, audit::AuditFilter, security::LoginActivityFilter};
use crate::error::AppResult;
use crate::input::{self, QueryText};
use crate::state::AppState;

/// Whether access was granted.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Allowed,
    Denied,
}

/// Filters of the audit trail (combined with AND).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this user's events.
    pub actor: Option<Uuid>,
    /// Only events about objects of this type (`appointment`, `patient`, `setting`…).
    #[param(inline)]
    pub object_type: Option<QueryText<64>>,
    /// Only events about this object.
    #[param(inline)]
    pub object: Option<QueryText<100>>,
    /// Only events touching this patient's data.
    pub patient: Option<Uuid>,
    /// Only this action (`patient_read`, `appointment_create`…, `public`).
    #[param(inline)]
    pub action: Option<QueryText<64>>,
    #[param(inline)]
    pub outcome: Option<AuditOutcome>,
    /// From this instant: RFC 3339, or `YYYY-MM-DD` (00:00 UTC).
    #[param(schema_with = input::date_or_instant)]
    pub from: Option<String>,
    /// Before this instant: RFC 3339, or `YYYY-MM-DD` (through that day, UTC).
    #[param(schema_with = input::date_or_instant)]
    pub to: Option<String>,
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

/// Filters of the login activity.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LoginActivityQuery {
    /// Only this user's attempts.
    pub user: Option<Uuid>,
    pub outcome: Option<LoginOutcome>,
    /// From this instant: RFC 3339, or `YYYY-MM-DD` (00:00 UTC).
    #[param(schema_with = input::date_or_instant)]
    pub from: Option<String>,
    /// Before this instant: RFC 3339, or `YYYY-MM-DD` (through that day, UTC).
    #[param(schema_with = input::date_or_instant)]
    pub to: Option<String>,
}

/// The stored name of a serde enum value (`snake_case`).
fn name_of(value: impl Serialize) -> Option<String> {
    serde_json::to_value(value).ok()?.as_str().map(str::to_owned)
}

/// A page of the audit trail, newest first.
///
/// Errors: 400 naming `from` or `to` when they do not parse.
pub async fn events(state: &AppState, query: &AuditQuery, page: PageRequest) -> AppResult<Paged<audit_event::Model>> {
    let text = |value: &Option<QueryText<64>>| value.clone().map(QueryText::into_inner);
    let filter = AuditFilter {
        actor: query.actor,
        object_type: text(&query.object_type),
        object_id: query.object.clone().map(QueryText::into_inner),
        patient: query.patient,
        action: text(&query.action),
        outcome: query.outcome.and_then(name_of),
        period: input::period(query.from.as_deref(), query.to.as_deref())?,
    };
    Ok(db::audit::list(state.db.conn(), &filter, page).await?)
}

/// A page of login attempts, newest first.
///
/// Errors: 400 naming `from` or `to` when they do not parse.
pub async fn login_activity(
    state: &AppState,
    query: &LoginActivityQuery,
    page: PageRequest,
) -> AppResult<Paged<login_activity::Model>> {
    let filter = LoginActivityFilter {
        user: query.user,
        outcome: query.outcome.and_then(name_of),
        period: input::period(query.from.as_deref(), query.to.as_deref())?,
    };
    Ok(db::security::list_login_activity(state.db.conn(), &filter, page).await?)
}

/// Record the aggregated unauthenticated denials of the minutes that have
/// ended (of every minute with `all`, at shutdown); how many events.
///
/// Errors: the database refused them (they are lost; logged by the caller).
pub async fn flush_denials(state: &AppState, all: bool) -> AppResult<usize> {
    let events = state.denials.take(state.clock.now(), all);
    let count = events.len();
    state.db.record(events).await?;
    Ok(count)
}
