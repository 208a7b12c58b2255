//! Audit retention and aggregation.
//!
//! - `audit_events.occurrences`: how many requests an event stands for (more
//!   than one only for the aggregated unauthenticated denials of an address
//!   in a minute).
//! - `audit_purges`: the append-only ledger of retention purges (when, the
//!   boundary, how many events, the export's SHA-256).
//! - Deleting an audit event is refused unless a purge recorded in the
//!   ledger covers it (`at` before the purge's boundary); updating one is
//!   still always refused. So everything younger than the last purge's
//!   boundary stays append-only, and every deletion leaves a ledger row.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("audit_events")
                .add_column(integer("occurrences").default(1))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("audit_purges")
                .col(pk_uuid("id"))
                .col(timestamp_with_time_zone("at"))
                .col(timestamp_with_time_zone("purged_before"))
                .col(big_integer("events"))
                .col(string_len("export_sha256", 64))
                .col(text("export_name"))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        let statements: &[&str] = match db.get_database_backend() {
            DbBackend::Postgres => &[
                "DROP TRIGGER audit_events_append_only ON audit_events",
                "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events \
                 FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
                "CREATE FUNCTION audit_events_purged_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN \
                   IF EXISTS (SELECT 1 FROM audit_purges WHERE purged_before > OLD.at) THEN RETURN OLD; END IF; \
                   RAISE EXCEPTION 'audit_events are append-only: only a recorded purge deletes them'; \
                 END $$",
                "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events \
                 FOR EACH ROW EXECUTE FUNCTION audit_events_purged_only()",
                "CREATE FUNCTION audit_purges_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'audit_purges are append-only'; END $$",
                "CREATE TRIGGER audit_purges_append_only BEFORE UPDATE OR DELETE ON audit_purges \
                 FOR EACH ROW EXECUTE FUNCTION audit_purges_append_only()",
                "CREATE TRIGGER audit_purges_no_truncate BEFORE TRUNCATE ON audit_purges \
                 FOR EACH STATEMENT EXECUTE FUNCTION audit_purges_append_only()",
            ],
            _ => &[
                "DROP TRIGGER audit_events_no_delete",
                "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events \
                 WHEN NOT EXISTS (SELECT 1 FROM audit_purges WHERE purged_before > OLD.at) \
                 BEGIN SELECT RAISE(ABORT, 'audit_events are append-only: only a recorded purge deletes them'); END",
                "CREATE TRIGGER audit_purges_no_update BEFORE UPDATE ON audit_purges \
                 BEGIN SELECT RAISE(ABORT, 'audit_purges are append-only'); END",
                "CREATE TRIGGER audit_purges_no_delete BEFORE DELETE ON audit_purges \
                 BEGIN SELECT RAISE(ABORT, 'audit_purges are append-only'); END",
                "CREATE TRIGGER audit_purges_no_replace BEFORE INSERT ON audit_purges \
                 WHEN EXISTS (SELECT 1 FROM audit_purges WHERE id = NEW.id) \
                 BEGIN SELECT RAISE(ABORT, 'audit_purges are append-only'); END",
            ],
        };
        for statement in statements {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
