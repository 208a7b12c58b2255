//! `stock_lots`: one lot of a medication received at a facility.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;

/// A lot row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_lots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub medication_id: Uuid,
    pub facility_id: Uuid,
    pub lot_number: String,
    /// The last day it may be dispensed.
    pub expires_on: NaiveDate,
    pub supplier: String,
    /// Cost of one dispensing unit, in minor units of `currency`.
    pub unit_cost_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// The sum of its movements, in dispensing units; never below 0.
    pub on_hand: i32,
    pub received_by: Uuid,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
