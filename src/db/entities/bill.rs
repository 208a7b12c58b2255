//! `bills`: what a patient owes for a visit or for medication.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::BillStatus;

/// A bill row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bills")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub appointment_id: Option<Uuid>,
    pub consultation_id: Option<Uuid>,
    /// ISO 4217, the facility's.
    pub currency: String,
    pub status: BillStatus,
    /// Sum of the lines' amounts, minor units.
    pub total_minor: i64,
    /// Payments less completed refunds, minor units (0 ≤ paid ≤ total).
    pub paid_minor: i64,
    pub void_reason: Option<String>,
    pub version: i32,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
