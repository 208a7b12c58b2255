//! PostgreSQL: the database role nodes run as in production.
//!
//! The role that owns the tables can do anything to them, the append-only
//! trail included (`ALTER TABLE audit_events DISABLE TRIGGER`, `DROP`), so
//! nodes should connect as a role that does not own them. The owner runs
//! `carebook migrate`, then `carebook grant-runtime-role ROLE`; the runtime
//! role may read and write the records but only read and append the audit
//! trail, and cannot change the schema (nodes skip migrating when none is
//! pending, see [`super::Db::migrate`]).

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use anyhow::{Context, bail};

use super::Db;

/// Tables the runtime role may only read and append to.
pub const APPEND_ONLY: &[&str] = &["audit_events", "audit_purges"];

/// Grant `role` (an existing PostgreSQL role) what a node needs on every
/// table of the current schema, and no more. Run as the tables' owner after
/// each `carebook migrate` (new tables need their grants too).
///
/// Errors: not PostgreSQL; the role does not exist, is a superuser or owns
/// the tables (it would bypass the restrictions); the grant fails.
pub async fn grant_runtime(db: &Db, role: &str) -> anyhow::Result<()> {
    if db.backend() != DbBackend::Postgres {
        bail!("runtime roles are a PostgreSQL feature");
    }
    let conn = db.conn();
    let check = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT quote_ident(r.rolname) AS quoted, r.rolsuper OR r.rolbypassrls AS privileged, \
         pg_has_role(r.oid, (SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() \
         AND tablename = 'audit_events')::regrole, 'MEMBER') AS owner, \
         quote_ident(current_schema()) AS schema \
         FROM pg_roles r WHERE r.rolname = $1",
        [role.into()],
    );
    let Some(row) = conn.query_one_raw(check).await.context("reading the role")? else {
        bail!("no database role named {role:?}");
    };
    let quoted: String = row.try_get("", "quoted")?;
    let schema: String = row.try_get("", "schema")?;
    if row.try_get::<bool>("", "privileged")? || row.try_get::<Option<bool>>("", "owner")?.unwrap_or(false) {
        bail!("{role:?} is a superuser or owns the tables: nodes must run as a role that does not");
    }
    let mut statements = vec![
        format!("GRANT USAGE ON SCHEMA {schema} TO {quoted}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {quoted}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}"),
        format!("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON seaql_migrations FROM {quoted}"),
    ];
    for table in APPEND_ONLY {
        statements.push(format!("REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {quoted}"));
    }
    let tx = db.begin_write().await?;
    for statement in &statements {
        tx.execute_unprepared(statement)
            .await
            .with_context(|| format!("running {statement}"))?;
    }
    tx.inner.commit().await.context("committing the grants")?;
    Ok(())
}
