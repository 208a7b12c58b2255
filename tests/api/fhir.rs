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
    assert_eq!(kinds, ["Appointment", "Patient", "Practitioner"]);
    let patient_params = &metadata.body["rest"][0]["resource"][1]["searchParam"];
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
