//! Booking, rescheduling and the lifecycle transitions of appointments.
//!
//! Every rule is checked by the scheduling core first, so a refusal names it;
//! the write then runs in one transaction that re-checks overlaps (SQLite:
//! under the write lock) and relies on the database's no-overlap constraint
//! as the final guarantee (PostgreSQL: exclusion constraints).

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use garde::Validate;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::calendar;
use crate::auth::Actor;
use crate::auth::policy::{self, Action, PatientRecord, authorize_object, reach};
use crate::db::appointments::AppointmentOrdering;
use crate::db::appointments::{self, AppointmentFilter, AppointmentRow};
use crate::db::entities::{appointment, appointment_event};
use crate::db::error::Party;
use crate::db::idempotency::{self, Found, IdempotencyKey};
use crate::db::schedules::DoctorRules;
use crate::db::{self, PageRequest, Paged, audit, patients, schedules};
use crate::domain::{AppointmentAction, AppointmentKind, AppointmentStatus, Role, TimeZone};
use crate::error::{AppError, AppResult};
use crate::input::Ordering;
use crate::input::{self, Text, TextOrEmpty};
use crate::notifications::{self, Change};
use crate::scheduling::lifecycle::{self, Timing, Transition};
use crate::scheduling::{BookingRule, Limits, Slot, check_start};
use crate::state::AppState;

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
    /// Why the patient comes, as the front desk or the patient puts it.
    #[serde(default)]
    #[schema(example = "Chest pain on exertion")]
    #[garde(dive)]
    pub reason: TextOrEmpty<1000>,
    /// Default in_person.
    #[garde(skip)]
    pub kind: Option<AppointmentKind>,
    /// A hold of the caller's (`POST /appointments/holds`) to book: its
    /// doctor, patient, service and start must be the ones given here.
    #[garde(skip)]
    pub hold_id: Option<Uuid>,
}

/// A hold just placed: the time is the patient's until `expires_at`.
#[derive(Debug, Clone)]
pub struct Held {
    /// The hold (a `pending` appointment), as written.
    pub appointment: AppointmentRow,
    /// When it stops blocking its time (RFC 3339, UTC).
    pub expires_at: DateTime<Utc>,
}

/// Why an appointment is cancelled.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CancelIn {
    #[schema(example = "Feeling better")]
    #[garde(dive)]
    pub reason: Text<500>,
}

/// The new start of a rescheduled appointment (its length is kept).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RescheduleIn {
    #[schema(example = "2026-12-07T03:30:00Z")]
    #[garde(skip)]
    pub start: DateTime<Utc>,
}

/// Filters of the appointment list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AppointmentQuery {
    /// One status or several, comma-separated (`confirmed,checked_in`).
    #[param(
        pattern = "^((pending|confirmed|checked_in|in_progress|completed|cancelled|no_show)(,(pending|confirmed|checked_in|in_progress|completed|cancelled|no_show))*)?$"
    )]
    pub status: Option<String>,
    /// Only appointments ending after this: RFC 3339 instant or `YYYY-MM-DD` (00:00 UTC).
    #[param(schema_with = input::date_or_instant)]
    pub from: Option<String>,
    /// Only appointments starting before this: RFC 3339 instant or `YYYY-MM-DD` (the end of that day, UTC).
    #[param(schema_with = input::date_or_instant)]
    pub to: Option<String>,
    /// Only this doctor's.
    pub doctor: Option<Uuid>,
    /// Only this patient's.
    pub patient: Option<Uuid>,
    /// Only at this facility.
    pub facility: Option<Uuid>,
    /// Sort order (default `start`).
    #[param(schema_with = Ordering::<AppointmentOrdering>::schema)]
    pub ordering: Option<Ordering<AppointmentOrdering>>,
}

/// A validated booking.
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

