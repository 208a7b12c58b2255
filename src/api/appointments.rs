//! Appointments: booking, reading, the lifecycle transitions and history.
//!
//! Patients book for themselves and see only their own (another patient's
//! appointment is 404); doctors see their own; nurses their facility's;
//! receptionists and admins everything.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::conditional::{IfMatch, etag, version_tag};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageLinks, ordering, page_request};
use super::responses::{ReadErrors, WriteErrors};
use super::{created, rules};
use crate::auth::Actor;
use crate::auth::policy::{Action, Owner, Scope, authorize, authorize_object};
use crate::booking::appointments::{self as booking, BookingRequest};
use crate::db::appointments::{self, AppointmentFilter, AppointmentRow, AppointmentScope};
use crate::db::entities::appointment_event;
use crate::domain::{AppointmentAction, AppointmentKind, AppointmentStatus, Role, TimeZone};
use crate::error::{AppError, AppResult};
use crate::scheduling::lifecycle::Transition;
use crate::state::AppState;

/// An appointment.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentOut {
    pub id: Uuid,
    pub patient_id: Uuid,
    /// The patient's full name.
    pub patient_name: String,
    pub medical_record_number: String,
    pub doctor_id: Uuid,
    /// The doctor's full name.
    pub doctor_name: String,
    pub facility_id: Uuid,
    pub facility_name: String,
    pub service_id: Option<Uuid>,
    pub service_name: Option<String>,
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
    pub status: AppointmentStatus,
    pub kind: AppointmentKind,
    pub reason: String,
    /// Position in the doctor's queue that day, from check-in.
    pub queue_number: Option<i32>,
    /// The user who booked it.
    pub booked_by: Option<Uuid>,
    pub cancel_reason: Option<String>,
    /// Incremented on every change.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<AppointmentRow> for AppointmentOut {
    fn from(row: AppointmentRow) -> Self {
        let tz = TimeZone::parse(&row.time_zone)
            .map(TimeZone::tz)
            .unwrap_or(chrono_tz::UTC);
        AppointmentOut {
            id: row.id,
            patient_id: row.patient_id,
            patient_name: format!("{} {}", row.patient_first_name, row.patient_last_name),
            medical_record_number: row.medical_record_number,
            doctor_id: row.doctor_id,
            doctor_name: format!("{} {}", row.doctor_first_name, row.doctor_last_name),
            facility_id: row.facility_id,
            facility_name: row.facility_name,
            service_id: row.service_id,
            service_name: row.service_name,
            start: row.start_at,
            end: row.end_at,
            local_start: row.start_at.with_timezone(&tz).to_rfc3339(),
            local_end: row.end_at.with_timezone(&tz).to_rfc3339(),
            time_zone: row.time_zone,
            status: row.status,
            kind: row.kind,
            reason: row.reason,
            queue_number: row.queue_number,
            booked_by: row.booked_by,
            cancel_reason: row.cancel_reason,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A booking.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct AppointmentIn {
    #[garde(skip)]
    pub doctor_id: Uuid,
    /// A service the doctor offers; sets the length. Without it the appointment lasts one slot.
    #[garde(skip)]
    pub service_id: Option<Uuid>,
    /// RFC 3339 instant on the doctor's slot grid (see availability).
    #[schema(example = "2026-12-06T03:00:00Z")]
    #[garde(skip)]
    pub start: DateTime<Utc>,
    /// Required for staff; a patient may omit it (or give their own).
    #[garde(skip)]
    pub patient_id: Option<Uuid>,
    #[serde(default)]
    #[schema(example = "Chest pain on exertion")]
    #[schema(max_length = 1000)]
    #[garde(custom(rules::long_text::<1000>))]
    pub reason: String,
    /// Default in_person.
    #[garde(skip)]
    pub kind: Option<AppointmentKind>,
}

/// Why an appointment is cancelled.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CancelIn {
    #[schema(example = "Feeling better")]
    #[schema(min_length = 1, max_length = 500)]
    #[garde(custom(rules::text::<500>))]
    pub reason: String,
}

/// The new start of a rescheduled appointment (its length is kept).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RescheduleIn {
    #[schema(example = "2026-12-07T03:30:00Z")]
    #[garde(skip)]
    pub start: DateTime<Utc>,
}

