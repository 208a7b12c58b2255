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
    /// Consecutive failed logins since the last success or lockout.
    pub failed_logins: i32,
    /// Lockouts since the last successful login (each one lasts longer).
    pub lockouts: i32,
    /// Logins are refused until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// Base32 TOTP secret (RFC 6238), set at enrolment.
    pub totp_secret: Option<String>,
    /// Whether login needs a TOTP code.
    pub totp_enabled: bool,
    /// Last accepted TOTP time step (a code is accepted once).
    pub totp_last_step: Option<i64>,
    /// Set by an administrator's password reset: change it before anything else.
    pub must_change_password: bool,
    /// JSON preferences (language, notification channels).
    pub preferences: String,
    /// File name of the profile image, if any.
    pub profile_image: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// A new active account: no lockout, no two-factor, default preferences;
    /// contact details, names and facility empty (set them with struct update).
    pub fn new(id: Uuid, username: String, role: Role, password_hash: String, now: DateTime<Utc>) -> Model {
        Model {
            id,
            username,
            email: None,
            phone: None,
            password_hash,
            role,
            first_name: String::new(),
            last_name: String::new(),
            facility_id: None,
            is_active: true,
            created_at: now,
            updated_at: now,
            failed_logins: 0,
            lockouts: 0,
            locked_until: None,
            totp_secret: None,
            totp_enabled: false,
            totp_last_step: None,
            must_change_password: false,
            preferences: "{}".into(),
            profile_image: None,
        }
    }
}
