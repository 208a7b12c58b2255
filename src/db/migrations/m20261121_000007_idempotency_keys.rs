//! Idempotency keys: the first response to a keyed request, per user, for 24 hours.

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
        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(uuid("user_id"))
                .col(string_len("key", 255))
                .col(string_len("request_hash", 64))
                .col(integer_null("status_code"))
                .col(text_null("response_body"))
                .col(text_null("location"))
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
