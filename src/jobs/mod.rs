//! Background jobs: the workers that run the queue ([`worker`]) and the
//! administrators' view of it (list, one job with its deliveries, retry).
//!
//! The queue is a table of our own ([`crate::db::jobs`]) rather than a
//! crate: apalis 1.0 is still a release candidate with open issues on
//! scheduled PostgreSQL jobs and SQLite retries, graphile_worker_rs and
//! underway are PostgreSQL-only, and none can enqueue inside the change's
//! own transaction on both databases, which "a booking and its reminder
//! commit together" needs. It is one table, one claim statement and leases.

pub mod worker;

use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::policy::{Action, authorize};
use crate::db::entities::{delivery, job};
use crate::db::jobs::{self, JobFilter};
use crate::db::{PageRequest, Paged, audit};
use crate::domain::{JobKind, JobStatus};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Filters of the job list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    pub kind: Option<JobKind>,
    pub status: Option<JobStatus>,
    /// Only jobs about this appointment.
    pub appointment: Option<Uuid>,
}

/// A page of jobs, newest first (administrators).
pub async fn list(
    state: &AppState,
    actor: &Actor,
    query: &JobQuery,
    page: PageRequest,
) -> AppResult<Paged<job::Model>> {
    authorize(actor, Action::JobRead)?;
    let filter = JobFilter {
        kind: query.kind,
        status: query.status,
        appointment: query.appointment,
    };
    Ok(jobs::list(state.db.conn(), &filter, page).await?)
}

/// One job and its delivery attempts. Errors: 404.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<(job::Model, Vec<delivery::Model>)> {
    authorize(actor, Action::JobRead)?;
    let found = jobs::find(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("job"))?;
    let deliveries = jobs::deliveries(state.db.conn(), id).await?;
    Ok((found, deliveries))
}

/// Queue a dead or cancelled job again, due now, with its attempts counted
/// afresh. Errors: 404; 409 `job_not_retryable` for a job that is queued,
/// running or succeeded (or whose unique key a live job holds meanwhile).
pub async fn retry(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<job::Model> {
    authorize(actor, Action::JobWrite)?;
    let tx = state.db.begin_write().await?;
    match jobs::retry(&tx, id, state.clock.now()).await? {
        None => return Err(AppError::NotFound("job")),
        Some(false) => {
            return Err(AppError::conflict(
                "job_not_retryable",
                "only a dead or cancelled job can be retried (and not while another live job has its unique key)",
            ));
        }
        Some(true) => {}
    }
    audit::note_object(id);
    tx.commit().await?;
    jobs::find(state.db.conn(), id).await?.ok_or(AppError::NotFound("job"))
}
