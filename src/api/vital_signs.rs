//! Vital signs over HTTP (see [`crate::clinical::vital_signs`]): each
//! measurement with its value, UCUM unit and LOINC code.

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
use super::extract::{ApiJson, ApiPath};
use super::pagination::{ListQuery, NoFilter, Page, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::clinical::entries::{self, EnteredInErrorIn};
use crate::clinical::vital_signs::{self, Milli, VitalSignsAmendment, VitalSignsIn, bmi_tenths};
use crate::db::entities::vital_signs as row;
use crate::error::AppResult;
use crate::state::AppState;

/// The LOINC code system.
pub const LOINC: &str = "http://loinc.org";

/// One measurement: value, UCUM unit, LOINC code.
#[derive(Debug, Serialize, ToSchema)]
pub struct Measurement {
    /// A number; whole values are integers (`177`), others decimals (`38.5`).
    #[schema(value_type = f64, example = 38.5)]
    pub value: Milli,
    /// UCUM.
    #[schema(example = "Cel")]
    pub unit: &'static str,
    #[schema(example = "8310-5")]
    pub loinc: &'static str,
}

/// A temperature: in Celsius, and as entered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Temperature {
    #[serde(flatten)]
    pub celsius: Measurement,
    /// The value and unit it was entered in (`[degF]` is converted).
    pub entered: Entered,
}

/// A value as entered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Entered {
    #[schema(value_type = f64, example = 101.3)]
    pub value: Milli,
    #[schema(example = "[degF]")]
    pub unit: String,
}

/// A blood pressure (LOINC panel 85354-9).
#[derive(Debug, Serialize, ToSchema)]
pub struct BloodPressure {
    #[schema(example = "85354-9")]
    pub loinc: &'static str,
    pub systolic: Measurement,
    pub diastolic: Measurement,
}

/// One set of vital signs; a measurement not taken is null.
#[derive(Debug, Serialize, ToSchema)]
pub struct VitalSignsOut {
    pub id: Uuid,
    pub patient_id: Uuid,
    /// Null for triage before a consultation.
    pub consultation_id: Option<Uuid>,
    pub facility_id: Option<Uuid>,
    pub measured_at: DateTime<Utc>,
    /// The user who measured.
    pub measured_by: Uuid,
    pub blood_pressure: Option<BloodPressure>,
    pub heart_rate: Option<Measurement>,
    pub respiratory_rate: Option<Measurement>,
    pub temperature: Option<Temperature>,
    pub oxygen_saturation: Option<Measurement>,
    pub weight: Option<Measurement>,
    pub height: Option<Measurement>,
    /// Derived from weight and height measured together (LOINC 39156-5), to one decimal place.
    pub bmi: Option<Measurement>,
    pub pain_score: Option<Measurement>,
    /// `final`, `amended` (changed since first recorded) or `entered_in_error` (FHIR Observation status).
    #[schema(example = "final")]
    pub status: String,
    /// Why it was marked entered in error.
    pub error_reason: Option<String>,
    /// From 1; each amendment adds one (`GET …/versions`).
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

fn measure(value: Option<i64>, unit: &'static str, loinc: &'static str) -> Option<Measurement> {
    value.map(|v| Measurement {
        value: Milli(v),
        unit,
        loinc,
    })
}

fn whole(value: Option<i32>, unit: &'static str, loinc: &'static str) -> Option<Measurement> {
    measure(value.map(|v| i64::from(v) * 1000), unit, loinc)
}

impl From<row::Model> for VitalSignsOut {
    fn from(row: row::Model) -> Self {
        let blood_pressure = match (row.systolic, row.diastolic) {
            (Some(s), Some(d)) => Some(BloodPressure {
                loinc: "85354-9",
                systolic: whole(Some(s), "mm[Hg]", "8480-6").expect("given"),
                diastolic: whole(Some(d), "mm[Hg]", "8462-4").expect("given"),
            }),
            _ => None,
        };
        let temperature = row.temperature_milli.map(|celsius| Temperature {
            celsius: Measurement {
                value: Milli(celsius),
                unit: "Cel",
                loinc: "8310-5",
            },
            entered: Entered {
                value: Milli(row.temperature_entered_milli.unwrap_or(celsius)),
                unit: row.temperature_unit.clone().unwrap_or_else(|| "Cel".into()),
            },
        });
        let bmi = row
            .weight_milli
            .zip(row.height_milli)
            .and_then(|(w, h)| bmi_tenths(w, h))
            .map(|tenths| tenths * 100);
        VitalSignsOut {
            id: row.id,
            patient_id: row.patient_id,
            consultation_id: row.consultation_id,
            facility_id: row.facility_id,
            measured_at: row.measured_at,
            measured_by: row.measured_by,
            blood_pressure,
            heart_rate: whole(row.heart_rate, "/min", "8867-4"),
            respiratory_rate: whole(row.respiratory_rate, "/min", "9279-1"),
            temperature,
            oxygen_saturation: whole(row.oxygen_saturation, "%", "2708-6"),
            weight: measure(row.weight_milli, "kg", "29463-7"),
            height: measure(row.height_milli, "cm", "8302-2"),
            bmi: measure(bmi, "kg/m2", "39156-5"),
            pain_score: whole(row.pain_score, "{score}", "72514-3"),
            status: row.status,
            error_reason: row.error_reason,
            version: row.version,
            updated_at: row.updated_at,
        }
    }
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_vital_signs))
        .routes(routes!(patient_vital_signs, triage_vital_signs))
        .routes(routes!(get_vital_signs, amend_vital_signs))
        .routes(routes!(vital_signs_entered_in_error))
        .routes(routes!(vital_signs_versions))
}

