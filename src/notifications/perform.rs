//! Running the notification jobs: decide whether the message is still
//! wanted, send it, and say what to record. Nothing here writes: the worker
//! ([`crate::jobs::worker`]) records the outcome, the delivery log and any
//! in-app notification in one transaction with the end of the job's lease.

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use serde::Deserialize;
use uuid::Uuid;

use super::ics::{self, AppointmentEvent, Method};
use super::mail::{self, AppointmentLetter, Mailer};
use super::{MailPayload, local_time};
use crate::db::appointments::{self, AppointmentRow};
use crate::db::entities::{delivery, notification};
use crate::db::jobs::Lease;
use crate::db::{patients, users};
use crate::domain::{AppointmentKind, AppointmentStatus, DeliveryOutcome, JobKind, JobStatus};
use crate::state::AppState;

/// A job that ran to its end.
#[derive(Debug, Default)]
pub struct Performed {
    /// `Cancelled` when the message was no longer wanted (superseded).
    pub cancelled: bool,
    /// Why, or what became of it.
    pub note: Option<String>,
    pub deliveries: Vec<delivery::Model>,
    pub notifications: Vec<notification::Model>,
}

impl Performed {
    /// The job's final status.
    pub fn status(&self) -> JobStatus {
        if self.cancelled {
            JobStatus::Cancelled
        } else {
            JobStatus::Succeeded
        }
    }
}

/// An attempt that failed.
#[derive(Debug)]
pub struct Failed {
    /// What went wrong (no patient data).
    pub error: String,
    /// Retrying cannot help.
    pub permanent: bool,
    pub deliveries: Vec<delivery::Model>,
}

impl Failed {
    fn permanent(error: impl Into<String>) -> Failed {
        Failed {
            error: error.into(),
            permanent: true,
            deliveries: Vec::new(),
        }
    }
}

/// The parts of a user's stored preferences that decide about email (the
/// shape of [`crate::accounts::profile::Preferences`]; defaults when unset).
#[derive(Debug, Deserialize)]
#[serde(default)]
struct MailPreferences {
    notification_channels: Vec<String>,
    appointment_reminders: bool,
}

impl Default for MailPreferences {
    fn default() -> Self {
        MailPreferences {
            notification_channels: vec!["email".into()],
            appointment_reminders: true,
        }
    }
}

/// Run one claimed job.
pub async fn perform(state: &AppState, mailer: &Mailer, lease: &Lease) -> Result<Performed, Failed> {
    let job = &lease.job;
    let payload: MailPayload =
        serde_json::from_str(&job.payload).map_err(|_| Failed::permanent("the payload is not a mail payload"))?;
    let row = appointments::find(state.db.conn(), payload.appointment_id)
        .await
        .map_err(retry_later)?
        .ok_or_else(|| Failed::permanent("the appointment does not exist"))?;
    if let Some(reason) = superseded(job.kind, &row, payload.start) {
        return Ok(Performed {
            cancelled: true,
            note: Some(reason),
            ..Performed::default()
        });
    }
    let now = state.clock.now();
    let patient = patients::find(state.db.conn(), row.patient_id)
        .await
        .map_err(retry_later)?
        .ok_or_else(|| Failed::permanent("the patient does not exist"))?;
    let account = match patient.user_id {
        Some(user) => users::find(state.db.conn(), user).await.map_err(retry_later)?,
        None => None,
    };
    let preferences: MailPreferences = account
        .as_ref()
        .and_then(|u| serde_json::from_str(&u.preferences).ok())
        .unwrap_or_default();
    let mut performed = Performed::default();
    let reminder = job.kind == JobKind::AppointmentReminder;
    if reminder
        && preferences.appointment_reminders
        && let Some(account) = &account
    {
        let message = format!(
            "Dr {} {}, {}.",
            row.doctor_first_name,
            row.doctor_last_name,
            local_time(&row.time_zone, row.start_at)
        );
        let reminder = notification::Model::unread(
            account.id,
            "appointment_reminder",
            "Appointment reminder",
            message,
            Some(row.id),
            now,
        );
        performed.notifications.push(reminder);
    }
    let address = patient
        .email
        .clone()
        .or_else(|| account.as_ref().and_then(|u| u.email.clone()));
    let letter = letter(job.kind, &row, &payload);
    let message_id = format!("<{}@carebook>", job.id);
    let log = |outcome, recipient: &str, detail: String| delivery::Model {
        id: Uuid::now_v7(),
        job_id: job.id,
        appointment_id: Some(row.id),
        webhook_id: None,
        channel: "email".into(),
        recipient: recipient.to_owned(),
        subject: Some(letter.subject.clone()),
        message_id: Some(message_id.clone()),
        outcome,
        detail,
        attempt: job.attempts,
        at: now,
    };
    let refusal = if reminder && !preferences.appointment_reminders {
        Some("the patient turned appointment reminders off")
    } else if !preferences.notification_channels.iter().any(|c| c == "email") {
        Some("email is not among the patient's notification channels")
    } else if address.is_none() {
        Some("the patient has no email address")
    } else if !mailer.configured() {
        Some("SMTP is not configured (CAREBOOK_SMTP_URL): not sent")
    } else {
        None
    };
    let address = address.unwrap_or_default();
    if let Some(reason) = refusal {
        if !mailer.configured() {
            tracing::info!(job = %job.id, kind = %job.kind, "email not sent: SMTP is not configured");
        }
        performed
            .deliveries
            .push(log(DeliveryOutcome::NotSent, &address, reason.into()));
        performed.note = Some(reason.into());
        return Ok(performed);
    }
    let to = Mailbox::new(
        Some(format!("{} {}", patient.first_name, patient.last_name)),
        address.parse().map_err(|_| Failed {
            error: "the patient's email address is not usable".into(),
            permanent: true,
            deliveries: vec![log(DeliveryOutcome::Failed, "", "the address is not usable".into())],
        })?,
    );
    let bodies = mail::render(&letter).map_err(|e| Failed::permanent(format!("rendering the email failed: {e}")))?;
    let calendar = invitation(job.kind, &row, mailer.from());
    let message = mail::compose(mailer.from(), to, &letter.subject, &message_id, bodies, calendar)
        .map_err(|e| Failed::permanent(format!("composing the email failed: {e}")))?;
    match mailer.send(message).await {
        Ok(answer) => {
            performed.deliveries.push(log(DeliveryOutcome::Sent, &address, answer));
            Ok(performed)
        }
        Err(err) => Err(Failed {
            error: err.detail.clone(),
            permanent: err.permanent,
            deliveries: vec![log(DeliveryOutcome::Failed, &address, err.detail)],
        }),
    }
}

