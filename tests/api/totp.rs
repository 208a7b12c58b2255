//! Two-factor authentication (TOTP, RFC 6238) and recovery codes.

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::{Value, json};

use carebook::accounts::two_factor::code_at;
use carebook::clock::Clock;

use crate::helpers::{TestApp, spawn_app};

fn code(app: &TestApp, username: &str, secret: &str) -> String {
    code_at(username, secret, app.clock.now().timestamp() as u64).unwrap()
}

async fn second_step(app: &TestApp, mfa_token: &Value, code: &str) -> crate::helpers::Reply {
    app.public(
        Method::POST,
        "/api/v1/auth/login/totp",
        Some(json!({"mfa_token": mfa_token, "code": code})),
    )
    .await
}

#[tokio::test]
async fn enrolment_login_with_a_code_recovery_codes_and_disabling() {
    let app = spawn_app().await;
    app.public(
        Method::POST,
        "/api/v1/auth/register",
        Some(json!({"username": "tania", "password": "a long passphrase", "first_name": "T", "last_name": "A"})),
    )
    .await
    .expect(201);
    let token = app.login("tania", "a long passphrase").await;
    let enrolment = app.post("/api/v1/auth/totp/enrol", &token, json!({})).await.expect(200);
    let secret = enrolment.body["secret"].as_str().unwrap().to_owned();
    let uri = enrolment.body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Carebook:tania?"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")) && uri.contains("issuer=Carebook"));

    // Not on until confirmed: login is still one step.
    assert!(app.try_login("tania", "a long passphrase").await.expect(200).body["access"].is_string());
    app.post("/api/v1/auth/totp/confirm", &token, json!({"code": "000000"}))
        .await
        .expect(422);
    let confirmed = app
        .post(
            "/api/v1/auth/totp/confirm",
            &token,
            json!({"code": code(&app, "tania", &secret)}),
        )
        .await
        .expect(200);
    let recovery: Vec<String> = serde_json::from_value(confirmed.body["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    app.post("/api/v1/auth/totp/enrol", &token, json!({}))
        .await
        .expect_rule(409, "two_factor_enabled");
    assert_eq!(app.get("/api/v1/auth/me", &token).await.body["totp_enabled"], true);

    // Login now asks for a code.
    let first = app.try_login("tania", "a long passphrase").await.expect(200);
    assert_eq!(first.body["mfa_required"], true);
    assert!(first.body.get("access").is_none());
    let mfa = first.body["mfa_token"].clone();
    // The code used to confirm cannot be used again (same time step).
    second_step(&app, &mfa, &code(&app, "tania", &secret)).await.expect(401);
    second_step(&app, &mfa, "123456").await.expect(401);
    app.clock.advance(TimeDelta::seconds(30));
    let current = code(&app, "tania", &secret);
    let done = second_step(&app, &mfa, &current).await.expect(200);
    assert!(done.body["access"].is_string());
    assert_eq!(done.body["user"]["username"], "tania");
    second_step(&app, &mfa, &current).await.expect(401);

    // A recovery code works once.
    let again = app.try_login("tania", "a long passphrase").await.expect(200).body["mfa_token"].clone();
    second_step(&app, &again, &recovery[0]).await.expect(200);
    second_step(&app, &again, &recovery[0]).await.expect(401);
    // The step token expires after 5 minutes.
    app.clock.advance(TimeDelta::minutes(6));
    second_step(&app, &again, &recovery[1]).await.expect(401);

    // Disabling needs a code; then login is one step again.
    let token = app.renew(&token);
    app.post("/api/v1/auth/totp/disable", &token, json!({"code": "nope"}))
        .await
        .expect(422);
    app.post("/api/v1/auth/totp/disable", &token, json!({"code": recovery[2]}))
        .await
        .expect(204);
    assert!(app.try_login("tania", "a long passphrase").await.expect(200).body["access"].is_string());
    app.post("/api/v1/auth/totp/disable", &token, json!({"code": recovery[3]}))
        .await
        .expect_rule(409, "two_factor_not_enabled");

    // Second-step failures are login activity too.
    let admin = app.admin().await;
    let failures = app
        .get("/api/v1/login-activity?outcome=mfa_failure", &admin)
        .await
        .expect(200);
    assert!(failures.body["count"].as_u64().unwrap() >= 3);
}

#[tokio::test]
async fn a_setting_can_require_two_factor_for_administrators() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.set_setting(&admin, "security.require_admin_2fa", json!(true)).await;
    let blocked = app
        .get("/api/v1/users", &admin)
        .await
        .expect_rule(403, "two_factor_required");
    assert!(
        blocked.body["detail"]
            .as_str()
            .unwrap()
            .contains("/api/v1/auth/totp/enrol")
    );
    // Their own account stays reachable, so they can enrol.
    let me = app.get("/api/v1/auth/me", &admin).await.expect(200);
    let username = me.body["username"].as_str().unwrap().to_owned();
    let secret = app
        .post("/api/v1/auth/totp/enrol", &admin, json!({}))
        .await
        .expect(200)
        .body["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        "/api/v1/auth/totp/confirm",
        &admin,
        json!({"code": code(&app, &username, &secret)}),
    )
    .await
    .expect(200);
    app.get("/api/v1/users", &admin).await.expect(200);
    // Other roles are not affected.
    let (_, patient) = app.patient().await;
    app.get("/api/v1/appointments", &patient).await.expect(200);
}

