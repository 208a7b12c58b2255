//! Users, the authenticated actor, and refresh tokens.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter};
use uuid::Uuid;

use super::entities::{refresh_token, user};
use super::{DbResult, PageRequest, Paged, Sort, Tx, contains_ci, fetch_page, or_empty};
use crate::domain::Role;

/// The authenticated caller as the database knows them now.
#[derive(Debug, Clone, FromQueryResult)]
pub struct ActorRow {
    /// The user.
    pub id: Uuid,
    /// Their role.
    pub role: Role,
    /// Home facility (nurses, receptionists).
    pub facility_id: Option<Uuid>,
    /// The linked patient record.
    pub patient_id: Option<Uuid>,
    /// The doctor profile.
    pub doctor_id: Option<Uuid>,
    /// The doctor profile's primary facility.
    pub doctor_facility_id: Option<Uuid>,
    /// Two-factor authentication is on.
    pub totp_enabled: bool,
    /// An administrator reset the password.
    pub must_change_password: bool,
}

/// The active user `id` in live session `sid` (with their patient record or
/// doctor profile), or None if the user is not active or the session was
/// revoked. One query.
pub async fn actor(db: &impl ConnectionTrait, id: Uuid, sid: Uuid) -> DbResult<Option<ActorRow>> {
    let query = Query::select()
        .expr_as(Expr::cust("u.id"), "id")
        .expr_as(Expr::cust("u.role"), "role")
        .expr_as(Expr::cust("u.facility_id"), "facility_id")
        .expr_as(Expr::cust("p.id"), "patient_id")
        .expr_as(Expr::cust("d.id"), "doctor_id")
        .expr_as(Expr::cust("d.facility_id"), "doctor_facility_id")
        .expr_as(Expr::cust("u.totp_enabled"), "totp_enabled")
        .expr_as(Expr::cust("u.must_change_password"), "must_change_password")
        .from_as("users", "u")
        .join_as(JoinType::InnerJoin, "sessions", "s", Expr::cust("s.user_id = u.id"))
        .join_as(JoinType::LeftJoin, "patients", "p", Expr::cust("p.user_id = u.id"))
        .join_as(JoinType::LeftJoin, "doctors", "d", Expr::cust("d.user_id = u.id"))
        .and_where(Expr::col(("u", "id")).eq(id))
        .and_where(Expr::col(("u", "is_active")).eq(true))
        .and_where(Expr::col(("s", "id")).eq(sid))
        .and_where(Expr::col(("s", "revoked_at")).is_null())
        .to_owned();
    Ok(ActorRow::find_by_statement(db.get_database_backend().build(&query))
        .one(db)
        .await?)
}

/// The user whose username, email or phone is one of the given normalised forms.
pub async fn find_by_login(
    db: &impl ConnectionTrait,
    username: &str,
    email: Option<&str>,
    phone: Option<&str>,
) -> DbResult<Option<user::Model>> {
    let mut condition = sea_orm::Condition::any().add(user::Column::Username.eq(username));
    if let Some(email) = email {
        condition = condition.add(user::Column::Email.eq(email));
    }
    if let Some(phone) = phone {
        condition = condition.add(user::Column::Phone.eq(phone));
    }
    Ok(user::Entity::find().filter(condition).one(db).await?)
}

/// Refuse a username, email or phone another user has (see [`super::ensure_unique`]).
async fn ensure_unique(tx: &Tx, row: &user::Model) -> DbResult<()> {
    let identifiers = [
        ("username", Some(row.username.as_str())),
        ("email", row.email.as_deref()),
        ("phone", row.phone.as_deref()),
    ];
    super::ensure_unique(tx, "users", row.id, &identifiers).await
}

/// Insert a user row. Errors: [`DbError::Unique`](super::DbError::Unique)
/// naming the username, email or phone another user has.
pub async fn insert(tx: &Tx, row: user::Model) -> DbResult<()> {
    ensure_unique(tx, &row).await?;
    super::insert_row::<user::ActiveModel>(tx, row).await
}

/// Write every column of a user row. Errors: as [`insert`].
pub async fn update(tx: &Tx, row: user::Model) -> DbResult<user::Model> {
    ensure_unique(tx, &row).await?;
    tx.invalidate(super::views::Invalidation::User(row.id));
    super::update_row::<user::ActiveModel>(tx, row).await
}

/// Write the changed columns of a user (`active`, whose id is set).
pub async fn update_columns(tx: &Tx, active: user::ActiveModel) -> DbResult<user::Model> {
    use sea_orm::ActiveModelTrait;
    if let sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) = &active.id {
        tx.invalidate(super::views::Invalidation::User(*id));
    }
    Ok(active.update(tx).await?)
}

/// A user by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<user::Model>> {
    super::find_by_id::<user::Entity>(db, id).await
}

/// Filters of the user list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Only this role.
    pub role: Option<Role>,
    /// Only active (true) or deactivated (false) users.
    pub is_active: Option<bool>,
    /// Text in username, names, email or phone.
    pub search: Option<String>,
}

super::sort_fields!(
    /// Orderings of the user list: API field → SQL column.
    UserOrdering,
    [
        ("username", "username"),
        ("last_name", "last_name"),
        ("created_at", "created_at"),
        ("role", "role"),
    ]
);

/// One page of users.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &UserFilter,
    order: &[Sort],
    page: PageRequest,
) -> DbResult<Paged<user::Model>> {
    let mut query = Query::select();
    query.column(sea_orm::sea_query::Asterisk).from("users");
    if let Some(role) = filter.role {
        query.and_where(Expr::col("role").eq(role.as_str()));
    }
    if let Some(active) = filter.is_active {
        query.and_where(Expr::col("is_active").eq(active));
    }
    if let Some(term) = &filter.search {
        query.cond_where(
            sea_orm::Condition::any()
                .add(contains_ci(Expr::col("username"), term))
                .add(contains_ci(Expr::col("first_name"), term))
                .add(contains_ci(Expr::col("last_name"), term))
                .add(contains_ci(or_empty(Expr::col("email")), term))
                .add(contains_ci(or_empty(Expr::col("phone")), term)),
        );
    }
    fetch_page(db, query, order, "id", page).await
}

