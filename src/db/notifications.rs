//! In-app notifications, and who is told about an appointment.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query};
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, IntoActiveModel};
use uuid::Uuid;

use super::entities::notification;
use super::{DbResult, PageRequest, Paged, Sort, Tx, fetch_page};

/// Store notifications (in the transaction of what they tell of).
pub async fn insert(tx: &Tx, rows: Vec<notification::Model>) -> DbResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    for row in &rows {
        tx.announce(super::live::Signal::User(row.user_id));
    }
    notification::Entity::insert_many(rows.into_iter().map(|r| r.into_active_model()))
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

/// A page of `user`'s notifications, unread first, newest first within each,
/// and how many are unread.
pub async fn list(
    db: &impl ConnectionTrait,
    user: Uuid,
    unread_only: bool,
    page: PageRequest,
) -> DbResult<(Paged<notification::Model>, u64)> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from("notifications")
        .and_where(Expr::col("user_id").eq(user));
    if unread_only {
        query.and_where(Expr::col("read_at").is_null());
    }
    let order = [
        Sort {
            column: "CASE WHEN read_at IS NULL THEN 0 ELSE 1 END",
            descending: false,
        },
        Sort {
            column: "created_at",
            descending: true,
        },
    ];
    let found = fetch_page(db, query, &order, "id", page).await?;
    Ok((found, unread(db, user).await?))
}

/// How many of `user`'s notifications are unread.
pub async fn unread(db: &impl ConnectionTrait, user: Uuid) -> DbResult<u64> {
    let count = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from("notifications")
        .and_where(Expr::col("user_id").eq(user))
        .and_where(Expr::col("read_at").is_null())
        .to_owned();
    let n = db
        .query_one(&count)
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Mark `user`'s notification `id` read (once: a read one keeps its time).
/// `None` when `user` has no such notification.
pub async fn mark_read(tx: &Tx, user: Uuid, id: Uuid, now: DateTime<Utc>) -> DbResult<Option<notification::Model>> {
    let update = Query::update()
        .table("notifications")
        .value("read_at", now)
        .and_where(Expr::col("id").eq(id))
        .and_where(Expr::col("user_id").eq(user))
        .and_where(Expr::col("read_at").is_null())
        .to_owned();
    tx.execute(&update).await?;
    let found = super::find_by_id::<notification::Entity>(tx, id).await?;
    Ok(found.filter(|n| n.user_id == user))
}

/// Mark all of `user`'s unread notifications read; how many were.
pub async fn mark_all_read(tx: &Tx, user: Uuid, now: DateTime<Utc>) -> DbResult<u64> {
    let update = Query::update()
        .table("notifications")
        .value("read_at", now)
        .and_where(Expr::col("user_id").eq(user))
        .and_where(Expr::col("read_at").is_null())
        .to_owned();
    Ok(tx.execute(&update).await?.rows_affected())
}

/// The accounts to tell about an appointment.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Parties {
    /// The patient's login, if the patient has one.
    pub patient_user_id: Option<Uuid>,
    /// The doctor's login.
    pub doctor_user_id: Uuid,
    pub patient_first_name: String,
    pub patient_last_name: String,
    pub doctor_first_name: String,
    pub doctor_last_name: String,
    pub facility_name: String,
    /// The facility's IANA time zone.
    pub time_zone: String,
}

