//! Locations, specialties, facilities and services.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index, one_of, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("locations")
                .col(pk_uuid("id"))
                .col(uuid_null("parent_id"))
                .col(string_len("kind", 32).check(one_of("kind", &["division", "district", "upazila"])))
                .col(string_len("code", 64))
                .col(string_len("name", 200))
                .col(string_len_null("bn_name", 200))
                .col(double_null("latitude"))
                .col(double_null("longitude"))
                .foreign_key(&mut fk(
                    "locations",
                    "parent_id",
                    "locations",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique("ux_locations_kind_code", "locations", &["kind", "code"]))
            .await?;
        m.create_index(index("ix_locations_parent", "locations", &["parent_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("specialties")
                .col(pk_uuid("id"))
                .col(string_len("code", 32))
                .col(string_len("name", 200))
                .col(text("description"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(unique("ux_specialties_code", "specialties", &["code"]))
            .await?;
        m.create_index(unique("ux_specialties_name", "specialties", &["name"]))
            .await?;

        m.create_table(
            Table::create()
                .table("facilities")
                .col(pk_uuid("id"))
                .col(string_len("name", 200))
                .col(string_len("kind", 32).check(one_of("kind", &["hospital", "clinic", "diagnostic_centre"])))
                .col(text("address"))
                .col(uuid_null("location_id"))
                .col(string_len("time_zone", 64))
                .col(string_len_null("phone", 32))
                .col(boolean("auto_confirm"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk(
                    "facilities",
                    "location_id",
                    "locations",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique("ux_facilities_name", "facilities", &["name"]))
            .await?;
        m.create_index(index("ix_facilities_location", "facilities", &["location_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("services")
                .col(pk_uuid("id"))
                .col(string_len("name", 200))
                .col(uuid("specialty_id"))
                .col(integer("duration_minutes").check(Expr::col("duration_minutes").between(5, 480)))
                .col(big_integer("price_minor").check(Expr::col("price_minor").gte(0)))
                .col(string_len("currency", 3))
                .col(boolean("is_active"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk(
                    "services",
                    "specialty_id",
                    "specialties",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_services_specialty_name",
            "services",
            &["specialty_id", "name"],
        ))
        .await?;
        Ok(())
    }
}
