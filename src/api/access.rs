//! Who may call each operation, declared once beside its handler, and the
//! access check that enforces it.
//!
//! Every `#[utoipa::path]` carries `extensions(("x-access" = json!(…)))`:
//! a policy [`Action`] or [`PUBLIC`]. [`Operations`] is read from the OpenAPI
//! document the routers produce, so the access check, the idempotency
//! layer, the rate limits, the document's "Access" text and the
//! policy-matrix test all read the same declarations. An operation without
//! one stops the server at start.
//!
//! The [`middleware`] authenticates (401), asks the policy for the role's
//! scope and the account gates (403), hands the [`Actor`] to the handler,
//! and keeps the audit trail: a change's event commits with the change
//! ([`crate::db::Tx`]); reads of patient data, refusals and failed writes
//! are appended here once the answer is known — before an audited read is
//! answered (503 if that fails).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::{Operation as Documented, ParameterIn};

use super::extract::client_of;
use crate::auth::Actor;
use crate::auth::policy::{Action, Scope, admit, scope_of, two_factor_gate_applies};
use crate::db::audit;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The OpenAPI extension that declares an operation's access.
pub const EXTENSION: &str = "x-access";
/// The declaration of an operation anyone may call without a token.
pub const PUBLIC: &str = "public";
/// The request header of idempotent operations (see [`super::idempotency`]).
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Routes served outside the API contract: the interactive documentation (HTML).
pub const UNDOCUMENTED_PREFIXES: &[&str] = &["/docs"];

/// One operation as its declaration says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// `GET`, `POST`, …
    pub method: Method,
    /// The route template, OpenAPI syntax (`/api/v1/appointments/{id}`).
    pub path: String,
    /// The guarding action (`None`: public, no token needed).
    pub access: Option<Action>,
    /// Whether it honours `Idempotency-Key` (it documents the header).
    pub idempotent: bool,
    /// The status of a successful answer (the first 2xx it documents).
    pub success: u16,
    /// Its first tag (`auth`, `appointments`, …).
    pub tag: String,
    /// The type of object the route is about (`appointment`).
    pub object_type: Option<String>,
}

/// Every operation of the API, indexed by route template.
#[derive(Debug, Clone, Default)]
pub struct Operations {
    list: Vec<Operation>,
    index: HashMap<String, Vec<usize>>,
}

impl Operations {
    /// Read the declarations of `api`.
    ///
    /// Panics when an operation declares no access, or an unknown action:
    /// that is a bug the first test (or the first start) must show.
    pub fn from_openapi(api: &OpenApi) -> Operations {
        let mut list = Vec::new();
        for (path, item) in &api.paths.paths {
            let operations = [
                (Method::GET, &item.get),
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
            ];
            for (method, documented) in operations {
                if let Some(documented) = documented {
                    list.push(read_declaration(method, path, documented));
                }
            }
        }
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, op) in list.iter().enumerate() {
            index.entry(op.path.clone()).or_default().push(i);
        }
        Operations { list, index }
    }

    /// The operation `method` `route` (a template), if declared.
    pub fn get(&self, method: &Method, route: &str) -> Option<&Operation> {
        // HEAD is answered by the GET route.
        let method = if method == Method::HEAD { &Method::GET } else { method };
        let on_route = self.index.get(route)?;
        on_route.iter().map(|i| &self.list[*i]).find(|op| op.method == method)
    }

    /// Every operation, in document order.
    pub fn iter(&self) -> impl Iterator<Item = &Operation> {
        self.list.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

fn read_declaration(method: Method, path: &str, documented: &Documented) -> Operation {
    let declared = documented
        .extensions
        .as_ref()
        .and_then(|e| e.get(EXTENSION))
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("{method} {path} declares no access (extensions((\"{EXTENSION}\" = json!(…))))"));
    let access = match declared {
        PUBLIC => None,
        name => Some(Action::from_name(name).unwrap_or_else(|| panic!("{method} {path}: unknown action {name}"))),
    };
    let idempotent = documented.parameters.iter().flatten().any(|p| match p {
        utoipa::openapi::RefOr::T(p) => {
            matches!(p.parameter_in, ParameterIn::Header) && p.name.eq_ignore_ascii_case(IDEMPOTENCY_KEY)
        }
        utoipa::openapi::RefOr::Ref(_) => false,
    });
    let success = documented
        .responses
        .responses
        .keys()
        .filter_map(|code| code.parse::<u16>().ok())
        .find(|code| (200..300).contains(code))
        .unwrap_or(200);
    let tag = documented.tags.iter().flatten().next().cloned().unwrap_or_default();
    Operation {
        object_type: object_type(path),
        method,
        path: path.to_owned(),
        access,
        idempotent,
        success,
        tag,
    }
}

