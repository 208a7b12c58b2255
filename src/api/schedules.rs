//! A doctor's working hours, time off and free slots. Doctors manage their
//! own; receptionists and admins anyone's; every authenticated user reads them.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::conditional::{IfMatch, etag, time_tag};
use super::doctors;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageLinks, page_request};
use super::responses::{ReadErrors, WriteErrors};
use super::{created, no_content, rules};
use crate::auth::Actor;
use crate::auth::policy::{Action, Owner, authorize, authorize_object};
use crate::booking::availability;
use crate::booking::schedules::{self as edits, HoursInput, TimeOffInput};
use crate::db::entities::{time_off, working_hours};
use crate::db::{self, directory, schedules};
use crate::domain::TimeOffKind;
use crate::error::{AppError, AppResult};
use crate::scheduling::Slot;
use crate::state::AppState;

/// Longest availability range in one request, in days.
pub const MAX_AVAILABILITY_DAYS: i64 = 31;
/// Longest validity range of one weekly template, in days.
pub const MAX_TEMPLATE_DAYS: i64 = 731;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WeekdayName {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl From<WeekdayName> for Weekday {
    fn from(day: WeekdayName) -> Weekday {
        match day {
            WeekdayName::Monday => Weekday::Mon,
            WeekdayName::Tuesday => Weekday::Tue,
            WeekdayName::Wednesday => Weekday::Wed,
            WeekdayName::Thursday => Weekday::Thu,
            WeekdayName::Friday => Weekday::Fri,
            WeekdayName::Saturday => Weekday::Sat,
            WeekdayName::Sunday => Weekday::Sun,
        }
    }
}

impl From<Weekday> for WeekdayName {
    fn from(day: Weekday) -> WeekdayName {
        match day {
            Weekday::Mon => WeekdayName::Monday,
            Weekday::Tue => WeekdayName::Tuesday,
            Weekday::Wed => WeekdayName::Wednesday,
            Weekday::Thu => WeekdayName::Thursday,
            Weekday::Fri => WeekdayName::Friday,
            Weekday::Sat => WeekdayName::Saturday,
            Weekday::Sun => WeekdayName::Sunday,
        }
    }
}

/// A local wall-clock time, `HH:MM` (seconds, if given, must be zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, example = "09:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9](:00)?$")]
pub struct LocalTime(pub NaiveTime);

impl LocalTime {
    /// Parse exactly `HH:MM` or `HH:MM:00` (two digits each, 00–23 and 00–59).
    pub fn parse(text: &str) -> Option<LocalTime> {
        let bytes = text.as_bytes();
        let digits = |i: usize| bytes[i].is_ascii_digit() && bytes[i + 1].is_ascii_digit();
        let shape_ok = match bytes.len() {
            5 => digits(0) && bytes[2] == b':' && digits(3),
            8 => digits(0) && bytes[2] == b':' && digits(3) && &bytes[5..] == b":00",
            _ => false,
        };
        if !shape_ok {
            return None;
        }
        let number = |i: usize| u32::from(bytes[i] - b'0') * 10 + u32::from(bytes[i + 1] - b'0');
        NaiveTime::from_hms_opt(number(0), number(3), 0).map(LocalTime)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        LocalTime::parse(&text).ok_or_else(|| serde::de::Error::custom("must be a local time HH:MM"))
    }
}

#[cfg(test)]
mod tests {
    use super::LocalTime;

    #[test]
    fn local_times_are_exactly_hh_mm() {
        assert!(LocalTime::parse("09:00").is_some());
        assert!(LocalTime::parse("23:59:00").is_some());
        for bad in ["9:00", "24:00", "09:60", "09:00:30", "0900", " 09:00", "09:00 "] {
            assert!(LocalTime::parse(bad).is_none(), "{bad}");
        }
    }
}

impl Serialize for LocalTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.format("%H:%M").to_string())
    }
}

