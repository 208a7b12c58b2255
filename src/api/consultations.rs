//! Consultations over HTTP (see [`crate::clinical::consultations`]).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::conditional::{IfMatch, etag, version_tag};
use super::created;
use super::diagnoses::{ClinicalVersionsOut, DiagnosisOut};
use super::extract::{ApiJson, ApiPath};
use super::pagination::{ListQuery, NoFilter, Page, PageParams};
use super::prescriptions::{NoteOut, PrescriptionOut};
use super::responses::{ReadErrors, WriteErrors};
use super::vital_signs::VitalSignsOut;
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::clinical::consultations::{
    self, ConsultationAmendment, ConsultationIn, ConsultationPatch, ConsultationQuery, ConsultationRecord,
};
use crate::clinical::entries::{self, EnteredInErrorIn};
use crate::db::entities::consultation;
use crate::domain::ConsultationStatus;
use crate::error::AppResult;
use crate::state::AppState;

/// A consultation (FHIR Encounter): the record of one visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationOut {
    pub id: Uuid,
    /// The appointment it records; null for a walk-in.
    pub appointment_id: Option<Uuid>,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub facility_id: Uuid,
    pub status: ConsultationStatus,
    pub chief_complaint: String,
    pub history_of_present_illness: String,
    /// Examination findings.
    pub examination: String,
    pub assessment: String,
    pub plan: String,
    /// When the patient should come back.
    pub follow_up_on: Option<NaiveDate>,
    pub started_at: DateTime<Utc>,
    /// Set when completed.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it was marked entered in error.
    pub error_reason: Option<String>,
    /// Starts at 1; each change adds one (the `ETag`; `GET …/versions`).
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<consultation::Model> for ConsultationOut {
    fn from(row: consultation::Model) -> Self {
        ConsultationOut {
            id: row.id,
            appointment_id: row.appointment_id,
            patient_id: row.patient_id,
            doctor_id: row.doctor_id,
            facility_id: row.facility_id,
            status: row.status,
            chief_complaint: row.chief_complaint,
            history_of_present_illness: row.history_of_present_illness,
            examination: row.examination,
            assessment: row.assessment,
            plan: row.plan,
            follow_up_on: row.follow_up_on,
            started_at: row.started_at,
            ended_at: row.ended_at,
            error_reason: row.error_reason,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A consultation with everything recorded in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationDetailOut {
    #[serde(flatten)]
    pub consultation: ConsultationOut,
    /// In the order measured.
    pub vital_signs: Vec<VitalSignsOut>,
    /// In the order recorded.
    pub diagnoses: Vec<DiagnosisOut>,
    /// In the order recorded.
    pub prescriptions: Vec<PrescriptionOut>,
    /// In the order written.
    pub notes: Vec<NoteOut>,
}

impl From<ConsultationRecord> for ConsultationDetailOut {
    fn from(record: ConsultationRecord) -> Self {
        ConsultationDetailOut {
            consultation: record.consultation.into(),
            vital_signs: record.vital_signs.into_iter().map(VitalSignsOut::from).collect(),
            diagnoses: record.diagnoses.into_iter().map(DiagnosisOut::from).collect(),
            prescriptions: record.prescriptions.into_iter().map(PrescriptionOut::from).collect(),
            notes: record.notes.into_iter().map(NoteOut::from).collect(),
        }
    }
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_consultations, open_consultation))
        .routes(routes!(get_consultation, update_consultation, amend_consultation))
        .routes(routes!(complete_consultation))
        .routes(routes!(consultation_entered_in_error))
        .routes(routes!(consultation_versions))
        .routes(routes!(patient_consultations))
        .routes(routes!(clinical_summary))
}

/// A consultation with its `ETag` header.
pub type Tagged = ([(HeaderName, HeaderValue); 1], Json<ConsultationOut>);

fn tagged(row: consultation::Model) -> Tagged {
    (etag(&version_tag(row.version)), Json(row.into()))
}

/// List the consultations the caller may see, newest first: a doctor those
/// of the patients they treat, a nurse those of patients seen at their
/// facility, a patient their own.
#[utoipa::path(get, path = "/api/v1/consultations", tag = "clinical", params(PageParams, ConsultationQuery),
    responses((status = 200, description = "A page of consultations", body = Page<ConsultationOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn list_consultations(
    State(state): State<AppState>,
    actor: Actor,
    query: ListQuery<ConsultationQuery>,
) -> AppResult<Json<Page<ConsultationOut>>> {
    let found = consultations::list(&state, &actor, &query.filter, query.page).await?;
    Ok(Json(query.page_of(found, ConsultationOut::from)))
}

/// Open a consultation: a walk-in (with `facility_id`), or the record of
/// an appointment that is in progress or completed and has none yet.
/// Starting an appointment opens its consultation by itself. Doctors only.
#[utoipa::path(post, path = "/api/v1/consultations", tag = "clinical", request_body = ConsultationIn,
    responses((status = 201, description = "Opened", body = ConsultationOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn open_consultation(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<ConsultationIn>,
) -> AppResult<impl IntoResponse> {
    let row = consultations::open(&state, &actor, body).await?;
    Ok(created(
        format!("/api/v1/consultations/{}", row.id),
        ConsultationOut::from(row),
    ))
}

/// Read a consultation with what was recorded in it.
#[utoipa::path(get, path = "/api/v1/consultations/{id}", tag = "clinical",
    params(("id" = Uuid, Path, description = "Consultation id")),
    responses((status = 200, description = "The consultation", body = ConsultationDetailOut,
        headers(("ETag" = String, description = "The consultation's version, for If-Match"))), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn get_consultation(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<([(HeaderName, HeaderValue); 1], Json<ConsultationDetailOut>)> {
    let record = consultations::get(&state, &actor, id).await?;
    let tag = etag(&version_tag(record.consultation.version));
    Ok((tag, Json(record.into())))
}

/// Change a consultation while it is in progress (its doctor); a completed
/// one is `409 consultation_not_in_progress`.
#[utoipa::path(patch, path = "/api/v1/consultations/{id}", tag = "clinical", request_body = ConsultationPatch,
    params(("id" = Uuid, Path, description = "Consultation id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if it has changed since")),
    responses((status = 200, description = "The changed consultation", body = ConsultationOut,
        headers(("ETag" = String, description = "The new version"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn update_consultation(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<ConsultationPatch>,
) -> AppResult<Tagged> {
    let check = |version| if_match.check(&version_tag(version));
    Ok(tagged(consultations::update(&state, &actor, id, body, check).await?))
}

/// Amend a consultation with a reason (its doctor; the way a completed one
/// changes): its whole text as it should stand, version n+1; earlier
/// versions stay readable.
#[utoipa::path(put, path = "/api/v1/consultations/{id}", tag = "clinical", request_body = ConsultationAmendment,
    params(("id" = Uuid, Path, description = "Consultation id")),
    responses((status = 200, description = "The amended consultation", body = ConsultationOut,
        headers(("ETag" = String, description = "The new version"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn amend_consultation(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ConsultationAmendment>,
) -> AppResult<Tagged> {
    Ok(tagged(consultations::amend(&state, &actor, id, body).await?))
}

/// Mark a consultation entered in error (recorded for the wrong patient,
/// say), with a reason (its doctor): it takes no more entries or changes,
/// leaves the summaries and stays in its history. Its appointment is not changed.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/entered-in-error", tag = "clinical", request_body = EnteredInErrorIn,
    params(("id" = Uuid, Path, description = "Consultation id")),
    responses((status = 200, description = "The consultation, entered in error", body = ConsultationOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn consultation_entered_in_error(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EnteredInErrorIn>,
) -> AppResult<Tagged> {
    let row =
        entries::mark_entered_in_error::<consultation::Model>(&state, &actor, id, Action::ClinicalWrite, body).await?;
    Ok(tagged(row))
}

/// Every version of a consultation, oldest first (each write: opening,
/// changes in progress, completion, amendments), with author, time, reason
/// and the SHA-256 digest chain.
#[utoipa::path(get, path = "/api/v1/consultations/{id}/versions", tag = "clinical",
    params(("id" = Uuid, Path, description = "Consultation id")),
    responses((status = 200, description = "Its versions", body = ClinicalVersionsOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn consultation_versions(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ClinicalVersionsOut>> {
    Ok(Json(
        entries::history::<consultation::Model>(&state, &actor, id)
            .await?
            .into(),
    ))
}

/// Complete a walk-in consultation (its doctor). One that records an
/// appointment completes with the appointment (`409 complete_the_appointment`).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/complete", tag = "clinical",
    params(("id" = Uuid, Path, description = "Consultation id")),
    responses((status = 200, description = "The completed consultation", body = ConsultationOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalWrite))))]
pub async fn complete_consultation(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Tagged> {
    Ok(tagged(consultations::complete(&state, &actor, id).await?))
}

/// A patient's consultations, newest first.
#[utoipa::path(get, path = "/api/v1/patients/{id}/consultations", tag = "clinical",
    params(("id" = Uuid, Path, description = "Patient id"), PageParams),
    responses((status = 200, description = "A page of consultations", body = Page<ConsultationOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn patient_consultations(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    query: ListQuery<NoFilter>,
) -> AppResult<Json<Page<ConsultationOut>>> {
    let filter = ConsultationQuery {
        patient: Some(id),
        ..ConsultationQuery::default()
    };
    let found = consultations::list(&state, &actor, &filter, query.page).await?;
    Ok(Json(query.page_of(found, ConsultationOut::from)))
}

/// A patient's clinical summary; entries entered in error are left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClinicalSummaryOut {
    pub patient_id: Uuid,
    pub blood_group: Option<crate::domain::BloodGroup>,
    /// Known allergies (the patient record's).
    pub allergies: String,
    /// Active problems: confirmed diagnoses, one per code, newest first.
    pub problems: Vec<DiagnosisOut>,
    /// Active prescriptions, newest first.
    pub prescriptions: Vec<PrescriptionOut>,
    /// The latest vital signs (up to 5), newest first: the trend.
    pub vital_signs: Vec<VitalSignsOut>,
    /// The latest consultations (up to 5), newest first.
    pub consultations: Vec<ConsultationOut>,
}

/// A patient's clinical summary: allergies, active problems, active
/// prescriptions, the latest vital signs and consultations.
#[utoipa::path(get, path = "/api/v1/patients/{id}/clinical-summary", tag = "clinical",
    params(("id" = Uuid, Path, description = "Patient id")),
    responses((status = 200, description = "The summary", body = ClinicalSummaryOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn clinical_summary(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ClinicalSummaryOut>> {
    let s = crate::clinical::summary::of_patient(&state, &actor, id).await?;
    Ok(Json(ClinicalSummaryOut {
        patient_id: s.patient_id,
        blood_group: s.blood_group,
        allergies: s.allergies,
        problems: s.problems.into_iter().map(DiagnosisOut::from).collect(),
        prescriptions: s.prescriptions.into_iter().map(PrescriptionOut::from).collect(),
        vital_signs: s.vital_signs.into_iter().map(VitalSignsOut::from).collect(),
        consultations: s.consultations.into_iter().map(ConsultationOut::from).collect(),
    }))
}
