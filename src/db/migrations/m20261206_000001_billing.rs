//! Billing and dispensing: each facility's currency; `dispenses` (what was
//! given out against a prescription, its lot movements pointing back to
//! it); `bills` with `bill_lines`; `payments` and `refunds`.
//!
//! The database guards the money: a bill's `paid_minor` (payments less
//! completed refunds) lies between 0 and its `total_minor`, so no payment
//! can overpay it; a payment's `refunded_minor` (completed and pending
//! refunds) never exceeds it; a void bill has nothing paid and a reason;
//! lines are added only to draft bills and never changed; payments,
//! refunds, lines and dispenses are never deleted. One live bill per
//! appointment (a partial unique index).

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

const NEVER_DELETED: &[&str] = &["dispenses", "bills", "bill_lines", "payments", "refunds"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("facilities")
                .add_column(string_len("currency", 3).default("BDT"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("dispenses")
                .col(pk_uuid("id"))
                .col(uuid("prescription_id"))
                .col(uuid("patient_id"))
                .col(uuid("medication_id"))
                .col(uuid("facility_id"))
                .col(integer("quantity").check(Expr::col("quantity").gt(0)))
                .col(uuid_null("bill_id"))
                .col(uuid("dispensed_by"))
                .col(timestamp_with_time_zone("dispensed_at"))
                .foreign_key(&mut fk(
                    "dispenses",
                    "prescription_id",
                    "prescriptions",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "dispenses",
                    "medication_id",
                    "medications",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_dispenses_prescription",
            "dispenses",
            &["prescription_id", "dispensed_at"],
        ))
        .await?;
        m.alter_table(
            Table::alter()
                .table("stock_movements")
                .add_column(uuid_null("dispense_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_stock_movements_dispense",
            "stock_movements",
            &["dispense_id"],
        ))
        .await?;

        let statuses = ["draft", "issued", "partially_paid", "paid", "void"];
        m.create_table(
            Table::create()
                .table("bills")
                .col(pk_uuid("id"))
                .col(uuid("patient_id"))
                .col(uuid("facility_id"))
                .col(uuid_null("appointment_id"))
                .col(uuid_null("consultation_id"))
                .col(string_len("currency", 3))
                .col(string_len("status", 32).check(one_of("status", &statuses)))
                .col(big_integer("total_minor").check(Expr::col("total_minor").gte(0)))
                .col(big_integer("paid_minor").check(Expr::col("paid_minor").gte(0)))
                .col(text_null("void_reason"))
                .col(integer("version"))
                .col(uuid("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("issued_at"))
                .col(timestamp_with_time_zone("updated_at"))
                // Nothing can pay more than the bill: the guard against overpayment.
                .check(Expr::col("paid_minor").lte(Expr::col("total_minor")))
                .check(
                    Expr::col("status").ne("void").or(Expr::col("paid_minor")
                        .eq(0)
                        .and(Expr::col("void_reason").is_not_null())),
                )
                .check(
                    Expr::col("status")
                        .ne("paid")
                        .or(Expr::col("paid_minor").equals("total_minor")),
                )
                .check(Expr::col("status").ne("draft").or(Expr::col("paid_minor").eq(0)))
                .foreign_key(&mut fk("bills", "patient_id", "patients", ForeignKeyAction::Restrict))
                .foreign_key(&mut fk(
                    "bills",
                    "facility_id",
                    "facilities",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "bills",
                    "appointment_id",
                    "appointments",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_bills_patient", "bills", &["patient_id", "created_at"]))
            .await?;
        m.create_index(index("ix_bills_status", "bills", &["status", "created_at"]))
            .await?;
        m.create_index(index("ix_bills_consultation", "bills", &["consultation_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("bill_lines")
                .col(pk_uuid("id"))
                .col(uuid("bill_id"))
                .col(string_len("kind", 32).check(one_of("kind", &["consultation", "service", "medication", "other"])))
                .col(string_len("description", 200))
                .col(uuid_null("service_id"))
                .col(uuid_null("dispense_id"))
                .col(uuid_null("lot_id"))
                .col(integer("quantity").check(Expr::col("quantity").gt(0)))
                .col(big_integer("unit_price_minor").check(Expr::col("unit_price_minor").gte(0)))
                .col(big_integer("discount_minor").check(Expr::col("discount_minor").gte(0)))
                .col(big_integer("amount_minor").check(Expr::col("amount_minor").gte(0)))
                .col(uuid("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                // The server computes the amount; the database holds it to the sum.
                .check(Expr::cust(
                    "amount_minor = quantity * unit_price_minor - discount_minor",
                ))
                .foreign_key(&mut fk("bill_lines", "bill_id", "bills", ForeignKeyAction::Restrict))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_bill_lines_bill", "bill_lines", &["bill_id", "created_at"]))
            .await?;

        m.create_table(
            Table::create()
                .table("payments")
                .col(pk_uuid("id"))
                .col(uuid("bill_id"))
                .col(uuid("patient_id"))
                .col(big_integer("amount_minor").check(Expr::col("amount_minor").gt(0)))
                .col(string_len("currency", 3))
                .col(string_len("method", 32).check(one_of(
                    "method",
                    &["cash", "card", "mobile_banking", "bank_transfer", "insurance"],
                )))
                .col(string_len("reference", 200))
                .col(big_integer("refunded_minor").check(Expr::col("refunded_minor").gte(0)))
                .col(uuid("received_by"))
                .col(timestamp_with_time_zone("received_at"))
                // Refunds (completed and awaiting approval) never exceed the payment.
                .check(Expr::col("refunded_minor").lte(Expr::col("amount_minor")))
                .foreign_key(&mut fk("payments", "bill_id", "bills", ForeignKeyAction::Restrict))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_payments_bill", "payments", &["bill_id", "received_at"]))
            .await?;
        m.create_index(index("ix_payments_received", "payments", &["received_at"]))
            .await?;

        m.create_table(
            Table::create()
                .table("refunds")
                .col(pk_uuid("id"))
                .col(uuid("payment_id"))
                .col(uuid("bill_id"))
                .col(big_integer("amount_minor").check(Expr::col("amount_minor").gt(0)))
                .col(string_len("currency", 3))
                .col(text("reason"))
                .col(string_len("status", 32).check(one_of("status", &["pending_approval", "completed", "rejected"])))
                .col(uuid("requested_by"))
                .col(timestamp_with_time_zone("requested_at"))
                .col(uuid_null("decided_by"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(text_null("decision_note"))
                .foreign_key(&mut fk("refunds", "payment_id", "payments", ForeignKeyAction::Restrict))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_refunds_payment", "refunds", &["payment_id", "requested_at"]))
            .await?;
        m.create_index(index("ix_refunds_bill", "refunds", &["bill_id"]))
            .await?;

        let db = m.get_connection();
        // One live bill per appointment: completing it twice, or reception
        // and the completion racing, cannot bill a visit twice.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_bills_appointment ON bills (appointment_id) \
             WHERE appointment_id IS NOT NULL AND status <> 'void'",
        )
        .await?;
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION billing_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN RAISE EXCEPTION 'billing records are never deleted: void or refund instead'; END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE FUNCTION bill_lines_on_drafts() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN \
                       IF TG_OP = 'UPDATE' THEN RAISE EXCEPTION 'bill lines are never changed'; END IF; \
                       IF (SELECT status FROM bills WHERE id = NEW.bill_id) <> 'draft' THEN \
                         RAISE EXCEPTION 'lines are added only to draft bills'; END IF; \
                       RETURN NEW; END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER bill_lines_on_drafts BEFORE INSERT OR UPDATE ON bill_lines \
                     FOR EACH ROW EXECUTE FUNCTION bill_lines_on_drafts()",
                )
                .await?;
                for table in NEVER_DELETED {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_never_deleted BEFORE DELETE ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION billing_never_deleted()"
                    ))
                    .await?;
                }
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER bill_lines_on_drafts BEFORE INSERT ON bill_lines \
                     WHEN (SELECT status FROM bills WHERE id = NEW.bill_id) IS NOT 'draft' \
                     BEGIN SELECT RAISE(ABORT, 'lines are added only to draft bills'); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER bill_lines_never_changed BEFORE UPDATE ON bill_lines \
                     BEGIN SELECT RAISE(ABORT, 'bill lines are never changed'); END",
                )
                .await?;
                for table in NEVER_DELETED {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_never_deleted BEFORE DELETE ON {table} \
                         BEGIN SELECT RAISE(ABORT, 'billing records are never deleted: void or refund instead'); END"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }
}
