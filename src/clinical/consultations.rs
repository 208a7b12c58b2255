//! Consultations (FHIR Encounter): the record of one visit. Starting an
//! appointment opens its consultation and completing the appointment
//! completes it (`booking::appointments::transition`, one transaction); a
//! doctor opens one for a walk-in here. While in progress its doctor
//! changes it freely; once completed it changes only by amendment.
//!
//! Who may see one is the patient record's care relation
//! ([`policy::ClinicalRecord`], 404 otherwise); who may write to it is its
//! doctor ([`Action::ClinicalWrite`] on the consultation: 404 for any other
//! doctor, 403 for roles that never write). Reception never reaches any of it.

use chrono::NaiveDate;
use garde::Validate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::entries::{self, impl_entry};
use crate::auth::Actor;
use crate::auth::policy::{self, Action, ClinicalRecord, authorize, authorize_object, reach};
use crate::db::consultations::ConsultationFilter;
use crate::db::entities::{clinical_note, consultation, diagnosis, prescription, vital_signs};
use crate::db::{self, PageRequest, Paged, Tx, audit, directory};
use crate::domain::{AppointmentStatus, ConsultationStatus};
use crate::error::{AppError, AppResult};
use crate::input::{self, Text, TextOrEmpty};
use crate::state::AppState;

/// Free clinical text: complaint, history, findings, assessment, plan.
pub type ClinicalText = TextOrEmpty<8000>;

/// A consultation opened by a doctor: a walk-in, or the record of an
/// appointment started before clinical records were kept.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ConsultationIn {
    /// The patient.
    #[garde(skip)]
    pub patient_id: Uuid,
    /// The appointment it records (in progress or completed, without a
    /// consultation yet); none for a walk-in.
    #[garde(skip)]
    pub appointment_id: Option<Uuid>,
    /// Where the visit takes place; required for a walk-in, the
    /// appointment's facility otherwise.
    #[garde(skip)]
    pub facility_id: Option<Uuid>,
    #[serde(default)]
    #[garde(dive)]
    pub chief_complaint: ClinicalText,
    #[serde(default)]
    #[garde(dive)]
    pub history_of_present_illness: ClinicalText,
    /// Examination findings.
    #[serde(default)]
    #[garde(dive)]
    pub examination: ClinicalText,
    #[serde(default)]
    #[garde(dive)]
    pub assessment: ClinicalText,
    #[serde(default)]
    #[garde(dive)]
    pub plan: ClinicalText,
    /// When the patient should come back.
    #[garde(skip)]
    pub follow_up_on: Option<NaiveDate>,
}

/// Changes to a consultation in progress; absent fields stay, `null` clears the follow-up date.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ConsultationPatch {
    #[garde(dive)]
    pub chief_complaint: Option<ClinicalText>,
    #[garde(dive)]
    pub history_of_present_illness: Option<ClinicalText>,
    #[garde(dive)]
    pub examination: Option<ClinicalText>,
    #[garde(dive)]
    pub assessment: Option<ClinicalText>,
    #[garde(dive)]
    pub plan: Option<ClinicalText>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    #[garde(skip)]
    pub follow_up_on: Option<Option<NaiveDate>>,
}

/// An amendment: the consultation's text as it should now stand (every
/// field; `follow_up_on` null or absent for none), and why.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ConsultationAmendment {
    /// Why it changes.
    #[schema(example = "Examination findings were recorded under the wrong side")]
    #[garde(dive)]
    pub reason: Text<500>,
    #[garde(dive)]
    pub chief_complaint: ClinicalText,
    #[garde(dive)]
    pub history_of_present_illness: ClinicalText,
    #[garde(dive)]
    pub examination: ClinicalText,
    #[garde(dive)]
    pub assessment: ClinicalText,
    #[garde(dive)]
    pub plan: ClinicalText,
    #[garde(skip)]
    pub follow_up_on: Option<NaiveDate>,
}

impl_entry!(
    consultation,
    entry = "consultation",
    table = "consultations",
    kind = "consultation",
    entered_in_error = ConsultationStatus::EnteredInError,
    consultation = |row| Some(row.id),
    // `opened_by` is who opened it; each version names its author.
    author = |row, by| (),
    content = |row| serde_json::json!({
        "appointment_id": row.appointment_id,
        "patient_id": row.patient_id,
        "doctor_id": row.doctor_id,
        "facility_id": row.facility_id,
        "status": row.status,
        "chief_complaint": row.chief_complaint,
        "history_of_present_illness": row.history_of_present_illness,
        "examination": row.examination,
        "assessment": row.assessment,
        "plan": row.plan,
        "follow_up_on": row.follow_up_on,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "error_reason": row.error_reason,
    }),
);

