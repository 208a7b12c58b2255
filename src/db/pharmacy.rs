//! The medication catalogue, stock lots and the stock ledger.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, JoinType, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::entities::{dispense, medication, stock_lot, stock_movement};
use super::{DbResult, PageRequest, Paged, Sort, Tx, contains_ci, fetch_page};

/// Filters of the catalogue.
#[derive(Debug, Clone, Default)]
pub struct MedicationFilter {
    /// Generic name, dosage form or strength containing this (case-insensitive).
    pub search: Option<String>,
    /// Only active (or inactive) items.
    pub active: Option<bool>,
    /// Only those whose usable stock (unexpired lots, at `facility` if given)
    /// is at or below their reorder level, as of `today`.
    pub below_reorder: bool,
    /// Only those with stock in a lot that expires before this day.
    pub expiring_before: Option<NaiveDate>,
    /// Stock at this facility only.
    pub facility: Option<Uuid>,
    /// The day lots expiring before it no longer count as usable.
    pub today: NaiveDate,
}

const BY_NAME: &[Sort] = &[
    Sort {
        column: "generic_name",
        descending: false,
    },
    Sort {
        column: "dosage_form",
        descending: false,
    },
    Sort {
        column: "strength",
        descending: false,
    },
];

/// One page of the catalogue, by generic name.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &MedicationFilter,
    page: PageRequest,
) -> DbResult<Paged<medication::Model>> {
    let mut query = Query::select();
    query.column(Asterisk).from("medications");
    if let Some(term) = &filter.search {
        query.and_where(
            contains_ci(Expr::col("generic_name"), term)
                .or(contains_ci(Expr::col("dosage_form"), term))
                .or(contains_ci(Expr::col("strength"), term)),
        );
    }
    if let Some(active) = filter.active {
        query.and_where(Expr::col("active").eq(active));
    }
    if filter.below_reorder {
        let mut on = Expr::col(("l", "medication_id"))
            .equals(("m", "id"))
            .and(Expr::col(("l", "expires_on")).gte(filter.today));
        if let Some(facility) = filter.facility {
            on = on.and(Expr::col(("l", "facility_id")).eq(facility));
        }
        let low = Query::select()
            .column(("m", "id"))
            .from_as("medications", "m")
            .join_as(JoinType::LeftJoin, "stock_lots", "l", on)
            .group_by_columns([
                (Alias::new("m"), Alias::new("id")),
                (Alias::new("m"), Alias::new("reorder_level")),
            ])
            .and_having(Expr::cust("COALESCE(SUM(l.on_hand), 0) <= m.reorder_level"))
            .to_owned();
        query.and_where(Expr::col("id").in_subquery(low));
    }
    if let Some(day) = filter.expiring_before {
        let mut expiring = Query::select();
        expiring
            .column("medication_id")
            .from("stock_lots")
            .and_where(Expr::col("on_hand").gt(0))
            .and_where(Expr::col("expires_on").lt(day));
        if let Some(facility) = filter.facility {
            expiring.and_where(Expr::col("facility_id").eq(facility));
        }
        query.and_where(Expr::col("id").in_subquery(expiring.to_owned()));
    }
    fetch_page(db, query, BY_NAME, "id", page).await
}

/// Usable stock (unexpired lots on `today`, at `facility` if given) of each of `ids`; absent means none.
pub async fn usable_stock(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    facility: Option<Uuid>,
    today: NaiveDate,
) -> DbResult<HashMap<Uuid, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    #[derive(FromQueryResult)]
    struct Row {
        medication_id: Uuid,
        on_hand: i64,
    }
    let mut query = Query::select();
    query
        .column("medication_id")
        .expr_as(Func::sum(Expr::col("on_hand")).cast_as("bigint"), "on_hand")
        .from("stock_lots")
        .and_where(Expr::col("medication_id").is_in(ids.iter().copied()))
        .and_where(Expr::col("expires_on").gte(today))
        .group_by_col("medication_id");
    if let Some(facility) = facility {
        query.and_where(Expr::col("facility_id").eq(facility));
    }
    let rows = Row::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.medication_id, r.on_hand)).collect())
}

