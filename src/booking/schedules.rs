//! A doctor's schedule: working hours (one rule, or a weekly template over a
//! date range) and time off. Everyone signed in reads schedules; the doctor
//! themselves, receptionists and administrators change them (the policy's
//! `schedule_write`). Changes of one doctor are serialised, so two rules
//! that would put the doctor in two places at once can never both be saved.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use garde::Validate;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::calendar;
use crate::auth::Actor;
use crate::auth::policy::{Action, Schedule, authorize, authorize_object};
use crate::db::entities::{doctor, time_off, working_hours};
use crate::db::{self, PageRequest, Paged, Tx, appointments, audit, directory, schedules};
use crate::domain::{LocalTime, TimeOffKind, TimeZone, WeekdayName};
use crate::error::{AppError, AppResult};
use crate::input::{self, TextOrEmpty};
use crate::scheduling::WorkingHoursRule;
use crate::scheduling::working_hours::{Clip, clip};
use crate::state::AppState;

/// Longest time off accepted in one entry.
pub const MAX_TIME_OFF_DAYS: i64 = 366;
/// Longest validity range of one weekly template, in days.
pub const MAX_TEMPLATE_DAYS: i64 = 731;

/// One working-hours rule.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct WorkingHoursIn {
    /// Default: the doctor's primary facility.
    #[garde(skip)]
    pub facility_id: Option<Uuid>,
    #[garde(skip)]
    pub weekday: WeekdayName,
    #[garde(skip)]
    pub start_time: LocalTime,
    /// After `start_time`, same day.
    #[garde(skip)]
    pub end_time: LocalTime,
    /// 5–480 (default 30).
    #[schema(minimum = 5, maximum = 480)]
    #[garde(inner(range(min = 5, max = 480)))]
    #[serde(default, deserialize_with = "input::optional_integer")]
    pub slot_minutes: Option<u32>,
    #[garde(skip)]
    pub valid_from: Option<NaiveDate>,
    #[garde(skip)]
    pub valid_to: Option<NaiveDate>,
}

/// One day of a weekly template.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TemplateDay {
    #[garde(skip)]
    pub weekday: WeekdayName,
    #[garde(skip)]
    pub start_time: LocalTime,
    #[garde(skip)]
    pub end_time: LocalTime,
    /// Overrides the template's slot length for this day.
    #[schema(minimum = 5, maximum = 480)]
    #[garde(inner(range(min = 5, max = 480)))]
    #[serde(default, deserialize_with = "input::optional_integer")]
    pub slot_minutes: Option<u32>,
}

/// A weekly template applied over a date range in one request.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TemplateIn {
    /// Default: the doctor's primary facility.
    #[garde(skip)]
    pub facility_id: Option<Uuid>,
    /// First date (inclusive).
    #[garde(skip)]
    pub valid_from: NaiveDate,
    /// Last date (inclusive), at most two years after `valid_from`.
    #[garde(skip)]
    pub valid_to: NaiveDate,
    /// Default slot length, 5–480 (default 30).
    #[schema(minimum = 5, maximum = 480)]
    #[garde(inner(range(min = 5, max = 480)))]
    #[serde(default, deserialize_with = "input::optional_integer")]
    pub slot_minutes: Option<u32>,
    /// Remove the doctor's existing hours on these dates first (default true);
    /// when false an overlap with existing hours is refused.
    #[serde(default = "yes")]
    #[garde(skip)]
    pub replace: bool,
    /// Day rules (a weekday may appear more than once, e.g. morning and evening).
    #[garde(dive)]
    pub days: TemplateDays,
}

crate::bounded_list!(
    /// The day rules of a template.
    TemplateDays of TemplateDay, 1..=50
);

fn yes() -> bool {
    true
}

