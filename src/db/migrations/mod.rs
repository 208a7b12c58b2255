//! Schema migrations, applied by `carebook migrate` and at every `serve`.
//!
//! Portable tables are written with sea-query builders; what only one
//! database can do (PostgreSQL exclusion constraints, SQLite triggers) is raw
//! SQL beside them. Every migration runs in a transaction on both databases.

use sea_orm_migration::prelude::*;

mod m20261121_000001_directory;
mod m20261121_000002_identity;
mod m20261121_000003_people;
mod m20261121_000004_schedules;
mod m20261121_000005_appointments;
mod m20261121_000006_bd_geo;
mod m20261121_000007_idempotency_keys;
mod m20261121_000008_security;
mod m20261201_000001_idempotency_with_resource;
mod m20261201_000002_audit_no_replace;
mod m20261201_000003_sealed_totp_secrets;
mod m20261201_000004_audit_retention;
mod m20261201_000005_refresh_successor;
mod m20261202_000001_invalidations;
mod m20261203_000001_appointments_at_most_a_day;
mod m20261204_000001_diagnosis_codes;
mod m20261204_000002_consultations;
mod m20261204_000003_vital_signs;
mod m20261204_000004_clinical_entries;
mod m20261204_000005_telemedicine;
mod m20261205_000001_pharmacy;
mod m20261206_000001_billing;
mod m20261207_000001_jobs;
mod m20261208_000001_monthly_reports;
mod m20261209_000001_appointment_holds;

/// The ordered list of Carebook migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_directory::Migration),
            Box::new(m20261121_000002_identity::Migration),
            Box::new(m20261121_000003_people::Migration),
            Box::new(m20261121_000004_schedules::Migration),
            Box::new(m20261121_000005_appointments::Migration),
            Box::new(m20261121_000006_bd_geo::Migration),
            Box::new(m20261121_000007_idempotency_keys::Migration),
            Box::new(m20261121_000008_security::Migration),
            Box::new(m20261201_000001_idempotency_with_resource::Migration),
            Box::new(m20261201_000002_audit_no_replace::Migration),
            Box::new(m20261201_000003_sealed_totp_secrets::Migration),
            Box::new(m20261201_000004_audit_retention::Migration),
            Box::new(m20261201_000005_refresh_successor::Migration),
            Box::new(m20261202_000001_invalidations::Migration),
            Box::new(m20261203_000001_appointments_at_most_a_day::Migration),
            Box::new(m20261204_000001_diagnosis_codes::Migration),
            Box::new(m20261204_000002_consultations::Migration),
            Box::new(m20261204_000003_vital_signs::Migration),
            Box::new(m20261204_000004_clinical_entries::Migration),
            Box::new(m20261204_000005_telemedicine::Migration),
            Box::new(m20261205_000001_pharmacy::Migration),
            Box::new(m20261206_000001_billing::Migration),
            Box::new(m20261207_000001_jobs::Migration),
            Box::new(m20261208_000001_monthly_reports::Migration),
            Box::new(m20261209_000001_appointment_holds::Migration),
        ]
    }
}

/// `CREATE INDEX name ON table (columns…)`.
pub(crate) fn index(name: &'static str, table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(*column);
    }
    index.to_owned()
}

/// `CREATE UNIQUE INDEX name ON table (columns…)`.
pub(crate) fn unique(name: &'static str, table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    index(name, table, columns).unique().to_owned()
}

/// A foreign key `table.column → target.id`.
pub(crate) fn fk(
    table: &'static str,
    column: &'static str,
    target: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(target, "id")
        .on_delete(on_delete)
        .to_owned()
}

/// `column IN ('a', 'b', …)` for a check constraint.
pub(crate) fn one_of(column: &'static str, values: &[&str]) -> SimpleExpr {
    Expr::col(column).is_in(values.iter().map(|v| String::from(*v)))
}
