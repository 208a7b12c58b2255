//! The database: one code path for SQLite (default) and PostgreSQL.
//!
//! Entities are in [`entities`], migrations in [`migrations`], queries one
//! file per area. Nothing here knows about HTTP.

pub mod appointments;
pub mod audit;
pub mod billing;
pub mod clinical_versions;
pub mod consultations;
pub mod diagnoses;
pub mod directory;
pub mod entities;
pub mod entries;
pub mod error;
pub mod health;
pub mod idempotency;
pub mod ids;
pub mod jobs;
pub mod live;
pub mod migrations;
pub mod notifications;
pub mod patients;
pub mod pharmacy;
pub mod reports;
pub mod role_requests;
pub mod roles;
pub mod schedules;
pub mod security;
pub mod telemedicine;
pub mod users;
pub mod views;
pub mod vital_signs;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use uuid::Uuid;

pub use error::{DbError, DbResult};
use migrations::Migrator;

/// A connection pool to SQLite or PostgreSQL, and what is known of the
/// server's health ([`health`]).
///
/// On SQLite, writes go through one connection of their own (`writer`, a
/// pool of one: waiting writers queue on it in order, in process), reads
/// through the pool; SQLite's busy timeout is then only for other processes
/// (a `carebook` command run beside the server). On PostgreSQL both are the
/// one pool. Audit events of reads and refusals are group-committed
/// ([`audit::GroupCommit`]).
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
    writer: DatabaseConnection,
    health: Arc<health::Health>,
    audit: audit::GroupCommit,
    views: Arc<views::Views>,
    live: live::Live,
    /// Held by every clone the application holds; the background tasks
    /// (which hold clones without it) stop when the last is dropped.
    life: Arc<()>,
}

