//! `locations`: the administrative area tree (division → district → upazila).

use sea_orm::entity::prelude::*;

use crate::domain::LocationKind;

/// A location row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "locations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub kind: LocationKind,
    /// Source code, unique per kind (`bd-geo` id for shipped data).
    pub code: String,
    pub name: String,
    /// Bengali name.
    pub bn_name: Option<String>,
    /// WGS 84 degrees.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
