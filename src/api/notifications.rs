//! One's own in-app notifications over HTTP (see [`crate::notifications`]).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::ApiPath;
use super::pagination::{ListQuery, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::db::entities::notification;
use crate::db::live::Signal;
use crate::db::notifications::BoardEvent;
use crate::error::AppResult;
use crate::notifications::stream::{BoardFeed, UserFeed};
use crate::notifications::{self, NotificationQuery};
use crate::state::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(read_notification))
        .routes(routes!(read_all_notifications))
        .routes(routes!(notification_stream))
        .routes(routes!(day_board_stream))
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

/// How often an idle stream sends a heartbeat comment.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// A feed a live stream reads from when a signal concerns it.
#[async_trait::async_trait]
trait Feed: Send + 'static {
    /// Whether `signal` may mean something new for this feed.
    fn concerns(&self, signal: Signal) -> bool;
    /// What is new, as server-sent events.
    async fn read(&mut self, state: &AppState) -> AppResult<Vec<Event>>;
}

#[async_trait::async_trait]
impl Feed for UserFeed {
    fn concerns(&self, signal: Signal) -> bool {
        signal.concerns_user(self.user())
    }

    async fn read(&mut self, state: &AppState) -> AppResult<Vec<Event>> {
        let new = UserFeed::read(self, state).await?;
        Ok(new
            .into_iter()
            .map(|n| {
                let id = n.id.to_string();
                Event::default()
                    .event("notification")
                    .id(id)
                    .json_data(NotificationOut::from(n))
                    .unwrap_or_default()
            })
            .collect())
    }
}

#[async_trait::async_trait]
impl Feed for BoardFeed {
    fn concerns(&self, signal: Signal) -> bool {
        signal.concerns_facility(self.facility())
    }

    async fn read(&mut self, state: &AppState) -> AppResult<Vec<Event>> {
        let new = BoardFeed::read(self, state).await?;
        Ok(new
            .into_iter()
            .map(|e| {
                let (id, name) = (e.id.to_string(), format!("appointment.{}", e.action));
                Event::default()
                    .event(name)
                    .id(id)
                    .json_data(BoardEventOut::from(e))
                    .unwrap_or_default()
            })
            .collect())
    }
}

/// The stream of a feed: what it has at once, then what each signal that
/// concerns it brings; heartbeats while idle.
fn live(state: AppState, feed: impl Feed) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribed before the first read, so nothing falls between them.
    let signals = state.db.live().subscribe();
    let start = (state, feed, signals, VecDeque::<Event>::new(), false);
    let events = futures_util::stream::unfold(
        start,
        |(state, mut feed, mut signals, mut pending, mut read)| async move {
            loop {
                if let Some(event) = pending.pop_front() {
                    return Some((Ok(event), (state, feed, signals, pending, read)));
                }
                if read {
                    match signals.recv().await {
                        Ok(signal) if !feed.concerns(signal) => continue,
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return None,
                    }
                }
                read = true;
                match feed.read(&state).await {
                    Ok(new) => pending.extend(new),
                    // The database is away: look again at the next signal.
                    Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                }
            }
        },
    );
    Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
}

/// The id in a `Last-Event-ID` header, if it is one.
fn last_event_id(headers: &HeaderMap) -> Option<Uuid> {
    headers.get("last-event-id")?.to_str().ok()?.trim().parse().ok()
}

/// One's new notifications as they are created, on whichever node, as
/// Server-Sent Events (`text/event-stream`): `event: notification`, `id:`
/// the notification's id, `data:` the notification as JSON; a `:heartbeat`
/// comment every 15 s. With `Last-Event-ID` (a reconnecting client sends
/// it), what was created after that notification is sent first.
#[utoipa::path(
    get,
    path = "/api/v1/notifications/stream",
    tag = "notifications",
    params(("Last-Event-ID" = Option<String>, Header, description = "The id of the last notification received")),
    responses((status = 200, description = "An event stream of notifications", content_type = "text/event-stream", body = String), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Notifications)))
)]
pub async fn notification_stream(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let feed = UserFeed::open(&state, &actor, last_event_id(&headers)).await?;
    Ok(live(state, feed))
}

/// A change on a facility's day board.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardEventOut {
    /// The appointment event's id.
    pub id: Uuid,
    pub appointment_id: Uuid,
    /// `booked`, `rescheduled`, `confirmed`, `checked_in`, `started`, `completed`, `cancelled`, `no_show`.
    pub action: String,
    /// The appointment's status after it.
    pub status: String,
    pub doctor_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub queue_number: Option<i32>,
    pub at: DateTime<Utc>,
}

impl From<BoardEvent> for BoardEventOut {
    fn from(e: BoardEvent) -> Self {
        BoardEventOut {
            id: e.id,
            appointment_id: e.appointment_id,
            action: e.action,
            status: e.status,
            doctor_id: e.doctor_id,
            start: e.start_at,
            end: e.end_at,
            queue_number: e.queue_number,
            at: e.created_at,
        }
    }
}

/// A facility's day board live: every appointment booked, moved, checked
/// in, started, completed or cancelled there, as Server-Sent Events (`event:
/// appointment.<action>`, `data:` [`BoardEventOut`] without patient data;
/// read the appointment for its details). Administrators and reception any
/// facility; nurses their own.
#[utoipa::path(
    get,
    path = "/api/v1/facilities/{id}/stream",
    tag = "notifications",
    params(("id" = Uuid, Path, description = "Facility id")),
    responses((status = 200, description = "An event stream of appointment changes", content_type = "text/event-stream", body = String), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::DayBoardRead)))
)]
pub async fn day_board_stream(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let feed = BoardFeed::open(&state, &actor, id).await?;
    Ok(live(state, feed))
}
