//! Locations, specialties, facilities, services and doctors.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use super::entities::facility;

/// A facility by id.
pub async fn find_facility(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<facility::Model>, DbErr> {
    facility::Entity::find_by_id(id).one(db).await
}
