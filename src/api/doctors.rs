//! Doctors: profiles linked to users, and the doctor search.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::conditional::{IfMatch, etag, time_tag};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageLinks, ordering, page_request};
use super::responses::{ReadErrors, WriteErrors};
use super::services::amount;
use super::{created, no_content, rules};

use crate::booking::availability;
use crate::db::directory::{self, DoctorFilter, DoctorRow};
use crate::db::{self, entities::doctor, users};
use crate::domain::{Currency, Money, Role};
use crate::error::{AppError, AppResult};
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

impl DoctorOut {
    fn new(row: DoctorRow, service_ids: Vec<Uuid>) -> DoctorOut {
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
            consultation_fee: amount(row.consultation_fee_minor, &row.currency),
            currency: row.currency,
            bio: row.bio,
            languages,
            service_ids,
            is_accepting: row.is_accepting,
            updated_at: row.updated_at,
        }
    }
}

/// A new doctor profile for an existing user with the doctor role.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DoctorIn {
    /// A user with role `doctor` and no profile yet.
    #[garde(skip)]
    pub user_id: Uuid,
    /// Registration number (e.g. BMDC), unique.
    #[schema(example = "BMDC-A-41234")]
    #[schema(min_length = 1, max_length = 64)]
    #[garde(custom(rules::text::<64>))]
    pub licence_number: String,
    #[garde(skip)]
    pub specialty_id: Uuid,
    /// Primary facility.
    #[garde(skip)]
    pub facility_id: Uuid,
    #[garde(skip)]
    pub location_id: Option<Uuid>,
    #[serde(default, deserialize_with = "super::rules::integer")]
    #[schema(minimum = 0, maximum = 80)]
    #[garde(range(min = 0, max = 80))]
    pub years_of_experience: i32,
    /// Decimal string, e.g. `"1000.00"`.
    #[schema(example = "1000.00")]
    #[schema(pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    #[garde(custom(rules::amount))]
    pub consultation_fee: String,
    /// ISO 4217 (default BDT).
    #[schema(pattern = "^[A-Za-z]{3}$")]
    #[garde(custom(rules::optional_currency))]
    pub currency: Option<String>,
    #[serde(default)]
    #[schema(max_length = 4000)]
    #[garde(custom(rules::long_text::<4000>))]
    pub bio: String,
    #[serde(default)]
    #[schema(max_items = 20)]
    #[garde(length(max = 20), inner(custom(rules::text::<50>)))]
    pub languages: Vec<String>,
    /// Services the doctor offers.
    #[serde(default)]
    #[schema(max_items = 100)]
    #[garde(length(max = 100))]
    pub service_ids: Vec<Uuid>,
    /// Default true.
    #[garde(skip)]
    pub is_accepting: Option<bool>,
}

/// Changes to a doctor profile; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DoctorPatch {
    #[schema(min_length = 1, max_length = 64)]
    #[garde(inner(custom(rules::text::<64>)))]
    pub licence_number: Option<String>,
    #[garde(skip)]
    pub specialty_id: Option<Uuid>,
    #[garde(skip)]
    pub facility_id: Option<Uuid>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<Uuid>)]
    #[garde(skip)]
    pub location_id: Option<Option<Uuid>>,
    #[schema(minimum = 0, maximum = 80)]
    #[garde(inner(range(min = 0, max = 80)))]
    #[serde(default, deserialize_with = "super::rules::optional_integer")]
    pub years_of_experience: Option<i32>,
    #[schema(pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    #[garde(inner(custom(rules::amount)))]
    pub consultation_fee: Option<String>,
    #[schema(pattern = "^[A-Za-z]{3}$")]
    #[garde(custom(rules::optional_currency))]
    pub currency: Option<String>,
    #[schema(max_length = 4000)]
    #[garde(inner(custom(rules::long_text::<4000>)))]
    pub bio: Option<String>,
    #[schema(max_items = 20)]
    #[garde(inner(length(max = 20), inner(custom(rules::text::<50>))))]
    pub languages: Option<Vec<String>>,
    /// Replaces the list of services offered.
    #[schema(max_items = 100)]
    #[garde(inner(length(max = 100)))]
    pub service_ids: Option<Vec<Uuid>>,
    #[garde(skip)]
    pub is_accepting: Option<bool>,
}