/// Open the consultation of `appointment` as it starts, in `tx` (the
/// appointment's transaction): version 1 by `by`.
pub async fn open_for(
    tx: &Tx,
    appointment: &crate::db::entities::appointment::Model,
    by: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let row = db::consultations::open_for(tx, appointment, by, now).await?;
    entries::append(tx, &mut row.clone(), by, None).await
}

/// Complete the open consultation of `appointment` as it completes, in
/// `tx` (the appointment's transaction): the next version by `by`. Returns
/// the consultation's id, if the visit had one.
pub async fn complete_for(
    tx: &Tx,
    appointment: Uuid,
    by: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Option<Uuid>> {
    let Some(mut row) = db::consultations::complete_for(tx, appointment, now).await? else {
        return Ok(None);
    };
    entries::append(tx, &mut row, by, None).await?;
    Ok(Some(row.id))
}

/// Filters of the consultation list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsultationQuery {
    /// Only this patient's.
    pub patient: Option<Uuid>,
    /// Only this doctor's.
    pub doctor: Option<Uuid>,
    /// Only those started at or after this: RFC 3339 instant or `YYYY-MM-DD` (00:00 UTC).
    #[param(schema_with = input::date_or_instant)]
    pub from: Option<String>,
    /// Only those started before this: RFC 3339 instant or `YYYY-MM-DD` (the end of that day, UTC).
    #[param(schema_with = input::date_or_instant)]
    pub to: Option<String>,
    /// One status or several, comma-separated (`in_progress,completed`).
    #[param(pattern = "^((in_progress|completed|entered_in_error)(,(in_progress|completed|entered_in_error))*)?$")]
    pub status: Option<String>,
}

/// The clinical record of `patient` is visible to `actor`, or 404 (`what`
/// not found) — before anything is looked up, so a missing and a hidden
/// record look alike.
pub async fn check_visible(state: &AppState, actor: &Actor, patient: Uuid) -> AppResult<()> {
    let record = policy::patient_record(state.db.conn(), actor, patient).await?;
    authorize_object(actor, Action::ClinicalRead, &ClinicalRecord(record))
}

/// A consultation the actor may see.
///
/// Errors: 404 when it does not exist or they may not see it.
pub async fn visible(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<consultation::Model> {
    authorize(actor, Action::ClinicalRead)?;
    let row = db::consultations::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("consultation"))?;
    check_visible(state, actor, row.patient_id).await?;
    Ok(row)
}

/// The consultation `id`, locked in `tx`, that `actor` may write to with
/// `action` (its doctor for [`Action::ClinicalWrite`]) and that is still in
/// progress. Call [`visible`] first, before the transaction.
///
/// Errors: 404 when it is not theirs; 409 `consultation_not_in_progress`
/// (`consultation_entered_in_error`) when it is closed.
pub async fn writable(tx: &Tx, actor: &Actor, id: Uuid, action: Action) -> AppResult<consultation::Model> {
    let row = db::consultations::find_for_update(tx, id)
        .await?
        .ok_or(AppError::NotFound("consultation"))?;
    authorize_object(actor, action, &row)?;
    match row.status {
        ConsultationStatus::InProgress => Ok(row),
        ConsultationStatus::EnteredInError => Err(AppError::conflict(
            "consultation_entered_in_error",
            "this consultation was entered in error and takes no more entries",
        )),
        ConsultationStatus::Completed => Err(AppError::conflict(
            "consultation_not_in_progress",
            "the consultation is completed; its entries change only by amendment",
        )),
    }
}

/// The consultation `id`, locked in `tx`, whose entries `actor` may amend:
/// its doctor, whether it is in progress or completed, unless it was
/// entered in error.
///
/// Errors: 404 when it is not theirs; 409 `consultation_entered_in_error`.
pub async fn amendable(tx: &Tx, actor: &Actor, id: Uuid, action: Action) -> AppResult<consultation::Model> {
    let row = db::consultations::find_for_update(tx, id)
        .await?
        .ok_or(AppError::NotFound("consultation"))?;
    authorize_object(actor, action, &row)?;
    if row.status == ConsultationStatus::EnteredInError {
        return Err(AppError::conflict(
            "consultation_entered_in_error",
            "this consultation was entered in error and takes no more changes",
        ));
    }
    Ok(row)
}

/// The consultations the actor may see, newest first.
///
/// Errors: 400 naming a filter that does not parse; 404 for a `patient`
/// whose record they may not see.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    query: &ConsultationQuery,
    page: PageRequest,
) -> AppResult<Paged<consultation::Model>> {
    let reach = reach::<ClinicalRecord>(actor, Action::ClinicalRead)?;
    if let Some(patient) = query.patient {
        check_visible(state, actor, patient).await?;
    }
    let filter = ConsultationFilter {
        patient: query.patient,
        doctor: query.doctor,
        started: input::period(query.from.as_deref(), query.to.as_deref())?,
        statuses: input::one_or_more("status", query.status.as_deref())?,
    };
    let found = db::consultations::list(state.db.conn(), reach, &filter, page).await?;
    audit::note_disclosed(found.rows.iter().map(|c| c.patient_id));
    Ok(found)
}

