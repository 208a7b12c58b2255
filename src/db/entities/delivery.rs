//! `deliveries`: the log of every attempt to deliver a message.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::DeliveryOutcome;

/// A delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub job_id: Uuid,
    pub appointment_id: Option<Uuid>,
    /// The endpoint, for a webhook delivery.
    pub webhook_id: Option<Uuid>,
    /// `email` or `webhook`.
    pub channel: String,
    /// The address (email) or URL (webhook); empty when there was none.
    pub recipient: String,
    pub subject: Option<String>,
    /// The `Message-ID` sent (the same on every attempt of one job).
    pub message_id: Option<String>,
    pub outcome: DeliveryOutcome,
    /// The server's answer, or why nothing was sent.
    pub detail: String,
    /// The job's attempt this was.
    pub attempt: i32,
    pub at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
