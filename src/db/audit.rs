//! The audit trail (HIPAA 45 CFR 164.312(b)): who did or tried what, to
//! which object, when, from where, with what outcome — never the data itself.
//!
//! Each request runs inside a [`scope`] that the access check opens with what
//! it knows ([`Request`]). The policy notes the patient an object belongs to
//! and whether it refused ([`note`]); a list notes every patient whose data
//! it returns ([`note_disclosed`]); a service notes the id of what it created
//! ([`note_object`]). A request is recorded as one event per patient whose
//! data it disclosed or changed (one event with no patient when none), all
//! appended by one statement, so `patient_id` answers "who saw this
//! patient's data" for lists and searches too. A change's event is written by
//! [`Tx::commit`](super::Tx::commit) in the change's own transaction, so the
//! two commit together or not at all. Everything else (reads of patient data,
//! refusals, failed writes) is appended by the access check once the answer
//! is known ([`Finished::event`]), before an audited read is answered.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use uuid::Uuid;

use super::entities::audit_event;
use super::{DbError, DbResult, NEWEST_FIRST, PageRequest, Paged, Period, fetch_page};
use crate::clock::Clock;

/// What the access check knows of a request before it runs.
#[derive(Clone)]
pub struct Request {
    /// The policy action's stable name, or `public`.
    pub action: &'static str,
    /// `GET`, `POST`, …
    pub method: String,
    /// The route template, e.g. `/api/v1/appointments/{id}/cancel`.
    pub route: String,
    /// The type of object the route is about (`appointment`).
    pub object_type: Option<String>,
    /// Its id from the path, when the route names one.
    pub object_id: Option<String>,
    /// The client address.
    pub ip: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// The status a successful answer has (201 for a creation, …).
    pub success_status: u16,
    /// The source of "now" for the event.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("action", &self.action)
            .field("method", &self.method)
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

/// What was learnt while a request ran.
#[derive(Debug, Clone)]
struct Trail {
    request: Request,
    actor: Option<(Uuid, &'static str)>,
    patients: Vec<Uuid>,
    created: Option<String>,
    denied: bool,
    written: bool,
}

tokio::task_local! {
    static TRAIL: RefCell<Trail>;
}

/// What the trail learnt of a request that has run.
#[derive(Debug, Clone)]
pub struct Finished(Trail);

impl Finished {
    /// Whether an object decision refused (403, or 404 for a hidden object).
    pub fn denied(&self) -> bool {
        self.0.denied
    }

    /// Whether the request's event is already stored (with a committed change).
    pub fn written(&self) -> bool {
        self.0.written
    }