impl Db {
    /// Connect to `url` (`sqlite://PATH` or `postgres://…`).
    ///
    /// SQLite: the file is created if missing; WAL journal, foreign keys on,
    /// 10 s busy timeout (for other processes); a read pool of
    /// `max_connections` (default 8) and one write connection. PostgreSQL: a
    /// pool of `max_connections` (default 20).
    pub async fn connect(url: &str, max_connections: Option<u32>) -> DbResult<Db> {
        let sqlite = url.starts_with("sqlite:");
        let pool = |size: u32| {
            let mut options = ConnectOptions::new(url);
            options
                .max_connections(size)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .sqlx_logging(false);
            if sqlite {
                options.map_sqlx_sqlite_opts(|opts| {
                    opts.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(10))
                });
            }
            options
        };
        let size = max_connections.unwrap_or(if sqlite { 8 } else { 20 });
        let (conn, writer) = if sqlite {
            create_private_file(url)?;
            let writer = Database::connect(pool(1)).await?;
            (Database::connect(pool(size)).await?, writer)
        } else {
            let conn = Database::connect(pool(size)).await?;
            (conn.clone(), conn)
        };
        let health = Arc::new(health::Health::default());
        if !sqlite {
            health::watch(url.to_owned(), &health);
        }
        let mut db = Db {
            conn,
            writer,
            health,
            audit: audit::GroupCommit::default(),
            views: Arc::default(),
            live: if sqlite {
                live::Live::sqlite()
            } else {
                live::Live::default()
            },
            life: Arc::default(),
        };
        let life = Arc::downgrade(&db.life);
        if !sqlite {
            live::listen(url.to_owned(), db.live.clone(), life.clone());
        }
        let for_tasks = Db {
            life: Arc::default(),
            ..db.clone()
        };
        views::watch(for_tasks.clone(), life, (!sqlite).then(|| url.to_owned()));
        db.audit = audit::GroupCommit::start(for_tasks);
        Ok(db)
    }

    /// The active user `id` in live session `sid` (with their patient record
    /// or doctor profile), from this node's view ([`views`]); `None` if the
    /// user is not active or the session was revoked.
    ///
    /// Errors: the database could not be read.
    pub async fn actor(&self, id: Uuid, sid: Uuid) -> DbResult<Option<users::ActorRow>> {
        self.views.actor(&self.conn, id, sid).await
    }

    /// Whether the database is known to be down (requests should answer 503 at once).
    pub fn is_down(&self) -> bool {
        self.health.is_down()
    }

    /// Report that a request failed for want of a database, so that the
    /// health watcher checks now.
    pub fn suspect_outage(&self) {
        self.health.suspect();
    }

    /// Whether the database is up and answers a trivial query within a second.
    pub async fn ready(&self) -> bool {
        if self.is_down() {
            return false;
        }
        let answered = tokio::time::timeout(health::CHECK_TIMEOUT, self.ping()).await;
        let ready = matches!(answered, Ok(Ok(())));
        if !ready {
            self.suspect_outage();
        }
        ready
    }

    /// The pool, for sea-orm queries.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Which database this is.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// This node's live signals ([`live`]), for streams to subscribe to.
    pub fn live(&self) -> &live::Live {
        &self.live
    }

    /// This node's views ([`views`]): the doctors' rules, the actors.
    pub fn views(&self) -> &views::Views {
        &self.views
    }

    /// Begin a write transaction: the only way to change data (every write
    /// function of this module takes a [`Tx`]).
    ///
    /// On SQLite it runs on the one write connection (writers of this process
    /// wait for it in turn) and is `BEGIN IMMEDIATE`: the write lock is taken
    /// at once, so the reads inside see the state the write will be applied
    /// to, and a writer of another process makes it wait on the busy timeout
    /// instead of failing mid-way.
    pub async fn begin_write(&self) -> DbResult<Tx> {
        let mut options = TransactionOptions::default();
        if self.backend() == DbBackend::Sqlite {
            options.sqlite_transaction_mode = Some(SqliteTransactionMode::Immediate);
        }
        Ok(Tx {
            inner: self.writer.begin_with_options(options).await?,
            views: Arc::clone(&self.views),
            invalidated: std::sync::Mutex::new(Vec::new()),
            live: self.live.clone(),
            announced: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Store the audit events of a request that changed nothing (a read, a
    /// refusal), group-committed with other requests' events: returns once
    /// they are durable.
    ///
    /// Errors: the database refused or could not store them.
    pub async fn record(&self, events: Vec<crate::db::entities::audit_event::Model>) -> DbResult<()> {
        self.audit.record(events).await
    }

    /// Apply pending migrations. Safe when several nodes start at once: on
    /// PostgreSQL they queue on an advisory lock, on SQLite on the write lock.
    /// With none pending nothing is written, so a node may run as a database
    /// role that cannot change the schema ([`roles::grant_runtime`]).
    pub async fn migrate(&self) -> DbResult<()> {
        if !self.migrations_pending().await {
            return Ok(());
        }
        let tx = self.begin_write().await?;
        if self.backend() == DbBackend::Postgres {
            // Arbitrary constant: "carebook" in ASCII.
            tx.execute_unprepared("SELECT pg_advisory_xact_lock(7161130590627749739)")
                .await?;
        }
        Migrator::up(&tx.inner, None).await?;
        Ok(tx.inner.commit().await?)
    }

    /// Whether a migration of this build is not applied yet (or the
    /// migrations table cannot be read, which [`Db::migrate`] then reports).
    async fn migrations_pending(&self) -> bool {
        let read = Statement::from_string(self.backend(), "SELECT version FROM seaql_migrations");
        let Ok(rows) = self.conn.query_all_raw(read).await else {
            return true;
        };
        let applied: std::collections::HashSet<String> = rows
            .iter()
            .filter_map(|row| row.try_get::<String>("", "version").ok())
            .collect();
        Migrator::migrations()
            .iter()
            .any(|migration| !applied.contains(migration.name()))
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> DbResult<()> {
        self.conn
            .query_one_raw(Statement::from_string(self.backend(), "SELECT 1"))
            .await?;
        Ok(())
    }
}

/// Create the SQLite file of `url` readable by its owner only (0600) if it
/// does not exist; SQLite gives its `-wal` and `-shm` files the same mode.
/// An existing file that others can read is left as it is, with a warning.
fn create_private_file(url: &str) -> DbResult<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(meta) = std::fs::metadata(path)
                    && meta.permissions().mode() & 0o077 != 0
                {
                    tracing::warn!(path, "the database file can be read by other users: chmod 600 it");
                }
            }
            Ok(())
        }
        Err(err) => Err(DbError::Other(DbErr::Custom(format!("creating {path}: {err}")))),
    }
}