/// Doctor search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DoctorQuery {
    /// Specialty id, code or name (`cardiology`).
    pub specialty: Option<String>,
    /// Facility id: the doctor's primary facility or one where they work hours.
    pub facility: Option<Uuid>,
    /// Location id: matches the location or any place under it (a division finds its districts' doctors).
    pub location: Option<Uuid>,
    /// At least this many years of experience.
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    pub min_experience: Option<i32>,
    /// A consultation fee of at most this decimal amount.
    #[param(pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    pub max_fee: Option<String>,
    /// Only doctors with a free slot on this date (`YYYY-MM-DD`, each facility's local date).
    pub available_on: Option<NaiveDate>,
    /// Text in names, specialty, facility or licence number.
    pub search: Option<String>,
    /// `years_of_experience`, `consultation_fee`, `last_name`, `first_name`, `created_at`; `-` for descending.
    #[param(
        pattern = "^(-?(years_of_experience|consultation_fee|last_name|first_name|created_at)(,-?(years_of_experience|consultation_fee|last_name|first_name|created_at))*)?$"
    )]
    pub ordering: Option<String>,
    /// Page number, from 1.
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u64>,
    /// Items per page, 1–100 (default 20).
    #[serde(default, deserialize_with = "super::rules::query_integer")]
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u64>,
}

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_doctors, create_doctor))
        .routes(routes!(get_doctor, update_doctor, delete_doctor))
}

async fn with_services(state: &AppState, rows: Vec<DoctorRow>) -> AppResult<Vec<DoctorOut>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut services = directory::doctor_service_ids(state.db.conn(), &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let offered = services.remove(&row.id).unwrap_or_default();
            DoctorOut::new(row, offered)
        })
        .collect())
}

/// The doctor with names and services, or 404.
pub async fn load(state: &AppState, id: Uuid) -> AppResult<DoctorOut> {
    let row = directory::find_doctor(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("doctor"))?;
    Ok(with_services(state, vec![row]).await?.remove(0))
}

/// Search doctors.
#[utoipa::path(get, path = "/api/v1/doctors", tag = "directory", params(DoctorQuery),
    responses((status = 200, description = "A page of doctors", body = Page<DoctorOut>), ReadErrors),
    security(("bearer" = [])))]
pub async fn search_doctors(
    State(state): State<AppState>,
    links: PageLinks,
    ApiQuery(query): ApiQuery<DoctorQuery>,
) -> AppResult<Json<Page<DoctorOut>>> {
    let page = page_request(query.page, query.page_size)?;
    let order = ordering(query.ordering.as_deref(), directory::DOCTOR_ORDERING)?;
    let mut filter = DoctorFilter {
        facility: query.facility,
        location: query.location,
        min_experience: query.min_experience,
        search: rules::clean(query.search),
        ..DoctorFilter::default()
    };
    if let Some(key) = rules::clean(query.specialty) {
        // An unknown specialty matches no doctor.
        filter.specialty = Some(match directory::find_specialty_by_key(state.db.conn(), &key).await? {
            Some(specialty) => specialty.id,
            None => Uuid::nil(),
        });
    }
    if let Some(max) = query.max_fee {
        let fee = Money::parse(&max, Currency::BDT).map_err(|m| AppError::bad_field("max_fee", m))?;
        filter.max_fee_minor = Some(fee.minor);
    }
    if let Some(date) = query.available_on {
        let candidates = directory::doctor_ids(state.db.conn(), &filter).await?;
        let free = availability::free_on(&state, &candidates, date).await?;
        filter.ids = Some(candidates.into_iter().filter(|id| free.contains(id)).collect());
    }
    let paged = directory::search_doctors(state.db.conn(), &filter, &order, page).await?;
    let count = paged.count;
    let doctors = with_services(&state, paged.rows).await?;
    Ok(Json(links.page(page, db::Paged { count, rows: doctors }, |d| d)))
}