/// One change in an appointment's life.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentEventOut {
    pub id: Uuid,
    /// The appointment's version after this change.
    pub version: i32,
    pub action: AppointmentAction,
    /// The user who made the change.
    pub actor_id: Option<Uuid>,
    pub from_status: Option<AppointmentStatus>,
    pub to_status: AppointmentStatus,
    pub old_start: Option<DateTime<Utc>>,
    pub old_end: Option<DateTime<Utc>>,
    pub new_start: Option<DateTime<Utc>>,
    pub new_end: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<appointment_event::Model> for AppointmentEventOut {
    fn from(row: appointment_event::Model) -> Self {
        AppointmentEventOut {
            id: row.id,
            version: row.version,
            action: row.action,
            actor_id: row.actor_id,
            from_status: row.from_status,
            to_status: row.to_status,
            old_start: row.old_start_at,
            old_end: row.old_end_at,
            new_start: row.new_start_at,
            new_end: row.new_end_at,
            reason: row.reason,
            created_at: row.created_at,
        }
    }
}

/// Filters of the appointment list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AppointmentQuery {
    /// One status or several, comma-separated (`confirmed,checked_in`).
    #[param(
        pattern = "^((pending|confirmed|checked_in|in_progress|completed|cancelled|no_show)(,(pending|confirmed|checked_in|in_progress|completed|cancelled|no_show))*)?$"
    )]
    pub status: Option<String>,
    /// Only appointments ending after this: RFC 3339 instant or `YYYY-MM-DD` (00:00 UTC).
    #[param(schema_with = rules::date_or_instant)]
    pub from: Option<String>,
    /// Only appointments starting before this: RFC 3339 instant or `YYYY-MM-DD` (the end of that day, UTC).
    #[param(schema_with = rules::date_or_instant)]
    pub to: Option<String>,
    /// Only this doctor's.
    pub doctor: Option<Uuid>,
    /// Only this patient's.
    pub patient: Option<Uuid>,
    /// Only at this facility.
    pub facility: Option<Uuid>,
    /// `start`, `created_at`, `status`, `queue_number`; `-` for descending (default `start`).
    #[param(pattern = "^(-?(start|created_at|status|queue_number)(,-?(start|created_at|status|queue_number))*)?$")]
    pub ordering: Option<String>,
    /// Page number, from 1.
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
}

/// Page and page size only.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Page number, from 1.
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_appointments, create_appointment))
        .routes(routes!(get_appointment))
        .routes(routes!(confirm))
        .routes(routes!(check_in))
        .routes(routes!(start))
        .routes(routes!(complete))
        .routes(routes!(no_show))
        .routes(routes!(cancel))
        .routes(routes!(reschedule))
        .routes(routes!(history))
}

async fn reload(state: &AppState, id: Uuid) -> AppResult<AppointmentOut> {
    let row = appointments::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("appointment"))?;
    Ok(row.into())
}

