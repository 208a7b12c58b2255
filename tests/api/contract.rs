//! The API contract: every documented operation declares its access, the
//! router serves exactly the documented operations, and the document's
//! every change is visible in review.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use carebook::api::access::{EXTENSION, PUBLIC};
use carebook::auth::policy::Action;

use crate::helpers::spawn_app;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut set = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                set.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    set
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => into.push(target.clone()),
                    _ => collect_refs(value, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

#[tokio::test]
async fn every_documented_operation_declares_its_access() {
    let doc = serde_json::to_value(carebook::api::openapi()).unwrap();
    let operations = carebook::api::operations();
    let table: BTreeSet<(String, String)> = operations
        .iter()
        .map(|op| (op.method.as_str().to_owned(), op.path.clone()))
        .collect();
    assert_eq!(table, documented(&doc), "the declarations are read from the document");
    let mut declared = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method) else { continue };
            let access = operation[EXTENSION]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no {EXTENSION}"));
            assert!(
                access == PUBLIC || Action::from_name(access).is_some(),
                "{method} {path}: {access} is neither public nor an action"
            );
            let description = operation["description"].as_str().unwrap_or_default();
            assert!(description.contains("**Access:**"), "{method} {path}: no access text");
            declared += 1;
        }
    }
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let dangling: Vec<&String> = refs
        .iter()
        .filter(|r| !schemas.contains_key(r.trim_start_matches("#/components/schemas/")))
        .collect();
    assert!(
        dangling.is_empty(),
        "references to schemas the document does not define: {dangling:?}"
    );
    let idempotent: Vec<String> = operations
        .iter()
        .filter(|op| op.idempotent)
        .map(|op| op.path.clone())
        .collect();
    assert_eq!(
        idempotent,
        ["/api/v1/appointments", "/api/v1/bills/{id}/payments"],
        "booking and payments document Idempotency-Key"
    );
    println!("{declared} operations, each declaring its access");
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_no_other_method_is() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let doc = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .expect(200)
        .body;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    uuid::Uuid::new_v4().to_string()
                } else {
                    seg.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in METHODS {
            let reply = app
                .send(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    &concrete,
                    Some(&admin),
                    None,
                )
                .await;
            if item.get(method).is_some() {
                assert_ne!(reply.status, 405, "{method} {path} is documented but not routed");
                assert_ne!(
                    reply.body["detail"], "resource not found",
                    "{method} {path} is documented but not routed"
                );
            } else {
                assert_eq!(
                    reply.status, 405,
                    "{method} {path} is routed but not documented: {}",
                    reply.body
                );
                assert!(reply.headers.contains_key("allow"));
            }
        }
    }
    // Swagger UI is the one route outside the contract, and it works offline.
    let ui = app.client.get(format!("{}/docs/", app.address)).send().await.unwrap();
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
    let asset = app
        .client
        .get(format!("{}/docs/swagger-ui-bundle.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200, "Swagger UI assets are served from the binary");
    let yaml = app
        .client
        .get(format!("{}/api/v1/openapi.yaml", app.address))
        .send()
        .await
        .unwrap();
    assert!(yaml.text().await.unwrap().starts_with("openapi: 3.1"));
}

#[test]
fn the_openapi_document_matches_its_snapshot() {
    let doc = serde_json::to_value(carebook::api::openapi()).unwrap();
    insta::assert_json_snapshot!("openapi", doc, {
        ".info.version" => "[version]",
    });
}
