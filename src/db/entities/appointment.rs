//! `appointments`: a patient's booked time with a doctor.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::{AppointmentKind, AppointmentStatus};

/// An appointment row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appointments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub facility_id: Uuid,
    pub service_id: Option<Uuid>,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub kind: AppointmentKind,
    pub reason: String,
    pub notes: String,
    /// Position in the doctor's queue of the day, set at check-in.
    pub queue_number: Option<i32>,
    pub booked_by: Option<Uuid>,
    pub cancel_reason: Option<String>,
    /// Set while the row is a hold: until then it blocks its time; after, it is gone.
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// Incremented on every change (ETag).
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
