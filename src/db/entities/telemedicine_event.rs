//! `telemedicine_events`: a participant joining or leaving a session.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// An event row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "telemedicine_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    /// `doctor` or `patient`.
    pub participant: String,
    /// `joined` or `left`.
    pub kind: String,
    pub at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
