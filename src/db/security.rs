//! Sessions, login activity, account lockout, two-factor steps and recovery codes.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::entities::{login_activity, recovery_code, refresh_token, session, user};
use super::{DbResult, NEWEST_FIRST, PageRequest, Paged, Period, Tx, fetch_page, insert_row};

/// Longest lockout.
pub const MAX_LOCKOUT: TimeDelta = TimeDelta::hours(24);

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    /// Client address.
    pub ip: Option<String>,
    /// `User-Agent`, truncated.
    pub user_agent: Option<String>,
}

/// Start a session for `user`; returns its id.
pub async fn create_session(tx: &Tx, user: Uuid, client: &Client, now: DateTime<Utc>) -> DbResult<Uuid> {
    let row = session::Model {
        id: Uuid::new_v4(),
        user_id: user,
        created_at: now,
        last_used_at: now,
        revoked_at: None,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    };
    insert_row::<session::ActiveModel>(tx, row.clone()).await?;
    Ok(row.id)
}

/// Whether the session is live (not revoked).
pub async fn session_live(db: &impl ConnectionTrait, sid: Uuid) -> DbResult<bool> {
    Ok(session::Entity::find_by_id(sid)
        .one(db)
        .await?
        .is_some_and(|s| s.revoked_at.is_none()))
}

/// Record that a session was used (at a refresh).
pub async fn touch_session(tx: &Tx, sid: Uuid, now: DateTime<Utc>) -> DbResult<()> {
    Ok(session::Entity::update_many()
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .filter(session::Column::Id.eq(sid))
        .exec(tx)
        .await?)
    .map(|_| ())
}

/// Revoke sessions (and their refresh tokens): one (`only`), or every one of
/// `user` except `keep`. Returns how many were live.
pub async fn revoke_sessions(
    tx: &Tx,
    user: Uuid,
    only: Option<Uuid>,
    keep: Option<Uuid>,
    now: DateTime<Utc>,
) -> DbResult<u64> {
    let mut sessions = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::RevokedAt.is_null());
    let mut tokens = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::UserId.eq(user))
        .filter(refresh_token::Column::RevokedAt.is_null());
    if let Some(sid) = only {
        sessions = sessions.filter(session::Column::Id.eq(sid));
        tokens = tokens.filter(refresh_token::Column::FamilyId.eq(sid));
    }
    if let Some(sid) = keep {
        sessions = sessions.filter(session::Column::Id.ne(sid));
        tokens = tokens.filter(refresh_token::Column::FamilyId.ne(sid));
    }
    let revoked = sessions.exec(tx).await?.rows_affected;
    tx.invalidate(super::views::Invalidation::User(user));
    tokens.exec(tx).await?;
    Ok(revoked)
}

/// Record one login attempt.
pub async fn record_login(
    tx: &Tx,
    user: Option<Uuid>,
    client: &Client,
    outcome: &str,
    now: DateTime<Utc>,
) -> DbResult<()> {
    insert_row::<login_activity::ActiveModel>(
        tx,
        login_activity::Model {
            // Time-ordered, so attempts in the same instant keep their order.
            id: Uuid::now_v7(),
            user_id: user,
            at: now,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            outcome: outcome.to_owned(),
        },
    )
    .await
}

/// Failed, locked and throttled login attempts from `ip` since `since`.
pub async fn failures_from(db: &impl ConnectionTrait, ip: &str, since: DateTime<Utc>) -> DbResult<u64> {
    Ok(login_activity::Entity::find()
        .filter(login_activity::Column::Ip.eq(ip))
        .filter(login_activity::Column::At.gte(since))
        .filter(login_activity::Column::Outcome.is_in(["failure", "locked", "mfa_failure"]))
        .count(db)
        .await?)
}

/// Count a failed login of `user`; at `threshold` consecutive failures lock
/// the account for `base` × 2^(earlier lockouts), at most a day. Returns
/// whether the account is locked after it. Serialised per user: a failure
/// decided while another locked the account (concurrent attempts, on any
/// node) finds it locked and counts for nothing, so one burst is one lockout.
pub async fn register_failure(
    tx: &Tx,
    user: Uuid,
    threshold: i64,
    base: TimeDelta,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let Some(row): Option<user::Model> = super::find_for_update(tx, "users", user).await? else {
        return Ok(false);
    };
    if row.locked_until.is_some_and(|until| until > now) {
        return Ok(true);
    }
    let failures = row.failed_logins + 1;
    let mut active = row.clone().into_active_model();
    let locked = i64::from(failures) >= threshold;
    if locked {
        let factor = 1_i32.checked_shl(row.lockouts.clamp(0, 16) as u32).unwrap_or(i32::MAX);
        let length = (base * factor).min(MAX_LOCKOUT);
        active.locked_until = Set(Some(now + length));
        active.lockouts = Set(row.lockouts + 1);
        active.failed_logins = Set(0);
    } else {
        active.failed_logins = Set(failures);
    }
    active.update(tx).await?;
    Ok(locked)
}

