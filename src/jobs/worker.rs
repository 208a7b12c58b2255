//! Workers: each node runs `CAREBOOK_WORKERS` jobs at a time (`carebook
//! worker` runs only them). A worker claims due jobs under a lease, runs
//! them, and records each outcome in one transaction that first checks the
//! lease is still its own.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::task::JoinSet;

use crate::db::jobs::{self, Lease};
use crate::db::{DbResult, notifications as stored};
use crate::domain::JobKind;
use crate::notifications::mail::Mailer;
use crate::notifications::perform::{self, Failed, Performed};
use crate::notifications::webhooks;
use crate::state::AppState;

/// How long a claimed job is a worker's before another may take it over
/// (several times the SMTP timeout).
pub const LEASE: TimeDelta = TimeDelta::minutes(2);

/// How often an idle worker looks for due jobs.
pub const POLL: Duration = Duration::from_secs(1);

/// The wait before attempt `n + 1` after `n` failed: 30 s, doubling, at most an hour.
pub fn backoff(attempts: i32) -> TimeDelta {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 7)).unwrap_or(0);
    std::cmp::min(TimeDelta::seconds(30 * 2_i64.pow(doublings)), TimeDelta::hours(1))
}

/// The jobs runner of one node.
#[derive(Debug, Clone)]
pub struct Worker {
    state: AppState,
    mailer: Arc<Mailer>,
    http: reqwest::Client,
    /// This worker's lease name: unique per process start.
    owner: String,
    concurrency: usize,
}

impl Worker {
    /// A worker running up to `concurrency` jobs at a time.
    ///
    /// Errors: the SMTP configuration is unusable.
    pub fn new(state: AppState, concurrency: usize) -> anyhow::Result<Worker> {
        let mailer = Arc::new(Mailer::new(&state.config)?);
        if !mailer.configured() {
            tracing::warn!("CAREBOOK_SMTP_URL is not set: email jobs are logged as not sent");
        }
        let http = crate::notifications::webhooks::client(&state.config.webhook_allow_hosts)?;
        Ok(Worker {
            state,
            mailer,
            http,
            owner: format!("worker-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            concurrency: concurrency.max(1),
        })
    }

    /// Run until the task is dropped: claim, run, record; when nothing is
    /// due, wait [`POLL`].
    pub async fn run(self) {
        if let Err(err) = crate::reports::monthly::schedule(&self.state).await {
            tracing::error!(error = %err, "queueing the monthly reports failed");
        }
        loop {
            match self.tick().await {
                Ok(0) => tokio::time::sleep(POLL).await,
                Ok(_) => {}
                Err(err) => {
                    tracing::error!(error = %err, "claiming jobs failed");
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }

    /// Run the jobs due now until none is (for tests and `carebook worker
    /// --once`); how many ran.
    ///
    /// Errors: the database failed.
    pub async fn drain(&self) -> DbResult<usize> {
        let mut ran = 0;
        loop {
            match self.tick().await? {
                0 => return Ok(ran),
                n => ran += n,
            }
        }
    }

    /// Claim up to `concurrency` due jobs and run them side by side; how many.
    async fn tick(&self) -> DbResult<usize> {
        let now = self.state.clock.now();
        if !jobs::any_due(self.state.db.conn(), now).await? {
            return Ok(0);
        }
        let tx = self.state.db.begin_write().await?;
        let claimed = jobs::claim(&tx, &self.owner, now, LEASE, self.concurrency as u64).await?;
        tx.commit().await?;
        let count = claimed.len();
        let mut running = JoinSet::new();
        for lease in claimed {
            let worker = self.clone();
            running.spawn(async move { worker.run_one(lease).await });
        }
        while running.join_next().await.is_some() {}
        Ok(count)
    }

    async fn run_one(&self, lease: Lease) {
        let outcome = match lease.job.kind {
            JobKind::AppointmentConfirmation
            | JobKind::AppointmentRescheduled
            | JobKind::AppointmentCancelled
            | JobKind::AppointmentReminder => perform::perform(&self.state, &self.mailer, &lease).await,
            JobKind::WebhookDelivery => webhooks::deliver(&self.state, &self.http, &lease).await,
            JobKind::MonthlyReports => match crate::reports::monthly::run(&self.state, &lease.job).await {
                Ok(built) => Ok(Performed {
                    cancelled: false,
                    note: Some(format!("{built} monthly reports built")),
                    deliveries: Vec::new(),
                    notifications: Vec::new(),
                }),
                Err(err) => Err(Failed {
                    error: err.to_string(),
                    permanent: false,
                    deliveries: Vec::new(),
                }),
            },
        };
        if let Err(err) = self.record(&lease, outcome).await {
            // The lease runs out and another attempt follows.
            tracing::error!(job = %lease.job.id, error = %err, "recording a job's outcome failed");
        }
    }

    /// Record how `lease`'s job went, in one transaction with the end of
    /// its lease; nothing if the lease was lost meanwhile.
    async fn record(&self, lease: &Lease, outcome: Result<Performed, Failed>) -> DbResult<()> {
        let now = self.state.clock.now();
        let job = &lease.job;
        let tx = self.state.db.begin_write().await?;
        let (held, deliveries, notifications) = match outcome {
            Ok(done) => {
                let held = jobs::finish(&tx, lease, done.status(), done.note.as_deref(), now).await?;
                (held, done.deliveries, done.notifications)
            }
            Err(failed) => {
                let last = failed.permanent || job.attempts >= job.max_attempts;
                let retry_at = (!last).then(|| now + backoff(job.attempts));
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %failed.error,
                    retry_at = ?retry_at, "a job's attempt failed");
                let held = jobs::fail(&tx, lease, &failed.error, retry_at, now).await?;
                (held, failed.deliveries, Vec::new())
            }
        };
        if !held {
            tracing::warn!(job = %job.id, "a job's lease expired before it finished; its outcome is not recorded");
            return Ok(());
        }
        jobs::log_deliveries(&tx, deliveries).await?;
        stored::insert(&tx, notifications).await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