struct Checked {
    fee_minor: i64,
    currency: String,
}

async fn check_links(
    state: &AppState,
    specialty: Option<Uuid>,
    facility: Option<Uuid>,
    location: Option<Uuid>,
    services: Option<&[Uuid]>,
) -> AppResult<()> {
    let db = state.db.conn();
    if let Some(id) = specialty
        && directory::find_specialty(db, id).await?.is_none()
    {
        return Err(AppError::invalid_field("specialty_id", "no such specialty"));
    }
    if let Some(id) = facility
        && directory::find_facility(db, id).await?.is_none()
    {
        return Err(AppError::invalid_field("facility_id", "no such facility"));
    }
    if let Some(id) = location
        && directory::find_location(db, id).await?.is_none()
    {
        return Err(AppError::invalid_field("location_id", "no such location"));
    }
    if let Some(ids) = services {
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        if unique.len() != ids.len() {
            return Err(AppError::invalid_field("service_ids", "lists a service twice"));
        }
        if directory::count_services(db, ids).await? != ids.len() {
            return Err(AppError::invalid_field("service_ids", "contains an unknown service"));
        }
    }
    Ok(())
}

fn fee(amount: &str, currency: Option<&str>) -> AppResult<Checked> {
    let currency = match currency {
        Some(code) => Currency::parse(code).map_err(|m| AppError::invalid_field("currency", m))?,
        None => Currency::BDT,
    };
    let money = Money::parse(amount, currency).map_err(|m| AppError::invalid_field("consultation_fee", m))?;
    Ok(Checked {
        fee_minor: money.minor,
        currency: currency.code().to_owned(),
    })
}

