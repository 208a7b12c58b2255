//! The job queue: rows of `jobs`, claimed under leases.
//!
//! A job is enqueued inside the transaction of the change that causes it
//! ([`enqueue`] takes a [`Tx`]), so the two commit together or not at all.
//! Workers [`claim`] due jobs: on PostgreSQL with `FOR UPDATE SKIP LOCKED`
//! (nodes never wait for each other nor take the same job), on SQLite inside
//! the write transaction, which SQLite serialises. A claim is a lease: a
//! worker that dies leaves its job `running` until the lease expires, when
//! the next claim takes it again. Finishing or failing checks that the
//! worker still holds the lease.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{
    Expr, ExprTrait, LockBehavior, LockType, OnConflict, Order, Query, SelectStatement, UpdateStatement,
};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, IntoActiveModel};
use uuid::Uuid;

use super::entities::{delivery, job};
use super::{DbResult, PageRequest, Paged, Tx, fetch_page};
use crate::domain::{JobKind, JobStatus};

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: JobKind,
    /// A JSON object naming what the job is about.
    pub payload: serde_json::Value,
    /// Not before this instant.
    pub run_at: DateTime<Utc>,
    /// At most one live job has this key (`None`: no such rule).
    pub unique_key: Option<String>,
    pub appointment_id: Option<Uuid>,
    /// Attempts before the job is dead.
    pub max_attempts: i32,
}

