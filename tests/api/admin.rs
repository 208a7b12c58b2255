//! User administration, role changes (direct and by request), and logins
//! for patient records registered without one.

use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/auth/me", token).await.status.as_u16()
}

#[tokio::test]
async fn admins_list_create_update_deactivate_and_reactivate_accounts() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, patient) = app.patient().await;
    let body = |username: &str, role: &str| {
        json!({"username": username, "password": "staff passphrase", "role": role, "first_name": "First",
               "last_name": username, "email": format!("{username}@clinic.test")})
    };
    for (username, role) in [
        ("dr.kabir", "doctor"),
        ("nurse.lina", "nurse"),
        ("desk.omar", "receptionist"),
        ("admin.two", "admin"),
    ] {
        let created = app
            .post("/api/v1/users", &admin, body(username, role))
            .await
            .expect(201);
        assert_eq!(created.body["role"], role);
        assert!(
            created.headers["location"]
                .to_str()
                .unwrap()
                .ends_with(created.body["id"].as_str().unwrap())
        );
    }
    // An admin can create a patient account too: it gets a patient record.
    let patient_user = app
        .post("/api/v1/users", &admin, body("pat.rana", "patient"))
        .await
        .expect(201);
    assert!(patient_user.body["patient_id"].is_string());
    // Only admins.
    app.post("/api/v1/users", &patient, body("x.y.z", "doctor"))
        .await
        .expect(403);

    // List, filter by role and active flag, search, order.
    let doctors = app.get("/api/v1/users?role=doctor", &admin).await.expect(200);
    assert_eq!(doctors.body["count"], 1);
    let found = app.get("/api/v1/users?search=LINA", &admin).await.expect(200);
    assert_eq!(found.body["results"][0]["username"], "nurse.lina");
    let ordered = app
        .get("/api/v1/users?ordering=-username&page_size=2", &admin)
        .await
        .expect(200);
    assert_eq!(ordered.body["results"].as_array().unwrap().len(), 2);
    app.get("/api/v1/users?ordering=password_hash", &admin)
        .await
        .expect(400);

    // Update details; role, active flag and password are not fields of a patch.
    let nurse = found.body["results"][0]["id"].as_str().unwrap().to_owned();
    let read = app.get(&format!("/api/v1/users/{nurse}"), &admin).await.expect(200);
    let tag = read.headers["etag"].to_str().unwrap().to_owned();
    for forbidden in [
        json!({"role": "admin"}),
        json!({"is_active": false}),
        json!({"password": "x"}),
        json!({"id": Uuid::new_v4()}),
    ] {
        let refused = app
            .patch(&format!("/api/v1/users/{nurse}"), &admin, forbidden.clone())
            .await
            .expect(400);
        let field = forbidden.as_object().unwrap().keys().next().unwrap().clone();
        assert!(refused.body["errors"][&field].is_array(), "{field}: {}", refused.body);
    }
    let changed = app
        .patch(
            &format!("/api/v1/users/{nurse}"),
            &admin,
            json!({"last_name": "Begum", "phone": "01911000111"}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["phone"], "+8801911000111");
    // A stale If-Match is refused.
    let stale = app
        .client
        .patch(format!("{}/api/v1/users/{nurse}", app.address))
        .bearer_auth(&admin)
        .header("If-Match", tag)
        .json(&json!({"last_name": "Again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);

    // Deactivation ends the account's sessions at once and refuses logins; reactivation restores.
    let nurse_token = app.login("nurse.lina", "staff passphrase").await;
    app.post(&format!("/api/v1/users/{nurse}/deactivate"), &admin, json!({}))
        .await
        .expect(200);
    assert_eq!(me_status(&app, &nurse_token).await, 401);
    app.try_login("nurse.lina", "staff passphrase").await.expect(401);
    let inactive = app.get("/api/v1/users?is_active=false", &admin).await.expect(200);
    assert_eq!(inactive.body["count"], 1);
    app.post(&format!("/api/v1/users/{nurse}/reactivate"), &admin, json!({}))
        .await
        .expect(200);
    app.try_login("nurse.lina", "staff passphrase").await.expect(200);

    // Not one's own account.
    let me = TestApp::user_of(&admin);
    app.post(&format!("/api/v1/users/{me}/deactivate"), &admin, json!({}))
        .await
        .expect_rule(409, "own_account");
    app.put(&format!("/api/v1/users/{me}/role"), &admin, json!({"role": "patient"}))
        .await
        .expect_rule(409, "own_account");
    app.get(&format!("/api/v1/users/{}", Uuid::new_v4()), &admin)
        .await
        .expect(404);
}

#[tokio::test]
async fn a_password_reset_forces_a_change_before_anything_else() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (user, token) = app.staff(&admin, "receptionist", None).await;
    let username = app.get("/api/v1/auth/me", &token).await.body["username"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/users/{user}/reset-password"),
        &admin,
        json!({"password": "password"}),
    )
    .await
    .expect(422);
    app.post(
        &format!("/api/v1/users/{user}/reset-password"),
        &admin,
        json!({"password": "temporary passphrase"}),
    )
    .await
    .expect(204);
    assert_eq!(me_status(&app, &token).await, 401, "sessions end at a reset");
    let temporary = app.login(&username, "temporary passphrase").await;
    let me = app.get("/api/v1/auth/me", &temporary).await.expect(200);
    assert_eq!(me.body["must_change_password"], true);
    app.get("/api/v1/patients", &temporary)
        .await
        .expect_rule(403, "password_change_required");
    app.post(
        "/api/v1/auth/change-password",
        &temporary,
        json!({"current_password": "temporary passphrase", "new_password": "my own passphrase"}),
    )
    .await
    .expect(204);
    app.get("/api/v1/patients", &temporary).await.expect(200);
}

#[tokio::test]
async fn an_admin_assigns_a_role_directly_and_the_old_tokens_die() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (user, token) = app.staff(&admin, "nurse", None).await;
    let changed = app
        .put(
            &format!("/api/v1/users/{user}/role"),
            &admin,
            json!({"role": "receptionist"}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["role"], "receptionist");
    assert_eq!(me_status(&app, &token).await, 401, "a token carrying the old role");
    app.put(
        &format!("/api/v1/users/{user}/role"),
        &admin,
        json!({"role": "receptionist"}),
    )
    .await
    .expect_rule(409, "no_change");
    app.put(
        &format!("/api/v1/users/{user}/role"),
        &admin,
        json!({"role": "superuser"}),
    )
    .await
    .expect(400);
    // Becoming a patient brings a patient record.
    let patient = app
        .put(
            &format!("/api/v1/users/{user}/role"),
            &admin,
            json!({"role": "patient"}),
        )
        .await
        .expect(200);
    assert!(patient.body["patient_id"].is_string());
    let events = app.audit_events().await;
    let role_changes = events
        .iter()
        .filter(|e| e.route == "/api/v1/users/{id}/role" && e.status == 200)
        .count();
    assert_eq!(role_changes, 2, "every role change is audited");
}

#[tokio::test]
async fn role_change_requests_are_made_by_users_and_decided_by_admins() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (nurse_id, nurse) = app.staff(&admin, "nurse", None).await;
    let (_, doctor) = app.staff(&admin, "doctor", None).await;
    async fn ask(app: &TestApp, token: &str, role: &str) -> crate::helpers::Reply {
        app.post(
            "/api/v1/role-change-requests",
            token,
            json!({"requested_role": role, "reason": "I moved to the front desk."}),
        )
        .await
    }
    ask(&app, &nurse, "nurse").await.expect_rule(422, "same_role");
    let request = ask(&app, &nurse, "receptionist").await.expect(201);
    assert_eq!(request.body["status"], "pending");
    assert_eq!(request.body["current_role"], "nurse");
    let id = request.id();
    ask(&app, &nurse, "doctor").await.expect_rule(409, "request_pending");
    ask(&app, &admin, "doctor").await.expect(403);
    app.post(
        "/api/v1/role-change-requests",
        &nurse,
        json!({"requested_role": "admin", "reason": "x", "status": "approved"}),
    )
    .await
    .expect(400);

    // Own requests only; someone else's is hidden.
    app.get(&format!("/api/v1/role-change-requests/{id}"), &nurse)
        .await
        .expect(200);
    app.get(&format!("/api/v1/role-change-requests/{id}"), &doctor)
        .await
        .expect(404);
    assert_eq!(
        app.get("/api/v1/role-change-requests", &doctor).await.expect(200).body["count"],
        0
    );
    app.post(&format!("/api/v1/role-change-requests/{id}/approve"), &nurse, json!({}))
        .await
        .expect(403);

    let pending = app
        .get("/api/v1/role-change-requests?status=pending", &admin)
        .await
        .expect(200);
    assert_eq!(pending.body["count"], 1);
    let approved = app
        .post(
            &format!("/api/v1/role-change-requests/{id}/approve"),
            &admin,
            json!({"notes": "Welcome to reception."}),
        )
        .await
        .expect(200);
    assert_eq!(approved.body["status"], "approved");
    assert_eq!(approved.body["review_notes"], "Welcome to reception.");
    assert_eq!(approved.body["reviewed_by"], TestApp::user_of(&admin).to_string());
    assert_eq!(
        me_status(&app, &nurse).await,
        401,
        "the change ends the user's sessions"
    );
    let user = app.get(&format!("/api/v1/users/{nurse_id}"), &admin).await.expect(200);
    assert_eq!(user.body["role"], "receptionist");
    app.post(&format!("/api/v1/role-change-requests/{id}/reject"), &admin, json!({}))
        .await
        .expect_rule(409, "request_not_pending");

    // A rejection leaves the role alone.
    let second = ask(&app, &doctor, "admin").await.expect(201).id();
    let rejected = app
        .post(
            &format!("/api/v1/role-change-requests/{second}/reject"),
            &admin,
            json!({"notes": "No."}),
        )
        .await
        .expect(200);
    assert_eq!(rejected.body["status"], "rejected");
    assert_eq!(me_status(&app, &doctor).await, 200);
}

#[tokio::test]
async fn a_walk_in_patient_record_gets_a_login_later() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, receptionist) = app.staff(&admin, "receptionist", None).await;
    let walk_in = app
        .post(
            "/api/v1/patients",
            &receptionist,
            json!({"first_name": "Moyna", "last_name": "Begum", "phone": "01712000999"}),
        )
        .await
        .expect(201)
        .id();
    let (_, patient) = app.patient().await;
    let body = json!({"username": "moyna.begum", "password": "temporary passphrase"});
    app.post(&format!("/api/v1/patients/{walk_in}/account"), &patient, body.clone())
        .await
        .expect(403);
    let account = app
        .post(
            &format!("/api/v1/patients/{walk_in}/account"),
            &receptionist,
            body.clone(),
        )
        .await
        .expect(201);
    assert_eq!(account.body["patient_id"], walk_in.to_string());
    assert_eq!(
        account.body["phone"], "+8801712000999",
        "contact details come from the record"
    );
    assert_eq!(account.body["must_change_password"], true);
    let again = json!({"username": "moyna.two", "password": "temporary passphrase"});
    app.post(&format!("/api/v1/patients/{walk_in}/account"), &receptionist, again)
        .await
        .expect_rule(409, "patient_has_account");
    app.post(
        &format!("/api/v1/patients/{}/account", Uuid::new_v4()),
        &receptionist,
        body,
    )
    .await
    .expect(404);
    // The patient logs in by phone, changes the password, then sees their record.
    let token = app.login("01712000999", "temporary passphrase").await;
    app.get(&format!("/api/v1/patients/{walk_in}"), &token)
        .await
        .expect_rule(403, "password_change_required");
    app.post(
        "/api/v1/auth/change-password",
        &token,
        json!({"current_password": "temporary passphrase", "new_password": "moyna's own passphrase"}),
    )
    .await
    .expect(204);
    app.get(&format!("/api/v1/patients/{walk_in}"), &token)
        .await
        .expect(200);
}
