//! Clinical records: the ICD-10-CM code list, consultations.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{Clinic, TestApp, at, spawn_app};

#[tokio::test]
async fn diagnosis_codes_are_found_by_code_prefix_and_by_words() {
    let app = spawn_app().await;
    let (_, patient) = app.patient().await;
    let prefix = app
        .get("/api/v1/diagnosis-codes?search=E11&page_size=100", &patient)
        .await
        .expect(200);
    let count = prefix.body["count"].as_u64().unwrap();
    assert!(count > 50, "{count}");
    for code in prefix.body["results"].as_array().unwrap() {
        assert!(code["code"].as_str().unwrap().starts_with("E11"), "{code}");
        assert_eq!(code["system"], "http://hl7.org/fhir/sid/icd-10-cm");
    }
    let words = app
        .get("/api/v1/diagnosis-codes?search=type%202%20diabetes", &patient)
        .await
        .expect(200);
    let first = &words.body["results"][0];
    assert!(first["code"].as_str().unwrap().starts_with("E11"), "{first}");
    assert!(
        words.body["next"].as_str().unwrap().contains("search=type"),
        "links keep the search"
    );

    let one = app.get("/api/v1/diagnosis-codes/e119", &patient).await.expect(200);
    assert_eq!(one.body["code"], "E11.9");
    assert_eq!(
        one.body["description"],
        "Type 2 diabetes mellitus without complications"
    );
    // A category is not billable; nonsense is not a code.
    app.get("/api/v1/diagnosis-codes/E11", &patient).await.expect(404);
    app.get("/api/v1/diagnosis-codes/nonsense", &patient).await.expect(404);
    app.public(reqwest::Method::GET, "/api/v1/diagnosis-codes?search=E11", None)
        .await
        .expect(401);
    app.get("/api/v1/diagnosis-codes?searching=E11", &patient)
        .await
        .expect(400);

    // The same codes are in the database, for diagnoses' foreign key.
    let conn = app.state.db.conn();
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM diagnosis_codes",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 74_719);
}

const WEEKLY: &[(&str, &str, &str)] = &[("sunday", "09:00", "13:00"), ("monday", "09:00", "13:00")];
/// Sunday 29 November 2026, 09:00 in Dhaka.
const SUNDAY_9: &str = "2026-11-29T03:00:00Z";

/// A clinic, a patient with a booked appointment ("Chest pain"), and the
/// appointment driven through `steps` by the admin.
pub(crate) async fn visit(app: &TestApp, steps: &[&str]) -> (Clinic, Uuid, String, Uuid) {
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (patient, patient_token) = app.patient().await;
    let appointment = app
        .post(
            "/api/v1/appointments",
            &patient_token,
            json!({"doctor_id": clinic.doctor, "start": SUNDAY_9, "reason": "Chest pain"}),
        )
        .await
        .expect(201)
        .id();
    app.drive(&clinic.admin, appointment, at(SUNDAY_9), steps).await;
    (clinic, patient, patient_token, appointment)
}

