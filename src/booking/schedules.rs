//! Changing a doctor's schedule: working hours (one rule, or a weekly
//! template over a date range) and time off. Changes of one doctor are
//! serialised, so two rules that would put the doctor in two places at once
//! can never both be saved.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, IntoActiveModel};
use uuid::Uuid;

use super::calendar;
use crate::db::entities::{time_off, working_hours};
use crate::db::{self, appointments, directory, schedules};
use crate::domain::{TimeOffKind, TimeZone};
use crate::error::{AppError, AppResult};
use crate::scheduling::WorkingHoursRule;
use crate::scheduling::working_hours::{Clip, clip};
use crate::state::AppState;

/// Longest time off accepted in one entry.
pub const MAX_TIME_OFF_DAYS: i64 = 366;

/// A working-hours rule as given.
#[derive(Debug, Clone, Copy)]
pub struct HoursInput {
    /// Facility where the hours are worked.
    pub facility_id: Uuid,
    /// Day of the week.
    pub weekday: Weekday,
    /// Local start.
    pub start: NaiveTime,
    /// Local end, after the start.
    pub end: NaiveTime,
    /// Booking grid in minutes.
    pub slot_minutes: u32,
    /// First date (inclusive).
    pub valid_from: Option<NaiveDate>,
    /// Last date (inclusive).
    pub valid_to: Option<NaiveDate>,
}

/// ISO weekday number (1 = Monday … 7 = Sunday).
pub fn weekday_number(weekday: Weekday) -> i16 {
    weekday.number_from_monday() as i16
}

fn as_rule(row: &working_hours::Model) -> Option<WorkingHoursRule> {
    Some(WorkingHoursRule {
        facility_id: row.facility_id,
        tz: chrono_tz::UTC,
        weekday: calendar::weekday(row.weekday)?,
        start: row.start_time,
        end: row.end_time,
        slot_minutes: u32::try_from(row.slot_minutes).ok()?,
        valid_from: row.valid_from,
        valid_to: row.valid_to,
    })
}

fn input_rule(input: &HoursInput) -> WorkingHoursRule {
    WorkingHoursRule {
        facility_id: input.facility_id,
        tz: chrono_tz::UTC,
        weekday: input.weekday,
        start: input.start,
        end: input.end,
        slot_minutes: input.slot_minutes,
        valid_from: input.valid_from,
        valid_to: input.valid_to,
    }
}

/// Check one input's own consistency. Errors: 422 naming the field.
pub fn check_input(input: &HoursInput, field_prefix: &str) -> AppResult<()> {
    if input.end <= input.start {
        return Err(AppError::invalid_field(
            format!("{field_prefix}end_time"),
            "must be after start_time",
        ));
    }
    if !(5..=480).contains(&input.slot_minutes) {
        return Err(AppError::invalid_field(
            format!("{field_prefix}slot_minutes"),
            "must be between 5 and 480",
        ));
    }
    if let (Some(from), Some(to)) = (input.valid_from, input.valid_to)
        && to < from
    {
        return Err(AppError::invalid_field(
            format!("{field_prefix}valid_to"),
            "must not be before valid_from",
        ));
    }
    Ok(())
}

fn describe(rule: &WorkingHoursRule) -> String {
    format!(
        "{} {}–{}",
        rule.weekday,
        rule.start.format("%H:%M"),
        rule.end.format("%H:%M")
    )
}

fn overlap_error(a: &WorkingHoursRule, b: &WorkingHoursRule) -> AppError {
    AppError::conflict(
        "working_hours_overlap",
        format!("{} overlaps {} in the same period", describe(a), describe(b)),
    )
}

async fn check_facilities(db: &impl ConnectionTrait, inputs: &[HoursInput]) -> AppResult<()> {
    let mut seen = Vec::new();
    for input in inputs {
        if seen.contains(&input.facility_id) {
            continue;
        }
        if directory::find_facility(db, input.facility_id).await?.is_none() {
            return Err(AppError::invalid_field("facility_id", "no such facility"));
        }
        seen.push(input.facility_id);
    }
    Ok(())
}

