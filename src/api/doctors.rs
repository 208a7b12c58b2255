//! Doctors: profiles linked to users, and the doctor search.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::conditional::{IfMatch, etag, time_tag};
use super::extract::{ApiJson, ApiPath};
use super::pagination::{ListQuery, Page, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use super::{created, no_content};
use crate::auth::policy::Action;
use crate::directory::doctors::{self, DoctorIn, DoctorPatch, DoctorProfile, DoctorQuery};
use crate::domain::Money;
use crate::error::AppResult;
use crate::state::AppState;

/// A short reference to a linked object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NamedRef {
    pub id: Uuid,
    pub name: String,
}

/// The specialty of a doctor.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SpecialtyRef {
    pub id: Uuid,
    #[schema(example = "CARD")]
    pub code: String,
    #[schema(example = "Cardiology")]
    pub name: String,
}

/// The primary facility of a doctor.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FacilityRef {
    pub id: Uuid,
    pub name: String,
    /// IANA time zone.
    #[schema(example = "Asia/Dhaka")]
    pub time_zone: String,
}

/// A doctor's profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct DoctorOut {
    pub id: Uuid,
    pub user_id: Uuid,
    #[schema(example = "Farhana")]
    pub first_name: String,
    #[schema(example = "Rahman")]
    pub last_name: String,
    #[schema(example = "BMDC-A-41234")]
    pub licence_number: String,
    pub specialty: SpecialtyRef,
    pub facility: FacilityRef,
    pub location: Option<NamedRef>,
    pub years_of_experience: i32,
    /// Decimal string in `currency`.
    #[schema(example = "1000.00")]
    pub consultation_fee: String,
    #[schema(example = "BDT")]
    pub currency: String,
    pub bio: String,
    #[schema(example = json!(["Bengali", "English"]))]
    pub languages: Vec<String>,
    /// Services the doctor offers.
    pub service_ids: Vec<Uuid>,
    /// Whether the doctor takes new bookings.
    pub is_accepting: bool,
    /// When the profile last changed (its ETag derives from it).
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<DoctorProfile> for DoctorOut {
    fn from(DoctorProfile { row, service_ids }: DoctorProfile) -> DoctorOut {
        let languages = serde_json::from_value(row.languages).unwrap_or_default();
        DoctorOut {
            id: row.id,
            user_id: row.user_id,
            first_name: row.first_name,
            last_name: row.last_name,
            licence_number: row.licence_number,
            specialty: SpecialtyRef {
                id: row.specialty_id,
                code: row.specialty_code,
                name: row.specialty_name,
            },
            facility: FacilityRef {
                id: row.facility_id,
                name: row.facility_name,
                time_zone: row.time_zone,
            },
            location: row
                .location_id
                .zip(row.location_name)
                .map(|(id, name)| NamedRef { id, name }),
            years_of_experience: row.years_of_experience,
            consultation_fee: Money::format(row.consultation_fee_minor, &row.currency),
            currency: row.currency,
            bio: row.bio,
            languages,
            service_ids,
            is_accepting: row.is_accepting,
            updated_at: row.updated_at,
        }
    }
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_doctors, create_doctor))
        .routes(routes!(get_doctor, update_doctor, delete_doctor))
}

/// Search doctors.
#[utoipa::path(get, path = "/api/v1/doctors", tag = "directory", params(PageParams, DoctorQuery),
    responses((status = 200, description = "A page of doctors", body = Page<DoctorOut>), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::DirectoryRead))))]
pub async fn search_doctors(
    State(state): State<AppState>,
    query: ListQuery<DoctorQuery>,
) -> AppResult<Json<Page<DoctorOut>>> {
    let found = doctors::search(&state, &query.filter, query.page).await?;
    Ok(Json(query.page_of(found, DoctorOut::from)))
}

/// Create a doctor profile for a user with the doctor role. Admin only.
#[utoipa::path(post, path = "/api/v1/doctors", tag = "directory", request_body = DoctorIn,
    responses((status = 201, description = "Created", body = DoctorOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::DirectoryWrite))))]
pub async fn create_doctor(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<DoctorIn>,
) -> AppResult<impl IntoResponse> {
    let profile = doctors::create(&state, body).await?;
    Ok(created(
        format!("/api/v1/doctors/{}", profile.row.id),
        DoctorOut::from(profile),
    ))
}

/// Read a doctor.
#[utoipa::path(get, path = "/api/v1/doctors/{id}", tag = "directory",
    params(("id" = Uuid, Path, description = "Doctor id")),
    responses((status = 200, description = "The doctor", body = DoctorOut,
        headers(("ETag" = String, description = "The profile's version, for If-Match"))), ReadErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::DirectoryRead))))]
pub async fn get_doctor(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Tagged> {
    Ok(tagged(doctors::get(&state, id).await?))
}

/// A doctor with its `ETag` header.
pub type Tagged = ([(HeaderName, HeaderValue); 1], Json<DoctorOut>);

fn tagged(profile: DoctorProfile) -> Tagged {
    (etag(&time_tag(profile.row.updated_at)), Json(profile.into()))
}

/// Change a doctor profile. Admin only.
#[utoipa::path(patch, path = "/api/v1/doctors/{id}", tag = "directory", request_body = DoctorPatch,
    params(("id" = Uuid, Path, description = "Doctor id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the profile has changed since")),
    responses((status = 200, description = "The changed doctor", body = DoctorOut,
        headers(("ETag" = String, description = "The profile's new version"))), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::DirectoryWrite))))]
pub async fn update_doctor(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<DoctorPatch>,
) -> AppResult<Tagged> {
    let check = |row: &crate::db::entities::doctor::Model| if_match.check(&time_tag(row.updated_at));
    Ok(tagged(doctors::update(&state, id, body, check).await?))
}

/// Delete a doctor profile that has no appointments (set `is_accepting` false to retire one). Admin only.
#[utoipa::path(delete, path = "/api/v1/doctors/{id}", tag = "directory",
    params(("id" = Uuid, Path, description = "Doctor id")),
    responses((status = 204, description = "Deleted"), WriteErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::DirectoryWrite))))]
pub async fn delete_doctor(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Response> {
    doctors::delete(&state, id).await?;
    Ok(no_content())
}
