//! Reports: one table behind the JSON answer and the CSV, XLSX and PDF
//! files, each file read back by its users' tools (Python's csv module,
//! openpyxl, pdfplumber) and compared with the JSON, row by row.

use serde_json::{Value, json};

use crate::helpers::{TestApp, default_now, read_export, spawn_app};

const PERIOD: &str = "from=2026-01-01&to=2026-12-31";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// The JSON of `path` over the period, and each file of it read back,
/// compared cell by cell.
async fn check_formats(app: &TestApp, token: &str, path: &str) {
    let url = format!("{path}{}{PERIOD}", if path.contains('?') { '&' } else { '?' });
    let report = app.get(&url, token).await.expect(200).body;
    let columns = report["columns"].as_array().unwrap().clone();
    let labels: Vec<&str> = columns.iter().map(|c| c["label"].as_str().unwrap()).collect();
    let rows = report["rows"].as_array().unwrap();
    let totals = report["totals"].as_object().unwrap();
    assert!(!rows.is_empty(), "{path}: the demo gives rows");

    // CSV, with a BOM, by `format`.
    let csv = app.download(&format!("{url}&format=csv&bom=true"), token, None).await;
    assert_eq!(csv.status, 200, "{path}");
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.headers["content-disposition"].to_str().unwrap().contains(".csv\""));
    let read = read_export("csv", &csv.bytes);
    assert_eq!(read["bom"], true);
    assert_eq!(read["crlf"], true, "{path}: RFC 4180 line ends");
    let lines = read["rows"].as_array().unwrap();
    assert_eq!(lines[0], json!(labels), "{path}: the CSV header is the labels in order");
    assert_eq!(lines.len() - 1, rows.len(), "{path}: one CSV line per row, no more");
    for (line, row) in lines[1..].iter().zip(rows) {
        for (i, column) in columns.iter().enumerate() {
            let (field, value) = (line[i].as_str().unwrap(), &row[column["key"].as_str().unwrap()]);
            match column["type"].as_str().unwrap() {
                _ if value.is_null() => assert_eq!(field, "", "{path}"),
                "text" | "date" | "date_time" => assert_eq!(field, value.as_str().unwrap(), "{path}"),
                "money" => assert!(
                    close(field.parse::<f64>().unwrap() * 100.0, number(value)),
                    "{path}: {field} vs {value}"
                ),
                _ => assert!(
                    close(field.parse::<f64>().unwrap(), number(value)),
                    "{path}: {field} vs {value}"
                ),
            }
        }
    }

    // XLSX, by the Accept header.
    let xlsx = app.download(&url, token, Some(XLSX)).await;
    assert_eq!(xlsx.status, 200, "{path}");
    assert_eq!(xlsx.headers["content-type"], XLSX);
    let read = read_export("xlsx", &xlsx.bytes);
    assert_eq!(read["sheets"][1], "About");
    assert_eq!(read["freeze"], "A2", "{path}: the header row is frozen");
    assert_eq!(read["title"], report["title"]);
    assert_eq!(read["about"]["Rows"], json!(rows.len().to_string()));
    let sheet = read["rows"].as_array().unwrap();
    let header: Vec<&Value> = sheet[0].as_array().unwrap().iter().map(|c| &c["v"]).collect();
    assert_eq!(
        json!(header),
        json!(labels),
        "{path}: the XLSX header is the labels in order"
    );
    assert!(sheet[0].as_array().unwrap().iter().all(|c| c["bold"] == true));
    let cell_matches = |cell: &Value, kind: &str, value: &Value, currency: Option<&str>| match kind {
        _ if value.is_null() => cell["t"] == "empty",
        "text" => cell["t"] == "s" && cell["v"] == *value,
        "date" => cell["t"] == "d" && cell["v"].as_str().unwrap().starts_with(value.as_str().unwrap()),
        "money" => {
            cell["t"] == "n"
                && close(number(&cell["v"]) * 100.0, number(value))
                && currency.is_none_or(|c| cell["fmt"].as_str().unwrap().contains(c))
        }
        "ratio" => cell["t"] == "n" && cell["fmt"] == "0.0%" && close(number(&cell["v"]), number(value)),
        _ => cell["t"] == "n" && close(number(&cell["v"]), number(value)),
    };
    for (cells, row) in sheet[1..=rows.len()].iter().zip(rows) {
        for (cell, column) in cells.as_array().unwrap().iter().zip(&columns) {
            let kind = column["type"].as_str().unwrap();
            let value = &row[column["key"].as_str().unwrap()];
            assert!(
                cell_matches(cell, kind, value, row["currency"].as_str()),
                "{path}: XLSX cell {cell} is not the {kind} {value}"
            );
        }
    }
    if !totals.is_empty() {
        let last = sheet[rows.len() + 1].as_array().unwrap();
        assert_eq!(last[0]["v"], "Total", "{path}");
        for (cell, column) in last.iter().zip(&columns) {
            if let Some(total) = totals.get(column["key"].as_str().unwrap()) {
                assert!(
                    cell["bold"] == true && cell_matches(cell, column["type"].as_str().unwrap(), total, None),
                    "{path}: total {cell} vs {total}"
                );
            }
        }
    }
    assert_eq!(
        sheet.len(),
        rows.len() + 1 + usize::from(!totals.is_empty()),
        "{path}: nothing after the totals"
    );

    // PDF: the title, page numbers, and the table pdfplumber finds from the borders.
    let pdf = app.download(&format!("{url}&format=pdf"), token, None).await;
    assert_eq!(pdf.status, 200, "{path}");
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    let read = read_export("pdf", &pdf.bytes);
    let text = read["text"].as_str().unwrap();
    let pages = read["pages"].as_u64().unwrap();
    assert!(text.contains(report["title"].as_str().unwrap()), "{path}");
    assert!(text.contains(&format!("Page {pages} of {pages}")), "{path}");
    assert!(text.contains("Generated 2026-11-22"), "{path}");
    let found: Vec<Vec<String>> = read["tables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t.as_array().unwrap().iter())
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|r| *r != labels)
        .collect();
    assert_eq!(
        found.len(),
        rows.len() + usize::from(!totals.is_empty()),
        "{path}: PDF rows\n{found:?}"
    );
    for (line, row) in found.iter().zip(rows) {
        let first = row[columns[0]["key"].as_str().unwrap()].as_str().unwrap_or("");
        let shown = line[0].trim_end_matches("...");
        assert!(
            first.starts_with(shown) && !shown.is_empty(),
            "{path}: {line:?} vs {first}"
        );
    }
    if !totals.is_empty() {
        let last = found.last().unwrap();
        assert_eq!(last[0], "Total", "{path}");
        for (shown, column) in last.iter().zip(&columns) {
            let Some(total) = totals.get(column["key"].as_str().unwrap()) else {
                continue;
            };
            let printed = match column["type"].as_str().unwrap() {
                "ratio" => format!("{:.1}%", number(total) * 100.0),
                "number" => format!("{:.1}", number(total)),
                "money" => shown.clone(),
                _ => total.to_string(),
            };
            assert_eq!(*shown, printed, "{path}: the PDF total of {}", column["key"]);
            if column["type"] == "money" {
                assert!(close(
                    shown.replace(',', "").parse::<f64>().unwrap() * 100.0,
                    number(total)
                ));
            }
        }
    }
}