#[tokio::test]
async fn starting_an_appointment_opens_its_consultation_and_completing_it_completes_it() {
    let app = spawn_app().await;
    let (clinic, patient, patient_token, appointment) = visit(&app, &["check-in", "start"]).await;
    let doctor = &clinic.doctor_token;
    let listed = app
        .get(
            &format!("/api/v1/consultations?patient={patient}&status=in_progress"),
            doctor,
        )
        .await
        .expect(200);
    assert_eq!(listed.body["count"], 1);
    let consultation = &listed.body["results"][0];
    let id = consultation["id"].as_str().unwrap().to_owned();
    assert_eq!(consultation["appointment_id"], appointment.to_string());
    assert_eq!(consultation["doctor_id"], clinic.doctor.to_string());
    assert_eq!(consultation["facility_id"], clinic.facility.to_string());
    assert_eq!(
        consultation["chief_complaint"], "Chest pain",
        "the reason for the visit"
    );
    assert!(consultation["ended_at"].is_null());

    let path = format!("/api/v1/consultations/{id}");
    let read = app.get(&path, doctor).await.expect(200);
    assert_eq!(read.headers["etag"], "\"v1\"");
    let changed = app
        .patch(
            &path,
            doctor,
            json!({"examination": "BP 150/95, heart sounds normal", "assessment": "Hypertension", "follow_up_on": "2026-12-13"}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["version"], 2);
    assert_eq!(changed.body["follow_up_on"], "2026-12-13");
    assert_eq!(changed.body["chief_complaint"], "Chest pain", "absent fields stay");
    let stale = app
        .client
        .patch(format!("{}{path}", app.address))
        .bearer_auth(doctor)
        .header("If-Match", "\"v1\"")
        .json(&json!({"plan": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    app.patch(&path, doctor, json!({"plan": "a".repeat(8001)}))
        .await
        .expect(422);
    app.patch(&path, doctor, json!({"status": "completed"}))
        .await
        .expect(400);

    // Who sees it: the patient, a nurse of the facility; not reception, not
    // another patient, not a doctor or nurse without a care relation.
    app.get(&path, &patient_token).await.expect(200);
    let (_, nurse) = app.staff(&clinic.admin, "nurse", Some(clinic.facility)).await;
    app.get(&path, &nurse).await.expect(200);
    app.patch(&path, &nurse, json!({"plan": "x"})).await.expect(403);
    app.get(&path, &clinic.receptionist).await.expect(403);
    app.get("/api/v1/consultations", &clinic.receptionist).await.expect(403);
    app.get(
        &format!("/api/v1/patients/{patient}/consultations"),
        &clinic.receptionist,
    )
    .await
    .expect(403);
    let (_, stranger) = app.patient().await;
    app.get(&path, &stranger).await.expect(404);
    assert_eq!(
        app.get("/api/v1/consultations", &stranger).await.expect(200).body["count"],
        0
    );
    let (_, other_doctor) = app.second_doctor(&clinic, WEEKLY).await;
    app.get(&path, &other_doctor).await.expect(404);
    app.patch(&path, &other_doctor, json!({"plan": "x"})).await.expect(404);
    assert_eq!(
        app.get("/api/v1/consultations", &other_doctor).await.expect(200).body["count"],
        0
    );
    app.get(&format!("/api/v1/patients/{patient}/consultations"), &other_doctor)
        .await
        .expect(404);
    app.get(&path, &clinic.admin).await.expect(200);
    app.patch(&path, &clinic.admin, json!({"plan": "x"})).await.expect(403);
    // Clinical records are never deleted.
    app.delete(&path, doctor).await.expect(405);

    // Completing the appointment completes the consultation.
    app.post(&format!("{path}/complete"), doctor, json!({}))
        .await
        .expect_rule(409, "complete_the_appointment");
    app.clock.set(at(SUNDAY_9) + chrono::TimeDelta::minutes(20));
    let doctor = &app.renew(doctor);
    app.post(
        &format!("/api/v1/appointments/{appointment}/complete"),
        doctor,
        json!({}),
    )
    .await
    .expect(200);
    let done = app.get(&path, doctor).await.expect(200);
    assert_eq!(done.body["status"], "completed");
    assert_eq!(done.body["ended_at"], "2026-11-29T03:20:00Z");
    assert_eq!(done.body["assessment"], "Hypertension");
    app.patch(&path, doctor, json!({"plan": "x"}))
        .await
        .expect_rule(409, "consultation_not_in_progress");
    let mine = app
        .get(&format!("/api/v1/patients/{patient}/consultations"), doctor)
        .await
        .expect(200);
    assert_eq!(mine.body["count"], 1);
    assert_eq!(
        app.get("/api/v1/consultations?status=in_progress", doctor)
            .await
            .expect(200)
            .body["count"],
        0
    );
    app.get("/api/v1/consultations?status=open", doctor).await.expect(400);

    // Every read is audited with the patient named.
    let reads = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "clinical_read" && e.outcome == "allowed")
        .count();
    assert!(reads >= 5, "{reads}");
    assert!(app.audit_events().await.iter().any(|e| e.action == "clinical_read"
        && e.route == "/api/v1/consultations/{id}"
        && e.patient_id == Some(patient)));
}

#[tokio::test]
async fn a_doctor_opens_a_walk_in_consultation() {
    let app = spawn_app().await;
    let (clinic, _, _, started) = visit(&app, &["check-in", "start"]).await;
    let doctor = &clinic.doctor_token;
    let walk_in = app
        .post(
            "/api/v1/patients",
            &clinic.receptionist,
            json!({"first_name": "Rahim", "last_name": "Uddin"}),
        )
        .await
        .expect(201)
        .id();
    // Before the visit the doctor has no care relation with the patient.
    app.get(&format!("/api/v1/patients/{walk_in}"), doctor)
        .await
        .expect(404);

    let before = app.count("consultations").await;
    let body = |extra: serde_json::Value| {
        let mut body = json!({"patient_id": walk_in, "chief_complaint": "Fever for three days"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    app.post("/api/v1/consultations", doctor, body(json!({})))
        .await
        .expect(422);
    app.post(
        "/api/v1/consultations",
        doctor,
        body(json!({"facility_id": Uuid::new_v4()})),
    )
    .await
    .expect(422);
    app.post(
        "/api/v1/consultations",
        doctor,
        json!({"patient_id": Uuid::new_v4(), "facility_id": clinic.facility}),
    )
    .await
    .expect(422);
    app.post(
        "/api/v1/consultations",
        &clinic.receptionist,
        body(json!({"facility_id": clinic.facility})),
    )
    .await
    .expect(403);
    app.post(
        "/api/v1/consultations",
        &clinic.admin,
        body(json!({"facility_id": clinic.facility})),
    )
    .await
    .expect(403);
    // An appointment: of another patient, already recorded, not started, cancelled.
    app.post(
        "/api/v1/consultations",
        doctor,
        body(json!({"appointment_id": started})),
    )
    .await
    .expect(422);
    let (patient, patient_token) = app.patient().await;
    let later = app
        .book(&patient_token, clinic.doctor, "2026-11-30T03:00:00Z", None)
        .await
        .expect(201)
        .id();
    let recorded = json!({"patient_id": patient, "appointment_id": later});
    app.post("/api/v1/consultations", doctor, recorded.clone())
        .await
        .expect_rule(409, "appointment_not_started");
    app.post(
        &format!("/api/v1/appointments/{later}/cancel"),
        &patient_token,
        json!({"reason": "Better"}),
    )
    .await
    .expect(200);
    app.post("/api/v1/consultations", doctor, recorded)
        .await
        .expect_rule(409, "appointment_cancelled");
    assert_eq!(app.count("consultations").await, before, "nothing half-written");

    let opened = app
        .post(
            "/api/v1/consultations",
            doctor,
            body(json!({"facility_id": clinic.facility})),
        )
        .await
        .expect(201);
    let id = opened.id();
    assert_eq!(
        opened.headers["location"],
        format!("/api/v1/consultations/{id}").as_str()
    );
    assert_eq!(opened.body["status"], "in_progress");
    assert!(opened.body["appointment_id"].is_null());
    // The visit is a care relation: the doctor now reads the patient's record.
    app.get(&format!("/api/v1/patients/{walk_in}"), doctor)
        .await
        .expect(200);
    let done = app
        .post(&format!("/api/v1/consultations/{id}/complete"), doctor, json!({}))
        .await
        .expect(200);
    assert_eq!(done.body["status"], "completed");
    app.post(&format!("/api/v1/consultations/{id}/complete"), doctor, json!({}))
        .await
        .expect_rule(409, "consultation_not_in_progress");
}

#[tokio::test]
async fn vital_signs_read_back_exactly_with_loinc_codes_and_implausible_values_are_refused() {
    let app = spawn_app().await;
    let (clinic, patient, patient_token, _) = visit(&app, &["check-in", "start"]).await;
    let doctor = &clinic.doctor_token;
    let consultation = app
        .get(&format!("/api/v1/patients/{patient}/consultations"), doctor)
        .await
        .expect(200)
        .body["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/consultations/{consultation}/vital-signs");
    let recorded = app
        .post(
            &path,
            doctor,
            json!({"systolic": 150, "diastolic": 95, "heart_rate": 88, "respiratory_rate": 18,
                   "temperature": 101.3, "temperature_unit": "[degF]", "oxygen_saturation": 97,
                   "weight": 70, "height": 177, "pain_score": 3}),
        )
        .await
        .expect(201);
    let v = &recorded.body;
    assert_eq!(v["blood_pressure"]["loinc"], "85354-9");
    assert_eq!(
        v["blood_pressure"]["systolic"],
        json!({"value": 150, "unit": "mm[Hg]", "loinc": "8480-6"})
    );
    assert_eq!(v["blood_pressure"]["diastolic"]["loinc"], "8462-4");
    assert_eq!(v["heart_rate"], json!({"value": 88, "unit": "/min", "loinc": "8867-4"}));
    assert_eq!(v["respiratory_rate"]["loinc"], "9279-1");
    assert_eq!(v["temperature"]["value"], json!(38.5), "101.3 [degF] is 38.5 Cel");
    assert_eq!(v["temperature"]["unit"], "Cel");
    assert_eq!(v["temperature"]["loinc"], "8310-5");
    assert_eq!(v["temperature"]["entered"], json!({"value": 101.3, "unit": "[degF]"}));
    assert_eq!(v["oxygen_saturation"]["loinc"], "2708-6");
    assert_eq!(v["weight"], json!({"value": 70, "unit": "kg", "loinc": "29463-7"}));
    assert_eq!(v["height"], json!({"value": 177, "unit": "cm", "loinc": "8302-2"}));
    assert_eq!(v["bmi"], json!({"value": 22.3, "unit": "kg/m2", "loinc": "39156-5"}));
    assert_eq!(v["pain_score"]["value"], 3);
    assert_eq!(v["consultation_id"], consultation.as_str());

    // Exact decimals, as entered, in a number or a string.
    let exact = app
        .post(
            &path,
            doctor,
            json!({"temperature": 36.6, "height": "177.5", "weight": 68.25}),
        )
        .await
        .expect(201);
    let text = serde_json::to_string(&exact.body).unwrap();
    assert!(
        text.contains("\"value\":36.6") && text.contains("\"value\":177.5") && text.contains("\"value\":68.25"),
        "{text}"
    );
    assert!(exact.body["blood_pressure"].is_null());

    // Implausible values: 422 naming the field, nothing stored.
    let before = app.count("vital_signs").await;
    for (body, field) in [
        (json!({"systolic": 350, "diastolic": 80}), "systolic"),
        (json!({"systolic": 120, "diastolic": 130}), "diastolic"),
        (json!({"systolic": 120}), "diastolic"),
        (json!({"heart_rate": 10}), "heart_rate"),
        (json!({"oxygen_saturation": 101}), "oxygen_saturation"),
        (json!({"temperature": 50}), "temperature"),
        (json!({"temperature": 120, "temperature_unit": "[degF]"}), "temperature"),
        (json!({"weight": 0.1}), "weight"),
        (json!({"height": 300}), "height"),
        (json!({"height": 170.1234}), "height"),
        (json!({"pain_score": 11}), "pain_score"),
        (json!({}), "systolic"),
        (
            json!({"heart_rate": 70, "measured_at": "2027-01-01T00:00:00Z"}),
            "measured_at",
        ),
    ] {
        let refused = app.post(&path, doctor, body.clone()).await;
        assert!(
            refused.status == 422 || refused.status == 400,
            "{body}: {}",
            refused.status
        );
        assert!(refused.body["errors"][field].is_array(), "{body}: {}", refused.body);
    }
    app.post(&path, doctor, json!({"bmi": 22})).await.expect(400);
    assert_eq!(app.count("vital_signs").await, before, "nothing stored");

    // A nurse of the facility records; reception and the patient do not.
    let (_, nurse) = app.staff(&clinic.admin, "nurse", Some(clinic.facility)).await;
    app.post(&path, &nurse, json!({"heart_rate": 80})).await.expect(201);
    app.post(&path, &clinic.receptionist, json!({"heart_rate": 80}))
        .await
        .expect(403);
    app.post(&path, &patient_token, json!({"heart_rate": 80}))
        .await
        .expect(403);
    let (_, other_nurse) = app.staff(&clinic.admin, "nurse", None).await;
    app.post(&path, &other_nurse, json!({"heart_rate": 80}))
        .await
        .expect(404);

    // Triage before a consultation, and the patient's own list.
    let triage = format!("/api/v1/patients/{patient}/vital-signs");
    let t = app
        .post(&triage, &nurse, json!({"systolic": 120, "diastolic": 80}))
        .await
        .expect(201);
    assert!(t.body["consultation_id"].is_null());
    app.post(&triage, &clinic.receptionist, json!({"heart_rate": 80}))
        .await
        .expect(403);
    let (stranger_id, _) = app.patient().await;
    app.post(
        &format!("/api/v1/patients/{stranger_id}/vital-signs"),
        &nurse,
        json!({"heart_rate": 80}),
    )
    .await
    .expect(404);
    let mine = app.get(&triage, &patient_token).await.expect(200);
    assert_eq!(mine.body["count"], 4);
    app.get(&triage, &clinic.receptionist).await.expect(403);

    // The consultation embeds them, in the order measured.
    let read = app
        .get(&format!("/api/v1/consultations/{consultation}"), doctor)
        .await
        .expect(200);
    assert_eq!(read.body["vital_signs"].as_array().unwrap().len(), 3);
    assert_eq!(read.body["vital_signs"][0]["bmi"]["value"], json!(22.3));
}

#[tokio::test]
async fn diagnoses_are_coded_amended_with_a_reason_and_never_deleted() {
    let app = spawn_app().await;
    let (clinic, patient, patient_token, appointment) = visit(&app, &["check-in", "start"]).await;
    let doctor = &clinic.doctor_token;
    let consultation = app
        .get(&format!("/api/v1/patients/{patient}/consultations"), doctor)
        .await
        .expect(200)
        .body["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/consultations/{consultation}/diagnoses");
    let before = app.count("diagnoses").await;
    for (code, detail) in [
        ("E11", "category"),
        ("ZZZ.9", "not an ICD-10-CM"),
        ("", "not an ICD-10-CM"),
    ] {
        let refused = app.post(&path, doctor, json!({"code": code})).await.expect(422);
        assert!(
            refused.body["errors"]["code"][0].as_str().unwrap().contains(detail),
            "{}",
            refused.body
        );
    }
    app.post(&path, doctor, json!({"code": "I10", "status": "entered_in_error"}))
        .await
        .expect(422);
    app.post(&path, doctor, json!({"code": "I10", "kind": "tertiary"}))
        .await
        .expect(400);
    app.post(&path, &clinic.receptionist, json!({"code": "I10"}))
        .await
        .expect(403);
    let (_, nurse) = app.staff(&clinic.admin, "nurse", Some(clinic.facility)).await;
    app.post(&path, &nurse, json!({"code": "I10"})).await.expect(403);
    assert_eq!(app.count("diagnoses").await, before, "nothing half-written");

    let hypertension = app
        .post(
            &path,
            doctor,
            json!({"code": "i10", "status": "confirmed", "notes": "Three raised readings"}),
        )
        .await
        .expect(201);
    assert_eq!(hypertension.body["code"], "I10");
    assert_eq!(hypertension.body["description"], "Essential (primary) hypertension");
    assert_eq!(hypertension.body["version"], 1);
    let diabetes = app
        .post(&path, doctor, json!({"code": "E11.9", "kind": "secondary"}))
        .await
        .expect(201);
    let diabetes_id = diabetes.id();
    let problems = app
        .get(&format!("/api/v1/patients/{patient}/problems"), &patient_token)
        .await
        .expect(200);
    let codes: Vec<&str> = problems
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["I10"], "a provisional diagnosis is not a problem yet");

    // The consultation completes with its appointment; the diagnosis is then amended.
    let (_, other_doctor) = app.second_doctor(&clinic, WEEKLY).await;
    app.clock.set(at(SUNDAY_9) + chrono::TimeDelta::minutes(20));
    let doctor = &app.renew(doctor);
    app.post(
        &format!("/api/v1/appointments/{appointment}/complete"),
        doctor,
        json!({}),
    )
    .await
    .expect(200);
    app.post(&path, doctor, json!({"code": "I10"}))
        .await
        .expect_rule(409, "consultation_not_in_progress");
    let one = format!("/api/v1/diagnoses/{diabetes_id}");
    let amended = json!({"code": "E11.65", "kind": "secondary", "status": "confirmed", "notes": "HbA1c 8.1%"});
    let no_reason = app.put(&one, doctor, amended.clone()).await.expect(400);
    assert!(
        no_reason.body["errors"]["reason"].is_array(),
        "an amendment names its reason"
    );
    let mut with_reason = amended.clone();
    with_reason["reason"] = json!("   ");
    app.put(&one, doctor, with_reason.clone()).await.expect(422);
    with_reason["reason"] = json!("HbA1c came back at 8.1%");
    app.put(&one, &app.renew(&other_doctor), with_reason.clone())
        .await
        .expect(404);
    app.put(&one, &app.renew(&clinic.admin), with_reason.clone())
        .await
        .expect(403);
    let v2 = app.put(&one, doctor, with_reason).await.expect(200);
    assert_eq!(v2.body["version"], 2);
    assert_eq!(v2.body["code"], "E11.65");

    let versions = app.get(&format!("{one}/versions"), doctor).await.expect(200);
    assert_eq!(versions.body["chain_intact"], true);
    let list = versions.body["versions"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        list[0]["content"]["code"], "E11.9",
        "the earlier version stays readable"
    );
    assert!(list[0]["reason"].is_null());
    assert_eq!(list[1]["reason"], "HbA1c came back at 8.1%");
    assert_eq!(list[1]["previous_digest"], list[0]["digest"]);
    assert_eq!(list[0]["digest"].as_str().unwrap().len(), 64);
    let receptionist = app.renew(&clinic.receptionist);
    app.get(&format!("{one}/versions"), &receptionist).await.expect(403);

    let problems = app
        .get(&format!("/api/v1/patients/{patient}/problems"), doctor)
        .await
        .expect(200);
    assert_eq!(problems.body.as_array().unwrap().len(), 2);

    // Entered in error: needs a reason, leaves the problem list, stays in history.
    let eie = format!("/api/v1/diagnoses/{}/entered-in-error", hypertension.id());
    app.post(&eie, doctor, json!({})).await.expect(400);
    app.post(&eie, doctor, json!({"reason": "Wrong patient"}))
        .await
        .expect(200);
    app.post(&eie, doctor, json!({"reason": "Again"}))
        .await
        .expect_rule(409, "entry_entered_in_error");
    let problems = app
        .get(&format!("/api/v1/patients/{patient}/problems"), doctor)
        .await
        .expect(200);
    let codes: Vec<&str> = problems
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["E11.65"]);
    let history = app
        .get(&format!("/api/v1/diagnoses/{}/versions", hypertension.id()), doctor)
        .await
        .expect(200);
    assert_eq!(history.body["versions"][1]["content"]["status"], "entered_in_error");
    app.get(&format!("/api/v1/patients/{patient}/problems"), &receptionist)
        .await
        .expect(403);

    // Never deleted: not over HTTP, not in the database.
    app.delete(&one, doctor).await.expect(405);
    app.assert_refused_by_database(&[
        "DELETE FROM diagnoses",
        "DELETE FROM consultations",
        "DELETE FROM clinical_versions",
        "UPDATE clinical_versions SET reason = 'rewritten'",
    ])
    .await;
    let read = app
        .get(&format!("/api/v1/consultations/{consultation}"), doctor)
        .await
        .expect(200);
    assert_eq!(read.body["diagnoses"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn consultations_and_vital_signs_are_amended_with_a_reason_and_marked_entered_in_error() {
    let app = spawn_app().await;
    let (clinic, patient, patient_token, appointment) = visit(&app, &["check-in", "start"]).await;
    let doctor = &clinic.doctor_token;
    let id = consultation_of(&app, doctor, patient).await;
    let path = format!("/api/v1/consultations/{id}");
    let vitals = app
        .post(
            &format!("{path}/vital-signs"),
            doctor,
            json!({"systolic": 150, "diastolic": 95, "weight": 70, "height": 177}),
        )
        .await
        .expect(201);
    assert_eq!(vitals.body["status"], "final");
    let one = format!("/api/v1/vital-signs/{}", vitals.id());
    let (nurse_id, nurse) = app.staff(&clinic.admin, "nurse", Some(clinic.facility)).await;
    let triage = app
        .post(
            &format!("/api/v1/patients/{patient}/vital-signs"),
            &nurse,
            json!({"heart_rate": 80}),
        )
        .await
        .expect(201);
    app.patch(&path, doctor, json!({"assessment": "Hypertension"}))
        .await
        .expect(200);
    let admin_id = app.get("/api/v1/auth/me", &clinic.admin).await.expect(200).body["id"].clone();
    let (_, other_doctor) = app.second_doctor(&clinic, WEEKLY).await;
    let (_, other_nurse) = app.staff(&clinic.admin, "nurse", None).await;
    app.clock.set(at(SUNDAY_9) + chrono::TimeDelta::minutes(20));
    let doctor = &app.renew(doctor);
    let (nurse, patient_token) = (app.renew(&nurse), app.renew(&patient_token));
    let (other_doctor, other_nurse) = (app.renew(&other_doctor), app.renew(&other_nurse));
    let receptionist = app.renew(&clinic.receptionist);
    app.post(
        &format!("/api/v1/appointments/{appointment}/complete"),
        doctor,
        json!({}),
    )
    .await
    .expect(200);

    // Every write of the consultation is a version: opened, changed, completed.
    let history = app.get(&format!("{path}/versions"), doctor).await.expect(200);
    let list = history.body["versions"].as_array().unwrap().clone();
    assert_eq!(list.len(), 3, "{}", history.body);
    assert_eq!(list[0]["content"]["status"], "in_progress");
    assert_eq!(list[0]["author_id"], admin_id, "who started the appointment");
    assert_eq!(list[1]["content"]["assessment"], "Hypertension");
    assert_eq!(list[2]["content"]["status"], "completed");
    assert_eq!(history.body["chain_intact"], true);

    // A completed consultation changes only by amendment, with a reason.
    let amendment = json!({
        "reason": "Examination recorded under the wrong side",
        "chief_complaint": "Chest pain",
        "history_of_present_illness": "Two days of left-sided chest pain.",
        "examination": "Tender right costochondral junction",
        "assessment": "Costochondritis",
        "plan": "NSAID for five days",
        "follow_up_on": "2026-12-13"
    });
    let mut no_reason = amendment.clone();
    no_reason.as_object_mut().unwrap().remove("reason");
    app.put(&path, doctor, no_reason).await.expect(400);
    let mut blank = amendment.clone();
    blank["reason"] = json!("  ");
    app.put(&path, doctor, blank).await.expect(422);
    let mut partial = amendment.clone();
    partial.as_object_mut().unwrap().remove("plan");
    app.put(&path, doctor, partial).await.expect(400);
    app.put(&path, &receptionist, amendment.clone()).await.expect(403);
    app.put(&path, &nurse, amendment.clone()).await.expect(403);
    app.put(&path, &app.renew(&clinic.admin), amendment.clone())
        .await
        .expect(403);
    app.put(&path, &other_doctor, amendment.clone()).await.expect(404);
    let amended = app.put(&path, doctor, amendment).await.expect(200);
    assert_eq!(amended.body["version"], 4);
    assert_eq!(amended.body["assessment"], "Costochondritis");
    assert_eq!(amended.body["status"], "completed");
    assert_eq!(amended.headers["etag"], "\"v4\"");
    let history = app.get(&format!("{path}/versions"), doctor).await.expect(200);
    assert_eq!(
        history.body["versions"][3]["reason"],
        "Examination recorded under the wrong side"
    );
    assert_eq!(history.body["versions"][2]["content"]["assessment"], "Hypertension");
    assert_eq!(
        history.body["versions"][3]["previous_digest"],
        history.body["versions"][2]["digest"]
    );
    app.get(&format!("{path}/versions"), &patient_token).await.expect(200);
    app.get(&format!("{path}/versions"), &receptionist).await.expect(403);

    // Vital signs: amended whole, after the consultation completed, by its
    // doctor or a nurse of its facility; who measured stays.
    let mut changed = json!({"reason": "Weight read from the wrong scale", "systolic": 150, "diastolic": 95,
                             "weight": "72.5", "height": 177});
    app.put(&one, &receptionist, changed.clone()).await.expect(403);
    app.put(&one, &patient_token, changed.clone()).await.expect(403);
    app.put(&one, &other_nurse, changed.clone()).await.expect(404);
    for (bad, field) in [
        (json!({"reason": "x", "weight": 900}), "weight"),
        (json!({"reason": "x", "systolic": 120, "diastolic": 130}), "diastolic"),
        (json!({"reason": " ", "weight": 70}), "reason"),
    ] {
        let refused = app.put(&one, doctor, bad.clone()).await.expect(422);
        assert!(refused.body["errors"][field].is_array(), "{bad}: {}", refused.body);
    }
    app.put(&one, doctor, json!({"reason": "x", "weight": 70, "bmi": 22}))
        .await
        .expect(400);
    app.put(&one, doctor, json!({"weight": 70})).await.expect(400);
    assert_eq!(
        app.get(&one, doctor).await.expect(200).body["version"],
        1,
        "nothing changed"
    );
    let v2 = app.put(&one, doctor, changed.clone()).await.expect(200);
    assert_eq!(v2.body["version"], 2);
    assert_eq!(v2.body["status"], "amended");
    assert_eq!(v2.body["weight"]["value"], json!(72.5));
    assert_eq!(v2.body["bmi"]["value"], json!(23.1));
    assert_eq!(v2.body["measured_by"], vitals.body["measured_by"]);
    assert_eq!(v2.body["measured_at"], vitals.body["measured_at"], "kept when absent");
    changed["reason"] = json!("Height re-measured");
    changed["height"] = json!(178);
    let v3 = app.put(&one, &nurse, changed).await.expect(200);
    assert_eq!(v3.body["version"], 3);
    let history = app.get(&format!("{one}/versions"), doctor).await.expect(200);
    let list = history.body["versions"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(
        list[0]["content"]["weight_milli"], 70_000,
        "the earlier version stays readable"
    );
    assert_eq!(list[2]["author_id"], nurse_id.to_string());
    assert_eq!(history.body["chain_intact"], true);

    // Triage vital signs (no consultation) are amended by who may record them.
    let triage_path = format!("/api/v1/vital-signs/{}", triage.id());
    app.put(
        &triage_path,
        &nurse,
        json!({"reason": "Counted for a full minute", "heart_rate": 84}),
    )
    .await
    .expect(200);
    app.put(&triage_path, &other_nurse, json!({"reason": "x", "heart_rate": 84}))
        .await
        .expect(404);

    // Entered in error: leaves the trend, stays in history.
    app.post(
        &format!("{triage_path}/entered-in-error"),
        &nurse,
        json!({"reason": "Another patient's reading"}),
    )
    .await
    .expect(200);
    app.put(&triage_path, &nurse, json!({"reason": "x", "heart_rate": 84}))
        .await
        .expect_rule(409, "entry_entered_in_error");
    let summary = app
        .get(&format!("/api/v1/patients/{patient}/clinical-summary"), doctor)
        .await
        .expect(200);
    let trend: Vec<&str> = summary.body["vital_signs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(trend, [vitals.id().to_string().as_str()]);
    let history = app.get(&format!("{triage_path}/versions"), &nurse).await.expect(200);
    assert_eq!(history.body["versions"][2]["content"]["status"], "entered_in_error");

    // A consultation entered in error takes no more changes and leaves the summary.
    let eie = format!("{path}/entered-in-error");
    app.post(&eie, doctor, json!({})).await.expect(400);
    app.post(&eie, &nurse, json!({"reason": "Wrong patient"}))
        .await
        .expect(403);
    let gone = app
        .post(&eie, doctor, json!({"reason": "Wrong patient"}))
        .await
        .expect(200);
    assert_eq!(gone.body["status"], "entered_in_error");
    assert_eq!(gone.body["error_reason"], "Wrong patient");
    let mut again = amended.body.clone();
    let again = json!({"reason": "x", "chief_complaint": again["chief_complaint"].take(),
        "history_of_present_illness": "", "examination": "", "assessment": "", "plan": ""});
    app.put(&path, doctor, again)
        .await
        .expect_rule(409, "consultation_entered_in_error");
    app.put(&one, doctor, json!({"reason": "x", "weight": 70}))
        .await
        .expect_rule(409, "consultation_entered_in_error");
    let summary = app
        .get(&format!("/api/v1/patients/{patient}/clinical-summary"), doctor)
        .await
        .expect(200);
    assert_eq!(summary.body["consultations"].as_array().unwrap().len(), 0);
    let history = app.get(&format!("{path}/versions"), doctor).await.expect(200);
    assert_eq!(history.body["versions"].as_array().unwrap().len(), 5);
    assert_eq!(history.body["versions"][4]["reason"], "Wrong patient");

    // Never deleted.
    app.delete(&one, doctor).await.expect(405);
    assert!(
        app.audit_events()
            .await
            .iter()
            .any(|e| e.route == "/api/v1/vital-signs/{id}" && e.patient_id == Some(patient) && e.outcome == "allowed")
    );
}

/// The first consultation of `patient`, as its doctor sees it.
pub(crate) async fn consultation_of(app: &TestApp, doctor: &str, patient: Uuid) -> String {
    app.get(&format!("/api/v1/patients/{patient}/consultations"), doctor)
        .await
        .expect(200)
        .body["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn prescriptions_take_frequencies_refuse_bad_quantities_and_stop_with_a_reason() {
    let app = spawn_app().await;
    let (clinic, patient, patient_token, _) = visit(&app, &["check-in", "start"]).await;
    let doctor = &clinic.doctor_token;
    let consultation = consultation_of(&app, doctor, patient).await;
    let path = format!("/api/v1/consultations/{consultation}/prescriptions");
    let order = |extra: serde_json::Value| {
        let mut body = json!({"medication": "Metformin 500 mg tablet", "dose_amount": 1, "dose_unit": "tablet",
                              "frequency": "1-0-1", "duration_days": 30, "quantity": 60});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let before = app.count("prescriptions").await;
    for (extra, field) in [
        (json!({"quantity": 0}), "quantity"),
        (json!({"refills": -1}), "refills"),
        (json!({"refills": 13}), "refills"),
        (json!({"dose_amount": 0}), "dose_amount"),
        (json!({"frequency": "0-0-0"}), "frequency"),
        (json!({"frequency": "thrice"}), "frequency"),
        (json!({"frequency": 25}), "frequency"),
        (json!({"duration_days": 0}), "duration_days"),
        (json!({"medication": " "}), "medication"),
        (json!({"route": "by_magic"}), "route"),
    ] {
        let refused = app.post(&path, doctor, order(extra.clone())).await;
        assert!(
            refused.status == 400 || refused.status == 422,
            "{extra}: {}",
            refused.status
        );
        assert!(refused.body["errors"][field].is_array(), "{extra}: {}", refused.body);
    }
    assert_eq!(app.count("prescriptions").await, before, "nothing half-written");
    app.post(&path, &clinic.receptionist, order(json!({})))
        .await
        .expect(403);

    let pattern = app.post(&path, doctor, order(json!({}))).await.expect(201);
    assert_eq!(pattern.body["times_per_day"], 2);
    assert_eq!(pattern.body["frequency_pattern"], "1-0-1");
    assert_eq!(pattern.body["route"], "oral");
    assert_eq!(pattern.body["status"], "active");
    let daily = app
        .post(
            &path,
            doctor,
            order(json!({"medication": "Amlodipine 5 mg tablet", "frequency": 1, "refills": 2})),
        )
        .await
        .expect(201);
    assert_eq!(daily.body["times_per_day"], 1);
    assert!(daily.body["frequency_pattern"].is_null());
    let prn = app
        .post(
            &path,
            doctor,
            order(
                json!({"medication": "Paracetamol 500 mg tablet", "frequency": "as_needed",
                                          "dose_amount": 1.5, "quantity": 10}),
            ),
        )
        .await
        .expect(201);
    assert_eq!(prn.body["as_needed"], true);
    assert_eq!(prn.body["dose_amount"], json!(1.5));
    assert!(prn.body["times_per_day"].is_null());

    let active = app
        .get(
            &format!("/api/v1/patients/{patient}/prescriptions?status=active"),
            &patient_token,
        )
        .await
        .expect(200);
    assert_eq!(active.body.as_array().unwrap().len(), 3);
    app.get(
        &format!("/api/v1/patients/{patient}/prescriptions"),
        &clinic.receptionist,
    )
    .await
    .expect(403);

    // Stop needs a reason; a stopped one is no longer active; it cannot be stopped twice.
    let stop = format!("/api/v1/prescriptions/{}/stop", prn.id());
    app.post(&stop, doctor, json!({})).await.expect(400);
    let stopped = app.post(&stop, doctor, json!({"reason": "Rash"})).await.expect(200);
    assert_eq!(stopped.body["status"], "stopped");
    assert_eq!(stopped.body["status_reason"], "Rash");
    app.post(&stop, doctor, json!({"reason": "Again"}))
        .await
        .expect_rule(409, "prescription_not_active");
    let amended = app
        .put(
            &format!("/api/v1/prescriptions/{}", daily.id()),
            doctor,
            json!({"reason": "Dose raised", "medication": "Amlodipine 10 mg tablet", "dose_amount": 1,
                   "dose_unit": "tablet", "route": "oral", "frequency": 1, "quantity": 30, "refills": 2}),
        )
        .await
        .expect(200);
    assert_eq!(amended.body["version"], 2);
    let versions = app
        .get(&format!("/api/v1/prescriptions/{}/versions", daily.id()), doctor)
        .await
        .expect(200);
    assert_eq!(
        versions.body["versions"][0]["content"]["medication"],
        "Amlodipine 5 mg tablet"
    );
    assert_eq!(versions.body["chain_intact"], true);
    app.post(
        &format!("/api/v1/prescriptions/{}/entered-in-error", pattern.id()),
        doctor,
        json!({"reason": "Duplicate"}),
    )
    .await
    .expect(200);
    let active = app
        .get(
            &format!("/api/v1/patients/{patient}/prescriptions?status=active"),
            doctor,
        )
        .await
        .expect(200);
    let names: Vec<&str> = active
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["medication"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Amlodipine 10 mg tablet"]);
    app.delete(&format!("/api/v1/prescriptions/{}", daily.id()), doctor)
        .await
        .expect(405);
}

#[tokio::test]
async fn notes_are_typed_and_nurses_write_nursing_notes_only() {
    let app = spawn_app().await;
    let (clinic, patient, _, _) = visit(&app, &["check-in", "start"]).await;
    let doctor = &clinic.doctor_token;
    let consultation = consultation_of(&app, doctor, patient).await;
    let path = format!("/api/v1/consultations/{consultation}/notes");
    let (_, nurse) = app.staff(&clinic.admin, "nurse", Some(clinic.facility)).await;
    app.post(&path, doctor, json!({"kind": "plan", "text": "  "}))
        .await
        .expect(422);
    app.post(&path, doctor, json!({"kind": "diary", "text": "x"}))
        .await
        .expect(400);
    let plan = app
        .post(&path, doctor, json!({"kind": "plan", "text": "Start metformin."}))
        .await
        .expect(201);
    app.post(&path, &nurse, json!({"kind": "plan", "text": "x"}))
        .await
        .expect(403);
    let nursing = app
        .post(&path, &nurse, json!({"kind": "nursing", "text": "Patient anxious."}))
        .await
        .expect(201);
    app.post(&path, &clinic.receptionist, json!({"kind": "general", "text": "x"}))
        .await
        .expect(403);
    // A nurse amends a nursing note, not the doctor's plan.
    let amend = json!({"reason": "Clarified", "kind": "nursing", "text": "Patient anxious; reassured."});
    app.put(&format!("/api/v1/notes/{}", nursing.id()), &nurse, amend.clone())
        .await
        .expect(200);
    app.put(&format!("/api/v1/notes/{}", plan.id()), &nurse, amend)
        .await
        .expect(403);
    app.post(
        &format!("/api/v1/notes/{}/entered-in-error", plan.id()),
        &nurse,
        json!({"reason": "x"}),
    )
    .await
    .expect(403);
    let read = app
        .get(&format!("/api/v1/consultations/{consultation}"), doctor)
        .await
        .expect(200);
    let kinds: Vec<&str> = read.body["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["plan", "nursing"]);
    assert_eq!(read.body["notes"][1]["version"], 2);
    let versions = app
        .get(&format!("/api/v1/notes/{}/versions", nursing.id()), doctor)
        .await
        .expect(200);
    assert_eq!(versions.body["versions"].as_array().unwrap().len(), 2);
    // A note on another doctor's consultation is refused.
    let (_, other_doctor) = app.second_doctor(&clinic, WEEKLY).await;
    app.post(&path, &other_doctor, json!({"kind": "general", "text": "x"}))
        .await
        .expect(404);
}

#[tokio::test]
async fn the_visit_flow_from_booking_to_an_amended_diagnosis_and_reception_sees_no_clinical_field() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let reception = &clinic.receptionist;
    let patient = app
        .post(
            "/api/v1/patients",
            reception,
            json!({"first_name": "Karim", "last_name": "Hossain", "phone": "+8801711000222"}),
        )
        .await
        .expect(201)
        .id();
    let appointment = app
        .post(
            "/api/v1/appointments",
            reception,
            json!({"doctor_id": clinic.doctor, "patient_id": patient, "start": SUNDAY_9, "reason": "Thirst, weight loss"}),
        )
        .await
        .expect(201)
        .id();
    app.clock.set(at(SUNDAY_9) - chrono::TimeDelta::minutes(10));
    let reception = &app.renew(reception);
    let doctor = &app.renew(&clinic.doctor_token);
    app.post(
        &format!("/api/v1/appointments/{appointment}/check-in"),
        reception,
        json!({}),
    )
    .await
    .expect(200);
    app.post(&format!("/api/v1/appointments/{appointment}/start"), doctor, json!({}))
        .await
        .expect(200);
    let consultation = consultation_of(&app, doctor, patient).await;
    let c = format!("/api/v1/consultations/{consultation}");
    app.post(
        &format!("{c}/vital-signs"),
        doctor,
        json!({"systolic": 128, "diastolic": 82, "weight": 81.4, "height": 172}),
    )
    .await
    .expect(201);
    let diagnosis = app
        .post(
            &format!("{c}/diagnoses"),
            doctor,
            json!({"code": "E11.9", "status": "confirmed"}),
        )
        .await
        .expect(201)
        .id();
    app.post(
        &format!("{c}/prescriptions"),
        doctor,
        json!({"medication": "Metformin 500 mg tablet", "dose_amount": 1, "dose_unit": "tablet",
               "frequency": "1-0-1", "duration_days": 30, "quantity": 60, "refills": 2}),
    )
    .await
    .expect(201);
    app.post(
        &format!("{c}/notes"),
        doctor,
        json!({"kind": "follow_up", "text": "HbA1c in three months."}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/appointments/{appointment}/complete"),
        doctor,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(app.get(&c, doctor).await.expect(200).body["status"], "completed");
    app.put(
        &format!("/api/v1/diagnoses/{diagnosis}"),
        doctor,
        json!({"code": "E11.65", "kind": "primary", "status": "confirmed", "reason": "HbA1c 8.1%: with hyperglycemia"}),
    )
    .await
    .expect(200);
    let versions = app
        .get(&format!("/api/v1/diagnoses/{diagnosis}/versions"), doctor)
        .await
        .expect(200);
    assert_eq!(versions.body["versions"].as_array().unwrap().len(), 2);

    let summary = app
        .get(&format!("/api/v1/patients/{patient}/clinical-summary"), doctor)
        .await
        .expect(200);
    assert_eq!(summary.body["problems"][0]["code"], "E11.65");
    assert_eq!(
        summary.body["prescriptions"][0]["medication"],
        "Metformin 500 mg tablet"
    );
    assert_eq!(summary.body["vital_signs"][0]["bmi"]["value"], json!(27.5));
    assert_eq!(summary.body["consultations"][0]["status"], "completed");

    // Reception: every clinical route refused, and nothing clinical in what it does see.
    for path in [
        format!("/api/v1/patients/{patient}/clinical-summary"),
        format!("/api/v1/patients/{patient}/consultations"),
        format!("/api/v1/patients/{patient}/problems"),
        format!("/api/v1/patients/{patient}/prescriptions"),
        format!("/api/v1/patients/{patient}/vital-signs"),
        c.clone(),
        format!("/api/v1/diagnoses/{diagnosis}"),
        format!("/api/v1/diagnoses/{diagnosis}/versions"),
        "/api/v1/consultations".to_owned(),
    ] {
        let refused = app.get(&path, reception).await.expect(403);
        let text = refused.body.to_string();
        assert!(!text.contains("E11") && !text.contains("Metformin"), "{path}: {text}");
    }
    let mut seen = String::new();
    for path in [
        format!("/api/v1/patients/{patient}"),
        "/api/v1/patients?search=Karim".to_owned(),
        format!("/api/v1/appointments/{appointment}"),
        format!("/api/v1/appointments/{appointment}/history"),
        format!("/api/v1/appointments?patient={patient}"),
    ] {
        seen.push_str(&app.get(&path, reception).await.expect(200).body.to_string());
    }
    for clinical in [
        "E11",
        "Metformin",
        "HbA1c",
        "allergies",
        "medical_history",
        "blood_group",
        "vital",
        "diagnos",
    ] {
        assert!(!seen.contains(clinical), "reception received {clinical}: {seen}");
    }
}

#[tokio::test]
async fn telemedicine_sessions_have_unguessable_rooms_participants_and_statistics() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;
    let book = |start: &'static str, kind: &'static str| {
        app.post(
            "/api/v1/appointments",
            &patient,
            json!({"doctor_id": clinic.doctor, "start": start, "kind": kind}),
        )
    };
    let video = book(SUNDAY_9, "telemedicine").await.expect(201).id();
    let in_person = book("2026-11-29T04:00:00Z", "in_person").await.expect(201).id();
    let cancelled = book("2026-11-29T05:00:00Z", "telemedicine").await.expect(201).id();
    app.post(
        &format!("/api/v1/appointments/{cancelled}/cancel"),
        &patient,
        json!({"reason": "Busy"}),
    )
    .await
    .expect(200);
    let doctor = &clinic.doctor_token;
    app.post(
        &format!("/api/v1/appointments/{in_person}/telemedicine"),
        doctor,
        json!({}),
    )
    .await
    .expect_rule(422, "not_telemedicine");
    app.post(
        &format!("/api/v1/appointments/{cancelled}/telemedicine"),
        doctor,
        json!({}),
    )
    .await
    .expect_rule(409, "appointment_closed");
    app.post(
        &format!("/api/v1/appointments/{video}/telemedicine"),
        &patient,
        json!({}),
    )
    .await
    .expect(403);
    let opened = app
        .post(&format!("/api/v1/appointments/{video}/telemedicine"), doctor, json!({}))
        .await
        .expect(201);
    let room = opened.body["room"].as_str().unwrap();
    assert!(room.len() >= 43, "256 random bits: {room}");
    assert_eq!(opened.body["join_url"], format!("https://meet.example.test/{room}"));
    let other = app
        .post(
            &format!("/api/v1/appointments/{video}/telemedicine"),
            &clinic.receptionist,
            json!({}),
        )
        .await
        .expect_rule(409, "session_exists");
    assert!(other.body.get("room").is_none());
    let session = format!("/api/v1/telemedicine/sessions/{}", opened.id());

    // Participants join and leave; the first join starts it.
    let (_, stranger) = app.patient().await;
    app.get(&session, &stranger).await.expect(404);
    app.post(&format!("{session}/join"), &stranger, json!({}))
        .await
        .expect(404);
    app.post(&format!("{session}/join"), &clinic.receptionist, json!({}))
        .await
        .expect(403);
    app.clock.set(at(SUNDAY_9));
    let (doctor, patient) = (&app.renew(doctor), &app.renew(&patient));
    app.post(&format!("{session}/join"), doctor, json!({}))
        .await
        .expect(200);
    app.clock.set(at(SUNDAY_9) + chrono::TimeDelta::minutes(2));
    let joined = app
        .post(&format!("{session}/join"), patient, json!({}))
        .await
        .expect(200);
    assert_eq!(joined.body["started_at"], "2026-11-29T03:00:00Z");
    app.clock.set(at(SUNDAY_9) + chrono::TimeDelta::minutes(17));
    let (doctor, patient) = (&app.renew(doctor), &app.renew(patient));
    app.post(&format!("{session}/leave"), patient, json!({}))
        .await
        .expect(200);
    app.post(&format!("{session}/end"), doctor, json!({"outcome": "finished"}))
        .await
        .expect(400);
    let ended = app
        .post(&format!("{session}/end"), doctor, json!({"outcome": "completed"}))
        .await
        .expect(200);
    assert_eq!(ended.body["duration_seconds"], 17 * 60);
    let kinds: Vec<String> = ended.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["participant"].as_str().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, ["doctor joined", "patient joined", "patient left"]);
    app.post(&format!("{session}/join"), patient, json!({}))
        .await
        .expect_rule(409, "session_ended");
    app.get(&session, patient).await.expect(200);

    let admin = app.renew(&clinic.admin);
    let stats = app
        .get("/api/v1/telemedicine/statistics?from=2026-11-01&to=2026-12-31", &admin)
        .await
        .expect(200);
    assert_eq!(stats.body["sessions"], 1);
    assert_eq!(stats.body["completion_rate"], json!(1.0));
    assert_eq!(stats.body["average_duration_seconds"], 17 * 60);
    let none = app
        .get("/api/v1/telemedicine/statistics?from=2027-01-01", &admin)
        .await
        .expect(200);
    assert_eq!(none.body["sessions"], 0);
    assert_eq!(none.body["completion_rate"], json!(0.0));
    app.get("/api/v1/telemedicine/statistics", doctor).await.expect(403);
    app.get("/api/v1/telemedicine/statistics?from=yesterday", &admin)
        .await
        .expect(400);
}
