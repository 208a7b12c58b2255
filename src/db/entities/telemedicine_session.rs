//! `telemedicine_sessions`: the video visit of a telemedicine appointment.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::TelemedicineOutcome;

/// A session row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "telemedicine_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub appointment_id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub facility_id: Uuid,
    /// The room name: 256 random bits, base64url (43 characters).
    pub room: String,
    /// The first join.
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<TelemedicineOutcome>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
