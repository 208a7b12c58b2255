//! Free slots: working hours minus time off minus appointments, across DST.

use serde_json::json;

use crate::helpers::{at, spawn_app};

fn local_starts(reply: &crate::helpers::Reply) -> Vec<String> {
    reply.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["local_start"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn dhaka_slots_are_the_grid_minus_time_off_minus_appointments() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[("sunday", "09:00", "11:00")]).await;
    let (_, patient) = app.patient().await;
    app.book(&patient, clinic.doctor, "2026-11-29T03:30:00Z", None)
        .await
        .expect(201);
    app.post(
        &format!("/api/v1/doctors/{}/time-off", clinic.doctor),
        &clinic.doctor_token,
        json!({"start": "2026-11-29T04:30:00Z", "end": "2026-11-29T05:00:00Z", "reason": "Ward round"}),
    )
    .await
    .expect(201);
    let path = format!("/api/v1/doctors/{}/availability?from=2026-11-29", clinic.doctor);
    let reply = app.get(&path, &patient).await.expect(200);
    assert_eq!(
        local_starts(&reply),
        ["2026-11-29T09:00:00+06:00", "2026-11-29T10:00:00+06:00"]
    );
    let first = &reply.body["slots"][0];
    assert_eq!(first["start"], "2026-11-29T03:00:00Z");
    assert_eq!(first["end"], "2026-11-29T03:30:00Z");
    assert_eq!(first["time_zone"], "Asia/Dhaka");
    assert_eq!(first["facility_id"], clinic.facility.to_string());

    // With the 60-minute service only 09:00 would fit… but 09:30 is taken, so nothing does.
    let with_service = app
        .get(&format!("{path}&service={}", clinic.service), &patient)
        .await
        .expect(200);
    assert_eq!(with_service.body["duration_minutes"], 60);
    assert!(local_starts(&with_service).is_empty());
}

#[tokio::test]
async fn new_york_spring_forward_skips_the_missing_hour_and_books_correctly() {
    let app = spawn_app().await;
    app.clock.set(at("2027-03-01T12:00:00Z"));
    let clinic = app
        .clinic(
            "America/New_York",
            &[("sunday", "01:00", "04:00"), ("monday", "09:00", "10:00")],
        )
        .await;
    let (_, patient) = app.patient().await;
    let reply = app
        .get(
            &format!(
                "/api/v1/doctors/{}/availability?from=2027-03-14&to=2027-03-15",
                clinic.doctor
            ),
            &patient,
        )
        .await
        .expect(200);
    assert_eq!(
        local_starts(&reply),
        [
            "2027-03-14T01:00:00-05:00",
            "2027-03-14T01:30:00-05:00",
            "2027-03-14T03:00:00-04:00",
            "2027-03-14T03:30:00-04:00",
            "2027-03-15T09:00:00-04:00",
            "2027-03-15T09:30:00-04:00"
        ]
    );
    // 01:30 EST lasts until 03:00 EDT: 30 real minutes.
    assert_eq!(reply.body["slots"][1]["end"], "2027-03-14T07:00:00Z");
    let booked = app
        .book(&patient, clinic.doctor, "2027-03-14T07:00:00Z", None)
        .await
        .expect(201);
    assert_eq!(booked.body["local_start"], "2027-03-14T03:00:00-04:00");
    // 02:30 EST does not exist: 07:30Z is 03:30 EDT, on the grid; 06:45Z is not.
    app.book(&patient, clinic.doctor, "2027-03-14T06:45:00Z", None)
        .await
        .expect_rule(422, "off_slot_grid");
}

#[tokio::test]
async fn new_york_fall_back_offers_the_repeated_hour_once() {
    let app = spawn_app().await;
    app.clock.set(at("2026-10-20T12:00:00Z"));
    let clinic = app.clinic("America/New_York", &[("sunday", "00:00", "03:00")]).await;
    let (_, patient) = app.patient().await;
    let reply = app
        .get(
            &format!("/api/v1/doctors/{}/availability?from=2026-11-01", clinic.doctor),
            &patient,
        )
        .await
        .expect(200);
    assert_eq!(
        local_starts(&reply),
        [
            "2026-11-01T00:00:00-04:00",
            "2026-11-01T00:30:00-04:00",
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T01:30:00-04:00",
            "2026-11-01T02:00:00-05:00",
            "2026-11-01T02:30:00-05:00"
        ]
    );
    // 01:30 EST (06:30Z) is the second 01:30, which is not offered.
    app.book(&patient, clinic.doctor, "2026-11-01T06:30:00Z", None)
        .await
        .expect_rule(422, "off_slot_grid");
    app.book(&patient, clinic.doctor, "2026-11-01T05:30:00Z", None)
        .await
        .expect(201);
}

#[tokio::test]
async fn the_range_and_service_are_checked() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[("sunday", "09:00", "11:00")]).await;
    let (_, patient) = app.patient().await;
    let base = format!("/api/v1/doctors/{}/availability", clinic.doctor);
    app.get(&format!("{base}?from=2026-11-29&to=2026-11-28"), &patient)
        .await
        .expect(400);
    app.get(&format!("{base}?from=2026-11-01&to=2026-12-31"), &patient)
        .await
        .expect(400);
    let missing = app.get(&base, &patient).await.expect(400);
    assert!(missing.body["errors"].is_object());
    app.get(&format!("{base}?from=29-11-2026"), &patient).await.expect(400);
    app.get(
        &format!("{base}?from=2026-11-29&service={}", uuid::Uuid::new_v4()),
        &patient,
    )
    .await
    .expect(400);
    app.get(
        &format!("/api/v1/doctors/{}/availability?from=2026-11-29", uuid::Uuid::new_v4()),
        &patient,
    )
    .await
    .expect(404);
    // Four weeks of Sundays: 4 slots each.
    let month = app
        .get(&format!("{base}?from=2026-11-22&to=2026-12-20"), &patient)
        .await
        .expect(200);
    // Five Sundays (22 Nov – 20 Dec) × 4 slots; today's 09:00 is 3 hours ahead, so it counts.
    assert_eq!(month.body["slots"].as_array().unwrap().len(), 20);
}