#[tokio::test]
async fn every_report_of_the_demo_reads_back_alike_as_json_csv_xlsx_and_pdf() {
    let app = spawn_app().await;
    carebook::seed::demo(&app.state.db, default_now()).await.unwrap();
    let admin = app.login("admin", carebook::seed::DEMO_PASSWORD).await;
    let facilities = app.get("/api/v1/facilities?page_size=100", &admin).await.expect(200);
    let taka = facilities.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["currency"] == "BDT")
        .expect("a facility in taka")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        "/api/v1/reports/appointments".to_owned(),
        "/api/v1/reports/appointments?group_by=week".to_owned(),
        "/api/v1/reports/doctor-performance".to_owned(),
        format!("/api/v1/reports/revenue?facility={taka}"),
        "/api/v1/reports/revenue?group_by=method".to_owned(),
        format!("/api/v1/reports/billing?facility={taka}"),
        "/api/v1/reports/medications".to_owned(),
        "/api/v1/reports/patients?group_by=district".to_owned(),
        "/api/v1/reports/telemedicine".to_owned(),
    ] {
        check_formats(&app, &admin, &path).await;
    }

    // A doctor's own report is theirs, whatever they ask.
    let doctor = app.login("doctor01", carebook::seed::DEMO_PASSWORD).await;
    let mine = app
        .get(&format!("/api/v1/reports/appointments?{PERIOD}"), &doctor)
        .await
        .expect(200);
    assert_eq!(mine.body["rows"].as_array().unwrap().len(), 1, "{}", mine.body);
    check_formats(&app, &doctor, "/api/v1/reports/doctor-performance").await;
}