/// Open a consultation (see [`ConsultationIn`]). Only a doctor, as its doctor.
///
/// Errors: 403 for anyone but a doctor with a doctor profile; 422 for an
/// unknown patient or facility, a walk-in without a facility, or an
/// appointment of another patient or doctor; 409 `appointment_not_started`
/// (`appointment_cancelled`) for an appointment that is not in progress or
/// completed, `consultation_exists` when it already has one.
pub async fn open(state: &AppState, actor: &Actor, body: ConsultationIn) -> AppResult<consultation::Model> {
    authorize(actor, Action::ClinicalWrite)?;
    let doctor = actor
        .doctor_id
        .ok_or_else(|| AppError::Forbidden("only a doctor with a doctor profile opens consultations".into()))?;
    body.validate()?;
    let patient = db::patients::find(state.db.conn(), body.patient_id)
        .await?
        .ok_or_else(|| AppError::invalid_field("patient_id", "no such patient"))?;
    let facility = match body.appointment_id {
        Some(appointment) => appointment_facility(state, doctor, body.patient_id, appointment).await?,
        None => {
            let facility = body.facility_id.ok_or_else(|| {
                AppError::invalid_field("facility_id", "a walk-in needs the facility it takes place at")
            })?;
            if directory::find_facility(state.db.conn(), facility).await?.is_none() {
                return Err(AppError::invalid_field("facility_id", "no such facility"));
            }
            facility
        }
    };
    let now = state.clock.now();
    let mut row = db::consultations::blank(body.patient_id, doctor, facility, now);
    row.appointment_id = body.appointment_id;
    row.opened_by = Some(actor.user_id);
    row.chief_complaint = body.chief_complaint.into_trimmed();
    row.history_of_present_illness = body.history_of_present_illness.into_trimmed();
    row.examination = body.examination.into_trimmed();
    row.assessment = body.assessment.into_trimmed();
    row.plan = body.plan.into_trimmed();
    row.follow_up_on = body.follow_up_on;
    let tx = state.db.begin_write().await?;
    if let Some(appointment) = body.appointment_id
        && db::consultations::of_appointment(&tx, appointment).await?.is_some()
    {
        return Err(consultation_exists());
    }
    let mut row = db::consultations::insert(&tx, row).await.map_err(|err| {
        if err.is_unique_on("appointment_id") {
            consultation_exists()
        } else {
            err.into()
        }
    })?;
    entries::append(&tx, &mut row, actor.user_id, None).await?;
    if row.appointment_id.is_none() {
        // Reception registers and bills the visit: no clinical detail in the message.
        let message = format!(
            "{} {} (MRN {}) is being seen as a walk-in.",
            patient.first_name, patient.last_name, patient.medical_record_number
        );
        let title = "Walk-in patient";
        crate::notifications::tell_role(
            &tx,
            crate::domain::Role::Receptionist,
            Some(facility),
            "walk_in_registered",
            title,
            &message,
            now,
        )
        .await?;
    }
    audit::note(Some(row.patient_id), false);
    audit::note_object(row.id);
    tx.commit().await?;
    Ok(row)
}

fn consultation_exists() -> AppError {
    AppError::conflict("consultation_exists", "this appointment already has its consultation")
}

/// The facility of `appointment`, which `doctor` may record for `patient`.
async fn appointment_facility(state: &AppState, doctor: Uuid, patient: Uuid, appointment: Uuid) -> AppResult<Uuid> {
    let row = db::appointments::find(state.db.conn(), appointment)
        .await?
        .filter(|a| a.doctor_id == doctor)
        .ok_or_else(|| AppError::invalid_field("appointment_id", "no such appointment of yours"))?;
    if row.patient_id != patient {
        return Err(AppError::invalid_field(
            "appointment_id",
            "is another patient's appointment",
        ));
    }
    match row.status {
        AppointmentStatus::InProgress | AppointmentStatus::Completed => Ok(row.facility_id),
        AppointmentStatus::Cancelled | AppointmentStatus::NoShow => Err(AppError::conflict(
            "appointment_cancelled",
            format!("the appointment is {}: it has no visit to record", row.status),
        )),
        _ => Err(AppError::conflict(
            "appointment_not_started",
            "start the appointment (POST /api/v1/appointments/{id}/start): that opens its consultation",
        )),
    }
}

