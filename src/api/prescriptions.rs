//! Prescriptions and notes over HTTP (see [`crate::clinical::prescriptions`],
//! [`crate::clinical::notes`]).

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use super::diagnoses::ClinicalVersionsOut;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::clinical::entries::{self, EnteredInErrorIn};
use crate::clinical::notes::{self, NoteAmendment, NoteIn};
use crate::clinical::prescriptions::{self, PrescriptionAmendment, PrescriptionIn, PrescriptionQuery, StopIn};
use crate::clinical::vital_signs::Milli;
use crate::db::entities::{clinical_note, prescription};
use crate::domain::{MedicationRoute, NoteKind, NoteStatus, PrescriptionStatus};
use crate::error::AppResult;
use crate::state::AppState;

/// A prescription (FHIR MedicationRequest).
#[derive(Debug, Serialize, ToSchema)]
pub struct PrescriptionOut {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub patient_id: Uuid,
    /// A catalogue item, once the pharmacy keeps one.
    pub medication_id: Option<Uuid>,
    #[schema(example = "Metformin 500 mg tablet")]
    pub medication: String,
    #[schema(value_type = f64, example = 1)]
    pub dose_amount: Milli,
    #[schema(example = "tablet")]
    pub dose_unit: String,
    pub route: MedicationRoute,
    /// Doses a day; null when only as needed.
    pub times_per_day: Option<i32>,
    /// The dose pattern it was given as (`1-0-1`).
    pub frequency_pattern: Option<String>,
    pub as_needed: bool,
    pub duration_days: Option<i32>,
    pub quantity: i32,
    pub refills: i32,
    pub instructions: String,
    pub status: PrescriptionStatus,
    /// Why it was stopped.
    pub status_reason: Option<String>,
    /// Why it was marked entered in error.
    pub error_reason: Option<String>,
    /// From 1; each change adds one (`GET …/versions`).
    pub version: i32,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<prescription::Model> for PrescriptionOut {
    fn from(row: prescription::Model) -> Self {
        PrescriptionOut {
            id: row.id,
            consultation_id: row.consultation_id,
            patient_id: row.patient_id,
            medication_id: row.medication_id,
            medication: row.medication,
            dose_amount: Milli(row.dose_amount_milli),
            dose_unit: row.dose_unit,
            route: row.route,
            times_per_day: row.times_per_day,
            frequency_pattern: row.frequency_pattern,
            as_needed: row.as_needed,
            duration_days: row.duration_days,
            quantity: row.quantity,
            refills: row.refills,
            instructions: row.instructions,
            status: row.status,
            status_reason: row.status_reason,
            error_reason: row.error_reason,
            version: row.version,
            recorded_by: row.recorded_by,
            recorded_at: row.recorded_at,
            updated_at: row.updated_at,
        }
    }
}

/// A clinical note.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteOut {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub patient_id: Uuid,
    pub kind: NoteKind,
    pub text: String,
    pub status: NoteStatus,
    pub error_reason: Option<String>,
    pub version: i32,
    /// The author of the current version.
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<clinical_note::Model> for NoteOut {
    fn from(row: clinical_note::Model) -> Self {
        NoteOut {
            id: row.id,
            consultation_id: row.consultation_id,
            patient_id: row.patient_id,
            kind: row.kind,
            text: row.text,
            status: row.status,
            error_reason: row.error_reason,
            version: row.version,
            recorded_by: row.recorded_by,
            recorded_at: row.recorded_at,
            updated_at: row.updated_at,
        }
    }
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_prescription))
        .routes(routes!(get_prescription, amend_prescription))
        .routes(routes!(stop_prescription))
        .routes(routes!(complete_prescription))
        .routes(routes!(prescription_entered_in_error))
        .routes(routes!(prescription_versions))
        .routes(routes!(patient_prescriptions))
        .routes(routes!(record_note))
        .routes(routes!(get_note, amend_note))
        .routes(routes!(note_entered_in_error))
        .routes(routes!(note_versions))
}