/// A weekly working-hours rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkingHoursOut {
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub facility_id: Uuid,
    pub weekday: WeekdayName,
    /// Local time at the facility.
    pub start_time: LocalTime,
    /// Local time at the facility.
    pub end_time: LocalTime,
    /// The booking grid, in minutes.
    pub slot_minutes: i32,
    /// First date the rule applies (inclusive); null for always.
    pub valid_from: Option<NaiveDate>,
    /// Last date the rule applies (inclusive); null for always.
    pub valid_to: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<working_hours::Model> for WorkingHoursOut {
    fn from(row: working_hours::Model) -> Self {
        WorkingHoursOut {
            id: row.id,
            doctor_id: row.doctor_id,
            facility_id: row.facility_id,
            weekday: crate::booking::calendar::weekday(row.weekday)
                .unwrap_or(Weekday::Mon)
                .into(),
            start_time: LocalTime(row.start_time),
            end_time: LocalTime(row.end_time),
            slot_minutes: row.slot_minutes,
            valid_from: row.valid_from,
            valid_to: row.valid_to,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

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
    #[serde(default, deserialize_with = "super::rules::optional_integer")]
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
    #[serde(default, deserialize_with = "super::rules::optional_integer")]
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
    #[serde(default, deserialize_with = "super::rules::optional_integer")]
    pub slot_minutes: Option<u32>,
    /// Remove the doctor's existing hours on these dates first (default true);
    /// when false an overlap with existing hours is refused.
    #[serde(default = "yes")]
    #[garde(skip)]
    pub replace: bool,
    /// 1–50 day rules (a weekday may appear more than once, e.g. morning and evening).
    #[schema(min_items = 1, max_items = 50)]
    #[garde(length(min = 1, max = 50), dive)]
    pub days: Vec<TemplateDay>,
}

fn yes() -> bool {
    true
}

/// The rules a template created.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateOut {
    pub created: Vec<WorkingHoursOut>,
}

/// A time-off entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeOffOut {
    pub id: Uuid,
    pub doctor_id: Uuid,
    /// Null: at every facility.
    pub facility_id: Option<Uuid>,
    pub kind: TimeOffKind,
    /// First local day off (day and date-range entries).
    pub start_date: Option<NaiveDate>,
    /// Last local day off (day and date-range entries).
    pub end_date: Option<NaiveDate>,
    /// Start instant (UTC).
    pub start: DateTime<Utc>,
    /// End instant (UTC).
    pub end: DateTime<Utc>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

impl From<time_off::Model> for TimeOffOut {
    fn from(row: time_off::Model) -> Self {
        TimeOffOut {
            id: row.id,
            doctor_id: row.doctor_id,
            facility_id: row.facility_id,
            kind: row.kind,
            start_date: row.start_date,
            end_date: row.end_date,
            start: row.start_at,
            end: row.end_at,
            reason: row.reason,
            created_at: row.created_at,
        }
    }
}

/// A new time-off entry and the live appointments it overlaps.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeOffCreatedOut {
    #[serde(flatten)]
    pub time_off: TimeOffOut,
    /// Live appointments inside the time off; they are kept for staff to move or cancel.
    pub affected_appointments: Vec<Uuid>,
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
    #[schema(max_length = 500)]
    #[garde(custom(rules::long_text::<500>))]
    pub reason: String,
}

/// Filters of the time-off list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimeOffQuery {
    /// Only entries ending after the start of this date (UTC).
    pub from: Option<NaiveDate>,
    /// Only entries starting before the end of this date (UTC).
    pub to: Option<NaiveDate>,
    /// Page number, from 1.
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
}

/// Which free slots to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityQuery {
    /// First local date, `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last local date (inclusive, default `from`), at most 31 days after `from`.
    pub to: Option<NaiveDate>,
    /// Slots long enough for this service (one the doctor offers).
    pub service: Option<Uuid>,
}

/// A free slot (FHIR R4 Slot, free).
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotOut {
    /// Start, UTC.
    #[schema(example = "2026-12-06T03:00:00Z")]
    pub start: DateTime<Utc>,
    /// End, UTC.
    pub end: DateTime<Utc>,
    /// Start in the facility's local time, RFC 3339 with its offset.
    #[schema(example = "2026-12-06T09:00:00+06:00")]
    pub local_start: String,
    /// End in the facility's local time.
    pub local_end: String,
    /// IANA zone of the facility.
    #[schema(example = "Asia/Dhaka")]
    pub time_zone: String,
    pub facility_id: Uuid,
}

impl From<Slot> for SlotOut {
    fn from(slot: Slot) -> Self {
        SlotOut {
            start: slot.start,
            end: slot.end,
            local_start: slot.local_start().to_rfc3339(),
            local_end: slot.local_end().to_rfc3339(),
            time_zone: slot.tz.name().to_owned(),
            facility_id: slot.facility_id,
        }
    }
}

