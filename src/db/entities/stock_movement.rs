//! `stock_movements`: the append-only stock ledger.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::{StockMovementKind, StockReason};

/// A movement row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_movements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub lot_id: Uuid,
    pub medication_id: Uuid,
    pub facility_id: Uuid,
    pub kind: StockMovementKind,
    /// Signed dispensing units: receipts and returns add, dispenses and disposals take away.
    pub quantity: i32,
    /// Required for adjustments, disposals and returns.
    pub reason: Option<StockReason>,
    pub note: String,
    /// The prescription a dispense or return is against.
    pub prescription_id: Option<Uuid>,
    /// The lot's on-hand after this movement.
    pub on_hand_after: i32,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
    /// The dispense a dispense movement belongs to.
    pub dispense_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