/// Days and months are the facility's: 23:00 on 30 November in New York is
/// 04:00 UTC on 1 December, and counts in November.
#[tokio::test]
async fn reports_count_days_and_months_in_the_facility_time_zone() {
    let app = spawn_app().await;
    let clinic = app.clinic("America/New_York", &[("monday", "22:00", "23:30")]).await;
    let (patient, token) = app.patient().await;
    let _ = patient;
    app.book(&token, clinic.doctor, "2026-12-01T04:00:00Z", None)
        .await
        .expect(201);
    let base = format!("/api/v1/reports/appointments?facility={}", clinic.facility);
    let by_month = app
        .get(
            &format!("{base}&group_by=month&from=2026-11-01&to=2026-12-31"),
            &clinic.admin,
        )
        .await
        .expect(200);
    assert_eq!(
        by_month.body["rows"],
        json!([{
            "month": "2026-11", "appointments": 1, "pending": 0, "confirmed": 1, "checked_in": 0, "in_progress": 0,
            "completed": 0, "cancelled": 0, "no_show": 0, "completion_rate": 0.0, "cancellation_rate": 0.0, "no_show_rate": 0.0
        }]),
        "{}",
        by_month.body
    );
    assert_eq!(by_month.body["time_zone"], "America/New_York");
    let by_day = app
        .get(
            &format!("{base}&group_by=day&from=2026-11-30&to=2026-11-30"),
            &clinic.admin,
        )
        .await
        .expect(200);
    assert_eq!(by_day.body["rows"][0]["date"], "2026-11-30");
    let december = app
        .get(&format!("{base}&from=2026-12-01&to=2026-12-31"), &clinic.admin)
        .await
        .expect(200);
    assert_eq!(december.body["rows"], json!([]));
    assert_eq!(december.body["totals"]["appointments"], 0);

    // Working minutes are the local hours of each day: five Mondays of 90 minutes in November.
    let performance = app
        .get(
            &format!(
                "/api/v1/reports/doctor-performance?facility={}&from=2026-11-01&to=2026-11-30",
                clinic.facility
            ),
            &clinic.admin,
        )
        .await
        .expect(200);
    assert_eq!(performance.body["rows"][0]["working_minutes"], 5 * 90);
    assert_eq!(performance.body["rows"][0]["booked_minutes"], 30);
}