/// A catalogue item by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<medication::Model>> {
    super::find_by_id::<medication::Entity>(db, id).await
}

/// Insert a catalogue item; a second of the same presentation fails with
/// [`super::DbError::Unique`] (`ux_medications_presentation`).
pub async fn insert(tx: &Tx, row: medication::Model) -> DbResult<()> {
    super::insert_row::<medication::ActiveModel>(tx, row).await
}

/// Write every column of a changed catalogue item.
pub async fn update(tx: &Tx, row: medication::Model) -> DbResult<medication::Model> {
    super::update_row::<medication::ActiveModel>(tx, row).await
}

/// The lots of a medication (at `facility` if given), first expiry first.
pub async fn lots(
    db: &impl ConnectionTrait,
    medication: Uuid,
    facility: Option<Uuid>,
) -> DbResult<Vec<stock_lot::Model>> {
    let mut query = Query::select();
    query
        .column(Asterisk)
        .from("stock_lots")
        .and_where(Expr::col("medication_id").eq(medication))
        .order_by("expires_on", Order::Asc)
        .order_by("received_at", Order::Asc)
        .order_by("id", Order::Asc);
    if let Some(facility) = facility {
        query.and_where(Expr::col("facility_id").eq(facility));
    }
    Ok(
        stock_lot::Model::find_by_statement(db.get_database_backend().build(&query))
            .all(db)
            .await?,
    )
}

/// A lot by id, locked until the transaction ends.
pub async fn lot_for_update(tx: &Tx, id: Uuid) -> DbResult<Option<stock_lot::Model>> {
    super::find_for_update(tx, "stock_lots", id).await
}

/// Insert a lot with nothing on hand (its receipt is a movement,
/// [`apply`]); a second lot number of the same medication at the facility
/// fails with [`super::DbError::Unique`] (`ux_stock_lots_number`).
pub async fn insert_lot(tx: &Tx, row: stock_lot::Model) -> DbResult<()> {
    super::insert_row::<stock_lot::ActiveModel>(tx, row).await
}

/// Append `movement` to the ledger and add its quantity to its lot's
/// on-hand, in `tx`; `movement.on_hand_after` is set here. Stock below zero
/// fails with [`super::DbError::Check`] (the lot's `CHECK (on_hand >= 0)`):
/// the database is the guard, whatever the caller checked before.
pub async fn apply(tx: &Tx, mut movement: stock_movement::Model) -> DbResult<stock_movement::Model> {
    let update = Query::update()
        .table("stock_lots")
        .value("on_hand", Expr::col("on_hand").add(movement.quantity))
        .value("updated_at", movement.recorded_at)
        .and_where(Expr::col("id").eq(movement.lot_id))
        .returning_col("on_hand")
        .to_owned();
    let row = tx.query_one(&update).await?.ok_or(super::DbError::NotFound)?;
    movement.on_hand_after = row.try_get::<i32>("", "on_hand")?;
    super::insert_row::<stock_movement::ActiveModel>(tx, movement.clone()).await?;
    Ok(movement)
}

/// The lots of `medication` at `facility` that can be dispensed on `today`
/// (unexpired, something on hand), first expiry first, locked until the
/// transaction ends. PostgreSQL re-reads a row it waited for, so a lot
/// emptied by a concurrent dispense drops out here.
pub async fn dispensable_lots(
    tx: &Tx,
    medication: Uuid,
    facility: Uuid,
    today: NaiveDate,
) -> DbResult<Vec<stock_lot::Model>> {
    let mut query = Query::select();
    query
        .column(Asterisk)
        .from("stock_lots")
        .and_where(Expr::col("medication_id").eq(medication))
        .and_where(Expr::col("facility_id").eq(facility))
        .and_where(Expr::col("expires_on").gte(today))
        .and_where(Expr::col("on_hand").gt(0))
        .order_by("expires_on", Order::Asc)
        .order_by("received_at", Order::Asc)
        .order_by("id", Order::Asc);
    if tx.get_database_backend() == sea_orm::DbBackend::Postgres {
        query.lock(sea_orm::sea_query::LockType::Update);
    }
    Ok(
        stock_lot::Model::find_by_statement(tx.get_database_backend().build(&query))
            .all(tx)
            .await?,
    )
}

