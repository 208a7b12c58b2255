//! `vital_signs`: one set of measurements taken together. Decimal measures
//! are thousandths of their unit.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A vital-signs row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vital_signs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    /// None: triage before a consultation.
    pub consultation_id: Option<Uuid>,
    pub facility_id: Option<Uuid>,
    pub measured_at: DateTime<Utc>,
    /// The user who measured.
    pub measured_by: Uuid,
    /// mm[Hg].
    pub systolic: Option<i32>,
    /// mm[Hg].
    pub diastolic: Option<i32>,
    /// /min.
    pub heart_rate: Option<i32>,
    /// /min.
    pub respiratory_rate: Option<i32>,
    /// %.
    pub oxygen_saturation: Option<i32>,
    /// 0–10.
    pub pain_score: Option<i32>,
    /// Thousandths of a degree Celsius.
    pub temperature_milli: Option<i64>,
    /// Thousandths of `temperature_unit`, as entered.
    pub temperature_entered_milli: Option<i64>,
    /// `Cel` or `[degF]` (UCUM).
    pub temperature_unit: Option<String>,
    /// Grams (thousandths of a kilogram).
    pub weight_milli: Option<i64>,
    /// Hundredths of a millimetre (thousandths of a centimetre).
    pub height_milli: Option<i64>,
    /// `final`, `amended` (changed since first recorded) or `entered_in_error` (FHIR Observation.status).
    pub status: String,
    /// Why it was marked entered in error.
    pub error_reason: Option<String>,
    /// Starts at 1; each amendment adds one.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
