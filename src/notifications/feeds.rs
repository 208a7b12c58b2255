//! iCalendar feeds (RFC 5545) of appointments, for calendar clients, which
//! cannot send a bearer token: a per-user feed token in the URL
//! (`?token=`), stored as its SHA-256 digest, rotated by asking for a new one.
//!
//! A feed holds the appointments from 90 days back to a year ahead,
//! cancelled ones as `STATUS:CANCELLED` (so clients drop them), each with
//! the `UID` and `SEQUENCE` of its emails. Who may read which feed is the
//! policy's appointment reach, for the token's user: a patient their own,
//! a doctor their own, reception and administrators any doctor's, a nurse a
//! doctor's appointments at the nurse's facility.

use chrono::TimeDelta;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::ics;
use super::perform::appointment_event;
use crate::auth::Actor;
use crate::auth::policy::{Action, authorize};
use crate::config::Secret;
use crate::db::appointments::{self, AppointmentFilter, AppointmentRow};
use crate::db::notifications as stored;
use crate::db::{PageRequest, Reach, Sort, audit, users};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How far back a feed reaches.
pub const PAST: TimeDelta = TimeDelta::days(90);
/// How far ahead a feed reaches.
pub const AHEAD: TimeDelta = TimeDelta::days(366);
/// Most appointments in one feed.
const MOST: u64 = 2_000;

/// Which feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// A patient's own appointments.
    Mine,
    /// A doctor's appointments.
    Doctor(Uuid),
}

/// A new feed token and the feeds it opens.
#[derive(Debug, Clone)]
pub struct FeedToken {
    /// The token (shown once; only its digest is kept).
    pub token: String,
    /// `/api/v1/calendars/me.ics?token=…`, for a patient.
    pub mine: Option<String>,
    /// The caller's own doctor feed, for a doctor.
    pub own_doctor: Option<String>,
    /// Any doctor's feed, `{doctor_id}` to be filled in, for staff.
    pub any_doctor: Option<String>,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Create or rotate the actor's feed token: the earlier one stops working.
pub async fn rotate(state: &AppState, actor: &Actor) -> AppResult<FeedToken> {
    authorize(actor, Action::Notifications)?;
    let token = Secret::generate();
    let tx = state.db.begin_write().await?;
    stored::set_calendar_token(&tx, actor.user_id, &digest(token.expose()), state.clock.now()).await?;
    tx.commit().await?;
    let base = state.config.public_url.as_deref().unwrap_or("");
    let url = |path: &str| format!("{base}/api/v1/calendars/{path}?token={}", token.expose());
    Ok(FeedToken {
        mine: actor.patient_id.map(|_| url("me.ics")),
        own_doctor: actor.doctor_id.map(|d| url(&format!("doctors/{d}.ics"))),
        any_doctor: matches!(actor.role, Role::Admin | Role::Receptionist | Role::Nurse)
            .then(|| url("doctors/{doctor_id}.ics")),
        token: token.expose().to_owned(),
    })
}

/// The feed `feed` as the holder of `token` may see it, as iCalendar text.
/// The read is audited as the token's user, with the patients disclosed.
///
/// Errors: 404 for a token that is unknown or was rotated, a user no
/// longer active, or a feed the user may not read (its existence is not
/// confirmed either).
pub async fn render(state: &AppState, token: &str, feed: Feed) -> AppResult<String> {
    let not_found = || AppError::NotFound("calendar feed");
    let user_id = stored::calendar_token_user(state.db.conn(), &digest(token))
        .await?
        .ok_or_else(not_found)?;
    let user = users::find(state.db.conn(), user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(not_found)?;
    audit::set_actor(user.id, user.role.as_str());
    let now = state.clock.now();
    let (reach, facility, name, for_doctor) = match (feed, user.role) {
        (Feed::Mine, Role::Patient) => {
            let patient = stored::patient_of_user(state.db.conn(), user.id)
                .await?
                .ok_or_else(not_found)?;
            (Reach::Patient(patient), None, "My appointments".to_owned(), false)
        }
        (Feed::Doctor(doctor), role) => {
            let row = crate::db::directory::find_doctor(state.db.conn(), doctor)
                .await?
                .ok_or_else(not_found)?;
            let facility = match role {
                Role::Admin | Role::Receptionist => None,
                Role::Doctor if row.user_id == user.id => None,
                Role::Nurse if user.facility_id.is_some() => user.facility_id,
                _ => return Err(not_found()),
            };
            let name = format!("Dr {} {}: appointments", row.first_name, row.last_name);
            (Reach::Doctor(doctor), facility, name, true)
        }
        (Feed::Mine, _) => return Err(not_found()),
    };
    let filter = AppointmentFilter {
        from: Some(now - PAST),
        to: Some(now + AHEAD),
        facility,
        now: Some(now),
        ..AppointmentFilter::default()
    };
    let order = [Sort {
        column: "a.start_at",
        descending: false,
    }];
    let page = PageRequest {
        page: 1,
        page_size: MOST,
    };
    let rows = appointments::list(state.db.conn(), reach, &filter, &order, page)
        .await?
        .rows;
    audit::note_disclosed(rows.iter().map(|a| a.patient_id));
    // The read is recorded (with its audit event) as the token's last use.
    let tx = state.db.begin_write().await?;
    stored::touch_calendar_token(&tx, user.id, now).await?;
    tx.commit().await?;
    let events = rows
        .iter()
        .map(|row| ics::event(&feed_event(row, for_doctor)))
        .collect();
    Ok(ics::calendar(&name, events, None))
}

/// An appointment as a feed shows it: to a doctor's calendar, the patient.
fn feed_event(row: &AppointmentRow, for_doctor: bool) -> ics::AppointmentEvent {
    let mut event = appointment_event(row);
    if for_doctor {
        let service = row
            .service_name
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        event.summary = format!("{} {}{service}", row.patient_first_name, row.patient_last_name);
    }
    event
}

/// The doctor id in a feed file name (`{id}.ics`). Errors: 404 otherwise.
pub fn doctor_file(file: &str) -> AppResult<Uuid> {
    file.strip_suffix(".ics")
        .and_then(|id| id.parse().ok())
        .ok_or(AppError::NotFound("calendar feed"))
}
