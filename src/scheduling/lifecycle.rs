//! The appointment lifecycle (DESIGN §4):
//!
//! ```text
//! pending ──confirm──▶ confirmed ──check_in──▶ checked_in ──start──▶ in_progress ──complete──▶ completed
//!    │                    │   └──────no_show (after start + grace)──▶ no_show
//!    └──cancel──▶ cancelled ◀──cancel──┘
//! ```
//!
//! Every other transition is refused, and two are bound to the clock: a
//! check-in opens a while before the start (the setting
//! `booking.check_in_open_minutes`) and closes when the appointment's local
//! day ends, so a visit can neither be run days early nor checked in days
//! late; start and complete follow check-in. A no-show waits for the start
//! plus the grace period.

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::{AppointmentAction, AppointmentStatus};

/// A status change requested through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// pending → confirmed.
    Confirm,
    /// confirmed → checked_in.
    CheckIn,
    /// checked_in → in_progress.
    Start,
    /// in_progress → completed.
    Complete,
    /// confirmed → no_show, once the start plus the grace period has passed.
    NoShow,
    /// pending or confirmed → cancelled.
    Cancel,
}

/// Why a transition was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The lifecycle has no such edge from the current status.
    Illegal {
        /// The status the appointment is in.
        from: AppointmentStatus,
        /// The requested transition.
        transition: Transition,
    },
    /// A no-show before the start plus the grace period.
    TooEarlyForNoShow,
    /// A check-in before it opens (this many minutes before the start).
    CheckInNotOpen {
        /// How long before the start check-in opens, in minutes.
        opens_minutes: i64,
    },
    /// A check-in after the appointment's local day has ended.
    CheckInClosed,
}

impl Refusal {
    /// Stable name of the refusal (the problem's `rule` member).
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Illegal { .. } => "illegal_transition",
            Refusal::TooEarlyForNoShow => "no_show_too_early",
            Refusal::CheckInNotOpen { .. } => "check_in_not_open",
            Refusal::CheckInClosed => "check_in_closed",
        }
    }

    /// A sentence explaining the refusal.
    pub fn explain(self) -> String {
        match self {
            Refusal::Illegal { from, transition } => {
                format!("cannot {} an appointment that is {}", transition.verb(), from.as_str())
            }
            Refusal::TooEarlyForNoShow => "a no-show can only be recorded after the start plus the grace period".into(),
            Refusal::CheckInNotOpen { opens_minutes } => {
                format!("check-in opens {opens_minutes} minutes before the start")
            }
            Refusal::CheckInClosed => "the day of this appointment is over: record a no-show instead".into(),
        }
    }
}

impl Transition {
    /// The status after the transition.
    pub fn target(self) -> AppointmentStatus {
        match self {
            Transition::Confirm => AppointmentStatus::Confirmed,
            Transition::CheckIn => AppointmentStatus::CheckedIn,
            Transition::Start => AppointmentStatus::InProgress,
            Transition::Complete => AppointmentStatus::Completed,
            Transition::NoShow => AppointmentStatus::NoShow,
            Transition::Cancel => AppointmentStatus::Cancelled,
        }
    }

    /// The statuses the transition may start from.
    pub fn sources(self) -> &'static [AppointmentStatus] {
        use AppointmentStatus::*;
        match self {
            Transition::Confirm => &[Pending],
            Transition::CheckIn => &[Confirmed],
            Transition::Start => &[CheckedIn],
            Transition::Complete => &[InProgress],
            Transition::NoShow => &[Confirmed],
            Transition::Cancel => &[Pending, Confirmed],
        }
    }

    /// The event recorded for the transition.
    pub fn action(self) -> AppointmentAction {
        match self {
            Transition::Confirm => AppointmentAction::Confirmed,
            Transition::CheckIn => AppointmentAction::CheckedIn,
            Transition::Start => AppointmentAction::Started,
            Transition::Complete => AppointmentAction::Completed,
            Transition::NoShow => AppointmentAction::NoShow,
            Transition::Cancel => AppointmentAction::Cancelled,
        }
    }

    /// The verb used in messages and in the route (`check-in`).
    pub fn verb(self) -> &'static str {
        match self {
            Transition::Confirm => "confirm",
            Transition::CheckIn => "check-in",
            Transition::Start => "start",
            Transition::Complete => "complete",
            Transition::NoShow => "no-show",
            Transition::Cancel => "cancel",
        }
    }
}

/// When a transition is asked for, and the times it is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Now.
    pub now: DateTime<Utc>,
    /// The appointment's start.
    pub start: DateTime<Utc>,
    /// The end of the appointment's local day (at its facility).
    pub day_end: DateTime<Utc>,
    /// How long before the start check-in opens.
    pub check_in_opens: TimeDelta,
    /// How long after the start a no-show may be recorded.
    pub no_show_grace: TimeDelta,
}

