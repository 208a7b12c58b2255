//! Facilities (hospitals, clinics), each with an IANA time zone.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use garde::Validate;
use sea_orm::ConnectionTrait;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Entry, check_location};
use crate::db::directory::FacilityOrdering;
use crate::db::directory::{self, FacilityFilter};
use crate::db::entities::facility;
use crate::db::{PageRequest, Paged};
use crate::domain::{Currency, FacilityKind, TimeZone};
use crate::error::{AppError, AppResult};
use crate::input::{self, PhoneText, Text, TextOrEmpty};
use crate::input::{Ordering, Search};

/// A new facility.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct FacilityIn {
    /// Unique.
    #[schema(example = "Dhaka Central Hospital")]
    #[garde(dive)]
    pub name: Text<200>,
    #[garde(skip)]
    pub kind: FacilityKind,
    #[serde(default)]
    #[garde(dive)]
    pub address: TextOrEmpty<500>,
    #[garde(skip)]
    pub location_id: Option<Uuid>,
    /// IANA time zone name.
    #[schema(example = "Asia/Dhaka", min_length = 1, max_length = 64)]
    #[garde(custom(input::time_zone))]
    pub time_zone: String,
    #[garde(dive)]
    pub phone: Option<PhoneText>,
    /// New bookings are `confirmed` (true, the default) or wait as `pending` for staff or the doctor.
    #[serde(default = "yes")]
    #[garde(skip)]
    pub auto_confirm: bool,
    /// ISO 4217 code its bills are in (default BDT).
    #[schema(example = "BDT", min_length = 3, max_length = 3)]
    #[garde(skip)]
    pub currency: Option<String>,
}

fn yes() -> bool {
    true
}

/// Changes to a facility; absent fields stay as they are, `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct FacilityPatch {
    #[garde(dive)]
    pub name: Option<Text<200>>,
    #[garde(skip)]
    pub kind: Option<FacilityKind>,
    #[garde(dive)]
    pub address: Option<TextOrEmpty<500>>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<Uuid>)]
    #[garde(skip)]
    pub location_id: Option<Option<Uuid>>,
    /// Changing the zone re-reads every working hour at this facility in the new zone.
    #[schema(min_length = 1, max_length = 64)]
    #[garde(inner(custom(input::time_zone)))]
    pub time_zone: Option<String>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<PhoneText>)]
    #[garde(dive)]
    pub phone: Option<Option<PhoneText>>,
    #[garde(skip)]
    pub auto_confirm: Option<bool>,
    /// ISO 4217; bills made from now on are in it (existing ones keep theirs).
    #[schema(example = "BDT", min_length = 3, max_length = 3)]
    #[garde(skip)]
    pub currency: Option<String>,
}

/// Filters of the facility list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FacilityQuery {
    /// Only facilities in this location or any place under it.
    pub location: Option<Uuid>,
    /// Text in the name or address.
    #[param(inline)]
    pub search: Option<Search>,
    /// Sort order.
    #[param(schema_with = Ordering::<FacilityOrdering>::schema)]
    pub ordering: Option<Ordering<FacilityOrdering>>,
}

fn zone(value: &str) -> AppResult<String> {
    TimeZone::parse(value)
        .map(|tz| tz.name().to_owned())
        .map_err(|m| AppError::invalid_field("time_zone", m))
}

fn currency(code: &str) -> AppResult<String> {
    Currency::parse(code)
        .map(|c| c.code().to_owned())
        .map_err(|m| AppError::invalid_field("currency", m))
}

/// Facilities as a directory entry.
pub struct Facilities;

#[async_trait]
impl Entry for Facilities {
    type Entity = facility::Entity;
    type Row = facility::Model;
    type Active = facility::ActiveModel;
    type New = FacilityIn;
    type Patch = FacilityPatch;
    type Filter = FacilityQuery;
    const KIND: &'static str = "facility";
    const TABLE: &'static str = "facilities";

    async fn build(
        db: &impl ConnectionTrait,
        new: FacilityIn,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<facility::Model> {
        check_location(db, new.location_id).await?;
        Ok(facility::Model {
            id,
            name: new.name.into_trimmed(),
            kind: new.kind,
            address: new.address.into_trimmed(),
            location_id: new.location_id,
            time_zone: zone(&new.time_zone)?,
            phone: input::phone("phone", new.phone.as_ref())?,
            auto_confirm: new.auto_confirm,
            currency: currency(new.currency.as_deref().unwrap_or("BDT"))?,
            created_at: now,
            updated_at: now,
        })
    }

    async fn apply(
        db: &impl ConnectionTrait,
        row: &mut facility::Model,
        patch: FacilityPatch,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        if let Some(name) = patch.name {
            row.name = name.into_trimmed();
        }
        if let Some(kind) = patch.kind {
            row.kind = kind;
        }
        if let Some(address) = patch.address {
            row.address = address.into_trimmed();
        }
        if let Some(location) = patch.location_id {
            check_location(db, location).await?;
            row.location_id = location;
        }
        if let Some(tz) = patch.time_zone {
            row.time_zone = zone(&tz)?;
        }
        if let Some(value) = patch.phone {
            row.phone = input::phone("phone", value.as_ref())?;
        }
        if let Some(auto_confirm) = patch.auto_confirm {
            row.auto_confirm = auto_confirm;
        }
        if let Some(code) = patch.currency {
            row.currency = currency(&code)?;
        }
        row.updated_at = now;
        Ok(())
    }

    async fn list(
        db: &impl ConnectionTrait,
        query: &FacilityQuery,
        page: PageRequest,
    ) -> AppResult<Paged<facility::Model>> {
        let order = input::sorts(&query.ordering);
        let filter = FacilityFilter {
            location: query.location,
            search: input::search(&query.search),
        };
        Ok(directory::list_facilities(db, &filter, order, page).await?)
    }
}