/// Who may read which report, and bad parameters: a 4xx problem naming the
/// parameter every time.
#[tokio::test]
async fn reports_refuse_other_roles_other_doctors_and_bad_parameters() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[("sunday", "09:00", "13:00")]).await;
    let (other, _) = app.second_doctor(&clinic, &[("sunday", "09:00", "13:00")]).await;
    let (_, patient) = app.patient().await;
    let (_, nurse) = app.staff(&clinic.admin, "nurse", Some(clinic.facility)).await;
    let all = [
        "appointments",
        "doctor-performance",
        "revenue",
        "billing",
        "medications",
        "patients",
        "telemedicine",
    ];
    for report in all {
        let path = format!("/api/v1/reports/{report}");
        for token in [&patient, &nurse, &clinic.receptionist] {
            app.get(&path, token).await.expect(403);
        }
        app.get(&path, &clinic.admin).await.expect(200);
    }
    // A doctor: their own practice reports only, never money or patients.
    for report in ["appointments", "doctor-performance", "medications", "telemedicine"] {
        let path = format!("/api/v1/reports/{report}");
        let own = app.get(&path, &clinic.doctor_token).await.expect(200);
        assert!(own.body["scope"].as_str().unwrap().contains(" · "), "{}", own.body);
        app.get(&format!("{path}?doctor={}", clinic.doctor), &clinic.doctor_token)
            .await
            .expect(200);
        app.get(&format!("{path}?doctor={other}"), &clinic.doctor_token)
            .await
            .expect(403);
    }
    for report in ["revenue", "billing", "patients"] {
        app.get(&format!("/api/v1/reports/{report}"), &clinic.doctor_token)
            .await
            .expect(403);
    }

    // Malformed parameters are 400, values that break a rule 422; each names the parameter.
    for (path, field, status) in [
        (
            "/api/v1/reports/appointments?from=2026-11-30&to=2026-11-01",
            "from",
            422,
        ),
        ("/api/v1/reports/appointments?from=2020-01-01&to=2026-11-01", "to", 422),
        ("/api/v1/reports/appointments?from=2026-13-01", "from", 400),
        (
            "/api/v1/reports/appointments?from=0001-01-01&to=0001-01-02",
            "from",
            422,
        ),
        ("/api/v1/exports/patients?to=%2B262142-12-31&format=csv", "to", 422),
        ("/api/v1/reports/appointments?group_by=year", "group_by", 400),
        ("/api/v1/reports/appointments?format=docx", "format", 400),
        ("/api/v1/reports/appointments?format=json&bom=true", "bom", 422),
        ("/api/v1/reports/appointments?colour=red", "colour", 400),
        (
            "/api/v1/reports/patients?doctor=00000000-0000-4000-8000-000000000000",
            "doctor",
            422,
        ),
        (
            "/api/v1/reports/appointments?facility=00000000-0000-4000-8000-000000000000",
            "facility",
            422,
        ),
        ("/api/v1/reports/medications?limit=0", "limit", 422),
        ("/api/v1/reports/billing?limit=5", "limit", 400),
        ("/api/v1/exports/patients?format=json", "format", 400),
    ] {
        let reply = app.get(path, &clinic.admin).await.expect(status);
        assert!(reply.body["errors"].get(field).is_some(), "{path}: {}", reply.body);
        assert_eq!(reply.headers["content-type"], "application/problem+json");
    }
    let refused = app
        .download("/api/v1/reports/appointments", &clinic.admin, Some("image/png"))
        .await;
    assert_eq!(refused.status, 406);
    let preferred = app
        .download(
            "/api/v1/reports/appointments",
            &clinic.admin,
            Some("application/json;q=0.1, application/pdf"),
        )
        .await;
    assert_eq!(preferred.headers["content-type"], "application/pdf");
}

