//! Input the hardening found accepted and should not have been: bidi
//! overrides and control characters in people's names, JSON in another
//! encoding decoded as UTF-8, a vanishing fraction read as the integer 0.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn names_refuse_control_and_bidi_override_characters_but_keep_every_script() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let clinic = app.clinic("Asia/Dhaka", &[("monday", "09:00", "17:00")]).await;
    let (_, patient) = app.patient().await;
    let hostile = [
        "Rahim\u{202E}txt.exe", // right-to-left override
        "Rahim\u{2066}Karim",   // left-to-right isolate
        "Ra\u{0007}him",        // bell
        "Rahim\nKarim",         // line break
        "Rahim\u{0085}",        // next line (C1 control)
    ];
    for name in hostile {
        let sign_up = app
            .public(
                Method::POST,
                "/api/v1/auth/register",
                Some(json!({"username": "hostile", "password": "a long passphrase", "first_name": name, "last_name": "K"})),
            )
            .await
            .expect(422);
        assert!(
            sign_up.body["errors"]["first_name"].is_array(),
            "{name:?}: {}",
            sign_up.body
        );
        app.post(
            "/api/v1/patients",
            &clinic.receptionist,
            json!({"first_name": "A", "last_name": name}),
        )
        .await
        .expect(422);
        app.patch("/api/v1/profile", &patient, json!({"first_name": name}))
            .await
            .expect(422);
        app.patch("/api/v1/profile", &patient, json!({"emergency_contact_name": name}))
            .await
            .expect(422);
        let staff = json!({"username": "staffer", "password": "staff passphrase", "role": "nurse",
                           "first_name": name, "last_name": "K"});
        app.post("/api/v1/users", &admin, staff).await.expect(422);
    }
    // Real names in real scripts, joiners included, are kept exactly.
    for name in ["রহিম উদ্দিন", "র‍্যাব", "O'Brien-Núñez", "محمد", "ศรีสุข"]
    {
        let created = app
            .post(
                "/api/v1/patients",
                &clinic.receptionist,
                json!({"first_name": name, "last_name": "Khan"}),
            )
            .await
            .expect(201);
        assert_eq!(created.body["first_name"], name);
    }
    // The rule is in the contract.
    let doc = serde_json::to_value(carebook::api::openapi()).unwrap();
    let text = doc.to_string();
    assert!(text.contains(&carebook::input::text::NAME_PATTERN.replace('\\', "\\\\")));
}

#[tokio::test]
async fn json_in_another_charset_is_refused_not_misread() {
    let app = spawn_app().await;
    let send = |content_type: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/api/v1/auth/login", app.address))
                .header("content-type", content_type)
                .body(r#"{"username": "nobody", "password": "wrong"}"#)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(send("application/json; charset=latin1").await, 415);
    assert_eq!(send("application/json; charset=iso-8859-1").await, 415);
    assert_eq!(send("application/json; charset=utf-16").await, 415);
    // UTF-8, however it is spelt, or no charset at all, is read.
    assert_eq!(send("application/json; charset=UTF-8").await, 401);
    assert_eq!(send("application/json;charset=utf-8").await, 401);
    assert_eq!(send("application/json").await, 401);
    assert_eq!(send("application/merge-patch+json").await, 401);
}

#[tokio::test]
async fn a_fraction_too_small_for_a_float_is_not_the_integer_zero() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[("monday", "09:00", "17:00")]).await;
    let patch = |raw: &'static str| {
        let app = &app;
        let token = clinic.doctor_token.clone();
        async move {
            app.client
                .patch(format!("{}/api/v1/profile", app.address))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(format!(r#"{{"years_of_experience": {raw}}}"#))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(patch("1e-999").await, 400);
    assert_eq!(patch("0.5").await, 400);
    assert_eq!(patch("0.0").await, 400, "zero is written 0");
    assert_eq!(patch("12.0").await, 200, "a whole decimal is an integer (JSON Schema)");
    assert_eq!(patch("1.2e1").await, 200);
    assert_eq!(patch("0").await, 200);
}