/// A successful login: reset the failure count and lockout growth.
pub async fn reset_failures(tx: &Tx, user: Uuid) -> DbResult<()> {
    Ok(user::Entity::update_many()
        .col_expr(user::Column::FailedLogins, Expr::value(0))
        .col_expr(user::Column::Lockouts, Expr::value(0))
        .col_expr(user::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(user::Column::Id.eq(user))
        .exec(tx)
        .await?)
    .map(|_| ())
}

/// Accept TOTP time step `step` for `user` if it is later than any accepted
/// before (a code works once, RFC 6238 §5.2). Of two concurrent uses one wins.
pub async fn accept_totp_step(tx: &Tx, user: Uuid, step: i64) -> DbResult<bool> {
    let update = Query::update()
        .table("users")
        .value("totp_last_step", step)
        .and_where(Expr::col("id").eq(user))
        .cond_where(
            sea_orm::Condition::any()
                .add(Expr::col("totp_last_step").is_null())
                .add(Expr::col("totp_last_step").lt(step)),
        )
        .to_owned();
    Ok(tx.execute(&update).await?.rows_affected() == 1)
}

/// Every stored TOTP secret (sealed, or plain text from before sealing), by user.
pub async fn totp_secrets(db: &impl ConnectionTrait) -> DbResult<Vec<(Uuid, String)>> {
    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        id: Uuid,
        totp_secret: String,
    }
    let query = Query::select()
        .columns(["id", "totp_secret"])
        .from("users")
        .and_where(Expr::col("totp_secret").is_not_null())
        .to_owned();
    let rows = Row::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.totp_secret)).collect())
}

/// Replace user `user`'s stored TOTP secret `old` by `new` (unchanged if it
/// changed meanwhile); whether it was replaced.
pub async fn replace_totp_secret(tx: &Tx, user: Uuid, old: &str, new: &str) -> DbResult<bool> {
    let update = Query::update()
        .table("users")
        .value("totp_secret", new)
        .and_where(Expr::col("id").eq(user))
        .and_where(Expr::col("totp_secret").eq(old))
        .to_owned();
    Ok(tx.execute(&update).await?.rows_affected() == 1)
}

/// Replace a user's recovery codes with these digests.
pub async fn replace_recovery_codes(tx: &Tx, user: Uuid, digests: &[String]) -> DbResult<()> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user))
        .exec(tx)
        .await?;
    for digest in digests {
        insert_row::<recovery_code::ActiveModel>(
            tx,
            recovery_code::Model {
                id: Uuid::new_v4(),
                user_id: user,
                code_hash: digest.clone(),
                used_at: None,
            },
        )
        .await?;
    }
    Ok(())
}

/// Spend a recovery code (by digest); whether it was unused. Of two
/// concurrent uses one wins.
pub async fn use_recovery_code(tx: &Tx, user: Uuid, digest: &str, now: DateTime<Utc>) -> DbResult<bool> {
    let spent = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
        .filter(recovery_code::Column::UserId.eq(user))
        .filter(recovery_code::Column::CodeHash.eq(digest))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(tx)
        .await?;
    Ok(spent.rows_affected == 1)
}

/// Unused recovery codes left.
pub async fn recovery_codes_left(db: &impl ConnectionTrait, user: Uuid) -> DbResult<u64> {
    Ok(recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await?)
}

/// Filters of the login-activity list.
#[derive(Debug, Clone, Default)]
pub struct LoginActivityFilter {
    /// One user's attempts.
    pub user: Option<Uuid>,
    /// One outcome.
    pub outcome: Option<String>,
    /// When.
    pub period: Period,
}

/// One page of login attempts, newest first.
pub async fn list_login_activity(
    db: &impl ConnectionTrait,
    filter: &LoginActivityFilter,
    page: PageRequest,
) -> DbResult<Paged<login_activity::Model>> {
    let mut query = Query::select();
    query.column(sea_orm::sea_query::Asterisk).from("login_activity");
    if let Some(user) = filter.user {
        query.and_where(Expr::col("user_id").eq(user));
    }
    if let Some(outcome) = &filter.outcome {
        query.and_where(Expr::col("outcome").eq(outcome.as_str()));
    }
    filter.period.restrict(&mut query, "at");
    fetch_page(db, query, NEWEST_FIRST, "id", page).await
}

/// Live sessions of a user, newest first.
pub async fn live_sessions(db: &impl ConnectionTrait, user: Uuid) -> DbResult<Vec<session::Model>> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::RevokedAt.is_null())
        .order_by_desc(session::Column::CreatedAt)
        .all(db)
        .await?)
}
