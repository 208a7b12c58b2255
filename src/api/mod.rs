//! The HTTP API: one router per area, merged here with the OpenAPI document,
//! the fallbacks and the middleware every request passes through.

pub mod access;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod calendars;
pub mod conditional;
pub mod consultations;
pub mod diagnoses;
pub mod diagnosis_codes;
pub mod directory;
pub mod doctors;
pub mod extract;
pub mod fhir;
pub mod health;
pub mod idempotency;
pub mod jobs;
pub mod meta;
pub mod notifications;
pub mod pagination;
pub mod patients;
pub mod pharmacy;
pub mod prescriptions;
pub mod profile;
pub mod reports;
pub mod responses;
pub mod role_requests;
pub mod schedules;
pub mod settings;
pub mod telemedicine;
pub mod transport;
pub mod users;
pub mod vital_signs;
pub mod webhooks;

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use tower::ServiceBuilder;
use tower::util::MapRequest;
use tower::util::option_layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyDeadlineLayer, TimeoutLayer};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::error::{AppError, Problem, problem_response};
use crate::state::AppState;
use access::Operations;

/// The OpenAPI document's fixed parts; paths come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Carebook API",
        description = "Book and run medical appointments. Errors are RFC 9457 problem details; \
                       instants are RFC 3339 in UTC; lists are paginated (`count`, `next`, `previous`, `results`).",
        license(name = "MIT")
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem)),
    tags(
        (name = "meta", description = "This document and where to find things"),
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Sign-up, login and tokens"),
                (name = "users", description = "Accounts, roles and role-change requests"),
        (name = "profile", description = "One's own profile, preferences and image"),
        (name = "directory", description = "Locations, specialties, facilities, services and doctors"),
        (name = "patients", description = "Patient records"),
        (name = "clinical", description = "Clinical records: consultations, vital signs, diagnoses (ICD-10-CM), prescriptions, notes"),
        (name = "pharmacy", description = "The medication catalogue, stock lots, the stock ledger and dispensing"),
        (name = "billing", description = "Bills, payments and refunds, in minor units of the facility's currency"),
        (name = "schedules", description = "Working hours, time off and availability"),
                (name = "appointments", description = "Booking and the appointment lifecycle"),
                (name = "audit", description = "The audit trail and login activity (admin)"),
        (name = "notifications", description = "One's own in-app notifications"),
        (name = "jobs", description = "The background job queue and its delivery log (admin)"),
        (name = "webhooks", description = "Signed appointment events to registered endpoints (admin)"),
        (name = "settings", description = "System settings"),
        (name = "reports", description = "Reports and exports: JSON, CSV, XLSX and PDF of one table"),
        (name = "fhir", description = "The FHIR R4 face (application/fhir+json; errors are OperationOutcomes)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Every route with its documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(meta::router())
        .merge(health::router())
        .merge(auth::router())
        .merge(users::router())
        .merge(role_requests::router())
        .merge(profile::router())
        .merge(directory::router())
        .merge(doctors::router())
        .merge(patients::router())
        .merge(diagnosis_codes::router())
        .merge(consultations::router())
        .merge(vital_signs::router())
        .merge(diagnoses::router())
        .merge(prescriptions::router())
        .merge(pharmacy::router())
        .merge(billing::router())
        .merge(schedules::router())
        .merge(appointments::router())
        .merge(telemedicine::router())
        .merge(notifications::router())
        .merge(calendars::router())
        .merge(jobs::router())
        .merge(webhooks::router())
        .merge(reports::router())
        .merge(audit::router())
        .merge(settings::router())
        .merge(fhir::router())
}

/// The router and the OpenAPI document of every route, the document with
/// each operation's access rule (its declaration and the policy matrix) in
/// its description, and the declarations read from it.
pub fn contract() -> (axum::Router<AppState>, utoipa::openapi::OpenApi, Operations) {
    let (router, mut api) = routes().split_for_parts();
    let operations = Operations::from_openapi(&api);
    access::describe_all(&mut api, &operations);
    reports::describe_columns(&mut api);
    (router, api, operations)
}

/// The OpenAPI document (see [`contract`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    contract().1
}

/// Every declared operation (see [`access::Operations`]).
pub fn operations() -> Operations {
    contract().2
}

/// The concrete type of the application service.
pub type App = MapRequest<axum::Router, fn(Request) -> Request>;

