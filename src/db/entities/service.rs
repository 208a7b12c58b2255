//! `services`: what can be booked, with a duration and a price.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A service row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "services")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub specialty_id: Uuid,
    pub duration_minutes: i32,
    /// Price in minor units of `currency`.
    pub price_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
