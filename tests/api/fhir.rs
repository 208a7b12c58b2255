//! The FHIR R4 face: resources, searches, errors as OperationOutcomes, the
//! CapabilityStatement, each answer checked by two FHIR validators.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{check_fhir, spawn_app};

const WEEKLY: &[(&str, &str, &str)] = &[("sunday", "09:00", "13:00"), ("monday", "09:00", "13:00")];
const SUNDAY_9: &str = "2026-11-29T03:00:00Z";

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .map(|e| e.iter().map(|x| x["resource"].clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_fhir_client_reads_metadata_practitioners_patients_and_appointments() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (patient_id, patient) = app.patient().await;
    let (other_id, other) = app.patient().await;
    let booked = app
        .post(
            "/api/v1/appointments",
            &patient,
            json!({"doctor_id": clinic.doctor, "start": SUNDAY_9, "reason": "Cough"}),
        )
        .await
        .expect(201)
        .id();
    let mut emitted = Vec::new();

    let metadata = app.public(Method::GET, "/fhir/R4/metadata", None).await.expect(200);
    assert_eq!(metadata.headers["content-type"], "application/fhir+json");
    assert_eq!(metadata.body["fhirVersion"], "4.0.1");
    let kinds: Vec<&str> = metadata.body["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "Appointment",
            "Condition",
            "Encounter",
            "HealthcareService",
            "Location",
            "MedicationRequest",
            "Observation",
            "Organization",
            "Patient",
            "Practitioner",
            "PractitionerRole",
            "Schedule",
            "Slot"
        ]
    );
    let patient_params = &metadata.body["rest"][0]["resource"][8]["searchParam"];
    assert_eq!(metadata.body["rest"][0]["resource"][8]["type"], "Patient");
    assert!(patient_params.to_string().contains("birthdate"));
    emitted.push(metadata.body.clone());

    // Practitioner ids are the REST doctor ids.
    let found = app
        .get("/fhir/R4/Practitioner?name=Specialty", &patient)
        .await
        .expect(200);
    assert_eq!(found.body["type"], "searchset");
    let practitioners = entries(&found.body);
    assert!(practitioners.iter().any(|p| p["id"] == clinic.doctor.to_string()));
    emitted.push(found.body.clone());
    let read = app
        .get(&format!("/fhir/R4/Practitioner/{}", clinic.doctor), &patient)
        .await
        .expect(200);
    assert_eq!(read.body["resourceType"], "Practitioner");
    emitted.push(read.body.clone());

    // Patient ids are the REST patient ids; a patient sees only their own.
    let me = app
        .get(&format!("/fhir/R4/Patient/{patient_id}"), &patient)
        .await
        .expect(200);
    assert_eq!(me.body["id"], patient_id.to_string());
    assert_eq!(me.body["identifier"][0]["type"]["coding"][0]["code"], "MR");
    emitted.push(me.body.clone());
    let hidden = app
        .get(&format!("/fhir/R4/Patient/{other_id}"), &patient)
        .await
        .expect(404);
    assert_eq!(hidden.headers["content-type"], "application/fhir+json");
    assert_eq!(hidden.body["resourceType"], "OperationOutcome");
    assert_eq!(hidden.body["issue"][0]["code"], "not-found");
    emitted.push(hidden.body.clone());
    let mrn = me.body["identifier"][0]["value"].as_str().unwrap().to_owned();
    let by_mrn = app
        .get(
            &format!("/fhir/R4/Patient?identifier=urn:carebook:medical-record-number|{mrn}"),
            &clinic.receptionist,
        )
        .await
        .expect(200);
    assert_eq!(by_mrn.body["total"], 1);
    emitted.push(by_mrn.body.clone());

    // The appointment, by read and by search; another patient cannot see it.
    let appointment = app
        .get(&format!("/fhir/R4/Appointment/{booked}"), &patient)
        .await
        .expect(200);
    assert_eq!(appointment.body["status"], "booked");
    assert_eq!(
        appointment.body["participant"][0]["actor"]["reference"],
        format!("Patient/{patient_id}")
    );
    assert_eq!(
        appointment.body["participant"][1]["actor"]["reference"],
        format!("Practitioner/{}", clinic.doctor)
    );
    emitted.push(appointment.body.clone());
    app.get(&format!("/fhir/R4/Appointment/{booked}"), &other)
        .await
        .expect(404);
    let search = app
        .get(
            &format!(
                "/fhir/R4/Appointment?patient=Patient/{patient_id}&date=ge2026-11-29&date=lt2026-11-30&status=booked"
            ),
            &clinic.receptionist,
        )
        .await
        .expect(200);
    assert_eq!(search.body["total"], 1);
    emitted.push(search.body.clone());
    let none = app
        .get("/fhir/R4/Appointment?date=ge2026-12-01", &patient)
        .await
        .expect(200);
    assert_eq!(none.body["total"], 0);
    emitted.push(none.body.clone());

    // Paging links.
    for _ in 0..2 {
        app.patient().await;
    }
    let page = app.get("/fhir/R4/Patient?_count=2", &clinic.admin).await.expect(200);
    let relations: Vec<&str> = page.body["link"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["relation"].as_str().unwrap())
        .collect();
    assert_eq!(relations, ["self", "next"]);
    let next = page.body["link"][1]["url"].as_str().unwrap().to_owned();
    let second = app.get(&next, &clinic.admin).await.expect(200);
    assert!(second.body["link"].to_string().contains("previous"));
    emitted.push(page.body.clone());

    check_fhir(&emitted);
}

