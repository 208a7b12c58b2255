//! The scheduling core: working hours, time off, slots, booking rules, the
//! appointment lifecycle. Pure functions over plain data; no database, no
//! HTTP, no clock (the caller passes `now`).
//!
//! Time model (DESIGN §1.3): instants are UTC; working hours are wall-clock
//! times in the facility's IANA zone; slots are generated on the local grid and
//! converted. A local time that does not exist (spring forward) is skipped; one
//! that happens twice (fall back) is taken once, at its first occurrence.

pub mod lifecycle;
mod local;
mod rules;
mod slots;
pub mod working_hours;

pub use rules::{BookingRule, check_start};
pub use slots::available_slots;
pub use working_hours::WorkingHoursRule;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

/// A half-open interval of instants, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// First instant inside.
    pub start: DateTime<Utc>,
    /// First instant after.
    pub end: DateTime<Utc>,
}

impl Interval {
    /// An interval; `end` must be after `start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Interval {
        debug_assert!(start < end, "empty interval");
        Interval { start, end }
    }

    /// Whether the two intervals share at least one instant.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// A bookable interval on a doctor's working-hours grid (FHIR R4 Slot, free).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Start, UTC.
    pub start: DateTime<Utc>,
    /// End, UTC.
    pub end: DateTime<Utc>,
    /// The facility whose working hours produced the slot.
    pub facility_id: Uuid,
    /// The facility's time zone.
    pub tz: Tz,
}

impl Slot {
    /// Start in the facility's local time.
    pub fn local_start(&self) -> DateTime<Tz> {
        self.start.with_timezone(&self.tz)
    }

    /// End in the facility's local time.
    pub fn local_end(&self) -> DateTime<Tz> {
        self.end.with_timezone(&self.tz)
    }
}

/// What is known of one doctor's time: weekly working hours, time off and the
/// intervals already taken by live appointments.
#[derive(Debug, Clone, Copy)]
pub struct Calendar<'a> {
    /// Weekly working hours, at any of the doctor's facilities.
    pub working_hours: &'a [WorkingHoursRule],
    /// Time off, as instants.
    pub time_off: &'a [Interval],
    /// Live appointments, as instants.
    pub busy: &'a [Interval],
}

/// The numbers the booking rules use (DESIGN §4).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A start must be at least this far after now.
    pub minimum_notice: TimeDelta,
    /// A start must be no further than this after now.
    pub horizon: TimeDelta,
}
