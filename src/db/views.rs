//! In-process views of rows that every request reads and few change: the
//! authenticated actor (account, session, patient and doctor links) and
//! each doctor's booking rules ([`DoctorRules`]), kept current on every node.
//!
//! A change to what a view holds is known three ways:
//! - at once on the node that made it: the write marks its [`super::Tx`]
//!   ([`super::Tx::invalidate`]) and the view forgets the entry at commit;
//! - on every node within milliseconds on PostgreSQL: database triggers
//!   `NOTIFY carebook_invalidations` in the changing transaction (see the
//!   `invalidations` migration) and each node `LISTEN`s;
//! - on every node within [`POLL_INTERVAL`] in any case: the same triggers
//!   append to the `invalidations` table, which each node polls (the
//!   fallback when a notification is lost, and SQLite's cross-process path).
//!
//! A view never outlives a doubt: when the poll or the listener fails, every
//! entry is forgotten. Lookups that raced an invalidation are not cached
//! (an epoch counter).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use super::schedules::DoctorRules;
use super::users::ActorRow;
use super::{Db, DbResult};

/// Between two polls of the `invalidations` table: the bound on how long
/// another node may act on a revoked session when its notification is lost.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Changes are re-read this far back (ms) of the newest one seen, so a
/// transaction that commits a little after a later one is not missed.
const WINDOW_MS: i64 = 10_000;
/// Rows older than this (ms) are pruned from the table.
const KEEP_MS: i64 = 3_600_000;
/// Most entries a view holds before it starts again empty.
const MAX_ENTRIES: usize = 100_000;
/// A doctor's rules are read again after this long (their time off is held
/// from two days back, and a missed change is forgotten at the latest then).
const RULES_TTL: chrono::TimeDelta = chrono::TimeDelta::minutes(10);
/// Most live sessions remembered per account.
const MAX_SESSIONS: usize = 16;

/// What a change makes stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidation {
    /// An account: its role, state, links or sessions.
    User(Uuid),
    /// A doctor's profile, services, working hours or time off.
    Doctor(Uuid),
    /// The services and facilities (every doctor's rules).
    Directory,
}

