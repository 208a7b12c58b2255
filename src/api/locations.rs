//! The administrative area tree (division → district → upazila), shipped with
//! the real Bangladesh geography: authenticated reads, admin writes.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageLinks, ordering, page_request};
use super::responses::{ReadErrors, WriteErrors};
use super::{created, no_content, rules};

use crate::db::{self, directory, entities::location};
use crate::domain::LocationKind;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A location.
#[derive(Debug, Serialize, ToSchema)]
pub struct LocationOut {
    pub id: Uuid,
    /// The place this one is part of; null for divisions.
    pub parent_id: Option<Uuid>,
    pub kind: LocationKind,
    /// Source code (the bd-geo id for shipped places), unique per kind.
    #[schema(example = "47")]
    pub code: String,
    #[schema(example = "Dhaka")]
    pub name: String,
    /// Bengali name.
    #[schema(example = "ঢাকা")]
    pub bn_name: Option<String>,
    /// WGS 84 degrees.
    pub latitude: Option<f64>,
    /// WGS 84 degrees.
    pub longitude: Option<f64>,
}

impl From<location::Model> for LocationOut {
    fn from(row: location::Model) -> Self {
        LocationOut {
            id: row.id,
            parent_id: row.parent_id,
            kind: row.kind,
            code: row.code,
            name: row.name,
            bn_name: row.bn_name,
            latitude: row.latitude,
            longitude: row.longitude,
        }
    }
}

/// A new location.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LocationIn {
    /// Required for districts (a division) and upazilas (a district); absent for divisions.
    #[garde(skip)]
    pub parent_id: Option<Uuid>,
    #[garde(skip)]
    pub kind: LocationKind,
    #[schema(min_length = 1, max_length = 64)]
    #[garde(custom(rules::text::<64>))]
    pub code: String,
    #[schema(min_length = 1, max_length = 200)]
    #[garde(custom(rules::text::<200>))]
    pub name: String,
    #[schema(min_length = 1, max_length = 200)]
    #[garde(inner(custom(rules::text::<200>)))]
    pub bn_name: Option<String>,
    #[schema(minimum = -90.0, maximum = 90.0)]
    #[garde(inner(range(min = -90.0, max = 90.0)))]
    pub latitude: Option<f64>,
    #[schema(minimum = -180.0, maximum = 180.0)]
    #[garde(inner(range(min = -180.0, max = 180.0)))]
    pub longitude: Option<f64>,
}

/// Changes to a location's names and coordinates (its place in the tree is fixed).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LocationPatch {
    #[schema(min_length = 1, max_length = 200)]
    #[garde(inner(custom(rules::text::<200>)))]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>)]
    #[schema(min_length = 1, max_length = 200)]
    #[garde(inner(inner(custom(rules::text::<200>))))]
    pub bn_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<f64>)]
    #[schema(minimum = -90.0, maximum = 90.0)]
    #[garde(inner(inner(range(min = -90.0, max = 90.0))))]
    pub latitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<f64>)]
    #[schema(minimum = -180.0, maximum = 180.0)]
    #[garde(inner(inner(range(min = -180.0, max = 180.0))))]
    pub longitude: Option<Option<f64>>,
}

/// Filters of the location list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LocationQuery {
    /// Only the places directly under this one (walk the tree one level at a time).
    pub parent: Option<Uuid>,
    /// Only this level (`kind=division` lists the top of the tree).
    pub kind: Option<LocationKind>,
    /// Text in the English or Bengali name.
    pub search: Option<String>,
    /// `name`, `kind`, `code`; prefix `-` for descending.
    #[param(pattern = "^(-?(name|kind|code)(,-?(name|kind|code))*)?$")]
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
        .routes(routes!(list_locations, create_location))
        .routes(routes!(get_location, update_location, delete_location))
}

/// List locations; `parent=ID` walks the tree.
#[utoipa::path(get, path = "/api/v1/locations", tag = "directory", params(LocationQuery),
    responses((status = 200, description = "A page of locations", body = Page<LocationOut>), ReadErrors),
    security(("bearer" = [])))]
