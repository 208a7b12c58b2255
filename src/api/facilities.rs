//! Facilities (hospitals, clinics), each with an IANA time zone: authenticated reads, admin writes.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageLinks, ordering, page_request};
use super::responses::{ReadErrors, WriteErrors};
use super::{created, no_content, rules};

use crate::db::{self, directory, entities::facility};
use crate::domain::{FacilityKind, Phone, TimeZone};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A facility.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacilityOut {
    pub id: Uuid,
    #[schema(example = "Dhaka Central Hospital")]
    pub name: String,
    pub kind: FacilityKind,
    pub address: String,
    pub location_id: Option<Uuid>,
    /// IANA time zone; working hours at this facility are wall-clock times here.
    #[schema(example = "Asia/Dhaka")]
    pub time_zone: String,
    /// E.164.
    pub phone: Option<String>,
    /// New bookings are `confirmed` (true) or wait as `pending` for staff or the doctor (false).
    pub auto_confirm: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<facility::Model> for FacilityOut {
    fn from(row: facility::Model) -> Self {
        FacilityOut {
            id: row.id,
            name: row.name,
            kind: row.kind,
            address: row.address,
            location_id: row.location_id,
            time_zone: row.time_zone,
            phone: row.phone,
            auto_confirm: row.auto_confirm,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A new facility.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct FacilityIn {
    /// Unique.
    #[schema(example = "Dhaka Central Hospital")]
    #[schema(min_length = 1, max_length = 200)]
    #[garde(custom(rules::text::<200>))]
    pub name: String,
    #[garde(skip)]
    pub kind: FacilityKind,
    #[serde(default)]
    #[schema(max_length = 500)]
    #[garde(custom(rules::long_text::<500>))]
    pub address: String,
    #[garde(skip)]
    pub location_id: Option<Uuid>,
    /// IANA time zone name.
    #[schema(example = "Asia/Dhaka")]
    #[schema(min_length = 1, max_length = 64)]
    #[garde(custom(rules::time_zone))]
    pub time_zone: String,
    #[schema(max_length = 32)]
    #[garde(custom(rules::optional_phone))]
    pub phone: Option<String>,
    /// Default true.
    #[serde(default = "yes")]
    #[garde(skip)]
    pub auto_confirm: bool,
}

fn yes() -> bool {
    true
}

/// Changes to a facility; absent fields stay as they are, `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct FacilityPatch {
    #[schema(min_length = 1, max_length = 200)]
    #[garde(inner(custom(rules::text::<200>)))]
    pub name: Option<String>,
    #[garde(skip)]
    pub kind: Option<FacilityKind>,
    #[schema(max_length = 500)]
    #[garde(inner(custom(rules::long_text::<500>)))]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<Uuid>)]
    #[garde(skip)]
    pub location_id: Option<Option<Uuid>>,
    /// Changing the zone re-reads every working hour at this facility in the new zone.
    #[schema(min_length = 1, max_length = 64)]
    #[garde(inner(custom(rules::time_zone)))]
    pub time_zone: Option<String>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 32)]
    #[garde(custom(rules::optional_phone_patch))]
    pub phone: Option<Option<String>>,
    #[garde(skip)]
    pub auto_confirm: Option<bool>,
}

/// Filters of the facility list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FacilityQuery {
    /// Only facilities in this location or any place under it.
    pub location: Option<Uuid>,
    /// Text in the name or address.
    pub search: Option<String>,
    /// `name`, `created_at`; prefix `-` for descending.
    #[param(pattern = "^(-?(name|created_at)(,-?(name|created_at))*)?$")]
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
        .routes(routes!(list_facilities, create_facility))
        .routes(routes!(get_facility, update_facility, delete_facility))
}

async fn check_location(state: &AppState, location: Option<Uuid>) -> AppResult<()> {
    match location {
        Some(id) if directory::find_location(state.db.conn(), id).await?.is_none() => {
            Err(AppError::invalid_field("location_id", "no such location"))
        }
        _ => Ok(()),
    }
}

fn phone(value: Option<String>) -> AppResult<Option<String>> {
    rules::clean(value)
        .map(|p| Phone::parse(&p).map(Phone::into_string))
        .transpose()
        .map_err(|m| AppError::invalid_field("phone", m))
}

