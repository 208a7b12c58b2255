//! The pharmacy: the medication catalogue, stock lots at a facility and
//! `stock_movements`, the append-only ledger of every change to a lot's
//! stock (receipt, dispense, return, adjustment, disposal).
//!
//! A lot's `on_hand` is the sum of its movements, kept in the movement's
//! transaction; `CHECK (on_hand >= 0)` refuses stock below zero on both
//! databases. Movements are never updated or deleted (a correction is a new
//! movement) and lots are never deleted.

use sea_orm::{ConnectionTrait, DbBackend};
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
                .table("medications")
                .col(pk_uuid("id"))
                .col(string_len("generic_name", 200))
                .col(string_len("dosage_form", 100))
                .col(string_len("route", 64))
                .col(string_len("strength", 64))
                .col(string_len("strength_unit", 64))
                .col(string_len("dispensing_unit", 32))
                .col(integer("reorder_level").check(Expr::col("reorder_level").gte(0)))
                .col(boolean("active"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_medications_presentation",
            "medications",
            &["generic_name", "dosage_form", "route", "strength", "strength_unit"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("stock_lots")
                .col(pk_uuid("id"))
                .col(uuid("medication_id"))
                .col(uuid("facility_id"))
                .col(string_len("lot_number", 64))
                .col(date("expires_on"))
                .col(string_len("supplier", 200))
                .col(big_integer("unit_cost_minor").check(Expr::col("unit_cost_minor").gte(0)))
                .col(string_len("currency", 3))
                .col(integer("on_hand").check(Expr::col("on_hand").gte(0)))
                .col(uuid("received_by"))
                .col(timestamp_with_time_zone("received_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk(
                    "stock_lots",
                    "medication_id",
                    "medications",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "stock_lots",
                    "facility_id",
                    "facilities",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "ux_stock_lots_number",
            "stock_lots",
            &["medication_id", "facility_id", "lot_number"],
        ))
        .await?;
        m.create_index(index(
            "ix_stock_lots_expiry",
            "stock_lots",
            &["medication_id", "facility_id", "expires_on"],
        ))
        .await?;
        let positive = || Expr::col("quantity").gt(0);
        let negative = || Expr::col("quantity").lt(0);
        m.create_table(
            Table::create()
                .table("stock_movements")
                .col(pk_uuid("id"))
                .col(uuid("lot_id"))
                .col(uuid("medication_id"))
                .col(uuid("facility_id"))
                .col(string_len("kind", 32).check(one_of(
                    "kind",
                    &["receipt", "dispense", "return", "adjustment", "disposal"],
                )))
                .col(integer("quantity"))
                .col(string_len_null("reason", 32))
                .col(text("note"))
                .col(uuid_null("prescription_id"))
                .col(integer("on_hand_after").check(Expr::col("on_hand_after").gte(0)))
                .col(uuid("recorded_by"))
                .col(timestamp_with_time_zone("recorded_at"))
                // Receipts and returns add, dispenses and disposals take away,
                // adjustments either way; none is zero.
                .check(
                    (one_of("kind", &["receipt", "return"]).and(positive()))
                        .or(one_of("kind", &["dispense", "disposal"]).and(negative()))
                        .or(Expr::col("kind").eq("adjustment").and(Expr::col("quantity").ne(0))),
                )
                .check(
                    Expr::col("kind")
                        .is_in(["adjustment", "disposal", "return"])
                        .not()
                        .or(Expr::col("reason").is_not_null()),
                )
                .foreign_key(&mut fk(
                    "stock_movements",
                    "lot_id",
                    "stock_lots",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_stock_movements_medication",
            "stock_movements",
            &["medication_id", "recorded_at"],
        ))
        .await?;
        m.create_index(index("ix_stock_movements_lot", "stock_movements", &["lot_id"]))
            .await?;
        m.create_index(index(
            "ix_stock_movements_prescription",
            "stock_movements",
            &["prescription_id"],
        ))
        .await?;
        let db = m.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION stock_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN RAISE EXCEPTION 'the stock ledger is append-only: record a correcting movement'; END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER stock_movements_append_only BEFORE UPDATE OR DELETE ON stock_movements \
                     FOR EACH ROW EXECUTE FUNCTION stock_ledger_append_only()",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER stock_movements_no_truncate BEFORE TRUNCATE ON stock_movements \
                     FOR EACH STATEMENT EXECUTE FUNCTION stock_ledger_append_only()",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER stock_lots_never_deleted BEFORE DELETE ON stock_lots \
                     FOR EACH ROW EXECUTE FUNCTION stock_ledger_append_only()",
                )
                .await?;
            }
            _ => {
                for (name, event, table) in [
                    ("stock_movements_no_update", "UPDATE", "stock_movements"),
                    ("stock_movements_no_delete", "DELETE", "stock_movements"),
                    ("stock_lots_never_deleted", "DELETE", "stock_lots"),
                ] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} BEFORE {event} ON {table} \
                         BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only: record a correcting movement'); END"
                    ))
                    .await?;
                }
                db.execute_unprepared(
                    "CREATE TRIGGER stock_movements_no_replace BEFORE INSERT ON stock_movements \
                     WHEN EXISTS (SELECT 1 FROM stock_movements WHERE id = NEW.id) \
                     BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only: record a correcting movement'); END",
                )
                .await?;
            }
        }
        Ok(())
    }
}
