//! `jobs`: the queue of background work ([`crate::db::jobs`]).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::{JobKind, JobStatus};

/// A job row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: JobKind,
    /// JSON object; what the job is about (e.g. `{"appointment_id": …}`).
    pub payload: String,
    /// At most one live (not cancelled) job has a given key.
    pub unique_key: Option<String>,
    pub status: JobStatus,
    /// Not before this instant.
    pub run_at: DateTime<Utc>,
    /// Attempts started so far (a claim counts one).
    pub attempts: i32,
    pub max_attempts: i32,
    /// Why the last attempt failed (never patient data).
    pub last_error: Option<String>,
    /// The worker holding the job while `running`.
    pub lease_owner: Option<String>,
    /// When another worker may take it over.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The appointment the job is about, if any.
    pub appointment_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
