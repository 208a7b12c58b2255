//! The appointment lifecycle (DESIGN §4):
//!
//! ```text
//! pending ──confirm──▶ confirmed ──check_in──▶ checked_in ──start──▶ in_progress ──complete──▶ completed
//!    │                    │   └──────no_show (after start + grace)──▶ no_show
//!    └──cancel──▶ cancelled ◀──cancel──┘
//! ```
//!
//! Every other transition is refused.

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
}

impl Refusal {
    /// Stable name of the refusal (the problem's `rule` member).
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Illegal { .. } => "illegal_transition",
            Refusal::TooEarlyForNoShow => "no_show_too_early",
        }
    }

    /// A sentence explaining the refusal.
    pub fn explain(self) -> String {
        match self {
            Refusal::Illegal { from, transition } => {
                format!("cannot {} an appointment that is {}", transition.verb(), from.as_str())
            }
            Refusal::TooEarlyForNoShow => "a no-show can only be recorded after the start plus the grace period".into(),
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

/// Apply a transition: the new status, or why not.
///
/// `start` and `no_show_grace` matter only for [`Transition::NoShow`].
pub fn apply(
    from: AppointmentStatus,
    transition: Transition,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    no_show_grace: TimeDelta,
) -> Result<AppointmentStatus, Refusal> {
    if !transition.sources().contains(&from) {
        return Err(Refusal::Illegal { from, transition });
    }
    if transition == Transition::NoShow && now < start + no_show_grace {
        return Err(Refusal::TooEarlyForNoShow);
    }
    Ok(transition.target())
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
                let got = apply(*from, t, start, later, TimeDelta::minutes(15)).ok();
                assert_eq!(got, expected, "{from:?} --{t:?}-->");
            }
        }
    }

    #[test]
    fn no_show_waits_for_the_grace_period() {
        let start = DateTime::parse_from_rfc3339("2026-11-22T03:00:00Z").unwrap().to_utc();
        let grace = TimeDelta::minutes(15);
        assert_eq!(
            apply(
                Confirmed,
                Transition::NoShow,
                start,
                start + TimeDelta::minutes(10),
                grace
            ),
            Err(Refusal::TooEarlyForNoShow)
        );
        assert_eq!(
            apply(Confirmed, Transition::NoShow, start, start + grace, grace),
            Ok(NoShow)
        );
    }

    #[test]
    fn only_pending_and_confirmed_can_move() {
        let movable: Vec<_> = AppointmentStatus::ALL.iter().filter(|s| can_reschedule(**s)).collect();
        assert_eq!(movable, [&Pending, &Confirmed]);
    }
}
