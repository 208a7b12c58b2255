//! `users`: a login with exactly one role.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

use crate::domain::Role;

/// A user row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lower-case, starts with a letter.
    pub username: String,
    /// Lower-case email, unique when present.
    pub email: Option<String>,
    /// E.164 phone, unique when present.
    pub phone: Option<String>,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    /// Home facility of nurses and receptionists.
    pub facility_id: Option<Uuid>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