/// A write transaction ([`Db::begin_write`]). Committing it writes the
/// current request's audit event inside it ([`audit`]), so a change and its
/// event are stored together or not at all. Dropped uncommitted, it rolls back.
pub struct Tx {
    inner: DatabaseTransaction,
    views: Arc<views::Views>,
    invalidated: std::sync::Mutex<Vec<views::Invalidation>>,
    live: live::Live,
    announced: std::sync::Mutex<Vec<live::Signal>>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tx")
    }
}

impl Tx {
    /// Commit the change with the request's event (outcome `allowed`).
    ///
    /// Errors: the event or the commit failed; nothing is stored.
    pub async fn commit(self) -> DbResult<()> {
        self.finish(None).await
    }

    /// Commit the bookkeeping of a refusal (a failed login's counter) with the
    /// request's event as a denial answered with `status`.
    pub async fn commit_refused(self, status: u16) -> DbResult<()> {
        self.finish(Some(status)).await
    }

    /// Note that this change makes `change` stale in this node's views
    /// ([`views`]): forgotten at commit. (Other nodes learn it from the
    /// database's triggers.)
    pub fn invalidate(&self, change: views::Invalidation) {
        self.invalidated
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(change);
    }

    /// Announce `signal` to the open streams of every node if this change
    /// commits ([`live`]).
    pub fn announce(&self, signal: live::Signal) {
        let mut announced = self.announced.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !announced.contains(&signal) {
            announced.push(signal);
        }
    }

    async fn finish(self, refused: Option<u16>) -> DbResult<()> {
        let announced = std::mem::take(&mut *self.announced.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let postgres = self.get_database_backend() == DbBackend::Postgres;
        if postgres {
            for signal in &announced {
                let notify = Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [live::CHANNEL.into(), signal.payload().into()],
                );
                self.inner.execute_raw(notify).await?;
            }
        }
        let events = audit::for_commit(refused);
        let stored = events.is_some();
        if let Some(events) = events {
            audit::insert(&self, events).await?;
        }
        let invalidated = std::mem::take(
            &mut *self
                .invalidated
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let views = Arc::clone(&self.views);
        let live = self.live.clone();
        self.inner.commit().await?;
        for change in invalidated {
            views.apply(change);
        }
        if !postgres {
            for signal in announced {
                live.publish(signal);
            }
        }
        if stored {
            audit::mark_written();
        }
        Ok(())
    }
}

#[async_trait]
impl ConnectionTrait for Tx {
    fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.inner.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.inner.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.inner.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.inner.query_all_raw(stmt).await
    }
}

/// How far a list reaches for the caller, as the policy decides
/// ([`crate::auth::policy::reach`]); each list reads it for its own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every row.
    All,
    /// Rows about this patient (for the patient list: this patient's record).
    Patient(Uuid),
    /// Rows of this doctor (for the patient list: patients with an appointment with them).
    Doctor(Uuid),
    /// Rows at this facility (for the patient list: patients seen there).
    Facility(Uuid),
    /// Rows of this user (their own requests).
    User(Uuid),
    /// No row.
    Nothing,
}

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, Order, Query, SelectStatement, SimpleExpr};
use sea_orm::{ActiveModelTrait, EntityTrait, FromQueryResult, IntoActiveModel};