/// Free slots of a doctor.
#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityOut {
    pub doctor_id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub service_id: Option<Uuid>,
    /// Length of each slot in minutes when a service was given.
    pub duration_minutes: Option<i32>,
    pub slots: Vec<SlotOut>,
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_working_hours, create_working_hours))
        .routes(routes!(apply_template))
        .routes(routes!(get_working_hours, replace_working_hours, delete_working_hours))
        .routes(routes!(list_time_off, create_time_off))
        .routes(routes!(delete_time_off))
        .routes(routes!(get_availability))
}

fn schedule_owner(doctor: Uuid) -> Owner {
    Owner {
        doctor_ids: vec![doctor],
        ..Owner::default()
    }
}

/// The doctor (404 if none) after checking `actor` may write their schedule (403).
async fn writable_doctor(state: &AppState, actor: &Actor, doctor: Uuid) -> AppResult<db::entities::doctor::Model> {
    authorize(actor, Action::ScheduleWrite)?;
    let row = directory::find_doctor_row(state.db.conn(), doctor)
        .await?
        .ok_or(AppError::NotFound("doctor"))?;
    authorize_object(actor, Action::ScheduleWrite, &schedule_owner(doctor), "doctor")?;
    Ok(row)
}

async fn readable_doctor(state: &AppState, actor: &Actor, doctor: Uuid) -> AppResult<db::entities::doctor::Model> {
    authorize(actor, Action::ScheduleRead)?;
    directory::find_doctor_row(state.db.conn(), doctor)
        .await?
        .ok_or(AppError::NotFound("doctor"))
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
    edits::check_input(&input, "")?;
    Ok(input)
}

/// List a doctor's working hours.
#[utoipa::path(get, path = "/api/v1/doctors/{doctor_id}/working-hours", tag = "schedules",
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), PageOnly),
    responses((status = 200, description = "A page of working hours", body = Page<WorkingHoursOut>), ReadErrors),
    security(("bearer" = [])))]
pub async fn list_working_hours(
    State(state): State<AppState>,
    actor: Actor,
    links: PageLinks,
    ApiPath(doctor): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<PageOnly>,
) -> AppResult<Json<Page<WorkingHoursOut>>> {
    readable_doctor(&state, &actor, doctor).await?;
    let page = page_request(query.page, query.page_size)?;
    let rows = schedules::list_working_hours(state.db.conn(), doctor).await?;
    Ok(Json(links.page(
        page,
        in_memory_page(rows, page),
        WorkingHoursOut::from,
    )))
}

/// Page and page size only.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageOnly {
    /// Page number, from 1.
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
}

fn in_memory_page<T>(rows: Vec<T>, page: db::PageRequest) -> db::Paged<T> {
    let count = rows.len() as u64;
    let skip = ((page.page - 1) * page.page_size) as usize;
    db::Paged {
        count,
        rows: rows.into_iter().skip(skip).take(page.page_size as usize).collect(),
    }
}

/// Add one working-hours rule.
#[utoipa::path(post, path = "/api/v1/doctors/{doctor_id}/working-hours", tag = "schedules", request_body = WorkingHoursIn,
    params(("doctor_id" = Uuid, Path, description = "Doctor id")),
    responses((status = 201, description = "Created", body = WorkingHoursOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn create_working_hours(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(doctor): ApiPath<Uuid>,
    ApiJson(body): ApiJson<WorkingHoursIn>,
) -> AppResult<impl IntoResponse> {
    let profile = writable_doctor(&state, &actor, doctor).await?;
    body.validate()?;
    let input = hours_input(profile.facility_id, &body)?;
    let mut rows = edits::add_hours(&state, doctor, &[input], None).await?;
    let row = rows.remove(0);
    Ok(created(
        format!("/api/v1/doctors/{doctor}/working-hours/{}", row.id),
        WorkingHoursOut::from(row),
    ))
}

/// Apply a weekly template over a date range in one request (all or nothing).
#[utoipa::path(post, path = "/api/v1/doctors/{doctor_id}/working-hours/bulk", tag = "schedules", request_body = TemplateIn,
    params(("doctor_id" = Uuid, Path, description = "Doctor id")),
    responses((status = 201, description = "The rules created", body = TemplateOut), WriteErrors),
    security(("bearer" = [])))]
