//! Doctors' calendars: working hours and time off from each node's view of
//! their rules, live appointments read in one query for any number of doctors.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc, Weekday};
use uuid::Uuid;

use crate::db::entities::time_off;
use crate::db::schedules::{DoctorRules, WorkingHoursRow};
use crate::db::{Db, appointments};
use crate::domain::{TimeOffKind, TimeZone};
use crate::error::AppResult;
use crate::scheduling::{Calendar, Interval, TimeOff, TimeOffSpan, WorkingHoursRule};

/// One doctor's calendar, owned.
#[derive(Debug, Clone, Default)]
pub struct DoctorCalendar {
    /// Weekly working hours.
    pub working_hours: Vec<WorkingHoursRule>,
    /// Time off.
    pub time_off: Vec<TimeOff>,
    /// Live appointments.
    pub busy: Vec<Interval>,
}

impl DoctorCalendar {
    /// A view for the scheduling core.
    pub fn view(&self) -> Calendar<'_> {
        Calendar {
            working_hours: &self.working_hours,
            time_off: &self.time_off,
            busy: &self.busy,
        }
    }
}

/// ISO weekday number (1 = Monday) → chrono weekday.
pub fn weekday(number: i16) -> Option<Weekday> {
    match number {
        1 => Some(Weekday::Mon),
        2 => Some(Weekday::Tue),
        3 => Some(Weekday::Wed),
        4 => Some(Weekday::Thu),
        5 => Some(Weekday::Fri),
        6 => Some(Weekday::Sat),
        7 => Some(Weekday::Sun),
        _ => None,
    }
}

/// A stored rule as the scheduling core sees it (None if its zone or weekday is corrupt).
pub fn rule(row: &WorkingHoursRow) -> Option<WorkingHoursRule> {
    Some(WorkingHoursRule {
        facility_id: row.facility_id,
        tz: TimeZone::parse(&row.time_zone).ok()?.tz(),
        weekday: weekday(row.weekday)?,
        start: row.start_time,
        end: row.end_time,
        slot_minutes: u32::try_from(row.slot_minutes).ok()?,
        valid_from: row.valid_from,
        valid_to: row.valid_to,
    })
}

/// A stored time-off entry as the scheduling core sees it.
pub fn time_off(row: &time_off::Model) -> TimeOff {
    let span = match (row.kind, row.start_date, row.end_date) {
        (TimeOffKind::Day | TimeOffKind::DateRange, Some(first), Some(last)) => TimeOffSpan::Days { first, last },
        _ => TimeOffSpan::Instants(Interval::new(row.start_at, row.end_at)),
    };
    TimeOff {
        span,
        facility_id: row.facility_id,
    }
}

/// The local date in IANA zone `zone` at `instant` (UTC for a zone that does
/// not parse: stored zones were checked on the way in).
pub fn local_date(zone: &str, instant: DateTime<Utc>) -> NaiveDate {
    let tz = crate::domain::TimeZone::parse(zone)
        .map(crate::domain::TimeZone::tz)
        .unwrap_or(chrono_tz::UTC);
    instant.with_timezone(&tz).date_naive()
}

/// The instant local midnight of `date` begins in `tz` (the first instant
/// of the day where DST skips midnight, as in America/Santiago).
pub fn local_midnight(tz: chrono_tz::Tz, date: NaiveDate) -> DateTime<Utc> {
    use chrono::TimeZone as _;
    let local = date.and_hms_opt(0, 0, 0).expect("midnight");
    match tz.from_local_datetime(&local).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => tz
            .from_local_datetime(&(local + TimeDelta::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| local.and_utc()),
    }
}

/// The instants that surely cover local dates `from..=to` in any time zone.
pub fn window(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = from.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc() - TimeDelta::days(1);
    let end = to.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc() + TimeDelta::days(2);
    (start, end)
}

/// Calendars of `doctors` around `[from, to)`: their rules from the node's
/// view ([`crate::db::views`]) and their live appointments in one query; the
/// appointment `except` (one being moved) does not count as busy. Doctors
/// that do not exist are missing.
pub async fn load(
    db: &Db,
    doctors: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<HashMap<Uuid, DoctorCalendar>> {
    let rules = db.views().doctor_rules(db.conn(), doctors, now).await?;
    with_busy(db, &rules, from, to, except, now).await
}

/// Calendars of the doctors of `rules` around `[from, to)`: their rules and
/// their live appointments and the holds live at `now` (one query), `except`
/// not counting as busy.
pub async fn with_busy(
    db: &Db,
    rules: &HashMap<Uuid, std::sync::Arc<DoctorRules>>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<HashMap<Uuid, DoctorCalendar>> {
    let doctors: Vec<Uuid> = rules.keys().copied().collect();
    let mut calendars: HashMap<Uuid, DoctorCalendar> = rules
        .values()
        .map(|rules| (rules.doctor.id, of(rules, from, to)))
        .collect();
    for (doctor, start, end) in appointments::busy_of(db.conn(), &doctors, from, to, except, now).await? {
        if let Some(calendar) = calendars.get_mut(&doctor) {
            calendar.busy.push(Interval::new(start, end));
        }
    }
    Ok(calendars)
}

/// A doctor's calendar around `[from, to)` from their `rules`, without appointments.
pub fn of(rules: &DoctorRules, from: DateTime<Utc>, to: DateTime<Utc>) -> DoctorCalendar {
    let day = TimeDelta::days(1);
    let working_hours = rules
        .working_hours
        .iter()
        .filter_map(|row| {
            let parsed = rule(row);
            if parsed.is_none() {
                tracing::error!(working_hours = %row.id, "working hours with an invalid zone or weekday ignored");
            }
            parsed
        })
        .collect();
    let time_off = rules
        .time_off
        .iter()
        .filter(|t| t.start_at < to + day && t.end_at > from - day)
        .map(time_off)
        .collect();
    DoctorCalendar {
        working_hours,
        time_off,
        busy: Vec::new(),
    }
}