/// Time off: exactly one of `date`, `start_date` + `end_date`, or `start` + `end`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TimeOffIn {
    /// Only at this facility; absent for every facility.
    #[garde(skip)]
    pub facility_id: Option<Uuid>,
    /// One whole local day.
    #[garde(skip)]
    pub date: Option<NaiveDate>,
    /// First whole local day of a range.
    #[garde(skip)]
    pub start_date: Option<NaiveDate>,
    /// Last whole local day of a range (inclusive).
    #[garde(skip)]
    pub end_date: Option<NaiveDate>,
    /// Start instant of an exact range (RFC 3339).
    #[garde(skip)]
    pub start: Option<DateTime<Utc>>,
    /// End instant of an exact range (RFC 3339).
    #[garde(skip)]
    pub end: Option<DateTime<Utc>>,
    #[serde(default)]
    #[garde(dive)]
    pub reason: TextOrEmpty<500>,
}

/// Filters of the time-off list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimeOffQuery {
    /// Only entries ending after the start of this date (UTC).
    pub from: Option<NaiveDate>,
    /// Only entries starting before the end of this date (UTC).
    pub to: Option<NaiveDate>,
}

/// The doctor (404 if none), after checking `actor` may read schedules.
async fn readable_doctor(state: &AppState, actor: &Actor, doctor: Uuid) -> AppResult<doctor::Model> {
    authorize(actor, Action::ScheduleRead)?;
    directory::find_doctor_row(state.db.conn(), doctor)
        .await?
        .ok_or(AppError::NotFound("doctor"))
}

/// The doctor (404 if none), after checking `actor` may change their schedule (403).
async fn writable_doctor(state: &AppState, actor: &Actor, doctor: Uuid) -> AppResult<doctor::Model> {
    authorize(actor, Action::ScheduleWrite)?;
    let row = directory::find_doctor_row(state.db.conn(), doctor)
        .await?
        .ok_or(AppError::NotFound("doctor"))?;
    authorize_object(actor, Action::ScheduleWrite, &Schedule(doctor))?;
    Ok(row)
}

fn hours_input(primary: Uuid, body: &WorkingHoursIn) -> AppResult<HoursInput> {
    let input = HoursInput {
        facility_id: body.facility_id.unwrap_or(primary),
        weekday: body.weekday.into(),
        start: body.start_time.0,
        end: body.end_time.0,
        slot_minutes: body.slot_minutes.unwrap_or(30),
        valid_from: body.valid_from,
        valid_to: body.valid_to,
    };
    check_input(&input, "")?;
    Ok(input)
}

fn page_of<T>(rows: Vec<T>, page: PageRequest) -> Paged<T> {
    let count = rows.len() as u64;
    let skip = ((page.page - 1) * page.page_size) as usize;
    Paged {
        count,
        rows: rows.into_iter().skip(skip).take(page.page_size as usize).collect(),
    }
}

/// A page of a doctor's working hours. Errors: 404 for no such doctor.
pub async fn list_working_hours(
    state: &AppState,
    actor: &Actor,
    doctor: Uuid,
    page: PageRequest,
) -> AppResult<Paged<working_hours::Model>> {
    readable_doctor(state, actor, doctor).await?;
    let rows = schedules::list_working_hours(state.db.conn(), doctor).await?;
    Ok(page_of(rows, page))
}

/// One of a doctor's working-hours rules. Errors: 404.
pub async fn get_working_hours(state: &AppState, doctor: Uuid, id: Uuid) -> AppResult<working_hours::Model> {
    match schedules::find_working_hours(state.db.conn(), id).await? {
        Some(row) if row.doctor_id == doctor => Ok(row),
        _ => Err(AppError::NotFound("working hours")),
    }
}

/// Add one working-hours rule.
///
/// Errors: 404/403 by the policy; 422 for invalid values or an unknown
/// facility; 409 `working_hours_overlap`.
pub async fn create_working_hours(
    state: &AppState,
    actor: &Actor,
    doctor: Uuid,
    body: WorkingHoursIn,
) -> AppResult<working_hours::Model> {
    let profile = writable_doctor(state, actor, doctor).await?;
    body.validate()?;
    let input = hours_input(profile.facility_id, &body)?;
    let mut rows = add_hours(state, doctor, &[input], None).await?;
    Ok(rows.remove(0))
}

