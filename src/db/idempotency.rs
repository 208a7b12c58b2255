//! Idempotency keys (the `Idempotency-Key` header): one row per user and key
//! holds the request's digest and, once known, the response to replay.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::{DbError, DbResult};

/// How long a key is remembered.
pub const TTL: TimeDelta = TimeDelta::hours(24);

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
    /// The `Location` header, if any.
    pub location: Option<String>,
}

/// What a keyed request may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use of the key: go ahead, then [`complete`] or [`release`].
    New,
    /// The same request was answered before: replay this.
    Replay(Stored),
    /// The same key is being processed by another request right now.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

#[derive(FromQueryResult)]
struct Row {
    request_hash: String,
    status_code: Option<i32>,
    response_body: Option<String>,
    location: Option<String>,
    created_at: DateTime<Utc>,
}

fn key_condition(user: Uuid, key: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Expr::col("user_id").eq(user))
        .add(Expr::col("key").eq(key))
}

/// Claim `key` of `user` for a request whose digest is `hash`. Of two
/// concurrent claims of a new key exactly one is `New` (the primary key decides).
pub async fn claim(
    db: &impl ConnectionTrait,
    user: Uuid,
    key: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> DbResult<Claim> {
    for _ in 0..3 {
        let query = Query::select()
            .columns(["request_hash", "status_code", "response_body", "location", "created_at"])
            .from("idempotency_keys")
            .cond_where(key_condition(user, key))
            .to_owned();
        let found = Row::find_by_statement(db.get_database_backend().build(&query))
            .one(db)
            .await?;
        match found {
            Some(row) if row.created_at > now - TTL => {
                return Ok(if row.request_hash != hash {
                    Claim::Mismatch
                } else {
                    match (row.status_code, row.response_body) {
                        (Some(status), Some(body)) => Claim::Replay(Stored {
                            status: u16::try_from(status).unwrap_or(500),
                            body,
                            location: row.location,
                        }),
                        _ => Claim::InProgress,
                    }
                });
            }
            Some(_) => release(db, user, key).await?,
            None => {}
        }
        let insert = Query::insert()
            .into_table("idempotency_keys")
            .columns(["user_id", "key", "request_hash", "created_at"])
            .values_panic([user.into(), key.into(), hash.into(), now.into()])
            .to_owned();
        match db.execute(&insert).await.map_err(DbError::from) {
            Ok(_) => return Ok(Claim::New),
            Err(DbError::Unique(_)) => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(Claim::InProgress)
}

/// Store the response of a claimed key.
pub async fn complete(db: &impl ConnectionTrait, user: Uuid, key: &str, stored: &Stored) -> DbResult<()> {
    let update = Query::update()
        .table("idempotency_keys")
        .values([
            ("status_code", i32::from(stored.status).into()),
            ("response_body", stored.body.clone().into()),
            ("location", stored.location.clone().into()),
        ])
        .cond_where(key_condition(user, key))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// Forget a key (its request failed in a way worth retrying, or it expired).
pub async fn release(db: &impl ConnectionTrait, user: Uuid, key: &str) -> DbResult<()> {
    let delete = Query::delete()
        .from_table("idempotency_keys")
        .cond_where(key_condition(user, key))
        .to_owned();
    db.execute(&delete).await?;
    Ok(())
}

/// Delete every key older than the TTL.
pub async fn purge(db: &impl ConnectionTrait, now: DateTime<Utc>) -> DbResult<u64> {
    let delete = Query::delete()
        .from_table("idempotency_keys")
        .and_where(Expr::col("created_at").lt(now - TTL))
        .to_owned();
    Ok(db.execute(&delete).await?.rows_affected())
}
