//! Booking rules, the lifecycle, visibility and history of appointments.

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, at, spawn_app};

const WEEKLY: &[(&str, &str, &str)] = &[("sunday", "09:00", "13:00"), ("monday", "09:00", "13:00")];
/// Sunday 29 November 2026, 09:00 in Dhaka.
const SUNDAY_9: &str = "2026-11-29T03:00:00Z";

#[tokio::test]
async fn a_patient_books_and_reads_their_own_appointment() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (patient_id, patient) = app.patient().await;

    let booked = app
        .post(
            "/api/v1/appointments",
            &patient,
            json!({"doctor_id": clinic.doctor, "start": SUNDAY_9, "reason": "Chest pain"}),
        )
        .await
        .expect(201);
    let id = booked.id();
    assert_eq!(
        booked.headers["location"],
        format!("/api/v1/appointments/{id}").as_str()
    );
    assert_eq!(booked.body["status"], "confirmed");
    assert_eq!(booked.body["patient_id"], patient_id.to_string());
    assert_eq!(booked.body["start"], "2026-11-29T03:00:00Z");
    assert_eq!(booked.body["end"], "2026-11-29T03:30:00Z");
    assert_eq!(booked.body["local_start"], "2026-11-29T09:00:00+06:00");
    assert_eq!(booked.body["time_zone"], "Asia/Dhaka");

    let read = app
        .get(&format!("/api/v1/appointments/{id}"), &patient)
        .await
        .expect(200);
    assert_eq!(read.body["reason"], "Chest pain");
    let list = app.get("/api/v1/appointments", &patient).await.expect(200);
    assert_eq!(list.body["count"], 1);
    let history = app
        .get(&format!("/api/v1/appointments/{id}/history"), &patient)
        .await
        .expect(200);
    assert_eq!(history.body["results"][0]["action"], "booked");
}

#[tokio::test]
async fn each_booking_rule_is_refused_with_its_name_and_nothing_is_written() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;
    let (_, other_patient) = app.patient().await;
    let doctor = clinic.doctor;

    app.book(&patient, doctor, "2026-11-21T03:00:00Z", None)
        .await
        .expect_rule(422, "start_in_past");
    app.book(&patient, doctor, "2027-03-07T03:00:00Z", None)
        .await
        .expect_rule(422, "booking_horizon");
    app.book(&patient, doctor, "2026-11-29T08:00:00Z", None)
        .await
        .expect_rule(422, "outside_working_hours");
    app.book(&patient, doctor, "2026-12-01T03:00:00Z", None)
        .await
        .expect_rule(422, "outside_working_hours");
    let grid = app
        .book(&patient, doctor, "2026-11-29T03:10:00Z", None)
        .await
        .expect_rule(422, "off_slot_grid");
    assert!(
        grid.body["errors"]["start"].is_array(),
        "the field is named: {}",
        grid.body
    );

    // The 60-minute service cannot start at 12:30 when hours end at 13:00.
    app.post(
        "/api/v1/appointments",
        &patient,
        json!({"doctor_id": doctor, "start": "2026-11-29T06:30:00Z", "service_id": clinic.service}),
    )
    .await
    .expect_rule(422, "outside_working_hours");

    // Minimum notice: at 08:30 local, 09:00 is only 30 minutes away.
    app.clock.set(at("2026-11-29T02:30:00Z"));
    app.book(&app.renew(&patient), doctor, SUNDAY_9, None)
        .await
        .expect_rule(422, "minimum_notice");
    app.clock.set(crate::helpers::default_now());

    // Time off.
    app.post(
        &format!("/api/v1/doctors/{doctor}/time-off"),
        &clinic.doctor_token,
        json!({"date": "2026-12-06", "reason": "Conference"}),
    )
    .await
    .expect(201);
    app.book(&patient, doctor, "2026-12-06T03:00:00Z", None)
        .await
        .expect_rule(422, "time_off");

    // A service the doctor does not offer.
    let other_service = app
        .post(
            "/api/v1/services",
            &clinic.admin,
            json!({"name": "Other", "specialty_id": clinic.specialty, "duration_minutes": 30, "price": "10"}),
        )
        .await
        .expect(201)
        .id();
    app.post(
        "/api/v1/appointments",
        &patient,
        json!({"doctor_id": doctor, "start": SUNDAY_9, "service_id": other_service}),
    )
    .await
    .expect_rule(422, "service_not_offered");

    assert_eq!(app.count("appointments").await, 0, "no refused booking left a row");
    assert_eq!(
        app.count("appointment_events").await,
        0,
        "no refused booking left an event"
    );

    // The doctor is taken; then the patient is taken (with another doctor).
    app.book(&patient, doctor, SUNDAY_9, None).await.expect(201);
    app.book(&other_patient, doctor, SUNDAY_9, None)
        .await
        .expect_rule(409, "doctor_unavailable");
    let (second, _) = app.second_doctor(&clinic, WEEKLY).await;
    app.book(&patient, second, SUNDAY_9, None)
        .await
        .expect_rule(409, "patient_unavailable");
    // Overlapping but not identical: 60 minutes from 08:30 is off hours, from 09:00 overlaps.
    app.post(
        "/api/v1/appointments",
        &other_patient,
        json!({"doctor_id": doctor, "start": "2026-11-29T02:30:00Z"}),
    )
    .await
    .expect_rule(422, "outside_working_hours");
    assert_eq!(app.count("appointments").await, 1);

    // A doctor who stopped taking bookings.
    app.patch(
        &format!("/api/v1/doctors/{second}"),
        &clinic.admin,
        json!({"is_accepting": false}),
    )
    .await
    .expect(200);
    app.book(&other_patient, second, "2026-11-29T04:00:00Z", None)
        .await
        .expect_rule(422, "doctor_not_accepting");
}

