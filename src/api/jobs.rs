//! The job queue over HTTP, for administrators (see [`crate::jobs`]).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::extract::ApiPath;
use super::pagination::{ListQuery, Page, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::db::entities::{delivery, job};
use crate::domain::{DeliveryOutcome, JobKind, JobStatus};
use crate::error::AppResult;
use crate::jobs::{self, JobQuery};
use crate::state::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(retry_job))
}

/// A job of the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobOut {
    pub id: Uuid,
    pub kind: JobKind,
    pub status: JobStatus,
    /// Not before this instant (a retry's next attempt).
    pub run_at: DateTime<Utc>,
    /// Attempts started.
    pub attempts: i32,
    pub max_attempts: i32,
    /// What the job is about, e.g. `{"appointment_id": "…", "start": "…", "offset_hours": 24}`.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// A live job's unique key (reminders: appointment, offset and start).
    pub unique_key: Option<String>,
    /// The last failure, or why it was cancelled or not sent.
    pub last_error: Option<String>,
    /// Until when its worker holds it (`running`).
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub appointment_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<job::Model> for JobOut {
    fn from(j: job::Model) -> Self {
        JobOut {
            id: j.id,
            kind: j.kind,
            status: j.status,
            run_at: j.run_at,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            payload: serde_json::from_str(&j.payload).unwrap_or_default(),
            unique_key: j.unique_key,
            last_error: j.last_error,
            lease_expires_at: j.lease_expires_at,
            appointment_id: j.appointment_id,
            created_at: j.created_at,
            updated_at: j.updated_at,
            finished_at: j.finished_at,
        }
    }
}

/// One delivery attempt of a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: Uuid,
    /// `email` or `webhook`.
    pub channel: String,
    /// The address or URL (empty when there was none).
    pub recipient: String,
    pub subject: Option<String>,
    /// The `Message-ID` (the same on every attempt of one job).
    pub message_id: Option<String>,
    pub outcome: DeliveryOutcome,
    /// The server's answer (`250 …`), or why nothing was sent.
    pub detail: String,
    pub attempt: i32,
    pub at: DateTime<Utc>,
}

impl From<delivery::Model> for DeliveryOut {
    fn from(d: delivery::Model) -> Self {
        DeliveryOut {
            id: d.id,
            channel: d.channel,
            recipient: d.recipient,
            subject: d.subject,
            message_id: d.message_id,
            outcome: d.outcome,
            detail: d.detail,
            attempt: d.attempt,
            at: d.at,
        }
    }
}

/// A job and its delivery log.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobDetailOut {
    #[serde(flatten)]
    pub job: JobOut,
    pub deliveries: Vec<DeliveryOut>,
}

/// The job queue, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/jobs",
    tag = "jobs",
    params(PageParams, JobQuery),
    responses((status = 200, description = "A page of jobs", body = Page<JobOut>), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::JobRead)))
)]
pub async fn list_jobs(
    State(state): State<AppState>,
    actor: Actor,
    query: ListQuery<JobQuery>,
) -> AppResult<Json<Page<JobOut>>> {
    let found = jobs::list(&state, &actor, &query.filter, query.page).await?;
    Ok(Json(query.page_of(found, JobOut::from)))
}

/// One job with its delivery attempts (recipient, message id, the SMTP answer).
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, description = "The job", body = JobDetailOut), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::JobRead)))
)]
pub async fn get_job(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<JobDetailOut>> {
    let (found, deliveries) = jobs::get(&state, &actor, id).await?;
    Ok(Json(JobDetailOut {
        job: found.into(),
        deliveries: deliveries.into_iter().map(DeliveryOut::from).collect(),
    }))
}

/// Queue a dead or cancelled job again, due now, with its attempts counted
/// afresh (409 `job_not_retryable` otherwise).
#[utoipa::path(
    post,
    path = "/api/v1/jobs/{id}/retry",
    tag = "jobs",
    params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, description = "Queued again", body = JobOut), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::JobWrite)))
)]
pub async fn retry_job(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<JobOut>> {
    Ok(Json(jobs::retry(&state, &actor, id).await?.into()))
}
