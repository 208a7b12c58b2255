//! Vital signs: one row per set measured together, for a consultation or
//! (triage) for the patient alone. Decimal measures are fixed-point
//! integers in thousandths of their unit (`177` cm is 177000), so a value
//! reads back exactly as entered; the plausibility ranges are checks here
//! too, not only in the handler.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `column IS NULL OR column BETWEEN low AND high`.
fn within(column: &'static str, low: i64, high: i64) -> SimpleExpr {
    Expr::col(column).is_null().or(Expr::col(column).between(low, high))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("vital_signs")
                .col(pk_uuid("id"))
                .col(uuid("patient_id"))
                .col(uuid_null("consultation_id"))
                .col(uuid_null("facility_id"))
                .col(timestamp_with_time_zone("measured_at"))
                .col(uuid("measured_by"))
                .col(integer_null("systolic").check(within("systolic", 40, 300)))
                .col(integer_null("diastolic").check(within("diastolic", 20, 200)))
                .col(integer_null("heart_rate").check(within("heart_rate", 20, 300)))
                .col(integer_null("respiratory_rate").check(within("respiratory_rate", 4, 80)))
                .col(integer_null("oxygen_saturation").check(within("oxygen_saturation", 50, 100)))
                .col(integer_null("pain_score").check(within("pain_score", 0, 10)))
                // Thousandths of a degree Celsius, whatever unit it was entered in.
                .col(big_integer_null("temperature_milli").check(within("temperature_milli", 25_000, 45_000)))
                // The value as entered, in thousandths of `temperature_unit`.
                .col(big_integer_null("temperature_entered_milli"))
                .col(
                    string_len_null("temperature_unit", 8).check(
                        Expr::col("temperature_unit")
                            .is_null()
                            .or(super::one_of("temperature_unit", &["Cel", "[degF]"])),
                    ),
                )
                .col(big_integer_null("weight_milli").check(within("weight_milli", 200, 500_000)))
                .col(big_integer_null("height_milli").check(within("height_milli", 20_000, 272_000)))
                .col(string_len("status", 32).check(super::one_of("status", &["final", "amended", "entered_in_error"])))
                .col(text_null("error_reason"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .check(
                    Expr::col("systolic")
                        .is_null()
                        .or(Expr::col("diastolic").is_null())
                        .or(Expr::col("diastolic").lt(Expr::col("systolic"))),
                )
                .foreign_key(&mut fk(
                    "vital_signs",
                    "patient_id",
                    "patients",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "vital_signs",
                    "consultation_id",
                    "consultations",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "vital_signs",
                    "facility_id",
                    "facilities",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_vital_signs_patient",
            "vital_signs",
            &["patient_id", "measured_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_vital_signs_consultation",
            "vital_signs",
            &["consultation_id"],
        ))
        .await?;
        Ok(())
    }
}
