//! Diagnoses coded in ICD-10-CM, made in a consultation by its doctor.
//! Only a billable code is accepted (422 otherwise; the `diagnosis_codes`
//! foreign key is the guard). A patient's active problem list is derived
//! from their confirmed diagnoses. Amended with a reason, never deleted
//! ([`super::versions`]).

use garde::Validate;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::codes;
use super::consultations::{self, check_visible};
use super::versions::{self, Version};
use crate::auth::Actor;
use crate::auth::policy::{Action, authorize};
use crate::db::entities::{clinical_version, diagnosis};
use crate::db::{self, Tx, audit};
use crate::domain::{DiagnosisKind, DiagnosisStatus};
use crate::error::{AppError, AppResult};
use crate::input::{Text, TextOrEmpty};
use crate::state::AppState;

/// The entry type of diagnoses in the version history.
pub const ENTRY: &str = "diagnosis";

/// A diagnosis to record.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DiagnosisIn {
    /// A billable ICD-10-CM code (any case, dot optional).
    #[schema(example = "E11.9")]
    #[garde(length(max = 16))]
    pub code: String,
    /// `primary` (default) or `secondary`.
    #[serde(default = "primary")]
    #[garde(skip)]
    pub kind: DiagnosisKind,
    /// `provisional` (default) or `confirmed`.
    #[serde(default = "provisional")]
    #[garde(skip)]
    pub status: DiagnosisStatus,
    #[serde(default)]
    #[garde(dive)]
    pub notes: TextOrEmpty<2000>,
}

fn primary() -> DiagnosisKind {
    DiagnosisKind::Primary
}

fn provisional() -> DiagnosisStatus {
    DiagnosisStatus::Provisional
}

/// An amendment: the diagnosis as it should now stand, and why.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DiagnosisAmendment {
    /// Why it changes.
    #[schema(example = "HbA1c came back at 8.1%")]
    #[garde(dive)]
    pub reason: Text<500>,
    #[schema(example = "E11.65")]
    #[garde(length(max = 16))]
    pub code: String,
    #[garde(skip)]
    pub kind: DiagnosisKind,
    /// `provisional` or `confirmed`.
    #[garde(skip)]
    pub status: DiagnosisStatus,
    #[serde(default)]
    #[garde(dive)]
    pub notes: TextOrEmpty<2000>,
}

/// Why an entry is marked entered in error.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct EnteredInErrorIn {
    #[schema(example = "Recorded for the wrong patient")]
    #[garde(dive)]
    pub reason: Text<500>,
}

/// The billable code `code` names. Errors: 422 naming `code`.
fn billable(code: &str) -> AppResult<&'static str> {
    if let Some(found) = codes::find(code) {
        return Ok(found.code);
    }
    let category = crate::domain::icd10cm::normalise(code)
        .filter(|c| codes::search(Some(c), db::PageRequest { page: 1, page_size: 1 }).count > 0);
    Err(AppError::invalid_field(
        "code",
        match category {
            Some(_) => "is a category, not a billable ICD-10-CM code: choose a more specific code",
            None => "is not an ICD-10-CM code",
        },
    ))
}

fn check_status(status: DiagnosisStatus) -> AppResult<()> {
    if status == DiagnosisStatus::EnteredInError {
        return Err(AppError::invalid_field(
            "status",
            "mark an entry entered in error with POST …/entered-in-error and a reason",
        ));
    }
    Ok(())
}

/// The clinical content of a diagnosis, as its versions record it.
pub fn content(row: &diagnosis::Model) -> serde_json::Value {
    json!({
        "consultation_id": row.consultation_id,
        "patient_id": row.patient_id,
        "code": row.code,
        "kind": row.kind,
        "status": row.status,
        "notes": row.notes,
        "error_reason": row.error_reason,
    })
}

async fn append(tx: &Tx, row: &diagnosis::Model, author: Uuid, reason: Option<&str>) -> AppResult<()> {
    let version = Version {
        entry_type: ENTRY,
        entry_id: row.id,
        version: row.version,
        patient_id: row.patient_id,
        content: content(row),
        author_id: author,
        reason,
        at: row.updated_at,
    };
    Ok(versions::append(tx, version).await?)
}

