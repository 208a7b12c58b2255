//! The ICD-10-CM code list over HTTP (see [`crate::clinical::codes`]):
//! reference data every signed-in role may read; it says nothing about any
//! patient.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::ApiPath;
use super::pagination::{ListQuery, Page, PageParams};
use super::responses::ReadErrors;
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::clinical::codes::{self, DiagnosisCode};
use crate::domain::icd10cm;
use crate::error::{AppError, AppResult};
use crate::input::{self, Search};
use crate::state::AppState;

/// A billable ICD-10-CM code (FY2026, April 1 2026 update).
#[derive(Debug, Serialize, ToSchema)]
pub struct DiagnosisCodeOut {
    /// The code with its dot.
    #[schema(example = "E11.9")]
    pub code: &'static str,
    /// Its title in the tabular list.
    #[schema(example = "Type 2 diabetes mellitus without complications")]
    pub description: &'static str,
    /// The FHIR code system.
    #[schema(example = "http://hl7.org/fhir/sid/icd-10-cm")]
    pub system: &'static str,
}

impl From<DiagnosisCode> for DiagnosisCodeOut {
    fn from(code: DiagnosisCode) -> Self {
        DiagnosisCodeOut {
            code: code.code,
            description: code.description,
            system: icd10cm::SYSTEM,
        }
    }
}

/// Filters of the code list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiagnosisCodeQuery {
    /// A code prefix (`E11`, `e11.6`, dot optional) or words of the title
    /// (`type 2 diabetes`; the last word may be the start of one).
    #[param(inline)]
    pub search: Option<Search>,
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_diagnosis_codes))
        .routes(routes!(get_diagnosis_code))
}

/// Find billable ICD-10-CM codes, in code order: by code prefix when
/// `search` reads as one and some code starts with it, else by the words of
/// their titles; all codes without `search`.
#[utoipa::path(get, path = "/api/v1/diagnosis-codes", tag = "clinical", params(PageParams, DiagnosisCodeQuery),
    responses((status = 200, description = "A page of codes", body = Page<DiagnosisCodeOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::DirectoryRead))))]
pub async fn list_diagnosis_codes(_actor: Actor, query: ListQuery<DiagnosisCodeQuery>) -> Json<Page<DiagnosisCodeOut>> {
    let search = input::search(&query.filter.search);
    let found = codes::search(search.as_deref(), query.page);
    Json(query.page_of(found, DiagnosisCodeOut::from))
}

/// One billable code (any case, the dot optional: `e119` is `E11.9`).
/// A category that is not billable (`E11`) is 404.
#[utoipa::path(get, path = "/api/v1/diagnosis-codes/{code}", tag = "clinical",
    params(("code" = String, Path, description = "The code, e.g. E11.9")),
    responses((status = 200, description = "The code", body = DiagnosisCodeOut), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::DirectoryRead))))]
pub async fn get_diagnosis_code(_actor: Actor, ApiPath(code): ApiPath<String>) -> AppResult<Json<DiagnosisCodeOut>> {
    let code = codes::find(&code).ok_or(AppError::NotFound("diagnosis code"))?;
    Ok(Json(code.into()))
}
