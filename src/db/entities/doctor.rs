//! `doctors`: a doctor's professional profile, linked to a user.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A doctor row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "doctors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub licence_number: String,
    pub specialty_id: Uuid,
    /// Primary facility.
    pub facility_id: Uuid,
    pub location_id: Option<Uuid>,
    pub years_of_experience: i32,
    /// Consultation fee in minor units of `currency`.
    pub consultation_fee_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    pub bio: String,
    /// JSON array of language names.
    pub languages: Json,
    /// Whether the doctor takes new bookings.
    pub is_accepting: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
