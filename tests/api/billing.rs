//! Dispensing against prescriptions, bills, payments and refunds.

use carebook::clock::Clock;
use chrono::TimeDelta;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Clinic, Reply, TestApp, at, spawn_app};

const WEEKLY: &[(&str, &str, &str)] = &[("sunday", "09:00", "13:00")];
/// Sunday 29 November 2026, 09:00 in Dhaka.
const SUNDAY_9: &str = "2026-11-29T03:00:00Z";

/// A day `days` from the test clock's today, as `YYYY-MM-DD`.
fn day(app: &TestApp, days: i64) -> String {
    (app.clock.now() + TimeDelta::days(days)).date_naive().to_string()
}

fn money(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not money: {value}"))
        .to_owned()
}

/// A catalogue item.
async fn medication(app: &TestApp, admin: &str, name: &str) -> Uuid {
    let body = json!({"generic_name": name, "dosage_form": "TABLET", "route": "ORAL", "strength": "500",
                      "strength_unit": "mg/1", "dispensing_unit": "tablet", "reorder_level": 10});
    app.post("/api/v1/medications", admin, body).await.expect(201).id()
}

/// Receive `quantity` of `item` at the clinic as lot `number`, expiring in `days`, at `cost` each.
async fn receive(
    app: &TestApp,
    clinic: &Clinic,
    item: Uuid,
    number: &str,
    days: i64,
    quantity: i64,
    cost: &str,
) -> String {
    let body = json!({"facility_id": clinic.facility, "lot_number": number, "expires_on": day(app, days),
                      "unit_cost": cost, "quantity": quantity});
    app.post(&format!("/api/v1/medications/{item}/lots"), &clinic.admin, body)
        .await
        .expect(201)
        .body["lot"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A clinic and a patient whose appointment is in progress: (clinic, patient, their token, appointment, consultation).
async fn in_consultation(app: &TestApp) -> (Clinic, Uuid, String, Uuid, String) {
    let (clinic, patient, token, appointment) = crate::clinical::visit(app, &["check-in", "start"]).await;
    let consultation = crate::clinical::consultation_of(app, &clinic.doctor_token, patient).await;
    (clinic, patient, token, appointment, consultation)
}

/// Prescribe `item` in `consultation`: `quantity` a fill, `refills` more.
async fn prescribe(
    app: &TestApp,
    doctor: &str,
    consultation: &str,
    item: Option<Uuid>,
    quantity: i64,
    refills: i64,
) -> Uuid {
    let body = json!({"medication": "Paracetamol 500 mg tablet", "medication_id": item, "dose_amount": 1,
                      "dose_unit": "tablet", "frequency": "1-1-1", "duration_days": 5,
                      "quantity": quantity, "refills": refills});
    app.post(
        &format!("/api/v1/consultations/{consultation}/prescriptions"),
        doctor,
        body,
    )
    .await
    .expect(201)
    .id()
}

/// Every bill's paid amount is its payments less its completed refunds, and
/// every payment's refunded amount its completed and pending refunds.
async fn assert_books_balance(app: &TestApp) {
    let bills = app
        .count_where(
            "bills",
            "paid_minor <> (SELECT COALESCE(SUM(p.amount_minor), 0) FROM payments p WHERE p.bill_id = bills.id) \
             - (SELECT COALESCE(SUM(r.amount_minor), 0) FROM refunds r WHERE r.bill_id = bills.id AND r.status = 'completed')",
        )
        .await;
    assert_eq!(bills, 0, "paid = payments − completed refunds");
    let payments = app
        .count_where(
            "payments",
            "refunded_minor <> (SELECT COALESCE(SUM(r.amount_minor), 0) FROM refunds r \
             WHERE r.payment_id = payments.id AND r.status <> 'rejected')",
        )
        .await;
    assert_eq!(payments, 0, "refunded = completed + pending refunds");
    let totals = app
        .count_where(
            "bills",
            "total_minor <> (SELECT COALESCE(SUM(l.amount_minor), 0) FROM bill_lines l WHERE l.bill_id = bills.id)",
        )
        .await;
    assert_eq!(totals, 0, "total = the lines' amounts");
}

#[tokio::test]
async fn dispensing_takes_first_expiry_first_never_expired_and_bills_the_visit() {
    let app = spawn_app().await;
    let (clinic, patient, patient_token, appointment, consultation) = in_consultation(&app).await;
    let admin = &clinic.admin.clone();
    let item = medication(&app, admin, "paracetamol").await;
    // The clock stands before the visit; lots are judged by the facility's today.
    let old = receive(&app, &clinic, item, "OLD", 1, 50, "1.00").await;
    let soon = receive(&app, &clinic, item, "SOON", 20, 5, "2.00").await;
    let late = receive(&app, &clinic, item, "LATE", 300, 100, "1.50").await;
    let rx = prescribe(&app, &clinic.doctor_token, &consultation, Some(item), 8, 1).await;
    // Three days on, OLD has expired.
    app.clock.advance(TimeDelta::days(3));
    let admin = &app.renew(admin);
    let doctor = &app.renew(&clinic.doctor_token);
    let reception = &app.renew(&clinic.receptionist);
    let patient_token = &app.renew(&patient_token);
    let (_, nurse) = app.staff(admin, "nurse", Some(clinic.facility)).await;
    let path = format!("/api/v1/prescriptions/{rx}/dispense");

    // Who may dispense: a nurse of the facility and admins; never doctors,
    // reception (who do not see clinical records) or patients.
    for token in [doctor, reception, patient_token] {
        app.post(&path, token, json!({"quantity": 1})).await.expect(403);
    }
    let elsewhere = app
        .post(
            "/api/v1/facilities",
            admin,
            json!({"name": "Elsewhere", "kind": "clinic", "time_zone": "Asia/Dhaka"}),
        )
        .await
        .expect(201)
        .id();
    let (_, stranger) = app.staff(admin, "nurse", Some(elsewhere)).await;
    app.post(&path, &stranger, json!({"quantity": 1})).await.expect(404);

    // Bad input: each a 4xx naming the field, nothing written.
    let before = app.count("stock_movements").await;
    for (body, status, field) in [
        (json!({"quantity": 0}), 422, "quantity"),
        (json!({"quantity": -3}), 422, "quantity"),
        (
            json!({"quantity": 2, "medication_id": Uuid::new_v4()}),
            422,
            "medication_id",
        ),
    ] {
        let refused = app.post(&path, &nurse, body.clone()).await.expect(status);
        assert!(refused.body["errors"][field].is_array(), "{body}: {}", refused.body);
    }
    app.post(&path, &nurse, json!({"quantity": "2"})).await.expect(400);
    assert_eq!(app.count("stock_movements").await, before, "nothing written");

    // 8 units: the 5 of SOON (first expiry), then 3 of LATE; OLD has expired.
    let first = app.post(&path, &nurse, json!({"quantity": 8})).await.expect(201);
    let lots: Vec<(&str, i64)> = first.body["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["lot_number"].as_str().unwrap(), l["quantity"].as_i64().unwrap()))
        .collect();
    assert_eq!(lots, [("SOON", 5), ("LATE", 3)]);
    assert_eq!(first.body["remaining"], 8, "8 × (1 + 1 refill) − 8");
    assert_eq!(first.body["dispensed_by"], TestApp::user_of(&nurse).to_string());
    let location = first.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(
        app.get(&location, admin).await.expect(200).body["lots"],
        first.body["lots"]
    );
    let stock = |lot: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/stock-lots/{lot}"), admin)
                .await
                .expect(200)
                .body["on_hand"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(
        (
            stock(old.clone()).await,
            stock(soon.clone()).await,
            stock(late.clone()).await
        ),
        (50, 0, 97)
    );

    // Never more than the prescription allows: 8 remain.
    let over = app
        .post(&path, &nurse, json!({"quantity": 9}))
        .await
        .expect_rule(409, "dispense_exceeds_prescription");
    assert!(
        over.body["detail"].as_str().unwrap().contains("8 remain"),
        "{}",
        over.body
    );
    app.post(&path, &nurse, json!({"quantity": 8})).await.expect(201);
    app.post(&path, &nurse, json!({"quantity": 1}))
        .await
        .expect_rule(409, "dispense_exceeds_prescription");
    // A return (from a lot it came from) gives the units back to stock and to the prescription.
    let movements = format!("/api/v1/medications/{item}/movements");
    let returned =
        json!({"lot_id": late, "kind": "return", "quantity": 2, "reason": "patient_return", "prescription_id": rx});
    app.post(&movements, admin, returned).await.expect(201);
    let refused = app
        .post(
            &movements,
            admin,
            json!({"lot_id": soon, "kind": "return", "quantity": 6, "reason": "patient_return", "prescription_id": rx}),
        )
        .await
        .expect(422);
    assert!(refused.body["errors"]["prescription_id"].is_array(), "{}", refused.body);
    app.post(
        &movements,
        admin,
        json!({"lot_id": late, "kind": "return", "quantity": 1, "reason": "patient_return"}),
    )
    .await
    .expect(422);
    let listed = app
        .get(&format!("/api/v1/prescriptions/{rx}/dispenses"), patient_token)
        .await
        .expect(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    assert_eq!(listed.body[1]["remaining"], 2);

    // Stock that is there but expired does not count: LATE's 91 (100 − 3 − 8 + 2), never OLD's 50.
    let big = prescribe(&app, doctor, &consultation, Some(item), 92, 0).await;
    let short = app
        .post(
            &format!("/api/v1/prescriptions/{big}/dispense"),
            &nurse,
            json!({"quantity": 92}),
        )
        .await
        .expect_rule(409, "insufficient_stock");
    assert!(
        short.body["detail"].as_str().unwrap().contains("short by 1"),
        "{}",
        short.body
    );
    // A prescription without a catalogue item is dispensed by naming one.
    let free = prescribe(&app, doctor, &consultation, None, 2, 0).await;
    let free_path = format!("/api/v1/prescriptions/{free}/dispense");
    app.post(&free_path, &nurse, json!({"quantity": 2})).await.expect(422);
    app.post(&free_path, &nurse, json!({"quantity": 2, "medication_id": item}))
        .await
        .expect(201);

    // Completing the visit puts the doctor's fee on the same draft bill.
    app.drive(admin, appointment, at(SUNDAY_9), &["complete"]).await;
    let bills = app
        .get(&format!("/api/v1/bills?patient={patient}"), reception)
        .await
        .expect(200);
    assert_eq!(bills.body["count"], 1, "{}", bills.body);
    let bill = bills.body["results"][0]["id"].as_str().unwrap().to_owned();
    let read = app.get(&format!("/api/v1/bills/{bill}"), reception).await.expect(200);
    assert_eq!(read.body["status"], "draft");
    assert_eq!(read.body["appointment_id"], appointment.to_string());
    assert_eq!(read.body["currency"], "BDT");
    let lines: Vec<(&str, i64, &str)> = read.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap(),
                l["quantity"].as_i64().unwrap(),
                l["amount"].as_str().unwrap(),
            )
        })
        .collect();
    // SOON 5 × 2.00, LATE 3 × 1.50, LATE 8 × 1.50, LATE 2 × 1.50, fee 1000.00.
    assert_eq!(
        lines,
        [
            ("medication", 5, "10.00"),
            ("medication", 3, "4.50"),
            ("medication", 8, "12.00"),
            ("medication", 2, "3.00"),
            ("consultation", 1, "1000.00")
        ]
    );
    assert_eq!(read.body["total"], "1029.50");
    assert_eq!(read.body["balance"], "1029.50");
    // Doctors and nurses see no bills.
    app.get(&format!("/api/v1/bills/{bill}"), doctor).await.expect(403);
    app.get("/api/v1/bills", &nurse).await.expect(403);
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn two_concurrent_dispenses_of_the_last_units_one_succeeds() {
    let app = spawn_app().await;
    let (clinic, _, _, _, consultation) = in_consultation(&app).await;
    let admin = clinic.admin.clone();
    let item = medication(&app, &admin, "amoxicillin").await;
    receive(&app, &clinic, item, "A", 30, 6, "3.00").await;
    receive(&app, &clinic, item, "B", 60, 4, "3.00").await;
    // Separate prescriptions (each allows 10) race for the same 10 units.
    let mut paths = Vec::new();
    for _ in 0..2 {
        let rx = prescribe(&app, &clinic.doctor_token, &consultation, Some(item), 10, 0).await;
        paths.push(format!("/api/v1/prescriptions/{rx}/dispense"));
    }
    let replies = futures::future::join_all(paths.iter().map(|p| app.post(p, &admin, json!({"quantity": 10})))).await;
    let won: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    let short: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == 409 && r.rule() == "insufficient_stock")
        .collect();
    assert_eq!(
        (won.len(), short.len()),
        (1, 1),
        "{:?}",
        replies.iter().map(|r| (r.status, r.body.clone())).collect::<Vec<_>>()
    );
    assert!(
        short[0].body["detail"].as_str().unwrap().contains("short by 10"),
        "{}",
        short[0].body
    );
    // And the same prescription twice at once: its limit holds as well.
    let rx = prescribe(&app, &clinic.doctor_token, &consultation, Some(item), 3, 0).await;
    receive(&app, &clinic, item, "C", 90, 50, "3.00").await;
    let path = format!("/api/v1/prescriptions/{rx}/dispense");
    let replies = futures::future::join_all((0..6).map(|_| app.post(&path, &admin, json!({"quantity": 2})))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(
        replies
            .iter()
            .filter(|r| r.status != 201)
            .all(|r| r.rule() == "dispense_exceeds_prescription"),
        "{statuses:?}"
    );
    let stock = app
        .get(&format!("/api/v1/medications/{item}/stock"), &admin)
        .await
        .expect(200);
    assert_eq!(stock.body["total"], 48);
    crate::pharmacy::assert_ledger_sums(&app).await;
    assert_books_balance(&app).await;
}

/// A bill of `amount` for `patient` at the clinic, issued.
async fn issued_bill(app: &TestApp, clinic: &Clinic, patient: Uuid, amount: &str) -> String {
    let body = json!({"patient_id": patient, "facility_id": clinic.facility,
                      "lines": [{"kind": "service", "description": "Minor surgery", "unit_price": amount}]});
    let bill = app
        .post("/api/v1/bills", &clinic.receptionist, body)
        .await
        .expect(201)
        .id();
    app.post(&format!("/api/v1/bills/{bill}/issue"), &clinic.receptionist, json!({}))
        .await
        .expect(200);
    bill.to_string()
}

#[tokio::test]
async fn bills_are_made_by_reception_read_by_their_patient_and_void_only_unpaid() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let reception = &clinic.receptionist;
    let (patient, patient_token) = app.patient().await;
    let (_, other_patient) = app.patient().await;
    let body = json!({"patient_id": patient, "facility_id": clinic.facility, "lines": [
        {"kind": "service", "service_id": clinic.service},
        {"kind": "other", "description": "Dressing", "quantity": 3, "unit_price": "120.50", "discount": "11.50"},
    ]});
    let made = app.post("/api/v1/bills", reception, body).await.expect(201);
    assert_eq!(made.body["status"], "draft");
    assert_eq!(
        made.body["lines"][0]["description"], "Long consultation",
        "the service's name"
    );
    assert_eq!(made.body["lines"][0]["unit_price"], "1500.00", "and its price");
    assert_eq!(made.body["lines"][1]["amount"], "350.00", "3 × 120.50 − 11.50");
    assert_eq!(made.body["total"], "1850.00");
    let bill = made.id();
    let path = format!("/api/v1/bills/{bill}");

    // Bad input: each a 4xx naming the field or rule, nothing written.
    let before = (app.count("bills").await, app.count("bill_lines").await);
    let line = |extra: Value| {
        let mut l = json!({"kind": "other", "description": "X", "unit_price": "10.00"});
        l.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"patient_id": patient, "facility_id": clinic.facility, "lines": [l]})
    };
    for (body, field) in [
        (line(json!({"unit_price": "10.001"})), "lines[0].unit_price"),
        (line(json!({"unit_price": "-10"})), "lines[0].unit_price"),
        (line(json!({"discount": "10.01"})), "lines[0].discount"),
        (line(json!({"quantity": 0})), "lines[0].quantity"),
        (line(json!({"description": null})), "lines[0].description"),
        (
            json!({"patient_id": Uuid::new_v4(), "facility_id": clinic.facility}),
            "patient_id",
        ),
        (json!({"patient_id": patient}), "facility_id"),
        (
            json!({"patient_id": patient, "facility_id": clinic.facility, "currency": "USD"}),
            "currency",
        ),
    ] {
        let refused = app.post("/api/v1/bills", reception, body.clone()).await.expect(422);
        assert!(refused.body["errors"][field].is_array(), "{body}: {}", refused.body);
    }
    assert_eq!((app.count("bills").await, app.count("bill_lines").await), before);

    // Lines go on drafts only; an issued bill's lines are final.
    app.post(
        &format!("{path}/lines"),
        reception,
        json!({"lines": [{"kind": "other", "description": "Syringe", "unit_price": "50"}]}),
    )
    .await
    .expect(200);
    let issued = app
        .post(&format!("{path}/issue"), reception, json!({}))
        .await
        .expect(200);
    assert_eq!(issued.body["status"], "issued");
    assert_eq!(issued.body["total"], "1900.00");
    app.post(
        &format!("{path}/lines"),
        reception,
        json!({"lines": [{"kind": "other", "description": "Late", "unit_price": "5"}]}),
    )
    .await
    .expect_rule(409, "bill_not_draft");
    app.post(&format!("{path}/issue"), reception, json!({}))
        .await
        .expect_rule(409, "bill_not_draft");

    // The patient reads their own bills; no one else's exists for them.
    assert_eq!(
        app.get(&path, &patient_token).await.expect(200).body["total"],
        "1900.00"
    );
    app.get(&path, &other_patient).await.expect(404);
    let own = app.get("/api/v1/bills", &patient_token).await.expect(200);
    assert_eq!(own.body["count"], 1);
    assert_eq!(
        app.get("/api/v1/bills", &other_patient).await.expect(200).body["count"],
        0
    );
    app.post(
        &format!("{path}/payments"),
        &patient_token,
        json!({"amount": "1", "method": "cash"}),
    )
    .await
    .expect(403);
    assert!(
        app.audit_events()
            .await
            .iter()
            .any(|e| e.route == "/api/v1/bills/{id}" && e.patient_id == Some(patient) && e.outcome == "allowed"),
        "reads of a patient's bill are audited"
    );

    // Void: with a reason, only while nothing is paid.
    let pay = json!({"amount": "100.00", "method": "card", "reference": "VISA 4242"});
    let payment = app
        .post(&format!("{path}/payments"), reception, pay.clone())
        .await
        .expect(201)
        .body["payment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("{path}/void"), reception, json!({"reason": "Wrong patient"}))
        .await
        .expect_rule(409, "bill_has_payments");
    app.post(
        &format!("/api/v1/payments/{payment}/refunds"),
        reception,
        json!({"amount": "100.00", "reason": "Wrong patient"}),
    )
    .await
    .expect(201);
    app.post(&format!("{path}/void"), reception, json!({}))
        .await
        .expect(400);
    app.post(&format!("{path}/void"), reception, json!({"reason": " "}))
        .await
        .expect(422);
    let void = app
        .post(&format!("{path}/void"), reception, json!({"reason": "Wrong patient"}))
        .await
        .expect(200);
    assert_eq!(void.body["status"], "void");
    assert_eq!(void.body["void_reason"], "Wrong patient");
    app.post(&format!("{path}/void"), reception, json!({"reason": "Again"}))
        .await
        .expect_rule(409, "bill_void");
    app.post(&format!("{path}/payments"), reception, pay)
        .await
        .expect_rule(409, "bill_void");

    // The database itself refuses overpayment, deletion and changed lines.
    issued_bill(&app, &clinic, patient, "500.00").await;
    app.assert_refused_by_database(&[
        "UPDATE bills SET paid_minor = total_minor + 1 WHERE status = 'issued'",
        "UPDATE payments SET refunded_minor = amount_minor + 1",
        "UPDATE bill_lines SET amount_minor = 0",
        "DELETE FROM payments",
        "DELETE FROM refunds",
        "DELETE FROM bills",
    ])
    .await;
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn a_hundred_replays_of_a_payment_make_one_payment_and_nothing_overpays() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let reception = clinic.receptionist.clone();
    let (patient, _) = app.patient().await;
    let bill = issued_bill(&app, &clinic, patient, "1000.00").await;
    let body = json!({"amount": "400.00", "method": "mobile_banking", "reference": "bKash 8FK2L19QZ"});
    let pay = format!("/api/v1/bills/{bill}/payments");
    let replies =
        futures::future::join_all((0..100).map(|_| app.post_keyed(&pay, &reception, "pay-1", body.clone()))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let ids: std::collections::BTreeSet<&str> = replies
        .iter()
        .map(|r| r.body["payment"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "one payment");
    let replayed = replies
        .iter()
        .filter(|r| r.headers.get("idempotent-replayed").is_some())
        .count();
    assert_eq!(replayed, 99);
    assert_eq!(app.count("payments").await, 1);
    let read = app.get(&format!("/api/v1/bills/{bill}"), &reception).await.expect(200);
    assert_eq!(read.body["paid"], "400.00");
    assert_eq!(read.body["status"], "partially_paid");
    // The same key with another body is refused; another key pays again.
    let other = json!({"amount": "300.00", "method": "cash"});
    app.post_keyed(
        &format!("/api/v1/bills/{bill}/payments"),
        &reception,
        "pay-1",
        other.clone(),
    )
    .await
    .expect_rule(422, "idempotency_key_reused");

    // Bad payments: each a 4xx naming the field or rule, nothing taken.
    let path = format!("/api/v1/bills/{bill}/payments");
    for (body, field) in [
        (json!({"amount": "10.001", "method": "cash"}), "amount"),
        (json!({"amount": "0", "method": "cash"}), "amount"),
        (json!({"amount": "-5", "method": "cash"}), "amount"),
        (json!({"amount": "5", "currency": "USD", "method": "cash"}), "currency"),
    ] {
        let refused = app.post(&path, &reception, body.clone()).await.expect(422);
        assert!(refused.body["errors"][field].is_array(), "{body}: {}", refused.body);
    }
    app.post(&path, &reception, json!({"amount": "5", "method": "cheque"}))
        .await
        .expect(400);
    let over = app
        .post(&path, &reception, json!({"amount": "600.01", "method": "cash"}))
        .await
        .expect_rule(409, "overpayment");
    assert!(
        over.body["detail"].as_str().unwrap().contains("600.00"),
        "{}",
        over.body
    );
    assert_eq!(app.count("payments").await, 1);
    // Concurrent payments of the rest: the balance is taken once.
    let rest = json!({"amount": "600.00", "method": "cash"});
    let replies = futures::future::join_all((0..8).map(|_| app.post(&path, &reception, rest.clone()))).await;
    let won = replies.iter().filter(|r| r.status == 201).count();
    let over = replies
        .iter()
        .filter(|r| r.status == 409 && r.rule() == "overpayment")
        .count();
    assert_eq!((won, over), (1, 7));
    let read = app.get(&format!("/api/v1/bills/{bill}"), &reception).await.expect(200);
    assert_eq!(
        (read.body["status"].as_str(), read.body["balance"].as_str()),
        (Some("paid"), Some("0.00"))
    );
    // A draft takes no payment.
    let draft = app
        .post(
            "/api/v1/bills",
            &reception,
            json!({"patient_id": patient, "facility_id": clinic.facility}),
        )
        .await
        .expect(201)
        .id();
    app.post(
        &format!("/api/v1/bills/{draft}/payments"),
        &reception,
        json!({"amount": "1", "method": "cash"}),
    )
    .await
    .expect_rule(409, "bill_not_issued");
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn refunds_never_exceed_their_payment_and_large_ones_wait_for_an_admin() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let reception = clinic.receptionist.clone();
    let (patient, patient_token) = app.patient().await;
    let bill = issued_bill(&app, &clinic, patient, "20000.00").await;
    let path = format!("/api/v1/bills/{bill}/payments");
    let paid = app
        .post(&path, &reception, json!({"amount": "1000.00", "method": "cash"}))
        .await
        .expect(201);
    let payment = paid.body["payment"]["id"].as_str().unwrap().to_owned();
    let refunds = format!("/api/v1/payments/{payment}/refunds");
    let refund = json!({"amount": "400.00", "reason": "Test not performed"});
    // Two separate refunds of the same amount both stand; a third beyond the payment does not.
    for _ in 0..2 {
        let made = app.post(&refunds, &reception, refund.clone()).await.expect(201);
        assert_eq!(made.body["status"], "completed");
    }
    let beyond = app
        .post(&refunds, &reception, refund.clone())
        .await
        .expect_rule(409, "refund_exceeds_payment");
    assert!(
        beyond.body["detail"].as_str().unwrap().contains("200.00"),
        "{}",
        beyond.body
    );
    for (body, field) in [
        (json!({"amount": "1.001", "reason": "x"}), "amount"),
        (json!({"amount": "0", "reason": "x"}), "amount"),
        (json!({"amount": "1", "reason": " "}), "reason"),
    ] {
        let refused = app.post(&refunds, &reception, body.clone()).await.expect(422);
        assert!(refused.body["errors"][field].is_array(), "{body}: {}", refused.body);
    }
    app.post(&refunds, &patient_token, json!({"amount": "1", "reason": "x"}))
        .await
        .expect(403);
    let read = app
        .get(&format!("/api/v1/payments/{payment}"), &patient_token)
        .await
        .expect(200);
    assert_eq!(
        (read.body["refunded"].as_str(), read.body["refundable"].as_str()),
        (Some("800.00"), Some("200.00"))
    );
    assert_eq!(read.body["refunds"].as_array().unwrap().len(), 2);
    let bill_now = app.get(&format!("/api/v1/bills/{bill}"), &reception).await.expect(200);
    assert_eq!(
        (bill_now.body["paid"].as_str(), bill_now.body["status"].as_str()),
        (Some("200.00"), Some("partially_paid"))
    );

    // Concurrent refunds of the rest: one stands.
    let replies = futures::future::join_all(
        (0..6).map(|_| app.post(&refunds, &reception, json!({"amount": "200.00", "reason": "Duplicate"}))),
    )
    .await;
    let won = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(won, 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    let bill_now = app.get(&format!("/api/v1/bills/{bill}"), &reception).await.expect(200);
    assert_eq!(
        (bill_now.body["paid"].as_str(), bill_now.body["status"].as_str()),
        (Some("0.00"), Some("issued"))
    );

    // Above billing.refund_approval_above (5,000 by default) reception's refund waits for an admin.
    let big = app
        .post(
            &path,
            &reception,
            json!({"amount": "9000.00", "method": "bank_transfer"}),
        )
        .await
        .expect(201);
    let big = big.body["payment"]["id"].as_str().unwrap().to_owned();
    let big_refunds = format!("/api/v1/payments/{big}/refunds");
    let waiting = app
        .post(
            &big_refunds,
            &reception,
            json!({"amount": "6000.00", "reason": "Surgery cancelled"}),
        )
        .await
        .expect(201);
    assert_eq!(waiting.body["status"], "pending_approval");
    let waiting = waiting.id();
    let bill_now = app.get(&format!("/api/v1/bills/{bill}"), &reception).await.expect(200);
    assert_eq!(bill_now.body["paid"], "9000.00", "nothing given back yet");
    // It holds its amount: no second refund can take it meanwhile.
    app.post(&big_refunds, &reception, json!({"amount": "3001.00", "reason": "x"}))
        .await
        .expect_rule(409, "refund_exceeds_payment");
    app.post(&format!("/api/v1/refunds/{waiting}/approve"), &reception, json!({}))
        .await
        .expect(403);
    let rejected = app
        .post(
            &format!("/api/v1/refunds/{waiting}/reject"),
            &clinic.admin,
            json!({"note": "Ask the surgeon"}),
        )
        .await
        .expect(200);
    assert_eq!(rejected.body["status"], "rejected");
    app.post(&format!("/api/v1/refunds/{waiting}/approve"), &clinic.admin, json!({}))
        .await
        .expect_rule(409, "refund_decided");
    let again = app
        .post(
            &big_refunds,
            &reception,
            json!({"amount": "6000.00", "reason": "Surgery cancelled"}),
        )
        .await
        .expect(201)
        .id();
    let approved = app
        .post(&format!("/api/v1/refunds/{again}/approve"), &clinic.admin, json!({}))
        .await
        .expect(200);
    assert_eq!(approved.body["status"], "completed");
    assert_eq!(approved.body["decided_by"], TestApp::user_of(&clinic.admin).to_string());
    let bill_now = app.get(&format!("/api/v1/bills/{bill}"), &reception).await.expect(200);
    assert_eq!(bill_now.body["paid"], "3000.00");
    // An administrator's own refund needs no approval.
    let direct = app
        .post(
            &big_refunds,
            &clinic.admin,
            json!({"amount": "3000.00", "reason": "Goodwill"}),
        )
        .await
        .expect(201);
    assert_eq!(direct.body["status"], "completed");
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn the_balance_is_always_total_less_payments_plus_refunds() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let reception = clinic.receptionist.clone();
    let (patient, _) = app.patient().await;
    for seed in 1..=6u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let total: i64 = rng.random_range(100..=50_000);
        let bill = issued_bill(&app, &clinic, patient, &format!("{}.{:02}", total / 100, total % 100)).await;
        // The model: each payment's amount and what was refunded of it.
        let mut payments: Vec<(String, i64, i64)> = Vec::new();
        let mut paid = 0;
        for _ in 0..14 {
            let balance = total - paid;
            if payments.is_empty() || rng.random_bool(0.55) {
                // Sometimes more than the balance: the server must refuse exactly those.
                let amount = rng.random_range(1..=balance.max(1) + balance / 4 + 1);
                let reply = app
                    .post(
                        &format!("/api/v1/bills/{bill}/payments"),
                        &reception,
                        json!({"amount": format!("{}.{:02}", amount / 100, amount % 100), "method": "cash"}),
                    )
                    .await;
                if amount <= balance {
                    let reply = reply.expect(201);
                    payments.push((reply.body["payment"]["id"].as_str().unwrap().to_owned(), amount, 0));
                    paid += amount;
                } else {
                    reply.expect_rule(409, "overpayment");
                }
            } else {
                let which = rng.random_range(0..payments.len());
                let (id, amount, refunded) = payments[which].clone();
                let left = amount - refunded;
                let ask = rng.random_range(1..=left + left / 4 + 1);
                let reply = app
                    .post(
                        &format!("/api/v1/payments/{id}/refunds"),
                        &reception,
                        json!({"amount": format!("{}.{:02}", ask / 100, ask % 100), "reason": "Property test"}),
                    )
                    .await;
                if ask <= left {
                    reply.expect(201);
                    payments[which].2 += ask;
                    paid -= ask;
                } else {
                    reply.expect_rule(409, "refund_exceeds_payment");
                }
            }
            let read = app.get(&format!("/api/v1/bills/{bill}"), &reception).await.expect(200);
            let received: i64 = payments.iter().map(|p| p.1).sum();
            let refunded: i64 = payments.iter().map(|p| p.2).sum();
            assert_eq!(paid, received - refunded);
            let status = match paid {
                0 => "issued",
                p if p == total => "paid",
                _ => "partially_paid",
            };
            let cents = |v: i64| format!("{}.{:02}", v / 100, v % 100);
            assert_eq!(
                (
                    money(&read.body["balance"]),
                    money(&read.body["paid"]),
                    read.body["status"].as_str().unwrap()
                ),
                (cents(total - paid), cents(paid), status),
                "seed {seed}"
            );
        }
    }
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn a_dispense_that_takes_stock_to_its_reorder_level_tells_the_admins_once() {
    let app = spawn_app().await;
    let (clinic, _, _, _, consultation) = in_consultation(&app).await;
    let admin = clinic.admin.clone();
    let item = medication(&app, &admin, "metformin").await;
    receive(&app, &clinic, item, "M", 90, 15, "2.00").await;
    let rx = prescribe(&app, &clinic.doctor_token, &consultation, Some(item), 15, 0).await;
    let path = format!("/api/v1/prescriptions/{rx}/dispense");
    async fn low(app: &TestApp, admin: &str) -> Vec<String> {
        let inbox = app.get("/api/v1/notifications", admin).await.expect(200);
        inbox.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "stock_below_reorder")
            .map(|n| n["message"].as_str().unwrap().to_owned())
            .collect()
    }
    app.post(&path, &admin, json!({"quantity": 4})).await.expect(201);
    assert!(low(&app, &admin).await.is_empty(), "11 left, above the level of 10");
    app.post(&path, &admin, json!({"quantity": 3})).await.expect(201);
    let told = low(&app, &admin).await;
    assert_eq!(told.len(), 1);
    assert!(
        told[0].contains("metformin") && told[0].contains("8 tablet"),
        "{}",
        told[0]
    );
    app.post(&path, &admin, json!({"quantity": 2})).await.expect(201);
    assert_eq!(
        low(&app, &admin).await.len(),
        1,
        "told when it crosses, not at every dispense below"
    );
}