/// Enqueue `job` in the caller's transaction; its id, or `None` (and
/// nothing written) when a live job already has its unique key.
pub async fn enqueue(tx: &Tx, job: NewJob, now: DateTime<Utc>) -> DbResult<Option<Uuid>> {
    let id = Uuid::now_v7();
    let insert = Query::insert()
        .into_table("jobs")
        .columns([
            "id",
            "kind",
            "payload",
            "unique_key",
            "status",
            "run_at",
            "attempts",
            "max_attempts",
            "appointment_id",
            "created_at",
            "updated_at",
        ])
        .values_panic([
            id.into(),
            job.kind.as_str().into(),
            job.payload.to_string().into(),
            job.unique_key.into(),
            JobStatus::Queued.as_str().into(),
            job.run_at.into(),
            0.into(),
            job.max_attempts.into(),
            job.appointment_id.into(),
            now.into(),
            now.into(),
        ])
        .on_conflict(
            OnConflict::column("unique_key")
                // Literal, as the index says it: SQLite matches the predicate by its text.
                .target_and_where(Expr::cust("status <> 'cancelled'"))
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    Ok((tx.execute(&insert).await?.rows_affected() == 1).then_some(id))
}

/// Cancel the queued jobs of `kinds` about `appointment` (a reminder of an
/// appointment that moved or ended). Jobs already running finish, and check
/// the appointment themselves. Returns how many were cancelled.
pub async fn cancel_queued(tx: &Tx, appointment: Uuid, kinds: &[JobKind], now: DateTime<Utc>) -> DbResult<u64> {
    let update = Query::update()
        .table("jobs")
        .values([
            ("status", JobStatus::Cancelled.as_str().into()),
            ("updated_at", now.into()),
            ("finished_at", now.into()),
        ])
        .and_where(Expr::col("appointment_id").eq(appointment))
        .and_where(Expr::col("status").eq(JobStatus::Queued.as_str()))
        .and_where(Expr::col("kind").is_in(kinds.iter().map(|k| k.as_str())))
        .to_owned();
    Ok(tx.execute(&update).await?.rows_affected())
}

/// The condition of a job a claim may take at `now`: queued and due, or
/// running under an expired lease.
fn claimable(now: DateTime<Utc>) -> sea_orm::sea_query::SimpleExpr {
    Expr::col("status")
        .eq(JobStatus::Queued.as_str())
        .and(Expr::col("run_at").lte(now))
        .or(Expr::col("status")
            .eq(JobStatus::Running.as_str())
            .and(Expr::col("lease_expires_at").lte(now)))
}

/// Whether any job may be claimed at `now` (a read, so an idle worker
/// takes no write lock).
pub async fn any_due(db: &impl ConnectionTrait, now: DateTime<Utc>) -> DbResult<bool> {
    let query = Query::select()
        .column("id")
        .from("jobs")
        .cond_where(claimable(now))
        .limit(1)
        .to_owned();
    Ok(db.query_one(&query).await?.is_some())
}

/// A claimed job: the row, and the lease under which it runs.
#[derive(Debug, Clone)]
pub struct Lease {
    pub job: job::Model,
    /// The claiming worker.
    pub owner: String,
}

/// Claim up to `limit` due jobs for `owner` for `lease`: queued jobs whose
/// time has come, and running jobs whose lease expired (their worker died),
/// oldest first. A job whose lease expired on its last attempt is dead.
pub async fn claim(tx: &Tx, owner: &str, now: DateTime<Utc>, lease: TimeDelta, limit: u64) -> DbResult<Vec<Lease>> {
    let backend = tx.get_database_backend();
    let expired = || {
        Expr::col("status")
            .eq(JobStatus::Running.as_str())
            .and(Expr::col("lease_expires_at").lte(now))
    };
    let buried = Query::update()
        .table("jobs")
        .values(released(JobStatus::Dead, now))
        .value("last_error", "the worker's lease expired during the last attempt")
        .and_where(expired())
        .and_where(Expr::col("attempts").gte(Expr::col("max_attempts")))
        .to_owned();
    tx.execute(&buried).await?;
    let mut due: SelectStatement = Query::select()
        .column("id")
        .from("jobs")
        .cond_where(claimable(now))
        .order_by("run_at", Order::Asc)
        .limit(limit)
        .to_owned();
    if backend == DbBackend::Postgres {
        due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let claim = Query::update()
        .table("jobs")
        .values([
            ("status", JobStatus::Running.as_str().into()),
            ("lease_owner", owner.into()),
            ("lease_expires_at", (now + lease).into()),
            ("updated_at", now.into()),
        ])
        .value("attempts", Expr::col("attempts").add(1))
        .and_where(Expr::col("id").in_subquery(due))
        .returning_all()
        .to_owned();
    let rows = job::Model::find_by_statement(backend.build(&claim)).all(tx).await?;
    Ok(rows
        .into_iter()
        .map(|job| Lease {
            job,
            owner: owner.to_owned(),
        })
        .collect())
}

/// The columns of a job that leaves `running` for `status`.
fn released(status: JobStatus, now: DateTime<Utc>) -> Vec<(&'static str, sea_orm::sea_query::SimpleExpr)> {
    let finished = matches!(status, JobStatus::Succeeded | JobStatus::Dead | JobStatus::Cancelled);
    vec![
        ("status", status.as_str().into()),
        ("lease_owner", Option::<String>::None.into()),
        ("lease_expires_at", Option::<DateTime<Utc>>::None.into()),
        ("updated_at", now.into()),
        ("finished_at", if finished { Some(now) } else { None }.into()),
    ]
}

/// `UPDATE jobs … WHERE` the lease is still `lease`'s.
fn under_lease(lease: &Lease, values: Vec<(&'static str, sea_orm::sea_query::SimpleExpr)>) -> UpdateStatement {
    Query::update()
        .table("jobs")
        .values(values)
        .and_where(Expr::col("id").eq(lease.job.id))
        .and_where(Expr::col("status").eq(JobStatus::Running.as_str()))
        .and_where(Expr::col("lease_owner").eq(lease.owner.as_str()))
        .to_owned()
}

/// End a job as `status` (succeeded or cancelled), with `note` as its last
/// word. `false` when the lease was lost (another worker has the job now):
/// the caller's transaction must then be rolled back.
pub async fn finish(
    tx: &Tx,
    lease: &Lease,
    status: JobStatus,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let mut update = under_lease(lease, released(status, now));
    update.value("last_error", note.map(str::to_owned));
    Ok(tx.execute(&update).await?.rows_affected() == 1)
}

/// Record a failed attempt: queued again at `retry_at`, or dead when
/// `retry_at` is `None`. `false` when the lease was lost.
pub async fn fail(
    tx: &Tx,
    lease: &Lease,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let status = if retry_at.is_some() {
        JobStatus::Queued
    } else {
        JobStatus::Dead
    };
    let mut update = under_lease(lease, released(status, now));
    update.value("last_error", error);
    if let Some(at) = retry_at {
        update.value("run_at", at);
    }
    Ok(tx.execute(&update).await?.rows_affected() == 1)
}

/// Queue a dead or cancelled job again, now, with a fresh count of
/// attempts. `None` when there is no such job; `Some(false)` when it is not
/// dead or cancelled (or a live job has its unique key meanwhile).
pub async fn retry(tx: &Tx, id: Uuid, now: DateTime<Utc>) -> DbResult<Option<bool>> {
    let Some(found) = super::find_by_id::<job::Entity>(tx, id).await? else {
        return Ok(None);
    };
    if !matches!(found.status, JobStatus::Dead | JobStatus::Cancelled) {
        return Ok(Some(false));
    }
    if let Some(key) = &found.unique_key {
        let live = Query::select()
            .column("id")
            .from("jobs")
            .and_where(Expr::col("unique_key").eq(key.as_str()))
            .and_where(Expr::col("status").ne(JobStatus::Cancelled.as_str()))
            .and_where(Expr::col("id").ne(id))
            .to_owned();
        if tx
            .query_one_raw(tx.get_database_backend().build(&live))
            .await?
            .is_some()
        {
            return Ok(Some(false));
        }
    }
    let update = Query::update()
        .table("jobs")
        .values(released(JobStatus::Queued, now))
        .values([("run_at", now.into()), ("attempts", 0.into())])
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    tx.execute(&update).await?;
    Ok(Some(true))
}

/// Filters of the job list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub kind: Option<JobKind>,
    pub status: Option<JobStatus>,
    pub appointment: Option<Uuid>,
}

/// A page of jobs, newest first.
pub async fn list(db: &impl ConnectionTrait, filter: &JobFilter, page: PageRequest) -> DbResult<Paged<job::Model>> {
    let mut query = Query::select();
    query.column(sea_orm::sea_query::Asterisk).from("jobs");
    if let Some(kind) = filter.kind {
        query.and_where(Expr::col("kind").eq(kind.as_str()));
    }
    if let Some(status) = filter.status {
        query.and_where(Expr::col("status").eq(status.as_str()));
    }
    if let Some(appointment) = filter.appointment {
        query.and_where(Expr::col("appointment_id").eq(appointment));
    }
    let order = [super::Sort {
        column: "created_at",
        descending: true,
    }];
    fetch_page(db, query, &order, "id", page).await
}

/// A job by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<job::Model>> {
    super::find_by_id::<job::Entity>(db, id).await
}

/// Append delivery attempts.
pub async fn log_deliveries(tx: &Tx, rows: Vec<delivery::Model>) -> DbResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    delivery::Entity::insert_many(rows.into_iter().map(|r| r.into_active_model()))
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

/// The delivery attempts of a job, oldest first.
pub async fn deliveries(db: &impl ConnectionTrait, job: Uuid) -> DbResult<Vec<delivery::Model>> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    Ok(delivery::Entity::find()
        .filter(delivery::Column::JobId.eq(job))
        .order_by_asc(delivery::Column::At)
        .all(db)
        .await?)
}
