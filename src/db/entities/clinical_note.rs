//! `clinical_notes`: typed notes written in a consultation.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::{NoteKind, NoteStatus};

/// A note row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clinical_notes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub patient_id: Uuid,
    /// The author of the current version.
    pub recorded_by: Uuid,
    pub error_reason: Option<String>,
    pub version: i32,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub kind: NoteKind,
    pub text: String,
    pub status: NoteStatus,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