#[tokio::test]
async fn bad_input_gets_a_problem_that_names_the_field() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;

    let raw = |body: &'static str, content_type: &'static str| {
        let app = &app;
        let patient = patient.clone();
        async move {
            let response = app
                .client
                .post(format!("{}/api/v1/appointments", app.address))
                .bearer_auth(patient)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
            (
                status,
                content_type,
                response.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, content_type, body) = raw("{\"doctor_id\": ", "application/json").await;
    assert_eq!((status, content_type.as_str()), (400, "application/problem+json"));
    assert!(body["errors"]["body"].is_array());
    let (status, _, _) = raw("doctor_id=1", "application/x-www-form-urlencoded").await;
    assert_eq!(status, 415);

    let wrong_type = app
        .post(
            "/api/v1/appointments",
            &patient,
            json!({"doctor_id": clinic.doctor, "start": 5}),
        )
        .await
        .expect(400);
    assert!(wrong_type.body["errors"]["start"].is_array());
    let missing = app
        .post("/api/v1/appointments", &patient, json!({"doctor_id": clinic.doctor}))
        .await
        .expect(400);
    assert!(missing.body["errors"]["start"].is_array());
    let unknown_field = app
        .post(
            "/api/v1/appointments",
            &patient,
            json!({"doctor_id": clinic.doctor, "start": SUNDAY_9, "status": "completed"}),
        )
        .await
        .expect(400);
    assert!(unknown_field.body["errors"]["status"].is_array());
    let unknown_doctor = app.book(&patient, Uuid::new_v4(), SUNDAY_9, None).await.expect(422);
    assert!(unknown_doctor.body["errors"]["doctor_id"].is_array());
    let not_uuid = app.get("/api/v1/appointments/not-a-uuid", &patient).await.expect(400);
    assert!(not_uuid.body["errors"]["id"].is_array());
    let staff_without_patient = app
        .book(&clinic.receptionist, clinic.doctor, SUNDAY_9, None)
        .await
        .expect(422);
    assert!(staff_without_patient.body["errors"]["patient_id"].is_array());
    let unknown_patient = app
        .book(&clinic.receptionist, clinic.doctor, SUNDAY_9, Some(Uuid::new_v4()))
        .await
        .expect(422);
    assert!(unknown_patient.body["errors"]["patient_id"].is_array());
    assert_eq!(app.count("appointments").await, 0);
}

#[tokio::test]
async fn a_patient_cannot_see_or_change_another_patients_appointment() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (first_id, first) = app.patient().await;
    let (_, second) = app.patient().await;
    let id = app.book(&first, clinic.doctor, SUNDAY_9, None).await.expect(201).id();

    app.get(&format!("/api/v1/appointments/{id}"), &second)
        .await
        .expect(404);
    app.get(&format!("/api/v1/appointments/{id}/history"), &second)
        .await
        .expect(404);
    app.post(
        &format!("/api/v1/appointments/{id}/cancel"),
        &second,
        json!({"reason": "x"}),
    )
    .await
    .expect(404);
    app.post(
        &format!("/api/v1/appointments/{id}/reschedule"),
        &second,
        json!({"start": "2026-11-29T04:00:00Z"}),
    )
    .await
    .expect(404);
    // The same answer as for an appointment that does not exist.
    let missing = app
        .get(&format!("/api/v1/appointments/{}", Uuid::new_v4()), &second)
        .await
        .expect(404);
    let hidden = app.get(&format!("/api/v1/appointments/{id}"), &second).await;
    assert_eq!(missing.body["detail"], hidden.body["detail"]);
    assert_eq!(app.get("/api/v1/appointments", &second).await.body["count"], 0);
    // Nor their patient record, nor book in their name.
    app.get(&format!("/api/v1/patients/{first_id}"), &second)
        .await
        .expect(404);
    app.book(&second, clinic.doctor, "2026-11-29T04:00:00Z", Some(first_id))
        .await
        .expect(403);
    // Without a token: 401.
    let anonymous = app
        .send(Method::GET, &format!("/api/v1/appointments/{id}"), None, None)
        .await
        .expect(401);
    assert_eq!(anonymous.headers["www-authenticate"], "Bearer");
    // A patient may not confirm even their own.
    app.post(&format!("/api/v1/appointments/{id}/confirm"), &first, json!({}))
        .await
        .expect(403);
    assert_eq!(
        app.get(&format!("/api/v1/appointments/{id}"), &first).await.body["status"],
        "confirmed"
    );
}

