//! Idempotent booking and optimistic concurrency (ETag / If-Match).

use futures::future::join_all;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{Reply, TestApp, spawn_app, spawn_app_with};

const WEEKLY: &[(&str, &str, &str)] = &[("sunday", "09:00", "13:00")];

async fn book_with_key(app: &TestApp, token: &str, key: &str, body: serde_json::Value) -> Reply {
    app.post_keyed("/api/v1/appointments", token, key, body).await
}

#[tokio::test]
async fn a_retried_booking_with_the_same_key_returns_the_first_response() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;
    let body = json!({"doctor_id": clinic.doctor, "start": "2026-11-29T03:00:00Z", "reason": "Check-up"});

    let first = book_with_key(&app, &patient, "booking-1", body.clone())
        .await
        .expect(201);
    assert!(!first.headers.contains_key("idempotent-replayed"));
    // Same key, same body (keys in another order): the same answer, no second booking.
    let reordered = json!({"reason": "Check-up", "start": "2026-11-29T03:00:00Z", "doctor_id": clinic.doctor});
    let retry = book_with_key(&app, &patient, "booking-1", reordered).await.expect(201);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(retry.body["id"], first.body["id"]);
    assert_eq!(retry.headers["location"], first.headers["location"]);
    assert_eq!(app.count("appointments").await, 1);
    // Same key, different body: refused.
    let other = json!({"doctor_id": clinic.doctor, "start": "2026-11-29T04:00:00Z"});
    book_with_key(&app, &patient, "booking-1", other.clone())
        .await
        .expect_rule(422, "idempotency_key_reused");
    // Keys belong to a user: another patient's same key is a new request.
    let (_, second) = app.patient().await;
    book_with_key(&app, &second, "booking-1", other).await.expect(201);
    // A refusal books nothing and keeps no key: the retry is decided afresh.
    book_with_key(&app, &second, "booking-2", body.clone())
        .await
        .expect_rule(409, "doctor_unavailable");
    let cancel = json!({"reason": "Cannot come"});
    app.post(&format!("/api/v1/appointments/{}/cancel", first.id()), &patient, cancel)
        .await
        .expect(200);
    let freed = book_with_key(&app, &second, "booking-2", body.clone())
        .await
        .expect(201);
    assert!(!freed.headers.contains_key("idempotent-replayed"));
    // A replay shows the appointment as it is now.
    let replay = book_with_key(&app, &patient, "booking-1", body.clone())
        .await
        .expect(201);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.body["status"], "cancelled");
    // After 24 hours the key is forgotten: the same request is a new booking.
    app.clock.advance(chrono::TimeDelta::hours(25));
    let later = app.renew(&second);
    book_with_key(
        &app,
        &later,
        "booking-1",
        json!({"doctor_id": clinic.doctor, "start": "2026-12-20T03:00:00Z"}),
    )
    .await
    .expect(201);
    let renewed = app.renew(&patient);
    book_with_key(&app, &renewed, "booking-1", body)
        .await
        .expect_rule(409, "doctor_unavailable");
    assert_eq!(app.count("appointments").await, 4);
}

#[tokio::test]
async fn malformed_keyed_requests_can_be_retried_with_the_same_key() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;
    book_with_key(&app, &patient, "k1", json!({"doctor_id": clinic.doctor, "start": 5}))
        .await
        .expect(400);
    book_with_key(
        &app,
        &patient,
        "k1",
        json!({"doctor_id": clinic.doctor, "start": "2026-11-29T03:00:00Z"}),
    )
    .await
    .expect(201);
    book_with_key(&app, &patient, "bad key", json!({})).await.expect(400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_key_book_once() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;
    let body = json!({"doctor_id": clinic.doctor, "start": "2026-11-29T03:00:00Z"});
    let replies = join_all((0..20).map(|_| book_with_key(&app, &patient, "same-key", body.clone()))).await;
    // Every retry waits for the first and gets its appointment.
    assert!(
        replies.iter().all(|r| r.status == 201),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        replies.iter().all(|r| r.body["id"] == replies[0].body["id"]),
        "every 201 is the one booking"
    );
    let fresh = replies
        .iter()
        .filter(|r| !r.headers.contains_key("idempotent-replayed"));
    assert_eq!(fresh.count(), 1, "one request booked, the others were replayed");
    assert_eq!(app.count("appointments").await, 1);
}

/// A booking cut off mid-flight (the client's deadline passed while the
/// database was busy) leaves nothing behind: the retry with the same key books.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_booking_cut_off_mid_flight_can_be_retried_with_its_key() {
    let app = spawn_app_with(|config| config.connections.request_timeout = std::time::Duration::from_secs(1)).await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;
    let body = json!({"doctor_id": clinic.doctor, "start": "2026-11-29T03:00:00Z"});

    // Hold the database busy for longer than the request may take: SQLite's
    // write lock, or on PostgreSQL a lock on appointments that lets reads
    // and other tables through (the booking gets as far as its insert).
    let busy = app.state.db.begin_write().await.unwrap();
    if app.state.db.backend() == sea_orm::DbBackend::Postgres {
        busy.execute_unprepared("LOCK TABLE appointments IN EXCLUSIVE MODE")
            .await
            .unwrap();
    }
    book_with_key(&app, &patient, "cut-off", body.clone()).await.expect(408);
    drop(busy); // rolled back as its connection returns to the pool
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let retry = book_with_key(&app, &patient, "cut-off", body.clone()).await.expect(201);
    assert!(
        !retry.headers.contains_key("idempotent-replayed"),
        "nothing was booked before"
    );
    let again = book_with_key(&app, &patient, "cut-off", body).await.expect(201);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["id"], retry.body["id"]);
    assert_eq!(app.count("appointments").await, 1);
}

