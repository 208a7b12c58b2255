//! `monthly_reports`: a doctor's stored report of one month.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A stored monthly report.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "monthly_reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub doctor_id: Uuid,
    /// `YYYY-MM`.
    pub month: String,
    /// The zone its days were counted in (the doctor's facility's).
    pub time_zone: String,
    /// The report's JSON answer.
    pub content: String,
    pub generated_at: DateTime<Utc>,
    /// Who asked for it; `None` when the monthly job built it.
    pub generated_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
