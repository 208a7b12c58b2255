//! Diagnoses over HTTP (see [`crate::clinical::diagnoses`]) and the
//! version history every clinical entry shares.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use super::extract::{ApiJson, ApiPath};
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::clinical::codes;
use crate::clinical::diagnoses::{self, DiagnosisAmendment, DiagnosisIn};
use crate::clinical::entries::{self, EnteredInErrorIn};
use crate::db::entities::{clinical_version, diagnosis};
use crate::domain::{DiagnosisKind, DiagnosisStatus, icd10cm};
use crate::error::AppResult;
use crate::state::AppState;

/// A diagnosis (FHIR Condition), coded in ICD-10-CM.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiagnosisOut {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub patient_id: Uuid,
    #[schema(example = "E11.9")]
    pub code: String,
    #[schema(example = "Type 2 diabetes mellitus without complications")]
    pub description: &'static str,
    #[schema(example = "http://hl7.org/fhir/sid/icd-10-cm")]
    pub system: &'static str,
    pub kind: DiagnosisKind,
    pub status: DiagnosisStatus,
    pub notes: String,
    /// Why it was marked entered in error.
    pub error_reason: Option<String>,
    /// From 1; each amendment adds one (`GET …/versions`).
    pub version: i32,
    /// Who wrote the current version.
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<diagnosis::Model> for DiagnosisOut {
    fn from(row: diagnosis::Model) -> Self {
        DiagnosisOut {
            description: codes::find(&row.code).map_or("", |c| c.description),
            system: icd10cm::SYSTEM,
            id: row.id,
            consultation_id: row.consultation_id,
            patient_id: row.patient_id,
            code: row.code,
            kind: row.kind,
            status: row.status,
            notes: row.notes,
            error_reason: row.error_reason,
            version: row.version,
            recorded_by: row.recorded_by,
            recorded_at: row.recorded_at,
            updated_at: row.updated_at,
        }
    }
}

/// One version of a clinical entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClinicalVersionOut {
    /// From 1.
    pub version: i32,
    /// The entry's clinical content in this version.
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    /// Lower-case hex SHA-256 of `previous_digest` (empty for version 1),
    /// a line feed, and the canonical JSON of `content` (keys sorted, no white space).
    pub digest: String,
    pub previous_digest: Option<String>,
    /// Who wrote this version.
    pub author_id: Uuid,
    /// Why it changed; null for version 1.
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl From<clinical_version::Model> for ClinicalVersionOut {
    fn from(row: clinical_version::Model) -> Self {
        ClinicalVersionOut {
            version: row.version,
            content: serde_json::from_str(&row.content).unwrap_or(serde_json::Value::Null),
            digest: row.digest,
            previous_digest: row.previous_digest,
            author_id: row.author_id,
            reason: row.reason,
            recorded_at: row.recorded_at,
        }
    }
}

/// The versions of an entry, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClinicalVersionsOut {
    /// Whether the digests form an unbroken chain from version 1.
    pub chain_intact: bool,
    pub versions: Vec<ClinicalVersionOut>,
}

impl From<Vec<clinical_version::Model>> for ClinicalVersionsOut {
    fn from(rows: Vec<clinical_version::Model>) -> Self {
        ClinicalVersionsOut {
            chain_intact: crate::clinical::versions::chain_holds(&rows),
            versions: rows.into_iter().map(ClinicalVersionOut::from).collect(),
        }
    }
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_diagnosis))
        .routes(routes!(get_diagnosis, amend_diagnosis))
        .routes(routes!(diagnosis_entered_in_error))
        .routes(routes!(diagnosis_versions))
        .routes(routes!(patient_problems))
}

/// Record a diagnosis in a consultation in progress (its doctor). The code
/// must be a billable ICD-10-CM code (422 otherwise).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/diagnoses", tag = "clinical", request_body = DiagnosisIn,
    params(("id" = Uuid, Path, description = "Consultation id")),
    responses((status = 201, description = "Recorded", body = DiagnosisOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn record_diagnosis(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DiagnosisIn>,
) -> AppResult<impl IntoResponse> {
    let row = diagnoses::record(&state, &actor, id, body).await?;
    Ok(created(
        format!("/api/v1/diagnoses/{}", row.id),
        DiagnosisOut::from(row),
    ))
}

/// Read a diagnosis.
#[utoipa::path(get, path = "/api/v1/diagnoses/{id}", tag = "clinical",
    params(("id" = Uuid, Path, description = "Diagnosis id")),
    responses((status = 200, description = "The diagnosis", body = DiagnosisOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn get_diagnosis(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<DiagnosisOut>> {
    Ok(Json(entries::get::<diagnosis::Model>(&state, &actor, id).await?.into()))
}

/// Amend a diagnosis with a reason (its consultation's doctor, also after
/// the consultation is completed): version n+1; earlier versions stay readable.
#[utoipa::path(put, path = "/api/v1/diagnoses/{id}", tag = "clinical", request_body = DiagnosisAmendment,
    params(("id" = Uuid, Path, description = "Diagnosis id")),
    responses((status = 200, description = "The amended diagnosis", body = DiagnosisOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn amend_diagnosis(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DiagnosisAmendment>,
) -> AppResult<Json<DiagnosisOut>> {
    Ok(Json(diagnoses::amend(&state, &actor, id, body).await?.into()))
}

/// Mark a diagnosis entered in error, with a reason: it stays in its
/// history and leaves the problem list and summaries.
#[utoipa::path(post, path = "/api/v1/diagnoses/{id}/entered-in-error", tag = "clinical", request_body = EnteredInErrorIn,
    params(("id" = Uuid, Path, description = "Diagnosis id")),
    responses((status = 200, description = "The diagnosis, entered in error", body = DiagnosisOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn diagnosis_entered_in_error(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EnteredInErrorIn>,
) -> AppResult<Json<DiagnosisOut>> {
    let row =
        entries::mark_entered_in_error::<diagnosis::Model>(&state, &actor, id, Action::ClinicalWrite, body).await?;
    Ok(Json(row.into()))
}

/// Every version of a diagnosis, oldest first, with author, time, reason
/// and the SHA-256 digest chain.
#[utoipa::path(get, path = "/api/v1/diagnoses/{id}/versions", tag = "clinical",
    params(("id" = Uuid, Path, description = "Diagnosis id")),
    responses((status = 200, description = "Its versions", body = ClinicalVersionsOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn diagnosis_versions(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ClinicalVersionsOut>> {
    Ok(Json(
        entries::history::<diagnosis::Model>(&state, &actor, id).await?.into(),
    ))
}

/// A patient's active problem list: confirmed diagnoses, one per code,
/// newest first (entries entered in error left out).
#[utoipa::path(get, path = "/api/v1/patients/{id}/problems", tag = "clinical",
    params(("id" = Uuid, Path, description = "Patient id")),
    responses((status = 200, description = "The active problems", body = Vec<DiagnosisOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn patient_problems(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<Vec<DiagnosisOut>>> {
    let rows = diagnoses::problems(&state, &actor, id).await?;
    Ok(Json(rows.into_iter().map(DiagnosisOut::from).collect()))
}