pub async fn apply_template(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(doctor): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TemplateIn>,
) -> AppResult<Response> {
    let profile = writable_doctor(&state, &actor, doctor).await?;
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
    let mut inputs = Vec::with_capacity(body.days.len());
    for (i, day) in body.days.iter().enumerate() {
        let input = HoursInput {
            facility_id: facility,
            weekday: day.weekday.into(),
            start: day.start_time.0,
            end: day.end_time.0,
            slot_minutes: day.slot_minutes.or(body.slot_minutes).unwrap_or(30),
            valid_from: Some(body.valid_from),
            valid_to: Some(body.valid_to),
        };
        edits::check_input(&input, &format!("days[{i}]."))?;
        inputs.push(input);
    }
    let replace = body.replace.then_some((body.valid_from, body.valid_to));
    let rows = edits::add_hours(&state, doctor, &inputs, replace).await?;
    let out = TemplateOut {
        created: rows.into_iter().map(WorkingHoursOut::from).collect(),
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// A working-hours rule with its `ETag` header.
pub type TaggedHours = ([(HeaderName, HeaderValue); 1], Json<WorkingHoursOut>);

fn tagged(row: working_hours::Model) -> TaggedHours {
    (etag(&time_tag(row.updated_at)), Json(row.into()))
}

/// Read one working-hours rule.
#[utoipa::path(get, path = "/api/v1/doctors/{doctor_id}/working-hours/{id}", tag = "schedules",
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), ("id" = Uuid, Path, description = "Working-hours id")),
    responses((status = 200, description = "The rule", body = WorkingHoursOut,
        headers(("ETag" = String, description = "The rule's version, for If-Match"))), ReadErrors),
    security(("bearer" = [])))]
pub async fn get_working_hours(
    State(state): State<AppState>,
    ApiPath((doctor, id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<TaggedHours> {
    match schedules::find_working_hours(state.db.conn(), id).await? {
        Some(row) if row.doctor_id == doctor => Ok(tagged(row)),
        _ => Err(AppError::NotFound("working hours")),
    }
}

/// Replace one working-hours rule.
#[utoipa::path(put, path = "/api/v1/doctors/{doctor_id}/working-hours/{id}", tag = "schedules", request_body = WorkingHoursIn,
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), ("id" = Uuid, Path, description = "Working-hours id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the rule has changed since")),
    responses((status = 200, description = "The replaced rule", body = WorkingHoursOut,
        headers(("ETag" = String, description = "The rule's new version"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn replace_working_hours(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath((doctor, id)): ApiPath<(Uuid, Uuid)>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<WorkingHoursIn>,
) -> AppResult<TaggedHours> {
    let profile = writable_doctor(&state, &actor, doctor).await?;
    body.validate()?;
    let input = hours_input(profile.facility_id, &body)?;
    let check = |current: &working_hours::Model| if_match.check(&time_tag(current.updated_at));
    Ok(tagged(edits::update_hours(&state, doctor, id, input, check).await?))
}

/// Delete one working-hours rule (booked appointments stay).
#[utoipa::path(delete, path = "/api/v1/doctors/{doctor_id}/working-hours/{id}", tag = "schedules",
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), ("id" = Uuid, Path, description = "Working-hours id")),
    responses((status = 204, description = "Deleted"), WriteErrors),
    security(("bearer" = [])))]
pub async fn delete_working_hours(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath((doctor, id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<Response> {
    writable_doctor(&state, &actor, doctor).await?;
    match schedules::find_working_hours(state.db.conn(), id).await? {
        Some(row) if row.doctor_id == doctor => {
            directory::delete_row::<working_hours::Entity>(state.db.conn(), id).await?;
            Ok(no_content())
        }
        _ => Err(AppError::NotFound("working hours")),
    }
}

/// List a doctor's time off.
#[utoipa::path(get, path = "/api/v1/doctors/{doctor_id}/time-off", tag = "schedules",
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), TimeOffQuery),
    responses((status = 200, description = "A page of time off", body = Page<TimeOffOut>), ReadErrors),
    security(("bearer" = [])))]
