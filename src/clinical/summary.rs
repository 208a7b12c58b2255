//! A patient's clinical summary: what a clinician reads first.

use uuid::Uuid;

use super::consultations::check_visible;
use crate::auth::Actor;
use crate::auth::policy::{Action, ClinicalRecord, authorize, reach};
use crate::db::consultations::ConsultationFilter;
use crate::db::entities::{consultation, diagnosis, prescription, vital_signs};
use crate::db::{self, PageRequest};
use crate::domain::ConsultationStatus;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How many of the latest vital signs and consultations a summary holds.
pub const RECENT: u64 = 5;

/// A patient's clinical summary; entries entered in error are left out.
#[derive(Debug, Clone)]
pub struct ClinicalSummary {
    /// The patient.
    pub patient_id: Uuid,
    /// Blood group, as the patient record holds it.
    pub blood_group: Option<crate::domain::BloodGroup>,
    /// Known allergies, as the patient record holds them.
    pub allergies: String,
    /// Confirmed diagnoses, one per code, newest first.
    pub problems: Vec<diagnosis::Model>,
    /// Active prescriptions, newest first.
    pub prescriptions: Vec<prescription::Model>,
    /// The latest vital signs, newest first (the trend).
    pub vital_signs: Vec<vital_signs::Model>,
    /// The latest consultations, newest first.
    pub consultations: Vec<consultation::Model>,
}

/// The clinical summary of `patient`.
///
/// Errors: 403 for reception; 404 when the actor may not see the patient's clinical record.
pub async fn of_patient(state: &AppState, actor: &Actor, patient: Uuid) -> AppResult<ClinicalSummary> {
    authorize(actor, Action::ClinicalRead)?;
    check_visible(state, actor, patient).await?;
    let conn = state.db.conn();
    let record = db::patients::find(conn, patient)
        .await?
        .ok_or(AppError::NotFound("patient"))?;
    let recent = PageRequest {
        page: 1,
        page_size: RECENT,
    };
    let vitals = db::vital_signs::of_patient(conn, patient, true, recent).await?.rows;
    // The record is visible (checked above): the list needs no second check.
    let filter = ConsultationFilter {
        patient: Some(patient),
        doctor: None,
        started: db::Period::default(),
        statuses: vec![ConsultationStatus::InProgress, ConsultationStatus::Completed],
    };
    let reach = reach::<ClinicalRecord>(actor, Action::ClinicalRead)?;
    let consultations = db::consultations::list(conn, reach, &filter, recent).await?.rows;
    Ok(ClinicalSummary {
        patient_id: patient,
        blood_group: record.blood_group,
        allergies: record.allergies,
        problems: db::diagnoses::confirmed_of_patient(conn, patient).await?,
        prescriptions: db::entries::of_patient(conn, "prescriptions", patient, &["active"]).await?,
        vital_signs: vitals,
        consultations,
    })
}
