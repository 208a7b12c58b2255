//! The demo clinic: realistic, within every rule, idempotent.

use carebook::domain::AppointmentStatus;

use crate::helpers::{default_now, spawn_app};

#[tokio::test]
async fn the_demo_clinic_is_realistic_and_seeding_twice_changes_nothing() {
    let app = spawn_app().await;
    let report = carebook::seed::demo(&app.state.db, default_now()).await.unwrap();
    assert!(report.created);
    assert!(
        report.specialties >= 20 && report.doctors >= 30 && report.patients >= 200,
        "{report}"
    );
    assert!(report.appointments >= 200, "{report}");
    for status in [
        AppointmentStatus::Confirmed,
        AppointmentStatus::Pending,
        AppointmentStatus::Completed,
        AppointmentStatus::Cancelled,
        AppointmentStatus::NoShow,
    ] {
        let n = report.by_status.iter().find(|(s, _)| *s == status).unwrap().1;
        assert!(n > 0, "no {status} appointments: {report}");
    }
    let tables = [
        "users",
        "patients",
        "doctors",
        "working_hours",
        "time_off",
        "appointments",
        "appointment_events",
        "consultations",
        "vital_signs",
        "diagnoses",
        "prescriptions",
        "clinical_notes",
        "clinical_versions",
        "telemedicine_sessions",
        "telemedicine_events",
        "medications",
        "stock_lots",
        "stock_movements",
        "dispenses",
        "bills",
        "bill_lines",
        "payments",
        "refunds",
    ];
    // Every completed appointment has its consultation, with real codes and generics.
    assert_eq!(
        app.count("consultations").await,
        app.count_where("appointments", "status = 'completed'").await
    );
    assert_eq!(report.consultations as i64, app.count("consultations").await);
    // Each live appointment more than a day ahead has its one reminder, queued for 24 hours before it.
    assert!(report.reminders > 0);
    assert_eq!(report.reminders as i64, app.count("jobs").await);
    let start = default_now() + chrono::TimeDelta::hours(24);
    assert_eq!(
        report.reminders as i64,
        app.count_where(
            "appointments",
            &format!(
                "status IN ('pending', 'confirmed', 'checked_in', 'in_progress') AND start_at > '{}'",
                start.to_rfc3339()
            )
        )
        .await
    );
    assert!(app.count("diagnoses").await >= app.count("consultations").await);
    assert!(app.count("prescriptions").await > 0 && app.count("clinical_notes").await > 0);
    let entries = app.count("consultations").await
        + app.count("vital_signs").await
        + app.count("diagnoses").await
        + app.count("prescriptions").await
        + app.count("clinical_notes").await;
    assert_eq!(
        app.count("clinical_versions").await,
        entries,
        "every entry has its version 1"
    );
    assert!(report.telemedicine_sessions > 0, "{report}");
    // The shipped catalogue, stocked at every facility: one lot expired, one
    // expiring within the month, one for the year; every lot its ledger's sum.
    assert_eq!(app.count("medications").await, 204);
    assert_eq!(report.stock_lots as i64, 204 * 3 * app.count("facilities").await);
    assert_eq!(
        app.count_where(
            "stock_lots",
            "on_hand <> (SELECT SUM(m.quantity) FROM stock_movements m WHERE m.lot_id = stock_lots.id)"
        )
        .await,
        0
    );
    // Seeded prescriptions were dispensed and every completed visit billed:
    // a mix of statuses, the books as the API keeps them.
    assert!(report.dispenses > 0, "{report}");
    assert_eq!(report.dispenses as i64, app.count("dispenses").await);
    for status in ["draft", "issued", "partially_paid", "paid", "void"] {
        assert!(
            app.count_where("bills", &format!("status = '{status}'")).await > 0,
            "no {status} bill: {report}"
        );
    }
    assert!(report.payments > 0 && report.refunds > 0, "{report}");
    for (table, condition) in [
        (
            "bills",
            "total_minor <> (SELECT COALESCE(SUM(l.amount_minor), 0) FROM bill_lines l WHERE l.bill_id = bills.id)",
        ),
        (
            "bills",
            "paid_minor <> (SELECT COALESCE(SUM(p.amount_minor), 0) FROM payments p WHERE p.bill_id = bills.id) \
                   - (SELECT COALESCE(SUM(r.amount_minor), 0) FROM refunds r WHERE r.bill_id = bills.id AND r.status = 'completed')",
        ),
        (
            "dispenses",
            "quantity <> (SELECT -SUM(m.quantity) FROM stock_movements m WHERE m.dispense_id = dispenses.id)",
        ),
        ("stock_movements", "kind = 'dispense' AND on_hand_after < 0"),
    ] {
        assert_eq!(app.count_where(table, condition).await, 0, "{table}: {condition}");
    }
    let mut before = Vec::new();
    for table in tables {
        before.push(app.count(table).await);
    }
    let again = carebook::seed::demo(&app.state.db, default_now() + chrono::TimeDelta::days(3))
        .await
        .unwrap();
    assert!(!again.created);
    for (table, count) in tables.iter().zip(before) {
        assert_eq!(app.count(table).await, count, "{table} changed on the second run");
    }

    // The demo is usable: a patient logs in, finds a cardiologist in Dhaka division and sees free slots.
    let token = app.login("patient001", carebook::seed::DEMO_PASSWORD).await;
    let dhaka = carebook::db::ids::bd_geo("division", "6");
    let found = app
        .get(
            &format!("/api/v1/doctors?specialty=cardiology&location={dhaka}"),
            &token,
        )
        .await
        .expect(200);
    assert!(found.body["count"].as_i64().unwrap() >= 1, "{}", found.body);
    let doctor = found.body["results"][0]["id"].as_str().unwrap();
    let slots = app
        .get(
            &format!("/api/v1/doctors/{doctor}/availability?from=2026-11-22&to=2026-12-05"),
            &token,
        )
        .await
        .expect(200);
    assert!(!slots.body["slots"].as_array().unwrap().is_empty());
    // Their own appointments, all of them and nobody else's.
    let me = app.get("/api/v1/auth/me", &token).await.expect(200);
    let patient_id = me.body["patient_id"].as_str().unwrap().to_owned();
    let stored = {
        use carebook::db::entities::appointment;
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let id: uuid::Uuid = patient_id.parse().unwrap();
        appointment::Entity::find()
            .filter(appointment::Column::PatientId.eq(id))
            .count(app.state.db.conn())
            .await
            .unwrap()
    };
    assert!(stored > 0, "the demo gives patient001 appointments");
    let mine = app.get("/api/v1/appointments?page_size=100", &token).await.expect(200);
    assert_eq!(mine.body["count"].as_u64(), Some(stored));
    let results = mine.body["results"].as_array().unwrap();
    assert!(
        results.iter().all(|a| a["patient_id"] == patient_id.as_str()),
        "{results:?}"
    );

    // A demo doctor reads a demo consultation whole, and its history verifies.
    let doctor = app.login("doctor01", carebook::seed::DEMO_PASSWORD).await;
    let consultations = app
        .get("/api/v1/consultations?status=completed", &doctor)
        .await
        .expect(200);
    let first = consultations.body["results"][0]["id"]
        .as_str()
        .expect("doctor01 has completed visits")
        .to_owned();
    let visit = app
        .get(&format!("/api/v1/consultations/{first}"), &doctor)
        .await
        .expect(200);
    assert_eq!(visit.body["vital_signs"].as_array().unwrap().len(), 1);
    let diagnosis = &visit.body["diagnoses"][0];
    assert!(!diagnosis["description"].as_str().unwrap().is_empty(), "{diagnosis}");
    let versions = app
        .get(
            &format!("/api/v1/diagnoses/{}/versions", diagnosis["id"].as_str().unwrap()),
            &doctor,
        )
        .await
        .expect(200);
    assert_eq!(versions.body["chain_intact"], true);

    // Teleconsultation statistics over the demo's sessions.
    let admin = app.login("admin", carebook::seed::DEMO_PASSWORD).await;
    let stats = app.get("/api/v1/telemedicine/statistics", &admin).await.expect(200);
    assert_eq!(
        stats.body["sessions"].as_u64(),
        Some(report.telemedicine_sessions as u64)
    );
    assert!(
        stats.body["average_duration_seconds"].as_i64().unwrap() > 0,
        "{}",
        stats.body
    );
}

