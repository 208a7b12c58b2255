//! TOTP secrets are stored sealed (`cb1.<key id>.<base64url>`, about 110
//! characters; see `crate::sealing`), longer than the 64 characters of the
//! plain base32 secret. SQLite does not enforce a varchar length; PostgreSQL
//! widens the column. Plain-text secrets are sealed by the first node that
//! starts with a data key (`accounts::two_factor::seal_stored_secrets`).

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
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("ALTER TABLE users ALTER COLUMN totp_secret TYPE varchar(255)")
                .await?;
        }
        Ok(())
    }
}
