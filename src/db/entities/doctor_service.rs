//! `doctor_services`: which services a doctor offers.

use sea_orm::entity::prelude::*;

/// A doctor–service pair.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "doctor_services")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub doctor_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
