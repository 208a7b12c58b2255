//! Users, the authenticated actor, and refresh tokens.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter};
use uuid::Uuid;

use super::entities::{refresh_token, user};
use super::{PageRequest, Paged, Sort, contains_ci, fetch_page, or_empty};
use crate::auth::Actor;
use crate::domain::Role;

#[derive(FromQueryResult)]
struct ActorRow {
    id: Uuid,
    role: Role,
    facility_id: Option<Uuid>,
    patient_id: Option<Uuid>,
    doctor_id: Option<Uuid>,
    doctor_facility_id: Option<Uuid>,
    totp_enabled: bool,
    must_change_password: bool,
}

/// The active user `id` in live session `sid` as an [`Actor`] (with their
/// patient record or doctor profile), or None if the user is not active or the
/// session was revoked. One query.
pub async fn actor(db: &impl ConnectionTrait, id: Uuid, sid: Uuid) -> Result<Option<Actor>, DbErr> {
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
    let row = ActorRow::find_by_statement(db.get_database_backend().build(&query))
        .one(db)
        .await?;
    Ok(row.map(|r| Actor {
        user_id: r.id,
        role: r.role,
        patient_id: r.patient_id,
        doctor_id: r.doctor_id,
        facility_id: r.doctor_facility_id.or(r.facility_id),
        session_id: sid,
        totp_enabled: r.totp_enabled,
        must_change_password: r.must_change_password,
    }))
}

/// The user whose username, email or phone is one of the given normalised forms.
pub async fn find_by_login(
    db: &impl ConnectionTrait,
    username: &str,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<Option<user::Model>, DbErr> {
    let mut condition = sea_orm::Condition::any().add(user::Column::Username.eq(username));
    if let Some(email) = email {
        condition = condition.add(user::Column::Email.eq(email));
    }
    if let Some(phone) = phone {
        condition = condition.add(user::Column::Phone.eq(phone));
    }
    user::Entity::find().filter(condition).one(db).await
}

/// Write every column of a user row.
pub async fn update(db: &impl ConnectionTrait, row: user::Model) -> Result<user::Model, DbErr> {
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    row.into_active_model().reset_all().update(db).await
}

/// A user by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
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

/// Orderings of the user list: API field → SQL column.
pub const USER_ORDERING: &[(&str, &str)] = &[
    ("username", "username"),
    ("last_name", "last_name"),
    ("created_at", "created_at"),
    ("role", "role"),
];

/// One page of users.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &UserFilter,
    order: &[Sort],
    page: PageRequest,
) -> Result<Paged<user::Model>, DbErr> {
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
    db: &impl ConnectionTrait,
    user_id: Uuid,
    family_id: Uuid,
    digest: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    super::insert_row::<refresh_token::ActiveModel>(
        db,
        refresh_token::Model {
            id: Uuid::new_v4(),
            user_id,
            family_id,
            token_hash: digest,
            expires_at,
            created_at: now,
            used_at: None,
            revoked_at: None,
        },
    )
    .await
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// Valid and now spent: issue the next token of the family.
    Rotated { user_id: Uuid, family_id: Uuid },
    /// Already spent (token theft is likely): revoke the family.
    Reused { user_id: Uuid, family_id: Uuid },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Spend a refresh token, inside the caller's write transaction. The row is
/// locked (PostgreSQL `FOR UPDATE`; SQLite's write transaction serialises
/// anyway), so of concurrent uses of one token exactly one rotates and the
/// others see it spent only once the winner's transaction has committed.
pub async fn use_refresh_token(
    db: &impl ConnectionTrait,
    digest: &str,
    now: DateTime<Utc>,
) -> Result<RefreshUse, DbErr> {
    let Some(found) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(digest))
        .one(db)
        .await?
    else {
        return Ok(RefreshUse::Invalid);
    };
    let Some(token): Option<refresh_token::Model> = super::find_for_update(db, "refresh_tokens", found.id).await?
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
        .exec(db)
        .await?;
    if spent.rows_affected == 1 {
        return Ok(RefreshUse::Rotated {
            user_id: token.user_id,
            family_id: token.family_id,
        });
    }
    Ok(RefreshUse::Reused {
        user_id: token.user_id,
        family_id: token.family_id,
    })
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
pub async fn links(db: &impl ConnectionTrait, user: Uuid) -> Result<Links, DbErr> {
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
pub async fn links_of(
    db: &impl ConnectionTrait,
    users: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Links>, DbErr> {
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
