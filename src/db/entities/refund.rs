//! `refunds`: money given back from a payment.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::RefundStatus;

/// A refund row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub payment_id: Uuid,
    pub bill_id: Uuid,
    /// Minor units, more than 0.
    pub amount_minor: i64,
    pub currency: String,
    pub reason: String,
    pub status: RefundStatus,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
    /// The administrator who approved or rejected it (or the requester, when no approval was needed).
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
