//! `refresh_tokens.successor`: the pair a rotation issued, sealed under the
//! data key, so that the same refresh sent twice at once (two tabs, a
//! retry, two nodes) gets the same successor within the reuse leeway
//! instead of being taken for token theft.

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
                .table("refresh_tokens")
                .add_column(text_null("successor"))
                .to_owned(),
        )
        .await
    }
}
