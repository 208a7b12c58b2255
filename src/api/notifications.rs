//! One's own in-app notifications over HTTP (see [`crate::notifications`]).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::ApiPath;
use super::pagination::{ListQuery, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::db::entities::notification;
use crate::error::AppResult;
use crate::notifications::{self, NotificationQuery};
use crate::state::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(read_notification))
        .routes(routes!(read_all_notifications))
}

/// An in-app notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationOut {
    pub id: Uuid,
    /// What happened: `appointment_booked`, `appointment_rescheduled`,
    /// `appointment_cancelled`, `appointment_confirmed`, `appointment_reminder`,
    /// `patient_checked_in`, `walk_in_registered`, `role_request`.
    #[schema(example = "appointment_booked")]
    pub kind: String,
    pub title: String,
    pub message: String,
    /// The appointment it is about, if any.
    pub appointment_id: Option<Uuid>,
    /// Whether it was read, and when (RFC 3339).
    pub read: bool,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<notification::Model> for NotificationOut {
    fn from(n: notification::Model) -> Self {
        NotificationOut {
            id: n.id,
            kind: n.kind,
            title: n.title,
            message: n.message,
            appointment_id: n.appointment_id,
            read: n.read_at.is_some(),
            read_at: n.read_at,
            created_at: n.created_at,
        }
    }
}

/// A page of one's notifications, with the unread count beside the total.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    /// Notifications in the whole list.
    pub count: u64,
    /// Of all one's notifications, how many are unread.
    pub unread_count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<NotificationOut>,
}

/// How many were marked read.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedOut {
    pub marked: u64,
}

/// One's own notifications: unread first, then newest first.
#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    tag = "notifications",
    params(PageParams, NotificationQuery),
    responses((status = 200, description = "A page of notifications", body = NotificationPage), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Notifications)))
)]
pub async fn list_notifications(
    State(state): State<AppState>,
    actor: Actor,
    query: ListQuery<NotificationQuery>,
) -> AppResult<Json<NotificationPage>> {
    let (found, unread_count) = notifications::list(&state, &actor, &query.filter, query.page).await?;
    let page = query.page_of(found, NotificationOut::from);
    Ok(Json(NotificationPage {
        count: page.count,
        unread_count,
        next: page.next,
        previous: page.previous,
        results: page.results,
    }))
}

/// Mark one of one's notifications read (again: no change). 404 for
/// someone else's.
#[utoipa::path(
    post,
    path = "/api/v1/notifications/{id}/read",
    tag = "notifications",
    params(("id" = Uuid, Path, description = "Notification id")),
    responses((status = 200, description = "Read", body = NotificationOut), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Notifications)))
)]
pub async fn read_notification(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<NotificationOut>> {
    Ok(Json(notifications::read(&state, &actor, id).await?.into()))
}

/// Mark all of one's notifications read.
#[utoipa::path(
    post,
    path = "/api/v1/notifications/read-all",
    tag = "notifications",
    responses((status = 200, description = "Marked", body = MarkedOut), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Notifications)))
)]
pub async fn read_all_notifications(State(state): State<AppState>, actor: Actor) -> AppResult<Json<MarkedOut>> {
    let marked = notifications::read_all(&state, &actor).await?;
    Ok(Json(MarkedOut { marked }))
}
