//! Services that can be booked: a specialty, a duration and a price.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use garde::Validate;
use sea_orm::ConnectionTrait;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Entry;
use crate::db::directory::ServiceOrdering;
use crate::db::directory::{self, ServiceFilter};
use crate::db::entities::service;
use crate::db::{PageRequest, Paged};
use crate::domain::{Currency, Money};
use crate::error::{AppError, AppResult};
use crate::input::{self, Text};
use crate::input::{Ordering, Search};

/// A new service.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ServiceIn {
    /// Unique within the specialty.
    #[schema(example = "Cardiology consultation")]
    #[garde(dive)]
    pub name: Text<200>,
    #[garde(skip)]
    pub specialty_id: Uuid,
    /// 5–480 minutes.
    #[schema(example = 30, minimum = 5, maximum = 480)]
    #[serde(deserialize_with = "input::integer")]
    #[garde(range(min = 5, max = 480))]
    pub duration_minutes: i32,
    /// Non-negative decimal string, e.g. `"1200.00"`.
    #[schema(example = "1200.00", pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    #[garde(custom(input::amount))]
    pub price: String,
    /// ISO 4217 code (default BDT).
    #[schema(pattern = "^[A-Za-z]{3}$")]
    #[garde(custom(input::optional_currency))]
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
    #[garde(dive)]
    pub name: Option<Text<200>>,
    #[garde(skip)]
    pub specialty_id: Option<Uuid>,
    #[schema(minimum = 5, maximum = 480)]
    #[garde(inner(range(min = 5, max = 480)))]
    #[serde(default, deserialize_with = "input::optional_integer")]
    pub duration_minutes: Option<i32>,
    #[schema(pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    #[garde(inner(custom(input::amount)))]
    pub price: Option<String>,
    #[schema(pattern = "^[A-Za-z]{3}$")]
    #[garde(custom(input::optional_currency))]
    pub currency: Option<String>,
    #[garde(skip)]
    pub is_active: Option<bool>,
}

/// Filters of the service list.
#[derive(Debug, Default, Deserialize, IntoParams)]
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
    #[param(inline)]
    pub search: Option<Search>,
    /// Sort order.
    #[param(schema_with = Ordering::<ServiceOrdering>::schema)]
    pub ordering: Option<Ordering<ServiceOrdering>>,
}

/// A price in minor units of a currency: `amount` in `currency` (default BDT).
///
/// Errors: 422 naming `field` or `currency`.
pub fn money(field: &'static str, amount: &str, currency: Option<&str>) -> AppResult<Money> {
    let currency = match currency {
        Some(code) => Currency::parse(code).map_err(|m| AppError::invalid_field("currency", m))?,
        None => Currency::BDT,
    };
    Money::parse(amount, currency).map_err(|m| AppError::invalid_field(field, m))
}

/// Apply a change of amount, currency or both to `(minor, currency)`.
///
/// Errors: 422 naming `field` or `currency`.
pub fn change_money(
    field: &'static str,
    current: (&mut i64, &mut String),
    amount: Option<String>,
    currency: Option<String>,
) -> AppResult<()> {
    if amount.is_none() && currency.is_none() {
        return Ok(());
    }
    let (minor, code) = current;
    let amount = amount.unwrap_or_else(|| Money::format(*minor, code));
    let changed = money(field, &amount, Some(currency.as_deref().unwrap_or(code)))?;
    *minor = changed.minor;
    *code = changed.currency.code().to_owned();
    Ok(())
}

async fn check_specialty(db: &impl ConnectionTrait, id: Uuid) -> AppResult<()> {
    match directory::find_specialty(db, id).await? {
        Some(_) => Ok(()),
        None => Err(AppError::invalid_field("specialty_id", "no such specialty")),
    }
}

/// Services as a directory entry.
pub struct Services;

#[async_trait]
impl Entry for Services {
    type Entity = service::Entity;
    type Row = service::Model;
    type Active = service::ActiveModel;
    type New = ServiceIn;
    type Patch = ServicePatch;
    type Filter = ServiceQuery;
    const KIND: &'static str = "service";
    const TABLE: &'static str = "services";

    async fn build(
        db: &impl ConnectionTrait,
        new: ServiceIn,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<service::Model> {
        check_specialty(db, new.specialty_id).await?;
        let price = money("price", &new.price, new.currency.as_deref())?;
        Ok(service::Model {
            id,
            name: new.name.into_trimmed(),
            specialty_id: new.specialty_id,
            duration_minutes: new.duration_minutes,
            price_minor: price.minor,
            currency: price.currency.code().to_owned(),
            is_active: new.is_active,
            created_at: now,
            updated_at: now,
        })
    }

    /// Booked appointments keep their times when the duration changes.
    async fn apply(
        db: &impl ConnectionTrait,
        row: &mut service::Model,
        patch: ServicePatch,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        if let Some(name) = patch.name {
            row.name = name.into_trimmed();
        }
        if let Some(specialty) = patch.specialty_id {
            check_specialty(db, specialty).await?;
            row.specialty_id = specialty;
        }
        if let Some(minutes) = patch.duration_minutes {
            row.duration_minutes = minutes;
        }
        change_money(
            "price",
            (&mut row.price_minor, &mut row.currency),
            patch.price,
            patch.currency,
        )?;
        if let Some(active) = patch.is_active {
            row.is_active = active;
        }
        row.updated_at = now;
        Ok(())
    }

    async fn list(
        db: &impl ConnectionTrait,
        query: &ServiceQuery,
        page: PageRequest,
    ) -> AppResult<Paged<service::Model>> {
        let order = input::sorts(&query.ordering);
        let filter = ServiceFilter {
            specialty: query.specialty,
            doctor: query.doctor,
            is_active: query.is_active,
            search: input::search(&query.search),
        };
        Ok(directory::list_services(db, &filter, order, page).await?)
    }
}