/// A consultation with what was recorded in it.
#[derive(Debug, Clone)]
pub struct ConsultationRecord {
    /// The consultation.
    pub consultation: consultation::Model,
    /// Its vital signs, in the order measured.
    pub vital_signs: Vec<vital_signs::Model>,
    /// Its diagnoses, in the order recorded.
    pub diagnoses: Vec<diagnosis::Model>,
    /// Its prescriptions, in the order recorded.
    pub prescriptions: Vec<prescription::Model>,
    /// Its notes, in the order written.
    pub notes: Vec<clinical_note::Model>,
}

/// A consultation the actor may see, with its entries.
///
/// Errors: 404 when it does not exist or they may not see it.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<ConsultationRecord> {
    let consultation = visible(state, actor, id).await?;
    let conn = state.db.conn();
    Ok(ConsultationRecord {
        consultation,
        vital_signs: db::entries::of_consultation(conn, "vital_signs", "measured_at", id).await?,
        diagnoses: db::entries::of_consultation(conn, "diagnoses", "recorded_at", id).await?,
        prescriptions: db::entries::of_consultation(conn, "prescriptions", "recorded_at", id).await?,
        notes: db::entries::of_consultation(conn, "clinical_notes", "recorded_at", id).await?,
    })
}

/// Change a consultation in progress (its doctor). `precondition` is
/// checked against the locked row's version (for `If-Match`).
///
/// Errors: 404/403 by the policy; 409 when it is not in progress; 422 for
/// text that is too long; whatever `precondition` returns.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: ConsultationPatch,
    precondition: impl FnOnce(i32) -> AppResult<()>,
) -> AppResult<consultation::Model> {
    body.validate()?;
    visible(state, actor, id).await?;
    let tx = state.db.begin_write().await?;
    let mut row = writable(&tx, actor, id, Action::ClinicalWrite).await?;
    precondition(row.version)?;
    let set = |field: &mut String, value: Option<ClinicalText>| {
        if let Some(value) = value {
            *field = value.into_trimmed();
        }
    };
    set(&mut row.chief_complaint, body.chief_complaint);
    set(&mut row.history_of_present_illness, body.history_of_present_illness);
    set(&mut row.examination, body.examination);
    set(&mut row.assessment, body.assessment);
    set(&mut row.plan, body.plan);
    if let Some(follow_up) = body.follow_up_on {
        row.follow_up_on = follow_up;
    }
    row.version += 1;
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    let mut row = db::consultations::update(&tx, row).await?;
    entries::append(&tx, &mut row, actor.user_id, None).await?;
    tx.commit().await?;
    Ok(row)
}

/// Complete a walk-in consultation (its doctor). One that records an
/// appointment completes with it (`POST /appointments/{id}/complete`).
///
/// Errors: 404/403 by the policy; 409 when it is not in progress, or
/// `complete_the_appointment` while its appointment is not completed.
pub async fn complete(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<consultation::Model> {
    visible(state, actor, id).await?;
    let tx = state.db.begin_write().await?;
    let mut row = writable(&tx, actor, id, Action::ClinicalWrite).await?;
    if let Some(appointment) = row.appointment_id {
        let done = db::appointments::find(&tx, appointment)
            .await?
            .is_some_and(|a| a.status == AppointmentStatus::Completed);
        if !done {
            return Err(AppError::conflict(
                "complete_the_appointment",
                "this consultation completes with its appointment: POST /api/v1/appointments/{id}/complete",
            ));
        }
    }
    let now = state.clock.now();
    row.status = ConsultationStatus::Completed;
    row.ended_at = Some(std::cmp::max(now, row.started_at));
    row.version += 1;
    row.updated_at = db::next_update(row.updated_at, now);
    let mut row = db::consultations::update(&tx, row).await?;
    entries::append(&tx, &mut row, actor.user_id, None).await?;
    tx.commit().await?;
    Ok(row)
}

/// Amend a consultation (its doctor, in progress or completed): version
/// n+1 with the reason; the earlier versions stay readable.
///
/// Errors: 404/403 by the policy; 409 for one entered in error; 422 for a
/// blank reason or text that is too long.
pub async fn amend(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: ConsultationAmendment,
) -> AppResult<consultation::Model> {
    authorize(actor, Action::ClinicalWrite)?;
    body.validate()?;
    let reason = body.reason.into_trimmed();
    entries::change(
        state,
        actor,
        id,
        Action::ClinicalWrite,
        reason,
        move |row: &mut consultation::Model| {
            row.chief_complaint = body.chief_complaint.into_trimmed();
            row.history_of_present_illness = body.history_of_present_illness.into_trimmed();
            row.examination = body.examination.into_trimmed();
            row.assessment = body.assessment.into_trimmed();
            row.plan = body.plan.into_trimmed();
            row.follow_up_on = body.follow_up_on;
            Ok(())
        },
    )
    .await
}