/// The type of object a route is about, singular snake case: the segment
/// before its last parameter, else its last segment
/// (`/api/v1/appointments/{id}/cancel` → `appointment`,
/// `/api/v1/doctors/{doctor_id}/working-hours/{id}` → `working_hours`).
pub fn object_type(route: &str) -> Option<String> {
    let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    let named = match segments.iter().rposition(|s| s.starts_with('{')) {
        Some(i) if i > 0 => Some(segments[i - 1]),
        _ => segments.iter().rev().find(|s| !s.is_empty()).copied(),
    };
    named.map(singular)
}

fn singular(segment: &str) -> String {
    let s = segment.replace('-', "_");
    match s.as_str() {
        "working_hours" | "time_off" | "availability" | "history" | "login_activity" | "access" => s,
        x if x.ends_with("ies") => format!("{}y", &x[..x.len() - 3]),
        x if x.ends_with('s') => x[..x.len() - 1].to_owned(),
        _ => s,
    }
}

/// The id a concrete path gives the route's object (the value of its last
/// parameter), when it has one of a sensible length.
fn object_id(route: &str, path: &str) -> Option<String> {
    let template: Vec<&str> = route.trim_matches('/').split('/').collect();
    let concrete: Vec<&str> = path.trim_matches('/').split('/').collect();
    let last = template.iter().rposition(|s| s.starts_with('{'))?;
    (concrete.len() == template.len() && concrete[last].len() <= 100).then(|| concrete[last].to_owned())
}

/// The state of the access check: the application state and the declarations.
#[derive(Clone)]
pub struct Gate {
    /// The application state.
    pub state: AppState,
    /// Every declared operation.
    pub operations: Arc<Operations>,
}

/// Enforce the declarations and keep the audit trail (see the module docs).
pub async fn middleware(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let Some(route) = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()) else {
        return next.run(request).await;
    };
    let Some(operation) = gate.operations.get(request.method(), &route) else {
        if UNDOCUMENTED_PREFIXES.iter().any(|p| route.starts_with(p)) {
            return next.run(request).await;
        }
        return AppError::Internal(anyhow::anyhow!("{} {route} declares no access", request.method())).into_response();
    };
    let state = &gate.state;
    let needs_database = !matches!(operation.tag.as_str(), "health" | "meta");
    if needs_database && state.db.is_down() {
        // Known down: answer at once rather than wait for the pool (nothing can be audited either).
        return AppError::Unavailable.into_response();
    }
    let (mut parts, body) = request.into_parts();
    let trail = trail_of(state, operation, &route, &parts);
    let access = operation.access;
    let (response, finished) = audit::scope(trail, async {
        if let Some(action) = access {
            match admit_caller(state, &mut parts, action).await {
                Ok(actor) => parts.extensions.insert(actor),
                Err(err) => return err.into_response(),
            };
        }
        next.run(Request::from_parts(parts, body)).await
    })
    .await;
    let status = response.status();
    if status == StatusCode::SERVICE_UNAVAILABLE && needs_database {
        state.db.suspect_outage();
        if state.db.is_down() {
            return response; // the event cannot be stored; do not wait for the pool again
        }
    }
    let denied = finished.denied() || matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
    let audited = !finished.written()
        && status != StatusCode::TOO_MANY_REQUESTS
        && (operation.method != Method::GET || denied || access.is_some_and(Action::audits_reads));
    if !audited {
        return response;
    }
    let events = finished.events(status.as_u16(), denied);
    let unauthenticated = status == StatusCode::UNAUTHORIZED && events.iter().all(|e| e.actor_id.is_none());
    if unauthenticated && !events.iter().all(|e| state.denials.first_of_minute(e)) {
        return response; // tallied, recorded with the minute's aggregate
    }
    if let Err(err) = state.db.record(events).await {
        tracing::error!(error = %err, "the audit event could not be stored");
        if operation.method == Method::GET {
            return AppError::Unavailable.into_response();
        }
    }
    response
}