#[tokio::test]
async fn reception_runs_a_whole_visit() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let walk_in = app
        .post(
            "/api/v1/patients",
            &clinic.receptionist,
            json!({"first_name": "Ayesha", "last_name": "Begum", "phone": "01911223344"}),
        )
        .await
        .expect(201);
    assert_eq!(walk_in.body["phone"], "+8801911223344");
    assert!(
        walk_in.body["medical_record_number"]
            .as_str()
            .unwrap()
            .starts_with("CB")
    );
    let patient = walk_in.id();

    let id = app
        .book(&clinic.receptionist, clinic.doctor, SUNDAY_9, Some(patient))
        .await
        .expect(201)
        .id();
    app.clock.set(at("2026-11-29T02:50:00Z"));
    let reception = app.renew(&clinic.receptionist);
    let checked_in = app
        .post(&format!("/api/v1/appointments/{id}/check-in"), &reception, json!({}))
        .await
        .expect(200);
    assert_eq!(checked_in.body["status"], "checked_in");
    assert_eq!(checked_in.body["queue_number"], 1);
    app.post(&format!("/api/v1/appointments/{id}/start"), &reception, json!({}))
        .await
        .expect(200);
    let done = app
        .post(&format!("/api/v1/appointments/{id}/complete"), &reception, json!({}))
        .await
        .expect(200);
    assert_eq!(done.body["status"], "completed");
    assert_eq!(done.body["version"], 4);

    let history = app
        .get(&format!("/api/v1/appointments/{id}/history"), &reception)
        .await
        .expect(200);
    let actions: Vec<_> = history.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["booked", "checked_in", "started", "completed"]);
    assert_eq!(history.body["results"][1]["from_status"], "confirmed");
    assert_eq!(history.body["results"][1]["to_status"], "checked_in");
}

