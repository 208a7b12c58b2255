//! Free slots: working hours minus time off minus live appointments, on the
//! working-hours grid, inside the notice and horizon limits.

use chrono::{NaiveDate, TimeDelta};

use super::{Calendar, Interval, Limits, Slot, WorkingHoursRule};
use chrono::{DateTime, Utc};

/// Candidate slots of one rule on one local date: grid starts whose slot
/// (`duration`, or the rule's slot length) ends inside the working interval.
pub(crate) fn candidates(
    rule: &WorkingHoursRule,
    date: NaiveDate,
    duration: Option<TimeDelta>,
) -> impl Iterator<Item = Slot> + '_ {
    let working = rule.interval_on(date);
    let length = duration.unwrap_or_else(|| rule.slot_length());
    rule.grid_on(date)
        .map(move |start| Slot {
            start,
            end: start + length,
            facility_id: rule.facility_id,
            tz: rule.tz,
        })
        .filter(move |slot| slot.start >= working.start && slot.end <= working.end)
}

/// The free slots on local dates `from..=to` (each rule's dates in its
/// facility's zone), sorted by start.
///
/// `duration` is the service length; without it each slot is one grid step.
pub fn available_slots(
    calendar: &Calendar<'_>,
    from: NaiveDate,
    to: NaiveDate,
    duration: Option<TimeDelta>,
    now: DateTime<Utc>,
    limits: Limits,
) -> Vec<Slot> {
    let earliest = now + limits.minimum_notice;
    let latest = now + limits.horizon;
    let mut slots: Vec<Slot> = from
        .iter_days()
        .take_while(|date| *date <= to)
        .flat_map(|date| {
            calendar
                .working_hours
                .iter()
                .filter(move |rule| rule.applies_on(date))
                .flat_map(move |rule| candidates(rule, date, duration))
        })
        .filter(|slot| slot.start >= earliest && slot.start <= latest)
        .collect();
    slots.sort_by_key(|slot| slot.start);

    let busy = merged(calendar.busy.iter());
    let mut next = 0;
    slots.retain(|slot| {
        // `busy` is sorted and disjoint and slot starts never decrease, so
        // intervals ending before this slot start end before every later one.
        while next < busy.len() && busy[next].end <= slot.start {
            next += 1;
        }
        let taken = next < busy.len() && busy[next].start < slot.end;
        !taken && !calendar.time_off.iter().any(|off| off.blocks(slot))
    });
    // One slot per start, chosen among the free ones: two facilities can
    // offer the same instant, and time off at one must not hide the other
    // (found by fuzzing, with facilities in different zones).
    slots.dedup_by_key(|slot| slot.start);
    slots
}

