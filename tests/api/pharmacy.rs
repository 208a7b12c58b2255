//! The pharmacy: the medication catalogue, lots and the stock ledger.

use carebook::clock::Clock;
use chrono::TimeDelta;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

const WEEKLY: &[(&str, &str, &str)] = &[("sunday", "09:00", "13:00")];

fn amoxicillin() -> Value {
    json!({"generic_name": "Amoxicillin", "dosage_form": "CAPSULE", "route": "ORAL", "strength": "500",
           "strength_unit": "mg/1", "dispensing_unit": "capsule", "reorder_level": 50})
}

/// A day `days` from the test clock's today, as `YYYY-MM-DD`.
fn day(app: &TestApp, days: i64) -> String {
    (app.clock.now() + TimeDelta::days(days)).date_naive().to_string()
}

#[tokio::test]
async fn the_catalogue_is_managed_by_admins_and_read_by_staff() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let admin = &clinic.admin;
    let created = app.post("/api/v1/medications", admin, amoxicillin()).await.expect(201);
    assert_eq!(created.body["generic_name"], "amoxicillin", "stored lower-case");
    assert_eq!(created.body["active"], true);
    let id = created.id();
    app.post("/api/v1/medications", admin, amoxicillin())
        .await
        .expect_rule(409, "medication_exists");
    let mut blank = amoxicillin();
    blank["generic_name"] = json!("  ");
    let refused = app.post("/api/v1/medications", admin, blank).await.expect(422);
    assert!(refused.body["errors"]["generic_name"].is_array(), "{}", refused.body);
    let mut negative = amoxicillin();
    negative["reorder_level"] = json!(-1);
    app.post("/api/v1/medications", admin, negative).await.expect(422);

    // Staff read it; patients do not; only admins write.
    let (_, patient) = app.patient().await;
    for token in [&clinic.doctor_token, &clinic.receptionist] {
        let listed = app.get("/api/v1/medications?search=amoxi", token).await.expect(200);
        assert_eq!(listed.body["count"], 1);
        assert_eq!(listed.body["results"][0]["usable_stock"], 0);
        assert_eq!(listed.body["results"][0]["below_reorder"], true);
    }
    app.get("/api/v1/medications", &patient).await.expect(403);
    app.get(&format!("/api/v1/medications/{id}"), &patient)
        .await
        .expect(403);
    app.post("/api/v1/medications", &clinic.doctor_token, amoxicillin())
        .await
        .expect(403);
    let path = format!("/api/v1/medications/{id}");
    app.patch(&path, &clinic.receptionist, json!({"reorder_level": 10}))
        .await
        .expect(403);
    let changed = app
        .patch(&path, admin, json!({"reorder_level": 10, "active": false}))
        .await
        .expect(200);
    assert_eq!(changed.body["reorder_level"], 10);
    assert_eq!(changed.body["active"], false);
    app.patch(&path, admin, json!({"generic_name": "x"})).await.expect(400);
    assert_eq!(
        app.get("/api/v1/medications?active=false", admin)
            .await
            .expect(200)
            .body["count"],
        1
    );
    app.get(&format!("/api/v1/medications/{}", Uuid::new_v4()), admin)
        .await
        .expect(404);

    // An inactive item takes no stock.
    let lot = json!({"facility_id": clinic.facility, "lot_number": "A1", "expires_on": day(&app, 200),
                     "unit_cost": "2.50", "quantity": 100});
    app.post(&format!("{path}/lots"), admin, lot)
        .await
        .expect_rule(409, "medication_inactive");
}