impl BookingRequest {
    /// The booking `body` asks `actor` to make: for the patient it names, or
    /// for a patient themselves when it names none.
    ///
    /// Errors: 422 naming `patient_id` when staff name none; 403/404 when
    /// the actor may not book for that patient.
    fn of(actor: &Actor, body: AppointmentIn) -> AppResult<BookingRequest> {
        let patient_id = match (body.patient_id, actor.patient_id) {
            (Some(given), _) => given,
            (None, Some(own)) if actor.role == Role::Patient => own,
            (None, _) => return Err(AppError::invalid_field("patient_id", "is required when staff book")),
        };
        authorize_object(actor, Action::AppointmentCreate, &PatientRecord::of(patient_id))?;
        Ok(BookingRequest {
            doctor_id: body.doctor_id,
            service_id: body.service_id,
            start: body.start,
            patient_id,
            reason: body.reason.into_trimmed(),
            kind: body.kind.unwrap_or(AppointmentKind::InPerson),
        })
    }
}

/// The status a new booking starts in: confirmed where the facility (and
/// the `booking.auto_confirm` setting) confirms at once, else pending.
fn first_status(
    facility: &crate::db::entities::facility::Model,
    settings: &crate::settings::Settings,
) -> AppointmentStatus {
    if facility.auto_confirm && settings.flag("booking.auto_confirm") {
        AppointmentStatus::Confirmed
    } else {
        AppointmentStatus::Pending
    }
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

/// Find the slot for `start` of `doctor` lasting `duration` (or one grid step),
/// or the rule that refuses it. `except` is an appointment being moved.
fn check_slot(
    rules: &DoctorRules,
    start: DateTime<Utc>,
    duration: Option<TimeDelta>,
    now: DateTime<Utc>,
    limits: Limits,
) -> AppResult<Slot> {
    let day = TimeDelta::days(1);
    let calendar = calendar::of(rules, start - day, start + day);
    check_start(&calendar.view(), start, duration, now, limits).map_err(|rule| refusal(rule, limits))
}

/// The rules of `doctor` from the node's view. Errors: 422 naming `doctor_id`.
async fn rules_for(state: &AppState, doctor: Uuid, now: DateTime<Utc>) -> AppResult<Arc<DoctorRules>> {
    state
        .db
        .views()
        .doctor_rules(state.db.conn(), &[doctor], now)
        .await?
        .remove(&doctor)
        .ok_or_else(|| AppError::invalid_field("doctor_id", "no such doctor"))
}

/// The rules of `doctor` as committed, given the view's copy and the
/// version read under the doctor's lock: the copy when it is current, else
/// read again inside `tx` (and remembered).
async fn current_rules(
    state: &AppState,
    tx: &db::Tx,
    cached: &Arc<DoctorRules>,
    version: i64,
    now: DateTime<Utc>,
) -> AppResult<Arc<DoctorRules>> {
    if cached.rules_version == version {
        return Ok(Arc::clone(cached));
    }
    let epoch = state.db.views().epoch();
    let fresh = schedules::rules_of(tx, &[cached.doctor.id], now)
        .await?
        .pop()
        .map(Arc::new)
        .ok_or_else(|| AppError::invalid_field("doctor_id", "no such doctor"))?;
    state.db.views().remember_rules(Arc::clone(&fresh), epoch);
    Ok(fresh)
}

/// The service a booking names, checked against the doctor's rules: its length.
fn service_length(rules: &DoctorRules, service: Option<Uuid>, limits: Limits) -> AppResult<Option<TimeDelta>> {
    let Some(id) = service else { return Ok(None) };
    match rules.service(id) {
        Some(service) if service.is_active => Ok(Some(TimeDelta::minutes(service.duration_minutes.into()))),
        _ => Err(refusal(BookingRule::ServiceNotOffered, limits)),
    }
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

/// Refuse if the doctor or the patient already has a live appointment (or a
/// hold live at `now`) in `[start, end)`: holds that expired there are
/// deleted first, in `tx`, then one query checks both parties.
#[allow(clippy::too_many_arguments)]
async fn check_overlaps(
    tx: &db::Tx,
    doctor: Uuid,
    patient: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except: Option<Uuid>,
    limits: Limits,
    now: DateTime<Utc>,
) -> AppResult<()> {
    appointments::release_expired(tx, doctor, patient, start, end, now).await?;
    match appointments::clash(tx, doctor, patient, start, end, except).await? {
        Some(Party::Doctor) => Err(refusal(BookingRule::DoctorUnavailable, limits)),
        Some(Party::Patient) => Err(refusal(BookingRule::PatientUnavailable, limits)),
        None => Ok(()),
    }
}

/// A booking made, or found again for a retried [`IdempotencyKey`].
#[derive(Debug)]
pub struct Booked {
    /// The appointment, as it is now.
    pub appointment: AppointmentRow,
    /// Whether an earlier request with the same key made it.
    pub replayed: bool,
}

/// Book an appointment: patients for themselves, receptionists and
/// administrators for any patient. With `key`, a request that repeats an
/// earlier one of the same user (same key and digest, within 24 hours) gets
/// the appointment that one made instead of booking again.
///
/// Errors: 403 for a patient booking for someone else; 422 naming a missing
/// or unknown doctor, patient or service, the booking rule that refuses the
/// start, or `idempotency_key_reused` (the key was used for another request);
/// 409 when the doctor or patient is taken.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    body: AppointmentIn,
    key: Option<&IdempotencyKey>,
) -> AppResult<Booked> {
    body.validate()?;
    let hold = body.hold_id;
    let request = BookingRequest::of(actor, body)?;
    if let Some(key) = key
        && let Some(earlier) = made_with(state, actor, key).await?
    {
        return Ok(earlier);
    }
    let booked = match hold {
        Some(hold) => book_hold(state, actor, hold, request, key).await,
        None => book(state, actor, request, key, None).await,
    };
    match (booked, key) {
        (Ok(Some(appointment)), _) => Ok(Booked {
            appointment,
            replayed: false,
        }),
        // A concurrent request with the key booked first (it may also have
        // taken the slot this one was refused): answer with its appointment.
        (Ok(None), Some(key)) => made_with(state, actor, key)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an idempotency key without its booking"))),
        (Err(refused), Some(key)) => made_with(state, actor, key).await?.ok_or(refused),
        (Ok(None), None) => Err(AppError::Internal(anyhow::anyhow!(
            "an unkeyed booking that was not made"
        ))),
        (Err(refused), None) => Err(refused),
    }
}

/// The appointment an earlier request with `key` made, if any.
///
/// Errors: 422 `idempotency_key_reused` when the key was used for another request.
async fn made_with(state: &AppState, actor: &Actor, key: &IdempotencyKey) -> AppResult<Option<Booked>> {
    match idempotency::find(state.db.conn(), actor.user_id, key, state.clock.now()).await? {
        None => Ok(None),
        Some(Found::Mismatch) => Err(AppError::idempotency_key_reused()),
        Some(Found::Created(id)) => {
            let appointment = reload(state, id).await?;
            audit::note(Some(appointment.patient_id), false);
            Ok(Some(Booked {
                appointment,
                replayed: true,
            }))
        }
    }
}

async fn reload(state: &AppState, id: Uuid) -> AppResult<AppointmentRow> {
    appointments::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("appointment"))
}

