//! Truly concurrent requests against the no-overlap guarantee.

use futures::future::join_all;
use serde_json::json;

use crate::helpers::spawn_app;

const WEEKLY: &[(&str, &str, &str)] = &[("sunday", "09:00", "13:00")];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_patients_racing_for_one_slot_get_exactly_one_booking() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let patients = join_all((0..50).map(|_| app.patient())).await;

    let replies = join_all(
        patients
            .iter()
            .map(|(_, token)| app.book(token, clinic.doctor, "2026-11-29T03:00:00Z", None)),
    )
    .await;

    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts: Vec<_> = replies.iter().filter(|r| r.status == 409).collect();
    println!("same slot, 50 patients: {created} × 201, {} × 409", conflicts.len());
    assert_eq!(created, 1, "exactly one booking wins");
    assert_eq!(conflicts.len(), 49, "every other request is a 409");
    assert!(
        conflicts.iter().all(|r| r.rule() == "doctor_unavailable"),
        "each 409 names the rule"
    );
    assert_eq!(app.count("appointments").await, 1);
    assert_eq!(app.count("appointment_events").await, 1, "no half-written events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_patient_racing_for_overlapping_slots_with_two_doctors_gets_one() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (second, _) = app.second_doctor(&clinic, WEEKLY).await;
    let (_, patient) = app.patient().await;

    // 50 requests, alternating doctors, all starting 09:00 local: half last one
    // 30-minute slot, half the 60-minute service. Every pair overlaps.
    let requests = (0..50).map(|i| {
        let doctor = if i % 2 == 0 { clinic.doctor } else { second };
        let mut body = json!({"doctor_id": doctor, "start": "2026-11-29T03:00:00Z"});
        if i % 4 < 2 {
            body["service_id"] = json!(clinic.service);
        }
        app.post("/api/v1/appointments", &patient, body)
    });
    let replies = join_all(requests).await;

    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts: Vec<_> = replies.iter().filter(|r| r.status == 409).collect();
    println!(
        "one patient, two doctors, 50 overlapping requests: {created} × 201, {} × 409",
        conflicts.len()
    );
    assert_eq!(created, 1);
    assert_eq!(conflicts.len(), 49);
    assert!(
        conflicts
            .iter()
            .all(|r| ["patient_unavailable", "doctor_unavailable"].contains(&r.rule()))
    );
    assert!(conflicts.iter().any(|r| r.rule() == "patient_unavailable"));
    assert_eq!(app.count("appointments").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reschedules_into_one_free_slot_move_exactly_one() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let (_, patient) = app.patient().await;
        // 09:30, 10:00, … 12:30 local; the 09:00 slot stays free.
        let start = format!(
            "2026-11-29T{:02}:{:02}:00Z",
            3 + (i + 1) / 2,
            if (i + 1) % 2 == 0 { 0 } else { 30 }
        );
        ids.push((
            app.book(&patient, clinic.doctor, &start, None).await.expect(201).id(),
            patient,
        ));
    }
    let app = &app;
    let replies = join_all(ids.iter().map(|(id, token)| async move {
        let path = format!("/api/v1/appointments/{id}/reschedule");
        app.post(&path, token, json!({"start": "2026-11-29T03:00:00Z"})).await
    }))
    .await;
    let moved = replies.iter().filter(|r| r.status == 200).count();
    let refused = replies
        .iter()
        .filter(|r| r.status == 409 && r.rule() == "doctor_unavailable")
        .count();
    println!("7 concurrent reschedules into one slot: {moved} × 200, {refused} × 409");
    assert_eq!((moved, refused), (1, 6));
}

