//! The HTTP API: one router per area, merged here with the OpenAPI document,
//! the fallbacks and the middleware every request passes through.

pub mod appointments;
pub mod auth;
pub mod doctors;
pub mod extract;
pub mod facilities;
pub mod health;
pub mod locations;
pub mod pagination;
pub mod patients;
pub mod responses;
pub mod rules;
pub mod schedules;
pub mod services;
pub mod specialties;
pub mod users;

use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::normalize_path::NormalizePath;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::error::{AppError, Problem, problem_response};
use crate::state::AppState;

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
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Sign-up, login and tokens"),
        (name = "users", description = "Staff accounts (admin)"),
        (name = "directory", description = "Locations, specialties, facilities, services and doctors"),
        (name = "patients", description = "Patient records"),
        (name = "schedules", description = "Working hours, time off and availability"),
        (name = "appointments", description = "Booking and the appointment lifecycle"),
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
        .merge(health::router())
        .merge(auth::router())
        .merge(users::router())
        .merge(locations::router())
        .merge(specialties::router())
        .merge(facilities::router())
        .merge(services::router())
        .merge(doctors::router())
        .merge(patients::router())
        .merge(schedules::router())
        .merge(appointments::router())
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The application: every route, the OpenAPI document at
/// `/api/v1/openapi.json`, problem-details fallbacks, body limits, request ids
/// and request logging. A trailing slash is ignored (`/x/` is `/x`).
pub fn app(state: AppState) -> NormalizePath<axum::Router> {
    let body_limit = state.config.body_limit;
    let (router, api) = routes().split_for_parts();
    let spec =
        axum::body::Bytes::from(serde_json::to_vec(&api).expect("the OpenAPI document serialises"));
    let router = router
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let spec = spec.clone();
                async move {
                    (
                        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                        spec,
                    )
                }
            }),
        )
        .route("/", get(index))
        .fallback(|| async { AppError::NotFound("resource") })
        .method_not_allowed_fallback(|| async { StatusCode::METHOD_NOT_ALLOWED })
        .with_state(state)
        .layer(middleware::from_fn(log_request))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(middleware::from_fn(problem_details))
        .layer(middleware::from_fn(crate::request_id::middleware));
    NormalizePath::trim_trailing_slash(router)
}

#[derive(Serialize)]
struct Index {
    name: &'static str,
    version: &'static str,
    openapi: &'static str,
    health: &'static str,
}

async fn index() -> Json<Index> {
    Json(Index {
        name: "Carebook",
        version: env!("CARGO_PKG_VERSION"),
        openapi: "/api/v1/openapi.json",
        health: "/health",
    })
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
        StatusCode::NOT_FOUND => AppError::NotFound("resource"),
        _ => AppError::Internal(anyhow::anyhow!("unexpected {status}")),
    };
    let mut problem: Problem = error.to_problem();
    problem.status = status.as_u16();
    problem.title = status.canonical_reason().unwrap_or("Error").to_owned();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        problem.detail =
            Some("the method is not allowed on this resource; see the Allow header".into());
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
pub fn created<T: Serialize>(
    location: String,
    body: T,
) -> (StatusCode, [(HeaderName, String); 1], Json<T>) {
    (StatusCode::CREATED, [(LOCATION, location)], Json(body))
}

/// A `204 No Content`.
pub fn no_content() -> Response {
    (StatusCode::NO_CONTENT, Body::empty()).into_response()
}