pub async fn list_locations(
    State(state): State<AppState>,
    links: PageLinks,
    ApiQuery(query): ApiQuery<LocationQuery>,
) -> AppResult<Json<Page<LocationOut>>> {
    let page = page_request(query.page, query.page_size)?;
    let order = ordering(query.ordering.as_deref(), directory::LOCATION_ORDERING)?;
    let filter = directory::LocationFilter {
        parent: query.parent,
        kind: query.kind,
        search: rules::clean(query.search),
    };
    let paged = directory::list_locations(state.db.conn(), &filter, &order, page).await?;
    Ok(Json(links.page(page, paged, LocationOut::from)))
}

/// Create a location under a parent of the level above. Admin only.
#[utoipa::path(post, path = "/api/v1/locations", tag = "directory", request_body = LocationIn,
    responses((status = 201, description = "Created", body = LocationOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn create_location(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LocationIn>,
) -> AppResult<impl IntoResponse> {
    body.validate()?;
    match (body.kind, body.parent_id) {
        (LocationKind::Division, Some(_)) => {
            return Err(AppError::invalid_field("parent_id", "a division has no parent"));
        }
        (LocationKind::Division, None) => {}
        (kind, None) => {
            return Err(AppError::invalid_field("parent_id", format!("a {kind} needs a parent")));
        }
        (kind, Some(parent)) => {
            let parent = directory::find_location(state.db.conn(), parent)
                .await?
                .ok_or_else(|| AppError::invalid_field("parent_id", "no such location"))?;
            if parent.kind.child() != Some(kind) {
                return Err(AppError::invalid_field(
                    "parent_id",
                    format!("a {kind} cannot be under a {}", parent.kind),
                ));
            }
        }
    }
    let row = location::Model {
        id: Uuid::new_v4(),
        parent_id: body.parent_id,
        kind: body.kind,
        code: body.code.trim().to_owned(),
        name: body.name.trim().to_owned(),
        bn_name: rules::clean(body.bn_name),
        latitude: body.latitude,
        longitude: body.longitude,
    };
    db::insert_row::<location::ActiveModel>(state.db.conn(), row.clone()).await?;
    Ok(created(format!("/api/v1/locations/{}", row.id), LocationOut::from(row)))
}

/// Read a location.
#[utoipa::path(get, path = "/api/v1/locations/{id}", tag = "directory",
    params(("id" = Uuid, Path, description = "Location id")),
    responses((status = 200, description = "The location", body = LocationOut), ReadErrors),
    security(("bearer" = [])))]
pub async fn get_location(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Json<LocationOut>> {
    let row = directory::find_location(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("location"))?;
    Ok(Json(row.into()))
}

/// Change a location's names or coordinates. Admin only.
#[utoipa::path(patch, path = "/api/v1/locations/{id}", tag = "directory", request_body = LocationPatch,
    params(("id" = Uuid, Path, description = "Location id")),
    responses((status = 200, description = "The changed location", body = LocationOut), WriteErrors),
    security(("bearer" = [])))]
pub async fn update_location(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<LocationPatch>,
) -> AppResult<Json<LocationOut>> {
    body.validate()?;
    let mut row = directory::find_location(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("location"))?;
    if let Some(name) = body.name {
        row.name = name.trim().to_owned();
    }
    if let Some(bn_name) = body.bn_name {
        row.bn_name = rules::clean(bn_name);
    }
    if let Some(latitude) = body.latitude {
        row.latitude = latitude;
    }
    if let Some(longitude) = body.longitude {
        row.longitude = longitude;
    }
    directory::update_row::<location::ActiveModel>(state.db.conn(), row.clone()).await?;
    Ok(Json(row.into()))
}

/// Delete a location that has no places under it and that nothing refers to. Admin only.
#[utoipa::path(delete, path = "/api/v1/locations/{id}", tag = "directory",
    params(("id" = Uuid, Path, description = "Location id")),
    responses((status = 204, description = "Deleted"), WriteErrors),
    security(("bearer" = [])))]
pub async fn delete_location(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Response> {
    if !directory::delete_row::<location::Entity>(state.db.conn(), id).await? {
        return Err(AppError::NotFound("location"));
    }
    Ok(no_content())
}