    /// The events of a request that ended with `status` and stored no
    /// change (a read, a refusal, a failed write): one per patient disclosed.
    pub fn events(&self, status: u16, denied: bool) -> Vec<audit_event::Model> {
        events(&self.0, if denied { "denied" } else { "allowed" }, status)
    }
}

/// Run `future` as one request of the trail.
pub async fn scope<F: Future>(request: Request, future: F) -> (F::Output, Finished) {
    let trail = Trail {
        request,
        actor: None,
        patients: Vec::new(),
        created: None,
        denied: false,
        written: false,
    };
    TRAIL
        .scope(RefCell::new(trail), async {
            let output = future.await;
            let finished = TRAIL.with(|t| Finished(t.borrow().clone()));
            (output, finished)
        })
        .await
}

/// The authenticated actor of the current request (no-op outside a scope).
pub fn set_actor(user_id: Uuid, role: &'static str) {
    let _ = TRAIL.try_with(|t| t.borrow_mut().actor = Some((user_id, role)));
}

/// Note an object decision: the patient whose data it is, and whether it refused.
pub fn note(patient_id: Option<Uuid>, denied: bool) {
    let _ = TRAIL.try_with(|t| {
        let mut t = t.borrow_mut();
        if let Some(patient) = patient_id {
            t.add_patient(patient);
        }
        t.denied |= denied;
    });
}

/// Note every patient whose data a list or search returns.
pub fn note_disclosed(patients: impl IntoIterator<Item = Uuid>) {
    let _ = TRAIL.try_with(|t| {
        let mut t = t.borrow_mut();
        for patient in patients {
            t.add_patient(patient);
        }
    });
}

impl Trail {
    fn add_patient(&mut self, patient: Uuid) {
        if !self.patients.contains(&patient) {
            self.patients.push(patient);
        }
    }
}

/// Note the id of the object the request created.
pub fn note_object(id: Uuid) {
    let _ = TRAIL.try_with(|t| t.borrow_mut().created = Some(id.to_string()));
}

fn events(trail: &Trail, outcome: &str, status: u16) -> Vec<audit_event::Model> {
    let request = &trail.request;
    let object_id = trail.created.clone().or_else(|| request.object_id.clone());
    let at = request.clock.now();
    let event = |patient_id| audit_event::Model {
        id: Uuid::now_v7(),
        at,
        actor_id: trail.actor.map(|a| a.0),
        actor_role: trail.actor.map(|a| a.1.to_owned()),
        action: request.action.to_owned(),
        method: request.method.clone(),
        route: request.route.clone(),
        object_type: request.object_type.clone(),
        object_id: object_id.clone(),
        patient_id,
        outcome: outcome.to_owned(),
        status: i16::try_from(status).unwrap_or(i16::MAX),
        ip: request.ip.clone(),
        request_id: request.request_id.clone(),
        occurrences: 1,
    };
    if trail.patients.is_empty() {
        // A patient record touched without an object decision (e.g. linking an account) is still named.
        let patient = (request.object_type.as_deref() == Some("patient"))
            .then(|| object_id.as_deref().and_then(|id| id.parse().ok()))
            .flatten();
        return vec![event(patient)];
    }
    trail.patients.iter().map(|&patient| event(Some(patient))).collect()
}

/// The current request's events for a change about to commit (`None` outside
/// a request, or when the request already stored its events). `refused` is
/// the status of a refusal whose bookkeeping is committed anyway (a failed login).
pub(super) fn for_commit(refused: Option<u16>) -> Option<Vec<audit_event::Model>> {
    TRAIL
        .try_with(|t| {
            let t = t.borrow();
            if t.written {
                debug_assert!(false, "{} committed a second write transaction", t.request.route);
                return None;
            }
            Some(match refused {
                Some(status) => events(&t, "denied", status),
                None => events(&t, "allowed", t.request.success_status),
            })
        })
        .ok()
        .flatten()
}

/// Record that the request's event is stored.
pub(super) fn mark_written() {
    let _ = TRAIL.try_with(|t| t.borrow_mut().written = true);
}

/// Append a request's events in one statement (inside a change's
/// transaction, or on its own), so they are stored together or not at all.
pub async fn insert(db: &impl ConnectionTrait, events: Vec<audit_event::Model>) -> DbResult<()> {
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
    if events.is_empty() {
        return Ok(());
    }
    audit_event::Entity::insert_many(events.into_iter().map(|e| e.into_active_model().reset_all()))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Most events stored in one group commit.
const MAX_BATCH: usize = 256;

type Pending = (Vec<audit_event::Model>, tokio::sync::oneshot::Sender<DbResult<()>>);

/// Group commit of the audit events of reads and refusals: requests hand
/// their events to one task per node, which stores whatever has queued
/// (up to [`MAX_BATCH`] events) in one write transaction and then answers
/// each request. A request still waits for its own events to be durable,
/// but many requests share one commit, and one SQLite write lock. A change's
/// own event never comes here: it is written inside the change's transaction
/// ([`super::Tx::commit`]).
#[derive(Debug, Clone, Default)]
pub struct GroupCommit {
    queue: Option<tokio::sync::mpsc::Sender<Pending>>,
}

impl GroupCommit {
    /// Start the task that stores events through `db` (it ends when the
    /// last handle is dropped).
    pub(super) fn start(db: super::Db) -> GroupCommit {
        let (queue, mut pending) = tokio::sync::mpsc::channel::<Pending>(4 * MAX_BATCH);
        tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::new();
            while let Some(first) = pending.recv().await {
                let mut events = first.0.len();
                batch.push(first);
                while events < MAX_BATCH {
                    let Ok(more) = pending.try_recv() else { break };
                    events += more.0.len();
                    batch.push(more);
                }
                let stored = store(&db, batch.iter_mut().flat_map(|p| std::mem::take(&mut p.0)).collect()).await;
                for (_, answer) in batch.drain(..) {
                    let _ = answer.send(stored.as_ref().map(|_| ()).map_err(DbError::shared));
                }
            }
        });
        GroupCommit { queue: Some(queue) }
    }