/// A database failure: try again later.
fn retry_later(err: crate::db::DbError) -> Failed {
    Failed {
        error: format!("the database failed: {err}"),
        permanent: false,
        deliveries: Vec::new(),
    }
}

/// Why a job's message is no longer wanted: the appointment moved since
/// (a newer job tells of it) or ended. A cancellation is always sent.
fn superseded(kind: JobKind, row: &AppointmentRow, start: DateTime<Utc>) -> Option<String> {
    let wanted_while: &[AppointmentStatus] = match kind {
        JobKind::AppointmentCancelled => return None,
        JobKind::AppointmentReminder => &[AppointmentStatus::Pending, AppointmentStatus::Confirmed],
        _ => AppointmentStatus::LIVE,
    };
    if !wanted_while.contains(&row.status) {
        return Some(format!("superseded: the appointment is {}", row.status));
    }
    if row.start_at != start {
        return Some("superseded: the appointment moved".into());
    }
    None
}

/// The email's words.
fn letter(kind: JobKind, row: &AppointmentRow, payload: &MailPayload) -> AppointmentLetter {
    let when = local_time(&row.time_zone, row.start_at);
    let doctor_name = format!("{} {}", row.doctor_first_name, row.doctor_last_name);
    let subject = match kind {
        JobKind::AppointmentConfirmation => format!("Appointment booked: Dr {doctor_name}, {when}"),
        JobKind::AppointmentRescheduled => format!("Appointment moved: Dr {doctor_name}, now {when}"),
        JobKind::AppointmentCancelled => format!("Appointment cancelled: Dr {doctor_name}, {when}"),
        JobKind::AppointmentReminder => format!("Reminder: Dr {doctor_name}, {when}"),
        // Not emails (webhooks are delivered by `webhooks::deliver`, reports built by `reports::monthly`).
        JobKind::WebhookDelivery | JobKind::MonthlyReports => format!("Appointment: Dr {doctor_name}, {when}"),
    };
    let previous_when = payload.previous_start.map(|at| local_time(&row.time_zone, at));
    AppointmentLetter {
        kind: kind.as_str(),
        subject,
        patient_name: format!("{} {}", row.patient_first_name, row.patient_last_name),
        doctor_name,
        facility_name: row.facility_name.clone(),
        service_name: row.service_name.clone(),
        when,
        previous_when,
        hours: payload.offset_hours,
        reason: row.cancel_reason.clone(),
        pending: row.status == AppointmentStatus::Pending,
        telemedicine: row.kind == AppointmentKind::Telemedicine,
        reference: row.id.to_string(),
    }
}

/// The calendar part: the event as an invitation (its update after a move),
/// or its cancellation; none for a reminder.
fn invitation(kind: JobKind, row: &AppointmentRow, organizer: &Mailbox) -> Option<(Method, String)> {
    let method = match kind {
        JobKind::AppointmentConfirmation | JobKind::AppointmentRescheduled => Method::Request,
        JobKind::AppointmentCancelled => Method::Cancel,
        JobKind::AppointmentReminder | JobKind::WebhookDelivery | JobKind::MonthlyReports => return None,
    };
    let event = ics::event(&appointment_event(row));
    let organizer = format!("mailto:{}", organizer.email);
    Some((
        method,
        ics::calendar("Carebook appointment", vec![event], Some((method, &organizer))),
    ))
}

/// An appointment as a calendar event.
pub fn appointment_event(row: &AppointmentRow) -> AppointmentEvent {
    let service = row
        .service_name
        .as_deref()
        .map(|s| format!("{s}, "))
        .unwrap_or_default();
    AppointmentEvent {
        id: row.id,
        version: row.version,
        status: row.status,
        start: row.start_at,
        end: row.end_at,
        summary: format!("Appointment with Dr {} {}", row.doctor_first_name, row.doctor_last_name),
        location: row.facility_name.clone(),
        description: format!(
            "{service}{} {} at {}. Reference {}.",
            row.patient_first_name, row.patient_last_name, row.facility_name, row.id
        ),
        updated_at: row.updated_at,
    }
}
