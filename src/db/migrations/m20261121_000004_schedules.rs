//! Working hours and time off.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index, one_of};

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
                .table("working_hours")
                .col(pk_uuid("id"))
                .col(uuid("doctor_id"))
                .col(uuid("facility_id"))
                .col(small_integer("weekday").check(Expr::col("weekday").between(1, 7)))
                .col(time("start_time"))
                .col(time("end_time"))
                .col(integer("slot_minutes").check(Expr::col("slot_minutes").between(5, 480)))
                .col(date_null("valid_from"))
                .col(date_null("valid_to"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .check(Expr::col("end_time").gt(Expr::col("start_time")))
                .check(
                    Expr::col("valid_from")
                        .is_null()
                        .or(Expr::col("valid_to").is_null())
                        .or(Expr::col("valid_to").gte(Expr::col("valid_from"))),
                )
                .foreign_key(&mut fk(
                    "working_hours",
                    "doctor_id",
                    "doctors",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "working_hours",
                    "facility_id",
                    "facilities",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_working_hours_doctor",
            "working_hours",
            &["doctor_id", "weekday"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("time_off")
                .col(pk_uuid("id"))
                .col(uuid("doctor_id"))
                .col(uuid_null("facility_id"))
                .col(string_len("kind", 32).check(one_of("kind", &["day", "date_range", "datetime_range"])))
                .col(date_null("start_date"))
                .col(date_null("end_date"))
                .col(timestamp_with_time_zone("start_at"))
                .col(timestamp_with_time_zone("end_at"))
                .col(text("reason"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .check(Expr::col("end_at").gt(Expr::col("start_at")))
                .foreign_key(&mut fk("time_off", "doctor_id", "doctors", ForeignKeyAction::Cascade))
                .foreign_key(&mut fk(
                    "time_off",
                    "facility_id",
                    "facilities",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk("time_off", "created_by", "users", ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_time_off_doctor", "time_off", &["doctor_id", "start_at"]))
            .await?;
        Ok(())
    }
}