/// Store a new refresh token (its digest) in `family`.
pub async fn insert_refresh_token(
    tx: &Tx,
    user_id: Uuid,
    family_id: Uuid,
    digest: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> DbResult<()> {
    super::insert_row::<refresh_token::ActiveModel>(
        tx,
        refresh_token::Model {
            id: Uuid::new_v4(),
            user_id,
            family_id,
            token_hash: digest,
            expires_at,
            created_at: now,
            used_at: None,
            revoked_at: None,
            successor: None,
        },
    )
    .await
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// Valid and now spent: issue the next token of the family (and
    /// [`record_successor`]).
    Rotated {
        token_id: Uuid,
        user_id: Uuid,
        family_id: Uuid,
    },
    /// Spent within the reuse leeway: answer again with the pair its
    /// rotation issued (sealed), spent `used_at`.
    Repeated {
        token_id: Uuid,
        user_id: Uuid,
        family_id: Uuid,
        used_at: DateTime<Utc>,
        successor: String,
    },
    /// Already spent, after the leeway (token theft is likely): revoke the family.
    Reused { user_id: Uuid, family_id: Uuid },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Spend a refresh token, inside the caller's write transaction. The row is
/// locked (PostgreSQL `FOR UPDATE`; SQLite's write transaction serialises
/// anyway), so of concurrent uses of one token exactly one rotates and the
/// others see it spent (with its successor) only once the winner's
/// transaction has committed. A use within `leeway` of the rotation is a
/// repeat, a later one a reuse.
pub async fn use_refresh_token(tx: &Tx, digest: &str, now: DateTime<Utc>, leeway: TimeDelta) -> DbResult<RefreshUse> {
    let Some(found) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(digest))
        .one(tx)
        .await?
    else {
        return Ok(RefreshUse::Invalid);
    };
    let Some(token): Option<refresh_token::Model> = super::find_for_update(tx, "refresh_tokens", found.id).await?
    else {
        return Ok(RefreshUse::Invalid);
    };
    if token.revoked_at.is_some() || token.expires_at <= now {
        return Ok(RefreshUse::Invalid);
    }
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(token.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(tx)
        .await?;
    if spent.rows_affected == 1 {
        return Ok(RefreshUse::Rotated {
            token_id: token.id,
            user_id: token.user_id,
            family_id: token.family_id,
        });
    }
    if let (Some(used_at), Some(successor)) = (token.used_at, token.successor)
        && now - used_at <= leeway
    {
        return Ok(RefreshUse::Repeated {
            token_id: token.id,
            user_id: token.user_id,
            family_id: token.family_id,
            used_at,
            successor,
        });
    }
    Ok(RefreshUse::Reused {
        user_id: token.user_id,
        family_id: token.family_id,
    })
}

/// Keep the (sealed) pair the rotation of refresh token `token_id` issued.
pub async fn record_successor(tx: &Tx, token_id: Uuid, sealed: String) -> DbResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::Successor, Expr::value(sealed))
        .filter(refresh_token::Column::Id.eq(token_id))
        .exec(tx)
        .await?;
    Ok(())
}

/// A user's patient record and doctor profile, if any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromQueryResult)]
pub struct Links {
    /// The linked patient record.
    pub patient_id: Option<Uuid>,
    /// The doctor profile.
    pub doctor_id: Option<Uuid>,
}

/// The patient record and doctor profile of `user`. One query.
pub async fn links(db: &impl ConnectionTrait, user: Uuid) -> DbResult<Links> {
    let query = Query::select()
        .expr_as(Expr::cust("p.id"), "patient_id")
        .expr_as(Expr::cust("d.id"), "doctor_id")
        .from_as("users", "u")
        .join_as(JoinType::LeftJoin, "patients", "p", Expr::cust("p.user_id = u.id"))
        .join_as(JoinType::LeftJoin, "doctors", "d", Expr::cust("d.user_id = u.id"))
        .and_where(Expr::col(("u", "id")).eq(user))
        .to_owned();
    Ok(Links::find_by_statement(db.get_database_backend().build(&query))
        .one(db)
        .await?
        .unwrap_or_default())
}

/// Links of many users, in one query.
pub async fn links_of(db: &impl ConnectionTrait, users: &[Uuid]) -> DbResult<std::collections::HashMap<Uuid, Links>> {
    #[derive(FromQueryResult)]
    struct Row {
        id: Uuid,
        patient_id: Option<Uuid>,
        doctor_id: Option<Uuid>,
    }
    if users.is_empty() {
        return Ok(Default::default());
    }
    let query = Query::select()
        .expr_as(Expr::cust("u.id"), "id")
        .expr_as(Expr::cust("p.id"), "patient_id")
        .expr_as(Expr::cust("d.id"), "doctor_id")
        .from_as("users", "u")
        .join_as(JoinType::LeftJoin, "patients", "p", Expr::cust("p.user_id = u.id"))
        .join_as(JoinType::LeftJoin, "doctors", "d", Expr::cust("d.user_id = u.id"))
        .and_where(Expr::col(("u", "id")).is_in(users.iter().copied()))
        .to_owned();
    let rows = Row::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.id,
                Links {
                    patient_id: r.patient_id,
                    doctor_id: r.doctor_id,
                },
            )
        })
        .collect())
}
