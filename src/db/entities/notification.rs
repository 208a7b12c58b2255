//! `notifications`: in-app notifications of one user.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A notification row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    /// UUIDv7: ordered by creation.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// What happened (`appointment_booked`, `appointment_reminder`, …).
    pub kind: String,
    pub title: String,
    pub message: String,
    pub appointment_id: Option<Uuid>,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// A new, unread notification of `user_id`, created `now`.
    pub fn unread(
        user_id: Uuid,
        kind: &str,
        title: &str,
        message: String,
        appointment_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Model {
        Model {
            id: Uuid::now_v7(),
            user_id,
            kind: kind.to_owned(),
            title: title.to_owned(),
            message,
            appointment_id,
            read_at: None,
            created_at: now,
        }
    }
}
