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
use super::consultations::check_visible;
use super::entries::{self, impl_entry};
use crate::auth::Actor;
use crate::auth::policy::{Action, authorize};
use crate::db;
use crate::db::entities::diagnosis;
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

impl_entry!(
    diagnosis,
    entry = ENTRY,
    table = "diagnoses",
    kind = "diagnosis",
    entered_in_error = DiagnosisStatus::EnteredInError,
    consultation = |row| Some(row.consultation_id),
    author = |row, by| row.recorded_by = by,
    content = |row| json!({
        "consultation_id": row.consultation_id,
        "patient_id": row.patient_id,
        "code": row.code,
        "kind": row.kind,
        "status": row.status,
        "notes": row.notes,
        "error_reason": row.error_reason,
    }),
);

/// Record a diagnosis in consultation `id` (its doctor, while in progress).
///
/// Errors: 404/403 by the policy; 409 when the consultation is closed; 422
/// for a code that is not billable ICD-10-CM or a status of `entered_in_error`.
pub async fn record(state: &AppState, actor: &Actor, id: Uuid, body: DiagnosisIn) -> AppResult<diagnosis::Model> {
    body.validate()?;
    check_status(body.status)?;
    let code = billable(&body.code)?;
    let now = state.clock.now();
    entries::record(state, actor, id, Action::ClinicalWrite, |consultation| {
        Ok(diagnosis::Model {
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
        })
    })
    .await
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
    entries::change(
        state,
        actor,
        id,
        Action::ClinicalWrite,
        body.reason.into_trimmed(),
        |row: &mut diagnosis::Model| {
            row.code = code.to_owned();
            row.kind = body.kind;
            row.status = body.status;
            row.notes = body.notes.into_trimmed();
            Ok(())
        },
    )
    .await
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
