//! Clinical records: the ICD-10-CM code list.

use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::spawn_app;

#[tokio::test]
async fn diagnosis_codes_are_found_by_code_prefix_and_by_words() {
    let app = spawn_app().await;
    let (_, patient) = app.patient().await;
    let prefix = app
        .get("/api/v1/diagnosis-codes?search=E11&page_size=100", &patient)
        .await
        .expect(200);
    let count = prefix.body["count"].as_u64().unwrap();
    assert!(count > 50, "{count}");
    for code in prefix.body["results"].as_array().unwrap() {
        assert!(code["code"].as_str().unwrap().starts_with("E11"), "{code}");
        assert_eq!(code["system"], "http://hl7.org/fhir/sid/icd-10-cm");
    }
    let words = app
        .get("/api/v1/diagnosis-codes?search=type%202%20diabetes", &patient)
        .await
        .expect(200);
    let first = &words.body["results"][0];
    assert!(first["code"].as_str().unwrap().starts_with("E11"), "{first}");
    assert!(
        words.body["next"].as_str().unwrap().contains("search=type"),
        "links keep the search"
    );

    let one = app.get("/api/v1/diagnosis-codes/e119", &patient).await.expect(200);
    assert_eq!(one.body["code"], "E11.9");
    assert_eq!(
        one.body["description"],
        "Type 2 diabetes mellitus without complications"
    );
    // A category is not billable; nonsense is not a code.
    app.get("/api/v1/diagnosis-codes/E11", &patient).await.expect(404);
    app.get("/api/v1/diagnosis-codes/nonsense", &patient).await.expect(404);
    app.public(reqwest::Method::GET, "/api/v1/diagnosis-codes?search=E11", None)
        .await
        .expect(401);
    app.get("/api/v1/diagnosis-codes?searching=E11", &patient)
        .await
        .expect(400);

    // The same codes are in the database, for diagnoses' foreign key.
    let conn = app.state.db.conn();
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM diagnosis_codes",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 74_719);
}
