//! One's own profile, preferences and profile image.

use serde_json::{Value, json};

use crate::helpers::{TestApp, multipart, png, spawn_app};

#[tokio::test]
async fn a_patient_edits_contact_details_but_nothing_privileged() {
    let app = spawn_app().await;
    let (patient_id, token) = app.patient().await;
    let profile = app.get("/api/v1/profile", &token).await.expect(200);
    assert_eq!(profile.body["user"]["role"], "patient");
    assert_eq!(profile.body["patient"]["patient_id"], patient_id.to_string());
    assert!(profile.body["doctor"].is_null());
    let tag = profile.headers["etag"].to_str().unwrap().to_owned();

    // Mass assignment: role, active flag, ids, another role's fields — all 400, nothing applied.
    for (body, field) in [
        (json!({"role": "admin"}), "role"),
        (json!({"is_active": false}), "is_active"),
        (json!({"id": uuid::Uuid::new_v4()}), "id"),
        (json!({"user_id": uuid::Uuid::new_v4()}), "user_id"),
        (json!({"patient_id": uuid::Uuid::new_v4()}), "patient_id"),
        (json!({"bio": "I am a doctor now"}), "bio"),
        (json!({"allergies": "none"}), "allergies"),
    ] {
        let refused = app.patch("/api/v1/profile", &token, body).await.expect(400);
        assert!(refused.body["errors"][field].is_array(), "{field}: {}", refused.body);
    }
    let unchanged = app.get("/api/v1/profile", &token).await.expect(200);
    assert_eq!(unchanged.body["user"]["role"], "patient");
    assert_eq!(unchanged.headers["etag"].to_str().unwrap(), tag);

    let changed = app
        .patch(
            "/api/v1/profile",
            &token,
            json!({"phone": "01711222333", "address": "House 4, Road 7, Dhanmondi",
                   "emergency_contact_name": "Karim Uddin", "emergency_contact_phone": "01811222333"}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["user"]["phone"], "+8801711222333");
    assert_eq!(changed.body["patient"]["emergency_contact_phone"], "+8801811222333");
    assert_ne!(changed.headers["etag"].to_str().unwrap(), tag);
    // The patient record follows.
    let record = app
        .get(&format!("/api/v1/patients/{patient_id}"), &token)
        .await
        .expect(200);
    assert_eq!(record.body["phone"], "+8801711222333");
    assert_eq!(record.body["emergency_contact_name"], "Karim Uddin");
    // The phone is now a login.
    let username = changed.body["user"]["username"].as_str().unwrap().to_owned();
    let _ = username;
    app.try_login("01711222333", "patient passphrase").await.expect(200);

    // A stale If-Match is refused.
    let stale = app
        .client
        .patch(format!("{}/api/v1/profile", app.address))
        .bearer_auth(&token)
        .header("If-Match", &tag)
        .json(&json!({"first_name": "Late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    app.patch("/api/v1/profile", &token, json!({"phone": "12"}))
        .await
        .expect(422);
    app.patch("/api/v1/profile", &token, json!({"location_id": uuid::Uuid::new_v4()}))
        .await
        .expect(422);
}

#[tokio::test]
async fn a_doctor_edits_professional_details() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[("monday", "09:00", "12:00")]).await;
    let token = &clinic.doctor_token;
    let changed = app
        .patch(
            "/api/v1/profile",
            token,
            json!({"bio": "Interventional cardiologist.", "languages": ["Bangla", "English"], "years_of_experience": 14}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["doctor"]["years_of_experience"], 14);
    let public = app
        .get(&format!("/api/v1/doctors/{}", clinic.doctor), token)
        .await
        .expect(200);
    assert_eq!(public.body["bio"], "Interventional cardiologist.");
    assert_eq!(public.body["languages"], json!(["Bangla", "English"]));
    // Fee and licence are the administrator's; contact fields are patients'.
    app.patch("/api/v1/profile", token, json!({"consultation_fee": "1"}))
        .await
        .expect(400);
    app.patch("/api/v1/profile", token, json!({"licence_number": "X"}))
        .await
        .expect(400);
    let refused = app
        .patch("/api/v1/profile", token, json!({"address": "x"}))
        .await
        .expect(400);
    assert!(refused.body["errors"]["address"].is_array());
    // A receptionist has neither.
    let refused = app
        .patch("/api/v1/profile", &clinic.receptionist, json!({"bio": "x"}))
        .await
        .expect(400);
    assert!(refused.body["errors"]["bio"].is_array());
    app.patch("/api/v1/profile", &clinic.receptionist, json!({"first_name": "Front"}))
        .await
        .expect(200);
}

#[tokio::test]
async fn preferences_are_read_and_replaced() {
    let app = spawn_app().await;
    let (_, token) = app.patient().await;
    let defaults = app.get("/api/v1/profile/preferences", &token).await.expect(200);
    assert_eq!(
        defaults.body,
        json!({"language": "en", "notification_channels": ["email"], "appointment_reminders": true})
    );
    // No phone on this account: SMS cannot be chosen.
    let refused = app
        .put(
            "/api/v1/profile/preferences",
            &token,
            json!({"language": "bn", "notification_channels": ["sms"], "appointment_reminders": false}),
        )
        .await
        .expect(422);
    assert!(refused.body["errors"]["notification_channels"].is_array());
    app.patch("/api/v1/profile", &token, json!({"phone": "01715000111"}))
        .await
        .expect(200);
    let saved = app
        .put(
            "/api/v1/profile/preferences",
            &token,
            json!({"language": "bn", "notification_channels": ["sms", "push", "sms"], "appointment_reminders": false}),
        )
        .await
        .expect(200);
    assert_eq!(saved.body["notification_channels"], json!(["sms", "push"]));
    let read = app.get("/api/v1/profile/preferences", &token).await.expect(200);
    assert_eq!(read.body["language"], "bn");
    app.put(
        "/api/v1/profile/preferences",
        &token,
        json!({"language": "fr", "notification_channels": [], "appointment_reminders": true}),
    )
    .await
    .expect(400);
    app.put("/api/v1/profile/preferences", &token, json!({"language": "en"}))
        .await
        .expect(400);
}

async fn upload(app: &TestApp, token: &str, content_type: String, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/api/v1/profile/image", app.address))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn a_profile_image_is_sniffed_reencoded_and_stored() {
    let app = spawn_app().await;
    let (_, token) = app.patient().await;
    // Claimed to be a GIF, named .gif: the content (PNG) decides.
    let (content_type, body) = multipart("image", "me.gif", "image/gif", &png(1200, 900));
    let (status, stored) = upload(&app, &token, content_type, body).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["content_type"], "image/jpeg");
    assert_eq!(
        (stored["width"].as_u64(), stored["height"].as_u64()),
        (Some(512), Some(384))
    );
    assert_eq!(app.get("/api/v1/profile", &token).await.body["has_image"], true);

    let image = app
        .client
        .get(format!("{}/api/v1/profile/image", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/jpeg");
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    let bytes = image.bytes().await.unwrap();
    assert_eq!(image::guess_format(&bytes).unwrap(), image::ImageFormat::Jpeg);

    // Not an image, though it says it is.
    let (content_type, body) = multipart("image", "x.png", "image/png", b"<script>alert(1)</script>");
    let (status, problem) = upload(&app, &token, content_type, body).await;
    assert_eq!(status, 422);
    assert!(problem["errors"]["image"].is_array());
    // GIF is not accepted.
    let (content_type, body) = multipart("image", "x.gif", "image/gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
    assert_eq!(upload(&app, &token, content_type, body).await.0, 422);
    // Wrong field, wrong media type, too large.
    let (content_type, body) = multipart("photo", "me.png", "image/png", &png(10, 10));
    assert_eq!(upload(&app, &token, content_type, body).await.0, 400);
    assert_eq!(
        upload(&app, &token, "application/json".into(), b"{}".to_vec()).await.0,
        415
    );
    let (content_type, body) = multipart("image", "big.png", "image/png", &vec![0u8; 5 * 1024 * 1024 + 1]);
    let (status, problem) = upload(&app, &token, content_type, body).await;
    assert_eq!(status, 413, "{problem}");

    // Remove it.
    app.delete("/api/v1/profile/image", &token).await.expect(204);
    app.get("/api/v1/profile/image", &token).await.expect(404);
    app.delete("/api/v1/profile/image", &token).await.expect(404);
}
