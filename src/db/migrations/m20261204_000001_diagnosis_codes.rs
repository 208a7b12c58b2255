//! The ICD-10-CM billable codes (`data/icd10cm`, see
//! [`crate::domain::icd10cm`]) as a table, so that a diagnosis can only
//! name a code that exists: its foreign key is the guard.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::domain::icd10cm;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Rows per statement: 2 values each, far below either database's parameter limit.
const BATCH: usize = 5_000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("diagnosis_codes")
                .col(string_len("code", 8).primary_key())
                .col(string_len("description", 300))
                .to_owned(),
        )
        .await?;
        let entries: Vec<(&str, &str)> = icd10cm::entries().collect();
        for chunk in entries.chunks(BATCH) {
            let mut insert = Query::insert();
            insert.into_table("diagnosis_codes").columns(["code", "description"]);
            for (code, description) in chunk {
                insert.values_panic([(*code).into(), (*description).into()]);
            }
            m.exec_stmt(insert).await?;
        }
        Ok(())
    }
}
