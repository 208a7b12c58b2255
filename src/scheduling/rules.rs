//! The booking rules of DESIGN §4, checked for one requested start.

use chrono::{DateTime, TimeDelta, Utc};

use super::slots::candidates;
use super::{Calendar, Interval, Limits, Slot};

/// A booking rule that refused a request. `code()` is the name clients see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingRule {
    /// The start is before now.
    StartInPast,
    /// The start is closer than the minimum notice.
    MinimumNotice,
    /// The start is beyond the booking horizon.
    BookingHorizon,
    /// The start is not inside the doctor's working hours.
    OutsideWorkingHours,
    /// The start is inside working hours but the appointment would run past their end.
    RunsPastWorkingHours,
    /// The start is inside working hours but not on the slot grid.
    OffSlotGrid,
    /// The appointment would overlap the doctor's time off.
    TimeOff,
    /// The doctor already has a live appointment overlapping this one.
    DoctorUnavailable,
    /// The patient already has a live appointment overlapping this one.
    PatientUnavailable,
    /// The doctor does not offer the requested service.
    ServiceNotOffered,
}

impl BookingRule {
    /// Stable snake_case name of the rule (the problem's `rule` member).
    pub fn code(self) -> &'static str {
        match self {
            BookingRule::StartInPast => "start_in_past",
            BookingRule::MinimumNotice => "minimum_notice",
            BookingRule::BookingHorizon => "booking_horizon",
            BookingRule::OutsideWorkingHours | BookingRule::RunsPastWorkingHours => "outside_working_hours",
            BookingRule::OffSlotGrid => "off_slot_grid",
            BookingRule::TimeOff => "time_off",
            BookingRule::DoctorUnavailable => "doctor_unavailable",
            BookingRule::PatientUnavailable => "patient_unavailable",
            BookingRule::ServiceNotOffered => "service_not_offered",
        }
    }

    /// A sentence explaining the refusal.
    pub fn explain(self, limits: Limits) -> String {
        match self {
            BookingRule::StartInPast => "the start is in the past".into(),
            BookingRule::MinimumNotice => format!(
                "the start must be at least {} minutes from now",
                limits.minimum_notice.num_minutes()
            ),
            BookingRule::BookingHorizon => {
                format!("the start must be within {} days from now", limits.horizon.num_days())
            }
            BookingRule::OutsideWorkingHours => "the start is outside the doctor's working hours".into(),
            BookingRule::RunsPastWorkingHours => {
                "the appointment would run past the end of the doctor's working hours".into()
            }
            BookingRule::OffSlotGrid => "the start is not on the slot grid of the doctor's working hours".into(),
            BookingRule::TimeOff => "the doctor is on time off then".into(),
            BookingRule::DoctorUnavailable => "the doctor already has an appointment at that time".into(),
            BookingRule::PatientUnavailable => "the patient already has an appointment at that time".into(),
            BookingRule::ServiceNotOffered => "the doctor does not offer this service".into(),
        }
    }

    /// Whether the refusal is a conflict with other bookings (HTTP 409) rather
    /// than a request that can never succeed as sent (HTTP 422).
    pub fn is_conflict(self) -> bool {
        matches!(self, BookingRule::DoctorUnavailable | BookingRule::PatientUnavailable)
    }
}

