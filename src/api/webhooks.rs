//! Webhook endpoints over HTTP, for administrators (see [`crate::notifications::webhooks`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use super::extract::{ApiJson, ApiPath};
use super::jobs::DeliveryOut;
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::error::AppResult;
use crate::notifications::webhooks::{self, Endpoint, WebhookEvent, WebhookIn};
use crate::state::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, delete_webhook))
}

/// A webhook endpoint (its secret is shown only when it is created).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub description: String,
    /// Deactivated endpoints receive nothing.
    pub active: bool,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Endpoint> for WebhookOut {
    fn from(e: Endpoint) -> Self {
        WebhookOut {
            id: e.row.id,
            url: e.row.url,
            events: e.events,
            description: e.row.description,
            active: e.row.active,
            created_by: e.row.created_by,
            created_at: e.row.created_at,
            updated_at: e.row.updated_at,
        }
    }
}

/// A new endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookCreatedOut {
    #[serde(flatten)]
    pub webhook: WebhookOut,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
}

/// An endpoint and its latest 50 deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDetailOut {
    #[serde(flatten)]
    pub webhook: WebhookOut,
    pub deliveries: Vec<DeliveryOut>,
}

/// The endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookListOut {
    pub count: usize,
    pub results: Vec<WebhookOut>,
}

/// Register an endpoint for appointment events. Each event is POSTed as
/// JSON `{"type", "timestamp", "data"}`, signed with the `whsec_` secret of
/// the answer (Standard Webhooks headers `webhook-id`, `webhook-timestamp`,
/// `webhook-signature`), and retried with backoff until it is answered 2xx.
/// 422 for a URL that is not http(s) or points inside the network.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    request_body = WebhookIn,
    responses((status = 201, description = "Registered", body = WebhookCreatedOut,
        headers(("Location" = String, description = "The new endpoint"))), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::WebhookWrite)))
)]
pub async fn create_webhook(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<WebhookIn>,
) -> AppResult<impl IntoResponse> {
    let (endpoint, secret) = webhooks::create(&state, &actor, body).await?;
    let webhook = WebhookOut::from(endpoint);
    Ok(created(
        format!("/api/v1/webhooks/{}", webhook.id),
        WebhookCreatedOut { webhook, secret },
    ))
}

/// Every endpoint, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    responses((status = 200, description = "The endpoints", body = WebhookListOut), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::WebhookRead)))
)]
pub async fn list_webhooks(State(state): State<AppState>, actor: Actor) -> AppResult<Json<WebhookListOut>> {
    let results: Vec<WebhookOut> = webhooks::list(&state, &actor)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(WebhookListOut {
        count: results.len(),
        results,
    }))
}

/// One endpoint with its latest deliveries (URL, event, message id, HTTP answer).
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses((status = 200, description = "The endpoint", body = WebhookDetailOut), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::WebhookRead)))
)]
pub async fn get_webhook(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<WebhookDetailOut>> {
    let (endpoint, deliveries) = webhooks::get(&state, &actor, id).await?;
    Ok(Json(WebhookDetailOut {
        webhook: endpoint.into(),
        deliveries: deliveries.into_iter().map(DeliveryOut::from).collect(),
    }))
}

/// Deactivate an endpoint (kept, with its delivery log; it receives nothing more).
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses((status = 204, description = "Deactivated"), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::WebhookWrite)))
)]
pub async fn delete_webhook(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    webhooks::deactivate(&state, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