/// Insert a complete row, writing every column.
pub async fn insert_row<A>(tx: &Tx, row: <A::Entity as EntityTrait>::Model) -> DbResult<()>
where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    <A::Entity as EntityTrait>::insert(row.into_active_model().reset_all())
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

/// Write every column of a changed row.
pub async fn update_row<A>(
    tx: &Tx,
    row: <A::Entity as EntityTrait>::Model,
) -> DbResult<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + sea_orm::ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    Ok(row.into_active_model().reset_all().update(tx).await?)
}

/// Refuse a write that would repeat a unique value: the first of `columns`
/// (column, value) whose value another row of `table` (not `except`)
/// already holds is [`DbError::Unique`] (`table.column`, as SQLite names it).
/// Checked inside the write's transaction before the write, so the common
/// clash raises no database error — PostgreSQL would log the error's detail,
/// `Key (phone)=(+8801…) already exists`, patient data in the server log. The
/// unique index stays the guarantee under a race.
pub async fn ensure_unique(
    tx: &Tx,
    table: &'static str,
    except: Uuid,
    columns: &[(&'static str, Option<&str>)],
) -> DbResult<()> {
    let given: Vec<(&'static str, &str)> = columns.iter().filter_map(|(c, v)| v.map(|v| (*c, v))).collect();
    if given.is_empty() {
        return Ok(());
    }
    let mut any = sea_orm::Condition::any();
    for (column, value) in &given {
        any = any.add(Expr::col(*column).eq(*value));
    }
    let query = Query::select()
        .columns(given.iter().map(|(c, _)| *c))
        .from(table)
        .and_where(Expr::col("id").ne(except))
        .cond_where(any)
        .limit(1)
        .to_owned();
    let Some(row) = tx.query_one_raw(tx.get_database_backend().build(&query)).await? else {
        return Ok(());
    };
    for (column, value) in given {
        if row.try_get::<Option<String>>("", column)?.as_deref() == Some(value) {
            return Err(DbError::Unique(format!("{table}.{column}")));
        }
    }
    Ok(())
}

/// Delete a row by id; whether it existed. A row still referenced fails with
/// [`DbError::ForeignKey`].
pub async fn delete_row<E: EntityTrait>(tx: &Tx, id: Uuid) -> DbResult<bool>
where
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    Ok(E::delete_by_id(id).exec(tx).await?.rows_affected > 0)
}

/// A row by id.
pub async fn find_by_id<E: EntityTrait>(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<E::Model>>
where
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    Ok(E::find_by_id(id).one(db).await?)
}

/// A row by id, locked for update until the caller's transaction ends
/// (PostgreSQL `FOR UPDATE`; SQLite's write lock already serialises writers).
pub async fn find_for_update<M: FromQueryResult + Send + Sync>(
    db: &impl ConnectionTrait,
    table: &'static str,
    id: uuid::Uuid,
) -> DbResult<Option<M>> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from(table)
        .and_where(Expr::col("id").eq(id));
    if db.get_database_backend() == DbBackend::Postgres {
        query.lock(sea_orm::sea_query::LockType::Update);
    }
    Ok(M::find_by_statement(db.get_database_backend().build(&query))
        .one(db)
        .await?)
}

/// The next `updated_at` of a row: now, but always after the previous value,
/// so a change always changes the row's ETag.
pub fn next_update(
    previous: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::Utc> {
    std::cmp::max(now, previous + chrono::TimeDelta::microseconds(1))
}

/// Which page of a list to read (1-based page number, rows per page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: u64,
    /// Rows per page.
    pub page_size: u64,
}

/// One page of rows and the total number of rows in the list.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    /// Rows in the whole list.
    pub count: u64,
    /// The rows of the requested page.
    pub rows: Vec<T>,
}

/// A sort key: an SQL column expression from an allow-list, and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// Column expression, e.g. `a.start_at` (never user input).
    pub column: &'static str,
    /// Descending when true.
    pub descending: bool,
}