#[tokio::test]
async fn the_second_check_in_of_the_day_gets_the_next_queue_number() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (a, _) = app.patient().await;
    let (b, _) = app.patient().await;
    let first = app
        .book(&clinic.receptionist, clinic.doctor, SUNDAY_9, Some(a))
        .await
        .expect(201)
        .id();
    let second = app
        .book(&clinic.receptionist, clinic.doctor, "2026-11-29T03:30:00Z", Some(b))
        .await
        .expect(201)
        .id();
    app.clock.set(at("2026-11-29T02:00:00Z"));
    let reception = app.renew(&clinic.receptionist);
    let q2 = app
        .post(
            &format!("/api/v1/appointments/{second}/check-in"),
            &reception,
            json!({}),
        )
        .await
        .expect(200);
    let q1 = app
        .post(&format!("/api/v1/appointments/{first}/check-in"), &reception, json!({}))
        .await
        .expect(200);
    assert_eq!(
        (q2.body["queue_number"].as_i64(), q1.body["queue_number"].as_i64()),
        (Some(1), Some(2))
    );
}

/// Book an appointment and drive it to `status` as an admin.
async fn appointment_in(app: &TestApp, admin: &str, doctor: Uuid, start: &str, status: &str) -> Uuid {
    let (patient, _) = app.patient().await;
    let id = app.book(admin, doctor, start, Some(patient)).await.expect(201).id();
    let steps: &[&str] = match status {
        "confirmed" => &[],
        "checked_in" => &["check-in"],
        "in_progress" => &["check-in", "start"],
        "completed" => &["check-in", "start", "complete"],
        "cancelled" => &["cancel"],
        "no_show" => &[],
        _ => unreachable!(),
    };
    app.drive(admin, id, at(start), steps).await;
    id
}

#[tokio::test]
async fn every_transition_outside_the_lifecycle_is_refused_with_409() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let admin = &clinic.admin;
    let starts = [
        "2026-11-29T03:00:00Z",
        "2026-11-29T03:30:00Z",
        "2026-11-29T04:00:00Z",
        "2026-11-29T04:30:00Z",
        "2026-11-29T05:00:00Z",
    ];
    let statuses = ["confirmed", "checked_in", "in_progress", "completed", "cancelled"];
    let mut ids = Vec::new();
    for (status, start) in statuses.iter().zip(starts) {
        ids.push((*status, appointment_in(&app, admin, clinic.doctor, start, status).await));
    }
    // No-show needs the start + grace to have passed; be well after every start.
    app.clock.set(at("2026-11-29T08:00:00Z"));
    let admin = &app.renew(admin);
    let allowed = [
        ("pending", "confirm"),
        ("pending", "cancel"),
        ("confirmed", "check-in"),
        ("confirmed", "no-show"),
        ("confirmed", "cancel"),
        ("checked_in", "start"),
        ("in_progress", "complete"),
    ];
    for (status, id) in &ids {
        for transition in ["confirm", "check-in", "start", "complete", "no-show", "cancel"] {
            if allowed.contains(&(status, transition)) {
                continue;
            }
            let reply = app
                .post(
                    &format!("/api/v1/appointments/{id}/{transition}"),
                    admin,
                    json!({"reason": "x"}),
                )
                .await;
            assert_eq!(reply.status, 409, "{transition} from {status}: {}", reply.body);
            assert_eq!(reply.rule(), "illegal_transition");
        }
        if !["confirmed", "pending"].contains(status) {
            app.post(
                &format!("/api/v1/appointments/{id}/reschedule"),
                admin,
                json!({"start": "2026-11-30T03:00:00Z"}),
            )
            .await
            .expect_rule(409, "illegal_transition");
        }
    }
    // The allowed ones work (each on the status it starts from).
    let confirmed = ids[0].1;
    app.post(&format!("/api/v1/appointments/{confirmed}/no-show"), admin, json!({}))
        .await
        .expect(200);
    app.post(
        &format!("/api/v1/appointments/{confirmed}/cancel"),
        admin,
        json!({"reason": "x"}),
    )
    .await
    .expect_rule(409, "illegal_transition");
}

