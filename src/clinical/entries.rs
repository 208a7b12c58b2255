//! What every clinical entry shares (consultations themselves, vital signs,
//! diagnoses, prescriptions, notes): recorded while the consultation is in
//! progress (triage vital signs before one), visible through the patient's
//! clinical record, changed only by amendment with a reason or marked
//! entered in error — each change a new version in [`super::versions`], in
//! the change's own transaction.

use chrono::{DateTime, Utc};
use garde::Validate;
use sea_orm::{ActiveModelBehavior, ActiveModelTrait, EntityTrait, FromQueryResult, IntoActiveModel, PrimaryKeyTrait};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::consultations::{self, check_visible};
use super::versions::{self, Version};
use crate::auth::Actor;
use crate::auth::policy::{self, Action, ClinicalRecord, authorize, authorize_object};
use crate::db::entities::clinical_version;
use crate::db::{self, Tx, audit};
use crate::error::{AppError, AppResult};
use crate::input::Text;
use crate::state::AppState;

/// An entry of a consultation, as a row.
pub trait Entry: Clone + Send + Sync + FromQueryResult + IntoActiveModel<Self::Active> + 'static {
    /// Its active model.
    type Active: ActiveModelTrait<Entity = Self::Entity> + ActiveModelBehavior + Send;
    /// Its entity.
    type Entity: EntityTrait<Model = Self>;
    /// Its type in the version history (`diagnosis`).
    const ENTRY: &'static str;
    /// Its table.
    const TABLE: &'static str;
    /// What a missing one is called (`diagnosis not found`).
    const KIND: &'static str;

    /// Its id.
    fn id(&self) -> Uuid;
    /// Its consultation (itself for a consultation); None for triage vital signs.
    fn consultation_id(&self) -> Option<Uuid>;
    /// Whose it is.
    fn patient_id(&self) -> Uuid;
    /// Its version and when that version was written.
    fn stamp(&mut self) -> (&mut i32, &mut DateTime<Utc>);
    /// Name the author of the current version, where the row keeps one
    /// (the version history always does).
    fn set_author(&mut self, author: Uuid);
    /// Whether it was marked entered in error.
    fn is_entered_in_error(&self) -> bool;
    /// Mark it entered in error.
    fn mark_entered_in_error(&mut self, reason: String);
    /// Its clinical content, as its versions record it.
    fn content(&self) -> serde_json::Value;
}

/// Implement [`Entry`] for a row with the columns every entry has (`id`,
/// `patient_id`, `version`, `updated_at`, `status`, `error_reason`):
///
/// ```ignore
/// impl_entry!(diagnosis, entry = "diagnosis", table = "diagnoses", kind = "diagnosis",
///     entered_in_error = DiagnosisStatus::EnteredInError,
///     consultation = |row| Some(row.consultation_id), author = |row, by| row.recorded_by = by,
///     content = |row| json!({ … }));
/// ```
macro_rules! impl_entry {
    ($module:ident, entry = $entry:expr, table = $table:expr, kind = $kind:expr,
     entered_in_error = $error:expr,
     consultation = |$c:ident| $consultation:expr,
     author = |$a:ident, $by:ident| $author:expr,
     content = |$v:ident| $content:expr $(,)?) => {
        impl $crate::clinical::entries::Entry for $module::Model {
            type Active = $module::ActiveModel;
            type Entity = $module::Entity;
            const ENTRY: &'static str = $entry;
            const TABLE: &'static str = $table;
            const KIND: &'static str = $kind;

            fn id(&self) -> uuid::Uuid {
                self.id
            }

            fn consultation_id(&self) -> Option<uuid::Uuid> {
                let $c = self;
                $consultation
            }

            fn patient_id(&self) -> uuid::Uuid {
                self.patient_id
            }

            fn stamp(&mut self) -> (&mut i32, &mut chrono::DateTime<chrono::Utc>) {
                (&mut self.version, &mut self.updated_at)
            }

            #[allow(unused_variables)]
            fn set_author(&mut self, $by: uuid::Uuid) {
                let $a = self;
                $author
            }

            fn is_entered_in_error(&self) -> bool {
                self.status == $error
            }

            fn mark_entered_in_error(&mut self, reason: String) {
                self.status = $error.into();
                self.error_reason = Some(reason);
            }

            fn content(&self) -> serde_json::Value {
                let $v = self;
                $content
            }
        }
    };
}
pub(crate) use impl_entry;

/// Why an entry is marked entered in error.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct EnteredInErrorIn {
    #[schema(example = "Recorded for the wrong patient")]
    #[garde(dive)]
    pub reason: Text<500>,
}

/// 409 `entry_entered_in_error`.
pub fn entered_in_error() -> AppError {
    AppError::conflict(
        "entry_entered_in_error",
        "this entry was entered in error; record a new one instead",
    )
}

