//! Amend, never delete: every clinical entry's versions, each with its
//! author, time, reason and a SHA-256 digest of its content chained to the
//! previous version's digest, so that a changed or missing version in the
//! middle of the history shows.
//!
//! Version 1 is written with the entry; each amendment or mark of entered
//! in error writes the next, in the same transaction as the change.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::entities::clinical_version;
use crate::db::{self, DbResult, Tx};

/// The digest of a version: lower-case hex SHA-256 of the previous
/// version's digest (empty for the first), a line feed, and the canonical
/// JSON of its content (object keys sorted, no white space).
pub fn digest(previous: Option<&str>, content: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(previous.unwrap_or_default().as_bytes());
    hash.update(b"\n");
    hash.update(content.as_bytes());
    hex::encode(hash.finalize())
}

/// The canonical JSON of `content`: serde_json's maps keep keys sorted.
pub fn canonical(content: &serde_json::Value) -> String {
    content.to_string()
}

/// What one version records.
#[derive(Debug, Clone)]
pub struct Version<'a> {
    /// `diagnosis`, `prescription`, `note`, `vital_signs`, `consultation`.
    pub entry_type: &'static str,
    /// The entry.
    pub entry_id: Uuid,
    /// Its number, from 1.
    pub version: i32,
    /// Whose record it is.
    pub patient_id: Uuid,
    /// The entry's clinical content as it now stands.
    pub content: serde_json::Value,
    /// Who wrote it.
    pub author_id: Uuid,
    /// Why it changed (none for version 1).
    pub reason: Option<&'a str>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Append `version` to its entry's history, chained to the latest.
pub async fn append(tx: &Tx, version: Version<'_>) -> DbResult<()> {
    let previous = db::clinical_versions::latest_digest(tx, version.entry_type, version.entry_id).await?;
    let content = canonical(&version.content);
    let row = clinical_version::Model {
        id: Uuid::now_v7(),
        entry_type: version.entry_type.to_owned(),
        entry_id: version.entry_id,
        version: version.version,
        patient_id: version.patient_id,
        digest: digest(previous.as_deref(), &content),
        content,
        previous_digest: previous,
        author_id: version.author_id,
        reason: version.reason.map(str::to_owned),
        recorded_at: version.at,
    };
    db::clinical_versions::insert(tx, row).await
}

/// Whether `versions` (oldest first) form an unbroken chain: numbered from
/// 1 without gaps, each digest that of its content and its predecessor.
pub fn chain_holds(versions: &[clinical_version::Model]) -> bool {
    let mut previous: Option<&str> = None;
    for (i, v) in versions.iter().enumerate() {
        if v.version != i as i32 + 1
            || v.previous_digest.as_deref() != previous
            || v.digest != digest(previous, &v.content)
        {
            return false;
        }
        previous = Some(&v.digest);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_chain_and_canonical_json_sorts_keys() {
        let content = canonical(&serde_json::json!({"b": 1, "a": "x"}));
        assert_eq!(content, r#"{"a":"x","b":1}"#);
        let first = digest(None, &content);
        assert_eq!(first.len(), 64);
        assert_ne!(digest(Some(&first), &content), first, "the chain changes the digest");
        assert_eq!(digest(None, &content), first, "deterministic");
    }
}