#[tokio::test]
async fn stock_is_a_ledger_of_lots_that_never_goes_negative() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let admin = &clinic.admin;
    let id = app
        .post("/api/v1/medications", admin, amoxicillin())
        .await
        .expect(201)
        .id();
    let lots = format!("/api/v1/medications/{id}/lots");
    let receive = |number: &str, expires: String, quantity: i64| {
        json!({"facility_id": clinic.facility, "lot_number": number, "expires_on": expires,
               "supplier": "Square Pharmaceuticals", "unit_cost": "2.50", "currency": "BDT", "quantity": quantity})
    };
    let later = app
        .post(&lots, admin, receive("LATE-1", day(&app, 300), 40))
        .await
        .expect(201);
    assert_eq!(later.body["lot"]["on_hand"], 40);
    assert_eq!(later.body["lot"]["unit_cost"], "2.50");
    assert_eq!(later.body["receipt"]["kind"], "receipt");
    assert_eq!(later.body["receipt"]["on_hand_after"], 40);
    let location = later.headers["location"].to_str().unwrap().to_owned();
    let read = app.get(&location, &clinic.doctor_token).await.expect(200);
    assert_eq!(read.body["lot_number"], "LATE-1");
    assert_eq!(read.body["expired"], false);
    let sooner = app
        .post(&lots, admin, receive("SOON-1", day(&app, 10), 30))
        .await
        .expect(201);
    let sooner_id = sooner.body["lot"]["id"].as_str().unwrap().to_owned();

    // Bad receipts: each a 4xx naming the field, nothing written.
    let before = app.count("stock_movements").await;
    for (body, status, field) in [
        (receive("X", day(&app, 0), 10), 422, "expires_on"),
        (receive("X", day(&app, -5), 10), 422, "expires_on"),
        (receive("X", day(&app, 30), 0), 422, "quantity"),
        (receive("X", day(&app, 30), -4), 422, "quantity"),
        (
            {
                let mut b = receive("X", day(&app, 30), 1);
                b["unit_cost"] = json!("2.001");
                b
            },
            422,
            "unit_cost",
        ),
        (
            {
                let mut b = receive("X", day(&app, 30), 1);
                b["currency"] = json!("XXX1");
                b
            },
            422,
            "currency",
        ),
        (
            {
                let mut b = receive("X", day(&app, 30), 1);
                b["facility_id"] = json!(Uuid::new_v4());
                b
            },
            422,
            "facility_id",
        ),
    ] {
        let refused = app.post(&lots, admin, body.clone()).await.expect(status);
        assert!(refused.body["errors"][field].is_array(), "{body}: {}", refused.body);
    }
    app.post(&lots, admin, receive("LATE-1", day(&app, 300), 5))
        .await
        .expect_rule(409, "lot_exists");
    assert_eq!(app.count("stock_movements").await, before, "nothing written");
    app.post(&lots, &clinic.doctor_token, receive("D", day(&app, 30), 5))
        .await
        .expect(403);

    // Per lot, first expiry first, and in total.
    let stock = app
        .get(&format!("/api/v1/medications/{id}/stock"), &clinic.receptionist)
        .await
        .expect(200);
    assert_eq!(stock.body["total"], 70);
    assert_eq!(stock.body["usable"], 70);
    let numbers: Vec<&str> = stock.body["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lot_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["SOON-1", "LATE-1"]);

    // Adjustments are signed with a reason from the list; disposals and returns are positive.
    let movements = format!("/api/v1/medications/{id}/movements");
    let counted = app
        .post(
            &movements,
            admin,
            json!({"lot_id": sooner_id, "kind": "adjustment", "quantity": -3,
                                        "reason": "stock_count", "note": "Shelf count 27"}),
        )
        .await
        .expect(201);
    assert_eq!(counted.body["on_hand_after"], 27);
    // JSON Schema counts 2.0 as an integer: so does Carebook; 2.5 is not one.
    app.post(
        &movements,
        admin,
        json!({"lot_id": sooner_id, "kind": "adjustment", "quantity": 2.0, "reason": "found"}),
    )
    .await
    .expect(201);
    app.post(
        &movements,
        admin,
        json!({"lot_id": sooner_id, "kind": "adjustment", "quantity": -2.0, "reason": "lost"}),
    )
    .await
    .expect(201);
    app.post(
        &movements,
        admin,
        json!({"lot_id": sooner_id, "kind": "adjustment", "quantity": 2.5, "reason": "found"}),
    )
    .await
    .expect(400);
    let location = counted.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(
        app.get(&location, &clinic.receptionist).await.expect(200).body["reason"],
        "stock_count"
    );
    app.post(
        &movements,
        admin,
        json!({"lot_id": sooner_id, "kind": "adjustment", "quantity": -3}),
    )
    .await
    .expect(400);
    for (body, field) in [
        (
            json!({"lot_id": sooner_id, "kind": "adjustment", "quantity": -3, "reason": "expired"}),
            "reason",
        ),
        (
            json!({"lot_id": sooner_id, "kind": "adjustment", "quantity": 0, "reason": "found"}),
            "quantity",
        ),
        (
            json!({"lot_id": sooner_id, "kind": "disposal", "quantity": -2, "reason": "damaged"}),
            "quantity",
        ),
        (
            json!({"lot_id": sooner_id, "kind": "receipt", "quantity": 2, "reason": "found"}),
            "kind",
        ),
        (
            json!({"lot_id": Uuid::new_v4(), "kind": "disposal", "quantity": 2, "reason": "damaged"}),
            "lot_id",
        ),
    ] {
        let refused = app.post(&movements, admin, body.clone()).await.expect(422);
        assert!(refused.body["errors"][field].is_array(), "{body}: {}", refused.body);
    }
    let short = app
        .post(
            &movements,
            admin,
            json!({"lot_id": sooner_id, "kind": "disposal", "quantity": 28, "reason": "damaged"}),
        )
        .await
        .expect_rule(409, "insufficient_stock");
    assert!(
        short.body["detail"].as_str().unwrap().contains("27 on hand"),
        "{}",
        short.body
    );
    // A return names the prescription it was dispensed against (see the billing tests).
    let refused = app
        .post(
            &movements,
            admin,
            json!({"lot_id": sooner_id, "kind": "return", "quantity": 2, "reason": "patient_return"}),
        )
        .await
        .expect(422);
    assert!(refused.body["errors"]["prescription_id"].is_array(), "{}", refused.body);
    app.post(
        &movements,
        admin,
        json!({"lot_id": sooner_id, "kind": "adjustment", "quantity": 2, "reason": "found", "note": "Back shelf"}),
    )
    .await
    .expect(201);
    app.post(
        &movements,
        &clinic.receptionist,
        json!({"lot_id": sooner_id, "kind": "adjustment", "quantity": 2, "reason": "found"}),
    )
    .await
    .expect(403);
    let ledger = app.get(&movements, &clinic.doctor_token).await.expect(200);
    assert_eq!(ledger.body["count"], 6);
    assert_eq!(ledger.body["results"][0]["note"], "Back shelf", "newest first");

    // Filters: below the reorder level (50) once the sooner lot has expired; expiring soon.
    assert_eq!(
        app.get(&format!("/api/v1/medications?expiring_before={}", day(&app, 30)), admin)
            .await
            .expect(200)
            .body["count"],
        1
    );
    assert_eq!(
        app.get(&format!("/api/v1/medications?expiring_before={}", day(&app, 5)), admin)
            .await
            .expect(200)
            .body["count"],
        0
    );
    assert_eq!(
        app.get("/api/v1/medications?below_reorder=true", admin)
            .await
            .expect(200)
            .body["count"],
        0
    );
    app.clock.advance(TimeDelta::days(12));
    let admin = &app.renew(admin);
    let stock = app
        .get(
            &format!("/api/v1/medications/{id}/stock?facility={}", clinic.facility),
            admin,
        )
        .await
        .expect(200);
    assert_eq!(stock.body["usable"], 40);
    assert_eq!(stock.body["expired"], 29);
    assert_eq!(stock.body["lots"][0]["expired"], true);
    let low = app
        .get("/api/v1/medications?below_reorder=true", admin)
        .await
        .expect(200);
    assert_eq!(low.body["count"], 1);
    assert_eq!(low.body["results"][0]["usable_stock"], 40);
    app.get("/api/v1/medications?below_reorder=maybe", admin)
        .await
        .expect(400);

    // The ledger is append-only and the lot never negative, in the database itself.
    app.assert_refused_by_database(&[
        "UPDATE stock_movements SET quantity = 1",
        "DELETE FROM stock_movements",
        "DELETE FROM stock_lots",
        "UPDATE stock_lots SET on_hand = -1",
    ])
    .await;
    assert_ledger_sums(&app).await;
}