/// Apply a weekly template over a date range (all or nothing).
///
/// Errors: as [`create_working_hours`]; 422 for a range over two years.
pub async fn apply_template(
    state: &AppState,
    actor: &Actor,
    doctor: Uuid,
    body: TemplateIn,
) -> AppResult<Vec<working_hours::Model>> {
    let profile = writable_doctor(state, actor, doctor).await?;
    body.validate()?;
    if body.valid_to < body.valid_from {
        return Err(AppError::invalid_field("valid_to", "must not be before valid_from"));
    }
    if body.valid_to - body.valid_from > TimeDelta::days(MAX_TEMPLATE_DAYS) {
        return Err(AppError::invalid_field(
            "valid_to",
            "a template may cover at most two years",
        ));
    }
    let facility = body.facility_id.unwrap_or(profile.facility_id);
    let days = body.days.into_inner();
    let mut inputs = Vec::with_capacity(days.len());
    for (i, day) in days.iter().enumerate() {
        let input = HoursInput {
            facility_id: facility,
            weekday: day.weekday.into(),
            start: day.start_time.0,
            end: day.end_time.0,
            slot_minutes: day.slot_minutes.or(body.slot_minutes).unwrap_or(30),
            valid_from: Some(body.valid_from),
            valid_to: Some(body.valid_to),
        };
        check_input(&input, &format!("days[{i}]."))?;
        inputs.push(input);
    }
    let replace = body.replace.then_some((body.valid_from, body.valid_to));
    add_hours(state, doctor, &inputs, replace).await
}

/// Replace one working-hours rule; `precondition` is checked against the
/// locked rule (for `If-Match`).
///
/// Errors: as [`create_working_hours`]; whatever `precondition` returns.
pub async fn replace_working_hours(
    state: &AppState,
    actor: &Actor,
    doctor: Uuid,
    id: Uuid,
    body: WorkingHoursIn,
    precondition: impl FnOnce(&working_hours::Model) -> AppResult<()>,
) -> AppResult<working_hours::Model> {
    let profile = writable_doctor(state, actor, doctor).await?;
    body.validate()?;
    let input = hours_input(profile.facility_id, &body)?;
    update_hours(state, doctor, id, input, precondition).await
}

/// Delete one working-hours rule (booked appointments stay). Errors: 404/403.
pub async fn delete_working_hours(state: &AppState, actor: &Actor, doctor: Uuid, id: Uuid) -> AppResult<()> {
    writable_doctor(state, actor, doctor).await?;
    let tx = state.db.begin_write().await?;
    schedules::lock_for_change(&tx, doctor).await?;
    match schedules::find_working_hours(&tx, id).await? {
        Some(row) if row.doctor_id == doctor => {
            db::delete_row::<working_hours::Entity>(&tx, id).await?;
            tx.commit().await?;
            Ok(())
        }
        _ => Err(AppError::NotFound("working hours")),
    }
}

/// A page of a doctor's time off. Errors: 404 for no such doctor.
pub async fn list_time_off(
    state: &AppState,
    actor: &Actor,
    doctor: Uuid,
    query: &TimeOffQuery,
    page: PageRequest,
) -> AppResult<Paged<time_off::Model>> {
    readable_doctor(state, actor, doctor).await?;
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let filter = schedules::TimeOffFilter {
        from: query.from.map(midnight),
        to: query.to.map(|d| midnight(d) + TimeDelta::days(1)),
    };
    Ok(schedules::list_time_off(state.db.conn(), doctor, &filter, page).await?)
}