/// Book an appointment. Patients book for themselves; receptionists and admins for any patient.
#[utoipa::path(post, path = "/api/v1/appointments", tag = "appointments", request_body = AppointmentIn,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Any unique string (1–255 visible ASCII characters) for this booking: a retry with the same key and body within 24 hours returns the first response (with `Idempotent-Replayed: true`) instead of booking twice; the same key with a different body is refused with 422.")),
    responses((status = 201, description = "Booked (confirmed, or pending where the facility confirms by hand)", body = AppointmentOut, headers(("Location" = String, description = "The new resource"), ("Idempotent-Replayed" = String, description = "`true` when this is the stored response to an earlier request with the same Idempotency-Key"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn create_appointment(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<AppointmentIn>,
) -> AppResult<impl IntoResponse> {
    body.validate()?;
    let patient_id = match (body.patient_id, actor.patient_id) {
        (Some(given), _) => given,
        (None, Some(own)) if actor.role == Role::Patient => own,
        (None, _) => return Err(AppError::invalid_field("patient_id", "is required when staff book")),
    };
    // Patients book for themselves only (403 otherwise); staff for anyone.
    let owner = Owner {
        patient_id: Some(patient_id),
        ..Owner::default()
    };
    authorize_object(&actor, Action::AppointmentCreate, &owner, "patient")?;
    let request = BookingRequest {
        doctor_id: body.doctor_id,
        service_id: body.service_id,
        start: body.start,
        patient_id,
        reason: body.reason.trim().to_owned(),
        kind: body.kind.unwrap_or(AppointmentKind::InPerson),
    };
    let id = booking::book(&state, &actor, request).await?;
    Ok(created(format!("/api/v1/appointments/{id}"), reload(&state, id).await?))
}

/// List the appointments the caller may see.
#[utoipa::path(get, path = "/api/v1/appointments", tag = "appointments", params(AppointmentQuery),
    responses((status = 200, description = "A page of appointments", body = Page<AppointmentOut>), ReadErrors),
    security(("bearer" = [])))]
pub async fn list_appointments(
    State(state): State<AppState>,
    actor: Actor,
    links: PageLinks,
    ApiQuery(query): ApiQuery<AppointmentQuery>,
) -> AppResult<Json<Page<AppointmentOut>>> {
    let scope = match (authorize(&actor, Action::AppointmentRead)?, actor.role) {
        (Scope::All, _) => AppointmentScope::All,
        (Scope::Own, Role::Patient) => actor
            .patient_id
            .map(AppointmentScope::Patient)
            .unwrap_or(AppointmentScope::Nothing),
        (Scope::Own, Role::Doctor) => actor
            .doctor_id
            .map(AppointmentScope::Doctor)
            .unwrap_or(AppointmentScope::Nothing),
        (Scope::Facility, _) => actor
            .facility_id
            .map(AppointmentScope::Facility)
            .unwrap_or(AppointmentScope::Nothing),
        _ => AppointmentScope::Nothing,
    };
    let page = page_request(query.page, query.page_size)?;
    let order = ordering(query.ordering.as_deref(), appointments::APPOINTMENT_ORDERING)?;
    let statuses = match query.status.as_deref() {
        Some(list) if !list.is_empty() => list
            .split(',')
            .map(|s| {
                s.parse::<AppointmentStatus>()
                    .map_err(|m| AppError::bad_field("status", m))
            })
            .collect::<AppResult<Vec<_>>>()?,
        _ => Vec::new(),
    };
    let filter = AppointmentFilter {
        statuses,
        from: query
            .from
            .as_deref()
            .map(|v| rules::instant("from", v, false))
            .transpose()?,
        to: query.to.as_deref().map(|v| rules::instant("to", v, true)).transpose()?,
        doctor: query.doctor,
        patient: query.patient,
        facility: query.facility,
    };
    let paged = appointments::list(state.db.conn(), scope, &filter, &order, page).await?;
    Ok(Json(links.page(page, paged, AppointmentOut::from)))
}

/// An appointment with its `ETag` header.
pub type Tagged = ([(HeaderName, HeaderValue); 1], Json<AppointmentOut>);

fn tagged(out: AppointmentOut) -> Tagged {
    (etag(&version_tag(out.version)), Json(out))
}

/// Read an appointment.
#[utoipa::path(get, path = "/api/v1/appointments/{id}", tag = "appointments",
    params(("id" = Uuid, Path, description = "Appointment id")),
    responses((status = 200, description = "The appointment", body = AppointmentOut,
        headers(("ETag" = String, description = "The appointment's version, for If-Match"))), ReadErrors),
    security(("bearer" = [])))]
