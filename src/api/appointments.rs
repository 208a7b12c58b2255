//! Appointments: booking, reading, the lifecycle transitions and history.
//!
//! Patients book for themselves and see only their own (another patient's
//! appointment is 404); doctors see their own; nurses their facility's;
//! receptionists and admins everything.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::conditional::{IfMatch, etag, version_tag};
use super::created;
use super::extract::{ApiJson, ApiPath};
use super::idempotency;
use super::pagination::{ListQuery, NoFilter, Page, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::booking::appointments::{self as booking, AppointmentIn, AppointmentQuery, CancelIn, RescheduleIn};
use crate::db::appointments::AppointmentRow;
use crate::db::entities::appointment_event;
use crate::db::idempotency::IdempotencyKey;
use crate::domain::{AppointmentAction, AppointmentKind, AppointmentStatus, TimeZone};
use crate::error::AppResult;
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
    /// Present while this is a hold: when it stops blocking its time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_expires_at: Option<DateTime<Utc>>,
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
            hold_expires_at: row.hold_expires_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
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

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_appointments, create_appointment))
        .routes(routes!(get_appointment))
        .routes(routes!(hold))
        .routes(routes!(confirm))
        .routes(routes!(check_in))
        .routes(routes!(start))
        .routes(routes!(complete))
        .routes(routes!(no_show))
        .routes(routes!(cancel))
        .routes(routes!(reschedule))
        .routes(routes!(history))
}

/// Book an appointment. Patients book for themselves; receptionists and admins for any patient.
#[utoipa::path(post, path = "/api/v1/appointments", tag = "appointments", request_body = AppointmentIn,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Any unique string (1–255 visible ASCII characters) for this booking: a retry with the same key and body within 24 hours gets the appointment the first request booked (201, as it is now, with `Idempotent-Replayed: true`) instead of booking twice; the same key with a different body is refused with 422. A request that booked nothing (refused, malformed or cut off) leaves no trace, so its retry is decided afresh.")),
    responses((status = 201, description = "Booked (confirmed, or pending where the facility confirms by hand)", body = AppointmentOut, headers(("Location" = String, description = "The new resource"), ("Idempotent-Replayed" = String, description = "`true` when the appointment was booked by an earlier request with the same Idempotency-Key"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentCreate))))]
pub async fn create_appointment(
    State(state): State<AppState>,
    actor: Actor,
    key: Option<Extension<IdempotencyKey>>,
    ApiJson(body): ApiJson<AppointmentIn>,
) -> AppResult<Response> {
    let key = key.map(|Extension(key)| key);
    let booked = booking::create(&state, &actor, body, key.as_ref()).await?;
    let row = booked.appointment;
    let mut response = created(format!("/api/v1/appointments/{}", row.id), AppointmentOut::from(row)).into_response();
    if booked.replayed {
        idempotency::mark_replayed(&mut response);
    }
    Ok(response)
}

/// A hold just placed.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldOut {
    /// The hold's id: book it with `hold_id` (or cancel it to release the time).
    pub id: Uuid,
    /// When the hold stops blocking its time (RFC 3339, UTC; `booking.hold_minutes` after it was placed).
    pub expires_at: DateTime<Utc>,
    /// The hold as a `pending` appointment.
    pub appointment: AppointmentOut,
}

/// Hold a slot for a few minutes (`booking.hold_minutes`, default 5) while the
/// patient decides: a `pending` appointment nobody else can book over, which
/// frees its time when it expires. The same rules as a booking apply.
#[utoipa::path(post, path = "/api/v1/appointments/holds", tag = "appointments", request_body = AppointmentIn,
    responses((status = 201, description = "Held", body = HoldOut, headers(("Location" = String, description = "The hold, as an appointment"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentCreate))))]
pub async fn hold(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<AppointmentIn>,
) -> AppResult<Response> {
    let held = booking::hold(&state, &actor, body).await?;
    let row = held.appointment;
    let out = HoldOut {
        id: row.id,
        expires_at: held.expires_at,
        appointment: AppointmentOut::from(row),
    };
    Ok(created(format!("/api/v1/appointments/{}", out.id), out).into_response())
}