/// The fields a list may be ordered by ([`crate::input::Ordering`]).
pub trait SortFields {
    /// API field → SQL column expression (never user input).
    const FIELDS: &'static [(&'static str, &'static str)];
}

/// Declare the marker type of a list's sort fields:
/// `sort_fields!(PatientOrdering, [("last_name", "p.last_name"), …]);`.
macro_rules! sort_fields {
    ($(#[$meta:meta])* $name:ident, [$(($field:literal, $column:literal)),+ $(,)?]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl $crate::db::SortFields for $name {
            const FIELDS: &'static [(&'static str, &'static str)] = &[$(($field, $column)),+];
        }
    };
}
pub(crate) use sort_fields;

/// Read one page of `query` in `order` (then by `tiebreak` for a stable
/// order), with the total count. The count costs a second statement only
/// when the page cannot tell it: a page shorter than `page_size` (and not
/// past the end) is the last one, so the total is its offset plus its rows.
pub async fn fetch_page<T: FromQueryResult + Send + Sync>(
    db: &impl ConnectionTrait,
    query: SelectStatement,
    order: &[Sort],
    tiebreak: &'static str,
    page: PageRequest,
) -> DbResult<Paged<T>> {
    let backend = db.get_database_backend();
    let offset = (page.page - 1).saturating_mul(page.page_size);
    let mut listed = query.clone();
    for sort in order {
        listed.order_by_expr(
            Expr::cust(sort.column),
            if sort.descending { Order::Desc } else { Order::Asc },
        );
    }
    listed
        .order_by_expr(Expr::cust(tiebreak), Order::Asc)
        .limit(page.page_size)
        .offset(offset);
    let rows = T::find_by_statement(backend.build(&listed)).all(db).await?;
    let shown = rows.len() as u64;
    if shown < page.page_size && (shown > 0 || offset == 0) {
        return Ok(Paged {
            count: offset + shown,
            rows,
        });
    }
    let count_query = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from_subquery(query, Alias::new("listed"))
        .to_owned();
    let count = db
        .query_one(&count_query)
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    Ok(Paged {
        count: u64::try_from(count).unwrap_or(0),
        rows,
    })
}

/// A half-open range of instants `[from, to)`; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    /// From this instant (inclusive).
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Before this instant.
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

impl Period {
    /// Keep the rows of `query` whose `column` falls in the period.
    pub fn restrict(&self, query: &mut SelectStatement, column: &'static str) {
        if let Some(from) = self.from {
            query.and_where(Expr::col(column).gte(from));
        }
        if let Some(to) = self.to {
            query.and_where(Expr::col(column).lt(to));
        }
    }
}

/// Newest first by `at`; ids are UUID v7 (time-ordered), so rows of one
/// instant keep their order.
pub const NEWEST_FIRST: &[Sort] = &[
    Sort {
        column: "at",
        descending: true,
    },
    Sort {
        column: "id",
        descending: true,
    },
];

/// `LOWER(target) LIKE '%term%'`, with LIKE wildcards in `term` escaped.
pub fn contains_ci(target: impl Into<SimpleExpr>, term: &str) -> SimpleExpr {
    let escaped = term
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Expr::expr(Func::lower(target.into())).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// `target` or `''` when it is NULL (for searching optional text columns).
pub fn or_empty(target: impl Into<SimpleExpr>) -> SimpleExpr {
    Func::coalesce([target.into(), Expr::val("")]).into()
}

/// A raw SQL fragment with `?` placeholders, written for `backend` (sea-query
/// takes `$1, $2, …` per fragment on PostgreSQL and `?` elsewhere). Only for
/// what the typed builder cannot say.
pub fn fragment(backend: DbBackend, sql: &str, values: Vec<sea_orm::Value>) -> SimpleExpr {
    let sql = if backend == DbBackend::Postgres {
        let mut numbered = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                numbered.push_str(&format!("${n}"));
            } else {
                numbered.push(c);
            }
        }
        numbered
    } else {
        sql.to_owned()
    };
    Expr::cust_with_values(sql, values)
}
