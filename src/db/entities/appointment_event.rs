//! `appointment_events`: one row per change of an appointment.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::{AppointmentAction, AppointmentStatus};

/// An appointment event row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "appointment_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub appointment_id: Uuid,
    /// The appointment's version after this change (1 for the booking).
    pub version: i32,
    pub actor_id: Option<Uuid>,
    pub action: AppointmentAction,
    pub from_status: Option<AppointmentStatus>,
    pub to_status: AppointmentStatus,
    pub old_start_at: Option<DateTime<Utc>>,
    pub old_end_at: Option<DateTime<Utc>>,
    pub new_start_at: Option<DateTime<Utc>>,
    pub new_end_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