/// Exports of appointments and patients: every row, in each format, the
/// same count as the reports say; administrators only, and audited.
#[tokio::test]
async fn exports_hold_every_row_in_each_format_for_administrators_only() {
    let app = spawn_app().await;
    carebook::seed::demo(&app.state.db, default_now()).await.unwrap();
    let admin = app.login("admin", carebook::seed::DEMO_PASSWORD).await;
    let period = "from=2026-11-01&to=2026-11-30";
    let report = app
        .get(&format!("/api/v1/reports/appointments?{period}"), &admin)
        .await
        .expect(200);
    let count = report.body["totals"]["appointments"].as_u64().unwrap() as usize;
    assert!(count > 100, "{}", report.body);
    let url = format!("/api/v1/exports/appointments?{period}");

    let csv = app.download(&format!("{url}&format=csv"), &admin, None).await;
    assert_eq!(csv.status, 200);
    let lines = read_export("csv", &csv.bytes);
    let lines = lines["rows"].as_array().unwrap();
    assert_eq!(lines.len(), count + 1, "a header and every appointment of the period");
    assert_eq!(lines[0][0], "Appointment");
    let starts: Vec<&str> = lines[1..].iter().map(|l| l[2].as_str().unwrap()).collect();
    assert!(
        starts.iter().all(|s| s.starts_with("2026-11-")),
        "local days of November only"
    );

    let xlsx = app.download(&url, &admin, Some(XLSX)).await;
    assert_eq!(xlsx.status, 200);
    let sheet = read_export("xlsx", &xlsx.bytes);
    let cells = sheet["rows"].as_array().unwrap();
    assert_eq!(cells.len(), count + 1);
    assert_eq!(sheet["freeze"], "A2");
    assert_eq!(cells[1][2]["t"], "d", "start times are dates in XLSX: {}", cells[1]);
    assert_eq!(
        cells[1][2]["v"].as_str().unwrap()[..16],
        *lines[1][2].as_str().unwrap().replace(' ', "T")
    );

    let pdf = app.download(&format!("{url}&format=pdf"), &admin, None).await;
    assert_eq!(pdf.status, 200);
    let read = read_export("pdf", &pdf.bytes);
    let rows: usize = read["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_array().unwrap().len() - 1)
        .sum();
    assert_eq!(rows, count, "every appointment is in the PDF's tables");

    // Patients: every record, demographic and contact fields only.
    let patients = app.download("/api/v1/exports/patients", &admin, Some("text/csv")).await;
    assert_eq!(patients.status, 200);
    let read = read_export("csv", &patients.bytes);
    let lines = read["rows"].as_array().unwrap();
    let registered = app
        .get("/api/v1/reports/patients?from=2024-01-01&to=2026-12-31", &admin)
        .await
        .expect(200);
    assert_eq!(
        lines.len() - 1,
        registered.body["totals"]["new_patients"].as_u64().unwrap() as usize
    );
    assert!(
        !lines[0]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| ["Allergies", "Blood group", "National ID"].contains(&h.as_str().unwrap()))
    );

    // Only administrators; each export is an audited read.
    for user in ["reception.dhaka", "nurse.dhaka", "doctor01", "patient001"] {
        let token = app.login(user, carebook::seed::DEMO_PASSWORD).await;
        app.get("/api/v1/exports/patients?format=csv", &token).await.expect(403);
    }
    let exported = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "data_export" && e.outcome == "allowed")
        .count();
    assert_eq!(
        exported, 4,
        "three appointment exports and one patient export, each audited"
    );

    // Bad input: JSON is not an export format; unknown parameters; filters that do not apply.
    app.get("/api/v1/exports/patients?format=json", &admin)
        .await
        .expect(400);
    app.get("/api/v1/exports/patients?group_by=month", &admin)
        .await
        .expect(400);
    app.get(
        "/api/v1/exports/patients?doctor=00000000-0000-4000-8000-000000000000&format=csv",
        &admin,
    )
    .await
    .expect(422);
    assert_eq!(
        app.download("/api/v1/exports/patients", &admin, Some("application/json"))
            .await
            .status,
        406
    );
}

