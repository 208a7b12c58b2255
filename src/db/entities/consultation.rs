//! `consultations`: the record of one visit (FHIR Encounter).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::ConsultationStatus;

/// A consultation row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consultations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The appointment it records; None for a walk-in.
    pub appointment_id: Option<Uuid>,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub facility_id: Uuid,
    pub status: ConsultationStatus,
    pub chief_complaint: String,
    pub history_of_present_illness: String,
    pub examination: String,
    pub assessment: String,
    pub plan: String,
    pub follow_up_on: Option<NaiveDate>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The user who opened it (the doctor, or whoever started the appointment).
    pub opened_by: Option<Uuid>,
    /// Why it was marked entered in error.
    pub error_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
