//! `diagnoses`: ICD-10-CM coded diagnoses made in a consultation.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::{DiagnosisKind, DiagnosisStatus};

/// A diagnosis row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "diagnoses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub patient_id: Uuid,
    /// The user who recorded (or last amended) it.
    pub recorded_by: Uuid,
    pub error_reason: Option<String>,
    pub version: i32,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// ICD-10-CM, with the dot.
    pub code: String,
    pub kind: DiagnosisKind,
    pub status: DiagnosisStatus,
    pub notes: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
