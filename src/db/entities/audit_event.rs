//! `audit_events`: who did or tried what to which object; append-only.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// An audit event row (never the patient data itself).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    /// The policy action, e.g. `AppointmentCancel`.
    pub action: String,
    pub method: String,
    /// The route template, e.g. `/api/v1/appointments/{id}/cancel`.
    pub route: String,
    /// What was touched, e.g. `appointment`.
    pub object_type: Option<String>,
    /// Its id (a UUID, or a setting's key).
    pub object_id: Option<String>,
    /// The patient whose data it is, when the policy saw one.
    pub patient_id: Option<Uuid>,
    /// allowed or denied.
    pub outcome: String,
    /// The HTTP status answered.
    pub status: i16,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    /// How many requests this event stands for: 1, or more for the
    /// aggregated unauthenticated denials of an address in a minute.
    pub occurrences: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
