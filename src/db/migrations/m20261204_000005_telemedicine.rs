//! Telemedicine sessions of `telemedicine` appointments (one per
//! appointment), with an unguessable room, and the join/leave events of
//! their participants (append-only).

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
                .table("telemedicine_sessions")
                .col(pk_uuid("id"))
                .col(uuid("appointment_id"))
                .col(uuid("patient_id"))
                .col(uuid("doctor_id"))
                .col(uuid("facility_id"))
                .col(string_len("room", 64))
                .col(timestamp_with_time_zone_null("started_at"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(
                    string_len_null("outcome", 32).check(Expr::col("outcome").is_null().or(one_of(
                        "outcome",
                        &[
                            "completed",
                            "patient_no_show",
                            "technical_failure",
                            "converted_to_in_person",
                        ],
                    ))),
                )
                .col(uuid("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .check(
                    Expr::col("ended_at")
                        .is_null()
                        .or(Expr::col("started_at").is_null())
                        .or(Expr::col("ended_at").gte(Expr::col("started_at"))),
                )
                .foreign_key(&mut fk(
                    "telemedicine_sessions",
                    "appointment_id",
                    "appointments",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "telemedicine_sessions",
                    "patient_id",
                    "patients",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_telemedicine_sessions_appointment",
            "telemedicine_sessions",
            &["appointment_id"],
        ))
        .await?;
        m.create_index(unique(
            "ux_telemedicine_sessions_room",
            "telemedicine_sessions",
            &["room"],
        ))
        .await?;
        m.create_index(index(
            "ix_telemedicine_sessions_created",
            "telemedicine_sessions",
            &["created_at"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("telemedicine_events")
                .col(pk_uuid("id"))
                .col(uuid("session_id"))
                .col(uuid("user_id"))
                .col(string_len("participant", 16).check(one_of("participant", &["doctor", "patient"])))
                .col(string_len("kind", 16).check(one_of("kind", &["joined", "left"])))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(&mut fk(
                    "telemedicine_events",
                    "session_id",
                    "telemedicine_sessions",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_telemedicine_events_session",
            "telemedicine_events",
            &["session_id", "at"],
        ))
        .await?;
        Ok(())
    }
}
