//! Services that can be booked (specialty, duration, price): authenticated reads, admin writes.

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

use crate::db::{self, directory, entities::service};
use crate::domain::{Currency, Money};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A service.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceOut {
    pub id: Uuid,
    #[schema(example = "Cardiology consultation")]
    pub name: String,
    pub specialty_id: Uuid,
    /// Length of an appointment for this service, in minutes.
    #[schema(example = 30)]
    pub duration_minutes: i32,
    /// Decimal string in `currency`.
    #[schema(example = "1200.00")]
    pub price: String,
    /// ISO 4217.
    #[schema(example = "BDT")]
    pub currency: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Format minor units of `currency` as a decimal string.
pub fn amount(minor: i64, currency: &str) -> String {
    let currency = Currency::parse(currency).unwrap_or(Currency::BDT);
    Money { minor, currency }.amount_string()
}

impl From<service::Model> for ServiceOut {
    fn from(row: service::Model) -> Self {
        ServiceOut {
            id: row.id,
            name: row.name,
            specialty_id: row.specialty_id,
            duration_minutes: row.duration_minutes,
            price: amount(row.price_minor, &row.currency),
            currency: row.currency,
            is_active: row.is_active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A new service.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ServiceIn {
    /// Unique within the specialty.
    #[schema(example = "Cardiology consultation")]
    #[schema(min_length = 1, max_length = 200)]
    #[garde(custom(rules::text::<200>))]
    pub name: String,
    #[garde(skip)]
    pub specialty_id: Uuid,
    /// 5–480 minutes.
    #[schema(example = 30)]
    #[serde(deserialize_with = "super::rules::integer")]
    #[schema(minimum = 5, maximum = 480)]
    #[garde(range(min = 5, max = 480))]
    pub duration_minutes: i32,
    /// Non-negative decimal string, e.g. `"1200.00"`.
    #[schema(example = "1200.00")]
    #[schema(pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    #[garde(custom(rules::amount))]
    pub price: String,
    /// ISO 4217 code (default BDT).
    #[schema(pattern = "^[A-Za-z]{3}$")]
    #[garde(custom(rules::optional_currency))]
    pub currency: Option<String>,
    /// Default true.
    #[serde(default = "yes")]
    #[garde(skip)]
    pub is_active: bool,
}

fn yes() -> bool {
    true
}

/// Changes to a service; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ServicePatch {
    #[schema(min_length = 1, max_length = 200)]
    #[garde(inner(custom(rules::text::<200>)))]
    pub name: Option<String>,
    #[garde(skip)]
    pub specialty_id: Option<Uuid>,
    #[schema(minimum = 5, maximum = 480)]
    #[garde(inner(range(min = 5, max = 480)))]
    #[serde(default, deserialize_with = "super::rules::optional_integer")]
    pub duration_minutes: Option<i32>,
    #[schema(pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    #[garde(inner(custom(rules::amount)))]
    pub price: Option<String>,
    #[schema(pattern = "^[A-Za-z]{3}$")]
    #[garde(custom(rules::optional_currency))]
    pub currency: Option<String>,
    #[garde(skip)]
    pub is_active: Option<bool>,
}

/// Filters of the service list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ServiceQuery {
    /// Only services of this specialty.
    pub specialty: Option<Uuid>,
    /// Only services this doctor offers.
    pub doctor: Option<Uuid>,
    /// Only active (true) or inactive (false) services.
    pub is_active: Option<bool>,
    /// Text in the name.
    pub search: Option<String>,
    /// `name`, `price`, `duration_minutes`, `created_at`; prefix `-` for descending.
    #[param(pattern = "^(-?(name|price|duration_minutes|created_at)(,-?(name|price|duration_minutes|created_at))*)?$")]
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
        .routes(routes!(list_services, create_service))
        .routes(routes!(get_service, update_service, delete_service))
}

fn price(amount: &str, currency: Option<&str>) -> AppResult<(i64, String)> {
    let currency = match currency {
        Some(code) => Currency::parse(code).map_err(|m| AppError::invalid_field("currency", m))?,
        None => Currency::BDT,
    };
    let money = Money::parse(amount, currency).map_err(|m| AppError::invalid_field("price", m))?;
    Ok((money.minor, currency.code().to_owned()))
}

async fn check_specialty(state: &AppState, id: Uuid) -> AppResult<()> {
    match directory::find_specialty(state.db.conn(), id).await? {
        Some(_) => Ok(()),
        None => Err(AppError::invalid_field("specialty_id", "no such specialty")),
    }
}

/// List services.
#[utoipa::path(get, path = "/api/v1/services", tag = "directory", params(ServiceQuery),
    responses((status = 200, description = "A page of services", body = Page<ServiceOut>), ReadErrors),
    security(("bearer" = [])))]
