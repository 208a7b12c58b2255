//! Liveness and readiness, no authentication.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::access::PUBLIC;
use super::responses::PublicErrors;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Health status.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` for /health, `ready` for /ready.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(ready))
}

/// The process is up.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, description = "The process is up", body = Health)), extensions(("x-access" = json!(PUBLIC))))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database answers (within a second); 503 at once when it is known to
/// be down, or when it does not answer in time.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "health",
    responses((status = 200, description = "The database answers", body = Health), PublicErrors),
    extensions(("x-access" = json!(PUBLIC)))
)]
pub async fn ready(State(state): State<AppState>) -> AppResult<Json<Health>> {
    if !state.db.ready().await {
        return Err(AppError::Unavailable);
    }
    Ok(Json(Health { status: "ready" }))
}
