//! Query parameters that reach SQL have documented limits, enforced before
//! any SQL runs: `search` at most 200 characters, `ordering` at most 5
//! terms. (SQLite answered 500 to a 50,000-character search, "LIKE
//! or GLOB pattern too complex", and to an ordering of 2,000 terms.)

use serde_json::Value;

use crate::helpers::spawn_app;

/// The GET operations without path parameters that document `name`, with that parameter's schema.
fn lists_with(doc: &Value, name: &str) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        if path.contains('{') {
            continue;
        }
        for parameter in get["parameters"].as_array().into_iter().flatten() {
            if parameter["name"] == name && parameter["in"] == "query" {
                found.push((path.clone(), parameter["schema"].clone()));
            }
        }
    }
    found
}

/// The field names an ordering pattern allows: `^(-?(a|b)(,-?(a|b)){0,4})?$`.
fn fields_of(pattern: &str) -> Vec<String> {
    let start = pattern.find("-?(").expect("an ordering pattern") + 3;
    let end = start + pattern[start..].find(')').unwrap();
    pattern[start..end].split('|').map(str::to_owned).collect()
}

#[tokio::test]
async fn searches_are_at_most_200_characters_on_every_list() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let doc = serde_json::to_value(carebook::api::openapi()).unwrap();
    let lists = lists_with(&doc, "search");
    assert!(lists.len() >= 7, "{lists:?}");
    for (path, schema) in lists {
        assert_eq!(schema["maxLength"], 200, "{path}: documented");
        let long = "a".repeat(50_000);
        let refused = app.get(&format!("{path}?search={long}"), &admin).await.expect(400);
        assert!(
            refused.body.to_string().contains("search"),
            "{path}: names the parameter: {}",
            refused.body
        );
        app.get(&format!("{path}?search={}", "a".repeat(201)), &admin)
            .await
            .expect(400);
        // At the limit, even of LIKE's own wildcards, it is an ordinary search.
        app.get(&format!("{path}?search={}", "%25_".repeat(100)), &admin)
            .await
            .expect(200);
        app.get(&format!("{path}?search={}", "অ".repeat(200)), &admin)
            .await
            .expect(200);
    }
}

#[tokio::test]
async fn orderings_are_at_most_5_terms_on_every_list() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let doc = serde_json::to_value(carebook::api::openapi()).unwrap();
    let lists = lists_with(&doc, "ordering");
    assert!(lists.len() >= 8, "{lists:?}");
    for (path, schema) in lists {
        let pattern = schema["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: no pattern"));
        assert!(
            pattern.ends_with("{0,4})?$"),
            "{path}: at most 5 terms documented: {pattern}"
        );
        let fields = fields_of(pattern);
        let many = vec![fields[0].as_str(); 2_000].join(",");
        let refused = app.get(&format!("{path}?ordering={many}"), &admin).await.expect(400);
        assert!(
            refused.body.to_string().contains("ordering"),
            "{path}: {}",
            refused.body
        );
        // The pattern allows a field twice (schemathesis sends such orderings):
        // the first occurrence decides.
        let twice = format!("{0},-{0}", fields[0]);
        app.get(&format!("{path}?ordering={twice}"), &admin).await.expect(200);
        let all: Vec<String> = fields.iter().take(5).map(|f| format!("-{f}")).collect();
        app.get(&format!("{path}?ordering={}", all.join(",")), &admin)
            .await
            .expect(200);
        if fields.len() > 5 {
            app.get(&format!("{path}?ordering={}", fields.join(",")), &admin)
                .await
                .expect(400);
        }
    }
}
