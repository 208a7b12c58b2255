//! The audit trail's retention: events older than the configured age
//! (`CAREBOOK_AUDIT_RETENTION_DAYS`, default six years as HIPAA keeps
//! documentation, 45 CFR 164.316(b)(2)) are exported, then purged, by
//! `carebook purge-audit` — itself audited.
//!
//! The export is JSON Lines (one event per line, the fields of
//! `GET /audit-events`, oldest first), written and synced before anything is
//! deleted. The purge then records a row in the append-only `audit_purges`
//! ledger (the boundary, the count and the export's SHA-256) and deletes the
//! events before the boundary in the same transaction, with its own audit
//! event; the database refuses to delete any event no ledger row covers, so
//! everything younger stays append-only.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::audit::{self, Purge};
use crate::state::AppState;

/// The shortest retention a purge accepts.
pub const MIN_RETENTION: TimeDelta = crate::config::MIN_AUDIT_RETENTION;
/// Events exported per database read.
const BATCH: u64 = 1000;

/// What a purge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    /// Events before this instant were exported and purged.
    pub purged_before: DateTime<Utc>,
    /// How many.
    pub events: u64,
    /// The export (none when there was nothing to purge).
    pub export: Option<PathBuf>,
    /// SHA-256 (hex) of the export.
    pub sha256: Option<String>,
}

/// Export to a new file in `export_dir`, then purge, every audit event older
/// than `keep`. Nothing is deleted unless the export is complete on disk.
///
/// Errors: `keep` shorter than [`MIN_RETENTION`]; the export cannot be
/// written (an existing file is never overwritten); events older than the
/// boundary appeared during the export; the database refused.
pub async fn purge(state: &AppState, keep: TimeDelta, export_dir: &Path) -> anyhow::Result<PurgeReport> {
    if keep < MIN_RETENTION {
        bail!("the audit trail is kept at least {} days", MIN_RETENTION.num_days());
    }
    let now = state.clock.now();
    let purged_before = now - keep;
    let db = state.db.conn();
    if audit::older_than(db, purged_before, None, 1).await?.is_empty() {
        return Ok(PurgeReport {
            purged_before,
            events: 0,
            export: None,
            sha256: None,
        });
    }

    let name = format!("audit-events-before-{}.jsonl", purged_before.format("%Y%m%dT%H%M%SZ"));
    let path = export_dir.join(&name);
    let mut file = create_private(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut events = 0u64;
    let mut after = None;
    loop {
        let batch = audit::older_than(db, purged_before, after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some((last.at, last.id));
        for event in &batch {
            let mut line = serde_json::to_vec(event)?;
            line.push(b'\n');
            hasher.update(&line);
            file.write_all(&line)
                .with_context(|| format!("writing {}", path.display()))?;
            events += 1;
        }
    }
    file.sync_all().with_context(|| format!("syncing {}", path.display()))?;
    drop(file);
    let sha256 = hex::encode(hasher.finalize());

    let ledger = Purge {
        id: Uuid::now_v7(),
        at: now,
        purged_before,
        events,
        export_sha256: sha256.clone(),
        export_name: name,
    };
    let trail = audit::Request {
        action: "audit_purge",
        method: "CLI".into(),
        route: "carebook purge-audit".into(),
        object_type: Some("audit_purge".into()),
        object_id: Some(ledger.id.to_string()),
        ip: None,
        request_id: None,
        success_status: 200,
        clock: state.clock.clone(),
    };
    let purging = async {
        let tx = state.db.begin_write().await?;
        let deleted = audit::purge(&tx, &ledger).await?;
        if deleted != events {
            bail!("{deleted} events were due for purging but {events} were exported; nothing was purged, run it again");
        }
        tx.commit().await?;
        anyhow::Ok(())
    };
    audit::scope(trail, purging).await.0?;
    Ok(PurgeReport {
        purged_before,
        events,
        export: Some(path),
        sha256: Some(sha256),
    })
}

fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}