fn zone(value: &str) -> AppResult<String> {
    TimeZone::parse(value)
        .map(|tz| tz.name().to_owned())
        .map_err(|m| AppError::invalid_field("time_zone", m))
}

/// List facilities.
#[utoipa::path(get, path = "/api/v1/facilities", tag = "directory", params(FacilityQuery),
    responses((status = 200, description = "A page of facilities", body = Page<FacilityOut>), ReadErrors),
    security(("bearer" = [])))]
pub async fn list_facilities(
    State(state): State<AppState>,
    links: PageLinks,
    ApiQuery(query): ApiQuery<FacilityQuery>,
) -> AppResult<Json<Page<FacilityOut>>> {
    let page = page_request(query.page, query.page_size)?;
    let order = ordering(query.ordering.as_deref(), directory::FACILITY_ORDERING)?;
    let filter = directory::FacilityFilter {
        location: query.location,
        search: rules::clean(query.search),
    };
    let paged = directory::list_facilities(state.db.conn(), &filter, &order, page).await?;
    Ok(Json(links.page(page, paged, FacilityOut::from)))
}

/// Create a facility. Admin only.
#[utoipa::path(post, path = "/api/v1/facilities", tag = "directory", request_body = FacilityIn,
    responses((status = 201, description = "Created", body = FacilityOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn create_facility(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<FacilityIn>,
) -> AppResult<impl IntoResponse> {
    body.validate()?;
    check_location(&state, body.location_id).await?;
    let now = state.clock.now();
    let row = facility::Model {
        id: Uuid::new_v4(),
        name: body.name.trim().to_owned(),
        kind: body.kind,
        address: body.address.trim().to_owned(),
        location_id: body.location_id,
        time_zone: zone(&body.time_zone)?,
        phone: phone(body.phone)?,
        auto_confirm: body.auto_confirm,
        created_at: now,
        updated_at: now,
    };
    db::insert_row::<facility::ActiveModel>(state.db.conn(), row.clone()).await?;
    Ok(created(
        format!("/api/v1/facilities/{}", row.id),
        FacilityOut::from(row),
    ))
}

/// Read a facility.
#[utoipa::path(get, path = "/api/v1/facilities/{id}", tag = "directory",
    params(("id" = Uuid, Path, description = "Facility id")),
    responses((status = 200, description = "The facility", body = FacilityOut), ReadErrors),
    security(("bearer" = [])))]
pub async fn get_facility(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Json<FacilityOut>> {
    let row = directory::find_facility(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("facility"))?;
    Ok(Json(row.into()))
}

/// Change a facility. Admin only.
#[utoipa::path(patch, path = "/api/v1/facilities/{id}", tag = "directory", request_body = FacilityPatch,
    params(("id" = Uuid, Path, description = "Facility id")),
    responses((status = 200, description = "The changed facility", body = FacilityOut), WriteErrors),
    security(("bearer" = [])))]
pub async fn update_facility(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<FacilityPatch>,
) -> AppResult<Json<FacilityOut>> {
    body.validate()?;
    let mut row = directory::find_facility(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("facility"))?;
    if let Some(name) = body.name {
        row.name = name.trim().to_owned();
    }
    if let Some(kind) = body.kind {
        row.kind = kind;
    }
    if let Some(address) = body.address {
        row.address = address.trim().to_owned();
    }
    if let Some(location) = body.location_id {
        check_location(&state, location).await?;
        row.location_id = location;
    }
    if let Some(tz) = body.time_zone {
        row.time_zone = zone(&tz)?;
    }
    if let Some(value) = body.phone {
        row.phone = phone(value)?;
    }
    if let Some(auto_confirm) = body.auto_confirm {
        row.auto_confirm = auto_confirm;
    }
    row.updated_at = state.clock.now();
    directory::update_row::<facility::ActiveModel>(state.db.conn(), row.clone()).await?;
    Ok(Json(row.into()))
}

/// Delete a facility that nothing refers to. Admin only.
#[utoipa::path(delete, path = "/api/v1/facilities/{id}", tag = "directory",
    params(("id" = Uuid, Path, description = "Facility id")),
    responses((status = 204, description = "Deleted"), WriteErrors),
    security(("bearer" = [])))]
pub async fn delete_facility(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Response> {
    if !directory::delete_row::<facility::Entity>(state.db.conn(), id).await? {
        return Err(AppError::NotFound("facility"));
    }
    Ok(no_content())
}
