//! The administrative area tree (division → district → upazila), shipped with
//! the real Bangladesh geography.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use garde::Validate;
use sea_orm::ConnectionTrait;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Entry;
use crate::db::directory::LocationOrdering;
use crate::db::directory::{self, LocationFilter};
use crate::db::entities::location;
use crate::db::{PageRequest, Paged};
use crate::domain::LocationKind;
use crate::error::{AppError, AppResult};
use crate::input::{self, Text};
use crate::input::{Ordering, Search};

/// A place's name (English or Bengali).
pub type PlaceName = Text<200>;

/// A new location.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LocationIn {
    /// Required for districts (a division) and upazilas (a district); absent for divisions.
    #[garde(skip)]
    pub parent_id: Option<Uuid>,
    #[garde(skip)]
    pub kind: LocationKind,
    /// Unique per kind.
    #[garde(dive)]
    pub code: Text<64>,
    #[garde(dive)]
    pub name: PlaceName,
    #[garde(dive)]
    pub bn_name: Option<PlaceName>,
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
    #[garde(dive)]
    pub name: Option<PlaceName>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<PlaceName>)]
    #[garde(dive)]
    pub bn_name: Option<Option<PlaceName>>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<f64>, minimum = -90.0, maximum = 90.0)]
    #[garde(inner(inner(range(min = -90.0, max = 90.0))))]
    pub latitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "input::nullable")]
    #[schema(value_type = Option<f64>, minimum = -180.0, maximum = 180.0)]
    #[garde(inner(inner(range(min = -180.0, max = 180.0))))]
    pub longitude: Option<Option<f64>>,
}

/// Filters of the location list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LocationQuery {
    /// Only the places directly under this one (walk the tree one level at a time).
    pub parent: Option<Uuid>,
    /// Only this level (`kind=division` lists the top of the tree).
    pub kind: Option<LocationKind>,
    /// Text in the English or Bengali name.
    #[param(inline)]
    pub search: Option<Search>,
    /// Sort order.
    #[param(schema_with = Ordering::<LocationOrdering>::schema)]
    pub ordering: Option<Ordering<LocationOrdering>>,
}

/// Locations as a directory entry.
pub struct Locations;

#[async_trait]
impl Entry for Locations {
    type Entity = location::Entity;
    type Row = location::Model;
    type Active = location::ActiveModel;
    type New = LocationIn;
    type Patch = LocationPatch;
    type Filter = LocationQuery;
    const KIND: &'static str = "location";
    const TABLE: &'static str = "locations";

    /// A place goes under a parent of the level above (none for a division).
    async fn build(
        db: &impl ConnectionTrait,
        new: LocationIn,
        id: Uuid,
        _: DateTime<Utc>,
    ) -> AppResult<location::Model> {
        match (new.kind, new.parent_id) {
            (LocationKind::Division, Some(_)) => {
                return Err(AppError::invalid_field("parent_id", "a division has no parent"));
            }
            (LocationKind::Division, None) => {}
            (kind, None) => {
                return Err(AppError::invalid_field("parent_id", format!("a {kind} needs a parent")));
            }
            (kind, Some(parent)) => {
                let parent = directory::find_location(db, parent)
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
        Ok(location::Model {
            id,
            parent_id: new.parent_id,
            kind: new.kind,
            code: new.code.into_trimmed(),
            name: new.name.into_trimmed(),
            bn_name: new.bn_name.map(Text::into_trimmed),
            latitude: new.latitude,
            longitude: new.longitude,
        })
    }

    async fn apply(
        _: &impl ConnectionTrait,
        row: &mut location::Model,
        patch: LocationPatch,
        _: DateTime<Utc>,
    ) -> AppResult<()> {
        if let Some(name) = patch.name {
            row.name = name.into_trimmed();
        }
        if let Some(bn_name) = patch.bn_name {
            row.bn_name = bn_name.map(Text::into_trimmed);
        }
        if let Some(latitude) = patch.latitude {
            row.latitude = latitude;
        }
        if let Some(longitude) = patch.longitude {
            row.longitude = longitude;
        }
        Ok(())
    }

    async fn list(
        db: &impl ConnectionTrait,
        query: &LocationQuery,
        page: PageRequest,
    ) -> AppResult<Paged<location::Model>> {
        let order = input::sorts(&query.ordering);
        let filter = LocationFilter {
            parent: query.parent,
            kind: query.kind,
            search: input::search(&query.search),
        };
        Ok(directory::list_locations(db, &filter, order, page).await?)
    }
}
