//! Sign-up, login by username/email/phone, tokens and refresh rotation.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

async fn register(app: &crate::helpers::TestApp, body: serde_json::Value) -> crate::helpers::Reply {
    app.send(Method::POST, "/api/v1/auth/register", None, Some(body)).await
}

async fn login(app: &crate::helpers::TestApp, username: &str, password: &str) -> crate::helpers::Reply {
    app.send(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await
}

#[tokio::test]
async fn a_patient_signs_up_and_logs_in_by_username_email_or_phone() {
    let app = spawn_app().await;
    let signed_up = register(
        &app,
        json!({"username": "Rahim.Uddin", "email": "Rahim@Example.com", "phone": "01712345678", "password": "a long passphrase",
               "first_name": "Rahim", "last_name": "Uddin", "date_of_birth": "1988-04-12", "sex": "male"}),
    )
    .await
    .expect(201);
    assert_eq!(signed_up.body["token_type"], "Bearer");
    assert_eq!(signed_up.body["expires_in"], 900);
    let user = &signed_up.body["user"];
    assert_eq!(user["username"], "rahim.uddin");
    assert_eq!(user["email"], "rahim@example.com");
    assert_eq!(user["phone"], "+8801712345678");
    assert_eq!(user["role"], "patient");
    assert!(user["patient_id"].is_string());
    assert!(user.get("password_hash").is_none());

    for name in ["rahim.uddin", "RAHIM@example.com", "+880 1712-345678", "01712345678"] {
        let reply = login(&app, name, "a long passphrase").await.expect(200);
        assert_eq!(reply.body["user"]["id"], user["id"], "login as {name}");
    }
    let token = login(&app, "rahim.uddin", "a long passphrase").await.body["access"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = app.get("/api/v1/auth/me", &token).await.expect(200);
    assert_eq!(me.body["patient_id"], user["patient_id"]);
    let record = app
        .get(
            &format!("/api/v1/patients/{}", user["patient_id"].as_str().unwrap()),
            &token,
        )
        .await
        .expect(200);
    assert_eq!(record.body["date_of_birth"], "1988-04-12");
}

#[tokio::test]
async fn wrong_credentials_get_one_generic_answer() {
    let app = spawn_app().await;
    let (_, _) = app.patient().await;
    register(
        &app,
        json!({"username": "karim", "password": "a long passphrase", "first_name": "K", "last_name": "M"}),
    )
    .await
    .expect(201);
    let wrong = login(&app, "karim", "wrong password").await.expect(401);
    let unknown = login(&app, "nobody", "wrong password").await.expect(401);
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
}

#[tokio::test]
async fn sign_up_refuses_weak_duplicate_and_privileged_requests() {
    let app = spawn_app().await;
    let base =
        json!({"username": "salma", "password": "a long passphrase", "first_name": "Salma", "last_name": "Khatun"});
    let mut short = base.clone();
    short["password"] = json!("short");
    let weak = register(&app, short).await.expect(422);
    assert!(weak.body["errors"]["password"].is_array());
    let mut same = base.clone();
    same["password"] = json!("salma");
    register(&app, same).await.expect(422);
    let mut bad = base.clone();
    bad["email"] = json!("not-an-email");
    bad["phone"] = json!("12");
    bad["username"] = json!("1abc");
    let invalid = register(&app, bad).await.expect(422);
    for field in ["email", "phone", "username"] {
        assert!(
            invalid.body["errors"][field].is_array(),
            "{field} named in {}",
            invalid.body
        );
    }
    let mut privileged = base.clone();
    privileged["role"] = json!("admin");
    let refused = register(&app, privileged).await.expect(400);
    assert!(refused.body["errors"]["role"].is_array());
    register(&app, base.clone()).await.expect(201);
    let taken = register(&app, base).await.expect_rule(409, "already_exists");
    assert!(taken.body["detail"].as_str().unwrap().contains("username"));
    assert_eq!(app.count("users").await, 1, "nothing half-written");
    assert_eq!(app.count("patients").await, 1);
}

#[tokio::test]
async fn refresh_rotates_and_a_spent_token_revokes_the_family() {
    let app = spawn_app().await;
    let first = register(
        &app,
        json!({"username": "nadia", "password": "a long passphrase", "first_name": "N", "last_name": "I"}),
    )
    .await
    .expect(201);
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh": token})),
            )
            .await
        }
    };
    let original = first.body["refresh"].as_str().unwrap().to_owned();
    let second = refresh(original.clone()).await.expect(200);
    let newest = second.body["refresh"].as_str().unwrap().to_owned();
    assert_ne!(newest, original);
    // Reusing the spent token after the reuse leeway fails and revokes the
    // family, so the newest fails too.
    app.clock.advance(chrono::TimeDelta::seconds(11));
    refresh(original).await.expect(401);
    refresh(newest).await.expect(401);
    refresh("garbage".into()).await.expect(401);
}

#[tokio::test]
async fn tokens_are_checked_against_the_clock_and_the_account() {
    let app = spawn_app().await;
    let (_, token) = app.patient().await;
    app.get("/api/v1/auth/me", &token).await.expect(200);
    app.get("/api/v1/auth/me", "not-a-jwt").await.expect(401);
    app.clock.advance(chrono::TimeDelta::minutes(16));
    app.get("/api/v1/auth/me", &token).await.expect(401);
}

#[tokio::test]
async fn only_admins_create_accounts() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, patient) = app.patient().await;
    let body = json!({"username": "dr.kabir", "password": "staff passphrase", "role": "doctor", "first_name": "Kabir", "last_name": "Hossain"});
    app.post("/api/v1/users", &patient, body.clone()).await.expect(403);
    let created = app.post("/api/v1/users", &admin, body).await.expect(201);
    assert_eq!(created.body["role"], "doctor");
    let patient_account = app
        .post("/api/v1/users", &admin, json!({"username": "pat.p", "password": "staff passphrase", "role": "patient", "first_name": "P", "last_name": "P"}))
        .await
        .expect(201);
    assert!(
        patient_account.body["patient_id"].is_string(),
        "a patient account comes with a patient record"
    );
    let listed = app.get("/api/v1/users?role=doctor", &admin).await.expect(200);
    assert_eq!(listed.body["count"], 1);
    app.get("/api/v1/users", &patient).await.expect(403);
}
