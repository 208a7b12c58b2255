//! The audit trail: what is recorded, what is not, and that it cannot be changed.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app, with_user};

#[tokio::test]
async fn patient_data_reads_writes_and_denials_are_recorded_without_the_data() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[("monday", "09:00", "17:00")]).await;
    let (patient, token) = app.patient().await;
    let (_, stranger) = app.patient().await;
    let booked = app
        .book(&token, clinic.doctor, "2026-11-23T03:00:00Z", None)
        .await
        .expect(201);
    let appointment = booked.id();
    let read = app
        .get(&format!("/api/v1/appointments/{appointment}"), &token)
        .await
        .expect(200);
    app.get(&format!("/api/v1/appointments/{appointment}"), &stranger)
        .await
        .expect(404);
    app.get(&format!("/api/v1/patients/{patient}"), &clinic.receptionist)
        .await
        .expect(200);
    app.get("/api/v1/appointments", &token).await.expect(200);
    app.get("/api/v1/users", &token).await.expect(403);
    app.get("/api/v1/patients", "not-a-token").await.expect(401);
    // Directory reads are not patient data: not recorded.
    app.get("/api/v1/specialties", &token).await.expect(200);

    let request_id = read.headers["x-request-id"].to_str().unwrap();
    let events = app.audit_events().await;
    let find = |route: &str, status: i16| {
        events
            .iter()
            .find(|e| e.route == route && e.status == status)
            .unwrap_or_else(|| panic!("no audit event for {route} {status}"))
    };
    let booking = find("/api/v1/appointments", 201);
    assert_eq!(booking.action, "appointment_create");
    assert_eq!(booking.outcome, "allowed");
    assert_eq!(booking.object_type.as_deref(), Some("appointment"));
    assert_eq!(booking.object_id.as_deref(), Some(appointment.to_string().as_str()));
    assert_eq!(booking.patient_id, Some(patient));
    assert_eq!(booking.actor_role.as_deref(), Some("patient"));
    assert_eq!(booking.actor_id, Some(TestApp::user_of(&token)));
    assert_eq!(booking.ip.as_deref(), Some("127.0.0.1"));

    let reading = find("/api/v1/appointments/{id}", 200);
    assert_eq!(reading.request_id.as_deref(), Some(request_id));
    assert_eq!(reading.method, "GET");
    assert_eq!(reading.patient_id, Some(patient));

    let hidden = find("/api/v1/appointments/{id}", 404);
    assert_eq!(hidden.outcome, "denied", "a hidden object is a denial");
    assert_eq!(hidden.actor_id, Some(TestApp::user_of(&stranger)));

    let record = find("/api/v1/patients/{id}", 200);
    assert_eq!(record.action, "patient_read");
    assert_eq!(record.patient_id, Some(patient));
    assert_eq!(find("/api/v1/appointments", 200).action, "appointment_read");
    assert_eq!(find("/api/v1/users", 403).outcome, "denied");
    let anonymous = find("/api/v1/patients", 401);
    assert_eq!((anonymous.outcome.as_str(), anonymous.actor_id), ("denied", None));
    assert!(
        !events
            .iter()
            .any(|e| e.route == "/api/v1/specialties" && e.method == "GET")
    );

    // Never the data itself: no name, phone or reason anywhere in the trail.
    let everything = format!("{events:?}");
    let name = read.body["patient_name"].as_str().unwrap();
    assert!(!everything.contains(name), "the trail holds a patient name");
}

