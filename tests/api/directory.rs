//! Locations, specialties, facilities, services and the doctor search.

use serde_json::json;
use uuid::Uuid;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_bangladesh_location_tree_is_shipped_and_walkable() {
    let app = spawn_app().await;
    let (_, patient) = app.patient().await;
    let divisions = app
        .get("/api/v1/locations?kind=division&page_size=100", &patient)
        .await
        .expect(200);
    assert_eq!(divisions.body["count"], 8);
    let dhaka = divisions.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Dhaka")
        .unwrap()
        .clone();
    assert_eq!(dhaka["bn_name"], "ঢাকা");
    let districts = app
        .get(
            &format!(
                "/api/v1/locations?parent={}&page_size=100",
                dhaka["id"].as_str().unwrap()
            ),
            &patient,
        )
        .await
        .expect(200);
    assert_eq!(districts.body["count"], 13);
    let dhaka_district = districts.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Dhaka")
        .unwrap()
        .clone();
    let upazilas = app
        .get(
            &format!("/api/v1/locations?parent={}", dhaka_district["id"].as_str().unwrap()),
            &patient,
        )
        .await
        .expect(200);
    let names: Vec<_> = upazilas.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Savar") && names.contains(&"Keraniganj"), "{names:?}");
    let all = app.get("/api/v1/locations?page_size=1", &patient).await.expect(200);
    assert_eq!(all.body["count"], 8 + 64 + 494);
    assert!(all.body["next"].as_str().unwrap().contains("page=2"));
    // The count is the list's at every page: a short last page, an exact
    // last page and a page past the end (566 = 5 × 100 + 66 = 283 × 2).
    for (query, shown) in [
        ("page=6&page_size=100", 66),
        ("page=283&page_size=2", 2),
        ("page=284&page_size=2", 0),
        ("page=1&page_size=100", 100),
    ] {
        let page = app
            .get(&format!("/api/v1/locations?{query}"), &patient)
            .await
            .expect(200);
        assert_eq!(page.body["count"], 566, "{query}");
        assert_eq!(page.body["results"].as_array().unwrap().len(), shown, "{query}");
    }
    // Same ids on every installation.
    assert_eq!(dhaka["id"], carebook::db::ids::bd_geo("division", "6").to_string());
}

#[tokio::test]
async fn only_admins_write_the_directory_and_everyone_signed_in_reads_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, patient) = app.patient().await;
    let body = json!({"code": "card", "name": "Cardiology", "description": "Heart"});
    app.post("/api/v1/specialties", &patient, body.clone())
        .await
        .expect(403);
    let created = app.post("/api/v1/specialties", &admin, body.clone()).await.expect(201);
    assert_eq!(created.body["code"], "CARD");
    let id = created.id();
    app.post("/api/v1/specialties", &admin, body)
        .await
        .expect_rule(409, "already_exists");
    app.get(&format!("/api/v1/specialties/{id}"), &patient)
        .await
        .expect(200);
    app.send(reqwest::Method::GET, "/api/v1/specialties", None, None)
        .await
        .expect(401);
    let changed = app
        .patch(
            &format!("/api/v1/specialties/{id}"),
            &admin,
            json!({"name": "Cardiology & Vascular"}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["name"], "Cardiology & Vascular");
    app.patch(&format!("/api/v1/specialties/{id}"), &patient, json!({"name": "x"}))
        .await
        .expect(403);
    app.patch(&format!("/api/v1/specialties/{id}"), &admin, json!({"name": "   "}))
        .await
        .expect(422);
    let search = app
        .get("/api/v1/specialties?search=vascular", &patient)
        .await
        .expect(200);
    assert_eq!(search.body["count"], 1);
    app.delete(&format!("/api/v1/specialties/{id}"), &admin)
        .await
        .expect(204);
    app.delete(&format!("/api/v1/specialties/{id}"), &admin)
        .await
        .expect(404);
}