/// Append the row's current version to its history (author, reason: none
/// for version 1), in `tx` with the change.
pub async fn append<E: Entry>(tx: &Tx, row: &mut E, author: Uuid, reason: Option<&str>) -> AppResult<()> {
    let (content, entry_id, patient_id) = (row.content(), row.id(), row.patient_id());
    let (version, at) = row.stamp();
    let version = Version {
        entry_type: E::ENTRY,
        entry_id,
        version: *version,
        patient_id,
        content,
        author_id: author,
        reason,
        at: *at,
    };
    Ok(versions::append(tx, version).await?)
}

/// Record a new entry in consultation `id` (by its doctor — or, for
/// `action` [`Action::VitalSignsWrite`], a nurse of its facility — while it
/// is in progress): `build` makes the row from the locked consultation.
///
/// Errors: 404/403 by the policy; 409 when the consultation is closed; whatever `build` returns.
pub async fn record<E: Entry>(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    action: Action,
    build: impl FnOnce(&crate::db::entities::consultation::Model) -> AppResult<E>,
) -> AppResult<E>
where
    <E::Entity as EntityTrait>::Model: IntoActiveModel<E::Active>,
{
    consultations::visible(state, actor, id).await?;
    let tx = state.db.begin_write().await?;
    let consultation = consultations::writable(&tx, actor, id, action).await?;
    let row = build(&consultation)?;
    let row = insert(&tx, row, actor.user_id).await?;
    tx.commit().await?;
    Ok(row)
}

/// Insert a new entry in `tx` with its version 1 by `author`, and name it in the audit record.
pub async fn insert<E: Entry>(tx: &Tx, mut row: E, author: Uuid) -> AppResult<E>
where
    <E::Entity as EntityTrait>::Model: IntoActiveModel<E::Active>,
{
    db::insert_row::<E::Active>(tx, row.clone()).await?;
    append(tx, &mut row, author, None).await?;
    audit::note_object(row.id());
    Ok(row)
}

/// An entry the actor may see.
///
/// Errors: 404 when it does not exist or they may not see it.
pub async fn get<E: Entry>(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<E>
where
    <<E::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    authorize(actor, Action::ClinicalRead)?;
    let row = db::find_by_id::<E::Entity>(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound(E::KIND))?;
    check_visible(state, actor, row.patient_id()).await?;
    Ok(row)
}

/// Change entry `id` (its consultation's doctor, in progress or completed,
/// with `action`; for triage vital signs, whoever may record them for the
/// patient) as `apply` says: version n+1 with `reason`.
///
/// Errors: 404/403 by the policy; 409 for an entry or consultation entered
/// in error; whatever `apply` returns.
pub async fn change<E: Entry>(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    action: Action,
    reason: String,
    apply: impl FnOnce(&mut E) -> AppResult<()>,
) -> AppResult<E>
where
    <<E::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
    <E::Entity as EntityTrait>::Model: IntoActiveModel<E::Active>,
{
    get::<E>(state, actor, id).await?;
    let tx = state.db.begin_write().await?;
    let mut row: E = db::find_for_update(&tx, E::TABLE, id)
        .await?
        .ok_or(AppError::NotFound(E::KIND))?;
    match row.consultation_id() {
        Some(consultation) => {
            consultations::amendable(&tx, actor, consultation, action).await?;
        }
        None => {
            let record = policy::patient_record(&tx, actor, row.patient_id()).await?;
            authorize_object(actor, action, &ClinicalRecord(record))?;
        }
    }
    if row.is_entered_in_error() {
        return Err(entered_in_error());
    }
    apply(&mut row)?;
    let now = state.clock.now();
    row.set_author(actor.user_id);
    {
        let (version, at) = row.stamp();
        *version += 1;
        *at = db::next_update(*at, now);
    }
    let mut row = db::update_row::<E::Active>(&tx, row).await?;
    append(&tx, &mut row, actor.user_id, Some(&reason)).await?;
    tx.commit().await?;
    Ok(row)
}

/// Mark entry `id` entered in error with the reason of `body` (see [`change`]).
///
/// Errors: as [`change`]; 422 for a blank reason.
pub async fn mark_entered_in_error<E: Entry>(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    action: Action,
    body: EnteredInErrorIn,
) -> AppResult<E>
where
    <<E::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
    <E::Entity as EntityTrait>::Model: IntoActiveModel<E::Active>,
{
    body.validate()?;
    let reason = body.reason.into_trimmed();
    let why = reason.clone();
    change::<E>(state, actor, id, action, reason, move |row| {
        row.mark_entered_in_error(why);
        Ok(())
    })
    .await
}

/// Every version of entry `id`, oldest first.
///
/// Errors: 404 when it does not exist or the actor may not see it.
pub async fn history<E: Entry>(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Vec<clinical_version::Model>>
where
    <<E::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    get::<E>(state, actor, id).await?;
    Ok(db::clinical_versions::of_entry(state.db.conn(), E::ENTRY, id).await?)
}
