//! The API contract: the route table, the router and the OpenAPI document
//! agree, and the document's every change is visible in review.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use carebook::api::access::OPERATIONS;

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

#[tokio::test]
async fn the_route_table_and_the_document_list_the_same_operations() {
    let doc = serde_json::to_value(carebook::api::openapi()).unwrap();
    let table: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|(m, p, _)| (m.as_str().to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        table.len(),
        OPERATIONS.len(),
        "an operation is listed twice in the table"
    );
    let documented = documented(&doc);
    let missing_from_table: Vec<_> = documented.difference(&table).collect();
    let missing_from_doc: Vec<_> = table.difference(&documented).collect();
    assert!(
        missing_from_table.is_empty(),
        "documented routes without an access rule: {missing_from_table:?}"
    );
    assert!(
        missing_from_doc.is_empty(),
        "access rules for undocumented routes: {missing_from_doc:?}"
    );
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