#[tokio::test]
async fn pending_bookings_wait_for_the_doctor_to_confirm() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    app.patch(
        &format!("/api/v1/facilities/{}", clinic.facility),
        &clinic.admin,
        json!({"auto_confirm": false}),
    )
    .await
    .expect(200);
    let (_, patient) = app.patient().await;
    let id = app.book(&patient, clinic.doctor, SUNDAY_9, None).await.expect(201);
    assert_eq!(id.body["status"], "pending");
    let id = id.id();
    // Pending holds the time.
    let (_, other) = app.patient().await;
    app.book(&other, clinic.doctor, SUNDAY_9, None)
        .await
        .expect_rule(409, "doctor_unavailable");
    // Another doctor cannot even see it; this doctor confirms.
    let (_, other_doctor) = app.second_doctor(&clinic, &[]).await;
    app.post(&format!("/api/v1/appointments/{id}/confirm"), &other_doctor, json!({}))
        .await
        .expect(404);
    app.post(
        &format!("/api/v1/appointments/{id}/check-in"),
        &clinic.receptionist,
        json!({}),
    )
    .await
    .expect_rule(409, "illegal_transition");
    let confirmed = app
        .post(
            &format!("/api/v1/appointments/{id}/confirm"),
            &clinic.doctor_token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(confirmed.body["status"], "confirmed");
}