/// What the audit trail knows of a request before it runs.
fn trail_of(state: &AppState, operation: &Operation, route: &str, parts: &Parts) -> audit::Request {
    let client = client_of(&parts.headers, &parts.extensions, &state.config.proxies);
    audit::Request {
        action: operation.access.map_or(PUBLIC, Action::name),
        method: operation.method.as_str().to_owned(),
        route: route.to_owned(),
        object_type: operation.object_type.clone(),
        object_id: object_id(route, parts.uri.path()),
        ip: client.ip,
        request_id: crate::request_id::current(),
        success_status: operation.success,
        clock: state.clock.clone(),
    }
}

/// Authenticate the caller (401) and pass them through the policy's scope
/// and account gates for `action` (403).
async fn admit_caller(state: &AppState, parts: &mut Parts, action: Action) -> AppResult<Actor> {
    let actor = Actor::from_request_parts(parts, state).await?;
    audit::set_actor(actor.user_id, actor.role.as_str());
    let require_2fa = two_factor_gate_applies(&actor) && state.settings().await?.flag("security.require_admin_2fa");
    admit(&actor, action, require_2fa)?;
    if action == Action::Profile {
        // A patient's own profile is their patient data.
        audit::note(actor.patient_id, false);
    }
    Ok(actor)
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

/// Append each operation's access rule to its description in `api`.
pub fn describe_all(api: &mut OpenApi, operations: &Operations) {
    for (path, item) in api.paths.paths.iter_mut() {
        let documented = [
            (Method::GET, &mut item.get),
            (Method::POST, &mut item.post),
            (Method::PUT, &mut item.put),
            (Method::PATCH, &mut item.patch),
            (Method::DELETE, &mut item.delete),
        ];
        for (method, documented) in documented {
            let Some(documented) = documented else { continue };
            let access = operations.get(&method, path).and_then(|op| op.access);
            let description = documented.description.get_or_insert_with(String::new);
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str(&describe(access));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_come_from_the_route() {
        let id = "0b7a4c2e-0000-4000-8000-000000000001";
        assert_eq!(
            object_type("/api/v1/appointments/{id}/cancel").as_deref(),
            Some("appointment")
        );
        assert_eq!(
            object_id(
                "/api/v1/appointments/{id}/cancel",
                &format!("/api/v1/appointments/{id}/cancel")
            )
            .as_deref(),
            Some(id)
        );
        assert_eq!(
            object_type("/api/v1/doctors/{doctor_id}/working-hours/{id}").as_deref(),
            Some("working_hours")
        );
        assert_eq!(object_type("/api/v1/patients").as_deref(), Some("patient"));
        assert_eq!(object_id("/api/v1/patients", "/api/v1/patients"), None);
        assert_eq!(
            object_id("/api/v1/settings/{key}", "/api/v1/settings/booking.horizon_days").as_deref(),
            Some("booking.horizon_days")
        );
        assert_eq!(singular("specialties"), "specialty");
        assert_eq!(singular("role-change-requests"), "role_change_request");
    }
}
