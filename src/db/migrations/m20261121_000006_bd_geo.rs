//! Loads the administrative geography of Bangladesh (8 divisions, 64
//! districts, 494 upazilas; `data/bd-geo`, MIT licence) into `locations`.
//!
//! Ids are UUID v5 of `bd-geo/<kind>/<source id>`, so every installation
//! gives the same place the same id.

use sea_orm_migration::prelude::*;
use serde::Deserialize;

use crate::db::ids;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Deserialize)]
struct Place {
    id: String,
    #[serde(default)]
    division_id: Option<String>,
    #[serde(default)]
    district_id: Option<String>,
    name: String,
    bn_name: String,
    #[serde(default)]
    lat: Option<String>,
    #[serde(default)]
    lon: Option<String>,
}

const DIVISIONS: &str = include_str!("../../../data/bd-geo/divisions.json");
const DISTRICTS: &str = include_str!("../../../data/bd-geo/districts.json");
const UPAZILAS: &str = include_str!("../../../data/bd-geo/upazilas.json");

fn parse(json: &str) -> Result<Vec<Place>, DbErr> {
    serde_json::from_str(json).map_err(|e| DbErr::Migration(format!("bd-geo data: {e}")))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let levels = [
            ("division", parse(DIVISIONS)?, None),
            ("district", parse(DISTRICTS)?, Some("division")),
            ("upazila", parse(UPAZILAS)?, Some("district")),
        ];
        for (kind, places, parent_kind) in levels {
            // 494 rows × 8 values stays far below either database's parameter limit.
            let mut insert = Query::insert();
            insert.into_table("locations").columns([
                "id",
                "parent_id",
                "kind",
                "code",
                "name",
                "bn_name",
                "latitude",
                "longitude",
            ]);
            for place in places {
                let parent_code = place.division_id.as_ref().or(place.district_id.as_ref());
                let parent = parent_kind.zip(parent_code).map(|(k, code)| ids::bd_geo(k, code));
                let coordinate = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<f64>().ok());
                insert.values_panic([
                    ids::bd_geo(kind, &place.id).into(),
                    parent.into(),
                    kind.into(),
                    place.id.clone().into(),
                    place.name.into(),
                    place.bn_name.into(),
                    coordinate(&place.lat).into(),
                    coordinate(&place.lon).into(),
                ]);
            }
            m.exec_stmt(insert).await?;
        }
        Ok(())
    }
}
