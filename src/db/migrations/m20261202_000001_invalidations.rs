//! The change log behind the in-process views ([`crate::db::views`]): every
//! change to what a node keeps in memory (an account's role, state and
//! sessions; a doctor's profile, services, working hours and time off; the
//! services and facilities) appends a row to `invalidations`, written by
//! triggers in the changing transaction, so no writer can forget it. On
//! PostgreSQL the trigger also `pg_notify`s channel `carebook_invalidations`
//! (delivered at commit), which nodes `LISTEN` on; every node also polls the
//! table as the fallback.
//!
//! `at_ms` is the database's clock in milliseconds since 1970, at the write.
//!
//! `doctors.rules_version` counts the changes to a doctor's booking rules
//! held elsewhere (working hours, time off, services offered, and the
//! services and facilities those name), bumped by triggers in the changing
//! transaction: a booking reads it with the doctor's lock and so knows
//! whether the rules it checked against are the committed ones.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What a change invalidates: (table, scope, column holding the id, the
/// columns whose change matters on UPDATE — empty for any change).
const WATCHED: &[(&str, &str, &str, &[&str])] = &[
    // Any change: the view holds the whole account row (`GET /auth/me`).
    ("users", "user", "id", &[]),
    ("sessions", "user", "user_id", &["revoked_at"]),
    ("patients", "user", "user_id", &["user_id"]),
    ("doctors", "user", "user_id", &["user_id", "facility_id"]),
    ("doctors", "doctor", "id", &[]),
    ("doctor_services", "doctor", "doctor_id", &[]),
    ("working_hours", "doctor", "doctor_id", &[]),
    ("time_off", "doctor", "doctor_id", &[]),
    ("services", "directory", "id", &[]),
    ("facilities", "directory", "id", &[]),
];