/// The appointments the actor may see, matching `query`.
///
/// Errors: 400 naming a filter that does not parse.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    query: &AppointmentQuery,
    page: PageRequest,
) -> AppResult<Paged<AppointmentRow>> {
    let reach = reach::<AppointmentRow>(actor, Action::AppointmentRead)?;
    let order = input::sorts(&query.ordering);
    // Seven statuses at most, however often they are named.
    let statuses = input::one_or_more::<AppointmentStatus>("status", query.status.as_deref())?;
    let period = input::period(query.from.as_deref(), query.to.as_deref())?;
    let filter = AppointmentFilter {
        statuses,
        from: period.from,
        to: period.to,
        doctor: query.doctor,
        patient: query.patient,
        facility: query.facility,
        now: Some(state.clock.now()),
    };
    let found = appointments::list(state.db.conn(), reach, &filter, order, page).await?;
    audit::note_disclosed(found.rows.iter().map(|a| a.patient_id));
    Ok(found)
}

/// An appointment the actor may see. Errors: 404.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<AppointmentRow> {
    visible(state, actor, id, Action::AppointmentRead).await
}

/// A page of an appointment's history, oldest first. Errors: 404.
pub async fn history(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    page: PageRequest,
) -> AppResult<Paged<appointment_event::Model>> {
    visible(state, actor, id, Action::AppointmentRead).await?;
    Ok(appointments::history(state.db.conn(), id, page).await?)
}

