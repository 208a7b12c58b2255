//! `working_hours`: weekly availability of a doctor at a facility.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sea_orm::entity::prelude::*;

/// A working-hours row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "working_hours")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub doctor_id: Uuid,
    pub facility_id: Uuid,
    /// ISO weekday, 1 = Monday … 7 = Sunday.
    pub weekday: i16,
    /// Local wall-clock start.
    pub start_time: NaiveTime,
    /// Local wall-clock end.
    pub end_time: NaiveTime,
    pub slot_minutes: i32,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
