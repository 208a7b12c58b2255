//! `prescriptions`: medication orders made in a consultation.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::{MedicationRoute, PrescriptionStatus};

/// A prescription row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "prescriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub patient_id: Uuid,
    pub recorded_by: Uuid,
    pub error_reason: Option<String>,
    pub version: i32,
    pub recorded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A catalogue item, once the pharmacy keeps one.
    pub medication_id: Option<Uuid>,
    /// The medication as prescribed (generic name and strength).
    pub medication: String,
    /// Thousandths of `dose_unit`.
    pub dose_amount_milli: i64,
    pub dose_unit: String,
    pub route: MedicationRoute,
    /// Doses a day; None when only as needed.
    pub times_per_day: Option<i32>,
    /// The morning-noon-night pattern it was given as (`1-0-1`).
    pub frequency_pattern: Option<String>,
    pub as_needed: bool,
    pub duration_days: Option<i32>,
    /// Units to dispense each time.
    pub quantity: i32,
    pub refills: i32,
    pub instructions: String,
    pub status: PrescriptionStatus,
    /// Why it was stopped.
    pub status_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
