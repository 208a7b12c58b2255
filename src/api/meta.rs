//! The API about itself: an index and the OpenAPI document (JSON and YAML).

use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::access::PUBLIC;
use crate::state::AppState;

/// The OpenAPI document, serialised once at start.
#[derive(Debug, Clone)]
pub struct Spec {
    /// As JSON.
    pub json: Bytes,
    /// As YAML.
    pub yaml: Bytes,
}

/// Where to go from here.
#[derive(Debug, Serialize, ToSchema)]
pub struct Index {
    #[schema(example = "Carebook")]
    pub name: &'static str,
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    /// The OpenAPI 3.1 document.
    #[schema(example = "/api/v1/openapi.json")]
    pub openapi: &'static str,
    /// Interactive documentation (Swagger UI, works offline).
    #[schema(example = "/docs/")]
    pub docs: &'static str,
    #[schema(example = "/health")]
    pub health: &'static str,
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(index))
        .routes(routes!(openapi_json))
        .routes(routes!(openapi_yaml))
}

/// Links to the documentation and health checks.
#[utoipa::path(get, path = "/", tag = "meta", responses((status = 200, description = "Where to go from here", body = Index)), extensions(("x-access" = json!(PUBLIC))))]
pub async fn index() -> Json<Index> {
    Json(Index {
        name: "Carebook",
        version: env!("CARGO_PKG_VERSION"),
        openapi: "/api/v1/openapi.json",
        docs: "/docs/",
        health: "/health",
    })
}

/// This OpenAPI 3.1 document, as JSON.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)),
    extensions(("x-access" = json!(PUBLIC)))
)]
pub async fn openapi_json(Extension(spec): Extension<Arc<Spec>>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        spec.json.clone(),
    )
}

/// This OpenAPI 3.1 document, as YAML.
#[utoipa::path(get, path = "/api/v1/openapi.yaml", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/yaml", body = Object)),
    extensions(("x-access" = json!(PUBLIC)))
)]
pub async fn openapi_yaml(Extension(spec): Extension<Arc<Spec>>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/yaml"))],
        spec.yaml.clone(),
    )
}
