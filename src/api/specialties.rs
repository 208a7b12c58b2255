//! Medical specialties: authenticated reads, admin writes.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
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

use crate::db::{self, directory, entities::specialty};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A specialty.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpecialtyOut {
    pub id: Uuid,
    #[schema(example = "CARD")]
    pub code: String,
    #[schema(example = "Cardiology")]
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<specialty::Model> for SpecialtyOut {
    fn from(row: specialty::Model) -> Self {
        SpecialtyOut {
            id: row.id,
            code: row.code,
            name: row.name,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A new specialty.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SpecialtyIn {
    /// 1–32 of A–Z, 0–9, `_`, `-`; stored upper-case; unique.
    #[schema(example = "CARD")]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$")]
    #[garde(custom(rules::code))]
    pub code: String,
    /// Unique.
    #[schema(example = "Cardiology")]
    #[schema(min_length = 1, max_length = 200)]
    #[garde(custom(rules::text::<200>))]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    #[garde(custom(rules::long_text::<2000>))]
    pub description: String,
}

/// Changes to a specialty; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SpecialtyPatch {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$")]
    #[garde(inner(custom(rules::code)))]
    pub code: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    #[garde(inner(custom(rules::text::<200>)))]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    #[garde(inner(custom(rules::long_text::<2000>)))]
    pub description: Option<String>,
}

/// Filters of the specialty list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SpecialtyQuery {
    /// Text in the code or name.
    pub search: Option<String>,
    /// `name`, `code`, `created_at`; prefix `-` for descending.
    #[param(pattern = "^(-?(name|code|created_at)(,-?(name|code|created_at))*)?$")]
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
        .routes(routes!(list_specialties, create_specialty))
        .routes(routes!(get_specialty, update_specialty, delete_specialty))
}

/// List specialties.
#[utoipa::path(get, path = "/api/v1/specialties", tag = "directory", params(SpecialtyQuery),
    responses((status = 200, description = "A page of specialties", body = Page<SpecialtyOut>), ReadErrors),
    security(("bearer" = [])))]
pub async fn list_specialties(
    State(state): State<AppState>,
    links: PageLinks,
    ApiQuery(query): ApiQuery<SpecialtyQuery>,
) -> AppResult<Json<Page<SpecialtyOut>>> {
    let page = page_request(query.page, query.page_size)?;
    let order = ordering(query.ordering.as_deref(), directory::SPECIALTY_ORDERING)?;
    let search = rules::clean(query.search);
    let paged = directory::list_specialties(state.db.conn(), search.as_deref(), &order, page).await?;
    Ok(Json(links.page(page, paged, SpecialtyOut::from)))
}

/// Create a specialty. Admin only.
#[utoipa::path(post, path = "/api/v1/specialties", tag = "directory", request_body = SpecialtyIn,
    responses((status = 201, description = "Created", body = SpecialtyOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn create_specialty(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SpecialtyIn>,
) -> AppResult<impl axum::response::IntoResponse> {
    body.validate()?;
    let now = state.clock.now();
    let row = specialty::Model {
        id: Uuid::new_v4(),
        code: body.code.trim().to_uppercase(),
        name: body.name.trim().to_owned(),
        description: body.description.trim().to_owned(),
        created_at: now,
        updated_at: now,
    };
    db::insert_row::<specialty::ActiveModel>(state.db.conn(), row.clone()).await?;
    Ok(created(
        format!("/api/v1/specialties/{}", row.id),
        SpecialtyOut::from(row),
    ))
}

/// Read a specialty.
#[utoipa::path(get, path = "/api/v1/specialties/{id}", tag = "directory",
    params(("id" = Uuid, Path, description = "Specialty id")),
    responses((status = 200, description = "The specialty", body = SpecialtyOut), ReadErrors),
    security(("bearer" = [])))]
pub async fn get_specialty(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Json<SpecialtyOut>> {
    let row = directory::find_specialty(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("specialty"))?;
    Ok(Json(row.into()))
}

/// Change a specialty. Admin only.
#[utoipa::path(patch, path = "/api/v1/specialties/{id}", tag = "directory", request_body = SpecialtyPatch,
    params(("id" = Uuid, Path, description = "Specialty id")),
    responses((status = 200, description = "The changed specialty", body = SpecialtyOut), WriteErrors),
    security(("bearer" = [])))]
pub async fn update_specialty(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SpecialtyPatch>,
) -> AppResult<Json<SpecialtyOut>> {
    body.validate()?;
    let mut row = directory::find_specialty(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("specialty"))?;
    if let Some(code) = body.code {
        row.code = code.trim().to_uppercase();
    }
    if let Some(name) = body.name {
        row.name = name.trim().to_owned();
    }
    if let Some(description) = body.description {
        row.description = description.trim().to_owned();
    }
    row.updated_at = state.clock.now();
    directory::update_row::<specialty::ActiveModel>(state.db.conn(), row.clone()).await?;
    Ok(Json(row.into()))
}

/// Delete a specialty that no doctor or service uses. Admin only.
#[utoipa::path(delete, path = "/api/v1/specialties/{id}", tag = "directory",
    params(("id" = Uuid, Path, description = "Specialty id")),
    responses((status = 204, description = "Deleted"), WriteErrors),
    security(("bearer" = [])))]
pub async fn delete_specialty(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Response> {
    if !directory::delete_row::<specialty::Entity>(state.db.conn(), id).await? {
        return Err(AppError::NotFound("specialty"));
    }
    Ok(no_content())
}
