//! Which policy action guards each operation: the route table as data.
//!
//! Every route of the router is listed here, and a test checks the table,
//! the router and the OpenAPI document list the same operations. The
//! [`middleware`] enforces it on every request: public operations pass; the
//! others need a valid token (401) and a role with some scope for the action
//! (403). Handlers then decide about the object itself
//! ([`policy::authorize_object`](crate::auth::policy::authorize_object)).

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::Actor;
use crate::auth::policy::{Action, Scope, authorize, scope_of};
use crate::domain::Role;
use crate::error::AppError;
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
    (Method::GET, "/api/v1/users", Some(UserRead)),
    (Method::POST, "/api/v1/users", Some(UserCreate)),
    (Method::GET, "/api/v1/users/{id}", Some(UserRead)),
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
];

/// Routes served outside the API contract: the interactive documentation (HTML).
pub const UNDOCUMENTED_PREFIXES: &[&str] = &["/docs"];

/// The rule of an operation, if the table has one.
pub fn operation(method: &Method, path: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|(m, p, _)| m == method && *p == path)
}

/// Enforce the table: authenticate when the operation needs it and refuse
/// roles with no scope for its action. The actor is handed to the handler.
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
        None if UNDOCUMENTED_PREFIXES.iter().any(|p| route.starts_with(p)) => None,
        None => {
            return AppError::Internal(anyhow::anyhow!("{method} {route} has no access rule")).into_response();
        }
    };
    let Some(action) = action else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let actor = match Actor::from_request_parts(&mut parts, &state).await {
        Ok(actor) => actor,
        Err(err) => return err.into_response(),
    };
    if let Err(err) = authorize(&actor, action) {
        return err.into_response();
    }
    parts.extensions.insert(actor);
    next.run(Request::from_parts(parts, body)).await
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