/// Record a diagnosis in consultation `id` (its doctor, while in progress).
///
/// Errors: 404/403 by the policy; 409 when the consultation is closed; 422
/// for a code that is not billable ICD-10-CM or a status of `entered_in_error`.
pub async fn record(state: &AppState, actor: &Actor, id: Uuid, body: DiagnosisIn) -> AppResult<diagnosis::Model> {
    body.validate()?;
    check_status(body.status)?;
    let code = billable(&body.code)?;
    consultations::visible(state, actor, id).await?;
    let tx = state.db.begin_write().await?;
    let consultation = consultations::writable(&tx, actor, id, Action::ClinicalWrite).await?;
    let now = state.clock.now();
    let row = diagnosis::Model {
        id: Uuid::now_v7(),
        consultation_id: consultation.id,
        patient_id: consultation.patient_id,
        recorded_by: actor.user_id,
        error_reason: None,
        version: 1,
        recorded_at: now,
        updated_at: now,
        code: code.to_owned(),
        kind: body.kind,
        status: body.status,
        notes: body.notes.into_trimmed(),
    };
    db::insert_row::<diagnosis::ActiveModel>(&tx, row.clone()).await?;
    append(&tx, &row, actor.user_id, None).await?;
    audit::note_object(row.id);
    tx.commit().await?;
    Ok(row)
}

/// A diagnosis the actor may see.
///
/// Errors: 404 when it does not exist or they may not see it.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<diagnosis::Model> {
    authorize(actor, Action::ClinicalRead)?;
    let row: diagnosis::Model = db::find_by_id::<diagnosis::Entity>(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("diagnosis"))?;
    check_visible(state, actor, row.patient_id).await?;
    Ok(row)
}

/// The diagnosis `id` locked in `tx`, which `actor` may change (the
/// consultation's doctor) and which is not entered in error.
async fn changeable(tx: &Tx, actor: &Actor, id: Uuid) -> AppResult<diagnosis::Model> {
    let row: diagnosis::Model = db::find_for_update(tx, "diagnoses", id)
        .await?
        .ok_or(AppError::NotFound("diagnosis"))?;
    consultations::amendable(tx, actor, row.consultation_id, Action::ClinicalWrite).await?;
    if row.status == DiagnosisStatus::EnteredInError {
        return Err(entered_in_error());
    }
    Ok(row)
}

/// 409 `entry_entered_in_error`.
pub fn entered_in_error() -> AppError {
    AppError::conflict(
        "entry_entered_in_error",
        "this entry was entered in error; record a new one instead",
    )
}

/// Amend a diagnosis (its consultation's doctor, in progress or completed):
/// version n+1 with the reason; the earlier versions stay readable.
///
/// Errors: 404/403 by the policy; 409 for an entry or consultation entered
/// in error; 422 for a blank reason, a code that is not billable, or a
/// status of `entered_in_error`.
pub async fn amend(state: &AppState, actor: &Actor, id: Uuid, body: DiagnosisAmendment) -> AppResult<diagnosis::Model> {
    body.validate()?;
    check_status(body.status)?;
    let code = billable(&body.code)?;
    get(state, actor, id).await?;
    let tx = state.db.begin_write().await?;
    let mut row = changeable(&tx, actor, id).await?;
    row.code = code.to_owned();
    row.kind = body.kind;
    row.status = body.status;
    row.notes = body.notes.into_trimmed();
    let reason = body.reason.into_trimmed();
    save(tx, state, actor, row, &reason).await
}

/// Mark a diagnosis entered in error (kept in its history, hidden from summaries).
///
/// Errors: as [`amend`]; 422 for a blank reason.
pub async fn mark_entered_in_error(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: EnteredInErrorIn,
) -> AppResult<diagnosis::Model> {
    body.validate()?;
    get(state, actor, id).await?;
    let tx = state.db.begin_write().await?;
    let mut row = changeable(&tx, actor, id).await?;
    let reason = body.reason.into_trimmed();
    row.status = DiagnosisStatus::EnteredInError;
    row.error_reason = Some(reason.clone());
    save(tx, state, actor, row, &reason).await
}

/// Write version n+1 of `row` and its history entry, and commit.
async fn save(
    tx: Tx,
    state: &AppState,
    actor: &Actor,
    mut row: diagnosis::Model,
    reason: &str,
) -> AppResult<diagnosis::Model> {
    row.version += 1;
    row.recorded_by = actor.user_id;
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    let row = db::update_row::<diagnosis::ActiveModel>(&tx, row).await?;
    append(&tx, &row, actor.user_id, Some(reason)).await?;
    tx.commit().await?;
    Ok(row)
}

/// Every version of a diagnosis, oldest first.
///
/// Errors: 404 when it does not exist or the actor may not see it.
pub async fn history(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Vec<clinical_version::Model>> {
    get(state, actor, id).await?;
    Ok(db::clinical_versions::of_entry(state.db.conn(), ENTRY, id).await?)
}

/// A patient's active problem list: their confirmed diagnoses, one per
/// code, newest first; entries and consultations entered in error left out.
///
/// Errors: 404 when the actor may not see the patient's clinical record.
pub async fn problems(state: &AppState, actor: &Actor, patient: Uuid) -> AppResult<Vec<diagnosis::Model>> {
    authorize(actor, Action::ClinicalRead)?;
    check_visible(state, actor, patient).await?;
    Ok(db::diagnoses::confirmed_of_patient(state.db.conn(), patient).await?)
}
