//! Booking, rescheduling and the lifecycle transitions of appointments.
//!
//! Every rule is checked by the scheduling core first, so a refusal names it;
//! the write then runs in one transaction that re-checks overlaps (SQLite:
//! under the write lock) and relies on the database's no-overlap constraint
//! as the final guarantee (PostgreSQL: exclusion constraints).

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use uuid::Uuid;

use super::calendar;
use crate::auth::Actor;
use crate::auth::policy::{Action, Owner, authorize_object};
use crate::config::BookingPolicy;
use crate::db::appointments::{self, AppointmentRow};
use crate::db::entities::{appointment, appointment_event};
use crate::db::{self, directory, patients, schedules};
use crate::domain::{AppointmentAction, AppointmentKind, AppointmentStatus, Role, TimeZone};
use crate::error::{AppError, AppResult};
use crate::scheduling::lifecycle::{self, Transition};
use crate::scheduling::{BookingRule, Limits, Slot, check_start};
use crate::state::AppState;

/// A validated booking request.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    /// The doctor.
    pub doctor_id: Uuid,
    /// The service; without one the appointment lasts one slot of the working hours.
    pub service_id: Option<Uuid>,
    /// Requested start, UTC.
    pub start: DateTime<Utc>,
    /// The patient.
    pub patient_id: Uuid,
    /// Why the patient comes.
    pub reason: String,
    /// In person or telemedicine.
    pub kind: AppointmentKind,
}

/// The API error for a refused booking rule: 409 for overlaps, 422 otherwise.
pub fn refusal(rule: BookingRule, limits: Limits) -> AppError {
    let detail = rule.explain(limits);
    if rule.is_conflict() {
        AppError::conflict(rule.code(), detail)
    } else {
        let field = if rule == BookingRule::ServiceNotOffered {
            "service_id"
        } else {
            "start"
        };
        AppError::rule(rule.code(), field, detail)
    }
}

/// Whom an appointment belongs to, for the policy.
pub fn owner(row: &AppointmentRow) -> Owner {
    Owner {
        patient_id: Some(row.patient_id),
        doctor_ids: vec![row.doctor_id],
        facility_ids: vec![row.facility_id],
        ..Owner::default()
    }
}

/// The policy action of a transition.
pub fn action_of(transition: Transition) -> Action {
    match transition {
        Transition::Confirm => Action::AppointmentConfirm,
        Transition::CheckIn => Action::AppointmentCheckIn,
        Transition::Start => Action::AppointmentStart,
        Transition::Complete => Action::AppointmentComplete,
        Transition::NoShow => Action::AppointmentNoShow,
        Transition::Cancel => Action::AppointmentCancel,
    }
}

/// Patients may cancel or reschedule only up to the cancellation window before the start.
fn check_patient_window(
    actor: &Actor,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    policy: &BookingPolicy,
) -> AppResult<()> {
    if actor.role == Role::Patient && now > start - policy.cancellation_window {
        return Err(AppError::conflict(
            "cancellation_window",
            format!(
                "patients can cancel or reschedule up to {} minutes before the start; please contact the clinic",
                policy.cancellation_window.num_minutes()
            ),
        ));
    }
    Ok(())
}

/// Find the slot for `start` of `doctor` lasting `duration` (or one grid step),
/// or the rule that refuses it. `except` is an appointment being moved.
async fn find_slot(
    state: &AppState,
    doctor: Uuid,
    start: DateTime<Utc>,
    duration: Option<TimeDelta>,
    except: Option<Uuid>,
    limits: Limits,
) -> AppResult<Slot> {
    let day = TimeDelta::days(1);
    let calendars = calendar::load(state.db.conn(), &[doctor], start - day, start + day, except).await?;
    let calendar = calendars.get(&doctor).cloned().unwrap_or_default();
    check_start(&calendar.view(), start, duration, state.clock.now(), limits).map_err(|rule| refusal(rule, limits))
}