/// Every lot's on-hand is the sum of its movements.
pub(crate) async fn assert_ledger_sums(app: &TestApp) {
    let mismatched = app
        .count_where(
            "stock_lots",
            "on_hand <> (SELECT COALESCE(SUM(m.quantity), 0) FROM stock_movements m WHERE m.lot_id = stock_lots.id)",
        )
        .await;
    assert_eq!(mismatched, 0, "on-hand is the ledger's sum");
}

#[tokio::test]
async fn concurrent_disposals_of_the_last_units_never_take_stock_below_zero() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let admin = clinic.admin.clone();
    let id = app
        .post("/api/v1/medications", &admin, amoxicillin())
        .await
        .expect(201)
        .id();
    let lot = app
        .post(
            &format!("/api/v1/medications/{id}/lots"),
            &admin,
            json!({"facility_id": clinic.facility, "lot_number": "L", "expires_on": day(&app, 90),
                   "unit_cost": "1", "quantity": 10}),
        )
        .await
        .expect(201)
        .body["lot"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/medications/{id}/movements");
    let body = json!({"lot_id": lot, "kind": "disposal", "quantity": 1, "reason": "damaged"});
    let replies = futures::future::join_all((0..24).map(|_| app.post(&path, &admin, body.clone()))).await;
    let won = replies.iter().filter(|r| r.status == 201).count();
    let short = replies
        .iter()
        .filter(|r| r.status == 409 && r.rule() == "insufficient_stock")
        .count();
    assert_eq!(
        (won, short),
        (10, 14),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let stock = app
        .get(&format!("/api/v1/medications/{id}/stock"), &admin)
        .await
        .expect(200);
    assert_eq!(stock.body["total"], 0);
    assert_ledger_sums(&app).await;
}
