//! Telemedicine sessions of `telemedicine` appointments: an unguessable
//! room (256 random bits) under `CAREBOOK_TELEMEDICINE_URL_BASE`, the
//! join/leave events of the doctor and the patient, started at the first
//! join, ended with an outcome; and the statistics seed 000 reports
//! (sessions, completion rate, average duration, outcome counts).

use chrono::{DateTime, Utc};
use garde::Validate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::policy::{Action, authorize, authorize_object};
use crate::db::appointments::AppointmentRow;
use crate::db::entities::{telemedicine_event, telemedicine_session};
use crate::db::{self, audit};
use crate::domain::{AppointmentKind, AppointmentStatus, Role, TelemedicineOutcome};
use crate::error::{AppError, AppResult};
use crate::input;
use crate::state::AppState;

/// How a session ends.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct EndIn {
    #[garde(skip)]
    pub outcome: TelemedicineOutcome,
}

/// The period of the statistics.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatisticsQuery {
    /// Sessions created at or after this: RFC 3339 instant or `YYYY-MM-DD` (00:00 UTC).
    #[param(schema_with = input::date_or_instant)]
    pub from: Option<String>,
    /// Sessions created before this: RFC 3339 instant or `YYYY-MM-DD` (the end of that day, UTC).
    #[param(schema_with = input::date_or_instant)]
    pub to: Option<String>,
}

/// A session with what happened in it.
#[derive(Debug, Clone)]
pub struct Session {
    pub session: telemedicine_session::Model,
    pub events: Vec<telemedicine_event::Model>,
}

/// Teleconsultation statistics of a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statistics {
    /// Sessions created in the period.
    pub sessions: u64,
    /// Of those, ended `completed`.
    pub completed: u64,
    /// `completed / sessions`, 0 when there are none.
    pub completion_rate: f64,
    /// Mean length of the sessions that started and ended, in seconds.
    pub average_duration_seconds: Option<i64>,
    /// Per outcome, in declaration order (and `open` for those not ended).
    pub outcomes: Vec<(Option<TelemedicineOutcome>, u64)>,
}

async fn appointment(state: &AppState, actor: &Actor, id: Uuid, action: Action) -> AppResult<AppointmentRow> {
    let row = db::appointments::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("appointment"))?;
    authorize_object(actor, action, &row)?;
    Ok(row)
}

/// Open the session of telemedicine appointment `id` (its doctor, reception, an admin).
///
/// Errors: 404/403 by the policy; 422 `not_telemedicine`; 409
/// `appointment_closed` for a cancelled, no-show or completed appointment,
/// `session_exists` when it has one.
pub async fn open(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Session> {
    let row = appointment(state, actor, id, Action::TelemedicineWrite).await?;
    if row.kind != AppointmentKind::Telemedicine {
        return Err(AppError::rule(
            "not_telemedicine",
            "kind",
            "this appointment is in person",
        ));
    }
    if matches!(
        row.status,
        AppointmentStatus::Cancelled | AppointmentStatus::NoShow | AppointmentStatus::Completed
    ) {
        return Err(AppError::conflict(
            "appointment_closed",
            format!("the appointment is {}", row.status),
        ));
    }
    let now = state.clock.now();
    let session = telemedicine_session::Model {
        id: Uuid::now_v7(),
        appointment_id: row.id,
        patient_id: row.patient_id,
        doctor_id: row.doctor_id,
        facility_id: row.facility_id,
        // 256 random bits: a room nobody finds by guessing.
        room: crate::auth::token::random_token(),
        started_at: None,
        ended_at: None,
        outcome: None,
        created_by: actor.user_id,
        created_at: now,
        updated_at: now,
    };
    let tx = state.db.begin_write().await?;
    // Looked up first (no database error, nothing in its log); the unique index guards a race.
    if db::telemedicine::of_appointment(&tx, row.id).await?.is_some() {
        return Err(AppError::conflict(
            "session_exists",
            "this appointment already has its telemedicine session",
        ));
    }
    db::telemedicine::insert(&tx, session.clone()).await.map_err(|err| {
        if err.is_unique_on("appointment_id") {
            AppError::conflict(
                "session_exists",
                "this appointment already has its telemedicine session",
            )
        } else {
            err.into()
        }
    })?;
    audit::note_object(session.id);
    tx.commit().await?;
    Ok(Session {
        session,
        events: Vec::new(),
    })
}

/// A session whose appointment the actor may read.
///
/// Errors: 404.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Session> {
    let session = visible(state, actor, id).await?;
    let events = db::telemedicine::events(state.db.conn(), id).await?;
    Ok(Session { session, events })
}

