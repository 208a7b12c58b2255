//! Consultations (encounters): the record of one visit, opened when its
//! appointment starts (or by a doctor for a walk-in) and completed with it.
//! An appointment has at most one consultation (a unique index).

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
                .table("consultations")
                .col(pk_uuid("id"))
                .col(uuid_null("appointment_id"))
                .col(uuid("patient_id"))
                .col(uuid("doctor_id"))
                .col(uuid("facility_id"))
                .col(
                    string_len("status", 32).check(one_of("status", &["in_progress", "completed", "entered_in_error"])),
                )
                .col(text("chief_complaint"))
                .col(text("history_of_present_illness"))
                .col(text("examination"))
                .col(text("assessment"))
                .col(text("plan"))
                .col(date_null("follow_up_on"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(uuid_null("opened_by"))
                .col(text_null("error_reason"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .check(
                    Expr::col("ended_at")
                        .is_null()
                        .or(Expr::col("ended_at").gte(Expr::col("started_at"))),
                )
                .foreign_key(&mut fk(
                    "consultations",
                    "appointment_id",
                    "appointments",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "consultations",
                    "patient_id",
                    "patients",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "consultations",
                    "doctor_id",
                    "doctors",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "consultations",
                    "facility_id",
                    "facilities",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_consultations_appointment",
            "consultations",
            &["appointment_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_consultations_patient",
            "consultations",
            &["patient_id", "started_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_consultations_doctor",
            "consultations",
            &["doctor_id", "started_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_consultations_facility",
            "consultations",
            &["facility_id", "patient_id"],
        ))
        .await?;
        Ok(())
    }
}
