//! Typed clinical notes (`assessment`, `plan`, `follow_up`, `general`,
//! `nursing`) written in a consultation: by its doctor, and nursing notes
//! by a nurse of its facility. Amended with a reason or marked entered in
//! error, never deleted ([`super::entries`]).

use garde::Validate;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::entries::{self, Entry, impl_entry};
use crate::auth::Actor;
use crate::auth::policy::{self, Action};
use crate::db::entities::clinical_note;
use crate::domain::{NoteKind, NoteStatus};
use crate::error::AppResult;
use crate::input::Text;
use crate::state::AppState;

/// A note to write.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct NoteIn {
    /// A nurse writes `nursing` notes only.
    #[garde(skip)]
    pub kind: NoteKind,
    #[schema(example = "Review in two weeks with fasting glucose.")]
    #[garde(dive)]
    pub text: Text<8000>,
}

/// An amendment: the note as it should now stand, and why.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct NoteAmendment {
    #[garde(dive)]
    pub reason: Text<500>,
    #[garde(skip)]
    pub kind: NoteKind,
    #[garde(dive)]
    pub text: Text<8000>,
}

impl_entry!(
    clinical_note,
    entry = "note",
    table = "clinical_notes",
    kind = "note",
    entered_in_error = NoteStatus::EnteredInError,
    consultation = |row| Some(row.consultation_id),
    author = |row, by| row.recorded_by = by,
    content = |row| json!({
        "consultation_id": row.consultation_id,
        "patient_id": row.patient_id,
        "kind": row.kind,
        "text": row.text,
        "status": row.status,
        "error_reason": row.error_reason,
    }),
);

/// Write a note in consultation `id` while it is in progress.
///
/// Errors: 404/403 by the policy (403 for a nurse's note of another kind);
/// 409 when the consultation is closed; 422 for blank or long text.
pub async fn record(state: &AppState, actor: &Actor, id: Uuid, body: NoteIn) -> AppResult<clinical_note::Model> {
    body.validate()?;
    policy::authorize_note_kind(actor, body.kind)?;
    let now = state.clock.now();
    entries::record(state, actor, id, Action::NoteWrite, |consultation| {
        Ok(clinical_note::Model {
            id: Uuid::now_v7(),
            consultation_id: consultation.id,
            patient_id: consultation.patient_id,
            recorded_by: actor.user_id,
            error_reason: None,
            version: 1,
            recorded_at: now,
            updated_at: now,
            kind: body.kind,
            text: body.text.into_trimmed(),
            status: NoteStatus::Current,
        })
    })
    .await
}

/// Amend a note with a reason (a nurse only a nursing note, keeping its kind).
///
/// Errors: as [`record`] and [`entries::change`].
pub async fn amend(state: &AppState, actor: &Actor, id: Uuid, body: NoteAmendment) -> AppResult<clinical_note::Model> {
    body.validate()?;
    policy::authorize_note_kind(actor, body.kind)?;
    let reason = body.reason.trimmed().to_owned();
    entries::change(
        state,
        actor,
        id,
        Action::NoteWrite,
        reason,
        |row: &mut clinical_note::Model| {
            policy::authorize_note_kind(actor, row.kind)?;
            row.kind = body.kind;
            row.text = body.text.into_trimmed();
            Ok(())
        },
    )
    .await
}

/// Mark a note entered in error with a reason (a nurse only a nursing note).
///
/// Errors: as [`entries::change`]; 422 for a blank reason.
pub async fn mark_entered_in_error(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: entries::EnteredInErrorIn,
) -> AppResult<clinical_note::Model> {
    body.validate()?;
    let reason = body.reason.trimmed().to_owned();
    let why = reason.clone();
    entries::change(
        state,
        actor,
        id,
        Action::NoteWrite,
        reason,
        move |row: &mut clinical_note::Model| {
            policy::authorize_note_kind(actor, row.kind)?;
            row.mark_entered_in_error(why);
            Ok(())
        },
    )
    .await
}
