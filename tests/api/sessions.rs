//! Sessions: token tampering, refresh rotation and reuse, concurrent
//! refresh, logout, password change, verify, deactivated and deleted users.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use sea_orm::ConnectionTrait;

use serde_json::{Value, json};

use carebook::clock::Clock;

use crate::helpers::{TestApp, spawn_app};

async fn me(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/auth/me", token).await.status.as_u16()
}

async fn refresh(app: &TestApp, token: &str) -> crate::helpers::Reply {
    app.public(Method::POST, "/api/v1/auth/refresh", Some(json!({ "refresh": token })))
        .await
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[tokio::test]
async fn tampered_forged_and_foreign_tokens_are_all_refused() {
    let app = spawn_app().await;
    let (_, token) = app.patient().await;
    assert_eq!(me(&app, &token).await, 200);
    let secret = app.state.config.jwt_secret.expose().as_bytes().to_vec();
    let claims = TestApp::claims(&token);

    // alg=none, with and without a signature part.
    let payload = token.split('.').nth(1).unwrap();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    assert_eq!(me(&app, &format!("{none_header}.{payload}.")).await, 401);
    assert_eq!(me(&app, &format!("{none_header}.{payload}")).await, 401);
    // Another key; another algorithm with the right key.
    assert_eq!(
        me(
            &app,
            &sign(&claims, Algorithm::HS256, b"another key that is long enough!!")
        )
        .await,
        401
    );
    assert_eq!(me(&app, &sign(&claims, Algorithm::HS512, &secret)).await, 401);
    assert_eq!(me(&app, &sign(&claims, Algorithm::HS384, &secret)).await, 401);
    // A changed payload under the original signature (role escalation).
    let mut escalated = claims.clone();
    escalated["role"] = json!("admin");
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&escalated).unwrap());
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[1] = &forged_payload;
    assert_eq!(me(&app, &parts.join(".")).await, 401);
    // Right key and algorithm, but wrong audience or issuer, or no expiry.
    for (claim, value) in [
        ("aud", json!("someone-else")),
        ("iss", json!("evil")),
        ("exp", Value::Null),
    ] {
        let mut other = claims.clone();
        if value.is_null() {
            other.as_object_mut().unwrap().remove(claim);
        } else {
            other[claim] = value;
        }
        assert_eq!(me(&app, &sign(&other, Algorithm::HS256, &secret)).await, 401, "{claim}");
    }
    // The token of a login's two-factor step is no access token.
    let user = TestApp::user_of(&token);
    let mfa = app.state.keys.issue_mfa(user, app.clock.now()).unwrap();
    assert_eq!(me(&app, &mfa).await, 401);
    // Every refusal is a problem document with the Bearer challenge.
    let reply = app.get("/api/v1/auth/me", "garbage").await.expect(401);
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    assert_eq!(reply.headers["www-authenticate"], "Bearer");
    // A valid token is accepted up to its expiry plus the 10-second leeway, not after.
    app.clock.advance(TimeDelta::minutes(15) + TimeDelta::seconds(10));
    assert_eq!(me(&app, &token).await, 200);
    app.clock.advance(TimeDelta::seconds(1));
    assert_eq!(me(&app, &token).await, 401);
}

