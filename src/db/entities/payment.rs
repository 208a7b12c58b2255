//! `payments`: money received against a bill.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::PaymentMethod;

/// A payment row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub bill_id: Uuid,
    pub patient_id: Uuid,
    /// Minor units, more than 0.
    pub amount_minor: i64,
    pub currency: String,
    pub method: PaymentMethod,
    /// The receipt, card slip or transaction number.
    pub reference: String,
    /// Completed and pending refunds, minor units (≤ amount).
    pub refunded_minor: i64,
    pub received_by: Uuid,
    pub received_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
