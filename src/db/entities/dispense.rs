//! `dispenses`: medication given out against a prescription; its lot
//! movements (`stock_movements.dispense_id`) say from which lots.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A dispense row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dispenses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub prescription_id: Uuid,
    pub patient_id: Uuid,
    pub medication_id: Uuid,
    pub facility_id: Uuid,
    /// Dispensing units, more than 0.
    pub quantity: i32,
    /// The draft bill its medication lines went on.
    pub bill_id: Option<Uuid>,
    pub dispensed_by: Uuid,
    pub dispensed_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