/// Session `id` without its events, if the actor may see its appointment. Errors: 404.
async fn visible(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<telemedicine_session::Model> {
    authorize(actor, Action::AppointmentRead)?;
    let session = db::telemedicine::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("telemedicine session"))?;
    appointment(state, actor, session.appointment_id, Action::AppointmentRead)
        .await
        .map_err(|_| AppError::NotFound("telemedicine session"))?;
    Ok(session)
}

/// The caller joins (`joined`) or leaves (`left`) session `id`: its doctor
/// or its patient. The first join starts the session.
///
/// Errors: 404/403 by the policy; 409 `session_ended`.
pub async fn attend(state: &AppState, actor: &Actor, id: Uuid, joined: bool) -> AppResult<Session> {
    let current = visible(state, actor, id).await?;
    appointment(state, actor, current.appointment_id, Action::TelemedicineJoin).await?;
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    let mut session = db::telemedicine::find_for_update(&tx, id)
        .await?
        .ok_or(AppError::NotFound("telemedicine session"))?;
    if session.ended_at.is_some() {
        return Err(AppError::conflict("session_ended", "this session has ended"));
    }
    if joined && session.started_at.is_none() {
        session.started_at = Some(now);
        session.updated_at = db::next_update(session.updated_at, now);
        session = db::telemedicine::update(&tx, session).await?;
    }
    let event = telemedicine_event::Model {
        id: Uuid::now_v7(),
        session_id: id,
        user_id: actor.user_id,
        participant: if actor.role == Role::Doctor {
            "doctor"
        } else {
            "patient"
        }
        .into(),
        kind: if joined { "joined" } else { "left" }.into(),
        at: now,
    };
    db::telemedicine::insert_event(&tx, event).await?;
    tx.commit().await?;
    let events = db::telemedicine::events(state.db.conn(), id).await?;
    Ok(Session { session, events })
}

/// End session `id` with an outcome (its doctor, reception, an admin).
///
/// Errors: 404/403 by the policy; 409 `session_ended`.
pub async fn end(state: &AppState, actor: &Actor, id: Uuid, body: EndIn) -> AppResult<Session> {
    let current = visible(state, actor, id).await?;
    appointment(state, actor, current.appointment_id, Action::TelemedicineWrite).await?;
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    let mut session = db::telemedicine::find_for_update(&tx, id)
        .await?
        .ok_or(AppError::NotFound("telemedicine session"))?;
    if session.ended_at.is_some() {
        return Err(AppError::conflict("session_ended", "this session has ended"));
    }
    session.ended_at = Some(session.started_at.map_or(now, |s| s.max(now)));
    session.outcome = Some(body.outcome);
    session.updated_at = db::next_update(session.updated_at, now);
    let session = db::telemedicine::update(&tx, session).await?;
    tx.commit().await?;
    let events = db::telemedicine::events(state.db.conn(), id).await?;
    Ok(Session { session, events })
}

/// How long a session lasted, when it started and ended.
pub fn duration_seconds(started: Option<DateTime<Utc>>, ended: Option<DateTime<Utc>>) -> Option<i64> {
    Some((ended? - started?).num_seconds())
}

/// Teleconsultation statistics of the sessions created in `query`'s period (admins).
///
/// Errors: 400 naming a bound that does not parse.
pub async fn statistics(state: &AppState, actor: &Actor, query: &StatisticsQuery) -> AppResult<Statistics> {
    authorize(actor, Action::ReportRead)?;
    let period = input::period(query.from.as_deref(), query.to.as_deref())?;
    let rows = db::telemedicine::times(state.db.conn(), period).await?;
    let sessions = rows.len() as u64;
    let count = |o: Option<TelemedicineOutcome>| rows.iter().filter(|r| r.outcome == o).count() as u64;
    let completed = count(Some(TelemedicineOutcome::Completed));
    let durations: Vec<i64> = rows
        .iter()
        .filter_map(|r| duration_seconds(r.started_at, r.ended_at))
        .collect();
    let mut outcomes: Vec<(Option<TelemedicineOutcome>, u64)> = TelemedicineOutcome::ALL
        .iter()
        .map(|o| (Some(*o), count(Some(*o))))
        .collect();
    outcomes.push((None, count(None)));
    Ok(Statistics {
        sessions,
        completed,
        completion_rate: if sessions == 0 {
            0.0
        } else {
            completed as f64 / sessions as f64
        },
        average_duration_seconds: (!durations.is_empty())
            .then(|| durations.iter().sum::<i64>() / durations.len() as i64),
        outcomes,
    })
}