    /// Store `events`, returning once they are committed.
    ///
    /// Errors: the batch could not be stored (every request in it gets the error).
    pub(super) async fn record(&self, events: Vec<audit_event::Model>) -> DbResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let Some(queue) = &self.queue else {
            return Err(DbError::Unavailable);
        };
        let (answer, stored) = tokio::sync::oneshot::channel();
        queue.send((events, answer)).await.map_err(|_| DbError::Unavailable)?;
        stored.await.map_err(|_| DbError::Unavailable)?
    }
}

async fn store(db: &super::Db, events: Vec<audit_event::Model>) -> DbResult<()> {
    let tx = db.begin_write().await?;
    insert(&tx, events).await?;
    tx.commit().await
}

/// Most client addresses tallied per minute; denials from further
/// addresses that minute are tallied together, without an address.
pub const MAX_TALLIED_ADDRESSES: usize = 10_000;

/// Unauthenticated denials (401: no valid token), aggregated per client
/// address and minute so that a flood of them cannot grow the append-only
/// trail without bound. The first denial of an address in a minute is
/// recorded at once like any other event; the rest of that minute are
/// counted here and recorded as one event (its `occurrences` the count) by
/// [`crate::audit::flush_denials`] once the minute is over. Per node, in memory: a node
/// that crashes loses at most a minute of counts, never a first denial.
#[derive(Debug, Default)]
pub struct DenialTally {
    minutes: Mutex<HashMap<(Option<String>, i64), Tally>>,
}

#[derive(Debug)]
struct Tally {
    /// The first denial's event, the pattern of the aggregate.
    first: audit_event::Model,
    /// Denials after the first.
    more: i32,
    /// When the last of them came.
    last_at: DateTime<Utc>,
}

impl DenialTally {
    /// Count the unauthenticated denial `event`; `true` when it is the first
    /// of its address this minute, to be recorded now.
    pub fn first_of_minute(&self, event: &audit_event::Model) -> bool {
        let minute = event.at.timestamp().div_euclid(60);
        let mut minutes = self.minutes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut key = (event.ip.clone(), minute);
        if !minutes.contains_key(&key) && minutes.len() >= MAX_TALLIED_ADDRESSES {
            key.0 = None;
        }
        match minutes.get_mut(&key) {
            Some(tally) => {
                tally.more = tally.more.saturating_add(1);
                tally.last_at = event.at;
                false
            }
            None => {
                let mut first = event.clone();
                first.ip.clone_from(&key.0);
                minutes.insert(
                    key,
                    Tally {
                        first,
                        more: 0,
                        last_at: event.at,
                    },
                );
                true
            }
        }
    }