/// One set of vital signs.
#[utoipa::path(get, path = "/api/v1/vital-signs/{id}", tag = "clinical",
    params(("id" = Uuid, Path, description = "Vital signs id")),
    responses((status = 200, description = "The vital signs", body = VitalSignsOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn get_vital_signs(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<VitalSignsOut>> {
    Ok(Json(entries::get::<row::Model>(&state, &actor, id).await?.into()))
}

/// Amend a set of vital signs with a reason (who may record them, also
/// after the consultation is completed): the whole set as it should stand,
/// version n+1, status `amended`; earlier versions stay readable.
#[utoipa::path(put, path = "/api/v1/vital-signs/{id}", tag = "clinical", request_body = VitalSignsAmendment,
    params(("id" = Uuid, Path, description = "Vital signs id")),
    responses((status = 200, description = "The amended vital signs", body = VitalSignsOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::VitalSignsWrite))))]
pub async fn amend_vital_signs(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<VitalSignsAmendment>,
) -> AppResult<Json<VitalSignsOut>> {
    Ok(Json(vital_signs::amend(&state, &actor, id, body).await?.into()))
}

/// Mark a set of vital signs entered in error, with a reason: it stays in
/// its history and leaves the summary's trend.
#[utoipa::path(post, path = "/api/v1/vital-signs/{id}/entered-in-error", tag = "clinical", request_body = EnteredInErrorIn,
    params(("id" = Uuid, Path, description = "Vital signs id")),
    responses((status = 200, description = "The vital signs, entered in error", body = VitalSignsOut), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::VitalSignsWrite))))]
pub async fn vital_signs_entered_in_error(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EnteredInErrorIn>,
) -> AppResult<Json<VitalSignsOut>> {
    let row = entries::mark_entered_in_error::<row::Model>(&state, &actor, id, Action::VitalSignsWrite, body).await?;
    Ok(Json(row.into()))
}

/// Every version of a set of vital signs, oldest first, with author, time,
/// reason and the SHA-256 digest chain.
#[utoipa::path(get, path = "/api/v1/vital-signs/{id}/versions", tag = "clinical",
    params(("id" = Uuid, Path, description = "Vital signs id")),
    responses((status = 200, description = "Its versions", body = ClinicalVersionsOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn vital_signs_versions(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ClinicalVersionsOut>> {
    Ok(Json(entries::history::<row::Model>(&state, &actor, id).await?.into()))
}

/// Record vital signs in a consultation in progress: its doctor, or a nurse
/// of its facility. Implausible values are 422 naming the field.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/vital-signs", tag = "clinical", request_body = VitalSignsIn,
    params(("id" = Uuid, Path, description = "Consultation id")),
    responses((status = 201, description = "Recorded", body = VitalSignsOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::VitalSignsWrite))))]
pub async fn record_vital_signs(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<VitalSignsIn>,
) -> AppResult<impl IntoResponse> {
    let row = vital_signs::record(&state, &actor, id, body).await?;
    Ok(created(
        format!("/api/v1/vital-signs/{}", row.id),
        VitalSignsOut::from(row),
    ))
}

/// Record triage vital signs before a consultation: a doctor treating the
/// patient, a nurse of a facility that saw them.
#[utoipa::path(post, path = "/api/v1/patients/{id}/vital-signs", tag = "clinical", request_body = VitalSignsIn,
    params(("id" = Uuid, Path, description = "Patient id")),
    responses((status = 201, description = "Recorded", body = VitalSignsOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::VitalSignsWrite))))]
pub async fn triage_vital_signs(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<VitalSignsIn>,
) -> AppResult<impl IntoResponse> {
    let row = vital_signs::triage(&state, &actor, id, body).await?;
    Ok(created(
        format!("/api/v1/vital-signs/{}", row.id),
        VitalSignsOut::from(row),
    ))
}

/// A patient's vital signs, newest first.
#[utoipa::path(get, path = "/api/v1/patients/{id}/vital-signs", tag = "clinical",
    params(("id" = Uuid, Path, description = "Patient id"), PageParams),
    responses((status = 200, description = "A page of vital signs", body = Page<VitalSignsOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::ClinicalRead))))]
pub async fn patient_vital_signs(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
    query: ListQuery<NoFilter>,
) -> AppResult<Json<Page<VitalSignsOut>>> {
    let found = vital_signs::of_patient(&state, &actor, id, query.page).await?;
    Ok(Json(query.page_of(found, VitalSignsOut::from)))
}
