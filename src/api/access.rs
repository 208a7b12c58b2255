//! Which policy action guards each operation: the route table as data.
//!
//! Every route of the router is listed here, and a test checks the table,
//! the router and the OpenAPI document list the same operations. The
//! [`middleware`] enforces it on every request: public operations pass; the
//! others need a valid token (401) and a role with some scope for the action
//! (403). Handlers then decide about the object itself
//! ([`policy::authorize_object`](crate::auth::policy::authorize_object)).

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::header::LOCATION;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::extract::client_of;
use crate::audit;
use crate::auth::Actor;
use crate::auth::policy::{Action, Scope, authorize, scope_of};
use crate::db::{self, entities::audit_event};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// One operation: method, route template (OpenAPI syntax), and the action
/// that guards it (`None`: public, no token needed).
pub type Operation = (Method, &'static str, Option<Action>);

use Action::*;

/// Every operation of the API.
#[rustfmt::skip]
pub const OPERATIONS: &[Operation] = &[
    (Method::GET, "/", None),
    (Method::GET, "/health", None),
    (Method::GET, "/ready", None),
    (Method::GET, "/api/v1/openapi.json", None),
    (Method::GET, "/api/v1/openapi.yaml", None),
    (Method::POST, "/api/v1/auth/register", None),
    (Method::POST, "/api/v1/auth/login", None),
        (Method::POST, "/api/v1/auth/login/totp", None),
    (Method::POST, "/api/v1/auth/refresh", None),
    (Method::POST, "/api/v1/auth/verify", None),
    (Method::POST, "/api/v1/auth/logout", Some(Account)),
    (Method::POST, "/api/v1/auth/logout-all", Some(Account)),
    (Method::POST, "/api/v1/auth/change-password", Some(Account)),
    (Method::POST, "/api/v1/auth/totp/enrol", Some(Account)),
    (Method::POST, "/api/v1/auth/totp/confirm", Some(Account)),
    (Method::POST, "/api/v1/auth/totp/disable", Some(Account)),
        (Method::GET, "/api/v1/auth/me", Some(Account)),
    (Method::GET, "/api/v1/profile", Some(Profile)),
    (Method::PATCH, "/api/v1/profile", Some(Profile)),
    (Method::GET, "/api/v1/profile/preferences", Some(Profile)),
    (Method::PUT, "/api/v1/profile/preferences", Some(Profile)),
    (Method::GET, "/api/v1/profile/image", Some(Profile)),
    (Method::POST, "/api/v1/profile/image", Some(Profile)),
    (Method::DELETE, "/api/v1/profile/image", Some(Profile)),
    (Method::GET, "/api/v1/users", Some(UserRead)),
    (Method::POST, "/api/v1/users", Some(UserCreate)),
        (Method::GET, "/api/v1/users/{id}", Some(UserRead)),
    (Method::PATCH, "/api/v1/users/{id}", Some(UserUpdate)),
    (Method::POST, "/api/v1/users/{id}/deactivate", Some(UserUpdate)),
    (Method::POST, "/api/v1/users/{id}/reactivate", Some(UserUpdate)),
    (Method::POST, "/api/v1/users/{id}/reset-password", Some(UserUpdate)),
        (Method::PUT, "/api/v1/users/{id}/role", Some(UserUpdate)),
    (Method::GET, "/api/v1/role-change-requests", Some(RoleRequestRead)),
    (Method::POST, "/api/v1/role-change-requests", Some(RoleRequestCreate)),
    (Method::GET, "/api/v1/role-change-requests/{id}", Some(RoleRequestRead)),
    (Method::POST, "/api/v1/role-change-requests/{id}/approve", Some(RoleRequestReview)),
    (Method::POST, "/api/v1/role-change-requests/{id}/reject", Some(RoleRequestReview)),
    (Method::GET, "/api/v1/locations", Some(DirectoryRead)),
    (Method::POST, "/api/v1/locations", Some(DirectoryWrite)),
    (Method::GET, "/api/v1/locations/{id}", Some(DirectoryRead)),
    (Method::PATCH, "/api/v1/locations/{id}", Some(DirectoryWrite)),
    (Method::DELETE, "/api/v1/locations/{id}", Some(DirectoryWrite)),
    (Method::GET, "/api/v1/specialties", Some(DirectoryRead)),
    (Method::POST, "/api/v1/specialties", Some(DirectoryWrite)),
    (Method::GET, "/api/v1/specialties/{id}", Some(DirectoryRead)),
    (Method::PATCH, "/api/v1/specialties/{id}", Some(DirectoryWrite)),
    (Method::DELETE, "/api/v1/specialties/{id}", Some(DirectoryWrite)),
    (Method::GET, "/api/v1/facilities", Some(DirectoryRead)),
    (Method::POST, "/api/v1/facilities", Some(DirectoryWrite)),
    (Method::GET, "/api/v1/facilities/{id}", Some(DirectoryRead)),
    (Method::PATCH, "/api/v1/facilities/{id}", Some(DirectoryWrite)),
    (Method::DELETE, "/api/v1/facilities/{id}", Some(DirectoryWrite)),
    (Method::GET, "/api/v1/services", Some(DirectoryRead)),
    (Method::POST, "/api/v1/services", Some(DirectoryWrite)),
    (Method::GET, "/api/v1/services/{id}", Some(DirectoryRead)),
    (Method::PATCH, "/api/v1/services/{id}", Some(DirectoryWrite)),
    (Method::DELETE, "/api/v1/services/{id}", Some(DirectoryWrite)),
    (Method::GET, "/api/v1/doctors", Some(DirectoryRead)),
    (Method::POST, "/api/v1/doctors", Some(DirectoryWrite)),
    (Method::GET, "/api/v1/doctors/{id}", Some(DirectoryRead)),
    (Method::PATCH, "/api/v1/doctors/{id}", Some(DirectoryWrite)),
    (Method::DELETE, "/api/v1/doctors/{id}", Some(DirectoryWrite)),
    (Method::GET, "/api/v1/doctors/{doctor_id}/working-hours", Some(ScheduleRead)),
    (Method::POST, "/api/v1/doctors/{doctor_id}/working-hours", Some(ScheduleWrite)),
    (Method::POST, "/api/v1/doctors/{doctor_id}/working-hours/bulk", Some(ScheduleWrite)),
    (Method::GET, "/api/v1/doctors/{doctor_id}/working-hours/{id}", Some(ScheduleRead)),
    (Method::PUT, "/api/v1/doctors/{doctor_id}/working-hours/{id}", Some(ScheduleWrite)),
    (Method::DELETE, "/api/v1/doctors/{doctor_id}/working-hours/{id}", Some(ScheduleWrite)),
    (Method::GET, "/api/v1/doctors/{doctor_id}/time-off", Some(ScheduleRead)),
    (Method::POST, "/api/v1/doctors/{doctor_id}/time-off", Some(ScheduleWrite)),
    (Method::DELETE, "/api/v1/doctors/{doctor_id}/time-off/{id}", Some(ScheduleWrite)),
    (Method::GET, "/api/v1/doctors/{doctor_id}/availability", Some(AvailabilityRead)),
    (Method::GET, "/api/v1/patients", Some(PatientRead)),
    (Method::POST, "/api/v1/patients", Some(PatientCreate)),
    (Method::GET, "/api/v1/patients/{id}", Some(PatientRead)),
        (Method::PATCH, "/api/v1/patients/{id}", Some(PatientUpdate)),
    (Method::POST, "/api/v1/patients/{id}/account", Some(PatientAccountCreate)),
    (Method::GET, "/api/v1/appointments", Some(AppointmentRead)),
    (Method::POST, "/api/v1/appointments", Some(AppointmentCreate)),
    (Method::GET, "/api/v1/appointments/{id}", Some(AppointmentRead)),
    (Method::POST, "/api/v1/appointments/{id}/confirm", Some(AppointmentConfirm)),
    (Method::POST, "/api/v1/appointments/{id}/check-in", Some(AppointmentCheckIn)),
    (Method::POST, "/api/v1/appointments/{id}/start", Some(AppointmentStart)),
    (Method::POST, "/api/v1/appointments/{id}/complete", Some(AppointmentComplete)),
    (Method::POST, "/api/v1/appointments/{id}/no-show", Some(AppointmentNoShow)),
    (Method::POST, "/api/v1/appointments/{id}/cancel", Some(AppointmentCancel)),
    (Method::POST, "/api/v1/appointments/{id}/reschedule", Some(AppointmentReschedule)),
        (Method::GET, "/api/v1/appointments/{id}/history", Some(AppointmentRead)),
    (Method::GET, "/api/v1/audit-events", Some(AuditRead)),
        (Method::GET, "/api/v1/login-activity", Some(AuditRead)),
    (Method::GET, "/api/v1/settings", Some(SettingsRead)),
    (Method::GET, "/api/v1/settings/public", None),
    (Method::GET, "/api/v1/settings/{key}", Some(SettingsRead)),
    (Method::PUT, "/api/v1/settings/{key}", Some(SettingsWrite)),
    (Method::DELETE, "/api/v1/settings/{key}", Some(SettingsWrite)),
];

/// Routes served outside the API contract: the interactive documentation (HTML).
pub const UNDOCUMENTED_PREFIXES: &[&str] = &["/docs"];

/// The rule of an operation, if the table has one.
pub fn operation(method: &Method, path: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|(m, p, _)| m == method && *p == path)
}

