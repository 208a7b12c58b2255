//! What a doctor records in a consultation — diagnoses (ICD-10-CM, the
//! code a foreign key into `diagnosis_codes`), prescriptions and notes —
//! and `clinical_versions`, the append-only history of every clinical
//! entry: each version's content, its author, time, reason and a SHA-256
//! digest chained to the previous version's.
//!
//! Clinical data is amended, never deleted: the database refuses `DELETE`
//! on every clinical table and any change to `clinical_versions`.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index, one_of, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose rows are never deleted.
const CLINICAL: &[&str] = &[
    "consultations",
    "vital_signs",
    "diagnoses",
    "prescriptions",
    "clinical_notes",
];

/// The columns every entry of a consultation has.
fn entry(table: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(pk_uuid("id"))
        .col(uuid("consultation_id"))
        .col(uuid("patient_id"))
        .col(uuid("recorded_by"))
        .col(text_null("error_reason"))
        .col(integer("version"))
        .col(timestamp_with_time_zone("recorded_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .foreign_key(&mut fk(
            table,
            "consultation_id",
            "consultations",
            ForeignKeyAction::Restrict,
        ))
        .foreign_key(&mut fk(table, "patient_id", "patients", ForeignKeyAction::Restrict))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            entry("diagnoses")
                .col(string_len("code", 8))
                .col(string_len("kind", 32).check(one_of("kind", &["primary", "secondary"])))
                .col(
                    string_len("status", 32).check(one_of("status", &["provisional", "confirmed", "entered_in_error"])),
                )
                .col(text("notes"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_diagnoses_code")
                        .from("diagnoses", "code")
                        .to("diagnosis_codes", "code")
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            entry("prescriptions")
                .col(uuid_null("medication_id"))
                .col(string_len("medication", 200))
                .col(big_integer("dose_amount_milli").check(Expr::col("dose_amount_milli").gt(0)))
                .col(string_len("dose_unit", 32))
                .col(string_len("route", 32))
                .col(
                    integer_null("times_per_day").check(
                        Expr::col("times_per_day")
                            .is_null()
                            .or(Expr::col("times_per_day").between(1, 24)),
                    ),
                )
                .col(string_len_null("frequency_pattern", 16))
                .col(boolean("as_needed"))
                .col(
                    integer_null("duration_days").check(
                        Expr::col("duration_days")
                            .is_null()
                            .or(Expr::col("duration_days").between(1, 365)),
                    ),
                )
                .col(integer("quantity").check(Expr::col("quantity").gt(0)))
                .col(integer("refills").check(Expr::col("refills").between(0, 12)))
                .col(text("instructions"))
                .col(string_len("status", 32).check(one_of(
                    "status",
                    &["active", "completed", "stopped", "entered_in_error"],
                )))
                .col(text_null("status_reason"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            entry("clinical_notes")
                .col(string_len("kind", 32).check(one_of(
                    "kind",
                    &["assessment", "plan", "follow_up", "general", "nursing"],
                )))
                .col(text("text"))
                .col(string_len("status", 32).check(one_of("status", &["current", "entered_in_error"])))
                .to_owned(),
        )
        .await?;
        for (table, by_consultation, by_patient) in [
            ("diagnoses", "ix_diagnoses_consultation", "ix_diagnoses_patient"),
            (
                "prescriptions",
                "ix_prescriptions_consultation",
                "ix_prescriptions_patient",
            ),
            (
                "clinical_notes",
                "ix_clinical_notes_consultation",
                "ix_clinical_notes_patient",
            ),
        ] {
            m.create_index(index(by_consultation, table, &["consultation_id"]))
                .await?;
            m.create_index(index(by_patient, table, &["patient_id", "status"]))
                .await?;
        }
        m.create_table(
            Table::create()
                .table("clinical_versions")
                .col(pk_uuid("id"))
                .col(string_len("entry_type", 32))
                .col(uuid("entry_id"))
                .col(integer("version"))
                .col(uuid("patient_id"))
                .col(text("content"))
                .col(string_len("digest", 64))
                .col(string_len_null("previous_digest", 64))
                .col(uuid("author_id"))
                .col(text_null("reason"))
                .col(timestamp_with_time_zone("recorded_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_clinical_versions_entry",
            "clinical_versions",
            &["entry_type", "entry_id", "version"],
        ))
        .await?;
        let db = m.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION clinical_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN RAISE EXCEPTION 'clinical records are amended, never deleted'; END $$",
                )
                .await?;
                for table in CLINICAL {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_never_deleted BEFORE DELETE ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION clinical_never_deleted()"
                    ))
                    .await?;
                }
                db.execute_unprepared(
                    "CREATE TRIGGER clinical_versions_append_only BEFORE UPDATE OR DELETE ON clinical_versions \
                     FOR EACH ROW EXECUTE FUNCTION clinical_never_deleted()",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER clinical_versions_no_truncate BEFORE TRUNCATE ON clinical_versions \
                     FOR EACH STATEMENT EXECUTE FUNCTION clinical_never_deleted()",
                )
                .await?;
            }
            _ => {
                for table in CLINICAL {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_never_deleted BEFORE DELETE ON {table} \
                         BEGIN SELECT RAISE(ABORT, 'clinical records are amended, never deleted'); END"
                    ))
                    .await?;
                }
                for event in ["UPDATE", "DELETE"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER clinical_versions_no_{} BEFORE {event} ON clinical_versions \
                         BEGIN SELECT RAISE(ABORT, 'clinical_versions are append-only'); END",
                        event.to_lowercase()
                    ))
                    .await?;
                }
                db.execute_unprepared(
                    "CREATE TRIGGER clinical_versions_no_replace BEFORE INSERT ON clinical_versions \
                     WHEN EXISTS (SELECT 1 FROM clinical_versions WHERE id = NEW.id) \
                     BEGIN SELECT RAISE(ABORT, 'clinical_versions are append-only'); END",
                )
                .await?;
            }
        }
        Ok(())
    }
}
