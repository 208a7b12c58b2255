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