/// Enforce the table and keep the audit trail.
///
/// Authenticates when the operation needs it (401), refuses roles with no
/// scope for its action (403), and holds accounts that must first change
/// their password or enrol in two-factor authentication to their own
/// account operations (403 naming the rule). The actor is handed to the
/// handler. Afterwards one audit event is appended for every write, every
/// read through an audited action and every denied attempt; when that
/// append fails a read is answered 503 instead of disclosing unaudited data.
pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(route) = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()) else {
        return next.run(request).await;
    };
    let method = if request.method() == Method::HEAD {
        Method::GET
    } else {
        request.method().clone()
    };
    let action = match operation(&method, &route) {
        Some((_, _, action)) => *action,
        None if UNDOCUMENTED_PREFIXES.iter().any(|p| route.starts_with(p)) => return next.run(request).await,
        None => {
            return AppError::Internal(anyhow::anyhow!("{method} {route} has no access rule")).into_response();
        }
    };
    let (mut parts, body) = request.into_parts();
    let client = client_of(&parts.headers, &parts.extensions, state.config.trust_proxy);
    let path = parts.uri.path().to_owned();
    let ((actor, response), note) = audit::scope(async {
        let actor = match action {
            None => None,
            Some(action) => {
                let actor = match Actor::from_request_parts(&mut parts, &state).await {
                    Ok(actor) => actor,
                    Err(err) => return (None, err.into_response()),
                };
                if let Err(err) = admit(&state, &actor, action).await {
                    return (Some(actor), err.into_response());
                }
                Some(actor)
            }
        };
        if let Some(actor) = &actor {
            parts.extensions.insert(actor.clone());
        }
        (actor, next.run(Request::from_parts(parts, body)).await)
    })
    .await;
    let status = response.status();
    let denied = note.denied || matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
    let audited = status != StatusCode::TOO_MANY_REQUESTS
        && (method != Method::GET || denied || action.is_some_and(Action::audits_reads));
    if !audited {
        return response;
    }
    let location = response.headers().get(LOCATION).and_then(|v| v.to_str().ok());
    let (object_type, object_id) = audit::object_of(&route, &path, location);
    // A patient record touched without an object decision (e.g. linking an account) is still named.
    let patient_id = note.patient_id.or_else(|| {
        (object_type.as_deref() == Some("patient"))
            .then(|| object_id.as_deref().and_then(|id| id.parse().ok()))
            .flatten()
    });
    let event = audit_event::Model {
        id: Uuid::now_v7(),
        at: state.clock.now(),
        actor_id: actor.as_ref().map(|a| a.user_id),
        actor_role: actor.as_ref().map(|a| a.role.as_str().to_owned()),
        action: action.map_or_else(|| "public".to_owned(), Action::name),
        method: method.as_str().to_owned(),
        route,
        object_type,
        object_id,
        patient_id,
        outcome: if denied { "denied" } else { "allowed" }.to_owned(),
        status: i16::try_from(status.as_u16()).unwrap_or(i16::MAX),
        ip: client.ip,
        request_id: crate::request_id::current(),
    };
    if let Err(err) = db::audit::insert(state.db.conn(), event).await {
        tracing::error!(error = %err, "the audit event could not be stored");
        if method == Method::GET {
            return AppError::Unavailable.into_response();
        }
    }
    response
}