fn row(doctor: Uuid, input: &HoursInput, now: DateTime<Utc>) -> working_hours::Model {
    working_hours::Model {
        id: Uuid::new_v4(),
        doctor_id: doctor,
        facility_id: input.facility_id,
        weekday: weekday_number(input.weekday),
        start_time: input.start,
        end_time: input.end,
        slot_minutes: input.slot_minutes as i32,
        valid_from: input.valid_from,
        valid_to: input.valid_to,
        created_at: now,
        updated_at: now,
    }
}

/// Add working-hours rules for `doctor`. With `replace = Some((from, to))`
/// the doctor's existing hours on those dates are removed first (rules are
/// shortened, split or deleted), which is how a weekly template is applied
/// over a date range. All or nothing.
///
/// Errors: 422 for an unknown facility; 409 `working_hours_overlap` when two
/// rules would overlap.
pub async fn add_hours(
    state: &AppState,
    doctor: Uuid,
    inputs: &[HoursInput],
    replace: Option<(NaiveDate, NaiveDate)>,
) -> AppResult<Vec<working_hours::Model>> {
    check_facilities(state.db.conn(), inputs).await?;
    let now = state.clock.now();
    let txn = state.db.begin_write().await?;
    schedules::lock_doctor(&txn, doctor).await?;
    let mut kept: Vec<WorkingHoursRule> = Vec::new();
    for existing in schedules::list_working_hours(&txn, doctor).await? {
        let action = match replace {
            Some((from, to)) => clip((existing.valid_from, existing.valid_to), from, to),
            None => Clip::Keep,
        };
        let survivors = apply_clip(&txn, &existing, action, now).await?;
        kept.extend(survivors.iter().filter_map(as_rule));
    }
    let mut created = Vec::with_capacity(inputs.len());
    for input in inputs {
        let candidate = input_rule(input);
        if let Some(other) = kept.iter().find(|r| r.conflicts_with(&candidate)) {
            return Err(overlap_error(&candidate, other));
        }
        kept.push(candidate);
        let new = row(doctor, input, now);
        db::insert_row::<working_hours::ActiveModel>(&txn, new.clone()).await?;
        created.push(new);
    }
    txn.commit().await?;
    Ok(created)
}

/// Apply a clip to a stored rule; returns the rules that remain of it.
async fn apply_clip(
    db: &impl ConnectionTrait,
    existing: &working_hours::Model,
    action: Clip,
    now: DateTime<Utc>,
) -> AppResult<Vec<working_hours::Model>> {
    let set_validity = |from: Option<NaiveDate>, to: Option<NaiveDate>| {
        let mut active = existing.clone().into_active_model();
        active.valid_from = Set(from);
        active.valid_to = Set(to);
        active.updated_at = Set(now);
        active
    };
    Ok(match action {
        Clip::Keep => vec![existing.clone()],
        Clip::Delete => {
            directory::delete_row::<working_hours::Entity>(db, existing.id).await?;
            vec![]
        }
        Clip::EndOn(last) => vec![set_validity(existing.valid_from, Some(last)).update(db).await?],
        Clip::StartOn(first) => vec![set_validity(Some(first), existing.valid_to).update(db).await?],
        Clip::Split(last, first) => {
            let before = set_validity(existing.valid_from, Some(last)).update(db).await?;
            let after = working_hours::Model {
                id: Uuid::new_v4(),
                valid_from: Some(first),
                created_at: now,
                updated_at: now,
                ..existing.clone()
            };
            db::insert_row::<working_hours::ActiveModel>(db, after.clone()).await?;
            vec![before, after]
        }
    })
}

