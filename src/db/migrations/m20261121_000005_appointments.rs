//! Appointments and their events, with the no-overlap guarantee in the
//! database itself (DESIGN §1.2):
//!
//! - PostgreSQL: exclusion constraints over `tstzrange(start_at, end_at)` per
//!   doctor and per patient, for live statuses (btree_gist for the `=` part).
//! - SQLite: `BEFORE INSERT/UPDATE` triggers that abort on an overlap. SQLite
//!   runs one writer at a time, so the check and the write cannot interleave.
//!
//! Both fail with the constraint's name, which `db::error` maps to HTTP 409.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Statuses that hold time, as an SQL list.
const LIVE: &str = "('pending', 'confirmed', 'checked_in', 'in_progress')";
const STATUSES: &[&str] = &[
    "pending",
    "confirmed",
    "checked_in",
    "in_progress",
    "completed",
    "cancelled",
    "no_show",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("appointments")
                .col(pk_uuid("id"))
                .col(uuid("patient_id"))
                .col(uuid("doctor_id"))
                .col(uuid("facility_id"))
                .col(uuid_null("service_id"))
                .col(timestamp_with_time_zone("start_at"))
                .col(timestamp_with_time_zone("end_at"))
                .col(string_len("status", 32).check(one_of("status", STATUSES)))
                .col(string_len("kind", 32).check(one_of("kind", &["in_person", "telemedicine"])))
                .col(text("reason"))
                .col(text("notes"))
                .col(integer_null("queue_number"))
                .col(uuid_null("booked_by"))
                .col(text_null("cancel_reason"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .check(Expr::col("end_at").gt(Expr::col("start_at")))
                .foreign_key(&mut fk(
                    "appointments",
                    "patient_id",
                    "patients",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "appointments",
                    "doctor_id",
                    "doctors",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "appointments",
                    "facility_id",
                    "facilities",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "appointments",
                    "service_id",
                    "services",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk("appointments", "booked_by", "users", ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_appointments_doctor_start",
            "appointments",
            &["doctor_id", "start_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_appointments_patient_start",
            "appointments",
            &["patient_id", "start_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_appointments_facility_start",
            "appointments",
            &["facility_id", "start_at"],
        ))
        .await?;
        m.create_index(index("ix_appointments_start", "appointments", &["start_at"]))
            .await?;

        m.create_table(
            Table::create()
                .table("appointment_events")
                .col(pk_uuid("id"))
                .col(uuid("appointment_id"))
                .col(integer("version"))
                .col(uuid_null("actor_id"))
                .col(string_len("action", 32))
                .col(string_len_null("from_status", 32))
                .col(string_len("to_status", 32))
                .col(timestamp_with_time_zone_null("old_start_at"))
                .col(timestamp_with_time_zone_null("old_end_at"))
                .col(timestamp_with_time_zone_null("new_start_at"))
                .col(timestamp_with_time_zone_null("new_end_at"))
                .col(text_null("reason"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk(
                    "appointment_events",
                    "appointment_id",
                    "appointments",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "appointment_events",
                    "actor_id",
                    "users",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(super::unique(
            "ux_appointment_events_version",
            "appointment_events",
            &["appointment_id", "version"],
        ))
        .await?;

        let db = m.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS btree_gist")
                    .await?;
                for who in ["doctor", "patient"] {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE appointments ADD CONSTRAINT appointments_{who}_no_overlap \
                         EXCLUDE USING gist ({who}_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) \
                         WHERE (status IN {LIVE})"
                    ))
                    .await?;
                }
            }
            _ => {
                for (event, columns) in [
                    ("insert", "INSERT"),
                    ("update", "UPDATE OF start_at, end_at, status, doctor_id, patient_id"),
                ] {
                    let checks: String = ["doctor", "patient"]
                        .iter()
                        .map(|who| {
                            format!(
                                "SELECT RAISE(ABORT, 'appointments_{who}_no_overlap') WHERE EXISTS (\
                                   SELECT 1 FROM appointments a WHERE a.{who}_id = NEW.{who}_id AND a.id <> NEW.id \
                                   AND a.status IN {LIVE} AND a.start_at < NEW.end_at AND NEW.start_at < a.end_at);"
                            )
                        })
                        .collect();
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER appointments_no_overlap_{event} BEFORE {columns} ON appointments \
                         FOR EACH ROW WHEN NEW.status IN {LIVE} BEGIN {checks} END"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }
}