impl Invalidation {
    fn parse(scope: &str, target: Option<Uuid>) -> Option<Invalidation> {
        match (scope, target) {
            ("user", Some(id)) => Some(Invalidation::User(id)),
            ("doctor", Some(id)) => Some(Invalidation::Doctor(id)),
            ("directory", _) => Some(Invalidation::Directory),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct CachedActor {
    row: ActorRow,
    sessions: Vec<Uuid>,
    /// The account row, once asked for ([`Views::account`]).
    account: Option<Arc<super::entities::user::Model>>,
}

/// The views of one node (shared by every clone of its [`Db`]).
#[derive(Debug, Default)]
pub struct Views {
    actors: RwLock<HashMap<Uuid, CachedActor>>,
    doctors: RwLock<HashMap<Uuid, Arc<DoctorRules>>>,
    epoch: AtomicU64,
}

impl Views {
    /// The active user `id` in live session `sid`, from the view or else
    /// the database ([`super::users::actor`], one query, then remembered).
    ///
    /// Errors: the database query failed.
    pub async fn actor(&self, db: &impl ConnectionTrait, id: Uuid, sid: Uuid) -> DbResult<Option<ActorRow>> {
        {
            let actors = self.actors.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(cached) = actors.get(&id)
                && cached.sessions.contains(&sid)
            {
                return Ok(Some(cached.row.clone()));
            }
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let row = super::users::actor(db, id, sid).await?;
        if let Some(row) = &row {
            let mut actors = self.actors.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            if self.epoch.load(Ordering::Acquire) == epoch {
                if actors.len() >= MAX_ENTRIES {
                    actors.clear();
                }
                let cached = actors.entry(id).or_insert_with(|| CachedActor {
                    row: row.clone(),
                    sessions: Vec::new(),
                    account: None,
                });
                cached.row = row.clone();
                if cached.sessions.len() >= MAX_SESSIONS {
                    cached.sessions.clear();
                }
                cached.sessions.push(sid);
            }
        }
        Ok(row)
    }

    /// The account row of user `id`, from the view (when the user is an
    /// actor it holds) or else the database.
    ///
    /// Errors: the database query failed.
    pub async fn account(
        &self,
        db: &impl ConnectionTrait,
        id: Uuid,
    ) -> DbResult<Option<Arc<super::entities::user::Model>>> {
        {
            let actors = self.actors.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(account) = actors.get(&id).and_then(|a| a.account.as_ref()) {
                return Ok(Some(Arc::clone(account)));
            }
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let Some(account) = super::users::find(db, id).await?.map(Arc::new) else {
            return Ok(None);
        };
        let mut actors = self.actors.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.epoch.load(Ordering::Acquire) == epoch
            && let Some(cached) = actors.get_mut(&id)
        {
            cached.account = Some(Arc::clone(&account));
        }
        Ok(Some(account))
    }

    /// The rules of each of `doctors` that exists, from the view or else
    /// the database (those missing read together, [`super::schedules::rules_of`]).
    ///
    /// Errors: the database query failed.
    pub async fn doctor_rules(
        &self,
        db: &impl ConnectionTrait,
        doctors: &[Uuid],
        now: chrono::DateTime<chrono::Utc>,
    ) -> DbResult<HashMap<Uuid, Arc<DoctorRules>>> {
        let mut found = HashMap::with_capacity(doctors.len());
        let mut missing = Vec::new();
        {
            let cached = self.doctors.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            for id in doctors {
                match cached.get(id) {
                    Some(rules) if now - rules.loaded_at < RULES_TTL && rules.loaded_at <= now => {
                        found.insert(*id, Arc::clone(rules));
                    }
                    _ => missing.push(*id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        missing.sort_unstable();
        missing.dedup();
        let epoch = self.epoch.load(Ordering::Acquire);
        let loaded = super::schedules::rules_of(db, &missing, now).await?;
        let mut cached = self.doctors.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let keep = self.epoch.load(Ordering::Acquire) == epoch;
        if keep && cached.len() + loaded.len() > MAX_ENTRIES {
            cached.clear();
        }
        for rules in loaded {
            let rules = Arc::new(rules);
            if keep {
                cached.insert(rules.doctor.id, Arc::clone(&rules));
            }
            found.insert(rules.doctor.id, rules);
        }
        Ok(found)
    }

    /// Remember `rules`, read inside a write transaction that found the
    /// view's copy stale (only if nothing was invalidated since `epoch`).
    pub fn remember_rules(&self, rules: Arc<DoctorRules>, epoch: u64) {
        let mut cached = self.doctors.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.epoch.load(Ordering::Acquire) == epoch {
            cached.insert(rules.doctor.id, rules);
        }
    }

    /// The current epoch (see [`Views::remember_rules`]).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Forget what `change` makes stale.
    pub fn apply(&self, change: Invalidation) {
        let mut actors = self.actors.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut doctors = self.doctors.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        match change {
            Invalidation::User(id) => {
                actors.remove(&id);
                // A doctor's name and account state are in their rules.
                doctors.retain(|_, rules| rules.doctor.user_id != id);
            }
            Invalidation::Doctor(id) => {
                doctors.remove(&id);
            }
            Invalidation::Directory => doctors.clear(),
        }
    }

    /// Forget everything (a change may have been missed).
    pub fn clear(&self) {
        let mut actors = self.actors.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut doctors = self.doctors.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        actors.clear();
        doctors.clear();
    }
}

/// Keep `db`'s views current until `life` ends: the poll, and on PostgreSQL
/// (`url`) the listener.
pub(super) fn watch(db: Db, life: Weak<()>, url: Option<String>) {
    if let Some(url) = url {
        tokio::spawn(listen(url, Arc::clone(&db.views), life.clone()));
    }
    tokio::spawn(poll(db, life));
}

async fn listen(url: String, views: Arc<Views>, life: Weak<()>) {
    use sea_orm::sqlx::postgres::PgListener;
    let mut listener: Option<PgListener> = None;
    while life.strong_count() > 0 {
        let Some(connected) = listener.as_mut() else {
            if let Ok(mut fresh) = PgListener::connect(&url).await
                && fresh.listen("carebook_invalidations").await.is_ok()
            {
                // Whatever changed while not listening is unknown here.
                views.clear();
                listener = Some(fresh);
            } else {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            continue;
        };
        match tokio::time::timeout(Duration::from_secs(1), connected.try_recv()).await {
            Err(_) => {}
            Ok(Ok(Some(notification))) => {
                let (scope, target) = notification
                    .payload()
                    .split_once(' ')
                    .unwrap_or((notification.payload(), ""));
                match Invalidation::parse(scope, target.parse().ok()) {
                    Some(change) => views.apply(change),
                    None => views.clear(),
                }
            }
            Ok(Ok(None) | Err(_)) => {
                views.clear();
                listener = None;
            }
        }
    }
}

async fn poll(db: Db, life: Weak<()>) {
    let mut cursor: Option<i64> = None;
    let mut seen: HashMap<i64, i64> = HashMap::new();
    let mut pruned_at = tokio::time::Instant::now();
    while life.strong_count() > 0 {
        match read_changes(&db, cursor).await {
            Ok(rows) => {
                let first = cursor.is_none();
                for (seq, at_ms, change) in rows {
                    cursor = Some(cursor.map_or(at_ms, |c| c.max(at_ms)));
                    if seen.insert(seq, at_ms).is_none()
                        && !first
                        && let Some(change) = change
                    {
                        db.views.apply(change);
                    }
                }
                let since = cursor.unwrap_or(0) - WINDOW_MS;
                seen.retain(|_, at| *at >= since);
                cursor.get_or_insert(0);
            }
            Err(err) => {
                if cursor.is_some() {
                    tracing::warn!(error = %err, "reading the invalidations failed: forgetting the views");
                }
                db.views.clear();
            }
        }
        if pruned_at.elapsed() > Duration::from_secs(600)
            && let Some(cursor) = cursor
        {
            pruned_at = tokio::time::Instant::now();
            if let Err(err) = prune(&db, cursor - KEEP_MS).await {
                tracing::warn!(error = %err, "pruning the invalidations failed");
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The changes from `WINDOW_MS` before `cursor` on (at the first poll,
/// only the newest, as the starting point).
async fn read_changes(db: &Db, cursor: Option<i64>) -> DbResult<Vec<(i64, i64, Option<Invalidation>)>> {
    let backend = db.backend();
    let placeholder = if backend == DbBackend::Postgres { "$1" } else { "?" };
    let statement = match cursor {
        None => Statement::from_string(
            backend,
            "SELECT seq, at_ms, scope, target FROM invalidations ORDER BY at_ms DESC LIMIT 1",
        ),
        Some(cursor) => Statement::from_sql_and_values(
            backend,
            format!("SELECT seq, at_ms, scope, target FROM invalidations WHERE at_ms >= {placeholder} ORDER BY seq"),
            [(cursor - WINDOW_MS).into()],
        ),
    };
    let rows = db.conn().query_all_raw(statement).await?;
    let mut changes = Vec::with_capacity(rows.len());
    let mut unknown = HashSet::new();
    for row in rows {
        let scope: String = row.try_get("", "scope")?;
        let target: Option<Uuid> = row.try_get("", "target")?;
        let change = Invalidation::parse(&scope, target);
        if change.is_none() {
            unknown.insert(scope);
        }
        changes.push((row.try_get("", "seq")?, row.try_get("", "at_ms")?, change));
    }
    if !unknown.is_empty() {
        tracing::warn!(
            ?unknown,
            "invalidations of an unknown scope: a newer node? forgetting the views"
        );
        db.views.clear();
    }
    Ok(changes)
}

async fn prune(db: &Db, before_ms: i64) -> DbResult<()> {
    let backend = db.backend();
    let placeholder = if backend == DbBackend::Postgres { "$1" } else { "?" };
    let tx = db.begin_write().await?;
    tx.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("DELETE FROM invalidations WHERE at_ms < {placeholder}"),
        [before_ms.into()],
    ))
    .await?;
    tx.commit().await
}