/// Units dispensed against `prescription` less those returned (from `lot` only, if given).
pub async fn net_dispensed(db: &impl ConnectionTrait, prescription: Uuid, lot: Option<Uuid>) -> DbResult<i64> {
    let mut query = Query::select();
    query
        .expr_as(Expr::cust("COALESCE(SUM(quantity), 0)").cast_as("bigint"), "net")
        .from("stock_movements")
        .and_where(Expr::col("prescription_id").eq(prescription))
        .and_where(Expr::col("kind").is_in(["dispense", "return"]));
    if let Some(lot) = lot {
        query.and_where(Expr::col("lot_id").eq(lot));
    }
    let row = db.query_one(&query).await?;
    let net: i64 = row.map(|r| r.try_get("", "net")).transpose()?.unwrap_or(0);
    Ok(-net)
}

/// One lot's part of a dispense.
#[derive(Debug, Clone, FromQueryResult)]
pub struct DispenseLine {
    pub movement_id: Uuid,
    pub lot_id: Uuid,
    pub lot_number: String,
    pub expires_on: NaiveDate,
    /// Units from this lot (positive).
    pub quantity: i32,
}

/// The lots dispenses `ids` took from, first expiry first.
pub async fn dispense_lines(db: &impl ConnectionTrait, ids: &[Uuid]) -> DbResult<Vec<(Uuid, DispenseLine)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(FromQueryResult)]
    struct Row {
        dispense_id: Uuid,
        movement_id: Uuid,
        lot_id: Uuid,
        lot_number: String,
        expires_on: NaiveDate,
        quantity: i32,
    }
    let query = Query::select()
        .column(("m", "dispense_id"))
        .expr_as(Expr::col(("m", "id")), "movement_id")
        .column(("m", "lot_id"))
        .column(("l", "lot_number"))
        .column(("l", "expires_on"))
        .expr_as(Expr::col(("m", "quantity")).mul(-1), "quantity")
        .from_as("stock_movements", "m")
        .join_as(
            JoinType::InnerJoin,
            "stock_lots",
            "l",
            Expr::col(("l", "id")).equals(("m", "lot_id")),
        )
        .and_where(Expr::col(("m", "dispense_id")).is_in(ids.iter().copied()))
        .order_by(("l", "expires_on"), Order::Asc)
        .order_by(("m", "id"), Order::Asc)
        .to_owned();
    let rows = Row::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.dispense_id,
                DispenseLine {
                    movement_id: r.movement_id,
                    lot_id: r.lot_id,
                    lot_number: r.lot_number,
                    expires_on: r.expires_on,
                    quantity: r.quantity,
                },
            )
        })
        .collect())
}

/// The dispenses of a prescription, oldest first.
pub async fn dispenses_of(db: &impl ConnectionTrait, prescription: Uuid) -> DbResult<Vec<dispense::Model>> {
    let query = Query::select()
        .column(Asterisk)
        .from("dispenses")
        .and_where(Expr::col("prescription_id").eq(prescription))
        .order_by("dispensed_at", Order::Asc)
        .order_by("id", Order::Asc)
        .to_owned();
    Ok(
        dispense::Model::find_by_statement(db.get_database_backend().build(&query))
            .all(db)
            .await?,
    )
}

/// Newest first; ids (UUIDv7, time-ordered) break ties within an instant.
const NEWEST: &[Sort] = &[
    Sort {
        column: "recorded_at",
        descending: true,
    },
    Sort {
        column: "id",
        descending: true,
    },
];

/// One page of a medication's movements, newest first.
pub async fn movements(
    db: &impl ConnectionTrait,
    medication: Uuid,
    page: PageRequest,
) -> DbResult<Paged<stock_movement::Model>> {
    let mut query = Query::select();
    query
        .column(Asterisk)
        .from("stock_movements")
        .and_where(Expr::col("medication_id").eq(medication));
    fetch_page(db, query, NEWEST, "id", page).await
}
