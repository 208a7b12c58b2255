//! Health, readiness and the behaviour every route shares.

use reqwest::Method;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_and_ready_answer_without_a_token() {
    let app = spawn_app().await;
    let health = app.send(Method::GET, "/health", None, None).await.expect(200);
    assert_eq!(health.body["status"], "ok");
    let ready = app.send(Method::GET, "/ready", None, None).await.expect(200);
    assert_eq!(ready.body["status"], "ready");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problem_documents() {
    let app = spawn_app().await;
    let missing = app
        .send(Method::GET, "/api/v1/nothing-here", None, None)
        .await
        .expect(404);
    assert_eq!(missing.headers["content-type"], "application/problem+json");
    assert_eq!(missing.body["status"], 404);
    assert!(
        missing.body["instance"]
            .as_str()
            .unwrap()
            .starts_with("urn:carebook:request:")
    );

    let wrong = app.send(Method::DELETE, "/health", None, None).await.expect(405);
    assert_eq!(wrong.headers["content-type"], "application/problem+json");
    assert!(wrong.headers["allow"].to_str().unwrap().contains("GET"));
}

#[tokio::test]
async fn a_trailing_slash_is_the_same_route() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let plain = app.get("/api/v1/specialties", &admin).await.expect(200);
    let slashed = app.get("/api/v1/specialties/", &admin).await.expect(200);
    assert_eq!(plain.body, slashed.body);
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_an_incoming_one_is_kept() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/health", app.address))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-abc-123");
    let generated = app.send(Method::GET, "/health", None, None).await;
    assert_eq!(generated.headers["x-request-id"].len(), 36);
}

#[tokio::test]
async fn the_openapi_document_lists_the_routes() {
    let app = spawn_app().await;
    let doc = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .expect(200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/appointments",
        "/api/v1/doctors/{doctor_id}/availability",
        "/api/v1/auth/login",
    ] {
        assert!(doc.body["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());
}