#[tokio::test]
async fn the_database_itself_refuses_overlapping_live_appointments() {
    use carebook::db::entities::appointment;
    use carebook::db::error::{DbError, Party};
    use carebook::domain::{AppointmentKind, AppointmentStatus};

    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (patient, _) = app.patient().await;
    let (other_patient, _) = app.patient().await;
    let row = |patient, start: &str, end: &str, status| appointment::Model {
        id: uuid::Uuid::new_v4(),
        patient_id: patient,
        doctor_id: clinic.doctor,
        facility_id: clinic.facility,
        service_id: None,
        start_at: crate::helpers::at(start),
        end_at: crate::helpers::at(end),
        status,
        kind: AppointmentKind::InPerson,
        reason: String::new(),
        notes: String::new(),
        queue_number: None,
        booked_by: None,
        cancel_reason: None,
        hold_expires_at: None,
        version: 1,
        created_at: crate::helpers::default_now(),
        updated_at: crate::helpers::default_now(),
    };
    let db = &app.state.db;
    let insert = |model| async move {
        let tx = db.begin_write().await?;
        carebook::db::insert_row::<appointment::ActiveModel>(&tx, model).await?;
        tx.commit().await
    };
    insert(row(
        patient,
        "2026-11-29T03:00:00Z",
        "2026-11-29T04:00:00Z",
        AppointmentStatus::Confirmed,
    ))
    .await
    .unwrap();
    // Straight into the table, no handler in the way: the doctor overlap is refused…
    let err = insert(row(
        other_patient,
        "2026-11-29T03:30:00Z",
        "2026-11-29T04:30:00Z",
        AppointmentStatus::Pending,
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, DbError::Overlap(Party::Doctor)), "{err}");
    // …touching intervals are fine, and cancelled ones hold no time.
    insert(row(
        other_patient,
        "2026-11-29T04:00:00Z",
        "2026-11-29T04:30:00Z",
        AppointmentStatus::Confirmed,
    ))
    .await
    .unwrap();
    insert(row(
        other_patient,
        "2026-11-29T03:00:00Z",
        "2026-11-29T03:30:00Z",
        AppointmentStatus::Cancelled,
    ))
    .await
    .unwrap();
    // Reviving the cancelled one by an update is refused too.
    let revive = sea_orm::ConnectionTrait::execute_unprepared(
        db.conn(),
        "UPDATE appointments SET status = 'confirmed' WHERE status = 'cancelled'",
    )
    .await
    .unwrap_err();
    assert!(matches!(DbError::from(revive), DbError::Overlap(_)));
    assert_eq!(app.count("appointments").await, 3);
}

/// PostgreSQL can deadlock two transactions inside an exclusion constraint's
/// check (each inserts its tuple, then waits for the other's); the soak
/// found a reschedule and a booking of one slot answered 503 that way. One
/// booking write per doctor at a time, and a retry of an aborted one, leave
/// only winners (200/201) and plain refusals (409).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bookings_and_reschedules_racing_for_the_same_slots_never_fail_as_busy() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let slot = |i: u32| {
        format!(
            "2026-11-29T{:02}:{:02}:00Z",
            3 + i / 2,
            if i.is_multiple_of(2) { 0 } else { 30 }
        )
    };
    let mut moving = Vec::new();
    for i in [0, 2, 4, 6] {
        let (_, patient) = app.patient().await;
        let id = app.book(&patient, clinic.doctor, &slot(i), None).await.expect(201).id();
        moving.push((id, patient, slot(i + 1)));
    }
    let bookers = join_all((0..12).map(|_| app.patient())).await;
    let app = &app;
    let reschedules = moving.iter().map(|(id, token, to)| async move {
        let path = format!("/api/v1/appointments/{id}/reschedule");
        app.post(&path, token, json!({"start": to})).await
    });
    let bookings = bookers.iter().enumerate().map(|(n, (_, token))| {
        let to = slot(1 + 2 * (n as u32 % 4));
        async move { app.book(token, clinic.doctor, &to, None).await }
    });
    let (moved, booked) = futures::join!(join_all(reschedules), join_all(bookings));
    let statuses: Vec<u16> = moved.iter().chain(booked.iter()).map(|r| r.status.as_u16()).collect();
    println!("4 reschedules and 12 bookings into 4 slots: {statuses:?}");
    assert!(statuses.iter().all(|s| [200, 201, 409].contains(s)), "{statuses:?}");
    let winners = statuses.iter().filter(|s| **s != 409).count();
    assert_eq!(winners, 4, "each of the 4 slots is taken exactly once: {statuses:?}");
}
