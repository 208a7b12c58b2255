//! `patients`: demographics and history of a person being treated; may exist
//! without a login (walk-ins registered by reception).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::{BloodGroup, Sex};

/// A patient row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "patients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    /// Medical record number, unique.
    pub medical_record_number: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub sex: Option<Sex>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: String,
    pub location_id: Option<Uuid>,
    pub national_id: Option<String>,
    pub insurance_number: Option<String>,
    pub blood_group: Option<BloodGroup>,
    pub allergies: String,
    pub medical_history: String,
    pub emergency_contact_name: String,
    pub emergency_contact_phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