fn event(
    appointment: &appointment::Model,
    actor: &Actor,
    action: AppointmentAction,
    from: Option<AppointmentStatus>,
    old_times: Option<(DateTime<Utc>, DateTime<Utc>)>,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> appointment_event::Model {
    appointment_event::Model {
        id: Uuid::new_v4(),
        appointment_id: appointment.id,
        version: appointment.version,
        actor_id: Some(actor.user_id),
        action,
        from_status: from,
        to_status: appointment.status,
        old_start_at: old_times.map(|t| t.0),
        old_end_at: old_times.map(|t| t.1),
        new_start_at: Some(appointment.start_at),
        new_end_at: Some(appointment.end_at),
        reason,
        created_at: now,
    }
}

/// Refuse if the doctor or the patient already has a live appointment in `[start, end)`.
async fn check_overlaps(
    db: &impl sea_orm::ConnectionTrait,
    doctor: Uuid,
    patient: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except: Option<Uuid>,
    limits: Limits,
) -> AppResult<()> {
    if appointments::overlaps(db, "doctor_id", doctor, start, end, except).await? {
        return Err(refusal(BookingRule::DoctorUnavailable, limits));
    }
    if appointments::overlaps(db, "patient_id", patient, start, end, except).await? {
        return Err(refusal(BookingRule::PatientUnavailable, limits));
    }
    Ok(())
}

/// Book an appointment. The caller has authorised `actor` for this patient.
///
/// Errors: 422 naming an unknown doctor, patient or service, or the booking
/// rule that refuses the start; 409 when the doctor or patient is taken.
pub async fn book(state: &AppState, actor: &Actor, request: BookingRequest) -> AppResult<Uuid> {
    let db = state.db.conn();
    let settings = state.settings().await?;
    let limits = settings.booking().limits();
    let doctor = directory::find_doctor(db, request.doctor_id)
        .await?
        .filter(|d| d.is_active)
        .ok_or_else(|| AppError::invalid_field("doctor_id", "no such doctor"))?;
    if !doctor.is_accepting {
        return Err(AppError::rule(
            "doctor_not_accepting",
            "doctor_id",
            "the doctor is not taking bookings",
        ));
    }
    if patients::find(db, request.patient_id).await?.is_none() {
        return Err(AppError::invalid_field("patient_id", "no such patient"));
    }
    let duration = match request.service_id {
        None => None,
        Some(service_id) => {
            let service = directory::find_service(db, service_id)
                .await?
                .ok_or_else(|| AppError::invalid_field("service_id", "no such service"))?;
            if !service.is_active || !directory::doctor_offers(db, doctor.id, service.id).await? {
                return Err(refusal(BookingRule::ServiceNotOffered, limits));
            }
            Some(TimeDelta::minutes(service.duration_minutes.into()))
        }
    };
    let slot = find_slot(state, doctor.id, request.start, duration, None, limits).await?;
    let facility = directory::find_facility(db, slot.facility_id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("working hours at a missing facility")))?;

    let now = state.clock.now();
    let row = appointment::Model {
        id: Uuid::new_v4(),
        patient_id: request.patient_id,
        doctor_id: doctor.id,
        facility_id: facility.id,
        service_id: request.service_id,
        start_at: slot.start,
        end_at: slot.end,
        status: if facility.auto_confirm && settings.flag("booking.auto_confirm") {
            AppointmentStatus::Confirmed
        } else {
            AppointmentStatus::Pending
        },
        kind: request.kind,
        reason: request.reason,
        notes: String::new(),
        queue_number: None,
        booked_by: Some(actor.user_id),
        cancel_reason: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let txn = state.db.begin_write().await?;
    check_overlaps(
        &txn,
        row.doctor_id,
        row.patient_id,
        row.start_at,
        row.end_at,
        None,
        limits,
    )
    .await?;
    db::insert_row::<appointment::ActiveModel>(&txn, row.clone()).await?;
    let booked = event(&row, actor, AppointmentAction::Booked, None, None, None, now);
    db::insert_row::<appointment_event::ActiveModel>(&txn, booked).await?;
    txn.commit().await?;
    Ok(row.id)
}

/// Load an appointment the actor may see, or 404.
pub async fn visible(state: &AppState, actor: &Actor, id: Uuid, action: Action) -> AppResult<AppointmentRow> {
    let row = appointments::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("appointment"))?;
    authorize_object(actor, action, &owner(&row), "appointment")?;
    Ok(row)
}