/// Each role's dashboard: its own sections, today in the facility's zone,
/// queues with check-in and waiting times.
#[tokio::test]
async fn each_role_sees_its_own_dashboard_with_queues_and_waits() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[("sunday", "09:00", "13:00")]).await;
    let (patient, patient_token) = app.patient().await;
    let (_, nurse) = app.staff(&clinic.admin, "nurse", Some(clinic.facility)).await;
    let sunday_9 = "2026-11-29T03:00:00Z";
    let booked = app
        .book(&patient_token, clinic.doctor, sunday_9, None)
        .await
        .expect(201)
        .id();
    // `drive` checks the patient in at 08:30 local, half an hour before the start.
    app.drive(
        &clinic.receptionist,
        booked,
        crate::helpers::at(sunday_9),
        &["check-in"],
    )
    .await;
    app.clock.set(crate::helpers::at("2026-11-29T03:10:00Z"));
    let (admin, doctor, receptionist, nurse, patient_token) = (
        app.renew(&clinic.admin),
        app.renew(&clinic.doctor_token),
        app.renew(&clinic.receptionist),
        app.renew(&nurse),
        app.renew(&patient_token),
    );

    let mine = app.get("/api/v1/dashboard", &doctor).await.expect(200).body;
    assert_eq!(mine["date"], "2026-11-29");
    assert_eq!(mine["time_zone"], "Asia/Dhaka");
    assert_eq!(mine["queue"][0]["appointment_id"], json!(booked));
    assert_eq!(mine["queue"][0]["status"], "checked_in");
    assert_eq!(mine["queue"][0]["queue_number"], 1);
    assert_eq!(mine["queue"][0]["checked_in_at"], "2026-11-29T02:30:00Z");
    assert_eq!(
        mine["queue"][0]["waiting_minutes"], 40,
        "checked in at 08:30, now 09:10: {mine}"
    );
    assert!(mine.get("board").is_none() && mine.get("revenue_today").is_none());

    let bill = app
        .post(
            "/api/v1/bills",
            &receptionist,
            json!({"patient_id": patient, "facility_id": clinic.facility,
            "lines": [{"kind": "other", "description": "Dressing", "unit_price": "100.00"}]}),
        )
        .await
        .expect(201)
        .id();
    app.post(&format!("/api/v1/bills/{bill}/issue"), &receptionist, json!({}))
        .await
        .expect(200);
    let board = app.get("/api/v1/dashboard", &receptionist).await.expect(200).body;
    assert_eq!(board["board"][0]["doctor_id"], json!(clinic.doctor));
    assert_eq!(board["board"][0]["appointments"][0]["patient_id"], json!(patient));
    assert_eq!(board["unpaid_bills"]["bills"], 1);
    assert_eq!(
        board["unpaid_bills"]["outstanding"][0]["amount_minor"], 10000,
        "{board}"
    );

    let ward = app.get("/api/v1/dashboard", &nurse).await.expect(200).body;
    assert_eq!(ward["checked_in"].as_array().unwrap().len(), 1);

    let own = app.get("/api/v1/dashboard", &patient_token).await.expect(200).body;
    assert_eq!(
        own["upcoming"],
        json!([]),
        "the checked-in visit is no longer upcoming: {own}"
    );
    assert_eq!(own["active_prescriptions"], json!([]));
    assert_eq!(own["unpaid_bills"]["outstanding"][0]["amount"], "100.00");
    assert!(own.get("queue").is_none());

    let overview = app.get("/api/v1/dashboard", &admin).await.expect(200).body;
    assert_eq!(overview["appointments_today"]["checked_in"], 1);
    assert_eq!(overview["appointments_today"]["completed"], 0);
    assert!(overview["new_patients_this_month"].as_u64().unwrap() >= 1);
    assert_eq!(overview["stock_below_reorder"], 0);
    assert_eq!(overview["revenue_this_month"], json!([]));

    // Reading a dashboard that names patients is an audited read.
    let audited = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "dashboard")
        .count();
    assert_eq!(audited, 5);
}