/// The stored TOTP secret of a user, as the database holds it.
async fn stored_secret(app: &TestApp, username: &str) -> Option<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .state
        .db
        .conn()
        .query_one_raw(Statement::from_sql_and_values(
            app.state.db.backend(),
            match app.state.db.backend() {
                sea_orm::DbBackend::Postgres => "SELECT totp_secret FROM users WHERE username = $1",
                _ => "SELECT totp_secret FROM users WHERE username = ?",
            },
            [username.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<Option<String>>("", "totp_secret").unwrap()
}

/// Log in with password and code on the node at `address`; the status.
async fn login_with_code(app: &TestApp, address: &str, username: &str, code: &str) -> u16 {
    let first: Value = app
        .client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": "a long passphrase"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.client
        .post(format!("{address}/api/v1/auth/login/totp"))
        .json(&json!({"mfa_token": first["mfa_token"], "code": code}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn totp_secrets_are_sealed_at_rest_under_a_key_that_rotates() {
    use carebook::sealing::DataKeys;
    let app = spawn_app().await;
    let token = {
        app.public(
            Method::POST,
            "/api/v1/auth/register",
            Some(json!({"username": "rumana", "password": "a long passphrase", "first_name": "R", "last_name": "K"})),
        )
        .await
        .expect(201);
        app.login("rumana", "a long passphrase").await
    };
    let secret = app
        .post("/api/v1/auth/totp/enrol", &token, json!({}))
        .await
        .expect(200)
        .body["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        "/api/v1/auth/totp/confirm",
        &token,
        json!({"code": code(&app, "rumana", &secret)}),
    )
    .await
    .expect(200);
    let sealed = stored_secret(&app, "rumana").await.unwrap();
    let old_key = app.state.config.data_keys.current_id().to_owned();
    assert!(
        sealed.starts_with(&format!("cb1.{old_key}.")),
        "sealed under the data key: {sealed}"
    );
    assert!(!sealed.contains(&secret), "the database does not hold the secret");

    // Rotate: a node with a new key and the old one as previous still opens it…
    let test_key = "dGVzdC1kYXRhLWtleS10ZXN0LWRhdGEta2V5LTAxMjM=".to_owned();
    let new_key = DataKeys::generate_key();
    let (rotating, state) = app
        .node_with(app.state.db.clone(), |c| {
            c.data_keys = DataKeys::new(&new_key, std::slice::from_ref(&test_key)).unwrap();
        })
        .await;
    app.clock.advance(TimeDelta::seconds(30));
    assert_eq!(
        login_with_code(&app, &rotating, "rumana", &code(&app, "rumana", &secret)).await,
        200
    );
    // …re-seals everything under the new key…
    let resealed = carebook::accounts::two_factor::seal_stored_secrets(&state, true)
        .await
        .unwrap();
    assert_eq!(resealed, 1);
    let now_sealed = stored_secret(&app, "rumana").await.unwrap();
    assert!(now_sealed.starts_with(&format!("cb1.{}.", state.config.data_keys.current_id())));
    // …after which the old key can go.
    let (new_only, _) = app
        .node_with(app.state.db.clone(), |c| {
            c.data_keys = DataKeys::new(&new_key, &[]).unwrap()
        })
        .await;
    app.clock.advance(TimeDelta::seconds(30));
    assert_eq!(
        login_with_code(&app, &new_only, "rumana", &code(&app, "rumana", &secret)).await,
        200
    );
    app.clock.advance(TimeDelta::seconds(30));
    assert_eq!(
        login_with_code(&app, &app.address, "rumana", &code(&app, "rumana", &secret)).await,
        500,
        "a node without the key cannot open it (and says so in its log, not the answer)"
    );

    // A secret stored in plain text (before sealing) is sealed when a node starts.
    use sea_orm::ConnectionTrait;
    app.state
        .db
        .conn()
        .execute_unprepared(&format!(
            "UPDATE users SET totp_secret = '{secret}' WHERE username = 'rumana'"
        ))
        .await
        .unwrap();
    let (_started, _) = app.node_with(app.state.db.clone(), |_| {}).await;
    let mut sealed_at_start = None;
    for _ in 0..50 {
        let stored = stored_secret(&app, "rumana").await.unwrap();
        if stored.starts_with("cb1.") {
            sealed_at_start = Some(stored);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let sealed_at_start = sealed_at_start.expect("sealed when the node started");
    assert!(sealed_at_start.starts_with(&format!("cb1.{old_key}.")));
    app.clock.advance(TimeDelta::seconds(30));
    assert_eq!(
        login_with_code(&app, &app.address, "rumana", &code(&app, "rumana", &secret)).await,
        200
    );
}