#[tokio::test]
async fn no_show_waits_for_the_grace_period() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let id = appointment_in(&app, &clinic.admin, clinic.doctor, SUNDAY_9, "confirmed").await;
    app.clock.set(at(SUNDAY_9) + TimeDelta::minutes(10));
    app.post(
        &format!("/api/v1/appointments/{id}/no-show"),
        &app.renew(&clinic.receptionist),
        json!({}),
    )
    .await
    .expect_rule(409, "no_show_too_early");
    app.clock.set(at(SUNDAY_9) + TimeDelta::minutes(15));
    let marked = app
        .post(
            &format!("/api/v1/appointments/{id}/no-show"),
            &app.renew(&clinic.doctor_token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(marked.body["status"], "no_show");
}

#[tokio::test]
async fn patients_may_cancel_only_outside_the_window_and_staff_always() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;
    let id = app.book(&patient, clinic.doctor, SUNDAY_9, None).await.expect(201).id();

    app.post(&format!("/api/v1/appointments/{id}/cancel"), &patient, json!({}))
        .await
        .expect(400);
    app.post(
        &format!("/api/v1/appointments/{id}/cancel"),
        &patient,
        json!({"reason": "  "}),
    )
    .await
    .expect(422);

    // 90 minutes before the start: inside the 2-hour window.
    app.clock.set(at(SUNDAY_9) - TimeDelta::minutes(90));
    let patient = app.renew(&patient);
    app.post(
        &format!("/api/v1/appointments/{id}/cancel"),
        &patient,
        json!({"reason": "Busy"}),
    )
    .await
    .expect_rule(409, "cancellation_window");
    app.post(
        &format!("/api/v1/appointments/{id}/reschedule"),
        &patient,
        json!({"start": "2026-11-29T05:00:00Z"}),
    )
    .await
    .expect_rule(409, "cancellation_window");
    let cancelled = app
        .post(
            &format!("/api/v1/appointments/{id}/cancel"),
            &app.renew(&clinic.receptionist),
            json!({"reason": "Patient phoned"}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["cancel_reason"], "Patient phoned");

    // The time is free again.
    let (_, other) = app.patient().await;
    app.clock.set(crate::helpers::default_now());
    app.book(&other, clinic.doctor, SUNDAY_9, None).await.expect(201);
}

#[tokio::test]
async fn reschedule_moves_the_appointment_under_every_rule() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;
    let (_, other) = app.patient().await;
    let id = app
        .post(
            "/api/v1/appointments",
            &patient,
            json!({"doctor_id": clinic.doctor, "start": SUNDAY_9, "service_id": clinic.service}),
        )
        .await
        .expect(201)
        .id();
    app.book(&other, clinic.doctor, "2026-11-29T05:00:00Z", None)
        .await
        .expect(201);

    let path = format!("/api/v1/appointments/{id}/reschedule");
    app.post(&path, &patient, json!({"start": "2026-11-29T03:15:00Z"}))
        .await
        .expect_rule(422, "off_slot_grid");
    // 60 minutes from 10:30 local overlaps the other booking at 11:00.
    app.post(&path, &patient, json!({"start": "2026-11-29T04:30:00Z"}))
        .await
        .expect_rule(409, "doctor_unavailable");
    // Moving by half an hour overlaps itself only, which is fine.
    let moved = app
        .post(&path, &patient, json!({"start": "2026-11-29T03:30:00Z"}))
        .await
        .expect(200);
    assert_eq!(moved.body["start"], "2026-11-29T03:30:00Z");
    assert_eq!(moved.body["end"], "2026-11-29T04:30:00Z", "the length is kept");
    assert_eq!(moved.body["version"], 2);

    let history = app
        .get(&format!("/api/v1/appointments/{id}/history"), &patient)
        .await
        .expect(200);
    let event = &history.body["results"][1];
    assert_eq!(event["action"], "rescheduled");
    assert_eq!(event["old_start"], "2026-11-29T03:00:00Z");
    assert_eq!(event["new_start"], "2026-11-29T03:30:00Z");

    // The old time is bookable again.
    let (_, third) = app.patient().await;
    app.book(&third, clinic.doctor, SUNDAY_9, None).await.expect(201);
}

#[tokio::test]
async fn each_role_lists_what_it_may_see() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (second, second_token) = app.second_doctor(&clinic, WEEKLY).await;
    let (_, patient) = app.patient().await;
    app.book(&patient, clinic.doctor, SUNDAY_9, None).await.expect(201);
    app.book(&patient, second, "2026-11-30T03:00:00Z", None)
        .await
        .expect(201);
    let (_, nurse) = app.staff(&clinic.admin, "nurse", Some(clinic.facility)).await;
    let (_, elsewhere) = app.staff(&clinic.admin, "nurse", None).await;

    assert_eq!(
        app.get("/api/v1/appointments", &clinic.admin).await.expect(200).body["count"],
        2
    );
    assert_eq!(
        app.get("/api/v1/appointments", &clinic.receptionist).await.body["count"],
        2
    );
    assert_eq!(
        app.get("/api/v1/appointments", &clinic.doctor_token).await.body["count"],
        1
    );
    assert_eq!(app.get("/api/v1/appointments", &second_token).await.body["count"], 1);
    assert_eq!(app.get("/api/v1/appointments", &patient).await.body["count"], 2);
    assert_eq!(app.get("/api/v1/appointments", &nurse).await.body["count"], 2);
    assert_eq!(app.get("/api/v1/appointments", &elsewhere).await.body["count"], 0);
    // Filters.
    let filtered = app
        .get(
            &format!("/api/v1/appointments?doctor={second}&status=confirmed,pending"),
            &clinic.admin,
        )
        .await;
    assert_eq!(filtered.body["count"], 1);
    assert_eq!(
        app.get("/api/v1/appointments?from=2026-11-30", &clinic.admin)
            .await
            .body["count"],
        1
    );
    assert_eq!(
        app.get("/api/v1/appointments?to=2026-11-29", &clinic.admin).await.body["count"],
        1
    );
    app.get("/api/v1/appointments?status=booked", &clinic.admin)
        .await
        .expect(400);
    app.get("/api/v1/appointments?ordering=secret", &clinic.admin)
        .await
        .expect(400);
    let desc = app
        .get("/api/v1/appointments?ordering=-start", &clinic.admin)
        .await
        .expect(200);
    assert_eq!(desc.body["results"][0]["start"], "2026-11-30T03:00:00Z");
}

