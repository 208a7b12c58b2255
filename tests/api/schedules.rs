//! Working hours, weekly templates and time off.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn doctors_manage_their_own_hours_and_reception_anyones() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[]).await;
    let (other, other_token) = app.second_doctor(&clinic, &[]).await;
    let (_, patient) = app.patient().await;
    let path = format!("/api/v1/doctors/{}/working-hours", clinic.doctor);
    let body = json!({"weekday": "sunday", "start_time": "09:00", "end_time": "13:00", "slot_minutes": 20});

    app.post(&path, &patient, body.clone()).await.expect(403);
    app.post(&path, &other_token, body.clone()).await.expect(403);
    let created = app.post(&path, &clinic.doctor_token, body.clone()).await.expect(201);
    assert_eq!(created.body["start_time"], "09:00");
    assert_eq!(created.body["weekday"], "sunday");
    assert_eq!(created.body["facility_id"], clinic.facility.to_string());
    app.post(
        &format!("/api/v1/doctors/{other}/working-hours"),
        &clinic.receptionist,
        body.clone(),
    )
    .await
    .expect(201);

    let listed = app.get(&path, &patient).await.expect(200);
    assert_eq!(listed.body["count"], 1);

    // Overlapping hours would put the doctor in two places at once.
    app.post(
        &path,
        &clinic.doctor_token,
        json!({"weekday": "sunday", "start_time": "12:00", "end_time": "14:00"}),
    )
    .await
    .expect_rule(409, "working_hours_overlap");
    // Bad shapes.
    let backwards = app
        .post(
            &path,
            &clinic.doctor_token,
            json!({"weekday": "monday", "start_time": "13:00", "end_time": "09:00"}),
        )
        .await
        .expect(422);
    assert!(backwards.body["errors"]["end_time"].is_array());
    app.post(
        &path,
        &clinic.doctor_token,
        json!({"weekday": "funday", "start_time": "09:00", "end_time": "10:00"}),
    )
    .await
    .expect(400);
    app.post(
        &path,
        &clinic.doctor_token,
        json!({"weekday": "monday", "start_time": "9am", "end_time": "10:00"}),
    )
    .await
    .expect(400);
    app.post(
        &path,
        &clinic.doctor_token,
        json!({"weekday": "monday", "start_time": "09:00", "end_time": "10:00", "slot_minutes": 1}),
    )
    .await
    .expect(422);
    app.post(
        &path,
        &clinic.doctor_token,
        json!({"weekday": "monday", "start_time": "09:00", "end_time": "10:00", "facility_id": uuid::Uuid::new_v4()}),
    )
    .await
    .expect(422);

    // Replace and delete.
    let id = created.id();
    let replaced = app
        .put(
            &format!("{path}/{id}"),
            &clinic.doctor_token,
            json!({"weekday": "sunday", "start_time": "10:00", "end_time": "12:00"}),
        )
        .await
        .expect(200);
    assert_eq!(replaced.body["slot_minutes"], 30);
    app.delete(&format!("{path}/{id}"), &other_token).await.expect(403);
    app.delete(&format!("{path}/{id}"), &clinic.doctor_token)
        .await
        .expect(204);
    assert_eq!(app.get(&path, &patient).await.body["count"], 0);
}

#[tokio::test]
async fn a_weekly_template_replaces_the_hours_of_its_date_range() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[("sunday", "09:00", "13:00")]).await;
    let path = format!("/api/v1/doctors/{}/working-hours", clinic.doctor);
    // December only: evenings on Sunday and Tuesday.
    let applied = app
        .post(
            &format!("{path}/bulk"),
            &clinic.receptionist,
            json!({"valid_from": "2026-12-01", "valid_to": "2026-12-31", "slot_minutes": 15,
                   "days": [{"weekday": "sunday", "start_time": "17:00", "end_time": "19:00"},
                            {"weekday": "tuesday", "start_time": "17:00", "end_time": "19:00", "slot_minutes": 30}]}),
        )
        .await
        .expect(201);
    assert_eq!(applied.body["created"].as_array().unwrap().len(), 2);
    // The open-ended Sunday morning rule was split around December.
    let rules = app
        .get(&format!("{path}?page_size=100"), &clinic.admin)
        .await
        .expect(200);
    let mut validity: Vec<(String, String, String)> = rules.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["start_time"].as_str().unwrap().into(),
                r["valid_from"].to_string(),
                r["valid_to"].to_string(),
            )
        })
        .collect();
    validity.sort();
    assert_eq!(
        validity,
        [
            ("09:00".into(), "\"2027-01-01\"".into(), "null".into()),
            ("09:00".into(), "null".into(), "\"2026-11-30\"".into()),
            ("17:00".into(), "\"2026-12-01\"".into(), "\"2026-12-31\"".into()),
            ("17:00".into(), "\"2026-12-01\"".into(), "\"2026-12-31\"".into()),
        ]
    );
    let (_, patient) = app.patient().await;
    let december = app
        .get(
            &format!("/api/v1/doctors/{}/availability?from=2026-12-06", clinic.doctor),
            &patient,
        )
        .await
        .expect(200);
    let slots = december.body["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 8, "17:00–19:00 every 15 minutes");
    assert_eq!(slots[0]["local_start"], "2026-12-06T17:00:00+06:00");
    let november = app
        .get(
            &format!("/api/v1/doctors/{}/availability?from=2026-11-29", clinic.doctor),
            &patient,
        )
        .await
        .expect(200);
    assert_eq!(
        november.body["slots"].as_array().unwrap().len(),
        8,
        "09:00–13:00 every 30 minutes"
    );

    // Without replace, an overlap is refused and nothing is written.
    let before = app.count("working_hours").await;
    app.post(
        &format!("{path}/bulk"),
        &clinic.receptionist,
        json!({"valid_from": "2026-12-01", "valid_to": "2026-12-31", "replace": false,
               "days": [{"weekday": "tuesday", "start_time": "18:00", "end_time": "20:00"}]}),
    )
    .await
    .expect_rule(409, "working_hours_overlap");
    assert_eq!(app.count("working_hours").await, before);
    // A template that overlaps itself is refused too.
    app.post(
        &format!("{path}/bulk"),
        &clinic.receptionist,
        json!({"valid_from": "2027-02-01", "valid_to": "2027-02-28",
               "days": [{"weekday": "friday", "start_time": "09:00", "end_time": "12:00"},
                        {"weekday": "friday", "start_time": "11:00", "end_time": "13:00"}]}),
    )
    .await
    .expect_rule(409, "working_hours_overlap");
    assert_eq!(app.count("working_hours").await, before, "all or nothing");
    app.post(&format!("{path}/bulk"), &clinic.receptionist, json!({"valid_from": "2027-02-01", "valid_to": "2027-01-01", "days": [{"weekday": "friday", "start_time": "09:00", "end_time": "12:00"}]}))
        .await
        .expect(422);
    app.post(
        &format!("{path}/bulk"),
        &clinic.receptionist,
        json!({"valid_from": "2027-02-01", "valid_to": "2027-03-01", "days": []}),
    )
    .await
    .expect(422);
}