#[tokio::test]
async fn admins_search_the_trail_and_nobody_can_change_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (patient, token) = app.patient().await;
    app.patch(
        &format!("/api/v1/patients/{patient}"),
        &token,
        json!({"address": "Mirpur 10"}),
    )
    .await
    .expect(200);
    app.get("/api/v1/users", &token).await.expect(403);
    let actor = TestApp::user_of(&token);

    let mine = app
        .get(&format!("/api/v1/audit-events?actor={actor}"), &admin)
        .await
        .expect(200);
    assert_eq!(mine.body["count"], 2);
    let denied = app
        .get(&format!("/api/v1/audit-events?actor={actor}&outcome=denied"), &admin)
        .await
        .expect(200);
    assert_eq!(denied.body["count"], 1);
    assert_eq!(denied.body["results"][0]["route"], "/api/v1/users");
    let about = app
        .get(&format!("/api/v1/audit-events?patient={patient}"), &admin)
        .await
        .expect(200);
    assert_eq!(about.body["results"][0]["action"], "patient_update");
    let object = app
        .get(
            &format!("/api/v1/audit-events?object_type=patient&object={patient}"),
            &admin,
        )
        .await
        .expect(200);
    assert_eq!(object.body["count"], 1);
    let by_action = app
        .get("/api/v1/audit-events?action=patient_update", &admin)
        .await
        .expect(200);
    assert_eq!(by_action.body["count"], 1);
    let future = app
        .get("/api/v1/audit-events?from=2027-01-01", &admin)
        .await
        .expect(200);
    assert_eq!(future.body["count"], 0);
    let today = app
        .get("/api/v1/audit-events?from=2026-11-22T00:00:00Z&to=2026-11-22", &admin)
        .await
        .expect(200);
    assert!(today.body["count"].as_u64().unwrap() >= 2);
    app.get("/api/v1/audit-events?outcome=maybe", &admin).await.expect(400);
    app.get("/api/v1/audit-events", &token).await.expect(403);
    // Reading the trail is itself recorded.
    let events = app.audit_events().await;
    assert!(
        events
            .iter()
            .any(|e| e.action == "audit_read" && e.outcome == "allowed")
    );

    // No route changes or deletes events, and the database refuses to.
    for method in [reqwest::Method::DELETE, reqwest::Method::PATCH, reqwest::Method::PUT] {
        let reply = app
            .send(method, "/api/v1/audit-events", Some(&admin), Some(json!({})))
            .await;
        assert_eq!(reply.status, 405);
    }
    let db = app.state.db.conn();
    let before = app.count("audit_events").await;
    let denied_before = app.count_where("audit_events", "outcome = 'denied'").await;
    assert!(denied_before >= 2);
    assert!(
        db.execute_unprepared("UPDATE audit_events SET outcome = 'allowed'")
            .await
            .is_err()
    );
    assert!(db.execute_unprepared("DELETE FROM audit_events").await.is_err());
    // Nor may an insert replace an event: SQLite's REPLACE deletes the old
    // row without firing delete triggers; PostgreSQL's upsert updates it.
    let columns = "id, at, actor_id, actor_role, action, method, route, object_type, object_id, \
                   patient_id, outcome, status, ip, request_id";
    let copy = "id, at, actor_id, actor_role, action, method, route, object_type, object_id, \
                patient_id, 'allowed', 200, ip, request_id";
    let rewrites = match app.state.db.backend() {
        sea_orm::DbBackend::Postgres => vec![
            format!(
                "INSERT INTO audit_events ({columns}) SELECT {copy} FROM audit_events \
                 WHERE outcome = 'denied' ON CONFLICT (id) DO UPDATE SET outcome = 'allowed'"
            ),
            "TRUNCATE audit_events".to_owned(),
        ],
        _ => vec![
            format!(
                "INSERT OR REPLACE INTO audit_events ({columns}) SELECT {copy} FROM audit_events WHERE outcome = 'denied'"
            ),
            format!("REPLACE INTO audit_events ({columns}) SELECT {copy} FROM audit_events WHERE outcome = 'denied'"),
            format!(
                "INSERT INTO audit_events ({columns}) SELECT {copy} FROM audit_events WHERE outcome = 'denied' \
                 ON CONFLICT (id) DO UPDATE SET outcome = 'allowed'"
            ),
        ],
    };
    for rewrite in rewrites {
        assert!(db.execute_unprepared(&rewrite).await.is_err(), "refused: {rewrite}");
    }
    assert_eq!(app.count("audit_events").await, before);
    assert_eq!(
        app.count_where("audit_events", "outcome = 'denied'").await,
        denied_before,
        "no denial was rewritten"
    );
}

/// Make the database refuse every new audit event (a full disk, a broken
/// trigger, a revoked grant all look like this to Carebook).
async fn refuse_audit_events(app: &TestApp, refuse: bool) {
    let db = app.state.db.conn();
    let statements: &[&str] = match (app.state.db.backend(), refuse) {
        (sea_orm::DbBackend::Postgres, true) => &[
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        ],
        (sea_orm::DbBackend::Postgres, false) => &[
            "DROP TRIGGER refuse_audit ON audit_events",
            "DROP FUNCTION refuse_audit()",
        ],
        (_, true) => &[
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
        ],
        (_, false) => &["DROP TRIGGER refuse_audit"],
    };
    for statement in statements {
        db.execute_unprepared(statement).await.unwrap();
    }
}