#[tokio::test]
async fn bad_fhir_requests_get_an_operation_outcome_never_a_problem_document() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;
    let mut emitted = Vec::new();
    for (path, token, status, code) in [
        ("/fhir/R4/Basic", Some(&patient), 404, "not-found"),
        ("/fhir/R4/Patient?colour=red", Some(&patient), 400, "invalid"),
        ("/fhir/R4/Appointment?date=ge29/11/2026", Some(&patient), 400, "invalid"),
        ("/fhir/R4/Appointment?status=maybe", Some(&patient), 400, "invalid"),
        ("/fhir/R4/Patient?_count=1000", Some(&patient), 400, "invalid"),
        ("/fhir/R4/Patient", None, 401, "login"),
        ("/fhir/R4/Practitioner/not-a-uuid", Some(&patient), 400, "invalid"),
    ] {
        let reply = match token {
            Some(token) => app.get(path, token).await,
            None => app.public(Method::GET, path, None).await,
        };
        let reply = reply.expect(status);
        assert_eq!(reply.headers["content-type"], "application/fhir+json", "{path}");
        assert_eq!(reply.body["resourceType"], "OperationOutcome", "{path}");
        assert_eq!(reply.body["issue"][0]["code"], code, "{path}");
        emitted.push(reply.body);
    }
    // handling=lenient ignores what is not supported.
    let lenient = app
        .get("/fhir/R4/Patient?colour=red&handling=lenient", &patient)
        .await
        .expect(200);
    assert_eq!(lenient.body["total"], 1);
    emitted.push(lenient.body);
    let _ = clinic;
    check_fhir(&emitted);
}

/// A `Parameters` resource naming an Appointment (ITI-116/117 input).
fn naming(appointment: &str) -> Value {
    json!({"resourceType": "Parameters", "parameter": [
        {"name": "appointment-reference", "valueReference": {"reference": format!("Appointment/{appointment}")}}
    ]})
}

fn booked_in(bundle: &Value) -> Value {
    assert_eq!(bundle["resourceType"], "Bundle", "{bundle}");
    bundle["entry"][0]["resource"].clone()
}