/// Book an appointment for a patient the caller has authorised `actor` for,
/// recording `key` in the same transaction; the appointment as written.
/// `None` when a request with the key committed first (nothing was written).
///
/// The doctor's rules come from the node's view; the transaction locks the
/// doctor, reads whether those rules are still the committed ones (reading
/// them again if not), checks both parties' overlaps in one query and writes
/// the appointment, its event and the audit event: one commit.
///
/// Errors: as [`create`].
async fn book(
    state: &AppState,
    actor: &Actor,
    request: BookingRequest,
    key: Option<&IdempotencyKey>,
    hold: Option<TimeDelta>,
) -> AppResult<Option<AppointmentRow>> {
    let settings = state.settings().await?;
    let limits = settings.booking().limits();
    let now = state.clock.now();
    let cached = rules_for(state, request.doctor_id, now).await?;
    let patient = patients::find(state.db.conn(), request.patient_id)
        .await?
        .ok_or_else(|| AppError::invalid_field("patient_id", "no such patient"))?;
    // Refuse what the view already refuses before taking the write lock.
    check_bookable(cached.doctor.is_active, cached.doctor.is_accepting)?;
    if let Some(service) = request.service_id
        && cached.service(service).is_none()
        && db::directory::find_service(state.db.conn(), service).await?.is_none()
    {
        return Err(AppError::invalid_field("service_id", "no such service"));
    }
    let duration = service_length(&cached, request.service_id, limits)?;
    check_slot(&cached, request.start, duration, now, limits)?;
    super::retry_busy(|| async {
        let tx = state.db.begin_write().await?;
        let id = Uuid::new_v4();
        // The key first: a concurrent request with it waits here, not on the slot.
        if let Some(key) = key
            && !idempotency::record(&tx, actor.user_id, key, id, now).await?
        {
            return Ok(None);
        }
        // One booking write per doctor at a time: the overlap check below
        // then sees every earlier booking committed, so a taken slot is a
        // plain 409 and the exclusion constraint stays the last word.
        let locked = schedules::lock_for_booking(&tx, request.doctor_id)
            .await?
            .ok_or_else(|| AppError::invalid_field("doctor_id", "no such doctor"))?;
        check_bookable(locked.is_active, locked.is_accepting)?;
        let rules = current_rules(state, &tx, &cached, locked.rules_version, now).await?;
        let duration = service_length(&rules, request.service_id, limits)?;
        let slot = check_slot(&rules, request.start, duration, now, limits)?;
        let facility = rules
            .facility(slot.facility_id)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("working hours at a missing facility")))?;
        check_overlaps(
            &tx,
            request.doctor_id,
            patient.id,
            slot.start,
            slot.end,
            None,
            limits,
            now,
        )
        .await?;
        let row = appointment::Model {
            id,
            patient_id: patient.id,
            doctor_id: request.doctor_id,
            facility_id: facility.id,
            service_id: request.service_id,
            start_at: slot.start,
            end_at: slot.end,
            status: match hold {
                None => first_status(facility, &settings),
                Some(_) => AppointmentStatus::Pending,
            },
            kind: request.kind,
            reason: request.reason.clone(),
            notes: String::new(),
            queue_number: None,
            booked_by: Some(actor.user_id),
            cancel_reason: None,
            hold_expires_at: hold.map(|ttl| now + ttl),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        db::insert_row::<appointment::ActiveModel>(&tx, row.clone()).await?;
        let action = if hold.is_some() {
            AppointmentAction::Held
        } else {
            AppointmentAction::Booked
        };
        let booked = event(&row, actor, action, None, None, None, now);
        db::insert_row::<appointment_event::ActiveModel>(&tx, booked).await?;
        // A hold tells no one: its booking does.
        if hold.is_none() {
            notifications::appointment_changed(&tx, &settings, &row, Change::Booked, now).await?;
        }
        audit::note_object(row.id);
        audit::note(Some(row.patient_id), false);
        tx.commit().await?;
        let service_name = row.service_id.and_then(|s| rules.service(s)).map(|s| s.name.clone());
        Ok(Some(AppointmentRow::written(
            row,
            &patient,
            &rules.doctor,
            facility,
            service_name,
        )))
    })
    .await
}