/// A paid bill prints as a receipt and a consultation's prescription as a
/// prescription, each in the facility's name and local time, read back by
/// pdfplumber; someone else's is 404.
#[tokio::test]
async fn bills_and_prescriptions_print_as_pdf_in_the_facility_name_and_time() {
    let app = spawn_app().await;
    carebook::seed::demo(&app.state.db, default_now()).await.unwrap();
    let admin = app.login("admin", carebook::seed::DEMO_PASSWORD).await;
    let bills = app
        .get("/api/v1/bills?status=paid&page_size=1", &admin)
        .await
        .expect(200);
    let id = bills.body["results"][0]["id"].as_str().unwrap();
    let bill = app.get(&format!("/api/v1/bills/{id}"), &admin).await.expect(200).body;
    let pdf = app
        .download(&format!("/api/v1/bills/{id}/invoice.pdf"), &admin, None)
        .await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    let read = read_export("pdf", &pdf.bytes);
    let text = read["text"].as_str().unwrap();
    assert!(text.contains("Receipt"), "{text}");
    assert!(text.contains(&format!("Bill {id}")), "{text}");
    let table = &read["tables"][0];
    let lines = bill["lines"].as_array().unwrap();
    assert_eq!(
        table.as_array().unwrap().len(),
        lines.len() + 2,
        "header, lines, total: {table}"
    );
    let last = table.as_array().unwrap().last().unwrap();
    assert_eq!(last[0], "Total");
    assert_eq!(
        last[4].as_str().unwrap().replace(',', ""),
        bill["total"].as_str().unwrap(),
        "{bill}"
    );

    // A demo consultation with prescriptions prints them for its doctor.
    let consultations = app
        .get("/api/v1/consultations?status=completed&page_size=50", &admin)
        .await
        .expect(200);
    let mut printed = false;
    for c in consultations.body["results"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let rx = app
            .get(&format!("/api/v1/consultations/{id}"), &admin)
            .await
            .expect(200);
        let items = rx.body["prescriptions"].as_array().unwrap();
        if items.is_empty() {
            continue;
        }
        let pdf = app
            .download(&format!("/api/v1/consultations/{id}/prescription.pdf"), &admin, None)
            .await;
        assert_eq!(pdf.status, 200);
        let read = read_export("pdf", &pdf.bytes);
        let text = read["text"].as_str().unwrap();
        assert!(
            text.contains("Prescription") && text.contains("Prescriber: Dr"),
            "{text}"
        );
        let rows = read["tables"][0].as_array().unwrap();
        assert_eq!(
            rows.len(),
            1 + items.iter().filter(|p| p["error_reason"].is_null()).count()
        );
        assert!(items.iter().any(|p| {
            rows[1][0]
                .as_str()
                .unwrap()
                .starts_with(&p["medication"].as_str().unwrap()[..10])
        }));
        printed = true;
        break;
    }
    assert!(printed, "the demo has a consultation with prescriptions");
    let nobody = "00000000-0000-4000-8000-000000000000";
    app.get(&format!("/api/v1/bills/{nobody}/invoice.pdf"), &admin)
        .await
        .expect(404);
    let reception = app.login("reception.dhaka", carebook::seed::DEMO_PASSWORD).await;
    let id = consultations.body["results"][0]["id"].as_str().unwrap();
    app.get(&format!("/api/v1/consultations/{id}/prescription.pdf"), &reception)
        .await
        .expect(403);
}