/// May the authenticated `actor` call an operation guarded by `action`?
async fn admit(state: &AppState, actor: &Actor, action: Action) -> AppResult<()> {
    authorize(actor, action)?;
    if action == Action::Account {
        return Ok(());
    }
    if actor.must_change_password {
        return Err(AppError::Blocked {
            rule: "password_change_required",
            detail: "an administrator reset this password: change it first (POST /api/v1/auth/change-password)".into(),
        });
    }
    if actor.role == Role::Admin && !actor.totp_enabled && state.settings().await?.flag("security.require_admin_2fa") {
        return Err(AppError::Blocked {
            rule: "two_factor_required",
            detail: "administrators must use two-factor authentication: enrol first (POST /api/v1/auth/totp/enrol)"
                .into(),
        });
    }
    Ok(())
}

/// "Who may call" for an action, from the policy matrix.
pub fn describe(action: Option<Action>) -> String {
    let Some(action) = action else {
        return "**Access:** public; no token needed.".into();
    };
    let roles: Vec<String> = Role::ALL
        .iter()
        .filter_map(|role| match scope_of(*role, action) {
            Scope::None => None,
            Scope::All => Some(role.as_str().to_owned()),
            Scope::Own => Some(format!("{} (own)", role.as_str())),
            Scope::Facility => Some(format!("{} (own facility)", role.as_str())),
        })
        .collect();
    format!("**Access:** {}. Other roles get 403.", roles.join(", "))
}