    /// The aggregate events of the minutes before `now`'s (every minute with
    /// `all`), removed from the tally.
    pub fn take(&self, now: DateTime<Utc>, all: bool) -> Vec<audit_event::Model> {
        let current = now.timestamp().div_euclid(60);
        let mut minutes = self.minutes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let ended: Vec<_> = minutes.keys().filter(|(_, m)| all || *m < current).cloned().collect();
        ended
            .into_iter()
            .filter_map(|key| minutes.remove(&key))
            .filter(|tally| tally.more > 0)
            .map(|tally| audit_event::Model {
                id: Uuid::now_v7(),
                at: tally.last_at,
                request_id: None,
                occurrences: tally.more,
                ..tally.first
            })
            .collect()
    }
}

/// Filters of the audit trail; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Events of this actor.
    pub actor: Option<Uuid>,
    /// Events about objects of this type.
    pub object_type: Option<String>,
    /// Events about this object.
    pub object_id: Option<String>,
    /// Events touching this patient's data.
    pub patient: Option<Uuid>,
    /// Events of this action.
    pub action: Option<String>,
    /// allowed or denied.
    pub outcome: Option<String>,
    /// When.
    pub period: Period,
}

/// One page of events, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    page: PageRequest,
) -> DbResult<Paged<audit_event::Model>> {
    let mut query = Query::select();
    query.column(sea_orm::sea_query::Asterisk).from("audit_events");
    let equals: [(&str, Option<sea_orm::Value>); 6] = [
        ("actor_id", filter.actor.map(Into::into)),
        ("object_type", filter.object_type.clone().map(Into::into)),
        ("object_id", filter.object_id.clone().map(Into::into)),
        ("patient_id", filter.patient.map(Into::into)),
        ("action", filter.action.clone().map(Into::into)),
        ("outcome", filter.outcome.clone().map(Into::into)),
    ];
    for (column, value) in equals {
        if let Some(value) = value {
            query.and_where(Expr::col(column).eq(value));
        }
    }
    filter.period.restrict(&mut query, "at");
    fetch_page(db, query, NEWEST_FIRST, "id", page).await
}

/// Up to `limit` events older than `before`, oldest first, after the event
/// `after` (`at`, `id`) of the previous batch: an export's next batch.
pub async fn older_than(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> DbResult<Vec<audit_event::Model>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut query = audit_event::Entity::find().filter(audit_event::Column::At.lt(before));
    if let Some((at, id)) = after {
        query = query.filter(
            sea_orm::Condition::any().add(audit_event::Column::At.gt(at)).add(
                sea_orm::Condition::all()
                    .add(audit_event::Column::At.eq(at))
                    .add(audit_event::Column::Id.gt(id)),
            ),
        );
    }
    Ok(query
        .order_by_asc(audit_event::Column::At)
        .order_by_asc(audit_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// A retention purge, as the `audit_purges` ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purge {
    /// The ledger row's id.
    pub id: Uuid,
    /// When it ran.
    pub at: DateTime<Utc>,
    /// Events before this instant were purged.
    pub purged_before: DateTime<Utc>,
    /// How many.
    pub events: u64,
    /// SHA-256 (hex) of the export holding them.
    pub export_sha256: String,
    /// The export's file name.
    pub export_name: String,
}

/// Record `purge` in the ledger and delete the events it covers, inside
/// `tx`; how many were deleted (the caller checks it against the export).
/// The database refuses to delete any event no ledger row covers.
pub async fn purge(tx: &super::Tx, purge: &Purge) -> DbResult<u64> {
    let events = i64::try_from(purge.events).unwrap_or(i64::MAX);
    let record = Query::insert()
        .into_table("audit_purges")
        .columns(["id", "at", "purged_before", "events", "export_sha256", "export_name"])
        .values_panic([
            purge.id.into(),
            purge.at.into(),
            purge.purged_before.into(),
            events.into(),
            purge.export_sha256.as_str().into(),
            purge.export_name.as_str().into(),
        ])
        .to_owned();
    tx.execute(&record).await?;
    let delete = Query::delete()
        .from_table("audit_events")
        .and_where(Expr::col("at").lt(purge.purged_before))
        .to_owned();
    Ok(tx.execute(&delete).await?.rows_affected())
}
