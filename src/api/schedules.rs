//! A doctor's working hours, time off and free slots over HTTP (see
//! [`crate::booking::schedules`] and [`crate::booking::availability`]).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc, Weekday};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::conditional::{IfMatch, etag, time_tag};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{ListQuery, NoFilter, Page, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use super::{created, no_content};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::booking::availability::{self, AvailabilityQuery};
use crate::booking::schedules::{self, TemplateIn, TimeOffIn, TimeOffQuery, WorkingHoursIn};
use crate::db::entities::{time_off, working_hours};
use crate::domain::{LocalTime, TimeOffKind, WeekdayName};
use crate::error::AppResult;
use crate::scheduling::Slot;
use crate::state::AppState;

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

/// List a doctor's working hours.
#[utoipa::path(get, path = "/api/v1/doctors/{doctor_id}/working-hours", tag = "schedules",
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), PageParams),
    responses((status = 200, description = "A page of working hours", body = Page<WorkingHoursOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ScheduleRead))))]
pub async fn list_working_hours(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(doctor): ApiPath<Uuid>,
    query: ListQuery<NoFilter>,
) -> AppResult<Json<Page<WorkingHoursOut>>> {
    let rows = schedules::list_working_hours(&state, &actor, doctor, query.page).await?;
    Ok(Json(query.page_of(rows, WorkingHoursOut::from)))
}

/// Add one working-hours rule.
#[utoipa::path(post, path = "/api/v1/doctors/{doctor_id}/working-hours", tag = "schedules", request_body = WorkingHoursIn,
    params(("doctor_id" = Uuid, Path, description = "Doctor id")),
    responses((status = 201, description = "Created", body = WorkingHoursOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ScheduleWrite))))]
pub async fn create_working_hours(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(doctor): ApiPath<Uuid>,
    ApiJson(body): ApiJson<WorkingHoursIn>,
) -> AppResult<impl IntoResponse> {
    let row = schedules::create_working_hours(&state, &actor, doctor, body).await?;
    let location = format!("/api/v1/doctors/{doctor}/working-hours/{}", row.id);
    Ok(created(location, WorkingHoursOut::from(row)))
}

/// Apply a weekly template over a date range in one request (all or nothing).
#[utoipa::path(post, path = "/api/v1/doctors/{doctor_id}/working-hours/bulk", tag = "schedules", request_body = TemplateIn,
    params(("doctor_id" = Uuid, Path, description = "Doctor id")),
    responses((status = 201, description = "The rules created", body = TemplateOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ScheduleWrite))))]
pub async fn apply_template(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(doctor): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TemplateIn>,
) -> AppResult<Response> {
    let rows = schedules::apply_template(&state, &actor, doctor, body).await?;
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
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ScheduleRead))))]
pub async fn get_working_hours(
    State(state): State<AppState>,
    ApiPath((doctor, id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<TaggedHours> {
    Ok(tagged(schedules::get_working_hours(&state, doctor, id).await?))
}

/// Replace one working-hours rule.
#[utoipa::path(put, path = "/api/v1/doctors/{doctor_id}/working-hours/{id}", tag = "schedules", request_body = WorkingHoursIn,
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), ("id" = Uuid, Path, description = "Working-hours id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the rule has changed since")),
    responses((status = 200, description = "The replaced rule", body = WorkingHoursOut,
        headers(("ETag" = String, description = "The rule's new version"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ScheduleWrite))))]
pub async fn replace_working_hours(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath((doctor, id)): ApiPath<(Uuid, Uuid)>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<WorkingHoursIn>,
) -> AppResult<TaggedHours> {
    let check = |current: &working_hours::Model| if_match.check(&time_tag(current.updated_at));
    Ok(tagged(
        schedules::replace_working_hours(&state, &actor, doctor, id, body, check).await?,
    ))
}

/// Delete one working-hours rule (booked appointments stay).
#[utoipa::path(delete, path = "/api/v1/doctors/{doctor_id}/working-hours/{id}", tag = "schedules",
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), ("id" = Uuid, Path, description = "Working-hours id")),
    responses((status = 204, description = "Deleted"), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ScheduleWrite))))]
pub async fn delete_working_hours(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath((doctor, id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<Response> {
    schedules::delete_working_hours(&state, &actor, doctor, id).await?;
    Ok(no_content())
}

/// List a doctor's time off.
#[utoipa::path(get, path = "/api/v1/doctors/{doctor_id}/time-off", tag = "schedules",
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), PageParams, TimeOffQuery),
    responses((status = 200, description = "A page of time off", body = Page<TimeOffOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ScheduleRead))))]
pub async fn list_time_off(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(doctor): ApiPath<Uuid>,
    query: ListQuery<TimeOffQuery>,
) -> AppResult<Json<Page<TimeOffOut>>> {
    let rows = schedules::list_time_off(&state, &actor, doctor, &query.filter, query.page).await?;
    Ok(Json(query.page_of(rows, TimeOffOut::from)))
}

/// Record time off: a day, a date range or an exact range of instants.
#[utoipa::path(post, path = "/api/v1/doctors/{doctor_id}/time-off", tag = "schedules", request_body = TimeOffIn,
    params(("doctor_id" = Uuid, Path, description = "Doctor id")),
    responses((status = 201, description = "Created; lists the live appointments it overlaps", body = TimeOffCreatedOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ScheduleWrite))))]
pub async fn create_time_off(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(doctor): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TimeOffIn>,
) -> AppResult<impl IntoResponse> {
    let (row, affected) = schedules::create_time_off(&state, &actor, doctor, body).await?;
    let location = format!("/api/v1/doctors/{doctor}/time-off/{}", row.id);
    let out = TimeOffCreatedOut {
        time_off: row.into(),
        affected_appointments: affected,
    };
    Ok(created(location, out))
}

/// Delete a time-off entry.
#[utoipa::path(delete, path = "/api/v1/doctors/{doctor_id}/time-off/{id}", tag = "schedules",
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), ("id" = Uuid, Path, description = "Time-off id")),
    responses((status = 204, description = "Deleted"), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ScheduleWrite))))]
pub async fn delete_time_off(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath((doctor, id)): ApiPath<(Uuid, Uuid)>,
) -> AppResult<Response> {
    schedules::delete_time_off(&state, &actor, doctor, id).await?;
    Ok(no_content())
}

/// Free slots of a doctor: working hours minus time off minus live
/// appointments, on the grid, from the minimum notice to the booking horizon.
#[utoipa::path(get, path = "/api/v1/doctors/{doctor_id}/availability", tag = "schedules",
    params(("doctor_id" = Uuid, Path, description = "Doctor id"), AvailabilityQuery),
    responses((status = 200, description = "Free slots", body = AvailabilityOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AvailabilityRead))))]
pub async fn get_availability(
    State(state): State<AppState>,
    ApiPath(doctor): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<AvailabilityQuery>,
) -> AppResult<Json<AvailabilityOut>> {
    let found = availability::for_doctor(&state, doctor, query).await?;
    Ok(Json(AvailabilityOut {
        doctor_id: doctor,
        from: found.from,
        to: found.to,
        service_id: found.service_id,
        duration_minutes: found.duration_minutes,
        slots: found.slots.into_iter().map(SlotOut::from).collect(),
    }))
}