/// Apply a transition: the new status, or why not.
pub fn apply(from: AppointmentStatus, transition: Transition, timing: Timing) -> Result<AppointmentStatus, Refusal> {
    if !transition.sources().contains(&from) {
        return Err(Refusal::Illegal { from, transition });
    }
    match transition {
        Transition::NoShow if timing.now < timing.start + timing.no_show_grace => Err(Refusal::TooEarlyForNoShow),
        Transition::CheckIn if timing.now < timing.start - timing.check_in_opens => Err(Refusal::CheckInNotOpen {
            opens_minutes: timing.check_in_opens.num_minutes(),
        }),
        Transition::CheckIn if timing.now >= timing.day_end => Err(Refusal::CheckInClosed),
        _ => Ok(transition.target()),
    }
}

/// Whether an appointment in this status may be moved to another time.
pub fn can_reschedule(status: AppointmentStatus) -> bool {
    matches!(status, AppointmentStatus::Pending | AppointmentStatus::Confirmed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppointmentStatus::*;

    const ALL_TRANSITIONS: [Transition; 6] = [
        Transition::Confirm,
        Transition::CheckIn,
        Transition::Start,
        Transition::Complete,
        Transition::NoShow,
        Transition::Cancel,
    ];

    fn timing(start: DateTime<Utc>, now: DateTime<Utc>) -> Timing {
        Timing {
            now,
            start,
            day_end: start + TimeDelta::hours(12),
            check_in_opens: TimeDelta::hours(2),
            no_show_grace: TimeDelta::minutes(15),
        }
    }

    #[test]
    fn exactly_the_edges_of_the_diagram_are_allowed() {
        let start = DateTime::parse_from_rfc3339("2026-11-22T03:00:00Z").unwrap().to_utc();
        let later = start + TimeDelta::hours(1);
        let allowed = [
            (Pending, Transition::Confirm, Confirmed),
            (Pending, Transition::Cancel, Cancelled),
            (Confirmed, Transition::CheckIn, CheckedIn),
            (Confirmed, Transition::NoShow, NoShow),
            (Confirmed, Transition::Cancel, Cancelled),
            (CheckedIn, Transition::Start, InProgress),
            (InProgress, Transition::Complete, Completed),
        ];
        for from in AppointmentStatus::ALL {
            for t in ALL_TRANSITIONS {
                let expected = allowed
                    .iter()
                    .find(|(f, tr, _)| f == from && *tr == t)
                    .map(|(_, _, to)| *to);
                let got = apply(*from, t, timing(start, later)).ok();
                assert_eq!(got, expected, "{from:?} --{t:?}-->");
            }
        }
    }

    #[test]
    fn no_show_waits_for_the_grace_period() {
        let start = DateTime::parse_from_rfc3339("2026-11-22T03:00:00Z").unwrap().to_utc();
        let early = timing(start, start + TimeDelta::minutes(10));
        assert_eq!(
            apply(Confirmed, Transition::NoShow, early),
            Err(Refusal::TooEarlyForNoShow)
        );
        let after_grace = timing(start, start + TimeDelta::minutes(15));
        assert_eq!(apply(Confirmed, Transition::NoShow, after_grace), Ok(NoShow));
    }

    #[test]
    fn check_in_opens_before_the_start_and_closes_with_the_day() {
        let start = DateTime::parse_from_rfc3339("2026-11-22T03:00:00Z").unwrap().to_utc();
        let days_early = timing(start, start - TimeDelta::days(3));
        assert_eq!(
            apply(Confirmed, Transition::CheckIn, days_early),
            Err(Refusal::CheckInNotOpen { opens_minutes: 120 })
        );
        let just_open = timing(start, start - TimeDelta::hours(2));
        assert_eq!(apply(Confirmed, Transition::CheckIn, just_open), Ok(CheckedIn));
        let late_same_day = timing(start, start + TimeDelta::hours(11));
        assert_eq!(apply(Confirmed, Transition::CheckIn, late_same_day), Ok(CheckedIn));
        let next_day = timing(start, start + TimeDelta::hours(12));
        assert_eq!(
            apply(Confirmed, Transition::CheckIn, next_day),
            Err(Refusal::CheckInClosed)
        );
    }

    #[test]
    fn only_pending_and_confirmed_can_move() {
        let movable: Vec<_> = AppointmentStatus::ALL.iter().filter(|s| can_reschedule(**s)).collect();
        assert_eq!(movable, [&Pending, &Confirmed]);
    }
}