/// Place a hold: like [`create`] without `hold_id`, but the appointment is
/// `pending` and blocks its time only for `booking.hold_minutes` (then it
/// is gone, with no job needed); nobody is notified until it is booked.
///
/// Errors: as [`create`]; 422 naming `hold_id` when one is given.
pub async fn hold(state: &AppState, actor: &Actor, body: AppointmentIn) -> AppResult<Held> {
    body.validate()?;
    if body.hold_id.is_some() {
        return Err(AppError::invalid_field("hold_id", "a hold cannot hold another hold"));
    }
    let request = BookingRequest::of(actor, body)?;
    let ttl = state.settings().await?.hold_duration();
    let appointment = book(state, actor, request, None, Some(ttl))
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an unkeyed hold that was not made")))?;
    let expires_at = appointment
        .hold_expires_at
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a hold without its expiry")))?;
    Ok(Held {
        appointment,
        expires_at,
    })
}

/// Book the hold `hold_id` as `request` says: one transaction locks it,
/// checks it is the same booking and still live, and makes it an
/// appointment (confirmed where the facility auto-confirms), notifying as a
/// booking does. A hold already booked the same way is answered as it is
/// (a retry).
///
/// Errors: 404 for a hold the actor may not see or that is gone; 422 naming
/// the field that differs from the hold; 409 `hold_expired`.
async fn book_hold(
    state: &AppState,
    actor: &Actor,
    hold_id: Uuid,
    request: BookingRequest,
    key: Option<&IdempotencyKey>,
) -> AppResult<Option<AppointmentRow>> {
    let settings = state.settings().await?;
    let now = state.clock.now();
    let tx = state.db.begin_write().await?;
    if let Some(key) = key
        && !idempotency::record(&tx, actor.user_id, key, hold_id, now).await?
    {
        return Ok(None);
    }
    let row = appointments::find_for_update(&tx, hold_id)
        .await?
        .filter(|row| row.patient_id == request.patient_id)
        .ok_or(AppError::NotFound("hold"))?;
    authorize_object(actor, Action::AppointmentCreate, &PatientRecord::of(row.patient_id))?;
    for (field, same) in [
        ("doctor_id", row.doctor_id == request.doctor_id),
        ("service_id", row.service_id == request.service_id),
        ("start", row.start_at == request.start),
    ] {
        if !same {
            return Err(AppError::rule("hold_mismatch", field, "differs from the hold's"));
        }
    }
    let Some(until) = row.hold_expires_at else {
        // Booked already (a retry), or a plain appointment named as a hold.
        return if row.status.is_live() && row.booked_by == Some(actor.user_id) {
            drop(tx);
            Ok(Some(reload(state, hold_id).await?))
        } else {
            Err(AppError::invalid_field("hold_id", "is not a hold"))
        };
    };
    if until <= now || row.status != AppointmentStatus::Pending {
        return Err(AppError::conflict(
            "hold_expired",
            "the hold has expired or was released; book the time again",
        ));
    }
    let facility = db::directory::find_facility(&tx, row.facility_id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a hold at a missing facility")))?;
    let mut changed = row.clone().into_active_model();
    changed.status = Set(first_status(&facility, &settings));
    changed.hold_expires_at = Set(None);
    changed.reason = Set(request.reason);
    changed.kind = Set(request.kind);
    changed.booked_by = Set(Some(actor.user_id));
    changed.version = Set(row.version + 1);
    changed.updated_at = Set(now);
    let updated = changed.update(&tx).await?;
    let booked = event(
        &updated,
        actor,
        AppointmentAction::Booked,
        Some(row.status),
        None,
        None,
        now,
    );
    db::insert_row::<appointment_event::ActiveModel>(&tx, booked).await?;
    notifications::appointment_changed(&tx, &settings, &updated, Change::Booked, now).await?;
    audit::note_object(hold_id);
    audit::note(Some(updated.patient_id), false);
    tx.commit().await?;
    Ok(Some(reload(state, hold_id).await?))
}

/// Refuse a doctor whose account is deactivated (422) or who takes no bookings (422).
fn check_bookable(is_active: bool, is_accepting: bool) -> AppResult<()> {
    if !is_active {
        return Err(AppError::invalid_field("doctor_id", "no such doctor"));
    }
    if !is_accepting {
        return Err(AppError::rule(
            "doctor_not_accepting",
            "doctor_id",
            "the doctor is not taking bookings",
        ));
    }
    Ok(())
}

/// Load an appointment the actor may see, or 404 (a hold that expired is gone).
async fn visible(state: &AppState, actor: &Actor, id: Uuid, action: Action) -> AppResult<AppointmentRow> {
    let row = appointments::find(state.db.conn(), id)
        .await?
        .filter(|row| row.hold_expires_at.is_none_or(|until| until > state.clock.now()))
        .ok_or(AppError::NotFound("appointment"))?;
    authorize_object(actor, action, &row)?;
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
    precondition: impl Fn(i32) -> AppResult<()>,
) -> AppResult<AppointmentRow> {
    let current = visible(state, actor, id, Action::AppointmentReschedule).await?;
    if current.hold_expires_at.is_some() {
        return Err(on_hold());
    }
    if !lifecycle::can_reschedule(current.status) {
        return Err(AppError::conflict(
            "illegal_transition",
            format!("cannot reschedule an appointment that is {}", current.status),
        ));
    }
    let policy = state.booking_policy().await?;
    let limits = policy.limits();
    policy::check_patient_window(actor, current.start_at, state.clock.now(), policy.cancellation_window)?;
    let length = current.end_at - current.start_at;
    let now = state.clock.now();
    let rules = rules_for(state, current.doctor_id, now).await?;
    let slot = check_slot(&rules, new_start, Some(length), now, limits)?;
    super::retry_busy(|| move_to(state, actor, &current, slot, limits, &precondition)).await?;
    reload(state, id).await
}

/// The write of [`reschedule`]: one transaction.
async fn move_to(
    state: &AppState,
    actor: &Actor,
    current: &AppointmentRow,
    slot: Slot,
    limits: Limits,
    precondition: &impl Fn(i32) -> AppResult<()>,
) -> AppResult<()> {
    let id = current.id;
    let settings = state.settings().await?;
    let tx = state.db.begin_write().await?;
    // The appointment, then its doctor: the order check-in takes them in.
    let row = appointments::find_for_update(&tx, id)
        .await?
        .ok_or(AppError::NotFound("appointment"))?;
    schedules::lock_doctor(&tx, row.doctor_id).await?;
    precondition(row.version)?;
    if row.version != current.version {
        return Err(AppError::conflict(
            "concurrent_update",
            "the appointment changed meanwhile; read it again",
        ));
    }
    let now = state.clock.now();
    check_overlaps(
        &tx,
        row.doctor_id,
        row.patient_id,
        slot.start,
        slot.end,
        Some(id),
        limits,
        now,
    )
    .await?;
    let old_times = (row.start_at, row.end_at);
    let mut changed = row.clone().into_active_model();
    changed.start_at = Set(slot.start);
    changed.end_at = Set(slot.end);
    changed.facility_id = Set(slot.facility_id);
    changed.version = Set(row.version + 1);
    changed.updated_at = Set(now);
    let updated = changed.update(&tx).await?;
    let moved = event(
        &updated,
        actor,
        AppointmentAction::Rescheduled,
        Some(row.status),
        Some(old_times),
        None,
        now,
    );
    db::insert_row::<appointment_event::ActiveModel>(&tx, moved).await?;
    let change = Change::Rescheduled { from: old_times.0 };
    notifications::appointment_changed(&tx, &settings, &updated, change, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Apply a lifecycle transition (DESIGN §4). Starting opens the
/// appointment's consultation; completing completes it. `reason` is recorded (required
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
) -> AppResult<AppointmentRow> {
    let current = visible(state, actor, id, action_of(transition)).await?;
    if current.hold_expires_at.is_some() && transition != Transition::Cancel {
        return Err(on_hold());
    }
    let settings = state.settings().await?;
    let policy = settings.booking();
    if transition == Transition::Cancel {
        policy::check_patient_window(actor, current.start_at, state.clock.now(), policy.cancellation_window)?;
    }
    let tx = state.db.begin_write().await?;
    let row = appointments::find_for_update(&tx, id)
        .await?
        .ok_or(AppError::NotFound("appointment"))?;
    precondition(row.version)?;
    let now = state.clock.now();
    let (day_start, day_end) = local_day(&current.time_zone, row.start_at);
    let timing = Timing {
        now,
        start: row.start_at,
        day_end,
        check_in_opens: policy.check_in_opens,
        no_show_grace: policy.no_show_grace,
    };
    let status = lifecycle::apply(row.status, transition, timing)
        .map_err(|refusal| AppError::conflict(refusal.code(), refusal.explain()))?;
    let mut changed = row.clone().into_active_model();
    if transition == Transition::CheckIn {
        schedules::lock_doctor(&tx, row.doctor_id).await?;
        let number = appointments::next_queue_number(&tx, row.doctor_id, row.facility_id, day_start, day_end).await?;
        changed.queue_number = Set(Some(number));
    }
    if transition == Transition::Cancel {
        changed.cancel_reason = Set(reason.clone());
    }
    changed.status = Set(status);
    changed.version = Set(row.version + 1);
    changed.updated_at = Set(now);
    let updated = changed.update(&tx).await?;
    let record = event(
        &updated,
        actor,
        transition.action(),
        Some(row.status),
        None,
        reason,
        now,
    );
    db::insert_row::<appointment_event::ActiveModel>(&tx, record).await?;
    // A hold released is no appointment anyone was told of.
    if row.hold_expires_at.is_none() {
        notifications::appointment_changed(&tx, &settings, &updated, Change::Status, now).await?;
    }
    // The visit's record opens and closes with the visit, in the same transaction.
    match transition {
        Transition::Start => crate::clinical::consultations::open_for(&tx, &updated, actor.user_id, now).await?,
        Transition::Complete => {
            let consultation = crate::clinical::consultations::complete_for(&tx, id, actor.user_id, now).await?;
            crate::billing::draft_for_visit(&tx, &updated, consultation, actor.user_id, now).await?;
        }
        _ => {}
    }
    tx.commit().await?;
    reload(state, id).await
}

/// 409 for a change a hold cannot take: it is booked (with its id) or released (cancelled).
fn on_hold() -> AppError {
    AppError::conflict(
        "appointment_is_hold",
        "this is a hold: book it with hold_id, or cancel it to release its time",
    )
}

/// Cancel an appointment with a reason (see [`transition`]).
///
/// Errors: 422 for a blank or long reason; as [`transition`].
pub async fn cancel(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: CancelIn,
    precondition: impl FnOnce(i32) -> AppResult<()>,
) -> AppResult<AppointmentRow> {
    body.validate()?;
    let reason = Some(body.reason.into_trimmed());
    transition(state, actor, id, Transition::Cancel, reason, precondition).await
}

/// The local day (in `zone`) that contains `instant`, as instants.
fn local_day(zone: &str, instant: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let tz = TimeZone::parse(zone).map(TimeZone::tz).unwrap_or(chrono_tz::UTC);
    let date = calendar::local_date(zone, instant);
    (
        calendar::local_midnight(tz, date),
        calendar::local_midnight(tz, date + TimeDelta::days(1)),
    )
}
