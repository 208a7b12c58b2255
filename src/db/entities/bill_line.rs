//! `bill_lines`: the items of a bill, added while it is a draft, never changed.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::BillLineKind;

/// A bill line row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bill_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub bill_id: Uuid,
    pub kind: BillLineKind,
    pub description: String,
    pub service_id: Option<Uuid>,
    pub dispense_id: Option<Uuid>,
    pub lot_id: Option<Uuid>,
    pub quantity: i32,
    pub unit_price_minor: i64,
    pub discount_minor: i64,
    /// quantity × unit price − discount.
    pub amount_minor: i64,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