/// Check a requested start against every rule that needs no database: time,
/// notice, horizon, working hours, grid, time off and the doctor's busy times.
///
/// Returns the slot (with its facility) on success. `duration` is the
/// service length; without it the appointment lasts one grid step.
pub fn check_start(
    calendar: &Calendar<'_>,
    start: DateTime<Utc>,
    duration: Option<TimeDelta>,
    now: DateTime<Utc>,
    limits: Limits,
) -> Result<Slot, BookingRule> {
    if start < now {
        return Err(BookingRule::StartInPast);
    }
    if start < now + limits.minimum_notice {
        return Err(BookingRule::MinimumNotice);
    }
    if start > now + limits.horizon {
        return Err(BookingRule::BookingHorizon);
    }

    let mut inside = false;
    let mut runs_past = false;
    let mut found = None;
    for rule in calendar.working_hours {
        let date = start.with_timezone(&rule.tz).date_naive();
        if !rule.applies_on(date) {
            continue;
        }
        let working = rule.interval_on(date);
        if !(working.start <= start && start < working.end) {
            continue;
        }
        inside = true;
        if let Some(slot) = candidates(rule, date, duration).find(|slot| slot.start == start) {
            found = Some(slot);
            break;
        }
        let length = duration.unwrap_or_else(|| rule.slot_length());
        runs_past |= rule.grid_on(date).any(|t| t == start) && start + length > working.end;
    }
    let slot = match found {
        Some(slot) => slot,
        None if runs_past => return Err(BookingRule::RunsPastWorkingHours),
        None if inside => return Err(BookingRule::OffSlotGrid),
        None => return Err(BookingRule::OutsideWorkingHours),
    };

    let wanted = Interval::new(slot.start, slot.end);
    if calendar.time_off.iter().any(|off| off.blocks(&slot)) {
        return Err(BookingRule::TimeOff);
    }
    if calendar.busy.iter().any(|busy| busy.overlaps(&wanted)) {
        return Err(BookingRule::DoctorUnavailable);
    }
    Ok(slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::{TimeOff, TimeOffSpan, WorkingHoursRule};
    use chrono::Weekday;
    use chrono_tz::{America::New_York, Asia::Dhaka};
    use uuid::Uuid;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn limits() -> Limits {
        Limits {
            minimum_notice: TimeDelta::hours(1),
            horizon: TimeDelta::days(90),
        }
    }

    fn sunday_clinic() -> [WorkingHoursRule; 1] {
        [WorkingHoursRule {
            facility_id: Uuid::nil(),
            tz: Dhaka,
            weekday: Weekday::Sun,
            start: "09:00:00".parse().unwrap(),
            end: "12:00:00".parse().unwrap(),
            slot_minutes: 30,
            valid_from: None,
            valid_to: None,
        }]
    }

    #[test]
    fn each_rule_is_named() {
        let rules = sunday_clinic();
        let off = [TimeOff {
            span: TimeOffSpan::Instants(Interval::new(at("2026-11-22T05:00:00Z"), at("2026-11-22T06:00:00Z"))),
            facility_id: None,
        }];
        let busy = [Interval::new(at("2026-11-22T03:30:00Z"), at("2026-11-22T04:00:00Z"))];
        let cal = Calendar {
            working_hours: &rules,
            time_off: &off,
            busy: &busy,
        };
        let now = at("2026-11-22T02:10:00Z"); // 08:10 in Dhaka
        let check = |start: &str, minutes: Option<i64>| {
            check_start(&cal, at(start), minutes.map(TimeDelta::minutes), now, limits()).map(|_| ())
        };
        assert_eq!(check("2026-11-22T02:00:00Z", None), Err(BookingRule::StartInPast));
        assert_eq!(check("2026-11-22T03:00:00Z", None), Err(BookingRule::MinimumNotice));
        assert_eq!(check("2027-03-07T03:00:00Z", None), Err(BookingRule::BookingHorizon));
        assert_eq!(
            check("2026-11-22T08:00:00Z", None),
            Err(BookingRule::OutsideWorkingHours)
        );
        assert_eq!(
            check("2026-11-23T04:00:00Z", None),
            Err(BookingRule::OutsideWorkingHours)
        );
        assert_eq!(check("2026-11-22T04:10:00Z", None), Err(BookingRule::OffSlotGrid));
        assert_eq!(check("2026-11-22T05:30:00Z", None), Err(BookingRule::TimeOff));
        assert_eq!(check("2026-11-22T03:30:00Z", None), Err(BookingRule::DoctorUnavailable));
        assert_eq!(check("2026-11-22T04:30:00Z", Some(60)), Err(BookingRule::TimeOff));
        assert_eq!(
            check("2026-11-29T05:30:00Z", Some(60)),
            Err(BookingRule::RunsPastWorkingHours)
        );
        assert_eq!(check("2026-11-22T04:00:00Z", None), Ok(()));
    }

    #[test]
    fn a_start_in_the_spring_forward_gap_does_not_exist_on_the_grid() {
        let rules = [WorkingHoursRule {
            facility_id: Uuid::nil(),
            tz: New_York,
            weekday: Weekday::Sun,
            start: "01:00:00".parse().unwrap(),
            end: "04:00:00".parse().unwrap(),
            slot_minutes: 30,
            valid_from: None,
            valid_to: None,
        }];
        let cal = Calendar {
            working_hours: &rules,
            time_off: &[],
            busy: &[],
        };
        let now = at("2027-03-01T00:00:00Z");
        // 06:30Z is 01:30 EST (bookable); 07:00Z is 03:00 EDT (bookable);
        // 07:15Z is 03:15 EDT (off the grid).
        assert!(check_start(&cal, at("2027-03-14T06:30:00Z"), None, now, limits()).is_ok());
        assert!(check_start(&cal, at("2027-03-14T07:00:00Z"), None, now, limits()).is_ok());
        assert_eq!(
            check_start(&cal, at("2027-03-14T07:15:00Z"), None, now, limits()),
            Err(BookingRule::OffSlotGrid)
        );
    }
}