#[tokio::test]
async fn deactivated_and_deleted_users_are_refused_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (nurse_id, nurse) = app.staff(&admin, "nurse", None).await;
    let (doctor_id, doctor) = app.staff(&admin, "doctor", None).await;
    assert_eq!(me(&app, &nurse).await, 200);
    app.post(&format!("/api/v1/users/{nurse_id}/deactivate"), &admin, json!({}))
        .await
        .expect(200);
    assert_eq!(me(&app, &nurse).await, 401, "an unexpired token of a deactivated user");
    let verify = app
        .public(Method::POST, "/api/v1/auth/verify", Some(json!({ "token": nurse })))
        .await;
    assert_eq!(verify.status, 401);

    // Deleted outright (as a database administrator might).
    use carebook::db::entities::{refresh_token, user};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let db = app.state.db.conn();
    refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::UserId.eq(doctor_id))
        .exec(db)
        .await
        .unwrap();
    let deleted = user::Entity::delete_by_id(doctor_id).exec(db).await.unwrap();
    assert_eq!(deleted.rows_affected, 1);
    assert_eq!(me(&app, &doctor).await, 401);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_ends_the_session_with_its_access_tokens() {
    let app = spawn_app().await;
    let signed_up = app
        .public(
            Method::POST,
            "/api/v1/auth/register",
            Some(json!({"username": "nadia", "password": "a long passphrase", "first_name": "N", "last_name": "I"})),
        )
        .await
        .expect(201);
    let first_refresh = signed_up.body["refresh"].as_str().unwrap().to_owned();
    let second = refresh(&app, &first_refresh).await.expect(200);
    let newest_access = second.body["access"].as_str().unwrap().to_owned();
    let newest_refresh = second.body["refresh"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &newest_access).await, 200);
    assert_eq!(second.body["user"]["username"], "nadia");

    // A second login is another session, untouched by what happens to the first.
    let other = app.login("nadia", "a long passphrase").await;

    // Within the reuse leeway the spent token gets the same pair again…
    let repeat = refresh(&app, &first_refresh).await.expect(200);
    assert_eq!(repeat.body["refresh"], newest_refresh.as_str());
    // …after it, the spent token coming back ends the whole session.
    app.clock.advance(TimeDelta::seconds(11));
    refresh(&app, &first_refresh).await.expect(401);
    refresh(&app, &newest_refresh).await.expect(401);
    assert_eq!(
        me(&app, &newest_access).await,
        401,
        "the newest access token of the family"
    );
    assert_eq!(me(&app, &other).await, 200);

    // Refresh tokens expire after 7 days.
    let fresh = app.try_login("nadia", "a long passphrase").await.expect(200);
    app.clock.advance(TimeDelta::days(7) + TimeDelta::seconds(1));
    refresh(&app, fresh.body["refresh"].as_str().unwrap()).await.expect(401);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_all_get_its_one_successor() {
    let app = spawn_app().await;
    let login = app
        .public(
            Method::POST,
            "/api/v1/auth/register",
            Some(json!({"username": "racer", "password": "a long passphrase", "first_name": "R", "last_name": "C"})),
        )
        .await
        .expect(201);
    let token = login.body["refresh"].as_str().unwrap().to_owned();
    let attempts = (0..20).map(|_| refresh(&app, &token));
    let replies = futures::future::join_all(attempts).await;
    assert!(replies.iter().all(|r| r.status == 200));
    let successors: std::collections::HashSet<&str> =
        replies.iter().map(|r| r.body["refresh"].as_str().unwrap()).collect();
    assert_eq!(successors.len(), 1, "one rotation, repeated to every caller");
    let successor = successors.into_iter().next().unwrap().to_owned();
    refresh(&app, &successor).await.expect(200);
}