/// Move an appointment to `new_start`, keeping its length, under every booking rule.
/// `precondition` is checked against the locked row's version (for `If-Match`).
///
/// Errors: 404/403 by the policy; 409 if it is not pending or confirmed, if a
/// patient is inside the cancellation window, or the new time is taken; 422
/// for a start the booking rules refuse; whatever `precondition` returns.
pub async fn reschedule(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    new_start: DateTime<Utc>,
    precondition: impl FnOnce(i32) -> AppResult<()>,
) -> AppResult<()> {
    let current = visible(state, actor, id, Action::AppointmentReschedule).await?;
    if !lifecycle::can_reschedule(current.status) {
        return Err(AppError::conflict(
            "illegal_transition",
            format!("cannot reschedule an appointment that is {}", current.status),
        ));
    }
    let policy = state.booking_policy().await?;
    let limits = policy.limits();
    check_patient_window(actor, current.start_at, state.clock.now(), &policy)?;
    let length = current.end_at - current.start_at;
    let slot = find_slot(state, current.doctor_id, new_start, Some(length), Some(id), limits).await?;

    let txn = state.db.begin_write().await?;
    let row = appointments::find_for_update(&txn, id)
        .await?
        .ok_or(AppError::NotFound("appointment"))?;
    precondition(row.version)?;
    if row.version != current.version {
        return Err(AppError::conflict(
            "concurrent_update",
            "the appointment changed meanwhile; read it again",
        ));
    }
    check_overlaps(
        &txn,
        row.doctor_id,
        row.patient_id,
        slot.start,
        slot.end,
        Some(id),
        limits,
    )
    .await?;
    let now = state.clock.now();
    let old_times = (row.start_at, row.end_at);
    let mut changed = row.clone().into_active_model();
    changed.start_at = Set(slot.start);
    changed.end_at = Set(slot.end);
    changed.facility_id = Set(slot.facility_id);
    changed.version = Set(row.version + 1);
    changed.updated_at = Set(now);
    let updated = changed.update(&txn).await?;
    let moved = event(
        &updated,
        actor,
        AppointmentAction::Rescheduled,
        Some(row.status),
        Some(old_times),
        None,
        now,
    );
    db::insert_row::<appointment_event::ActiveModel>(&txn, moved).await?;
    txn.commit().await?;
    Ok(())
}

/// Apply a lifecycle transition (DESIGN §4). `reason` is recorded (required
/// for cancel by the API). `precondition` is checked against the locked row's
/// version (for `If-Match`).
///
/// Errors: 404/403 by the policy; 409 for a transition the lifecycle does not
/// allow from the current status, a no-show before start + grace, or a
/// patient's cancel inside the cancellation window; whatever `precondition` returns.
pub async fn transition(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    transition: Transition,
    reason: Option<String>,
    precondition: impl FnOnce(i32) -> AppResult<()>,
) -> AppResult<()> {
    let current = visible(state, actor, id, action_of(transition)).await?;
    let policy = state.booking_policy().await?;
    if transition == Transition::Cancel {
        check_patient_window(actor, current.start_at, state.clock.now(), &policy)?;
    }
    let txn = state.db.begin_write().await?;
    let row = appointments::find_for_update(&txn, id)
        .await?
        .ok_or(AppError::NotFound("appointment"))?;
    precondition(row.version)?;
    let now = state.clock.now();
    let status = lifecycle::apply(row.status, transition, row.start_at, now, policy.no_show_grace)
        .map_err(|refusal| AppError::conflict(refusal.code(), refusal.explain()))?;
    let mut changed = row.clone().into_active_model();
    if transition == Transition::CheckIn {
        schedules::lock_doctor(&txn, row.doctor_id).await?;
        let (day_start, day_end) = local_day(&current.time_zone, row.start_at);
        let number = appointments::next_queue_number(&txn, row.doctor_id, row.facility_id, day_start, day_end).await?;
        changed.queue_number = Set(Some(number));
    }
    if transition == Transition::Cancel {
        changed.cancel_reason = Set(reason.clone());
    }
    changed.status = Set(status);
    changed.version = Set(row.version + 1);
    changed.updated_at = Set(now);
    let updated = changed.update(&txn).await?;
    let record = event(
        &updated,
        actor,
        transition.action(),
        Some(row.status),
        None,
        reason,
        now,
    );
    db::insert_row::<appointment_event::ActiveModel>(&txn, record).await?;
    txn.commit().await?;
    Ok(())
}

/// The local day (in `zone`) that contains `instant`, as instants.
fn local_day(zone: &str, instant: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let tz = TimeZone::parse(zone).map(TimeZone::tz).unwrap_or(chrono_tz::UTC);
    let date = instant.with_timezone(&tz).date_naive();
    (
        calendar::local_midnight(tz, date),
        calendar::local_midnight(tz, date + TimeDelta::days(1)),
    )
}
