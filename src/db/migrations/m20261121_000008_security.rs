//! Identity and access: sessions, login activity, account lockout, two-factor
//! authentication, role-change requests, system settings and the append-only
//! audit trail (45 CFR 164.312(b)).

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Users: lockout, two-factor, forced password change, preferences, image.
        let columns = [
            integer("failed_logins").default(0).to_owned(),
            integer("lockouts").default(0).to_owned(),
            timestamp_with_time_zone_null("locked_until"),
            string_len_null("totp_secret", 64),
            boolean("totp_enabled").default(false).to_owned(),
            big_integer_null("totp_last_step"),
            boolean("must_change_password").default(false).to_owned(),
            text("preferences").default("{}").to_owned(),
            string_len_null("profile_image", 200),
        ];
        for mut column in columns {
            m.alter_table(Table::alter().table("users").add_column(&mut column).to_owned())
                .await?;
        }

        m.create_table(
            Table::create()
                .table("sessions")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("last_used_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(string_len_null("ip", 64))
                .col(string_len_null("user_agent", 300))
                .foreign_key(&mut fk("sessions", "user_id", "users", ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_sessions_user", "sessions", &["user_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("recovery_codes")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("code_hash", 64))
                .col(timestamp_with_time_zone_null("used_at"))
                .foreign_key(&mut fk("recovery_codes", "user_id", "users", ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_recovery_codes_user", "recovery_codes", &["user_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("login_activity")
                .col(pk_uuid("id"))
                .col(uuid_null("user_id"))
                .col(timestamp_with_time_zone("at"))
                .col(string_len_null("ip", 64))
                .col(string_len_null("user_agent", 300))
                .col(string_len("outcome", 32).check(one_of(
                    "outcome",
                    &[
                        "success",
                        "failure",
                        "locked",
                        "throttled",
                        "mfa_required",
                        "mfa_failure",
                    ],
                )))
                .foreign_key(&mut fk("login_activity", "user_id", "users", ForeignKeyAction::Cascade))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_login_activity_ip_at", "login_activity", &["ip", "at"]))
            .await?;
        m.create_index(index("ix_login_activity_user_at", "login_activity", &["user_id", "at"]))
            .await?;

        m.create_table(
            Table::create()
                .table("role_change_requests")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("current_role", 32))
                .col(string_len("requested_role", 32))
                .col(text("reason"))
                .col(string_len("status", 32).check(one_of("status", &["pending", "approved", "rejected"])))
                .col(uuid_null("reviewed_by"))
                .col(text_null("review_notes"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("reviewed_at"))
                .foreign_key(&mut fk(
                    "role_change_requests",
                    "user_id",
                    "users",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "role_change_requests",
                    "reviewed_by",
                    "users",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_role_change_requests_user",
            "role_change_requests",
            &["user_id", "status"],
        ))
        .await?;
        // At most one pending request per user (both databases support partial indexes).
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_role_change_requests_pending ON role_change_requests (user_id) \
                 WHERE status = 'pending'",
            )
            .await?;

        m.create_table(
            Table::create()
                .table("settings")
                .col(string_len("key", 100).primary_key())
                .col(text("value"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(uuid_null("updated_by"))
                .foreign_key(&mut fk("settings", "updated_by", "users", ForeignKeyAction::SetNull))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("audit_events")
                .col(pk_uuid("id"))
                .col(timestamp_with_time_zone("at"))
                .col(uuid_null("actor_id"))
                .col(string_len_null("actor_role", 32))
                .col(string_len("action", 64))
                .col(string_len("method", 10))
                .col(string_len("route", 200))
                .col(string_len_null("object_type", 64))
                .col(string_len_null("object_id", 100))
                .col(uuid_null("patient_id"))
                .col(string_len("outcome", 16).check(one_of("outcome", &["allowed", "denied"])))
                .col(small_integer("status"))
                .col(string_len_null("ip", 64))
                .col(string_len_null("request_id", 64))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_audit_events_at", "audit_events", &["at"]))
            .await?;
        m.create_index(index("ix_audit_events_actor", "audit_events", &["actor_id", "at"]))
            .await?;
        m.create_index(index("ix_audit_events_object", "audit_events", &["object_id", "at"]))
            .await?;
        m.create_index(index("ix_audit_events_patient", "audit_events", &["patient_id", "at"]))
            .await?;

        // The audit trail is append-only, whoever connects.
        let db = m.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN RAISE EXCEPTION 'audit_events are append-only'; END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events \
                     FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events \
                     FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
                )
                .await?;
            }
            _ => {
                for event in ["UPDATE", "DELETE"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER audit_events_no_{} BEFORE {event} ON audit_events \
                         BEGIN SELECT RAISE(ABORT, 'audit_events are append-only'); END",
                        event.to_lowercase()
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }
}
