//! Appointments as iCalendar (RFC 5545) events, built with the `icalendar`
//! crate: a stable `UID` per appointment, `SEQUENCE` = the appointment's
//! version (it grows with every change), `STATUS:CANCELLED` for cancelled
//! ones, `DTSTART`/`DTEND` in UTC (`…Z`, so no `VTIMEZONE` is needed).
//! The crate writes CRLF line endings and folds lines at 75 octets.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};
use uuid::Uuid;

use crate::domain::AppointmentStatus;

/// What an event shows of an appointment.
#[derive(Debug, Clone)]
pub struct AppointmentEvent {
    pub id: Uuid,
    /// The appointment's version: the event's `SEQUENCE`.
    pub version: i32,
    pub status: AppointmentStatus,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `SUMMARY`, e.g. `Appointment with Dr Rahman`.
    pub summary: String,
    /// `LOCATION`: the facility.
    pub location: String,
    /// `DESCRIPTION`.
    pub description: String,
    /// When the appointment last changed (`LAST-MODIFIED`, `DTSTAMP`).
    pub updated_at: DateTime<Utc>,
}

/// An iTIP method (RFC 5546) for a calendar sent by email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// An invitation or its update.
    Request,
    /// The event is cancelled.
    Cancel,
}

/// The `UID` of an appointment's event: the same in every email and feed.
pub fn uid(appointment: Uuid) -> String {
    format!("{appointment}@carebook")
}

/// One appointment as a `VEVENT`.
pub fn event(appointment: &AppointmentEvent) -> Event {
    let status = match appointment.status {
        AppointmentStatus::Cancelled | AppointmentStatus::NoShow => EventStatus::Cancelled,
        AppointmentStatus::Pending => EventStatus::Tentative,
        _ => EventStatus::Confirmed,
    };
    Event::new()
        .uid(&uid(appointment.id))
        .sequence(u32::try_from(appointment.version.max(0)).unwrap_or(0))
        .timestamp(appointment.updated_at)
        .last_modified(appointment.updated_at)
        .starts(appointment.start)
        .ends(appointment.end)
        .summary(&appointment.summary)
        .location(&appointment.location)
        .description(&appointment.description)
        .status(status)
        .done()
}

/// A calendar of `events` named `name` (`X-WR-CALNAME`), with `method`
/// when it is sent by email (an `ORGANIZER` is then required: `organizer`,
/// a `mailto:` URI).
pub fn calendar(name: &str, events: Vec<Event>, method: Option<(Method, &str)>) -> String {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", "-//Carebook//Carebook appointments//EN"))
        .append_property(Property::new("CALSCALE", "GREGORIAN"));
    calendar.name(name);
    for mut event in events {
        if let Some((_, organizer)) = method {
            event.add_property("ORGANIZER", organizer);
        }
        calendar.push(event);
    }
    if let Some((method, _)) = method {
        let name = match method {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        };
        calendar.append_property(Property::new("METHOD", name));
    }
    calendar.done().to_string()
}
