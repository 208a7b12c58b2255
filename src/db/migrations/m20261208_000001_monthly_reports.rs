//! Monthly doctor reports (seed 004): one stored report per doctor and
//! month, built by the `monthly_reports` job on the 1st (facility time) or
//! on demand. `UNIQUE (doctor_id, month)` makes "once per doctor per month"
//! the database's rule, however many nodes run the job.

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
                .table("monthly_reports")
                .col(pk_uuid("id"))
                .col(uuid("doctor_id"))
                // `YYYY-MM`.
                .col(string_len("month", 7).check(Expr::cust("length(month) = 7")))
                .col(string_len("time_zone", 64))
                // The report as its JSON answer (title, columns, rows, totals).
                .col(text("content"))
                .col(timestamp_with_time_zone("generated_at"))
                // Who asked for it; NULL when the monthly job built it.
                .col(uuid_null("generated_by"))
                .foreign_key(&mut fk(
                    "monthly_reports",
                    "doctor_id",
                    "doctors",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "monthly_reports",
                    "generated_by",
                    "users",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_monthly_reports_doctor_month",
                "monthly_reports",
                &["doctor_id", "month"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index("ix_monthly_reports_month", "monthly_reports", &["month"]))
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("monthly_reports").to_owned()).await
    }
}
