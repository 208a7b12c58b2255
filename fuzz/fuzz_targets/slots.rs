//! The slot computation against a plain restatement of its contract, on
//! weekly rules of up to two facilities in zones chosen for awkward DST (Lord
//! Howe's half hour, Chatham's 45-minute offset, Santiago and Havana changing
//! at midnight, Casablanca's Ramadan change) over two years of dates:
//!
//! - every slot is a grid time of a rule that applies on its local date,
//!   inside that day's working hours, at the first occurrence of its local
//!   time, inside notice and horizon, clear of appointments and time off;
//! - starts are strictly increasing;
//! - every such free grid time is offered (nothing is lost by the sweep).
#![no_main]

use std::collections::BTreeSet;

use arbitrary::Arbitrary;
use carebook::scheduling::{Calendar, Interval, Limits, Slot, TimeOff, TimeOffSpan, WorkingHoursRule, available_slots};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;

const ZONES: [Tz; 10] = [
    chrono_tz::Asia::Dhaka,
    chrono_tz::America::New_York,
    chrono_tz::Europe::London,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Pacific::Chatham,
    chrono_tz::America::Santiago,
    chrono_tz::America::Havana,
    chrono_tz::Africa::Casablanca,
    chrono_tz::Asia::Kathmandu,
    chrono_tz::UTC,
];

#[derive(Arbitrary, Debug)]
struct Input {
    zones: [u8; 2],
    rules: Vec<RuleIn>,
    time_off: Vec<OffIn>,
    busy: Vec<BusyIn>,
    /// First local date, in days after 2026-01-01.
    from: u16,
    /// Extra days after `from`.
    span: u8,
    /// Service length in minutes, if any.
    duration: Option<u16>,
    /// `now`, in minutes after 2026-01-01T00:00Z (may be negative).
    now: i32,
    notice_minutes: u16,
    horizon_days: u16,
}

#[derive(Arbitrary, Debug)]
struct RuleIn {
    second_facility: bool,
    weekday: u8,
    start_minute: u16,
    length_minutes: u16,
    slot_minutes: u16,
    valid_from: Option<u16>,
    valid_to: Option<u16>,
}

#[derive(Arbitrary, Debug)]
struct OffIn {
    whole_days: bool,
    /// Days (whole-day time off) or minutes after the base.
    first: u32,
    length: u32,
    facility: Option<bool>,
}

#[derive(Arbitrary, Debug)]
struct BusyIn {
    start_minute: u32,
    length_minutes: u16,
}

fn base_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

fn base_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn day(offset: u16) -> NaiveDate {
    base_date() + TimeDelta::days(i64::from(offset % 800))
}

fn minutes(m: i64) -> DateTime<Utc> {
    base_instant() + TimeDelta::minutes(m)
}