#[tokio::test]
async fn logout_ends_one_session_and_logout_all_ends_every_one() {
    let app = spawn_app().await;
    app.public(
        Method::POST,
        "/api/v1/auth/register",
        Some(json!({"username": "mitu", "password": "a long passphrase", "first_name": "M", "last_name": "A"})),
    )
    .await
    .expect(201);
    let phone = app.try_login("mitu", "a long passphrase").await.expect(200);
    let laptop = app.try_login("mitu", "a long passphrase").await.expect(200);
    let tablet = app.login("mitu", "a long passphrase").await;
    let phone_access = phone.body["access"].as_str().unwrap();
    let laptop_access = laptop.body["access"].as_str().unwrap();

    let out = app
        .post("/api/v1/auth/logout", phone_access, json!({}))
        .await
        .expect(204);
    assert_eq!(out.body, Value::Null);
    assert_eq!(me(&app, phone_access).await, 401);
    refresh(&app, phone.body["refresh"].as_str().unwrap()).await.expect(401);
    assert_eq!(me(&app, laptop_access).await, 200);

    app.post("/api/v1/auth/logout-all", laptop_access, json!({}))
        .await
        .expect(204);
    assert_eq!(me(&app, laptop_access).await, 401);
    assert_eq!(me(&app, &tablet).await, 401);
    refresh(&app, laptop.body["refresh"].as_str().unwrap())
        .await
        .expect(401);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    app.public(
        Method::POST,
        "/api/v1/auth/register",
        Some(json!({"username": "rupa", "password": "a long passphrase", "first_name": "R", "last_name": "B"})),
    )
    .await
    .expect(201);
    let here = app.login("rupa", "a long passphrase").await;
    let elsewhere = app.login("rupa", "a long passphrase").await;
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let wrong = app
        .post(
            "/api/v1/auth/change-password",
            &here,
            change("not it", "another fine passphrase"),
        )
        .await
        .expect(422);
    assert!(wrong.body["errors"]["current_password"].is_array());
    for weak in ["password123", "short", "rupa", "a long passphrase"] {
        let refused = app
            .post("/api/v1/auth/change-password", &here, change("a long passphrase", weak))
            .await
            .expect(422);
        assert!(
            refused.body["errors"]["new_password"].is_array(),
            "{weak}: {}",
            refused.body
        );
    }
    app.post(
        "/api/v1/auth/change-password",
        &here,
        change("a long passphrase", "another fine passphrase"),
    )
    .await
    .expect(204);
    assert_eq!(me(&app, &here).await, 200, "this session stays");
    assert_eq!(me(&app, &elsewhere).await, 401, "other sessions end");
    app.try_login("rupa", "a long passphrase").await.expect(401);
    app.try_login("rupa", "another fine passphrase").await.expect(200);
}

#[tokio::test]
async fn verify_checks_a_token_against_its_session() {
    let app = spawn_app().await;
    let (_, token) = app.patient().await;
    let ok = app
        .public(Method::POST, "/api/v1/auth/verify", Some(json!({ "token": token })))
        .await
        .expect(200);
    assert_eq!(ok.body["valid"], true);
    assert_eq!(ok.body["role"], "patient");
    assert_eq!(ok.body["user_id"], TestApp::user_of(&token).to_string());
    app.post("/api/v1/auth/logout", &token, json!({})).await.expect(204);
    app.public(Method::POST, "/api/v1/auth/verify", Some(json!({ "token": token })))
        .await
        .expect(401);
    app.public(Method::POST, "/api/v1/auth/verify", Some(json!({ "token": "x.y.z" })))
        .await
        .expect(401);
}

#[tokio::test]
async fn passwords_follow_the_rules_and_are_stored_as_argon2id() {
    let app = spawn_app().await;
    let register = |username: &str, password: &str, email: Option<&str>| {
        let mut body = json!({"username": username, "password": password, "first_name": "A", "last_name": "B"});
        if let Some(email) = email {
            body["email"] = json!(email);
        }
        app.public(Method::POST, "/api/v1/auth/register", Some(body))
    };
    // Common passwords (from the shipped list), too short, too long, equal to the username or email.
    for (password, why) in [
        ("password", "common"),
        ("iloveyou", "common"),
        ("qwertyuiop", "common"),
        ("1234567", "short"),
        (&"x".repeat(129)[..], "long"),
        ("samira.k", "username"),
        ("samira@example.com", "email"),
    ] {
        let refused = register("samira.k", password, Some("samira@example.com")).await;
        assert_eq!(refused.status, 422, "{why}: {}", refused.body);
        assert!(refused.body["errors"]["password"].is_array(), "{why}");
    }
    // No composition rules: a long lower-case phrase, or any characters at all.
    register("samira.k", "correct horse battery staple", None)
        .await
        .expect(201);
    register("other.user", "পাসওয়ার্ড ১২৩ 🔑 ok", None).await.expect(201);
    let stored: String = {
        let row = app
            .state
            .db
            .conn()
            .query_one_raw(sea_orm::Statement::from_string(
                app.state.db.backend(),
                "SELECT password_hash FROM users WHERE username = 'samira.k'",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "password_hash").unwrap()
    };
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
}
