//! Telemedicine sessions over HTTP (see [`crate::booking::telemedicine`]).

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::booking::telemedicine::{self, EndIn, Session, StatisticsQuery};
use crate::domain::TelemedicineOutcome;
use crate::error::AppResult;
use crate::state::AppState;

/// A participant joining or leaving.
#[derive(Debug, Serialize, ToSchema)]
pub struct TelemedicineEventOut {
    pub user_id: Uuid,
    /// `doctor` or `patient`.
    pub participant: String,
    /// `joined` or `left`.
    pub kind: String,
    pub at: DateTime<Utc>,
}

/// A telemedicine session.
#[derive(Debug, Serialize, ToSchema)]
pub struct TelemedicineSessionOut {
    pub id: Uuid,
    pub appointment_id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    /// The room name: 256 random bits, base64url.
    pub room: String,
    /// Where to join: `CAREBOOK_TELEMEDICINE_URL_BASE`, `/`, the room.
    pub join_url: String,
    /// At the first join.
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<TelemedicineOutcome>,
    /// From the first join to the end, in seconds.
    pub duration_seconds: Option<i64>,
    pub events: Vec<TelemedicineEventOut>,
    pub created_at: DateTime<Utc>,
}

fn out(state: &AppState, s: Session) -> TelemedicineSessionOut {
    let session = s.session;
    TelemedicineSessionOut {
        join_url: format!("{}/{}", state.config.telemedicine_url_base, session.room),
        duration_seconds: telemedicine::duration_seconds(session.started_at, session.ended_at),
        id: session.id,
        appointment_id: session.appointment_id,
        patient_id: session.patient_id,
        doctor_id: session.doctor_id,
        room: session.room,
        started_at: session.started_at,
        ended_at: session.ended_at,
        outcome: session.outcome,
        events: s
            .events
            .into_iter()
            .map(|e| TelemedicineEventOut {
                user_id: e.user_id,
                participant: e.participant,
                kind: e.kind,
                at: e.at,
            })
            .collect(),
        created_at: session.created_at,
    }
}

/// How many sessions ended one way.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutcomeCount {
    /// Null for sessions not ended yet.
    pub outcome: Option<TelemedicineOutcome>,
    pub sessions: u64,
}

/// Teleconsultation statistics of a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct TelemedicineStatisticsOut {
    pub sessions: u64,
    pub completed: u64,
    /// `completed / sessions` (0 to 1; 0 without sessions).
    pub completion_rate: f64,
    /// Mean length of the sessions that started and ended, in seconds.
    pub average_duration_seconds: Option<i64>,
    pub outcomes: Vec<OutcomeCount>,
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_session))
        .routes(routes!(get_session))
        .routes(routes!(join_session))
        .routes(routes!(leave_session))
        .routes(routes!(end_session))
        .routes(routes!(statistics))
}

/// Open the telemedicine session of a telemedicine appointment: its
/// doctor, reception or an admin. One per appointment.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/telemedicine", tag = "appointments",
    params(("id" = Uuid, Path, description = "Appointment id")),
    responses((status = 201, description = "Opened", body = TelemedicineSessionOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::TelemedicineWrite))))]
pub async fn open_session(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<impl IntoResponse> {
    let session = telemedicine::open(&state, &actor, id).await?;
    let location = format!("/api/v1/telemedicine/sessions/{}", session.session.id);
    Ok(created(location, out(&state, session)))
}

/// Read a session (whoever may read its appointment).
#[utoipa::path(get, path = "/api/v1/telemedicine/sessions/{id}", tag = "appointments",
    params(("id" = Uuid, Path, description = "Session id")),
    responses((status = 200, description = "The session", body = TelemedicineSessionOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentRead))))]
pub async fn get_session(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<TelemedicineSessionOut>> {
    let session = telemedicine::get(&state, &actor, id).await?;
    Ok(Json(out(&state, session)))
}

/// Join a session: its doctor or its patient. The first join starts it.
#[utoipa::path(post, path = "/api/v1/telemedicine/sessions/{id}/join", tag = "appointments",
    params(("id" = Uuid, Path, description = "Session id")),
    responses((status = 200, description = "The session", body = TelemedicineSessionOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::TelemedicineJoin))))]
pub async fn join_session(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<TelemedicineSessionOut>> {
    let session = telemedicine::attend(&state, &actor, id, true).await?;
    Ok(Json(out(&state, session)))
}

/// Leave a session: its doctor or its patient.
#[utoipa::path(post, path = "/api/v1/telemedicine/sessions/{id}/leave", tag = "appointments",
    params(("id" = Uuid, Path, description = "Session id")),
    responses((status = 200, description = "The session", body = TelemedicineSessionOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::TelemedicineJoin))))]
pub async fn leave_session(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<TelemedicineSessionOut>> {
    let session = telemedicine::attend(&state, &actor, id, false).await?;
    Ok(Json(out(&state, session)))
}

/// End a session with its outcome: its doctor, reception or an admin.
#[utoipa::path(post, path = "/api/v1/telemedicine/sessions/{id}/end", tag = "appointments", request_body = EndIn,
    params(("id" = Uuid, Path, description = "Session id")),
    responses((status = 200, description = "The ended session", body = TelemedicineSessionOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::TelemedicineWrite))))]
pub async fn end_session(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EndIn>,
) -> AppResult<Json<TelemedicineSessionOut>> {
    let session = telemedicine::end(&state, &actor, id, body).await?;
    Ok(Json(out(&state, session)))
}

/// Teleconsultation statistics of the sessions created in a period
/// (admins): sessions, completion rate, average duration, outcome counts.
#[utoipa::path(get, path = "/api/v1/telemedicine/statistics", tag = "appointments", params(StatisticsQuery),
    responses((status = 200, description = "The statistics", body = TelemedicineStatisticsOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ReportRead))))]
pub async fn statistics(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(query): ApiQuery<StatisticsQuery>,
) -> AppResult<Json<TelemedicineStatisticsOut>> {
    let s = telemedicine::statistics(&state, &actor, &query).await?;
    Ok(Json(TelemedicineStatisticsOut {
        sessions: s.sessions,
        completed: s.completed,
        completion_rate: s.completion_rate,
        average_duration_seconds: s.average_duration_seconds,
        outcomes: s
            .outcomes
            .into_iter()
            .map(|(outcome, sessions)| OutcomeCount { outcome, sessions })
            .collect(),
    }))
}
