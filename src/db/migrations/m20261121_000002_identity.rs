//! Users and refresh tokens.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index, one_of, unique};

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
                .table("users")
                .col(pk_uuid("id"))
                .col(string_len("username", 150))
                .col(string_len_null("email", 254))
                .col(string_len_null("phone", 32))
                .col(text("password_hash"))
                .col(
                    string_len("role", 32)
                        .check(one_of("role", &["admin", "doctor", "nurse", "receptionist", "patient"])),
                )
                .col(string_len("first_name", 150))
                .col(string_len("last_name", 150))
                .col(uuid_null("facility_id"))
                .col(boolean("is_active"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("users", "facility_id", "facilities", ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;
        m.create_index(unique("ux_users_username", "users", &["username"]))
            .await?;
        m.create_index(unique("ux_users_email", "users", &["email"])).await?;
        m.create_index(unique("ux_users_phone", "users", &["phone"])).await?;
        m.create_index(index("ix_users_role", "users", &["role"])).await?;

        m.create_table(
            Table::create()
                .table("refresh_tokens")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(uuid("family_id"))
                .col(string_len("token_hash", 64))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(&mut fk("refresh_tokens", "user_id", "users", ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;
        m.create_index(unique("ux_refresh_tokens_hash", "refresh_tokens", &["token_hash"]))
            .await?;
        m.create_index(index("ix_refresh_tokens_user", "refresh_tokens", &["user_id"]))
            .await?;
        m.create_index(index("ix_refresh_tokens_family", "refresh_tokens", &["family_id"]))
            .await?;
        Ok(())
    }
}
