//! The directory: locations, specialties, facilities and services (one
//! generic create, read, change and delete over [`Entry`]), and doctors
//! ([`doctors`], whose profiles link to accounts and services).
//!
//! Everyone signed in reads the directory; administrators change it (the
//! routes declare `directory_read` / `directory_write`).

pub mod doctors;
pub mod facilities;
pub mod locations;
pub mod services;
pub mod specialties;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use garde::Validate;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, EntityTrait, FromQueryResult, IntoActiveModel,
    PrimaryKeyTrait,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::db::{self, PageRequest, Paged, audit};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A kind of directory entry: everything the generic operations need.
#[async_trait]
pub trait Entry: Send + Sync + 'static {
    /// The table.
    type Entity: EntityTrait<Model = Self::Row, PrimaryKey: PrimaryKeyTrait<ValueType = Uuid>>;
    /// Its row.
    type Row: Clone + Send + Sync + FromQueryResult + IntoActiveModel<Self::Active>;
    /// Its active model (for inserts and updates).
    type Active: ActiveModelTrait<Entity = Self::Entity> + ActiveModelBehavior + Send;
    /// A new entry as a request gives it.
    type New: DeserializeOwned + Validate<Context = ()> + Send;
    /// Changes to an entry; absent fields stay.
    type Patch: DeserializeOwned + Validate<Context = ()> + Send;
    /// The filters of its list.
    type Filter: DeserializeOwned + Send + Sync;

    /// What one is called (`facility`).
    const KIND: &'static str;
    /// Its table (`facilities`).
    const TABLE: &'static str;

    /// A row from a validated new entry, after checking what it refers to.
    ///
    /// Errors: 422 naming the field.
    async fn build(db: &impl ConnectionTrait, new: Self::New, id: Uuid, now: DateTime<Utc>) -> AppResult<Self::Row>;

    /// Apply a validated patch, after checking what it refers to.
    ///
    /// Errors: 422 naming the field.
    async fn apply(
        db: &impl ConnectionTrait,
        row: &mut Self::Row,
        patch: Self::Patch,
        now: DateTime<Utc>,
    ) -> AppResult<()>;

    /// One page of the entries matching `filter`.
    ///
    /// Errors: 400 naming a filter that does not parse.
    async fn list(db: &impl ConnectionTrait, filter: &Self::Filter, page: PageRequest) -> AppResult<Paged<Self::Row>>;
}

/// List entries.
pub async fn list<E: Entry>(state: &AppState, filter: &E::Filter, page: PageRequest) -> AppResult<Paged<E::Row>> {
    E::list(state.db.conn(), filter, page).await
}

/// An entry by id. Errors: 404.
pub async fn get<E: Entry>(state: &AppState, id: Uuid) -> AppResult<E::Row> {
    db::find_by_id::<E::Entity>(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound(E::KIND))
}

/// Create an entry. Errors: 422 for invalid fields; 409 for a duplicate.
pub async fn create<E: Entry>(state: &AppState, new: E::New) -> AppResult<(Uuid, E::Row)> {
    new.validate()?;
    let id = Uuid::new_v4();
    let row = E::build(state.db.conn(), new, id, state.clock.now()).await?;
    let tx = state.db.begin_write().await?;
    db::insert_row::<E::Active>(&tx, row.clone()).await?;
    audit::note_object(id);
    tx.commit().await?;
    Ok((id, row))
}

/// Change an entry. Errors: 404; 422 for invalid fields; 409 for a duplicate.
pub async fn update<E: Entry>(state: &AppState, id: Uuid, patch: E::Patch) -> AppResult<E::Row> {
    patch.validate()?;
    let tx = state.db.begin_write().await?;
    let mut row: E::Row = db::find_for_update(&tx, E::TABLE, id)
        .await?
        .ok_or(AppError::NotFound(E::KIND))?;
    E::apply(&tx, &mut row, patch, state.clock.now()).await?;
    let row = db::update_row::<E::Active>(&tx, row).await?;
    // A service's length or a facility's zone is in the doctors' rules.
    tx.invalidate(db::views::Invalidation::Directory);
    tx.commit().await?;
    Ok(row)
}

/// Delete an entry nothing refers to. Errors: 404; 409 `in_use`.
pub async fn delete<E: Entry>(state: &AppState, id: Uuid) -> AppResult<()> {
    let tx = state.db.begin_write().await?;
    if !db::delete_row::<E::Entity>(&tx, id).await? {
        return Err(AppError::NotFound(E::KIND));
    }
    tx.invalidate(db::views::Invalidation::Directory);
    tx.commit().await?;
    Ok(())
}

/// Refuse a location id that does not exist. Errors: 422 naming `location_id`.
pub async fn check_location(db: &impl ConnectionTrait, location: Option<Uuid>) -> AppResult<()> {
    match location {
        Some(id) if db::directory::find_location(db, id).await?.is_none() => {
            Err(AppError::invalid_field("location_id", "no such location"))
        }
        _ => Ok(()),
    }
}
