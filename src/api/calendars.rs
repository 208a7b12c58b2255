//! iCalendar feeds over HTTP (see [`crate::notifications::feeds`]).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::access::PUBLIC;
use super::extract::{ApiPath, ApiQuery};
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::error::AppResult;
use crate::notifications::feeds::{self, Feed};
use crate::state::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_feed_token))
        .routes(routes!(my_feed))
        .routes(routes!(doctor_feed))
}

/// A new feed token and the feed URLs it opens (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedTokenOut {
    /// The token; the earlier one no longer opens anything.
    pub token: String,
    /// One's own appointments (patients).
    pub me: Option<String>,
    /// One's own schedule (doctors).
    pub doctor: Option<String>,
    /// Any doctor's schedule, with `{doctor_id}` filled in (administrators,
    /// reception; nurses see appointments at their facility).
    pub any_doctor: Option<String>,
}

/// The feed token in the URL.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The caller's feed token (`POST /api/v1/calendars/token`).
    #[param(max_length = 100)]
    pub token: String,
}

/// Create or rotate one's calendar-feed token; the answer names the feeds
/// one may subscribe to with it.
#[utoipa::path(
    post,
    path = "/api/v1/calendars/token",
    tag = "notifications",
    responses((status = 201, description = "A new token", body = FeedTokenOut), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::Notifications)))
)]
pub async fn create_feed_token(State(state): State<AppState>, actor: Actor) -> AppResult<impl IntoResponse> {
    let made = feeds::rotate(&state, &actor).await?;
    let body = FeedTokenOut {
        token: made.token,
        me: made.mine,
        doctor: made.own_doctor,
        any_doctor: made.any_doctor,
    };
    Ok((axum::http::StatusCode::CREATED, Json(body)))
}

fn calendar(body: String) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        body,
    )
}

/// One's own appointments as an iCalendar (RFC 5545) feed, 90 days back to
/// a year ahead, cancelled ones marked `STATUS:CANCELLED`. Authenticated by
/// the feed token in the URL (calendar clients send no bearer token); 404
/// for a token that is unknown or was rotated.
#[utoipa::path(
    get,
    path = "/api/v1/calendars/me.ics",
    tag = "notifications",
    params(FeedQuery),
    responses((status = 200, description = "The feed", content_type = "text/calendar", body = String), ReadErrors),
    extensions(("x-access" = json!(PUBLIC)))
)]
pub async fn my_feed(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> AppResult<impl IntoResponse> {
    Ok(calendar(feeds::render(&state, &query.token, Feed::Mine).await?))
}

/// A doctor's appointments as an iCalendar feed (`{doctor id}.ics`): the
/// doctor's own, or any doctor's for administrators and reception (a
/// nurse's: those at the nurse's facility). 404 for a token that is unknown
/// or rotated, or a feed its holder may not read.
#[utoipa::path(
    get,
    path = "/api/v1/calendars/doctors/{file}",
    tag = "notifications",
    params(("file" = String, Path, description = "The doctor's id and `.ics`", pattern = r"^[0-9a-fA-F-]{36}\.ics$"), FeedQuery),
    responses((status = 200, description = "The feed", content_type = "text/calendar", body = String), ReadErrors),
    extensions(("x-access" = json!(PUBLIC)))
)]
pub async fn doctor_feed(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> AppResult<impl IntoResponse> {
    let doctor = feeds::doctor_file(&file)?;
    Ok(calendar(
        feeds::render(&state, &query.token, Feed::Doctor(doctor)).await?,
    ))
}