/// Who is told about `appointment` (`None`: no such appointment).
pub async fn parties(db: &impl ConnectionTrait, appointment: Uuid) -> DbResult<Option<Parties>> {
    let query = Query::select()
        .expr_as(Expr::col(("p", "user_id")), "patient_user_id")
        .expr_as(Expr::col(("d", "user_id")), "doctor_user_id")
        .expr_as(Expr::col(("p", "first_name")), "patient_first_name")
        .expr_as(Expr::col(("p", "last_name")), "patient_last_name")
        .expr_as(Expr::col(("u", "first_name")), "doctor_first_name")
        .expr_as(Expr::col(("u", "last_name")), "doctor_last_name")
        .expr_as(Expr::col(("f", "name")), "facility_name")
        .expr_as(Expr::col(("f", "time_zone")), "time_zone")
        .from_as("appointments", "a")
        .join_as(
            JoinType::InnerJoin,
            "patients",
            "p",
            Expr::col(("p", "id")).equals(("a", "patient_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "doctors",
            "d",
            Expr::col(("d", "id")).equals(("a", "doctor_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "users",
            "u",
            Expr::col(("u", "id")).equals(("d", "user_id")),
        )
        .join_as(
            JoinType::InnerJoin,
            "facilities",
            "f",
            Expr::col(("f", "id")).equals(("a", "facility_id")),
        )
        .and_where(Expr::col(("a", "id")).eq(appointment))
        .to_owned();
    Ok(Parties::find_by_statement(db.get_database_backend().build(&query))
        .one(db)
        .await?)
}

/// The active accounts of `role` (`receptionist`, `admin`), at
/// `facility` when given, at most 200 (whom a walk-in, a role request or
/// low stock is announced to).
pub async fn users_with_role(db: &impl ConnectionTrait, role: &str, facility: Option<Uuid>) -> DbResult<Vec<Uuid>> {
    #[derive(FromQueryResult)]
    struct Row {
        id: Uuid,
    }
    let query = Query::select()
        .column("id")
        .from("users")
        .and_where(Expr::col("role").eq(role))
        .and_where(Expr::col("is_active").eq(true))
        .and_where_option(facility.map(|f| Expr::col("facility_id").eq(f)))
        .limit(200)
        .to_owned();
    let rows = Row::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// `user`'s notifications created at or after `from`, oldest first, at most `limit`.
pub async fn since(
    db: &impl ConnectionTrait,
    user: Uuid,
    from: DateTime<Utc>,
    limit: u64,
) -> DbResult<Vec<notification::Model>> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::CreatedAt.gte(from))
        .order_by_asc(notification::Column::CreatedAt)
        .order_by_asc(notification::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// One change on a facility's day board: an appointment event, without
/// the patient (a board shows ids; details come through the audited API).
#[derive(Debug, Clone, FromQueryResult)]
pub struct BoardEvent {
    /// The appointment event's id.
    pub id: Uuid,
    pub appointment_id: Uuid,
    /// `booked`, `rescheduled`, `confirmed`, `checked_in`, …
    pub action: String,
    pub status: String,
    pub doctor_id: Uuid,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub queue_number: Option<i32>,
    pub created_at: DateTime<Utc>,
}

/// The appointment events at `facility` created at or after `from`, oldest first.
pub async fn board_since(
    db: &impl ConnectionTrait,
    facility: Uuid,
    from: DateTime<Utc>,
    limit: u64,
) -> DbResult<Vec<BoardEvent>> {
    let query = Query::select()
        .expr_as(Expr::col(("e", "id")), "id")
        .expr_as(Expr::col(("e", "appointment_id")), "appointment_id")
        .expr_as(Expr::col(("e", "action")), "action")
        .expr_as(Expr::col(("e", "to_status")), "status")
        .expr_as(Expr::col(("a", "doctor_id")), "doctor_id")
        .expr_as(Expr::col(("a", "start_at")), "start_at")
        .expr_as(Expr::col(("a", "end_at")), "end_at")
        .expr_as(Expr::col(("a", "queue_number")), "queue_number")
        .expr_as(Expr::col(("e", "created_at")), "created_at")
        .from_as("appointment_events", "e")
        .join_as(
            JoinType::InnerJoin,
            "appointments",
            "a",
            Expr::col(("a", "id")).equals(("e", "appointment_id")),
        )
        .and_where(Expr::col(("a", "facility_id")).eq(facility))
        .and_where(Expr::col(("e", "created_at")).gte(from))
        .order_by(("e", "created_at"), sea_orm::sea_query::Order::Asc)
        .order_by(("e", "id"), sea_orm::sea_query::Order::Asc)
        .limit(limit)
        .to_owned();
    Ok(BoardEvent::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?)
}

/// Give `user` the calendar-feed token of `digest` (SHA-256 hex), replacing
/// any earlier one (which then opens nothing).
pub async fn set_calendar_token(tx: &Tx, user: Uuid, digest: &str, now: DateTime<Utc>) -> DbResult<()> {
    let upsert = Query::insert()
        .into_table("calendar_tokens")
        .columns(["user_id", "token_digest", "created_at"])
        .values_panic([user.into(), digest.into(), now.into()])
        .on_conflict(
            sea_orm::sea_query::OnConflict::column("user_id")
                .update_columns(["token_digest", "created_at"])
                .value("last_used_at", Option::<DateTime<Utc>>::None)
                .to_owned(),
        )
        .to_owned();
    tx.execute(&upsert).await?;
    Ok(())
}

/// The user whose calendar-feed token has `digest`, if any.
pub async fn calendar_token_user(db: &impl ConnectionTrait, digest: &str) -> DbResult<Option<Uuid>> {
    let query = Query::select()
        .column("user_id")
        .from("calendar_tokens")
        .and_where(Expr::col("token_digest").eq(digest))
        .to_owned();
    let Some(row) = db.query_one(&query).await? else {
        return Ok(None);
    };
    Ok(Some(row.try_get::<Uuid>("", "user_id")?))
}

/// Note that `user`'s feed token was used now.
pub async fn touch_calendar_token(tx: &Tx, user: Uuid, now: DateTime<Utc>) -> DbResult<()> {
    let update = Query::update()
        .table("calendar_tokens")
        .value("last_used_at", now)
        .and_where(Expr::col("user_id").eq(user))
        .to_owned();
    tx.execute(&update).await?;
    Ok(())
}

/// The patient record of the login `user`, if any.
pub async fn patient_of_user(db: &impl ConnectionTrait, user: Uuid) -> DbResult<Option<Uuid>> {
    let query = Query::select()
        .column("id")
        .from("patients")
        .and_where(Expr::col("user_id").eq(user))
        .to_owned();
    let Some(row) = db.query_one(&query).await? else {
        return Ok(None);
    };
    Ok(Some(row.try_get::<Uuid>("", "id")?))
}
