//! Idempotency keys become part of the write they guard: a key is recorded
//! in the same transaction as the resource it created, and names it, instead
//! of being claimed first and answered later (a request cut off between the
//! two left its key stuck for a day).
//!
//! The table only remembers retries for 24 hours, so it is recreated rather
//! than converted: a retry that spans the upgrade is treated as a new request
//! (and a second booking of the same patient at the same time is refused by
//! the patient-overlap rule anyway).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("idempotency_keys").to_owned()).await?;
        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(uuid("user_id"))
                .col(string_len("key", 255))
                .col(string_len("request_hash", 64))
                .col(uuid("resource_id"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("user_id").col("key"))
                .foreign_key(&mut fk(
                    "idempotency_keys",
                    "user_id",
                    "users",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_idempotency_keys_created",
            "idempotency_keys",
            &["created_at"],
        ))
        .await?;
        Ok(())
    }
}