/// `seed --synthetic` grows the demo: the extra doctors' past is booked
/// solid with distinct patients at each slot (the database's no-overlap
/// guarantees check every row), their future is free to book, and the sizes
/// are what was asked for.
#[tokio::test]
async fn synthetic_data_is_the_demo_grown_to_the_sizes_asked_within_every_rule() {
    use carebook::seed::synthetic::{Sizes, synthetic};
    let app = spawn_app().await;
    let sizes = Sizes {
        doctors: 40,
        patients: 300,
        appointments: 1_000,
    };
    let report = synthetic(&app.state.db, default_now(), sizes).await.unwrap();
    assert_eq!(
        (report.doctors, report.patients, report.appointments),
        (8, 60, 1_000),
        "{report}"
    );
    assert_eq!(app.count("doctors").await, 40);
    assert_eq!(app.count("patients").await, 300);
    let synthetic_rows = "doctor_id IN (SELECT id FROM doctors WHERE licence_number LIKE 'BMDC-S-%')";
    assert_eq!(app.count_where("appointments", synthetic_rows).await, 1_000);
    assert_eq!(
        app.count_where(
            "appointment_events",
            "appointment_id IN (SELECT id FROM appointments WHERE booked_by IS NULL)"
        )
        .await,
        1_000
    );
    let now = default_now().to_rfc3339();
    assert_eq!(
        app.count_where("appointments", &format!("{synthetic_rows} AND start_at >= '{now}'"))
            .await,
        0,
        "synthetic appointments are all in the past"
    );

    // A synthetic doctor is found, and books like any other.
    let admin = app.login("admin", carebook::seed::DEMO_PASSWORD).await;
    let found = app
        .get("/api/v1/doctors?search=BMDC-S-000003", &admin)
        .await
        .expect(200);
    let doctor = found.body["results"][0]["id"].as_str().unwrap().to_owned();
    let slots = app
        .get(
            &format!("/api/v1/doctors/{doctor}/availability?from=2026-11-24&to=2026-11-30"),
            &admin,
        )
        .await
        .expect(200);
    let start = slots.body["slots"][0]["start"].as_str().unwrap().to_owned();
    let patient = app.login("patient001", carebook::seed::DEMO_PASSWORD).await;
    app.post(
        "/api/v1/appointments",
        &patient,
        serde_json::json!({"doctor_id": doctor, "start": start}),
    )
    .await
    .expect(201);
}