#[tokio::test]
async fn time_off_comes_as_a_day_a_date_range_or_an_exact_range() {
    let app = spawn_app().await;
    let clinic = app
        .clinic(
            "Asia/Dhaka",
            &[("sunday", "09:00", "13:00"), ("monday", "09:00", "13:00")],
        )
        .await;
    let (_, patient) = app.patient().await;
    let booked = app
        .book(&patient, clinic.doctor, "2026-12-13T03:00:00Z", None)
        .await
        .expect(201)
        .id();
    let path = format!("/api/v1/doctors/{}/time-off", clinic.doctor);

    let day = app
        .post(
            &path,
            &clinic.doctor_token,
            json!({"date": "2026-11-29", "reason": "Family"}),
        )
        .await
        .expect(201);
    assert_eq!(day.body["kind"], "day");
    assert_eq!(day.body["start"], "2026-11-28T18:00:00Z", "local midnight in Dhaka");
    assert_eq!(day.body["end"], "2026-11-29T18:00:00Z");
    let range = app
        .post(
            &path,
            &clinic.receptionist,
            json!({"start_date": "2026-12-13", "end_date": "2026-12-14", "reason": "Conference"}),
        )
        .await
        .expect(201);
    assert_eq!(range.body["kind"], "date_range");
    assert_eq!(
        range.body["affected_appointments"],
        json!([booked]),
        "the booking inside is reported, not dropped"
    );
    let exact = app
        .post(
            &path,
            &clinic.doctor_token,
            json!({"start": "2026-12-07T04:00:00Z", "end": "2026-12-07T05:00:00Z"}),
        )
        .await
        .expect(201);
    assert_eq!(exact.body["kind"], "datetime_range");

    let slots = |from: &'static str| {
        let app = &app;
        let patient = patient.clone();
        let doctor = clinic.doctor;
        async move {
            let reply = app
                .get(&format!("/api/v1/doctors/{doctor}/availability?from={from}"), &patient)
                .await
                .expect(200);
            reply.body["slots"].as_array().unwrap().len()
        }
    };
    assert_eq!(slots("2026-11-29").await, 0);
    assert_eq!(slots("2026-11-30").await, 8);
    assert_eq!(slots("2026-12-07").await, 6);
    assert_eq!(slots("2026-12-14").await, 0);

    for bad in [
        json!({"reason": "nothing"}),
        json!({"date": "2026-12-01", "start_date": "2026-12-01", "end_date": "2026-12-02"}),
        json!({"start_date": "2026-12-05", "end_date": "2026-12-01"}),
        json!({"start": "2026-12-07T05:00:00Z", "end": "2026-12-07T04:00:00Z"}),
        json!({"start_date": "2026-01-01", "end_date": "2028-01-01"}),
    ] {
        app.post(&path, &clinic.doctor_token, bad.clone()).await.expect(422);
    }
    app.post(&path, &patient, json!({"date": "2026-12-01"}))
        .await
        .expect(403);
    let listed = app.get(&format!("{path}?from=2026-12-01"), &patient).await.expect(200);
    assert_eq!(listed.body["count"], 2);
    let id = day.id();
    app.delete(&format!("{path}/{id}"), &clinic.doctor_token)
        .await
        .expect(204);
    assert_eq!(slots("2026-11-29").await, 8);
}