/// Replace one rule with `input`. `precondition` is checked against the
/// locked rule (for `If-Match`). Errors: 404 if it is not the doctor's; 409 on
/// overlap; whatever `precondition` returns.
pub async fn update_hours(
    state: &AppState,
    doctor: Uuid,
    id: Uuid,
    input: HoursInput,
    precondition: impl FnOnce(&working_hours::Model) -> AppResult<()>,
) -> AppResult<working_hours::Model> {
    check_facilities(state.db.conn(), std::slice::from_ref(&input)).await?;
    let txn = state.db.begin_write().await?;
    schedules::lock_doctor(&txn, doctor).await?;
    let rules = schedules::list_working_hours(&txn, doctor).await?;
    let current = rules
        .iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound("working hours"))?;
    precondition(current)?;
    let candidate = input_rule(&input);
    if let Some(other) = rules
        .iter()
        .filter(|r| r.id != id)
        .filter_map(as_rule)
        .find(|r| r.conflicts_with(&candidate))
    {
        return Err(overlap_error(&candidate, &other));
    }
    let updated = working_hours::Model {
        created_at: current.created_at,
        id,
        ..row(doctor, &input, db::next_update(current.updated_at, state.clock.now()))
    };
    let saved = updated.into_active_model().reset_all().update(&txn).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Time off as given.
#[derive(Debug, Clone, Copy)]
pub enum TimeOffInput {
    /// One whole local day.
    Day(NaiveDate),
    /// Whole local days, inclusive.
    Dates(NaiveDate, NaiveDate),
    /// An exact range of instants.
    Instants(DateTime<Utc>, DateTime<Utc>),
}

/// Record time off for `doctor` (at one facility, or at all when None).
/// Returns the entry and the live appointments it now overlaps (they are kept,
/// for staff to move or cancel).
///
/// Errors: 422 for an unknown facility, an end before the start, or more than 366 days.
pub async fn add_time_off(
    state: &AppState,
    doctor: Uuid,
    primary_facility: Uuid,
    facility: Option<Uuid>,
    input: TimeOffInput,
    reason: String,
    created_by: Uuid,
) -> AppResult<(time_off::Model, Vec<Uuid>)> {
    let zone_of = directory::find_facility(state.db.conn(), facility.unwrap_or(primary_facility))
        .await?
        .ok_or_else(|| AppError::invalid_field("facility_id", "no such facility"))?;
    let tz = TimeZone::parse(&zone_of.time_zone)
        .map(TimeZone::tz)
        .unwrap_or(chrono_tz::UTC);
    let midnight = |d: NaiveDate| calendar::local_midnight(tz, d);
    let (kind, start_date, end_date, start_at, end_at) = match input {
        TimeOffInput::Day(day) => (
            TimeOffKind::Day,
            Some(day),
            Some(day),
            midnight(day),
            midnight(day + TimeDelta::days(1)),
        ),
        TimeOffInput::Dates(first, last) => {
            if last < first {
                return Err(AppError::invalid_field("end_date", "must not be before start_date"));
            }
            (
                TimeOffKind::DateRange,
                Some(first),
                Some(last),
                midnight(first),
                midnight(last + TimeDelta::days(1)),
            )
        }
        TimeOffInput::Instants(start, end) => {
            if end <= start {
                return Err(AppError::invalid_field("end", "must be after start"));
            }
            (TimeOffKind::DatetimeRange, None, None, start, end)
        }
    };
    if end_at - start_at > TimeDelta::days(MAX_TIME_OFF_DAYS) {
        return Err(AppError::invalid_field(
            "end",
            format!("time off may last at most {MAX_TIME_OFF_DAYS} days"),
        ));
    }
    let entry = time_off::Model {
        id: Uuid::new_v4(),
        doctor_id: doctor,
        facility_id: facility,
        kind,
        start_date,
        end_date,
        start_at,
        end_at,
        reason,
        created_by: Some(created_by),
        created_at: state.clock.now(),
    };
    db::insert_row::<time_off::ActiveModel>(state.db.conn(), entry.clone()).await?;
    let affected = appointments::busy_ids(state.db.conn(), doctor, facility, start_at, end_at).await?;
    Ok((entry, affected))
}
