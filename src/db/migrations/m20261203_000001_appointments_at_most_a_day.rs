//! An appointment lasts at most a day, in the database (it is one service or
//! one slot, each at most 480 minutes), so every "what overlaps `[from, to)`"
//! lookup can bound its index range from both sides: `start_at < to` and
//! `start_at >= from - 1 day` (see `db::appointments::LONGEST`). Without the
//! lower bound each lookup read every earlier appointment of the doctor or
//! patient — all of their history.
//!
//! - PostgreSQL: a CHECK constraint.
//! - SQLite: `BEFORE INSERT/UPDATE` triggers that abort, and the no-overlap
//!   triggers rewritten with the same lower bound.
//!
//! Both fail with the name `appointments_at_most_a_day`.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Statuses that hold time, as an SQL list (as in the appointments migration).
const LIVE: &str = "('pending', 'confirmed', 'checked_in', 'in_progress')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "ALTER TABLE appointments ADD CONSTRAINT appointments_at_most_a_day \
                 CHECK (end_at <= start_at + interval '1 day')",
            )
            .await?;
            return Ok(());
        }
        for (event, columns) in [("insert", "INSERT"), ("update", "UPDATE OF start_at, end_at")] {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER appointments_at_most_a_day_{event} BEFORE {columns} ON appointments \
                 FOR EACH ROW WHEN julianday(NEW.end_at) - julianday(NEW.start_at) > 1 \
                 BEGIN SELECT RAISE(ABORT, 'appointments_at_most_a_day'); END"
            ))
            .await?;
        }
        // Stored times are RFC 3339 text in UTC; the bound is the same text
        // cut to whole seconds, so comparing as text keeps every appointment
        // that starts within a day before NEW.start_at.
        for (event, columns) in [
            ("insert", "INSERT"),
            ("update", "UPDATE OF start_at, end_at, status, doctor_id, patient_id"),
        ] {
            db.execute_unprepared(&format!("DROP TRIGGER appointments_no_overlap_{event}"))
                .await?;
            let checks: String = ["doctor", "patient"]
                .iter()
                .map(|who| {
                    format!(
                        "SELECT RAISE(ABORT, 'appointments_{who}_no_overlap') WHERE EXISTS (\
                           SELECT 1 FROM appointments a WHERE a.{who}_id = NEW.{who}_id AND a.id <> NEW.id \
                           AND a.status IN {LIVE} AND a.start_at < NEW.end_at \
                           AND a.start_at >= strftime('%Y-%m-%dT%H:%M:%S', NEW.start_at, '-1 day') \
                           AND NEW.start_at < a.end_at);"
                    )
                })
                .collect();
            db.execute_unprepared(&format!(
                "CREATE TRIGGER appointments_no_overlap_{event} BEFORE {columns} ON appointments \
                 FOR EACH ROW WHEN NEW.status IN {LIVE} BEGIN {checks} END"
            ))
            .await?;
        }
        Ok(())
    }
}
