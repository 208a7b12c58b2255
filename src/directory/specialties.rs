//! Medical specialties (Cardiology, …), each with a short code.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use garde::Validate;
use sea_orm::ConnectionTrait;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Entry;
use crate::db::directory::SpecialtyOrdering;
use crate::db::directory::{self};
use crate::db::entities::specialty;
use crate::db::{PageRequest, Paged};
use crate::error::AppResult;
use crate::input::{self, Text, TextOrEmpty};
use crate::input::{Ordering, Search};

/// A new specialty.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SpecialtyIn {
    /// 1–32 of A–Z, 0–9, `_`, `-`; stored upper-case; unique.
    #[schema(example = "CARD")]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$")]
    #[garde(custom(input::code))]
    pub code: String,
    /// Unique.
    #[schema(example = "Cardiology")]
    #[garde(dive)]
    pub name: Text<200>,
    #[serde(default)]
    #[garde(dive)]
    pub description: TextOrEmpty<2000>,
}

/// Changes to a specialty; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SpecialtyPatch {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$")]
    #[garde(inner(custom(input::code)))]
    pub code: Option<String>,
    #[garde(dive)]
    pub name: Option<Text<200>>,
    #[garde(dive)]
    pub description: Option<TextOrEmpty<2000>>,
}

/// Filters of the specialty list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SpecialtyQuery {
    /// Text in the code or name.
    #[param(inline)]
    pub search: Option<Search>,
    /// Sort order.
    #[param(schema_with = Ordering::<SpecialtyOrdering>::schema)]
    pub ordering: Option<Ordering<SpecialtyOrdering>>,
}

/// Specialties as a directory entry.
pub struct Specialties;

#[async_trait]
impl Entry for Specialties {
    type Entity = specialty::Entity;
    type Row = specialty::Model;
    type Active = specialty::ActiveModel;
    type New = SpecialtyIn;
    type Patch = SpecialtyPatch;
    type Filter = SpecialtyQuery;
    const KIND: &'static str = "specialty";
    const TABLE: &'static str = "specialties";

    async fn build(
        _: &impl ConnectionTrait,
        new: SpecialtyIn,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<specialty::Model> {
        Ok(specialty::Model {
            id,
            code: new.code.trim().to_uppercase(),
            name: new.name.into_trimmed(),
            description: new.description.into_trimmed(),
            created_at: now,
            updated_at: now,
        })
    }

    async fn apply(
        _: &impl ConnectionTrait,
        row: &mut specialty::Model,
        patch: SpecialtyPatch,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        if let Some(code) = patch.code {
            row.code = code.trim().to_uppercase();
        }
        if let Some(name) = patch.name {
            row.name = name.into_trimmed();
        }
        if let Some(description) = patch.description {
            row.description = description.into_trimmed();
        }
        row.updated_at = now;
        Ok(())
    }

    async fn list(
        db: &impl ConnectionTrait,
        query: &SpecialtyQuery,
        page: PageRequest,
    ) -> AppResult<Paged<specialty::Model>> {
        let order = input::sorts(&query.ordering);
        let search = input::search(&query.search);
        Ok(directory::list_specialties(db, search.as_deref(), order, page).await?)
    }
}