#[tokio::test]
async fn a_change_and_its_audit_event_commit_together_or_not_at_all() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[("monday", "09:00", "17:00")]).await;
    let (patient, token) = app.patient().await;
    let path = format!("/api/v1/patients/{patient}");
    let before = app.get(&path, &clinic.receptionist).await.expect(200).body;
    let events = app.audit_events().await.len();

    refuse_audit_events(&app, true).await;
    // A change whose event cannot be stored is not stored either.
    let refused = app
        .patch(&path, &clinic.receptionist, json!({"address": "House 7, Road 3"}))
        .await;
    assert!(refused.status.is_server_error(), "{}", refused.status);
    let booking = app.book(&token, clinic.doctor, "2026-11-23T03:00:00Z", None).await;
    assert!(booking.status.is_server_error(), "{}", booking.status);
    // A read of patient data is not answered before its event is stored.
    app.get(&path, &clinic.receptionist).await.expect(503);
    refuse_audit_events(&app, false).await;

    assert_eq!(app.count("appointments").await, 0, "the booking was rolled back");
    let after = app.get(&path, &clinic.receptionist).await.expect(200).body;
    assert_eq!(after["address"], before["address"], "the change was rolled back");
    assert_eq!(after["updated_at"], before["updated_at"]);
    // With the trail back, the same change commits with its event.
    app.patch(&path, &clinic.receptionist, json!({"address": "House 7, Road 3"}))
        .await
        .expect(200);
    let trail = app.audit_events().await;
    let change = trail.iter().rfind(|e| e.method == "PATCH").expect("the change's event");
    assert_eq!(
        (change.action.as_str(), change.outcome.as_str(), change.status),
        ("patient_update", "allowed", 200)
    );
    assert_eq!(change.patient_id, Some(patient));
    // Two reads before the outage and one after were recorded; nothing of the refused requests.
    assert_eq!(trail.len(), events + 2, "{trail:#?}");
}

