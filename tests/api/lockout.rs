//! Abuse protection: account lockout, per-address throttling, login activity.

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

async fn sign_up(app: &TestApp, username: &str) {
    app.public(
        Method::POST,
        "/api/v1/auth/register",
        Some(json!({"username": username, "password": "the right passphrase", "first_name": "A", "last_name": "B"})),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn an_account_locks_after_consecutive_failures_for_a_growing_period() {
    let app = spawn_app().await;
    sign_up(&app, "kamal").await;
    let refused = app.try_login("kamal", "wrong").await.expect(401);
    let generic = refused.body["detail"].clone();
    // The default threshold is 5: four more failures lock the account.
    for _ in 0..4 {
        app.try_login("kamal", "wrong").await.expect(401);
    }
    // Locked: even the right password gets exactly the generic answer.
    let locked = app.try_login("kamal", "the right passphrase").await.expect(401);
    assert_eq!(locked.body["detail"], generic);
    let unknown = app.try_login("nobody.here", "the right passphrase").await.expect(401);
    assert_eq!(unknown.body["detail"], generic, "unknown users get the same answer");

    // The first lockout lasts 15 minutes.
    app.clock.advance(TimeDelta::minutes(14));
    app.try_login("kamal", "the right passphrase").await.expect(401);
    app.clock.advance(TimeDelta::minutes(2));
    // Five more failures lock it again, for twice as long.
    for _ in 0..5 {
        app.try_login("kamal", "wrong").await.expect(401);
    }
    app.clock.advance(TimeDelta::minutes(16));
    app.try_login("kamal", "the right passphrase").await.expect(401);
    app.clock.advance(TimeDelta::minutes(15));
    app.try_login("kamal", "the right passphrase").await.expect(200);

    // A success resets the counter: four failures and the right password still work.
    for _ in 0..4 {
        app.try_login("kamal", "wrong").await.expect(401);
    }
    app.try_login("kamal", "the right passphrase").await.expect(200);
}

#[tokio::test]
async fn the_lockout_policy_is_a_setting_and_an_admin_can_lift_a_lockout() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.set_setting(&admin, "security.lockout_threshold", json!(3)).await;
    sign_up(&app, "jamal").await;
    for _ in 0..3 {
        app.try_login("jamal", "wrong").await.expect(401);
    }
    app.try_login("jamal", "the right passphrase").await.expect(401);
    let user = app.get("/api/v1/users?search=jamal", &admin).await.expect(200).body["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/api/v1/users/{user}/reactivate"), &admin, json!({}))
        .await
        .expect(200);
    app.try_login("jamal", "the right passphrase").await.expect(200);
    // The threshold cannot be set above 10.
    app.put(
        "/api/v1/settings/security.lockout_threshold",
        &admin,
        json!({"value": 11}),
    )
    .await
    .expect(422);
}

#[tokio::test]
async fn one_address_failing_too_often_is_throttled() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.set_setting(&admin, "security.login_failures_per_address", json!(5))
        .await;
    sign_up(&app, "rafiq").await;
    // Different (mostly unknown) names: only the address links the attempts.
    for i in 0..5 {
        app.try_login(&format!("guess{i}"), "wrong").await.expect(401);
    }
    let throttled = app.try_login("rafiq", "the right passphrase").await.expect(429);
    assert_eq!(throttled.headers["retry-after"], "900");
    assert_eq!(throttled.headers["content-type"], "application/problem+json");
    app.clock.advance(TimeDelta::minutes(16));
    app.try_login("rafiq", "the right passphrase").await.expect(200);
}

#[tokio::test]
async fn every_login_attempt_is_recorded_without_the_password() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    sign_up(&app, "shapla").await;
    app.try_login("shapla", "wrong guess").await.expect(401);
    app.try_login("ghost", "wrong guess").await.expect(401);
    let ok = app.login("shapla", "the right passphrase").await;
    let user = TestApp::user_of(&ok);
    let mine = app
        .get(&format!("/api/v1/login-activity?user={user}"), &admin)
        .await
        .expect(200);
    let outcomes: Vec<&str> = mine.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["success", "failure"], "newest first");
    let row = &mine.body["results"][1];
    assert_eq!(row["ip"], "127.0.0.1");
    assert!(row["at"].is_string());
    let failures = app
        .get("/api/v1/login-activity?outcome=failure", &admin)
        .await
        .expect(200);
    // shapla's failure, the unknown name's failure (no user).
    assert_eq!(failures.body["count"], 2);
    assert!(
        failures.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["user_id"].is_null())
    );
    assert!(!failures.body.to_string().contains("wrong guess"));
    let (_, patient) = app.patient().await;
    app.get("/api/v1/login-activity", &patient).await.expect(403);
}