#[tokio::test]
async fn a_fhir_client_finds_a_slot_holds_it_and_books_it() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (patient_id, patient) = app.patient().await;
    let mut emitted = Vec::new();

    // Metadata lists the scheduling resources and operations.
    let metadata = app.public(Method::GET, "/fhir/R4/metadata", None).await.expect(200);
    let appointment = metadata.body["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Appointment")
        .unwrap()
        .clone();
    let operations: Vec<&str> = appointment["operation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(operations, ["book", "find", "hold"]);
    emitted.push(metadata.body.clone());

    // Practitioner → Schedule → Slots.
    let practitioners = app.get("/fhir/R4/Practitioner", &patient).await.expect(200);
    let practitioner = entries(&practitioners.body)
        .into_iter()
        .find(|p| p["id"] == clinic.doctor.to_string())
        .expect("the REST doctor id is the Practitioner id");
    let schedules = app
        .get(
            &format!(
                "/fhir/R4/Schedule?actor=Practitioner/{}",
                practitioner["id"].as_str().unwrap()
            ),
            &patient,
        )
        .await
        .expect(200);
    assert_eq!(schedules.body["total"], 1);
    let schedule = entries(&schedules.body)[0].clone();
    assert_eq!(
        schedule["actor"][1]["reference"],
        format!("Location/{}", clinic.facility)
    );
    let schedule_id = schedule["id"].as_str().unwrap().to_owned();
    emitted.extend([practitioners.body, schedules.body]);
    let again = app
        .get(&format!("/fhir/R4/Schedule/{schedule_id}"), &patient)
        .await
        .expect(200);
    assert_eq!(again.body, schedule, "a Schedule id is stable");
    let slots = app
        .get(
            &format!("/fhir/R4/Slot?schedule=Schedule/{schedule_id}&start=ge2026-11-29&start=lt2026-11-30&status=free&_include=Slot:schedule"),
            &patient,
        )
        .await
        .expect(200);
    let found = entries(&slots.body);
    assert_eq!(slots.body["total"], 8, "09:00–13:00 in 30-minute slots");
    assert_eq!(found[0]["start"], SUNDAY_9);
    assert_eq!(
        found.last().unwrap()["resourceType"],
        "Schedule",
        "_include adds the Schedule"
    );
    emitted.push(slots.body.clone());

    // $find → $hold → $book → read.
    let proposals = app
        .get(
            &format!("/fhir/R4/Appointment/$find?start=2026-11-29T03:00:00Z&end=2026-11-29T05:00:00Z&practitioner=Practitioner/{}", clinic.doctor),
            &patient,
        )
        .await
        .expect(200);
    assert_eq!(proposals.body["total"], 4);
    let proposal = entries(&proposals.body)[0].clone();
    assert_eq!(proposal["status"], "proposed");
    assert_eq!(proposal["start"], SUNDAY_9);
    emitted.push(proposals.body.clone());
    let proposal_id = proposal["id"].as_str().unwrap().to_owned();
    let held = app
        .post("/fhir/R4/Appointment/$hold", &patient, naming(&proposal_id))
        .await
        .expect(200);
    assert_eq!(held.headers["content-type"], "application/fhir+json");
    let hold = booked_in(&held.body);
    assert_eq!(hold["status"], "pending");
    assert!(
        held.body["entry"][1]["resource"]["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("2026-11-22T00:05:00Z")
    );
    emitted.push(held.body.clone());
    // Held: no longer a free Slot.
    let slots = app
        .get(
            &format!("/fhir/R4/Slot?schedule={schedule_id}&start=ge2026-11-29&start=lt2026-11-30"),
            &patient,
        )
        .await
        .expect(200);
    let first = &entries(&slots.body)[0];
    assert_eq!(
        (first["start"].as_str(), first["status"].as_str()),
        (Some(SUNDAY_9), Some("busy"))
    );
    emitted.push(slots.body.clone());

    let hold_id = hold["id"].as_str().unwrap().to_owned();
    let booked = app
        .post("/fhir/R4/Appointment/$book", &patient, naming(&hold_id))
        .await
        .expect(200);
    let appointment = booked_in(&booked.body);
    assert_eq!(appointment["id"], hold_id, "the hold becomes the appointment");
    assert_eq!(appointment["status"], "booked");
    emitted.push(booked.body.clone());
    let retry = app
        .post("/fhir/R4/Appointment/$book", &patient, naming(&hold_id))
        .await
        .expect(200);
    assert_eq!(
        booked_in(&retry.body)["id"],
        hold_id,
        "a retry answers the same appointment"
    );
    let read = app
        .get(&format!("/fhir/R4/Appointment/{hold_id}"), &patient)
        .await
        .expect(200);
    assert_eq!(
        read.body["participant"][0]["actor"]["reference"],
        format!("Patient/{patient_id}")
    );
    emitted.push(read.body.clone());
    // The REST API sees the same appointment.
    let rest = app
        .get(&format!("/api/v1/appointments/{hold_id}"), &patient)
        .await
        .expect(200);
    assert_eq!(rest.body["status"], "confirmed");

    // $book a proposal straight away; a retry answers it; $book cancels it.
    let next = entries(&proposals.body)[2]["id"].as_str().unwrap().to_owned();
    let direct = booked_in(
        &app.post("/fhir/R4/Appointment/$book", &patient, naming(&next))
            .await
            .expect(200)
            .body,
    );
    let again = booked_in(
        &app.post("/fhir/R4/Appointment/$book", &patient, naming(&next))
            .await
            .expect(200)
            .body,
    );
    assert_eq!(direct["id"], again["id"]);
    let mut cancel = direct.clone();
    cancel["status"] = json!("cancelled");
    cancel["cancelationReason"] = json!({"text": "Travelling"});
    let cancelled = app
        .post(
            "/fhir/R4/Appointment/$book",
            &patient,
            json!({"resourceType": "Parameters", "parameter": [{"name": "appt-resource", "resource": cancel}]}),
        )
        .await
        .expect(200);
    assert_eq!(booked_in(&cancelled.body)["status"], "cancelled");
    emitted.push(cancelled.body.clone());

    // Past the horizon, taken, or not ours: OperationOutcomes.
    let far = app
        .post(
            "/fhir/R4/Appointment/$hold",
            &patient,
            json!({"resourceType": "Appointment", "status": "proposed", "start": "2028-01-02T03:00:00Z",
                   "participant": [{"actor": {"reference": format!("Practitioner/{}", clinic.doctor)}, "status": "needs-action"}]}),
        )
        .await
        .expect(422);
    assert_eq!(far.body["resourceType"], "OperationOutcome");
    emitted.push(far.body.clone());
    let (_, other) = app.patient().await;
    let taken = app
        .post("/fhir/R4/Appointment/$book", &other, naming(&proposal_id))
        .await
        .expect(409);
    assert_eq!(taken.body["issue"][0]["code"], "conflict");
    emitted.push(taken.body.clone());
    app.get(&format!("/fhir/R4/Appointment/{hold_id}"), &other)
        .await
        .expect(404);
    let wrong = app
        .post(
            "/fhir/R4/Appointment/$hold",
            &patient,
            json!({"resourceType": "Patient"}),
        )
        .await
        .expect(422);
    emitted.push(wrong.body.clone());

    check_fhir(&emitted);
}

#[tokio::test]
async fn a_fhir_hold_expires_and_frees_its_slot_without_any_job() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;
    let (_, other) = app.patient().await;
    app.put(
        "/api/v1/settings/booking.hold_minutes",
        &clinic.admin,
        json!({"value": 2}),
    )
    .await
    .expect(200);
    let proposals = app
        .get(
            &format!(
                "/fhir/R4/Appointment/$find?start=2026-11-29&end=2026-11-29&practitioner={}",
                clinic.doctor
            ),
            &patient,
        )
        .await
        .expect(200);
    let proposal = entries(&proposals.body)[0]["id"].as_str().unwrap().to_owned();
    let held = booked_in(
        &app.post("/fhir/R4/Appointment/$hold", &patient, naming(&proposal))
            .await
            .expect(200)
            .body,
    );
    app.post("/fhir/R4/Appointment/$book", &other, naming(&proposal))
        .await
        .expect(409);
    app.post("/fhir/R4/Appointment/$hold", &other, naming(&proposal))
        .await
        .expect(409);

    app.clock.advance(chrono::TimeDelta::minutes(2));
    // The other patient takes the time at once; the first hold is gone.
    let taken = app
        .post("/fhir/R4/Appointment/$book", &other, naming(&proposal))
        .await
        .expect(200);
    assert_eq!(booked_in(&taken.body)["status"], "booked");
    let late = app
        .post(
            "/fhir/R4/Appointment/$book",
            &patient,
            naming(held["id"].as_str().unwrap()),
        )
        .await
        .expect(404);
    assert_eq!(late.body["resourceType"], "OperationOutcome");
    assert_eq!(app.count_where("jobs", "kind = 'monthly_reports'").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_fhir_bookings_of_one_slot_make_exactly_one_appointment() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let patients = futures::future::join_all((0..50).map(|_| app.patient())).await;
    let proposals = app
        .get(
            &format!(
                "/fhir/R4/Appointment/$find?start=2026-11-29&end=2026-11-29&practitioner={}",
                clinic.doctor
            ),
            &patients[0].1,
        )
        .await
        .expect(200);
    let proposal = entries(&proposals.body)[0]["id"].as_str().unwrap().to_owned();
    let replies = futures::future::join_all(
        patients
            .iter()
            .map(|(_, token)| app.post("/fhir/R4/Appointment/$book", token, naming(&proposal))),
    )
    .await;
    let booked = replies.iter().filter(|r| r.status == 200).count();
    let conflicts: Vec<_> = replies.iter().filter(|r| r.status == 409).collect();
    println!(
        "FHIR $book, 50 patients, one slot: {booked} × 200, {} × 409",
        conflicts.len()
    );
    assert_eq!(booked, 1);
    assert_eq!(conflicts.len(), 49);
    assert!(
        conflicts
            .iter()
            .all(|r| r.body["resourceType"] == "OperationOutcome" && r.body["issue"][0]["code"] == "conflict")
    );
    assert_eq!(app.count("appointments").await, 1);
    check_fhir(&[
        replies.iter().find(|r| r.status == 200).unwrap().body.clone(),
        conflicts[0].body.clone(),
    ]);
}

#[tokio::test]
async fn the_directory_and_the_clinical_record_read_as_fhir_resources() {
    let app = spawn_app().await;
    let (clinic, patient, patient_token, appointment) = crate::clinical::visit(&app, &["check-in", "start"]).await;
    let doctor = &clinic.doctor_token;
    let consultation = app
        .get(&format!("/api/v1/patients/{patient}/consultations"), doctor)
        .await
        .expect(200)
        .body["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = format!("/api/v1/consultations/{consultation}");
    let vitals = app
        .post(
            &format!("{base}/vital-signs"),
            doctor,
            json!({"systolic": 150, "diastolic": 95, "heart_rate": 88, "respiratory_rate": 18,
                   "temperature": 38.5, "temperature_unit": "Cel", "oxygen_saturation": 97, "weight": 70, "height": 177}),
        )
        .await
        .expect(201)
        .id();
    let diagnosis = app
        .post(
            &format!("{base}/diagnoses"),
            doctor,
            json!({"code": "I10", "status": "confirmed"}),
        )
        .await
        .expect(201)
        .id();
    let prescription = app
        .post(
            &format!("{base}/prescriptions"),
            doctor,
            json!({"medication": "Amlodipine 5 mg tablet", "dose_amount": 1, "dose_unit": "tablet",
                   "frequency": "1-0-0", "duration_days": 30, "quantity": 30}),
        )
        .await
        .expect(201)
        .id();
    let mut emitted = Vec::new();
    let mut get = |reply: crate::helpers::Reply| {
        let reply = reply.expect(200);
        emitted.push(reply.body.clone());
        reply.body
    };

    // The clinical record, as the doctor and as the patient.
    let encounter = get(app.get(&format!("/fhir/R4/Encounter/{consultation}"), doctor).await);
    assert_eq!(encounter["status"], "in-progress");
    assert_eq!(
        encounter["appointment"][0]["reference"],
        format!("Appointment/{appointment}")
    );
    let encounters = get(app
        .get(&format!("/fhir/R4/Encounter?patient=Patient/{patient}"), &patient_token)
        .await);
    assert_eq!(encounters["total"], 1);
    let observations = get(app
        .get(
            &format!("/fhir/R4/Observation?patient={patient}&category=vital-signs"),
            doctor,
        )
        .await);
    let all = entries(&observations);
    let codes: Vec<&str> = all
        .iter()
        .map(|o| o["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "85354-9", "8867-4", "9279-1", "2708-6", "8310-5", "29463-7", "8302-2", "39156-5"
        ]
    );
    let panel = &all[0];
    assert_eq!(panel["component"][0]["code"]["coding"][0]["code"], "8480-6");
    assert_eq!(panel["component"][0]["valueQuantity"]["value"], 150.0);
    assert_eq!(panel["component"][0]["valueQuantity"]["code"], "mm[Hg]");
    assert_eq!(panel["component"][1]["code"]["coding"][0]["code"], "8462-4");
    assert_eq!(all[4]["valueQuantity"]["value"], 38.5);
    assert_eq!(all[4]["valueQuantity"]["code"], "Cel");
    assert_eq!(all[5]["valueQuantity"]["value"], 70.0);
    assert_eq!(panel["category"][0]["coding"][0]["code"], "vital-signs");
    let heart = get(app
        .get(&format!("/fhir/R4/Observation/{vitals}.heart-rate"), &patient_token)
        .await);
    assert_eq!(heart["valueQuantity"]["code"], "/min");
    let only_bp = get(app
        .get(
            &format!("/fhir/R4/Observation?patient={patient}&code=http://loinc.org|85354-9"),
            doctor,
        )
        .await);
    assert_eq!(only_bp["total"], 1);
    let condition = get(app.get(&format!("/fhir/R4/Condition/{diagnosis}"), doctor).await);
    assert_eq!(
        condition["code"]["coding"][0]["system"],
        "http://hl7.org/fhir/sid/icd-10-cm"
    );
    assert_eq!(condition["code"]["coding"][0]["code"], "I10");
    let conditions = get(app
        .get(
            &format!("/fhir/R4/Condition?patient={patient}&code=I10"),
            &patient_token,
        )
        .await);
    assert_eq!(conditions["total"], 1);
    let request = get(app
        .get(&format!("/fhir/R4/MedicationRequest/{prescription}"), doctor)
        .await);
    assert_eq!(request["status"], "active");
    assert_eq!(request["intent"], "order");
    let requests = get(app
        .get(
            &format!("/fhir/R4/MedicationRequest?patient={patient}&status=active"),
            doctor,
        )
        .await);
    assert_eq!(requests["total"], 1);
    // Someone else's record is not there; the receptionist has no clinical access.
    let (_, stranger) = app.patient().await;
    let hidden = app
        .get(&format!("/fhir/R4/Condition/{diagnosis}"), &stranger)
        .await
        .expect(404);
    assert_eq!(hidden.body["resourceType"], "OperationOutcome");
    app.get(&format!("/fhir/R4/Observation?patient={patient}"), &stranger)
        .await
        .expect(404);
    app.get(&format!("/fhir/R4/Encounter/{consultation}"), &clinic.receptionist)
        .await
        .expect(403);
    app.get("/fhir/R4/Observation", doctor).await.expect(400);

    // The directory.
    let location = get(app
        .get(&format!("/fhir/R4/Location/{}", clinic.facility), &patient_token)
        .await);
    assert_eq!(location["mode"], "instance");
    let organization = get(app
        .get(&format!("/fhir/R4/Organization/{}", clinic.facility), &patient_token)
        .await);
    assert_eq!(organization["id"], location["id"]);
    let service = get(app
        .get(
            &format!("/fhir/R4/HealthcareService/{}", clinic.service),
            &patient_token,
        )
        .await);
    assert_eq!(service["name"], "Long consultation");
    let role = get(app
        .get(&format!("/fhir/R4/PractitionerRole/{}", clinic.doctor), &patient_token)
        .await);
    assert_eq!(
        role["practitioner"]["reference"],
        format!("Practitioner/{}", clinic.doctor)
    );
    assert_eq!(
        role["location"][0]["reference"],
        format!("Location/{}", clinic.facility)
    );
    let roles = get(app
        .get(
            &format!("/fhir/R4/PractitionerRole?location=Location/{}", clinic.facility),
            &patient_token,
        )
        .await);
    assert_eq!(roles["total"], 1);
    for path in [
        "/fhir/R4/Location?name=Clinic",
        "/fhir/R4/Organization",
        "/fhir/R4/HealthcareService?active=true",
    ] {
        let found = get(app.get(path, &patient_token).await);
        assert!(found["total"].as_u64().unwrap() >= 1, "{path}");
    }
    check_fhir(&emitted);
}

#[tokio::test]
async fn the_administrative_tree_is_a_tree_of_locations() {
    let app = spawn_app().await;
    let (_, patient) = app.patient().await;
    let divisions = app
        .get("/fhir/R4/Location?name=Dhaka&_count=100", &patient)
        .await
        .expect(200);
    let dhaka = entries(&divisions.body)
        .into_iter()
        .find(|l| l["description"] == "division")
        .expect("the Dhaka division");
    let id = dhaka["id"].as_str().unwrap();
    let districts = app
        .get(&format!("/fhir/R4/Location?partof=Location/{id}&_count=100"), &patient)
        .await
        .expect(200);
    assert_eq!(districts.body["total"], 13, "the Dhaka division has 13 districts");
    let district = entries(&districts.body)[0].clone();
    assert_eq!(district["partOf"]["reference"], format!("Location/{id}"));
    check_fhir(&[dhaka, district, districts.body]);
}
