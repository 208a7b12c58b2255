//! Bills, their lines, payments and refunds.

use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::entities::{bill, bill_line, payment, refund};
use super::{DbResult, PageRequest, Paged, Reach, Sort, Tx, fetch_page};
use crate::domain::BillStatus;

/// Filters of the bill list.
#[derive(Debug, Clone)]
pub struct BillFilter {
    /// Whose bills the caller may see.
    pub reach: Reach,
    pub patient: Option<Uuid>,
    pub facility: Option<Uuid>,
    pub appointment: Option<Uuid>,
    /// Any of these statuses (all when empty).
    pub statuses: Vec<BillStatus>,
}

const NEWEST: &[Sort] = &[
    Sort {
        column: "created_at",
        descending: true,
    },
    Sort {
        column: "id",
        descending: true,
    },
];

/// One page of bills, newest first.
pub async fn list(db: &impl ConnectionTrait, filter: &BillFilter, page: PageRequest) -> DbResult<Paged<bill::Model>> {
    let mut query = Query::select();
    query.column(Asterisk).from("bills");
    match filter.reach {
        Reach::All => {}
        Reach::Patient(patient) => {
            query.and_where(Expr::col("patient_id").eq(patient));
        }
        Reach::Facility(facility) => {
            query.and_where(Expr::col("facility_id").eq(facility));
        }
        Reach::Doctor(_) | Reach::User(_) | Reach::Nothing => {
            query.and_where(Expr::cust("1 = 0"));
        }
    }
    if let Some(patient) = filter.patient {
        query.and_where(Expr::col("patient_id").eq(patient));
    }
    if let Some(facility) = filter.facility {
        query.and_where(Expr::col("facility_id").eq(facility));
    }
    if let Some(appointment) = filter.appointment {
        query.and_where(Expr::col("appointment_id").eq(appointment));
    }
    if !filter.statuses.is_empty() {
        query.and_where(Expr::col("status").is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    fetch_page(db, query, NEWEST, "id", page).await
}

async fn all_where<M: FromQueryResult + Send + Sync>(
    db: &impl ConnectionTrait,
    table: &'static str,
    column: &'static str,
    id: Uuid,
    order: &'static str,
) -> DbResult<Vec<M>> {
    let query = Query::select()
        .column(Asterisk)
        .from(table)
        .and_where(Expr::col(column).eq(id))
        .order_by(order, Order::Asc)
        .order_by("id", Order::Asc)
        .to_owned();
    Ok(M::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?)
}

/// A bill's lines, in the order they were added.
pub async fn lines(db: &impl ConnectionTrait, bill: Uuid) -> DbResult<Vec<bill_line::Model>> {
    all_where(db, "bill_lines", "bill_id", bill, "created_at").await
}

/// A bill's payments, oldest first.
pub async fn payments(db: &impl ConnectionTrait, bill: Uuid) -> DbResult<Vec<payment::Model>> {
    all_where(db, "payments", "bill_id", bill, "received_at").await
}

/// A bill's refunds, oldest first.
pub async fn refunds_of_bill(db: &impl ConnectionTrait, bill: Uuid) -> DbResult<Vec<refund::Model>> {
    all_where(db, "refunds", "bill_id", bill, "requested_at").await
}

/// A payment's refunds, oldest first.
pub async fn refunds_of_payment(db: &impl ConnectionTrait, payment: Uuid) -> DbResult<Vec<refund::Model>> {
    all_where(db, "refunds", "payment_id", payment, "requested_at").await
}

/// The draft bill of a consultation (or of its appointment), locked, to add
/// lines to; the newest when there are several.
pub async fn draft_for_visit(tx: &Tx, consultation: Uuid, appointment: Option<Uuid>) -> DbResult<Option<bill::Model>> {
    let mut visit = Expr::col("consultation_id").eq(consultation);
    if let Some(appointment) = appointment {
        visit = visit.or(Expr::col("appointment_id").eq(appointment));
    }
    let mut query = Query::select();
    query
        .column("id")
        .from("bills")
        .and_where(visit)
        .and_where(Expr::col("status").eq(BillStatus::Draft.as_str()))
        .order_by("created_at", Order::Desc)
        .limit(1);
    #[derive(FromQueryResult)]
    struct Id {
        id: Uuid,
    }
    let found = Id::find_by_statement(tx.get_database_backend().build(&query))
        .one(tx)
        .await?;
    match found {
        Some(Id { id }) => super::find_for_update(tx, "bills", id).await,
        None => Ok(None),
    }
}

/// The live (not void) bill of an appointment, locked: there is at most one.
pub async fn live_of_appointment(tx: &Tx, appointment: Uuid) -> DbResult<Option<bill::Model>> {
    let mut query = Query::select();
    query
        .column(Asterisk)
        .from("bills")
        .and_where(Expr::col("appointment_id").eq(appointment))
        .and_where(Expr::col("status").ne(BillStatus::Void.as_str()));
    if tx.get_database_backend() == sea_orm::DbBackend::Postgres {
        query.lock(sea_orm::sea_query::LockType::Update);
    }
    Ok(bill::Model::find_by_statement(tx.get_database_backend().build(&query))
        .one(tx)
        .await?)
}

/// A bill by id, locked until the transaction ends.
pub async fn bill_for_update(tx: &Tx, id: Uuid) -> DbResult<Option<bill::Model>> {
    super::find_for_update(tx, "bills", id).await
}

/// A payment by id, locked until the transaction ends.
pub async fn payment_for_update(tx: &Tx, id: Uuid) -> DbResult<Option<payment::Model>> {
    super::find_for_update(tx, "payments", id).await
}

/// A refund by id, locked until the transaction ends.
pub async fn refund_for_update(tx: &Tx, id: Uuid) -> DbResult<Option<refund::Model>> {
    super::find_for_update(tx, "refunds", id).await
}
