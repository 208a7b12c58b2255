//! Notifications: what an appointment's changes set in motion, in the
//! change's own transaction — the patient's emails and reminders (jobs of
//! the queue, [`crate::db::jobs`]) and in-app notifications — and the
//! in-app notifications' list and read marks.
//!
//! Reminders are exactly-once by construction: one queued job per
//! (appointment, offset, scheduled start), unique in the database; a
//! reschedule or an end (cancelled, no-show, checked in, …) cancels the
//! queued ones in the same transaction; and the job checks at send time
//! that the appointment is still live at the start it was made for.

pub mod feeds;
pub mod ics;
pub mod mail;
pub mod perform;
pub mod stream;
pub mod webhooks;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::Actor;
use crate::db::entities::{appointment, notification};
use crate::db::jobs::{self, NewJob};
use crate::db::live::Signal;
use crate::db::notifications as stored;
use crate::db::{DbResult, PageRequest, Paged, Tx};
use crate::domain::{AppointmentStatus, JobKind, Role, TimeZone};
use crate::error::{AppError, AppResult};
use crate::settings::Settings;
use crate::state::AppState;

/// Attempts an email job gets before it is dead (about 4 hours of backoff).
pub const MAIL_ATTEMPTS: i32 = 8;

/// What happened to an appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// It was booked.
    Booked,
    /// It moved from this start.
    Rescheduled { from: DateTime<Utc> },
    /// Its status changed to the appointment's current one.
    Status,
}

/// What an email job is about: the appointment and the start it was made for.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct MailPayload {
    pub appointment_id: Uuid,
    /// The appointment's start when the job was made (RFC 3339).
    pub start: DateTime<Utc>,
    /// For reminders: hours before the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_hours: Option<i64>,
    /// For a reschedule: the start it moved from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_start: Option<DateTime<Utc>>,
}

