//! `medications`: the catalogue, one row per presentation of a generic
//! medicine (FHIR Medication).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A catalogue row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "medications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lower-case generic name (`amoxicillin`).
    pub generic_name: String,
    /// As the FDA writes it (`TABLET, FILM COATED`).
    pub dosage_form: String,
    /// `ORAL`, `TOPICAL`, …
    pub route: String,
    /// `500`, `875; 125`.
    pub strength: String,
    /// `mg/1` (per unit), `mg/5mL`.
    pub strength_unit: String,
    /// What one unit of stock is (`tablet`, `bottle`).
    pub dispensing_unit: String,
    /// Stock at or below this, in dispensing units, is reordered.
    pub reorder_level: i32,
    /// Inactive items stay for history and cannot be prescribed or received.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
