//! System settings: typed, range-checked, public or not, audited, effective without a restart.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn admins_read_and_change_settings_and_the_public_reads_public_ones() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, patient) = app.patient().await;
    let all = app.get("/api/v1/settings", &admin).await.expect(200);
    assert_eq!(all.body["count"], 13);
    let notice = app
        .get("/api/v1/settings/booking.minimum_notice_minutes", &admin)
        .await
        .expect(200);
    assert_eq!(notice.body["value"], 60);
    assert_eq!(notice.body["default"], 60);
    assert_eq!(notice.body["type"], "integer");
    assert_eq!(notice.body["category"], "booking");
    assert!(notice.body["updated_at"].is_null());
    let security = app.get("/api/v1/settings?category=security", &admin).await.expect(200);
    assert_eq!(security.body["count"], 4);
    app.get("/api/v1/settings", &patient).await.expect(403);
    app.get("/api/v1/settings/booking.horizon_days", &patient)
        .await
        .expect(403);

    let public = app
        .public(Method::GET, "/api/v1/settings/public", None)
        .await
        .expect(200);
    let keys: Vec<&str> = public.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "booking.minimum_notice_minutes",
            "booking.horizon_days",
            "booking.cancellation_window_minutes",
            "booking.check_in_open_minutes",
            "booking.hold_minutes"
        ]
    );

    // Type and range are checked; unknown keys are 404.
    async fn put(
        app: &crate::helpers::TestApp,
        admin: &str,
        key: &str,
        value: serde_json::Value,
    ) -> crate::helpers::Reply {
        app.put(&format!("/api/v1/settings/{key}"), admin, json!({ "value": value }))
            .await
    }
    put(&app, &admin, "booking.horizon_days", json!(0)).await.expect(422);
    put(&app, &admin, "booking.horizon_days", json!(true)).await.expect(422);
    put(&app, &admin, "booking.horizon_days", json!("30")).await.expect(400);
    put(&app, &admin, "security.require_admin_2fa", json!(1))
        .await
        .expect(422);
    put(&app, &admin, "no.such_setting", json!(1)).await.expect(404);
    app.put("/api/v1/settings/booking.horizon_days", &patient, json!({"value": 30}))
        .await
        .expect(403);

    let changed = put(&app, &admin, "booking.horizon_days", json!(30)).await.expect(200);
    assert_eq!(changed.body["value"], 30);
    assert_eq!(
        changed.body["updated_by"],
        crate::helpers::TestApp::user_of(&admin).to_string()
    );
    let audited = app.audit_events().await;
    let event = audited
        .iter()
        .find(|e| e.method == "PUT" && e.status == 200)
        .expect("the change is audited");
    assert_eq!(event.object_type.as_deref(), Some("setting"));
    assert_eq!(event.object_id.as_deref(), Some("booking.horizon_days"));
    assert_eq!(event.action, "settings_write");

    app.delete("/api/v1/settings/booking.horizon_days", &admin)
        .await
        .expect(204);
    let reset = app
        .get("/api/v1/settings/booking.horizon_days", &admin)
        .await
        .expect(200);
    assert_eq!(reset.body["value"], 90);
    assert!(reset.body["updated_at"].is_null());
}

#[tokio::test]
async fn a_changed_booking_setting_applies_to_the_next_request() {
    let app = spawn_app().await;
    let clinic = app
        .clinic(
            "Asia/Dhaka",
            &[("sunday", "09:00", "17:00"), ("monday", "09:00", "17:00")],
        )
        .await;
    let (_, patient) = app.patient().await;
    // Now is Sunday 06:00 in Dhaka; 10:00 today is 4 hours ahead.
    let start = "2026-11-22T04:00:00Z";
    app.set_setting(&clinic.admin, "booking.minimum_notice_minutes", json!(360))
        .await;
    app.book(&patient, clinic.doctor, start, None)
        .await
        .expect_rule(422, "minimum_notice");
    let free = app
        .get(
            &format!(
                "/api/v1/doctors/{}/availability?from=2026-11-22&to=2026-11-22",
                clinic.doctor
            ),
            &patient,
        )
        .await
        .expect(200);
    assert!(
        !free.body.to_string().contains(start),
        "availability follows the setting too"
    );
    app.set_setting(&clinic.admin, "booking.minimum_notice_minutes", json!(60))
        .await;
    app.book(&patient, clinic.doctor, start, None).await.expect(201);
}

#[tokio::test]
async fn reminder_hours_are_a_list_of_distinct_hours() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let path = "/api/v1/settings/notifications.reminder_hours";
    let read = app.get(path, &admin).await.expect(200);
    assert_eq!(read.body["type"], "integer_list");
    assert_eq!(read.body["value"], json!([24]));
    assert_eq!(read.body["minimum"], 1);
    assert_eq!(read.body["maximum"], 336);
    let set = app.put(path, &admin, json!({"value": [48, 2]})).await.expect(200);
    assert_eq!(set.body["value"], json!([48, 2]));
    app.put(path, &admin, json!({"value": [1.5]})).await.expect(400);
    for refused in [json!([0]), json!([2, 2]), json!([1, 2, 3, 4, 5, 6])] {
        let reply = app.put(path, &admin, json!({"value": refused})).await;
        assert_eq!(reply.status, 422, "{refused}: {:?}", reply.body);
    }
    app.put(path, &admin, json!({"value": true})).await.expect(422);
    app.put(path, &admin, json!({"value": []})).await.expect(200);
    assert_eq!(app.get(path, &admin).await.expect(200).body["value"], json!([]));
}