pub async fn get_appointment(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Tagged> {
    Ok(tagged(
        booking::visible(&state, &actor, id, Action::AppointmentRead)
            .await?
            .into(),
    ))
}

async fn apply(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    transition: Transition,
    reason: Option<String>,
    if_match: &IfMatch,
) -> AppResult<Tagged> {
    booking::transition(state, actor, id, transition, reason, |version| {
        if_match.check(&version_tag(version))
    })
    .await?;
    Ok(tagged(reload(state, id).await?))
}

/// Confirm a pending appointment (pending → confirmed).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/confirm", tag = "appointments",
    params(("id" = Uuid, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read; the change is refused with 412 if the appointment has changed since")),
    responses((status = 200, description = "Confirmed", body = AppointmentOut, headers(("ETag" = String, description = "The appointment's new version"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn confirm(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
) -> AppResult<Tagged> {
    apply(&state, &actor, id, Transition::Confirm, None, &if_match).await
}

/// The patient has arrived (confirmed → checked_in); assigns the day's queue number.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/check-in", tag = "appointments",
    params(("id" = Uuid, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read; the change is refused with 412 if the appointment has changed since")),
    responses((status = 200, description = "Checked in", body = AppointmentOut, headers(("ETag" = String, description = "The appointment's new version"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn check_in(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
) -> AppResult<Tagged> {
    apply(&state, &actor, id, Transition::CheckIn, None, &if_match).await
}

/// The consultation begins (checked_in → in_progress).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/start", tag = "appointments",
    params(("id" = Uuid, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read; the change is refused with 412 if the appointment has changed since")),
    responses((status = 200, description = "Started", body = AppointmentOut, headers(("ETag" = String, description = "The appointment's new version"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn start(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
) -> AppResult<Tagged> {
    apply(&state, &actor, id, Transition::Start, None, &if_match).await
}

/// The visit is over (in_progress → completed).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/complete", tag = "appointments",
    params(("id" = Uuid, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read; the change is refused with 412 if the appointment has changed since")),
    responses((status = 200, description = "Completed", body = AppointmentOut, headers(("ETag" = String, description = "The appointment's new version"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn complete(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
) -> AppResult<Tagged> {
    apply(&state, &actor, id, Transition::Complete, None, &if_match).await
}

/// The patient did not come (confirmed → no_show), once the start plus the grace period has passed.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/no-show", tag = "appointments",
    params(("id" = Uuid, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read; the change is refused with 412 if the appointment has changed since")),
    responses((status = 200, description = "Marked as no-show", body = AppointmentOut, headers(("ETag" = String, description = "The appointment's new version"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn no_show(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
) -> AppResult<Tagged> {
    apply(&state, &actor, id, Transition::NoShow, None, &if_match).await
}

/// Cancel (pending or confirmed → cancelled); frees the time. Patients only up to the cancellation window before the start.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/cancel", tag = "appointments", request_body = CancelIn,
    params(("id" = Uuid, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read; the change is refused with 412 if the appointment has changed since")),
    responses((status = 200, description = "Cancelled", body = AppointmentOut, headers(("ETag" = String, description = "The appointment's new version"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<CancelIn>,
) -> AppResult<Tagged> {
    body.validate()?;
    let reason = Some(body.reason.trim().to_owned());
    apply(&state, &actor, id, Transition::Cancel, reason, &if_match).await
}

/// Move a pending or confirmed appointment to a new start, keeping its length, under every booking rule.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/reschedule", tag = "appointments", request_body = RescheduleIn,
    params(("id" = Uuid, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read; the change is refused with 412 if the appointment has changed since")),
    responses((status = 200, description = "Rescheduled", body = AppointmentOut, headers(("ETag" = String, description = "The appointment's new version"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn reschedule(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<RescheduleIn>,
) -> AppResult<Tagged> {
    body.validate()?;
    booking::reschedule(&state, &actor, id, body.start, |version| {
        if_match.check(&version_tag(version))
    })
    .await?;
    Ok(tagged(reload(&state, id).await?))
}

/// Every change of an appointment, oldest first.
#[utoipa::path(get, path = "/api/v1/appointments/{id}/history", tag = "appointments",
    params(("id" = Uuid, Path, description = "Appointment id"), HistoryQuery),
    responses((status = 200, description = "A page of events", body = Page<AppointmentEventOut>), ReadErrors),
    security(("bearer" = [])))]
pub async fn history(
    State(state): State<AppState>,
    actor: Actor,
    links: PageLinks,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> AppResult<Json<Page<AppointmentEventOut>>> {
    booking::visible(&state, &actor, id, Action::AppointmentRead).await?;
    let page = page_request(query.page, query.page_size)?;
    let paged = appointments::history(state.db.conn(), id, page).await?;
    Ok(Json(links.page(page, paged, AppointmentEventOut::from)))
}