/// The application: every route, the OpenAPI document (`/api/v1/openapi.json`,
/// `.yaml`), Swagger UI at `/docs/`, problem-details fallbacks, the access
/// check, body limits, request ids and request logging. A trailing slash is
/// ignored (`/x/` is `/x`).
pub fn app(state: AppState) -> App {
    let body_limit = state.config.body_limit;
    let request_timeout = state.config.connections.request_timeout;
    let (router, api, operations) = contract();
    let operations = Arc::new(operations);
    let gate = access::Gate {
        state: state.clone(),
        operations: operations.clone(),
    };
    let transport = transport::Transport {
        limits: Arc::new(transport::RateLimits::new(&state.config)),
        proxies: state.config.proxies.clone(),
        operations,
        hsts: state.config.hsts,
    };
    let spec = Arc::new(meta::Spec {
        json: Bytes::from(serde_json::to_vec(&api).expect("the OpenAPI document serialises")),
        yaml: Bytes::from(api.to_yaml().expect("the OpenAPI document serialises").into_bytes()),
    });
    let capability = Arc::new(fhir::Capability::of(&api, &state));
    let docs = SwaggerUi::new("/docs").config(SwaggerConfig::new(["/api/v1/openapi.json"]));
    let router = router
        .merge(docs)
        // Route layers run last-added first: the access check, then idempotency.
        .route_layer(middleware::from_fn_with_state(gate.clone(), idempotency::middleware))
        .route_layer(middleware::from_fn_with_state(gate, access::middleware))
        .fallback(|| async { AppError::NotFound("resource") })
        .method_not_allowed_fallback(|| async { StatusCode::METHOD_NOT_ALLOWED })
        .with_state(state.clone())
        .layer(Extension(spec))
        .layer(Extension(capability))
        .layer(middleware::from_fn(log_request))
        .layer(CatchPanicLayer::custom(panic_response))
        // A request not answered in time, its body included, is 408 (its transaction rolls back).
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(RequestBodyDeadlineLayer::new(request_timeout))
        .layer(DefaultBodyLimit::max(body_limit))
        // The image upload has a larger limit of its own (DefaultBodyLimit on its route).
        .layer(RequestBodyLimitLayer::new(body_limit.max(profile::UPLOAD_BODY_LIMIT)))
        .layer(middleware::from_fn_with_state(transport.clone(), transport::rate_limit))
        .layer(middleware::from_fn(problem_details))
        .layer(middleware::from_fn(fhir::outcomes))
        .layer(option_layer(transport::cors(&state.config)))
        .layer(middleware::from_fn_with_state(transport, transport::security_headers))
        .layer(middleware::from_fn(crate::request_id::middleware));
    ServiceBuilder::new()
        .map_request(trim_trailing_slash as fn(Request) -> Request)
        .service(router)
}

/// `/x/` is `/x` (the seeds' clients send the slash); Swagger UI keeps its own.
fn trim_trailing_slash(mut request: Request) -> Request {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/docs") {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let new = match request.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = new.parse() {
            *request.uri_mut() = uri;
        }
    }
    request
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    AppError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
}

/// Log one line per request: method, route template (never the concrete path
/// or query, which can carry identifiers and search terms), status, latency.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "-".to_owned());
    let response = next.run(request).await;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Any error response that is not already a problem document (the router's
/// 405, the body limit's 413, …) becomes one, keeping its status and headers.
async fn problem_details(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        StatusCode::REQUEST_TIMEOUT => AppError::RequestTimeout,
        StatusCode::NOT_FOUND => AppError::NotFound("resource"),
        _ => AppError::Internal(anyhow::anyhow!("unexpected {status}")),
    };
    let mut problem: Problem = error.to_problem();
    problem.status = status.as_u16();
    problem.title = status.canonical_reason().unwrap_or("Error").to_owned();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        problem.detail = Some("the method is not allowed on this resource; see the Allow header".into());
    }
    problem.instance = crate::request_id::current().map(|id| format!("urn:carebook:request:{id}"));
    let fresh = problem_response(&problem);
    parts.headers.remove(CONTENT_TYPE);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let (fresh_parts, body) = fresh.into_parts();
    parts.headers.extend(fresh_parts.headers);
    Response::from_parts(parts, body)
}

/// A `201 Created` with `Location` and a JSON body.
pub fn created<T: Serialize>(location: String, body: T) -> (StatusCode, [(HeaderName, String); 1], Json<T>) {
    (StatusCode::CREATED, [(LOCATION, location)], Json(body))
}

/// A `204 No Content`.
pub fn no_content() -> Response {
    (StatusCode::NO_CONTENT, Body::empty()).into_response()
}