/// Record time off: a day, a date range or an exact range of instants.
/// Returns the entry and the live appointments it now overlaps (they are
/// kept, for staff to move or cancel).
///
/// Errors: 404/403 by the policy; 422 for a shape that is not exactly one
/// of the three, an unknown facility, an end before the start, or more than 366 days.
pub async fn create_time_off(
    state: &AppState,
    actor: &Actor,
    doctor: Uuid,
    body: TimeOffIn,
) -> AppResult<(time_off::Model, Vec<Uuid>)> {
    let profile = writable_doctor(state, actor, doctor).await?;
    body.validate()?;
    let input = match (body.date, body.start_date, body.end_date, body.start, body.end) {
        (Some(day), None, None, None, None) => TimeOffInput::Day(day),
        (None, Some(first), Some(last), None, None) => TimeOffInput::Dates(first, last),
        (None, None, None, Some(start), Some(end)) => TimeOffInput::Instants(start, end),
        _ => {
            return Err(AppError::invalid_field(
                "date",
                "give exactly one of: date; start_date and end_date; start and end",
            ));
        }
    };
    let reason = body.reason.into_trimmed();
    add_time_off(
        state,
        doctor,
        profile.facility_id,
        body.facility_id,
        input,
        reason,
        actor.user_id,
    )
    .await
}

/// Delete a time-off entry. Errors: 404/403.
pub async fn delete_time_off(state: &AppState, actor: &Actor, doctor: Uuid, id: Uuid) -> AppResult<()> {
    writable_doctor(state, actor, doctor).await?;
    let tx = state.db.begin_write().await?;
    schedules::lock_for_change(&tx, doctor).await?;
    match schedules::find_time_off(&tx, id).await? {
        Some(row) if row.doctor_id == doctor => {
            db::delete_row::<time_off::Entity>(&tx, id).await?;
            tx.commit().await?;
            Ok(())
        }
        _ => Err(AppError::NotFound("time off")),
    }
}

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
fn check_input(input: &HoursInput, field_prefix: &str) -> AppResult<()> {
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

async fn check_facilities(db: &impl sea_orm::ConnectionTrait, inputs: &[HoursInput]) -> AppResult<()> {
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
async fn add_hours(
    state: &AppState,
    doctor: Uuid,
    inputs: &[HoursInput],
    replace: Option<(NaiveDate, NaiveDate)>,
) -> AppResult<Vec<working_hours::Model>> {
    check_facilities(state.db.conn(), inputs).await?;
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    schedules::lock_for_change(&tx, doctor).await?;
    let mut kept: Vec<WorkingHoursRule> = Vec::new();
    for existing in schedules::list_working_hours(&tx, doctor).await? {
        let action = match replace {
            Some((from, to)) => clip((existing.valid_from, existing.valid_to), from, to),
            None => Clip::Keep,
        };
        let survivors = apply_clip(&tx, &existing, action, now).await?;
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
        db::insert_row::<working_hours::ActiveModel>(&tx, new.clone()).await?;
        created.push(new);
    }
    if let [only] = created.as_slice() {
        audit::note_object(only.id);
    }
    tx.commit().await?;
    Ok(created)
}

/// Apply a clip to a stored rule; returns the rules that remain of it.
async fn apply_clip(
    db: &Tx,
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
            db::delete_row::<working_hours::Entity>(db, existing.id).await?;
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
async fn update_hours(
    state: &AppState,
    doctor: Uuid,
    id: Uuid,
    input: HoursInput,
    precondition: impl FnOnce(&working_hours::Model) -> AppResult<()>,
) -> AppResult<working_hours::Model> {
    check_facilities(state.db.conn(), std::slice::from_ref(&input)).await?;
    let tx = state.db.begin_write().await?;
    schedules::lock_for_change(&tx, doctor).await?;
    let rules = schedules::list_working_hours(&tx, doctor).await?;
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
    let saved = db::update_row::<working_hours::ActiveModel>(&tx, updated).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Time off as given.
#[derive(Debug, Clone, Copy)]
enum TimeOffInput {
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
async fn add_time_off(
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
    let tx = state.db.begin_write().await?;
    schedules::lock_for_change(&tx, doctor).await?;
    db::insert_row::<time_off::ActiveModel>(&tx, entry.clone()).await?;
    let affected = appointments::busy_ids(&tx, doctor, facility, start_at, end_at).await?;
    audit::note_object(entry.id);
    tx.commit().await?;
    Ok((entry, affected))
}
