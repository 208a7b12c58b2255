//! The job queue, the delivery log and in-app notifications.
//!
//! `jobs` is the queue: a job is claimed by one worker at a time under a
//! lease (`lease_owner`, `lease_expires_at`), and a unique key (per live
//! job, so a cancelled reminder does not block its replacement) makes
//! "one reminder per appointment, offset and start" the database's rule.
//! `deliveries` logs every attempt to deliver (at most one `sent` per job).
//! `calendar_tokens` authenticate iCalendar feeds (stored as digests).

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
        let running = Expr::col("status").eq("running");
        let leased = Expr::col("lease_owner")
            .is_not_null()
            .and(Expr::col("lease_expires_at").is_not_null());
        m.create_table(
            Table::create()
                .table("jobs")
                .col(pk_uuid("id"))
                .col(string_len("kind", 64))
                .col(text("payload"))
                .col(string_len_null("unique_key", 200))
                .col(string_len("status", 16).check(one_of(
                    "status",
                    &["queued", "running", "succeeded", "dead", "cancelled"],
                )))
                .col(timestamp_with_time_zone("run_at"))
                .col(integer("attempts").default(0).check(Expr::col("attempts").gte(0)))
                .col(integer("max_attempts").check(Expr::col("max_attempts").gte(1)))
                .col(text_null("last_error"))
                .col(string_len_null("lease_owner", 64))
                .col(timestamp_with_time_zone_null("lease_expires_at"))
                .col(uuid_null("appointment_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                // Running exactly when leased.
                .check(
                    running.clone().and(leased).or(Expr::col("status")
                        .ne("running")
                        .and(Expr::col("lease_owner").is_null())),
                )
                .foreign_key(&mut fk(
                    "jobs",
                    "appointment_id",
                    "appointments",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_jobs_due", "jobs", &["status", "run_at"]))
            .await?;
        m.create_index(index("ix_jobs_appointment", "jobs", &["appointment_id"]))
            .await?;
        m.create_index(index("ix_jobs_kind", "jobs", &["kind", "created_at"]))
            .await?;
        // Same syntax on both databases: a partial unique index.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_jobs_unique_key ON jobs (unique_key) WHERE status <> 'cancelled'",
            )
            .await?;

        m.create_table(
            Table::create()
                .table("deliveries")
                .col(pk_uuid("id"))
                .col(uuid("job_id"))
                .col(uuid_null("appointment_id"))
                .col(uuid_null("webhook_id"))
                .col(string_len("channel", 16).check(one_of("channel", &["email", "webhook"])))
                .col(text("recipient"))
                .col(text_null("subject"))
                .col(string_len_null("message_id", 200))
                .col(string_len("outcome", 16).check(one_of("outcome", &["sent", "not_sent", "failed"])))
                .col(text("detail"))
                .col(integer("attempt"))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(&mut fk("deliveries", "job_id", "jobs", ForeignKeyAction::Restrict))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_deliveries_job", "deliveries", &["job_id", "at"]))
            .await?;
        m.create_index(index("ix_deliveries_webhook", "deliveries", &["webhook_id", "at"]))
            .await?;
        m.create_index(index("ix_deliveries_appointment", "deliveries", &["appointment_id"]))
            .await?;
        m.get_connection()
            .execute_unprepared("CREATE UNIQUE INDEX ux_deliveries_sent ON deliveries (job_id) WHERE outcome = 'sent'")
            .await?;

        m.create_table(
            Table::create()
                .table("notifications")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("kind", 48))
                .col(string_len("title", 200))
                .col(text("message"))
                .col(uuid_null("appointment_id"))
                .col(timestamp_with_time_zone_null("read_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("notifications", "user_id", "users", ForeignKeyAction::Restrict))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_notifications_user",
            "notifications",
            &["user_id", "created_at"],
        ))
        .await?;
        // Webhook endpoints: the secret sealed under the data key (it signs every delivery).
        m.create_table(
            Table::create()
                .table("webhooks")
                .col(pk_uuid("id"))
                .col(string_len("url", 2000))
                .col(text("events"))
                .col(string_len("description", 200).default(""))
                .col(text("secret_sealed"))
                .col(boolean("active").default(true))
                .col(uuid("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        // One calendar-feed token per user, kept as its SHA-256 digest.
        m.create_table(
            Table::create()
                .table("calendar_tokens")
                .col(pk_uuid("user_id"))
                .col(string_len("token_digest", 64))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("last_used_at"))
                .foreign_key(&mut fk(
                    "calendar_tokens",
                    "user_id",
                    "users",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(super::unique(
            "ux_calendar_tokens_digest",
            "calendar_tokens",
            &["token_digest"],
        ))
        .await?;
        // A facility's day board catches up on appointment events by time.
        m.create_index(index(
            "ix_appointment_events_created",
            "appointment_events",
            &["created_at"],
        ))
        .await?;
        Ok(())
    }
}