/// The monthly job of a zone runs at midnight on the 1st there and stores
/// each doctor's report of the month once, however many nodes race for it;
/// the reports list, read back in every format, and rebuild on demand.
#[tokio::test]
async fn monthly_reports_are_built_once_per_doctor_on_three_nodes() {
    let app = spawn_app().await;
    let hours = [("sunday", "09:00", "13:00")];
    let clinic = app.clinic("Asia/Dhaka", &hours).await;
    let (second, second_token) = app.second_doctor(&clinic, &hours).await;
    let (_, patient) = app.patient().await;
    let sunday_9 = crate::helpers::at("2026-11-29T03:00:00Z");
    let booked = app
        .book(&patient, clinic.doctor, "2026-11-29T03:00:00Z", None)
        .await
        .expect(201)
        .id();
    app.drive(&clinic.admin, booked, sunday_9, &["check-in", "start", "complete"])
        .await;

    let mut workers = Vec::new();
    for _ in 0..3 {
        let db = carebook::db::Db::connect(app.database_url(), Some(4)).await.unwrap();
        let (_, state) = app.node_with(db, |_| {}).await;
        // What each node's workers do when they start.
        carebook::reports::monthly::schedule(&state).await.unwrap();
        workers.push(carebook::jobs::worker::Worker::new(state, 2).unwrap());
    }
    let queued = "kind = 'monthly_reports' AND status = 'queued'";
    assert_eq!(app.count_where("jobs", queued).await, 1, "one job per zone and month");
    // Before the month ends there (18:00 UTC on 30 November) nothing runs.
    app.clock.set(crate::helpers::at("2026-11-30T17:59:00Z"));
    workers[0].drain().await.unwrap();
    assert_eq!(app.count_where("monthly_reports", "1 = 1").await, 0);
    app.clock.set(crate::helpers::at("2026-11-30T18:00:00Z"));
    let (a, b, c) = tokio::join!(workers[0].drain(), workers[1].drain(), workers[2].drain());
    assert_eq!(a.unwrap() + b.unwrap() + c.unwrap(), 1, "the job runs once");
    assert_eq!(
        app.count_where("monthly_reports", "month = '2026-11'").await,
        2,
        "one per doctor"
    );
    assert_eq!(
        app.count_where("jobs", "kind = 'monthly_reports' AND status = 'succeeded'")
            .await,
        1
    );
    assert_eq!(app.count_where("jobs", queued).await, 1, "December's is queued");

    let admin = app.renew(&clinic.admin);
    let doctor = app.renew(&clinic.doctor_token);
    let all = app
        .get("/api/v1/reports/monthly?month=2026-11", &admin)
        .await
        .expect(200);
    assert_eq!(all.body["count"], 2);
    let mine = app.get("/api/v1/reports/monthly", &doctor).await.expect(200);
    assert_eq!(mine.body["count"], 1, "a doctor lists their own");
    let report = &mine.body["results"][0];
    assert_eq!(report["doctor_id"], json!(clinic.doctor));
    assert_eq!(report["totals"]["completed"], 1);
    assert!(report["generated_by"].is_null(), "built by the job");
    app.get(&format!("/api/v1/reports/monthly?doctor={second}"), &doctor)
        .await
        .expect(403);
    let id = report["id"].as_str().unwrap();
    let rows = app
        .get(&format!("/api/v1/reports/monthly/{id}"), &doctor)
        .await
        .expect(200);
    assert_eq!(
        rows.body["rows"].as_array().unwrap().len(),
        30,
        "a row per day of November"
    );
    assert_eq!(rows.body["rows"][28]["date"], "2026-11-29");
    assert_eq!(rows.body["rows"][28]["completed"], 1);
    let theirs = app
        .get(&format!("/api/v1/reports/monthly?doctor={second}"), &admin)
        .await
        .expect(200);
    let theirs = theirs.body["results"][0]["id"].as_str().unwrap().to_owned();
    app.get(&format!("/api/v1/reports/monthly/{theirs}"), &doctor)
        .await
        .expect(404);

    let xlsx = app
        .download(&format!("/api/v1/reports/monthly/{id}?format=xlsx"), &doctor, None)
        .await;
    let sheet = read_export("xlsx", &xlsx.bytes);
    let cells = sheet["rows"].as_array().unwrap();
    assert_eq!(cells.len(), 1 + 30 + 1, "header, days, totals");
    assert_eq!(cells[29][0]["t"], "d");
    assert_eq!(cells[31][0]["v"], "Total");
    assert_eq!(cells[31][2]["v"], 1.0);
    let pdf = app
        .download(&format!("/api/v1/reports/monthly/{id}?format=pdf"), &doctor, None)
        .await;
    let read = read_export("pdf", &pdf.bytes);
    assert!(read["text"].as_str().unwrap().contains("Monthly report 2026-11"));

    // On demand: an ended month is rebuilt in place; one not ended yet is refused.
    let rebuilt = app
        .post(
            "/api/v1/reports/monthly",
            &doctor,
            json!({"doctor_id": clinic.doctor, "month": "2026-11"}),
        )
        .await
        .expect(201);
    assert_eq!(rebuilt.body["id"], json!(id));
    assert_eq!(
        rebuilt.body["generated_by"],
        json!(crate::helpers::TestApp::user_of(&doctor))
    );
    assert_eq!(app.count_where("monthly_reports", "1 = 1").await, 2);
    let early = app
        .post(
            "/api/v1/reports/monthly",
            &admin,
            json!({"doctor_id": clinic.doctor, "month": "2026-12"}),
        )
        .await
        .expect(422);
    assert!(early.body["errors"].get("month").is_some());
    app.post(
        "/api/v1/reports/monthly",
        &doctor,
        json!({"doctor_id": second, "month": "2026-11"}),
    )
    .await
    .expect(403);
    let second_token = app.renew(&second_token);
    for month in ["2026-1", "2026-13", "1800-01"] {
        app.post(
            "/api/v1/reports/monthly",
            &second_token,
            json!({"doctor_id": second, "month": month}),
        )
        .await
        .expect(422);
    }
}
