//! Weekly working hours (FHIR R4 Schedule): one weekday, a local start and end,
//! a slot length, an optional validity period.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use chrono_tz::Tz;
use uuid::Uuid;

use super::Interval;
use super::local::{boundary_instant, grid_instant};

/// One weekly working-hours rule of a doctor at a facility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHoursRule {
    /// The facility where the hours are worked.
    pub facility_id: Uuid,
    /// The facility's time zone; `start` and `end` are wall-clock times there.
    pub tz: Tz,
    /// The day of the week.
    pub weekday: Weekday,
    /// Local start time.
    pub start: NaiveTime,
    /// Local end time, after `start` on the same day.
    pub end: NaiveTime,
    /// Slot length in minutes (the booking grid).
    pub slot_minutes: u32,
    /// First date the rule applies, inclusive.
    pub valid_from: Option<NaiveDate>,
    /// Last date the rule applies, inclusive.
    pub valid_to: Option<NaiveDate>,
}

impl WorkingHoursRule {
    /// Whether the rule applies on this local date.
    pub fn applies_on(&self, date: NaiveDate) -> bool {
        date.weekday() == self.weekday
            && self.valid_from.is_none_or(|from| date >= from)
            && self.valid_to.is_none_or(|to| date <= to)
    }

    /// The working interval on `date`, as instants.
    pub fn interval_on(&self, date: NaiveDate) -> Interval {
        Interval {
            start: boundary_instant(self.tz, date.and_time(self.start)),
            end: boundary_instant(self.tz, date.and_time(self.end)),
        }
    }

    /// The slot length.
    pub fn slot_length(&self) -> TimeDelta {
        TimeDelta::minutes(self.slot_minutes.into())
    }

    /// Grid start instants on `date`: every `slot_minutes` from the local start
    /// while before the local end, skipping local times that do not exist.
    pub fn grid_on(&self, date: NaiveDate) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let first = date.and_time(self.start);
        let last = date.and_time(self.end);
        let step = self.slot_length();
        std::iter::successors(Some(first), move |t| Some(*t + step))
            .take_while(move |t| *t < last)
            .filter_map(move |t| grid_instant(self.tz, t))
    }

    /// Whether two rules could put the doctor in two places at once: same
    /// weekday, overlapping validity and overlapping hours.
    pub fn conflicts_with(&self, other: &WorkingHoursRule) -> bool {
        self.weekday == other.weekday
            && validity_overlaps((self.valid_from, self.valid_to), (other.valid_from, other.valid_to))
            && self.start < other.end
            && other.start < self.end
    }
}

/// Whether two inclusive, possibly open-ended date ranges share a date.
pub fn validity_overlaps(a: (Option<NaiveDate>, Option<NaiveDate>), b: (Option<NaiveDate>, Option<NaiveDate>)) -> bool {
    let starts_before_end = |from: Option<NaiveDate>, to: Option<NaiveDate>| match (from, to) {
        (Some(from), Some(to)) => from <= to,
        _ => true,
    };
    starts_before_end(a.0, b.1) && starts_before_end(b.0, a.1)
}

/// What to do with an existing rule when a weekly template replaces the hours
/// of a date range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clip {
    /// Validity does not touch the range: leave it.
    Keep,
    /// Validity lies inside the range: remove the rule.
    Delete,
    /// Keep the part before the range: end it on this date.
    EndOn(NaiveDate),
    /// Keep the part after the range: start it on this date.
    StartOn(NaiveDate),
    /// Keep both parts: end this rule on the first date, and copy it starting on the second.
    Split(NaiveDate, NaiveDate),
}

/// How an existing rule's validity must change so that it no longer covers `[from, to]`.
pub fn clip(valid: (Option<NaiveDate>, Option<NaiveDate>), from: NaiveDate, to: NaiveDate) -> Clip {
    if !validity_overlaps(valid, (Some(from), Some(to))) {
        return Clip::Keep;
    }
    let keeps_before = valid.0.is_none_or(|start| start < from);
    let keeps_after = valid.1.is_none_or(|end| end > to);
    let day = TimeDelta::days(1);
    match (keeps_before, keeps_after) {
        (false, false) => Clip::Delete,
        (true, false) => Clip::EndOn(from - day),
        (false, true) => Clip::StartOn(to + day),
        (true, true) => Clip::Split(from - day, to + day),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Dhaka;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn rule(weekday: Weekday, start: &str, end: &str) -> WorkingHoursRule {
        WorkingHoursRule {
            facility_id: Uuid::nil(),
            tz: Dhaka,
            weekday,
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
            slot_minutes: 30,
            valid_from: None,
            valid_to: None,
        }
    }

    #[test]
    fn dhaka_grid_is_utc_plus_six() {
        let r = rule(Weekday::Sun, "09:00:00", "11:00:00");
        let grid: Vec<_> = r.grid_on(date("2026-11-22")).map(|t| t.to_rfc3339()).collect();
        assert_eq!(
            grid,
            [
                "2026-11-22T03:00:00+00:00",
                "2026-11-22T03:30:00+00:00",
                "2026-11-22T04:00:00+00:00",
                "2026-11-22T04:30:00+00:00"
            ]
        );
    }

    #[test]
    fn rules_conflict_only_when_day_validity_and_hours_overlap() {
        let a = rule(Weekday::Mon, "09:00:00", "12:00:00");
        let mut b = rule(Weekday::Mon, "11:30:00", "14:00:00");
        assert!(a.conflicts_with(&b));
        b.start = "12:00:00".parse().unwrap();
        assert!(!a.conflicts_with(&b), "touching ranges do not overlap");
        let mut c = rule(Weekday::Mon, "09:00:00", "12:00:00");
        c.valid_from = Some(date("2027-01-01"));
        let mut d = a;
        d.valid_to = Some(date("2026-12-31"));
        assert!(!c.conflicts_with(&d));
        assert!(!a.conflicts_with(&rule(Weekday::Tue, "09:00:00", "12:00:00")));
    }

    #[test]
    fn validity_is_only_applied_inside_its_dates() {
        let mut r = rule(Weekday::Sun, "09:00:00", "10:00:00");
        r.valid_from = Some(date("2026-11-22"));
        r.valid_to = Some(date("2026-11-29"));
        assert!(!r.applies_on(date("2026-11-15")));
        assert!(r.applies_on(date("2026-11-22")));
        assert!(r.applies_on(date("2026-11-29")));
        assert!(!r.applies_on(date("2026-12-06")));
        assert!(!r.applies_on(date("2026-11-23")), "wrong weekday");
    }

    #[test]
    fn clipping_keeps_what_lies_outside_the_range() {
        let (from, to) = (date("2026-12-01"), date("2026-12-31"));
        assert_eq!(clip((None, Some(date("2026-11-30"))), from, to), Clip::Keep);
        assert_eq!(
            clip((Some(date("2026-12-05")), Some(date("2026-12-10"))), from, to),
            Clip::Delete
        );
        assert_eq!(
            clip((None, Some(date("2026-12-10"))), from, to),
            Clip::EndOn(date("2026-11-30"))
        );
        assert_eq!(
            clip((Some(date("2026-12-10")), None), from, to),
            Clip::StartOn(date("2027-01-01"))
        );
        assert_eq!(
            clip((None, None), from, to),
            Clip::Split(date("2026-11-30"), date("2027-01-01"))
        );
    }
}