#[tokio::test]
async fn check_in_opens_shortly_before_the_start_and_closes_with_its_day() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let reception = &clinic.receptionist;
    let (patient, _) = app.patient().await;
    // Monday 23 November, 09:00 in Dhaka; now is the day before.
    let start = "2026-11-23T03:00:00Z";
    let id = app
        .book(reception, clinic.doctor, start, Some(patient))
        .await
        .expect(201)
        .id();
    let step = |name: &str| format!("/api/v1/appointments/{id}/{name}");
    app.post(&step("check-in"), reception, json!({}))
        .await
        .expect_rule(409, "check_in_not_open");
    // A visit cannot be run before its patient has checked in.
    app.post(&step("start"), reception, json!({}))
        .await
        .expect_rule(409, "illegal_transition");
    app.post(&step("complete"), reception, json!({}))
        .await
        .expect_rule(409, "illegal_transition");

    // The window is a setting (default 120 minutes).
    app.clock.set(at("2026-11-23T01:30:00Z"));
    let reception = &app.renew(reception);
    let admin = &app.renew(&clinic.admin);
    app.set_setting(admin, "booking.check_in_open_minutes", json!(60)).await;
    app.post(&step("check-in"), reception, json!({}))
        .await
        .expect_rule(409, "check_in_not_open");
    app.set_setting(admin, "booking.check_in_open_minutes", json!(120))
        .await;
    app.post(&step("check-in"), reception, json!({})).await.expect(200);
    app.post(&step("start"), reception, json!({})).await.expect(200);
    app.post(&step("complete"), reception, json!({})).await.expect(200);

    // Once the appointment's local day is over it can no longer be checked in.
    let (other, _) = app.patient().await;
    let late = app
        .book(reception, clinic.doctor, "2026-11-23T04:00:00Z", Some(other))
        .await
        .expect(201)
        .id();
    app.clock.set(at("2026-11-23T18:00:00Z"));
    let reception = &app.renew(reception);
    app.post(&format!("/api/v1/appointments/{late}/check-in"), reception, json!({}))
        .await
        .expect_rule(409, "check_in_closed");
    app.post(&format!("/api/v1/appointments/{late}/no-show"), reception, json!({}))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_hold_blocks_its_time_until_it_expires_then_frees_it_without_a_job() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (patient_id, patient) = app.patient().await;
    let (_, other) = app.patient().await;
    let slot = json!({"doctor_id": clinic.doctor, "start": SUNDAY_9});

    let held = app
        .post("/api/v1/appointments/holds", &patient, slot.clone())
        .await
        .expect(201);
    let hold = held.body["id"].as_str().unwrap().to_owned();
    assert_eq!(held.body["expires_at"], "2026-11-22T00:05:00Z", "5 minutes by default");
    assert_eq!(held.body["appointment"]["status"], "pending");
    assert_eq!(held.body["appointment"]["patient_id"], patient_id.to_string());
    // Held time is not free, and nobody else books it.
    let free = app
        .get(
            &format!("/api/v1/doctors/{}/availability?from=2026-11-29", clinic.doctor),
            &other,
        )
        .await
        .expect(200);
    assert!(!free.body["slots"].to_string().contains(SUNDAY_9));
    app.post("/api/v1/appointments", &other, slot.clone()).await.expect(409);
    app.post("/api/v1/appointments/holds", &other, slot.clone())
        .await
        .expect(409);
    // A hold is booked, not confirmed or moved.
    app.post(
        &format!("/api/v1/appointments/{hold}/confirm"),
        &clinic.receptionist,
        json!({}),
    )
    .await
    .expect_rule(409, "appointment_is_hold");
    assert_eq!(app.count_where("jobs", "1 = 1").await, 0, "a hold tells no one");

    // Past its expiry the time is free again: no job has run.
    app.clock.advance(TimeDelta::minutes(5));
    let free = app
        .get(
            &format!("/api/v1/doctors/{}/availability?from=2026-11-29", clinic.doctor),
            &other,
        )
        .await
        .expect(200);
    assert!(free.body["slots"].to_string().contains(SUNDAY_9));
    app.get(&format!("/api/v1/appointments/{hold}"), &patient)
        .await
        .expect(404);
    app.post(
        "/api/v1/appointments",
        &patient,
        json!({"doctor_id": clinic.doctor, "start": SUNDAY_9, "hold_id": hold}),
    )
    .await
    .expect_rule(409, "hold_expired");
    let taken = app.post("/api/v1/appointments", &other, slot.clone()).await.expect(201);
    assert_eq!(taken.body["status"], "confirmed");
    assert_eq!(
        app.count_where("appointments", &format!("id = '{hold}'")).await,
        0,
        "the expired hold was deleted"
    );

    // A live hold is booked by its id, once; a retry gets the same appointment.
    let monday = "2026-11-30T03:00:00Z";
    let held = app
        .post(
            "/api/v1/appointments/holds",
            &patient,
            json!({"doctor_id": clinic.doctor, "start": monday}),
        )
        .await
        .expect(201);
    let hold = held.body["id"].as_str().unwrap().to_owned();
    app.post(
        "/api/v1/appointments",
        &patient,
        json!({"doctor_id": clinic.doctor, "start": "2026-11-30T03:30:00Z", "hold_id": hold}),
    )
    .await
    .expect_rule(422, "hold_mismatch");
    let body = json!({"doctor_id": clinic.doctor, "start": monday, "hold_id": hold, "reason": "Follow-up"});
    let booked = app
        .post("/api/v1/appointments", &patient, body.clone())
        .await
        .expect(201);
    assert_eq!(booked.id().to_string(), hold);
    assert_eq!(booked.body["status"], "confirmed");
    assert_eq!(booked.body["reason"], "Follow-up");
    assert!(booked.body.get("hold_expires_at").is_none());
    app.clock.advance(TimeDelta::minutes(10));
    let again = app.post("/api/v1/appointments", &patient, body).await.expect(201);
    assert_eq!(again.id().to_string(), hold);
    assert_eq!(
        app.get(&format!("/api/v1/appointments/{hold}"), &patient)
            .await
            .expect(200)
            .body["status"],
        "confirmed"
    );
    let history = app
        .get(&format!("/api/v1/appointments/{hold}/history"), &patient)
        .await
        .expect(200);
    assert_eq!(history.body["results"][0]["action"], "held");
    assert_eq!(history.body["results"][1]["action"], "booked");
    // Another patient cannot book someone's hold.
    let held = app
        .post(
            "/api/v1/appointments/holds",
            &patient,
            json!({"doctor_id": clinic.doctor, "start": "2026-11-30T04:00:00Z"}),
        )
        .await
        .expect(201);
    let hold = held.body["id"].as_str().unwrap();
    app.post(
        "/api/v1/appointments",
        &other,
        json!({"doctor_id": clinic.doctor, "start": "2026-11-30T04:00:00Z", "hold_id": hold}),
    )
    .await
    .expect(404);
    // The hold length is a setting.
    app.put(
        "/api/v1/settings/booking.hold_minutes",
        &clinic.admin,
        json!({"value": 0}),
    )
    .await
    .expect(422);
}