fuzz_target!(|input: Input| {
    let facilities = [Uuid::from_u128(1), Uuid::from_u128(2)];
    let zones = input.zones.map(|z| ZONES[usize::from(z) % ZONES.len()]);
    // Rules as the API accepts them: start before end, a 5–480 minute grid,
    // none conflicting with another.
    let mut rules: Vec<WorkingHoursRule> = Vec::new();
    for r in input.rules.iter().take(6) {
        let start = u32::from(r.start_minute % 1440);
        let end = (start + 1 + u32::from(r.length_minutes % 1440)).min(1439);
        if end <= start {
            continue;
        }
        let time = |m: u32| NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap();
        let f = usize::from(r.second_facility);
        let rule = WorkingHoursRule {
            facility_id: facilities[f],
            tz: zones[f],
            weekday: Weekday::try_from(r.weekday % 7).unwrap(),
            start: time(start),
            end: time(end),
            slot_minutes: 5 + u32::from(r.slot_minutes % 476),
            valid_from: r.valid_from.map(day),
            valid_to: r.valid_to.map(day),
        };
        if !rules.iter().any(|other| other.conflicts_with(&rule)) {
            rules.push(rule);
        }
    }
    let time_off: Vec<TimeOff> = input
        .time_off
        .iter()
        .take(4)
        .map(|o| TimeOff {
            span: if o.whole_days {
                let first = day((o.first % 800) as u16);
                TimeOffSpan::Days {
                    first,
                    last: first + TimeDelta::days(i64::from(o.length % 30)),
                }
            } else {
                let start = minutes(i64::from(o.first % (800 * 1440)));
                TimeOffSpan::Instants(Interval::new(
                    start,
                    start + TimeDelta::minutes(1 + i64::from(o.length % (3 * 1440))),
                ))
            },
            facility_id: o.facility.map(|second| facilities[usize::from(second)]),
        })
        .collect();
    let busy: Vec<Interval> = input
        .busy
        .iter()
        .take(12)
        .map(|b| {
            let start = minutes(i64::from(b.start_minute % (800 * 1440)));
            Interval::new(start, start + TimeDelta::minutes(1 + i64::from(b.length_minutes % 600)))
        })
        .collect();
    let from = day(input.from);
    let to = from + TimeDelta::days(i64::from(input.span % 15));
    let duration = input.duration.map(|d| TimeDelta::minutes(5 + i64::from(d % 476)));
    let now = minutes(i64::from(input.now % (900 * 1440)));
    let limits = Limits {
        minimum_notice: TimeDelta::minutes(i64::from(input.notice_minutes % 2880)),
        horizon: TimeDelta::days(1 + i64::from(input.horizon_days % 400)),
    };
    let calendar = Calendar {
        working_hours: &rules,
        time_off: &time_off,
        busy: &busy,
    };

    let slots = available_slots(&calendar, from, to, duration, now, limits);

    let earliest = now + limits.minimum_notice;
    let latest = now + limits.horizon;
    let free = |slot: &Slot| {
        slot.start >= earliest
            && slot.start <= latest
            && !busy.iter().any(|b| b.overlaps(&Interval::new(slot.start, slot.end)))
            && !time_off.iter().any(|off| off.blocks(slot))
    };
    for pair in slots.windows(2) {
        assert!(pair[0].start < pair[1].start, "not strictly increasing: {pair:?}");
    }
    for slot in &slots {
        assert!(free(slot), "offered but not free: {slot:?}");
        let local = slot.local_start().naive_local();
        let date = local.date();
        assert!(from <= date && date <= to, "outside the dates: {slot:?}");
        let on_grid = rules.iter().any(|rule| {
            let working = rule.interval_on(date);
            let since_start = (local - date.and_time(rule.start)).num_minutes();
            rule.facility_id == slot.facility_id
                && rule.tz == slot.tz
                && rule.applies_on(date)
                && since_start >= 0
                && since_start % i64::from(rule.slot_minutes) == 0
                && local < date.and_time(rule.end)
                && slot.start >= working.start
                && slot.end <= working.end
                && slot.end - slot.start == duration.unwrap_or_else(|| rule.slot_length())
        });
        assert!(
            on_grid,
            "not a grid time inside working hours: {slot:?} {:?}",
            slot.local_start()
        );
        assert_eq!(
            slot.tz
                .from_local_datetime(&local)
                .earliest()
                .map(|t| t.with_timezone(&Utc)),
            Some(slot.start),
            "not the first occurrence of its local time: {slot:?}"
        );
    }
    // Everything free on the grid is offered.
    let offered: BTreeSet<DateTime<Utc>> = slots.iter().map(|s| s.start).collect();
    for date in from.iter_days().take_while(|d| *d <= to) {
        for rule in rules.iter().filter(|r| r.applies_on(date)) {
            let working = rule.interval_on(date);
            let step = rule.slot_length();
            let mut wall = date.and_time(rule.start);
            while wall < date.and_time(rule.end) {
                if let Some(start) = rule.tz.from_local_datetime(&wall).earliest() {
                    let start = start.with_timezone(&Utc);
                    let slot = Slot {
                        start,
                        end: start + duration.unwrap_or(step),
                        facility_id: rule.facility_id,
                        tz: rule.tz,
                    };
                    if slot.start >= working.start && slot.end <= working.end && free(&slot) {
                        assert!(
                            offered.contains(&start),
                            "free grid time not offered: {slot:?} on {date}"
                        );
                    }
                }
                wall += step;
            }
        }
    }
});