/// PostgreSQL: the owner of a table can disable its triggers, so production
/// nodes run as a role that does not own the tables. Such a node works,
/// and its role can append to the trail but not change, delete or unprotect it.
/// (SQLite has no roles: the database file's permissions are the boundary.)
#[tokio::test]
async fn a_runtime_role_appends_to_the_trail_and_cannot_rewrite_it() {
    let app = spawn_app().await;
    if app.state.db.backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let clinic = app.clinic("Asia/Dhaka", &[("monday", "09:00", "17:00")]).await;
    let (_, patient) = app.patient().await;
    let owner = app.state.db.conn();
    assert!(
        carebook::db::roles::grant_runtime(&app.state.db, "postgres")
            .await
            .is_err(),
        "a superuser is refused as the runtime role"
    );
    let role = format!("carebook_rt_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    owner
        .execute_unprepared(&format!("CREATE ROLE {role} LOGIN"))
        .await
        .unwrap();
    carebook::db::roles::grant_runtime(&app.state.db, &role).await.unwrap();

    let runtime = carebook::db::Db::connect(&with_user(app.database_url(), &role), Some(4))
        .await
        .unwrap();
    runtime
        .migrate()
        .await
        .expect("nothing pending: no schema change needed");
    let node = app.node(runtime.clone()).await;
    let booked = app
        .client
        .post(format!("{node}/api/v1/appointments"))
        .bearer_auth(&patient)
        .json(&json!({"doctor_id": clinic.doctor, "start": "2026-11-23T03:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), 201, "the node books as the runtime role");
    let audited = app.count_where("audit_events", "action = 'appointment_create'").await;
    assert_eq!(audited, 1, "and appends its audit event");

    let before = app.count("audit_events").await;
    for statement in [
        "UPDATE audit_events SET outcome = 'allowed'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "DROP TABLE audit_events",
        "INSERT INTO audit_events SELECT * FROM audit_events ON CONFLICT (id) DO UPDATE SET outcome = 'allowed'",
        "CREATE TABLE shadow (id integer)",
        "DELETE FROM seaql_migrations",
    ] {
        assert!(
            runtime.conn().execute_unprepared(statement).await.is_err(),
            "the runtime role may not: {statement}"
        );
    }
    assert_eq!(app.count("audit_events").await, before);
    runtime.conn().clone().close().await.ok();
    for statement in [format!("DROP OWNED BY {role}"), format!("DROP ROLE {role}")] {
        owner.execute_unprepared(&statement).await.unwrap();
    }
}

/// Every disclosure of a patient's data is attributed to that patient, lists
/// and searches included, so `?patient=` answers "who saw this patient's data".
#[tokio::test]
async fn lists_and_searches_attribute_every_patient_they_disclose() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let clinic = app.clinic("Asia/Dhaka", &[("monday", "09:00", "17:00")]).await;
    let (first, first_token) = app.patient().await;
    let (second, second_token) = app.patient().await;
    let (third, _) = app.patient().await;
    app.book(&first_token, clinic.doctor, "2026-11-23T03:00:00Z", None)
        .await
        .expect(201);
    app.book(&second_token, clinic.doctor, "2026-11-23T04:00:00Z", None)
        .await
        .expect(201);
    let receptionist = TestApp::user_of(&clinic.receptionist);

    let seen_by = |patient: uuid::Uuid, route: &'static str, actor: uuid::Uuid| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let found = app
                .get(
                    &format!("/api/v1/audit-events?patient={patient}&actor={actor}&page_size=100"),
                    &admin,
                )
                .await
                .expect(200);
            found.body["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["route"] == route && e["method"] == "GET")
                .count()
        }
    };

    let all = app
        .get("/api/v1/patients?page_size=100", &clinic.receptionist)
        .await
        .expect(200);
    assert_eq!(all.body["count"], 3);
    for patient in [first, second, third] {
        assert_eq!(
            seen_by(patient, "/api/v1/patients", receptionist).await,
            1,
            "the list disclosed {patient}"
        );
    }
    let searched = app
        .get(&format!("/api/v1/appointments?patient={first}"), &clinic.receptionist)
        .await
        .expect(200);
    assert_eq!(searched.body["count"], 1);
    assert_eq!(seen_by(first, "/api/v1/appointments", receptionist).await, 1);
    assert_eq!(
        seen_by(second, "/api/v1/appointments", receptionist).await,
        0,
        "not disclosed"
    );
    app.get("/api/v1/appointments", &clinic.doctor_token).await.expect(200);
    let doctor = TestApp::user_of(&clinic.doctor_token);
    assert_eq!(seen_by(first, "/api/v1/appointments", doctor).await, 1);
    assert_eq!(seen_by(second, "/api/v1/appointments", doctor).await, 1);
    assert_eq!(seen_by(third, "/api/v1/appointments", doctor).await, 0);

    // Accounts of patients are their data too.
    app.get("/api/v1/users?role=patient&page_size=100", &admin)
        .await
        .expect(200);
    let admin_id = TestApp::user_of(&admin);
    assert_eq!(seen_by(third, "/api/v1/users", admin_id).await, 1);
    let third_user = app
        .get("/api/v1/users?role=patient&page_size=100", &admin)
        .await
        .expect(200)
        .body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["patient_id"] == third.to_string())
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .unwrap();
    app.get(&format!("/api/v1/users/{third_user}"), &admin)
        .await
        .expect(200);
    assert_eq!(seen_by(third, "/api/v1/users/{id}", admin_id).await, 1);

    // One's own profile is one's patient data.
    let patient_user = TestApp::user_of(&first_token);
    app.get("/api/v1/profile", &first_token).await.expect(200);
    app.patch("/api/v1/profile", &first_token, json!({"address": "Dhanmondi 27"}))
        .await
        .expect(200);
    let own = app
        .get(
            &format!("/api/v1/audit-events?patient={first}&actor={patient_user}"),
            &admin,
        )
        .await
        .expect(200);
    let routes: Vec<_> = own.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["method"].as_str().unwrap(), e["route"].as_str().unwrap()))
        .collect();
    assert!(routes.contains(&"GET /api/v1/profile".to_owned()), "{routes:?}");
    assert!(routes.contains(&"PATCH /api/v1/profile".to_owned()), "{routes:?}");

    // A list that discloses nobody is still recorded, once, with no patient.
    let before = app.count("audit_events").await;
    app.get("/api/v1/patients?search=nobody-has-this-name", &clinic.receptionist)
        .await
        .expect(200);
    assert_eq!(app.count("audit_events").await, before + 1);
}