/// Prescribe in a consultation in progress (its doctor).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/prescriptions", tag = "clinical", request_body = PrescriptionIn,
    params(("id" = Uuid, Path, description = "Consultation id")),
    responses((status = 201, description = "Prescribed", body = PrescriptionOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn record_prescription(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PrescriptionIn>,
) -> AppResult<impl IntoResponse> {
    let row = prescriptions::record(&state, &actor, id, body).await?;
    Ok(created(
        format!("/api/v1/prescriptions/{}", row.id),
        PrescriptionOut::from(row),
    ))
}

/// Read a prescription.
#[utoipa::path(get, path = "/api/v1/prescriptions/{id}", tag = "clinical",
    params(("id" = Uuid, Path, description = "Prescription id")),
    responses((status = 200, description = "The prescription", body = PrescriptionOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn get_prescription(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<PrescriptionOut>> {
    Ok(Json(
        entries::get::<prescription::Model>(&state, &actor, id).await?.into(),
    ))
}

/// Amend a prescription with a reason (its consultation's doctor): version n+1.
#[utoipa::path(put, path = "/api/v1/prescriptions/{id}", tag = "clinical", request_body = PrescriptionAmendment,
    params(("id" = Uuid, Path, description = "Prescription id")),
    responses((status = 200, description = "The amended prescription", body = PrescriptionOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn amend_prescription(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PrescriptionAmendment>,
) -> AppResult<Json<PrescriptionOut>> {
    Ok(Json(prescriptions::amend(&state, &actor, id, body).await?.into()))
}

/// Stop an active prescription, with a reason.
#[utoipa::path(post, path = "/api/v1/prescriptions/{id}/stop", tag = "clinical", request_body = StopIn,
    params(("id" = Uuid, Path, description = "Prescription id")),
    responses((status = 200, description = "The stopped prescription", body = PrescriptionOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn stop_prescription(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<StopIn>,
) -> AppResult<Json<PrescriptionOut>> {
    Ok(Json(prescriptions::end(&state, &actor, id, Some(body)).await?.into()))
}

/// Mark an active prescription completed (taken to the end).
#[utoipa::path(post, path = "/api/v1/prescriptions/{id}/complete", tag = "clinical",
    params(("id" = Uuid, Path, description = "Prescription id")),
    responses((status = 200, description = "The completed prescription", body = PrescriptionOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn complete_prescription(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<PrescriptionOut>> {
    Ok(Json(prescriptions::end(&state, &actor, id, None).await?.into()))
}

/// Mark a prescription entered in error, with a reason.
#[utoipa::path(post, path = "/api/v1/prescriptions/{id}/entered-in-error", tag = "clinical", request_body = EnteredInErrorIn,
    params(("id" = Uuid, Path, description = "Prescription id")),
    responses((status = 200, description = "The prescription, entered in error", body = PrescriptionOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn prescription_entered_in_error(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EnteredInErrorIn>,
) -> AppResult<Json<PrescriptionOut>> {
    let row =
        entries::mark_entered_in_error::<prescription::Model>(&state, &actor, id, Action::ClinicalWrite, body).await?;
    Ok(Json(row.into()))
}

/// Every version of a prescription, oldest first.
#[utoipa::path(get, path = "/api/v1/prescriptions/{id}/versions", tag = "clinical",
    params(("id" = Uuid, Path, description = "Prescription id")),
    responses((status = 200, description = "Its versions", body = ClinicalVersionsOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn prescription_versions(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ClinicalVersionsOut>> {
    Ok(Json(
        entries::history::<prescription::Model>(&state, &actor, id)
            .await?
            .into(),
    ))
}

/// A patient's prescriptions, newest first (`?status=active` for what they take now).
#[utoipa::path(get, path = "/api/v1/patients/{id}/prescriptions", tag = "clinical",
    params(("id" = Uuid, Path, description = "Patient id"), PrescriptionQuery),
    responses((status = 200, description = "The prescriptions", body = Vec<PrescriptionOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn patient_prescriptions(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<PrescriptionQuery>,
) -> AppResult<Json<Vec<PrescriptionOut>>> {
    let rows = prescriptions::of_patient(&state, &actor, id, &query).await?;
    Ok(Json(rows.into_iter().map(PrescriptionOut::from).collect()))
}

/// Write a note in a consultation in progress: its doctor, or a nurse of
/// its facility (nursing notes only).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/notes", tag = "clinical", request_body = NoteIn,
    params(("id" = Uuid, Path, description = "Consultation id")),
    responses((status = 201, description = "Written", body = NoteOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::NoteWrite))))]
pub async fn record_note(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NoteIn>,
) -> AppResult<impl IntoResponse> {
    let row = notes::record(&state, &actor, id, body).await?;
    Ok(created(format!("/api/v1/notes/{}", row.id), NoteOut::from(row)))
}

/// Read a note.
#[utoipa::path(get, path = "/api/v1/notes/{id}", tag = "clinical",
    params(("id" = Uuid, Path, description = "Note id")),
    responses((status = 200, description = "The note", body = NoteOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn get_note(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<NoteOut>> {
    Ok(Json(
        entries::get::<clinical_note::Model>(&state, &actor, id).await?.into(),
    ))
}

/// Amend a note with a reason: version n+1.
#[utoipa::path(put, path = "/api/v1/notes/{id}", tag = "clinical", request_body = NoteAmendment,
    params(("id" = Uuid, Path, description = "Note id")),
    responses((status = 200, description = "The amended note", body = NoteOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::NoteWrite))))]
pub async fn amend_note(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NoteAmendment>,
) -> AppResult<Json<NoteOut>> {
    Ok(Json(notes::amend(&state, &actor, id, body).await?.into()))
}

/// Mark a note entered in error, with a reason.
#[utoipa::path(post, path = "/api/v1/notes/{id}/entered-in-error", tag = "clinical", request_body = EnteredInErrorIn,
    params(("id" = Uuid, Path, description = "Note id")),
    responses((status = 200, description = "The note, entered in error", body = NoteOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::NoteWrite))))]
pub async fn note_entered_in_error(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EnteredInErrorIn>,
) -> AppResult<Json<NoteOut>> {
    Ok(Json(
        notes::mark_entered_in_error(&state, &actor, id, body).await?.into(),
    ))
}

/// Every version of a note, oldest first.
#[utoipa::path(get, path = "/api/v1/notes/{id}/versions", tag = "clinical",
    params(("id" = Uuid, Path, description = "Note id")),
    responses((status = 200, description = "Its versions", body = ClinicalVersionsOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn note_versions(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ClinicalVersionsOut>> {
    Ok(Json(
        entries::history::<clinical_note::Model>(&state, &actor, id)
            .await?
            .into(),
    ))
}
