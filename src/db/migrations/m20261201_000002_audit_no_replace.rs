//! SQLite: an insert may not replace an audit event. `INSERT OR REPLACE`
//! (and `REPLACE`) delete the conflicting row without firing delete
//! triggers, so the append-only triggers alone let a denied event be
//! rewritten as allowed; refusing any insert whose id exists closes that.
//! PostgreSQL needs nothing: its upsert fires the update trigger.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if db.get_database_backend() == DbBackend::Sqlite {
            db.execute_unprepared(
                "CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events \
                 WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id) \
                 BEGIN SELECT RAISE(ABORT, 'audit_events are append-only'); END",
            )
            .await?;
        }
        Ok(())
    }
}
