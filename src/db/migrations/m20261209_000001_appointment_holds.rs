//! Holds: an appointment row with `hold_expires_at` set is a hold (FHIR
//! `$hold`, `POST /appointments/holds`): `pending`, blocking its time under
//! the same no-overlap constraint as any live appointment until that
//! instant. Once past, readers ignore it and the next write that needs its
//! time deletes it in its own transaction (`db::appointments::release_expired`),
//! so an expired hold frees the time without any job having run. Booking the
//! hold clears the column.

use sea_orm_migration::prelude::*;

use super::index;

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
                .table("appointments")
                .add_column(ColumnDef::new("hold_expires_at").timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_appointments_hold_expires",
            "appointments",
            &["hold_expires_at"],
        ))
        .await
    }
}