/// A flood of unauthenticated requests cannot grow the append-only trail
/// without bound: per client address and minute, the first 401 is an event
/// and the rest one aggregate event with their count.
#[tokio::test]
async fn unauthenticated_denials_are_aggregated_per_address_and_minute() {
    let app = spawn_app().await;
    let unauthenticated = "status = 401 AND actor_id IS NULL";
    for i in 0..50 {
        let path = if i % 2 == 0 {
            "/api/v1/patients"
        } else {
            "/api/v1/appointments"
        };
        let token = if i % 3 == 0 { "forged.token.value" } else { "" };
        app.get(path, token).await.expect(401);
    }
    assert_eq!(
        app.count_where("audit_events", unauthenticated).await,
        1,
        "the first one, at once"
    );

    // The minute ends: the other 49 become one event.
    app.clock.advance(chrono::TimeDelta::seconds(61));
    assert_eq!(carebook::audit::flush_denials(&app.state, false).await.unwrap(), 1);
    assert_eq!(app.count_where("audit_events", unauthenticated).await, 2);
    assert_eq!(
        app.count_where("audit_events", &format!("{unauthenticated} AND occurrences = 49"))
            .await,
        1
    );
    // A new minute starts with an event of its own; nothing more to flush.
    app.get("/api/v1/patients", "").await.expect(401);
    assert_eq!(app.count_where("audit_events", unauthenticated).await, 3);
    assert_eq!(carebook::audit::flush_denials(&app.state, true).await.unwrap(), 0);

    // Denials of authenticated callers are each an event, as before.
    let (_, patient) = app.patient().await;
    for _ in 0..3 {
        app.get("/api/v1/users", &patient).await.expect(403);
    }
    assert_eq!(app.count_where("audit_events", "status = 403").await, 3);
    let admin = app.admin().await;
    let listed = app
        .get("/api/v1/audit-events?outcome=denied&page_size=100", &admin)
        .await
        .expect(200);
    let total: i64 = listed.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == 401)
        .map(|e| e["occurrences"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 51, "every unauthenticated denial is counted");
}

/// Retention: events older than the configured age are exported, then
/// purged, by an audited command; everything younger stays append-only.
#[tokio::test]
async fn old_events_are_exported_then_purged_and_younger_ones_stay() {
    use carebook::audit::retention::{self, MIN_RETENTION};
    use chrono::TimeDelta;
    let app = spawn_app().await;
    let (_, patient) = app.patient().await;
    app.get("/api/v1/profile", &patient).await.expect(200);
    app.get("/api/v1/patients", "").await.expect(401);
    let old = app.count("audit_events").await;
    assert!(old >= 3);

    app.clock.advance(TimeDelta::days(40));
    let patient = app.renew(&patient);
    app.get("/api/v1/profile", &patient).await.expect(200);
    let young = app.count("audit_events").await - old;

    let db = app.state.db.conn();
    assert!(
        db.execute_unprepared("DELETE FROM audit_events").await.is_err(),
        "no purge recorded: nothing may be deleted"
    );
    let dir = tempfile::tempdir().unwrap();
    assert!(
        retention::purge(&app.state, TimeDelta::days(7), dir.path())
            .await
            .is_err(),
        "at least 30 days"
    );

    let report = retention::purge(&app.state, MIN_RETENTION, dir.path()).await.unwrap();
    assert_eq!(report.events, old as u64);
    let export = report.export.clone().unwrap();
    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), old as usize, "the export holds every purged event");
    assert!(
        lines
            .iter()
            .all(|e| e["at"].as_str().unwrap() < report.purged_before.to_rfc3339().as_str())
    );
    assert!(
        lines.windows(2).all(|w| w[0]["at"].as_str() <= w[1]["at"].as_str()),
        "oldest first"
    );
    use sha2::Digest;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(text.as_bytes())),
        report.sha256.clone().unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&export).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // The younger events and the purge's own event remain; the ledger has the purge.
    assert_eq!(app.count("audit_events").await, young + 1);
    assert_eq!(
        app.count_where(
            "audit_events",
            "action = 'audit_purge' AND method = 'CLI' AND status = 200"
        )
        .await,
        1
    );
    assert_eq!(
        app.count_where(
            "audit_purges",
            &format!("events = {old} AND export_sha256 = '{}'", report.sha256.unwrap())
        )
        .await,
        1
    );
    // Still append-only for everything younger, and the ledger is too.
    assert!(db.execute_unprepared("DELETE FROM audit_events").await.is_err());
    assert!(db.execute_unprepared("DELETE FROM audit_purges").await.is_err());
    assert!(
        db.execute_unprepared("UPDATE audit_purges SET events = 0")
            .await
            .is_err()
    );
    assert_eq!(app.count("audit_events").await, young + 1);
    // Nothing more to purge; an existing export is never overwritten.
    let again = retention::purge(&app.state, MIN_RETENTION, dir.path()).await.unwrap();
    assert_eq!((again.events, again.export), (0, None));
}
