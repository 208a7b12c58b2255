//! Patient data kept where it belongs: not in the database server's log,
//! not in files other users of the machine can read.

use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

/// How many inserts and updates of users the database has been asked for
/// (a sequence: not rolled back with the statement that failed).
async fn user_writes(app: &TestApp) -> i64 {
    let row = app
        .state
        .db
        .conn()
        .query_one_raw(Statement::from_string(
            app.state.db.backend(),
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM user_writes",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// PostgreSQL logs every error with its detail, and a unique violation's
/// detail is the value: `Key (phone)=(+8801…) already exists`. A taken phone,
/// email or username is found before the write, so it raises no error at all.
#[tokio::test]
async fn a_taken_phone_email_or_username_never_reaches_the_database_as_an_error() {
    let app = spawn_app().await;
    if app.state.db.backend() != sea_orm::DbBackend::Postgres {
        return; // SQLite has no server log
    }
    let db = app.state.db.conn();
    for statement in [
        "CREATE SEQUENCE user_writes",
        "CREATE FUNCTION count_user_write() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN PERFORM nextval('user_writes'); RETURN NEW; END $$",
        "CREATE TRIGGER count_user_writes BEFORE INSERT OR UPDATE ON users \
         FOR EACH ROW EXECUTE FUNCTION count_user_write()",
    ] {
        db.execute_unprepared(statement).await.unwrap();
    }
    let sign_up = |body: serde_json::Value| app.public(Method::POST, "/api/v1/auth/register", Some(body));
    sign_up(
        json!({"username": "rokeya", "password": "a long passphrase", "first_name": "R", "last_name": "S",
                   "phone": "01711000111", "email": "rokeya@example.org"}),
    )
    .await
    .expect(201);
    let token = app.login("rokeya", "a long passphrase").await;
    sign_up(
        json!({"username": "other", "password": "a long passphrase", "first_name": "O", "last_name": "T",
                   "phone": "01711000222"}),
    )
    .await
    .expect(201);
    let other = app.login("other", "a long passphrase").await;

    let before = user_writes(&app).await;
    for (taken, field) in [
        (json!({"username": "xavier1", "phone": "+8801711000111"}), "phone"),
        (json!({"username": "xavier2", "email": "Rokeya@Example.org"}), "email"),
        (json!({"username": "rokeya"}), "username"),
    ] {
        let mut body = json!({"password": "a long passphrase", "first_name": "X", "last_name": "Y"});
        body.as_object_mut().unwrap().extend(taken.as_object().unwrap().clone());
        let refused = sign_up(body).await.expect_rule(409, "already_exists");
        assert!(
            refused.body["detail"].as_str().unwrap().starts_with(field),
            "{}",
            refused.body
        );
    }
    app.patch("/api/v1/profile", &other, json!({"phone": "01711000111"}))
        .await
        .expect_rule(409, "already_exists");
    assert_eq!(
        user_writes(&app).await,
        before,
        "no write of a taken value was attempted"
    );
    // A free value is written as usual.
    app.patch("/api/v1/profile", &token, json!({"phone": "01711000333"}))
        .await
        .expect(200);
    assert_eq!(user_writes(&app).await, before + 1);
}

/// The SQLite database (and its write-ahead log) is created readable and
/// writable by Carebook's own user only, like the secret files beside it.
#[cfg(unix)]
#[tokio::test]
async fn sqlite_files_are_created_for_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    if app.state.db.backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    app.patient().await; // something written: the WAL exists
    let path = app.database_url().trim_start_matches("sqlite://").to_owned();
    for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm")] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} is {mode:o}");
    }
}