/// Create a doctor profile for a user with the doctor role. Admin only.
#[utoipa::path(post, path = "/api/v1/doctors", tag = "directory", request_body = DoctorIn,
    responses((status = 201, description = "Created", body = DoctorOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn create_doctor(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<DoctorIn>,
) -> AppResult<impl IntoResponse> {
    body.validate()?;
    let user = users::find(state.db.conn(), body.user_id)
        .await?
        .ok_or_else(|| AppError::invalid_field("user_id", "no such user"))?;
    if user.role != Role::Doctor {
        return Err(AppError::invalid_field(
            "user_id",
            "must be a user with the doctor role",
        ));
    }
    check_links(
        &state,
        Some(body.specialty_id),
        Some(body.facility_id),
        body.location_id,
        Some(&body.service_ids),
    )
    .await?;
    let checked = fee(&body.consultation_fee, body.currency.as_deref())?;
    let now = state.clock.now();
    let row = doctor::Model {
        id: Uuid::new_v4(),
        user_id: body.user_id,
        licence_number: body.licence_number.trim().to_owned(),
        specialty_id: body.specialty_id,
        facility_id: body.facility_id,
        location_id: body.location_id,
        years_of_experience: body.years_of_experience,
        consultation_fee_minor: checked.fee_minor,
        currency: checked.currency,
        bio: body.bio.trim().to_owned(),
        languages: serde_json::json!(body.languages.iter().map(|l| l.trim()).collect::<Vec<_>>()),
        is_accepting: body.is_accepting.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    let txn = state.db.begin_write().await?;
    db::insert_row::<doctor::ActiveModel>(&txn, row.clone()).await?;
    directory::set_doctor_services(&txn, row.id, &body.service_ids).await?;
    txn.commit().await?;
    let out = load(&state, row.id).await?;
    Ok(created(format!("/api/v1/doctors/{}", row.id), out))
}

/// Read a doctor.
#[utoipa::path(get, path = "/api/v1/doctors/{id}", tag = "directory",
    params(("id" = Uuid, Path, description = "Doctor id")),
    responses((status = 200, description = "The doctor", body = DoctorOut,
        headers(("ETag" = String, description = "The profile's version, for If-Match"))), ReadErrors),
    security(("bearer" = [])))]
pub async fn get_doctor(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Tagged> {
    Ok(tagged(load(&state, id).await?))
}

/// A doctor with its `ETag` header.
pub type Tagged = ([(HeaderName, HeaderValue); 1], Json<DoctorOut>);

fn tagged(out: DoctorOut) -> Tagged {
    (etag(&time_tag(out.updated_at)), Json(out))
}

/// Change a doctor profile. Admin only.
#[utoipa::path(patch, path = "/api/v1/doctors/{id}", tag = "directory", request_body = DoctorPatch,
    params(("id" = Uuid, Path, description = "Doctor id"),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; refused with 412 if the profile has changed since")),
    responses((status = 200, description = "The changed doctor", body = DoctorOut,
        headers(("ETag" = String, description = "The profile's new version"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn update_doctor(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<DoctorPatch>,
) -> AppResult<Tagged> {
    body.validate()?;
    let links = (body.specialty_id, body.facility_id, body.location_id.flatten());
    check_links(&state, links.0, links.1, links.2, body.service_ids.as_deref()).await?;
    let txn = state.db.begin_write().await?;
    let mut row: doctor::Model = db::find_for_update(&txn, "doctors", id)
        .await?
        .ok_or(AppError::NotFound("doctor"))?;
    if_match.check(&time_tag(row.updated_at))?;
    let services = body.service_ids.clone();
    apply_patch(&mut row, body)?;
    row.updated_at = db::next_update(row.updated_at, state.clock.now());
    directory::update_row::<doctor::ActiveModel>(&txn, row).await?;
    if let Some(services) = &services {
        directory::set_doctor_services(&txn, id, services).await?;
    }
    txn.commit().await?;
    Ok(tagged(load(&state, id).await?))
}

/// Apply the fields a patch carries (services are replaced by the caller).
/// Errors: 422 for a fee or currency that does not parse.
fn apply_patch(row: &mut doctor::Model, body: DoctorPatch) -> AppResult<()> {
    if let Some(licence) = body.licence_number {
        row.licence_number = licence.trim().to_owned();
    }
    if let Some(specialty) = body.specialty_id {
        row.specialty_id = specialty;
    }
    if let Some(facility) = body.facility_id {
        row.facility_id = facility;
    }
    if let Some(location) = body.location_id {
        row.location_id = location;
    }
    if let Some(years) = body.years_of_experience {
        row.years_of_experience = years;
    }
    if body.consultation_fee.is_some() || body.currency.is_some() {
        let current = amount(row.consultation_fee_minor, &row.currency);
        let checked = fee(
            body.consultation_fee.as_deref().unwrap_or(&current),
            Some(body.currency.as_deref().unwrap_or(&row.currency)),
        )?;
        row.consultation_fee_minor = checked.fee_minor;
        row.currency = checked.currency;
    }
    if let Some(bio) = body.bio {
        row.bio = bio.trim().to_owned();
    }
    if let Some(languages) = body.languages {
        row.languages = serde_json::json!(languages.iter().map(|l| l.trim()).collect::<Vec<_>>());
    }
    if let Some(accepting) = body.is_accepting {
        row.is_accepting = accepting;
    }
    Ok(())
}

/// Delete a doctor profile that has no appointments (set `is_accepting` false to retire one). Admin only.
#[utoipa::path(delete, path = "/api/v1/doctors/{id}", tag = "directory",
    params(("id" = Uuid, Path, description = "Doctor id")),
    responses((status = 204, description = "Deleted"), WriteErrors),
    security(("bearer" = [])))]
pub async fn delete_doctor(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Response> {
    if !directory::delete_row::<doctor::Entity>(state.db.conn(), id).await? {
        return Err(AppError::NotFound("doctor"));
    }
    Ok(no_content())
}
