//! Idempotency keys (the `Idempotency-Key` header): one row per user and key,
//! holding the request's digest and the resource the request created.
//!
//! The row is written by [`record`] inside the transaction that creates the
//! resource, so a key exists exactly when its resource does: a request cut
//! off anywhere (client gone, deadline, outage, `kill -9`) leaves either both
//! or neither, and its retry either finds the resource or makes it.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::{DbResult, Tx};

/// How long a key is remembered.
pub const TTL: TimeDelta = TimeDelta::hours(24);

/// A keyed request, as the API layer received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The header's value: 1–255 visible ASCII characters.
    pub key: String,
    /// SHA-256 (hex) of the method, path and canonical JSON body.
    pub digest: String,
}

/// What an earlier request with the same key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The same request created this resource.
    Created(Uuid),
    /// The key was used for a different request.
    Mismatch,
}

#[derive(FromQueryResult)]
struct Row {
    request_hash: String,
    resource_id: Uuid,
}

fn key_condition(user: Uuid, key: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Expr::col("user_id").eq(user))
        .add(Expr::col("key").eq(key))
}

/// What `user` did with `key` within the last [`TTL`], if anything.
pub async fn find(
    db: &impl ConnectionTrait,
    user: Uuid,
    key: &IdempotencyKey,
    now: DateTime<Utc>,
) -> DbResult<Option<Found>> {
    let query = Query::select()
        .columns(["request_hash", "resource_id"])
        .from("idempotency_keys")
        .cond_where(key_condition(user, &key.key))
        .and_where(Expr::col("created_at").gt(now - TTL))
        .to_owned();
    let row = Row::find_by_statement(db.get_database_backend().build(&query))
        .one(db)
        .await?;
    Ok(row.map(|row| {
        if row.request_hash == key.digest {
            Found::Created(row.resource_id)
        } else {
            Found::Mismatch
        }
    }))
}

/// Record that `user`'s keyed request creates `resource`, as the first write
/// of the transaction that creates it. `false` when a request with the key
/// committed first (PostgreSQL waits for a concurrent one to end, SQLite's
/// write lock orders them): roll back and [`find`] what it did.
pub async fn record(tx: &Tx, user: Uuid, key: &IdempotencyKey, resource: Uuid, now: DateTime<Utc>) -> DbResult<bool> {
    // An expired key is free again.
    let expired = Query::delete()
        .from_table("idempotency_keys")
        .cond_where(key_condition(user, &key.key))
        .and_where(Expr::col("created_at").lte(now - TTL))
        .to_owned();
    tx.execute(&expired).await?;
    let insert = Query::insert()
        .into_table("idempotency_keys")
        .columns(["user_id", "key", "request_hash", "resource_id", "created_at"])
        .values_panic([
            user.into(),
            key.key.as_str().into(),
            key.digest.as_str().into(),
            resource.into(),
            now.into(),
        ])
        .on_conflict(OnConflict::columns(["user_id", "key"]).do_nothing().to_owned())
        .to_owned();
    Ok(tx.execute(&insert).await?.rows_affected() == 1)
}

/// Delete every key older than the TTL. Outside any write transaction (it
/// changes no record, only forgets retries), so bookings never wait on it.
pub async fn purge(db: &impl ConnectionTrait, now: DateTime<Utc>) -> DbResult<u64> {
    let delete = Query::delete()
        .from_table("idempotency_keys")
        .and_where(Expr::col("created_at").lt(now - TTL))
        .to_owned();
    Ok(db.execute(&delete).await?.rows_affected())
}
