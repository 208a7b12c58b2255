//! The append-only history of clinical entries (see the `clinical_entries` migration).

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use uuid::Uuid;

use super::entities::clinical_version;
use super::{DbResult, Tx};

/// Append a version.
pub async fn insert(tx: &Tx, row: clinical_version::Model) -> DbResult<()> {
    super::insert_row::<clinical_version::ActiveModel>(tx, row).await
}

/// Every version of one entry, oldest first.
pub async fn of_entry(
    db: &impl ConnectionTrait,
    entry_type: &str,
    entry_id: Uuid,
) -> DbResult<Vec<clinical_version::Model>> {
    let mut query = Query::select();
    query
        .column(sea_orm::sea_query::Asterisk)
        .from("clinical_versions")
        .and_where(Expr::col("entry_type").eq(entry_type))
        .and_where(Expr::col("entry_id").eq(entry_id))
        .order_by("version", Order::Asc);
    Ok(
        <clinical_version::Model as sea_orm::FromQueryResult>::find_by_statement(
            db.get_database_backend().build(&query),
        )
        .all(db)
        .await?,
    )
}

/// The digest of an entry's latest version, if it has one.
pub async fn latest_digest(tx: &Tx, entry_type: &str, entry_id: Uuid) -> DbResult<Option<String>> {
    let query = Query::select()
        .column("digest")
        .from("clinical_versions")
        .and_where(Expr::col("entry_type").eq(entry_type))
        .and_where(Expr::col("entry_id").eq(entry_id))
        .order_by("version", Order::Desc)
        .limit(1)
        .to_owned();
    Ok(match tx.query_one(&query).await? {
        Some(row) => Some(row.try_get::<String>("", "digest")?),
        None => None,
    })
}