/// Enqueue what `change` to `appointment` (as written) sets in motion, and
/// notify its parties in the app: inside the change's transaction `tx`.
pub async fn appointment_changed(
    tx: &Tx,
    settings: &Settings,
    appointment: &appointment::Model,
    change: Change,
    now: DateTime<Utc>,
) -> DbResult<()> {
    let Some(parties) = stored::parties(tx, appointment.id).await? else {
        return Ok(());
    };
    // The facility's day board hears of every change.
    tx.announce(Signal::Facility(appointment.facility_id));
    let when = local_time(&parties.time_zone, appointment.start_at);
    let mut told = Vec::new();
    let mut tell = |user: Option<Uuid>, kind: &str, title: &str, message: String| {
        if let Some(user) = user {
            told.push(notification::Model::unread(
                user,
                kind,
                title,
                message,
                Some(appointment.id),
                now,
            ));
        }
    };
    let patient = Some(parties.patient_user_id).flatten();
    let doctor = Some(parties.doctor_user_id);
    let with_doctor = format!("Dr {} {}", parties.doctor_first_name, parties.doctor_last_name);
    let with_patient = format!("{} {}", parties.patient_first_name, parties.patient_last_name);
    match change {
        Change::Booked => {
            mail(tx, appointment, JobKind::AppointmentConfirmation, None, now).await?;
            remind(tx, settings, appointment, now).await?;
            tell(
                patient,
                "appointment_booked",
                "Appointment booked",
                format!("{with_doctor}, {when}."),
            );
            tell(
                doctor,
                "appointment_booked",
                "New booking",
                format!("{with_patient}, {when}."),
            );
        }
        Change::Rescheduled { from } => {
            jobs::cancel_queued(tx, appointment.id, &[JobKind::AppointmentReminder], now).await?;
            mail(tx, appointment, JobKind::AppointmentRescheduled, Some(from), now).await?;
            remind(tx, settings, appointment, now).await?;
            let before = local_time(&parties.time_zone, from);
            let moved = format!("moved from {before} to {when}.");
            tell(
                patient,
                "appointment_rescheduled",
                "Appointment moved",
                format!("{with_doctor}: {moved}"),
            );
            tell(
                doctor,
                "appointment_rescheduled",
                "Appointment moved",
                format!("{with_patient}: {moved}"),
            );
        }
        Change::Status => match appointment.status {
            AppointmentStatus::Cancelled => {
                let pending = [JobKind::AppointmentReminder, JobKind::AppointmentConfirmation];
                jobs::cancel_queued(tx, appointment.id, &pending, now).await?;
                mail(tx, appointment, JobKind::AppointmentCancelled, None, now).await?;
                let what = format!("{when} is cancelled.");
                tell(
                    patient,
                    "appointment_cancelled",
                    "Appointment cancelled",
                    format!("{with_doctor}, {what}"),
                );
                tell(
                    doctor,
                    "appointment_cancelled",
                    "Appointment cancelled",
                    format!("{with_patient}, {what}"),
                );
            }
            AppointmentStatus::Confirmed => {
                tell(
                    patient,
                    "appointment_confirmed",
                    "Appointment confirmed",
                    format!("{with_doctor}, {when}."),
                );
            }
            AppointmentStatus::CheckedIn => {
                jobs::cancel_queued(tx, appointment.id, &[JobKind::AppointmentReminder], now).await?;
                let number = appointment
                    .queue_number
                    .map(|n| format!(", queue number {n}"))
                    .unwrap_or_default();
                tell(
                    doctor,
                    "patient_checked_in",
                    "Patient checked in",
                    format!("{with_patient}{number}."),
                );
            }
            AppointmentStatus::NoShow | AppointmentStatus::InProgress | AppointmentStatus::Completed => {
                jobs::cancel_queued(tx, appointment.id, &[JobKind::AppointmentReminder], now).await?;
            }
            AppointmentStatus::Pending => {}
        },
    }
    if let Some(event) = webhook_event(change, appointment.status) {
        webhooks::enqueue(tx, event, appointment, now).await?;
    }
    stored::insert(tx, told).await
}

/// The webhook event of a change.
fn webhook_event(change: Change, status: AppointmentStatus) -> Option<webhooks::WebhookEvent> {
    use webhooks::WebhookEvent as E;
    Some(match (change, status) {
        (Change::Booked, _) => E::Booked,
        (Change::Rescheduled { .. }, _) => E::Rescheduled,
        (Change::Status, AppointmentStatus::Confirmed) => E::Confirmed,
        (Change::Status, AppointmentStatus::CheckedIn) => E::CheckedIn,
        (Change::Status, AppointmentStatus::InProgress) => E::Started,
        (Change::Status, AppointmentStatus::Completed) => E::Completed,
        (Change::Status, AppointmentStatus::Cancelled) => E::Cancelled,
        (Change::Status, AppointmentStatus::NoShow) => E::NoShow,
        (Change::Status, AppointmentStatus::Pending) => return None,
    })
}