pub async fn list_services(
    State(state): State<AppState>,
    links: PageLinks,
    ApiQuery(query): ApiQuery<ServiceQuery>,
) -> AppResult<Json<Page<ServiceOut>>> {
    let page = page_request(query.page, query.page_size)?;
    let order = ordering(query.ordering.as_deref(), directory::SERVICE_ORDERING)?;
    let filter = directory::ServiceFilter {
        specialty: query.specialty,
        doctor: query.doctor,
        is_active: query.is_active,
        search: rules::clean(query.search),
    };
    let paged = directory::list_services(state.db.conn(), &filter, &order, page).await?;
    Ok(Json(links.page(page, paged, ServiceOut::from)))
}

/// Create a service. Admin only.
#[utoipa::path(post, path = "/api/v1/services", tag = "directory", request_body = ServiceIn,
    responses((status = 201, description = "Created", body = ServiceOut, headers(("Location" = String, description = "The new resource"))), WriteErrors),
    security(("bearer" = [])))]
pub async fn create_service(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ServiceIn>,
) -> AppResult<impl IntoResponse> {
    body.validate()?;
    check_specialty(&state, body.specialty_id).await?;
    let (price_minor, currency) = price(&body.price, body.currency.as_deref())?;
    let now = state.clock.now();
    let row = service::Model {
        id: Uuid::new_v4(),
        name: body.name.trim().to_owned(),
        specialty_id: body.specialty_id,
        duration_minutes: body.duration_minutes,
        price_minor,
        currency,
        is_active: body.is_active,
        created_at: now,
        updated_at: now,
    };
    db::insert_row::<service::ActiveModel>(state.db.conn(), row.clone()).await?;
    Ok(created(format!("/api/v1/services/{}", row.id), ServiceOut::from(row)))
}

/// Read a service.
#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "directory",
    params(("id" = Uuid, Path, description = "Service id")),
    responses((status = 200, description = "The service", body = ServiceOut), ReadErrors),
    security(("bearer" = [])))]
pub async fn get_service(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Json<ServiceOut>> {
    let row = directory::find_service(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("service"))?;
    Ok(Json(row.into()))
}

/// Change a service. Admin only. Booked appointments keep their times.
#[utoipa::path(patch, path = "/api/v1/services/{id}", tag = "directory", request_body = ServicePatch,
    params(("id" = Uuid, Path, description = "Service id")),
    responses((status = 200, description = "The changed service", body = ServiceOut), WriteErrors),
    security(("bearer" = [])))]
pub async fn update_service(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ServicePatch>,
) -> AppResult<Json<ServiceOut>> {
    body.validate()?;
    let mut row = directory::find_service(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("service"))?;
    if let Some(name) = body.name {
        row.name = name.trim().to_owned();
    }
    if let Some(specialty) = body.specialty_id {
        check_specialty(&state, specialty).await?;
        row.specialty_id = specialty;
    }
    if let Some(minutes) = body.duration_minutes {
        row.duration_minutes = minutes;
    }
    if body.price.is_some() || body.currency.is_some() {
        let amount = body
            .price
            .unwrap_or_else(|| super::services::amount(row.price_minor, &row.currency));
        let (minor, currency) = price(&amount, Some(body.currency.as_deref().unwrap_or(&row.currency)))?;
        row.price_minor = minor;
        row.currency = currency;
    }
    if let Some(active) = body.is_active {
        row.is_active = active;
    }
    row.updated_at = state.clock.now();
    directory::update_row::<service::ActiveModel>(state.db.conn(), row.clone()).await?;
    Ok(Json(row.into()))
}

/// Delete a service that no appointment or doctor refers to. Admin only.
#[utoipa::path(delete, path = "/api/v1/services/{id}", tag = "directory",
    params(("id" = Uuid, Path, description = "Service id")),
    responses((status = 204, description = "Deleted"), WriteErrors),
    security(("bearer" = [])))]
pub async fn delete_service(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Response> {
    if !directory::delete_row::<service::Entity>(state.db.conn(), id).await? {
        return Err(AppError::NotFound("service"));
    }
    Ok(no_content())
}