/// Tables whose new rows change nothing a view holds (a session is not
/// cached before it is used; a new service or facility is reached through a
/// doctor's rows, which are watched).
const UPDATES_ONLY: &[&str] = &["users", "sessions", "services", "facilities"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let postgres = m.get_database_backend() == DbBackend::Postgres;
        let mut seq = big_integer("seq");
        if postgres {
            seq.extra("GENERATED ALWAYS AS IDENTITY PRIMARY KEY");
        } else {
            seq.primary_key().auto_increment();
        }
        m.create_table(
            Table::create()
                .table("invalidations")
                .col(seq)
                .col(big_integer("at_ms"))
                .col(string_len("scope", 16))
                .col(uuid_null("target"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_invalidations_at", "invalidations", &["at_ms"]))
            .await?;
        m.alter_table(
            Table::alter()
                .table("doctors")
                .add_column(big_integer("rules_version").default(0))
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        if postgres {
            conn.execute_unprepared(PG_FUNCTION).await?;
            conn.execute_unprepared(&pg_bump_function()).await?;
        }
        for (table, events) in BUMPED {
            for event in *events {
                let sql = if postgres {
                    format!(
                        "CREATE TRIGGER {table}_bump_rules_{op} AFTER {event} ON {table} FOR EACH ROW \
                         EXECUTE FUNCTION carebook_bump_rules()",
                        op = event.to_lowercase()
                    )
                } else {
                    sqlite_bump(table, event)
                };
                conn.execute_unprepared(&sql).await?;
            }
        }
        for (table, scope, column, watched) in WATCHED {
            for event in ["INSERT", "UPDATE", "DELETE"] {
                if event == "INSERT" && UPDATES_ONLY.contains(table) {
                    continue;
                }
                let sql = if postgres {
                    pg_trigger(table, scope, column, watched, event)
                } else {
                    sqlite_trigger(table, scope, column, watched, event)
                };
                conn.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }
}

/// Tables whose changes bump `doctors.rules_version`, and on which events.
const BUMPED: &[(&str, &[&str])] = &[
    ("working_hours", &["INSERT", "UPDATE", "DELETE"]),
    ("time_off", &["INSERT", "UPDATE", "DELETE"]),
    ("doctor_services", &["INSERT", "UPDATE", "DELETE"]),
    ("services", &["UPDATE"]),
    ("facilities", &["UPDATE"]),
];

/// Which doctors a change of `row` (`OLD` or `NEW`) of `table` concerns, as an SQL condition on `doctors`.
fn bumped_doctors(table: &str, row: &str) -> String {
    match table {
        "services" => format!("id IN (SELECT doctor_id FROM doctor_services WHERE service_id = {row}.id)"),
        "facilities" => format!(
            "facility_id = {row}.id OR id IN (SELECT doctor_id FROM working_hours WHERE facility_id = {row}.id)"
        ),
        _ => format!("id = {row}.doctor_id"),
    }
}

fn sqlite_bump(table: &str, event: &str) -> String {
    let rows: &[&str] = match event {
        "INSERT" => &["NEW"],
        "DELETE" => &["OLD"],
        _ => &["OLD", "NEW"],
    };
    let updates: String = rows
        .iter()
        .map(|row| {
            format!(
                "UPDATE doctors SET rules_version = rules_version + 1 WHERE {};",
                bumped_doctors(table, row)
            )
        })
        .collect();
    format!(
        "CREATE TRIGGER {table}_bump_rules_{op} AFTER {event} ON {table} BEGIN {updates} END",
        op = event.to_lowercase()
    )
}

fn pg_bump_function() -> String {
    let branch = |table: &str| {
        format!(
            "IF TG_OP <> 'INSERT' THEN UPDATE doctors SET rules_version = rules_version + 1 WHERE {old}; END IF; \
             IF TG_OP <> 'DELETE' THEN UPDATE doctors SET rules_version = rules_version + 1 WHERE {new}; END IF;",
            old = bumped_doctors(table, "OLD"),
            new = bumped_doctors(table, "NEW"),
        )
    };
    format!(
        "CREATE FUNCTION carebook_bump_rules() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF TG_TABLE_NAME = 'services' THEN {services} \
         ELSIF TG_TABLE_NAME = 'facilities' THEN {facilities} \
         ELSE {rows} END IF; RETURN NULL; END $$",
        services = branch("services"),
        facilities = branch("facilities"),
        rows = branch("working_hours"),
    )
}

/// One PL/pgSQL function for every trigger: `TG_ARGV` = scope, id column.
const PG_FUNCTION: &str = r"
CREATE FUNCTION carebook_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    targets uuid[] := ARRAY[]::uuid[];
    target uuid;
BEGIN
    IF TG_ARGV[0] = 'directory' THEN
        targets := ARRAY[NULL::uuid];
    ELSE
        IF TG_OP <> 'INSERT' THEN targets := targets || (to_jsonb(OLD) ->> TG_ARGV[1])::uuid; END IF;
        IF TG_OP <> 'DELETE' THEN targets := targets || (to_jsonb(NEW) ->> TG_ARGV[1])::uuid; END IF;
    END IF;
    FOR target IN SELECT DISTINCT t FROM unnest(targets) AS t
        WHERE t IS NOT NULL OR TG_ARGV[0] = 'directory'
    LOOP
        INSERT INTO invalidations (at_ms, scope, target)
            VALUES ((extract(epoch FROM clock_timestamp()) * 1000)::bigint, TG_ARGV[0], target);
        PERFORM pg_notify('carebook_invalidations', TG_ARGV[0] || ' ' || coalesce(target::text, ''));
    END LOOP;
    RETURN NULL;
END $$";

fn changed(watched: &[&str], differs: &str) -> String {
    watched
        .iter()
        .map(|c| format!("OLD.{c} {differs} NEW.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn pg_trigger(table: &str, scope: &str, column: &str, watched: &[&str], event: &str) -> String {
    let when = if event == "UPDATE" && !watched.is_empty() {
        format!("WHEN ({})", changed(watched, "IS DISTINCT FROM"))
    } else {
        String::new()
    };
    format!(
        "CREATE TRIGGER {table}_{scope}_invalidate_{op} AFTER {event} ON {table} FOR EACH ROW {when} \
         EXECUTE FUNCTION carebook_invalidate('{scope}', '{column}')",
        op = event.to_lowercase()
    )
}

fn sqlite_trigger(table: &str, scope: &str, column: &str, watched: &[&str], event: &str) -> String {
    let when = if event == "UPDATE" && !watched.is_empty() {
        format!("WHEN {}", changed(watched, "IS NOT"))
    } else {
        String::new()
    };
    let now = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
    let targets = match (scope, event) {
        ("directory", _) => "SELECT NULL AS t".to_owned(),
        (_, "INSERT") => format!("SELECT NEW.{column} AS t"),
        (_, "DELETE") => format!("SELECT OLD.{column} AS t"),
        _ => format!("SELECT OLD.{column} AS t UNION SELECT NEW.{column}"),
    };
    let keep = if scope == "directory" {
        ""
    } else {
        "WHERE t IS NOT NULL"
    };
    format!(
        "CREATE TRIGGER {table}_{scope}_invalidate_{op} AFTER {event} ON {table} {when} BEGIN \
         INSERT INTO invalidations (at_ms, scope, target) SELECT {now}, '{scope}', t FROM ({targets}) {keep}; END",
        op = event.to_lowercase()
    )
}