#[tokio::test]
async fn facilities_need_a_real_time_zone() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for zone in ["Mars/Olympus", "EST", ""] {
        let refused = app
            .post(
                "/api/v1/facilities",
                &admin,
                json!({"name": "X", "kind": "clinic", "time_zone": zone}),
            )
            .await
            .expect(422);
        assert!(
            refused.body["errors"]["time_zone"].is_array(),
            "{zone}: {}",
            refused.body
        );
    }
    let ok = app
        .post(
            "/api/v1/facilities",
            &admin,
            json!({"name": "Sylhet Care", "kind": "hospital", "time_zone": "Asia/Dhaka", "phone": "01711000000"}),
        )
        .await
        .expect(201);
    assert_eq!(ok.body["phone"], "+8801711000000");
    assert_eq!(ok.body["auto_confirm"], true);
    let unknown_location = app
        .post(
            "/api/v1/facilities",
            &admin,
            json!({"name": "Y", "kind": "clinic", "time_zone": "Asia/Dhaka", "location_id": Uuid::new_v4()}),
        )
        .await
        .expect(422);
    assert!(unknown_location.body["errors"]["location_id"].is_array());
    let cleared = app
        .patch(
            &format!("/api/v1/facilities/{}", ok.id()),
            &admin,
            json!({"phone": null}),
        )
        .await
        .expect(200);
    assert_eq!(cleared.body["phone"], serde_json::Value::Null);
}

#[tokio::test]
async fn services_carry_money_as_decimal_strings() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let specialty = app
        .post(
            "/api/v1/specialties",
            &admin,
            json!({"code": "DERM", "name": "Dermatology"}),
        )
        .await
        .expect(201)
        .id();
    let service = app
        .post(
            "/api/v1/services",
            &admin,
            json!({"name": "Skin check", "specialty_id": specialty, "duration_minutes": 20, "price": "750.5"}),
        )
        .await
        .expect(201);
    assert_eq!(service.body["price"], "750.50");
    assert_eq!(service.body["currency"], "BDT");
    for (field, value) in [
        ("price", json!("7.505")),
        ("price", json!("-1")),
        ("duration_minutes", json!(2)),
        ("currency", json!("XYZ")),
    ] {
        let mut body = json!({"name": "Bad", "specialty_id": specialty, "duration_minutes": 20, "price": "1"});
        body[field] = value;
        let refused = app.post("/api/v1/services", &admin, body).await.expect(422);
        assert!(refused.body["errors"][field].is_array(), "{field}: {}", refused.body);
    }
    let float = app
        .post(
            "/api/v1/services",
            &admin,
            json!({"name": "Float", "specialty_id": specialty, "duration_minutes": 20, "price": 12.5}),
        )
        .await
        .expect(400);
    assert!(float.body["errors"]["price"].is_array());
    // In use: the specialty cannot be deleted.
    app.delete(&format!("/api/v1/specialties/{specialty}"), &admin)
        .await
        .expect_rule(409, "in_use");
}

