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

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
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

/// When a doctor is off: whole local days (read in each facility's own zone)
/// or an exact range of instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeOffSpan {
    /// Local dates `first..=last`.
    Days {
        /// First day off.
        first: NaiveDate,
        /// Last day off.
        last: NaiveDate,
    },
    /// An exact range of instants.
    Instants(Interval),
}

/// A dated exception to working hours (FHIR R4 Slot busy-unavailable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOff {
    /// When.
    pub span: TimeOffSpan,
    /// Only at this facility; `None` for every facility.
    pub facility_id: Option<Uuid>,
}

impl TimeOff {
    /// Whether this time off takes away `slot`.
    pub fn blocks(&self, slot: &Slot) -> bool {
        if self.facility_id.is_some_and(|f| f != slot.facility_id) {
            return false;
        }
        match self.span {
            TimeOffSpan::Instants(off) => off.overlaps(&Interval::new(slot.start, slot.end)),
            TimeOffSpan::Days { first, last } => {
                let start_day = slot.local_start().date_naive();
                // A slot ending exactly at midnight does not touch the next day.
                let end_day = (slot.end - TimeDelta::nanoseconds(1))
                    .with_timezone(&slot.tz)
                    .date_naive();
                start_day <= last && end_day >= first
            }
        }
    }
}

/// What is known of one doctor's time: weekly working hours, time off and the
/// intervals already taken by live appointments.
#[derive(Debug, Clone, Copy)]
pub struct Calendar<'a> {
    /// Weekly working hours, at any of the doctor's facilities.
    pub working_hours: &'a [WorkingHoursRule],
    /// Time off.
    pub time_off: &'a [TimeOff],
    /// Live appointments, as instants (they block every facility: a doctor is in one place).
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
