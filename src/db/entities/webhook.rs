//! `webhooks`: endpoints that receive signed appointment events.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `http(s)://…`.
    pub url: String,
    /// JSON array of event types (`appointment.booked`, …).
    pub events: String,
    pub description: String,
    /// The `whsec_…` signing secret, sealed ([`crate::sealing`]).
    pub secret_sealed: String,
    /// Deactivated endpoints receive nothing (kept for the delivery log).
    pub active: bool,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