pub async fn list_time_off(
    State(state): State<AppState>,
    actor: Actor,
    links: PageLinks,
    ApiPath(doctor): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<TimeOffQuery>,
) -> AppResult<Json<Page<TimeOffOut>>> {
    readable_doctor(&state, &actor, doctor).await?;
    let page = page_request(query.page, query.page_size)?;
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let filter = schedules::TimeOffFilter {
        from: query.from.map(midnight),
        to: query.to.map(|d| midnight(d) + TimeDelta::days(1)),
    };
    let paged = schedules::list_time_off(state.db.conn(), doctor, &filter, page).await?;
    Ok(Json(links.page(page, paged, TimeOffOut::from)))
}

/// Record time off: a day, a date range or an exact range of instants.
#[utoipa::path(post, path = "/api/v1/doctors/{doctor_id}/time-off", tag = "schedules", request_body = TimeOffIn,
    params(("doctor_id" = Uuid, Path, description = "Doctor id")),
    responses((status = 201, description = "Created; lists the live appointments it overlaps", body = TimeOffCreatedOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn create_time_off(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(doctor): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TimeOffIn>,
) -> AppResult<impl IntoResponse> {
    let profile = writable_doctor(&state, &actor, doctor).await?;
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
    let (row, affected) = edits::add_time_off(
        &state,
        doctor,
        profile.facility_id,
        body.facility_id,
        input,
        body.reason.trim().to_owned(),
        actor.user_id,
    )
    .await?;
    let location = format!("/api/v1/doctors/{doctor}/time-off/{}", row.id);
    Ok(created(
        location,
        TimeOffCreatedOut {
            time_off: row.into(),
            affected_appointments: affected,
        },
    ))
}

/// Delete a time-off entry.
#[utoipa::path(delete, path = "/api/v1/doctors/{doctor_id}/time-off/{id}", tag = "schedules",
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), ("id" = Uuid, Path, description = "Time-off id")),
    responses((status = 204, description = "Deleted"), WriteErrors),
    security(("bearer" = [])))]
pub async fn delete_time_off(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath((doctor, id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<Response> {
    writable_doctor(&state, &actor, doctor).await?;
    match schedules::find_time_off(state.db.conn(), id).await? {
        Some(row) if row.doctor_id == doctor => {
            directory::delete_row::<time_off::Entity>(state.db.conn(), id).await?;
            Ok(no_content())
        }
        _ => Err(AppError::NotFound("time off")),
    }
}

/// Free slots of a doctor: working hours minus time off minus live
/// appointments, on the grid, from the minimum notice to the booking horizon.
#[utoipa::path(get, path = "/api/v1/doctors/{doctor_id}/availability", tag = "schedules",
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), AvailabilityQuery),
    responses((status = 200, description = "Free slots", body = AvailabilityOut), ReadErrors),
    security(("bearer" = [])))]
pub async fn get_availability(
    State(state): State<AppState>,
    ApiPath(doctor): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<AvailabilityQuery>,
) -> AppResult<Json<AvailabilityOut>> {
    let to = query.to.unwrap_or(query.from);
    if to < query.from {
        return Err(AppError::bad_field("to", "must not be before from"));
    }
    if to - query.from >= TimeDelta::days(MAX_AVAILABILITY_DAYS) {
        return Err(AppError::bad_field(
            "to",
            format!("the range may cover at most {MAX_AVAILABILITY_DAYS} days"),
        ));
    }
    let profile = doctors::load(&state, doctor).await?;
    let mut duration_minutes = None;
    if let Some(service) = query.service {
        let row = directory::find_service(state.db.conn(), service)
            .await?
            .ok_or_else(|| AppError::bad_field("service", "no such service"))?;
        if !row.is_active || !profile.service_ids.contains(&service) {
            return Err(AppError::bad_field("service", "the doctor does not offer this service"));
        }
        duration_minutes = Some(row.duration_minutes);
    }
    let duration = duration_minutes.map(|m| TimeDelta::minutes(m.into()));
    let slots = if profile.is_accepting {
        availability::slots(&state, doctor, query.from, to, duration).await?
    } else {
        Vec::new()
    };
    Ok(Json(AvailabilityOut {
        doctor_id: doctor,
        from: query.from,
        to,
        service_id: query.service,
        duration_minutes,
        slots: slots.into_iter().map(SlotOut::from).collect(),
    }))
}
