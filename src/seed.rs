//! Demo data (placeholder until the demo clinic is written).

use chrono::{DateTime, Utc};

use crate::db::Db;

/// Load the demo clinic; returns a summary.
pub async fn demo(_db: &Db, _now: DateTime<Utc>) -> anyhow::Result<String> {
    anyhow::bail!("demo data is not available yet")
}