#[tokio::test]
async fn changes_with_a_stale_etag_are_refused_with_412() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (patient_id, patient) = app.patient().await;
    let id = app
        .book(&patient, clinic.doctor, "2026-11-29T03:00:00Z", None)
        .await
        .expect(201)
        .id();
    let read = app
        .get(&format!("/api/v1/appointments/{id}"), &clinic.receptionist)
        .await
        .expect(200);
    let tag = read.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(tag, "\"v1\"");

    let with_tag = |path: String, tag: String, token: String, body: serde_json::Value| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(format!("{}{path}", app.address))
                .bearer_auth(token)
                .header("if-match", tag)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            Reply {
                status,
                body: response.json().await.unwrap_or_default(),
                headers,
            }
        }
    };
    let moved = with_tag(
        format!("/api/v1/appointments/{id}/reschedule"),
        tag.clone(),
        patient.clone(),
        json!({"start": "2026-11-29T04:00:00Z"}),
    )
    .await
    .expect(200);
    assert_eq!(moved.headers["etag"], "\"v2\"");
    // The receptionist still holds v1: refused, and nothing changes.
    with_tag(
        format!("/api/v1/appointments/{id}/cancel"),
        tag,
        clinic.receptionist.clone(),
        json!({"reason": "x"}),
    )
    .await
    .expect(412);
    assert_eq!(
        app.get(&format!("/api/v1/appointments/{id}"), &patient).await.body["status"],
        "confirmed"
    );
    with_tag(
        format!("/api/v1/appointments/{id}/cancel"),
        "*".into(),
        clinic.receptionist.clone(),
        json!({"reason": "x"}),
    )
    .await
    .expect(200);

    // Patient records, doctor profiles and working hours work the same way.
    let record = app
        .get(&format!("/api/v1/patients/{patient_id}"), &patient)
        .await
        .expect(200);
    let record_tag = record.headers["etag"].to_str().unwrap().to_owned();
    let patch = |path: String, tag: &str, token: &str, body: serde_json::Value| {
        let request = app
            .client
            .patch(format!("{}{path}", app.address))
            .bearer_auth(token)
            .header("if-match", tag)
            .json(&body);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        patch(
            format!("/api/v1/patients/{patient_id}"),
            &record_tag,
            &patient,
            json!({"address": "House 1"})
        )
        .await,
        200
    );
    assert_eq!(
        patch(
            format!("/api/v1/patients/{patient_id}"),
            &record_tag,
            &patient,
            json!({"address": "House 2"})
        )
        .await,
        412
    );
    let doctor = app
        .get(&format!("/api/v1/doctors/{}", clinic.doctor), &clinic.admin)
        .await
        .expect(200);
    let doctor_tag = doctor.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(
        patch(
            format!("/api/v1/doctors/{}", clinic.doctor),
            &doctor_tag,
            &clinic.admin,
            json!({"bio": "a"})
        )
        .await,
        200
    );
    assert_eq!(
        patch(
            format!("/api/v1/doctors/{}", clinic.doctor),
            &doctor_tag,
            &clinic.admin,
            json!({"bio": "b"})
        )
        .await,
        412
    );

    let hours = app
        .get(
            &format!("/api/v1/doctors/{}/working-hours", clinic.doctor),
            &clinic.admin,
        )
        .await;
    let rule = hours.body["results"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/doctors/{}/working-hours/{rule}", clinic.doctor);
    let one = app.get(&path, &clinic.admin).await.expect(200);
    let rule_tag = one.headers["etag"].to_str().unwrap().to_owned();
    let put = |tag: String, end: &str| {
        let request = app
            .client
            .put(format!("{}{path}", app.address))
            .bearer_auth(&clinic.admin)
            .header("if-match", tag)
            .json(&json!({"weekday": "sunday", "start_time": "09:00", "end_time": end}));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(put(rule_tag.clone(), "12:00").await, 200);
    assert_eq!(put(rule_tag, "11:00").await, 412);
}

#[tokio::test]
async fn every_framework_rejection_is_a_problem_document() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let problem = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        let allow = response.headers().get("allow").map(|v| v.to_str().unwrap().to_owned());
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(content_type, "application/problem+json", "{status}: {body}");
        assert_eq!(body["status"], status);
        assert!(body["instance"].as_str().unwrap().starts_with("urn:carebook:request:"));
        (status, allow)
    };
    let url = |path: &str| format!("{}{path}", app.address);
    // 415, 413, 405 with Allow, 404, 400 bad query, 400 bad path, 401.
    let r = app
        .client
        .post(url("/api/v1/specialties"))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r).await.0, 415);
    let big = "x".repeat(2 * 1024 * 1024);
    let r = app
        .client
        .post(url("/api/v1/specialties"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r).await.0, 413);
    let r = app
        .client
        .put(url("/api/v1/specialties"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let (status, allow) = problem(r).await;
    assert_eq!(status, 405);
    assert!(allow.unwrap().contains("POST"));
    let r = app.client.get(url("/api/v1/nope")).send().await.unwrap();
    assert_eq!(problem(r).await.0, 404);
    let r = app
        .client
        .get(url("/api/v1/specialties?page=abc"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r).await.0, 400);
    let r = app
        .client
        .get(url("/api/v1/specialties/123"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r).await.0, 400);
    let r = app.client.get(url("/api/v1/specialties")).send().await.unwrap();
    assert_eq!(problem(r).await.0, 401);
    let r = app
        .client
        .get(url("/api/v1/specialties?page_size=101"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r).await.0, 400);
    // Integral numbers in any notation are integers, as JSON Schema says.
    let ok = app.get("/api/v1/specialties?page=1.0&page_size=2e1", &admin).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}