#[tokio::test]
async fn doctor_search_filters_by_specialty_location_experience_fee_and_availability() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[("sunday", "09:00", "11:00")]).await;
    let admin = &clinic.admin;
    let (_, patient) = app.patient().await;
    // Place the clinic's doctor in Savar (Dhaka district, Dhaka division).
    let savar = carebook::db::ids::bd_geo("upazila", "1").to_string();
    let savar = {
        let dhaka_district = carebook::db::ids::bd_geo("district", "47");
        let upazilas = app
            .get(
                &format!("/api/v1/locations?parent={dhaka_district}&search=savar"),
                &patient,
            )
            .await
            .expect(200);
        upazilas.body["results"][0]["id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or(savar)
    };
    app.patch(
        &format!("/api/v1/doctors/{}", clinic.doctor),
        admin,
        json!({"location_id": savar}),
    )
    .await
    .expect(200);
    let cardiology = app
        .post(
            "/api/v1/specialties",
            admin,
            json!({"code": "CARD", "name": "Cardiology"}),
        )
        .await
        .expect(201)
        .id();
    let (other, _) = app.second_doctor(&clinic, &[("monday", "09:00", "11:00")]).await;
    app.patch(
        &format!("/api/v1/doctors/{other}"),
        admin,
        json!({"specialty_id": cardiology, "years_of_experience": 3, "consultation_fee": "500"}),
    )
    .await
    .expect(200);

    let count = |query: String| {
        let app = &app;
        let patient = patient.clone();
        async move {
            app.get(&format!("/api/v1/doctors?{query}"), &patient)
                .await
                .expect(200)
                .body["count"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(count(String::new()).await, 2);
    assert_eq!(count("specialty=cardiology".into()).await, 1);
    assert_eq!(count(format!("specialty={cardiology}")).await, 1);
    assert_eq!(count("specialty=no-such".into()).await, 0);
    let dhaka_division = carebook::db::ids::bd_geo("division", "6");
    assert_eq!(
        count(format!("location={dhaka_division}")).await,
        1,
        "a division finds doctors in its upazilas"
    );
    assert_eq!(
        count(format!("location={}", carebook::db::ids::bd_geo("division", "1"))).await,
        0
    );
    assert_eq!(count("min_experience=10".into()).await, 1);
    assert_eq!(count("max_fee=600".into()).await, 1);
    assert_eq!(
        count("available_on=2026-11-29".into()).await,
        1,
        "only the Sunday doctor works on Sunday"
    );
    assert_eq!(count("available_on=2026-11-30".into()).await, 1);
    assert_eq!(count("available_on=2026-12-01".into()).await, 0);
    assert_eq!(count(format!("facility={}", clinic.facility)).await, 2);
    assert_eq!(count("search=cardio".into()).await, 1);

    let ordered = app
        .get("/api/v1/doctors?ordering=-years_of_experience", &patient)
        .await
        .expect(200);
    assert_eq!(ordered.body["results"][0]["years_of_experience"], 12);
    let first = &ordered.body["results"][0];
    assert_eq!(first["consultation_fee"], "1000.00");
    assert_eq!(first["facility"]["time_zone"], "Asia/Dhaka");
    assert_eq!(first["service_ids"][0], clinic.service.to_string());
    app.get("/api/v1/doctors?ordering=password", &patient).await.expect(400);
    app.get("/api/v1/doctors?page_size=101", &patient).await.expect(400);
    app.get("/api/v1/doctors?page=0", &patient).await.expect(400);
    app.get("/api/v1/doctors?min_experience=lots", &patient)
        .await
        .expect(400);
    app.get("/api/v1/doctors?max_fee=cheap", &patient).await.expect(400);
    app.get("/api/v1/doctors?colour=blue", &patient).await.expect(400);
}

#[tokio::test]
async fn a_doctor_profile_needs_a_doctor_user_and_real_links() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[]).await;
    let (nurse, _) = app.staff(&clinic.admin, "nurse", None).await;
    let body = json!({"user_id": nurse, "licence_number": "X-1", "specialty_id": clinic.specialty,
                      "facility_id": clinic.facility, "consultation_fee": "100"});
    let refused = app.post("/api/v1/doctors", &clinic.admin, body).await.expect(422);
    assert!(refused.body["errors"]["user_id"].is_array());
    let (doctor_user, _) = app.staff(&clinic.admin, "doctor", None).await;
    let unknown = app
        .post(
            "/api/v1/doctors",
            &clinic.admin,
            json!({"user_id": doctor_user, "licence_number": "X-2", "specialty_id": Uuid::new_v4(),
                      "facility_id": clinic.facility, "consultation_fee": "100"}),
        )
        .await
        .expect(422);
    assert!(unknown.body["errors"]["specialty_id"].is_array());
    let duplicate_licence = app
        .post("/api/v1/doctors", &clinic.admin, json!({"user_id": doctor_user, "licence_number": app.get(&format!("/api/v1/doctors/{}", clinic.doctor), &clinic.admin).await.body["licence_number"],
                      "specialty_id": clinic.specialty, "facility_id": clinic.facility, "consultation_fee": "100"}))
        .await
        .expect_rule(409, "already_exists");
    assert!(
        duplicate_licence.body["detail"]
            .as_str()
            .unwrap()
            .contains("licence_number")
    );
}