/// List the appointments the caller may see.
#[utoipa::path(get, path = "/api/v1/appointments", tag = "appointments", params(PageParams, AppointmentQuery),
    responses((status = 200, description = "A page of appointments", body = Page<AppointmentOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentRead))))]
pub async fn list_appointments(
    State(state): State<AppState>,
    actor: Actor,
    query: ListQuery<AppointmentQuery>,
) -> AppResult<Json<Page<AppointmentOut>>> {
    let found = booking::list(&state, &actor, &query.filter, query.page).await?;
    Ok(Json(query.page_of(found, AppointmentOut::from)))
}

/// An appointment with its `ETag` header.
pub type Tagged = ([(HeaderName, HeaderValue); 1], Json<AppointmentOut>);

fn tagged(row: AppointmentRow) -> Tagged {
    (etag(&version_tag(row.version)), Json(row.into()))
}

/// Read an appointment.
#[utoipa::path(get, path = "/api/v1/appointments/{id}", tag = "appointments",
    params(("id" = Uuid, Path, description = "Appointment id")),
    responses((status = 200, description = "The appointment", body = AppointmentOut,
        headers(("ETag" = String, description = "The appointment's version, for If-Match"))), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentRead))))]
pub async fn get_appointment(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Tagged> {
    Ok(tagged(booking::get(&state, &actor, id).await?))
}

async fn apply(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    transition: Transition,
    reason: Option<String>,
    if_match: &IfMatch,
) -> AppResult<Tagged> {
    let check = |version| if_match.check(&version_tag(version));
    Ok(tagged(
        booking::transition(state, actor, id, transition, reason, check).await?,
    ))
}

/// Confirm a pending appointment (pending → confirmed).
#[utoipa::path(post, path = "/api/v1/appointments/{id}/confirm", tag = "appointments",
    params(("id" = Uuid, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read; the change is refused with 412 if the appointment has changed since")),
    responses((status = 200, description = "Confirmed", body = AppointmentOut, headers(("ETag" = String, description = "The appointment's new version"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentConfirm))))]
pub async fn confirm(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
) -> AppResult<Tagged> {
    apply(&state, &actor, id, Transition::Confirm, None, &if_match).await
}

/// The patient has arrived (confirmed → checked_in); assigns the queue number of the doctor's day.
/// Check-in opens `booking.check_in_open_minutes` before the start and closes when the local day ends.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/check-in", tag = "appointments",
    params(("id" = Uuid, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read; the change is refused with 412 if the appointment has changed since")),
    responses((status = 200, description = "Checked in", body = AppointmentOut, headers(("ETag" = String, description = "The appointment's new version"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentCheckIn))))]
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
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentStart))))]
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
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentComplete))))]
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
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentNoShow))))]
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
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentCancel))))]
pub async fn cancel(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<CancelIn>,
) -> AppResult<Tagged> {
    let check = |version| if_match.check(&version_tag(version));
    Ok(tagged(booking::cancel(&state, &actor, id, body, check).await?))
}

/// Move a pending or confirmed appointment to a new start, keeping its length, under every booking rule.
#[utoipa::path(post, path = "/api/v1/appointments/{id}/reschedule", tag = "appointments", request_body = RescheduleIn,
    params(("id" = Uuid, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read; the change is refused with 412 if the appointment has changed since")),
    responses((status = 200, description = "Rescheduled", body = AppointmentOut, headers(("ETag" = String, description = "The appointment's new version"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentReschedule))))]
pub async fn reschedule(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<RescheduleIn>,
) -> AppResult<Tagged> {
    let check = |version| if_match.check(&version_tag(version));
    Ok(tagged(
        booking::reschedule(&state, &actor, id, body.start, check).await?,
    ))
}

/// Every change of an appointment, oldest first.
#[utoipa::path(get, path = "/api/v1/appointments/{id}/history", tag = "appointments",
    params(("id" = Uuid, Path, description = "Appointment id"), PageParams),
    responses((status = 200, description = "A page of events", body = Page<AppointmentEventOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentRead))))]
pub async fn history(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    query: ListQuery<NoFilter>,
) -> AppResult<Json<Page<AppointmentEventOut>>> {
    let events = booking::history(&state, &actor, id, query.page).await?;
    Ok(Json(query.page_of(events, AppointmentEventOut::from)))
}