/// Sorted, disjoint union of the intervals.
fn merged<'a>(intervals: impl Iterator<Item = &'a Interval>) -> Vec<Interval> {
    let mut all: Vec<Interval> = intervals.copied().collect();
    all.sort_by_key(|i| i.start);
    let mut out: Vec<Interval> = Vec::with_capacity(all.len());
    for interval in all {
        match out.last_mut() {
            Some(last) if interval.start <= last.end => last.end = last.end.max(interval.end),
            _ => out.push(interval),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::{TimeOff, TimeOffSpan, check_start};
    use chrono::{NaiveTime, Weekday};
    use chrono_tz::{America::New_York, Asia::Dhaka, Tz};
    use uuid::Uuid;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn rule(tz: Tz, weekday: Weekday, start: &str, end: &str, slot: u32) -> WorkingHoursRule {
        WorkingHoursRule {
            facility_id: Uuid::nil(),
            tz,
            weekday,
            start: NaiveTime::parse_from_str(start, "%H:%M").unwrap(),
            end: NaiveTime::parse_from_str(end, "%H:%M").unwrap(),
            slot_minutes: slot,
            valid_from: None,
            valid_to: None,
        }
    }

    fn limits() -> Limits {
        Limits {
            minimum_notice: TimeDelta::hours(1),
            horizon: TimeDelta::days(90),
        }
    }

    fn starts(slots: &[Slot]) -> Vec<String> {
        slots
            .iter()
            .map(|s| s.local_start().format("%d %H:%M %Z").to_string())
            .collect()
    }

    #[test]
    fn working_hours_minus_time_off_minus_appointments() {
        let rules = [rule(Dhaka, Weekday::Sun, "09:00", "12:00", 30)];
        // 10:00–10:30 local is taken, 11:00–12:00 local is time off.
        let busy = [Interval::new(at("2026-11-22T04:00:00Z"), at("2026-11-22T04:30:00Z"))];
        let off = [TimeOff {
            span: TimeOffSpan::Instants(Interval::new(at("2026-11-22T05:00:00Z"), at("2026-11-22T06:00:00Z"))),
            facility_id: None,
        }];
        let cal = Calendar {
            working_hours: &rules,
            time_off: &off,
            busy: &busy,
        };
        let now = at("2026-11-21T00:00:00Z");
        let slots = available_slots(&cal, date("2026-11-22"), date("2026-11-22"), None, now, limits());
        assert_eq!(starts(&slots), ["22 09:00 +06", "22 09:30 +06", "22 10:30 +06"]);
    }

    #[test]
    fn a_start_offered_by_two_facilities_survives_time_off_at_one() {
        // Found by fuzzing: 09:00 in Dhaka and 22:00 (the day before) in New
        // York are one instant; the Dhaka facility is off that day.
        let dhaka = Uuid::from_u128(1);
        let mut at_dhaka = rule(Dhaka, Weekday::Mon, "09:00", "09:30", 30);
        at_dhaka.facility_id = dhaka;
        let mut at_ny = rule(New_York, Weekday::Sun, "22:00", "22:30", 30);
        at_ny.facility_id = Uuid::from_u128(2);
        let rules = [at_dhaka, at_ny];
        let off = [TimeOff {
            span: TimeOffSpan::Days {
                first: date("2026-11-23"),
                last: date("2026-11-23"),
            },
            facility_id: Some(dhaka),
        }];
        let cal = Calendar {
            working_hours: &rules,
            time_off: &off,
            busy: &[],
        };
        let now = at("2026-11-20T00:00:00Z");
        let slots = available_slots(&cal, date("2026-11-22"), date("2026-11-23"), None, now, limits());
        assert_eq!(starts(&slots), ["22 22:00 EST"]);
    }

    #[test]
    fn a_day_off_is_the_local_day_at_each_facility_and_only_where_it_applies() {
        let dhaka = Uuid::from_u128(1);
        let new_york = Uuid::from_u128(2);
        let mut at_dhaka = rule(Dhaka, Weekday::Mon, "09:00", "10:00", 30);
        at_dhaka.facility_id = dhaka;
        let mut at_ny = rule(New_York, Weekday::Mon, "18:00", "19:00", 30);
        at_ny.facility_id = new_york;
        let rules = [at_dhaka, at_ny];
        let now = at("2026-11-20T00:00:00Z");
        // Monday 23 November off, everywhere: both local Mondays go.
        let everywhere = [TimeOff {
            span: TimeOffSpan::Days {
                first: date("2026-11-23"),
                last: date("2026-11-23"),
            },
            facility_id: None,
        }];
        let cal = Calendar {
            working_hours: &rules,
            time_off: &everywhere,
            busy: &[],
        };
        assert!(available_slots(&cal, date("2026-11-23"), date("2026-11-23"), None, now, limits()).is_empty());
        // Only at the Dhaka facility: New York's Monday evening stays.
        let dhaka_only = [TimeOff {
            span: TimeOffSpan::Days {
                first: date("2026-11-23"),
                last: date("2026-11-23"),
            },
            facility_id: Some(dhaka),
        }];
        let cal = Calendar {
            working_hours: &rules,
            time_off: &dhaka_only,
            busy: &[],
        };
        let slots = available_slots(&cal, date("2026-11-23"), date("2026-11-23"), None, now, limits());
        assert_eq!(starts(&slots), ["23 18:00 EST", "23 18:30 EST"]);
    }

    #[test]
    fn notice_and_horizon_bound_the_slots() {
        let rules = [rule(Dhaka, Weekday::Sun, "09:00", "11:00", 30)];
        let cal = Calendar {
            working_hours: &rules,
            time_off: &[],
            busy: &[],
        };
        // now = 08:10 local: 09:00 is 50 minutes away (< 1 h notice), 09:30 is fine.
        let now = at("2026-11-22T02:10:00Z");
        let slots = available_slots(&cal, date("2026-11-22"), date("2026-11-22"), None, now, limits());
        assert_eq!(starts(&slots), ["22 09:30 +06", "22 10:00 +06", "22 10:30 +06"]);
        let far = available_slots(&cal, date("2027-03-01"), date("2027-03-31"), None, now, limits());
        assert!(far.is_empty(), "beyond the 90-day horizon");
    }

    #[test]
    fn longer_services_must_fit_before_the_end() {
        let rules = [rule(Dhaka, Weekday::Sun, "09:00", "11:00", 30)];
        let cal = Calendar {
            working_hours: &rules,
            time_off: &[],
            busy: &[],
        };
        let now = at("2026-11-21T00:00:00Z");
        let slots = available_slots(
            &cal,
            date("2026-11-22"),
            date("2026-11-22"),
            Some(TimeDelta::minutes(60)),
            now,
            limits(),
        );
        assert_eq!(starts(&slots), ["22 09:00 +06", "22 09:30 +06", "22 10:00 +06"]);
        assert!(slots.iter().all(|s| s.end - s.start == TimeDelta::minutes(60)));
    }

    #[test]
    fn new_york_spring_forward_skips_the_missing_hour() {
        // Sunday 2027-03-14: 02:00 EST jumps to 03:00 EDT.
        let rules = [rule(New_York, Weekday::Sun, "01:00", "04:00", 30)];
        let cal = Calendar {
            working_hours: &rules,
            time_off: &[],
            busy: &[],
        };
        let now = at("2027-03-01T00:00:00Z");
        let slots = available_slots(&cal, date("2027-03-14"), date("2027-03-14"), None, now, limits());
        assert_eq!(
            starts(&slots),
            ["14 01:00 EST", "14 01:30 EST", "14 03:00 EDT", "14 03:30 EDT"]
        );
        // Each slot lasts 30 real minutes and none overlap.
        for pair in slots.windows(2) {
            assert!(pair[0].end <= pair[1].start);
        }
        assert_eq!(slots[1].end, slots[2].start, "01:30 EST + 30 min is 03:00 EDT");
    }

    #[test]
    fn new_york_fall_back_takes_the_repeated_hour_once() {
        // Sunday 2026-11-01: 02:00 EDT falls back to 01:00 EST.
        let rules = [rule(New_York, Weekday::Sun, "00:00", "03:00", 30)];
        let cal = Calendar {
            working_hours: &rules,
            time_off: &[],
            busy: &[],
        };
        let now = at("2026-10-20T00:00:00Z");
        let slots = available_slots(&cal, date("2026-11-01"), date("2026-11-01"), None, now, limits());
        assert_eq!(
            starts(&slots),
            [
                "01 00:00 EDT",
                "01 00:30 EDT",
                "01 01:00 EDT",
                "01 01:30 EDT",
                "01 02:00 EST",
                "01 02:30 EST"
            ]
        );
        for pair in slots.windows(2) {
            assert!(pair[0].end <= pair[1].start, "slots never overlap");
        }
    }

    #[test]
    fn new_york_offsets_change_across_the_dst_weekend() {
        let rules = [
            rule(New_York, Weekday::Sat, "09:00", "09:30", 30),
            rule(New_York, Weekday::Mon, "09:00", "09:30", 30),
        ];
        let cal = Calendar {
            working_hours: &rules,
            time_off: &[],
            busy: &[],
        };
        let now = at("2027-03-01T00:00:00Z");
        let slots = available_slots(&cal, date("2027-03-13"), date("2027-03-15"), None, now, limits());
        let utc: Vec<_> = slots.iter().map(|s| s.start.to_rfc3339()).collect();
        assert_eq!(utc, ["2027-03-13T14:00:00+00:00", "2027-03-15T13:00:00+00:00"]);
    }

    #[test]
    fn every_listed_slot_is_bookable_and_nothing_else_on_the_grid_is() {
        let rules = [
            rule(New_York, Weekday::Sun, "00:00", "04:00", 20),
            rule(New_York, Weekday::Mon, "09:00", "17:00", 45),
        ];
        let busy = [Interval::new(at("2027-03-15T14:00:00Z"), at("2027-03-15T15:10:00Z"))];
        let cal = Calendar {
            working_hours: &rules,
            time_off: &[],
            busy: &busy,
        };
        let now = at("2027-03-01T00:00:00Z");
        let slots = available_slots(&cal, date("2027-03-14"), date("2027-03-15"), None, now, limits());
        assert!(!slots.is_empty());
        for slot in &slots {
            let booked = check_start(&cal, slot.start, None, now, limits()).expect("listed slot is bookable");
            assert_eq!(booked, *slot);
        }
        // Every 5 minutes through both days: bookable exactly when listed.
        let mut t = at("2027-03-14T04:00:00Z");
        while t < at("2027-03-16T04:00:00Z") {
            let listed = slots.iter().any(|s| s.start == t);
            assert_eq!(check_start(&cal, t, None, now, limits()).is_ok(), listed, "at {t}");
            t += TimeDelta::minutes(5);
        }
    }
}
