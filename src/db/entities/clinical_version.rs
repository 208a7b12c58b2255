//! `clinical_versions`: every version of every clinical entry, append-only.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A version row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clinical_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `consultation`, `vital_signs`, `diagnosis`, `prescription`, `note`.
    pub entry_type: String,
    pub entry_id: Uuid,
    /// From 1.
    pub version: i32,
    pub patient_id: Uuid,
    /// The entry's content as canonical JSON (keys sorted, no white space).
    pub content: String,
    /// Lower-case hex SHA-256 of `previous_digest` (empty for version 1), a
    /// line feed, and `content`.
    pub digest: String,
    pub previous_digest: Option<String>,
    pub author_id: Uuid,
    /// Why it changed; none for version 1.
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
