//! `facilities`: hospitals and clinics, each with an IANA time zone.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::FacilityKind;

/// A facility row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "facilities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub kind: FacilityKind,
    pub address: String,
    pub location_id: Option<Uuid>,
    /// IANA time zone name.
    pub time_zone: String,
    pub phone: Option<String>,
    /// Bookings start `confirmed` (true) or `pending` (false).
    pub auto_confirm: bool,
    /// ISO 4217: what its bills are in (default BDT).
    pub currency: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