/// Enqueue the patient's email of `kind` about `appointment`, due now.
async fn mail(
    tx: &Tx,
    appointment: &appointment::Model,
    kind: JobKind,
    previous_start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DbResult<()> {
    let payload = MailPayload {
        appointment_id: appointment.id,
        start: appointment.start_at,
        offset_hours: None,
        previous_start,
    };
    let job = NewJob {
        kind,
        payload: serde_json::to_value(&payload).unwrap_or_default(),
        run_at: now,
        unique_key: None,
        appointment_id: Some(appointment.id),
        max_attempts: MAIL_ATTEMPTS,
    };
    jobs::enqueue(tx, job, now).await.map(drop)
}

/// Enqueue a reminder per `notifications.reminder_hours` offset whose time
/// is still ahead (a booking made inside the window gets none for it).
async fn remind(tx: &Tx, settings: &Settings, appointment: &appointment::Model, now: DateTime<Utc>) -> DbResult<()> {
    for job in reminders(appointment, &settings.integers("notifications.reminder_hours"), now) {
        jobs::enqueue(tx, job, now).await?;
    }
    Ok(())
}

/// The reminder jobs of a live `appointment`, one per offset in `hours`
/// whose time is after `now` (none for an appointment that is not live).
pub fn reminders(appointment: &appointment::Model, hours: &[i64], now: DateTime<Utc>) -> Vec<NewJob> {
    if !AppointmentStatus::LIVE.contains(&appointment.status) {
        return Vec::new();
    }
    let mut due = Vec::new();
    for &hours in hours {
        let run_at = appointment.start_at - TimeDelta::hours(hours);
        if run_at <= now {
            continue;
        }
        let payload = MailPayload {
            appointment_id: appointment.id,
            start: appointment.start_at,
            offset_hours: Some(hours),
            previous_start: None,
        };
        due.push(NewJob {
            kind: JobKind::AppointmentReminder,
            payload: serde_json::to_value(&payload).unwrap_or_default(),
            run_at,
            unique_key: Some(reminder_key(appointment.id, hours, appointment.start_at)),
            appointment_id: Some(appointment.id),
            max_attempts: MAIL_ATTEMPTS,
        });
    }
    due
}

/// The unique key of a reminder: one per appointment, offset and start.
pub fn reminder_key(appointment: Uuid, hours: i64, start: DateTime<Utc>) -> String {
    format!("appointment_reminder:{appointment}:{hours}h:{}", start.to_rfc3339())
}

/// `instant` in the facility's time zone, the zone named:
/// `Monday 7 December 2026, 09:30 (Asia/Dhaka)`.
pub fn local_time(zone: &str, instant: DateTime<Utc>) -> String {
    let tz = TimeZone::parse(zone).map(TimeZone::tz).unwrap_or(chrono_tz::UTC);
    format!(
        "{} ({})",
        instant.with_timezone(&tz).format("%A %-d %B %Y, %H:%M"),
        tz.name()
    )
}

/// Tell the active accounts of `role` (at `facility`, when given) of
/// something that is not about one appointment — a walk-in (reception), a
/// role-change request or low stock (administrators) — in `tx`.
pub async fn tell_role(
    tx: &Tx,
    role: Role,
    facility: Option<Uuid>,
    kind: &str,
    title: &str,
    message: &str,
    now: DateTime<Utc>,
) -> DbResult<()> {
    let users = stored::users_with_role(tx, role.as_str(), facility).await?;
    let rows = users
        .into_iter()
        .map(|user| notification::Model::unread(user, kind, title, message.to_owned(), None, now))
        .collect();
    stored::insert(tx, rows).await
}

/// Filters of one's notification list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NotificationQuery {
    /// Only unread ones.
    #[serde(default)]
    pub unread: Option<bool>,
}

/// A page of the actor's own notifications (unread first) and their unread count.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    query: &NotificationQuery,
    page: PageRequest,
) -> AppResult<(Paged<notification::Model>, u64)> {
    Ok(stored::list(state.db.conn(), actor.user_id, query.unread.unwrap_or(false), page).await?)
}

/// Mark one of the actor's notifications read. Errors: 404 for an unknown
/// id or someone else's.
pub async fn read(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<notification::Model> {
    let tx = state.db.begin_write().await?;
    let found = stored::mark_read(&tx, actor.user_id, id, state.clock.now())
        .await?
        .ok_or(AppError::NotFound("notification"))?;
    tx.commit().await?;
    Ok(found)
}

/// Mark all of the actor's notifications read; how many were unread.
pub async fn read_all(state: &AppState, actor: &Actor) -> AppResult<u64> {
    let tx = state.db.begin_write().await?;
    let marked = stored::mark_all_read(&tx, actor.user_id, state.clock.now()).await?;
    tx.commit().await?;
    Ok(marked)
}
