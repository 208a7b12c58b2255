//! The test harness: a real server on a random port, a fresh database per
//! test, a clock the test controls, and helpers that build a clinic over HTTP.
//!
//! SQLite by default (a temporary file); PostgreSQL when `TEST_DATABASE_URL`
//! points at a server (a uniquely named database per test, dropped after it).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use uuid::Uuid;

use carebook::clock::{Clock, ManualClock};
use carebook::config::Config;
use carebook::db::Db;
use carebook::state::AppState;

/// A running Carebook for one test.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestApp {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop on a thread of its own: this may run inside the test's runtime.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        if let Ok(db) = Database::connect(&admin_url).await {
                            let _ = db
                                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Replace the database name in a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The instant tests start at unless they set the clock: Sunday 22 November 2026, 06:00 in Dhaka.
pub fn default_now() -> DateTime<Utc> {
    at("2026-11-22T00:00:00Z")
}

/// Parse an RFC 3339 instant.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Start a server on a fresh database. `TEST_LOG=debug` shows the server's logs.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Start a server on a fresh database with a configuration adjusted by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    // TLS for every HTTP client of the process (the tests' and the webhooks').
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }
    let id = Uuid::new_v4().simple().to_string();
    let (url, cleanup) = match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("carebook_test_{id}");
            let admin = Database::connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL must be reachable");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.ok();
            (with_database(&admin_url, &name), Cleanup::Postgres { admin_url, name })
        }
        _ => {
            let path = std::env::temp_dir().join(format!("carebook-test-{id}.db"));
            (format!("sqlite://{}", path.display()), Cleanup::Sqlite(path))
        }
    };
    let mut config = Config::for_tests(&url);
    configure(&mut config);
    let db = Db::connect(&config.database_url, Some(8))
        .await
        .expect("connect test database");
    db.migrate().await.expect("migrate test database");
    let clock = Arc::new(ManualClock::new(default_now()));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let state = AppState::new(db, config, dyn_clock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(carebook::server::serve(state.clone(), listener));
    TestApp {
        address,
        client: reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap(),
        clock,
        state,
        cleanup,
    }
}

impl TestApp {
    /// The database URL of this test's database.
    pub fn database_url(&self) -> &str {
        &self.state.config.database_url
    }

    /// Start another node on `db` (this test's database, perhaps through
    /// another role) with this node's configuration and clock, as a second
    /// process would; returns its address.
    /// This node and `more` others, each with a pool of its own on this
    /// test's database: a cluster of stateless nodes.
    pub async fn nodes(&self, more: usize) -> Vec<String> {
        let mut nodes = vec![self.address.clone()];
        for _ in 0..more {
            let db = Db::connect(self.database_url(), Some(8))
                .await
                .expect("connect another node");
            nodes.push(self.node(db).await);
        }
        nodes
    }

    pub async fn node(&self, db: Db) -> String {
        self.node_with(db, |_| {}).await.0
    }

    /// Start another node (as [`TestApp::node`]) with its configuration
    /// adjusted by `configure`; returns its address and state.
    pub async fn node_with(&self, db: Db, configure: impl FnOnce(&mut Config)) -> (String, AppState) {
        let clock: Arc<dyn Clock> = self.clock.clone();
        let mut config = (*self.state.config).clone();
        configure(&mut config);
        let state = AppState::new(db, config, clock);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(carebook::server::serve(state.clone(), listener));
        (address, state)
    }
}

/// Replace the user in a PostgreSQL URL.
pub fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let rest = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}@{rest}")
}

/// A response: status and JSON body (Null when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The `rule` member of a problem document.
    pub fn rule(&self) -> &str {
        self.body["rule"].as_str().unwrap_or("")
    }

    /// The `id` of the body.
    pub fn id(&self) -> Uuid {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .parse()
            .unwrap()
    }

    /// Assert a status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self
    }

    /// Assert the body is a problem document with this status and `rule`.
    #[track_caller]
    pub fn expect_rule(self, status: u16, rule: &str) -> Reply {
        let reply = self.expect(status);
        assert_eq!(reply.rule(), rule, "unexpected rule; body: {}", reply.body);
        reply
    }
}

impl TestApp {
    /// Send a request with an optional bearer token and JSON body.
    pub async fn send(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.send_at(&self.address, method, path, token, body).await
    }

    /// Send a request to the node at `address` (see [`TestApp::node`]).
    pub async fn send_at(
        &self,
        address: &str,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{address}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply { status, body, headers }
    }

    /// POST `body` to `path` with an `Idempotency-Key`.
    pub async fn post_keyed(&self, path: &str, token: &str, key: &str, body: Value) -> Reply {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Reply { status, body, headers }
    }

    /// Assert that the database itself refuses each statement (a constraint
    /// or trigger, whatever the handlers check).
    pub async fn assert_refused_by_database(&self, statements: &[&str]) {
        use sea_orm::ConnectionTrait;
        let conn = self.state.db.conn();
        let backend = conn.get_database_backend();
        for sql in statements {
            let outcome = conn
                .execute_raw(sea_orm::Statement::from_string(backend, sql.to_string()))
                .await;
            assert!(outcome.is_err(), "the database let through: {sql}");
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(reqwest::Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(reqwest::Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(reqwest::Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(reqwest::Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.send(reqwest::Method::DELETE, path, Some(token), None).await
    }

    /// Send a request without a token.
    pub async fn public(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        self.send(method, path, None, body).await
    }

    /// Try to log in; the whole reply.
    pub async fn try_login(&self, username: &str, password: &str) -> Reply {
        self.public(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    /// Every audit event, oldest first (read straight from the database).
    pub async fn audit_events(&self) -> Vec<carebook::db::entities::audit_event::Model> {
        use sea_orm::{EntityTrait, QueryOrder};
        carebook::db::entities::audit_event::Entity::find()
            .order_by_asc(carebook::db::entities::audit_event::Column::At)
            .all(self.state.db.conn())
            .await
            .unwrap()
    }

    /// Set a system setting as `admin`.
    pub async fn set_setting(&self, admin: &str, key: &str, value: Value) {
        self.put(&format!("/api/v1/settings/{key}"), admin, json!({ "value": value }))
            .await
            .expect(200);
    }

    /// Log in and return the access token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let reply = self
            .send(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": username, "password": password})),
            )
            .await
            .expect(200);
        reply.body["access"].as_str().unwrap().to_owned()
    }

    /// The claims of a token (not verified).
    pub fn claims(token: &str) -> Value {
        use base64::Engine;
        let payload = token.split('.').nth(1).expect("a JWT");
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    }

    /// The user id of a token.
    pub fn user_of(token: &str) -> Uuid {
        Self::claims(token)["sub"].as_str().unwrap().parse().unwrap()
    }

    /// A fresh token for the user of `token` at the current (test) clock:
    /// tokens live 15 minutes, and tests move the clock by days.
    pub fn renew(&self, token: &str) -> String {
        let claims = Self::claims(token);
        let user = claims["sub"].as_str().unwrap().parse().unwrap();
        let role = serde_json::from_value(claims["role"].clone()).unwrap();
        let session = claims["sid"].as_str().unwrap().parse().unwrap();
        self.state.keys.issue(user, role, session, self.clock.now()).unwrap().0
    }

    /// Drive appointment `id` (starting at `start`) through lifecycle `steps`
    /// (`confirm`, `check-in`, …) as `token`'s user. Check-in opens shortly
    /// before the start, so from a check-in on the steps run half an hour
    /// before it; the clock is put back afterwards.
    pub async fn drive(&self, token: &str, id: Uuid, start: DateTime<Utc>, steps: &[&str]) {
        let before = self.clock.now();
        for step in steps {
            if *step == "check-in" {
                self.clock.set(start - chrono::TimeDelta::minutes(30));
            }
            self.post(
                &format!("/api/v1/appointments/{id}/{step}"),
                &self.renew(token),
                json!({"reason": "test"}),
            )
            .await
            .expect(200);
        }
        self.clock.set(before);
    }

    /// Create an administrator directly and log in as them.
    pub async fn admin(&self) -> String {
        let name = format!("admin{}", &Uuid::new_v4().simple().to_string()[..8]);
        carebook::accounts::create_admin(
            &self.state,
            &name,
            &format!("{name}@clinic.test"),
            "admin passphrase".into(),
        )
        .await
        .expect("admin created");
        self.login(&name, "admin passphrase").await
    }

    /// Create a staff user (doctor, nurse, receptionist) and return (user id, token).
    pub async fn staff(&self, admin: &str, role: &str, facility: Option<Uuid>) -> (Uuid, String) {
        let name = format!("{role}{}", &Uuid::new_v4().simple().to_string()[..8]);
        let user = self
            .post(
                "/api/v1/users",
                admin,
                json!({"username": name, "password": "staff passphrase", "role": role,
                       "first_name": "Staff", "last_name": name, "facility_id": facility}),
            )
            .await
            .expect(201);
        (user.id(), self.login(&name, "staff passphrase").await)
    }

    /// Sign a patient up and return (patient id, token).
    pub async fn patient(&self) -> (Uuid, String) {
        let name = format!("patient{}", &Uuid::new_v4().simple().to_string()[..10]);
        let reply = self
            .send(
                reqwest::Method::POST,
                "/api/v1/auth/register",
                None,
                Some(
                    json!({"username": name, "password": "patient passphrase", "first_name": "Pat", "last_name": name}),
                ),
            )
            .await
            .expect(201);
        let patient = reply.body["user"]["patient_id"].as_str().unwrap().parse().unwrap();
        (patient, reply.body["access"].as_str().unwrap().to_owned())
    }

    /// Count rows of a table (to prove nothing was half-written).
    pub async fn count(&self, table: &str) -> i64 {
        self.count_where(table, "TRUE").await
    }

    /// Count the rows of a table that meet an SQL condition.
    pub async fn count_where(&self, table: &str, condition: &str) -> i64 {
        let backend = self.state.db.backend();
        let row = self
            .state
            .db
            .conn()
            .query_one_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT COUNT(*) AS n FROM {table} WHERE {condition}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }

    /// Build a clinic: a facility in `time_zone`, a specialty, a 60-minute
    /// service, a doctor offering it, with `hours` (weekday, start, end) weekly.
    pub async fn clinic(&self, time_zone: &str, hours: &[(&str, &str, &str)]) -> Clinic {
        let admin = self.admin().await;
        let tag = &Uuid::new_v4().simple().to_string()[..8];
        let facility = self
            .post(
                "/api/v1/facilities",
                &admin,
                json!({"name": format!("Clinic {tag}"), "kind": "clinic", "time_zone": time_zone}),
            )
            .await
            .expect(201)
            .id();
        let specialty = self
            .post(
                "/api/v1/specialties",
                &admin,
                json!({"code": format!("S{tag}"), "name": format!("Specialty {tag}")}),
            )
            .await
            .expect(201)
            .id();
        let service = self
            .post(
                "/api/v1/services",
                &admin,
                json!({"name": "Long consultation", "specialty_id": specialty, "duration_minutes": 60, "price": "1500.00"}),
            )
            .await
            .expect(201)
            .id();
        let (doctor_user, doctor_token) = self.staff(&admin, "doctor", None).await;
        let doctor = self
            .post(
                "/api/v1/doctors",
                &admin,
                json!({"user_id": doctor_user, "licence_number": format!("BMDC-{tag}"), "specialty_id": specialty,
                       "facility_id": facility, "years_of_experience": 12, "consultation_fee": "1000",
                       "service_ids": [service]}),
            )
            .await
            .expect(201)
            .id();
        for (weekday, start, end) in hours {
            self.post(
                &format!("/api/v1/doctors/{doctor}/working-hours"),
                &admin,
                json!({"weekday": weekday, "start_time": start, "end_time": end}),
            )
            .await
            .expect(201);
        }
        let (_, receptionist) = self.staff(&admin, "receptionist", Some(facility)).await;
        Clinic {
            admin,
            facility,
            specialty,
            service,
            doctor,
            doctor_token,
            receptionist,
        }
    }

    /// Add a second doctor to a clinic with the same hours.
    pub async fn second_doctor(&self, clinic: &Clinic, hours: &[(&str, &str, &str)]) -> (Uuid, String) {
        let tag = &Uuid::new_v4().simple().to_string()[..8];
        let (user, token) = self.staff(&clinic.admin, "doctor", None).await;
        let doctor = self
            .post(
                "/api/v1/doctors",
                &clinic.admin,
                json!({"user_id": user, "licence_number": format!("BMDC-{tag}"), "specialty_id": clinic.specialty,
                       "facility_id": clinic.facility, "consultation_fee": "800", "service_ids": [clinic.service]}),
            )
            .await
            .expect(201)
            .id();
        for (weekday, start, end) in hours {
            self.post(
                &format!("/api/v1/doctors/{doctor}/working-hours"),
                &clinic.admin,
                json!({"weekday": weekday, "start_time": start, "end_time": end}),
            )
            .await
            .expect(201);
        }
        (doctor, token)
    }

    /// Book as `token` (patient books for themselves when `patient` is None).
    pub async fn book(&self, token: &str, doctor: Uuid, start: &str, patient: Option<Uuid>) -> Reply {
        let mut body = json!({"doctor_id": doctor, "start": start});
        if let Some(patient) = patient {
            body["patient_id"] = json!(patient);
        }
        self.post("/api/v1/appointments", token, body).await
    }
}

/// What [`TestApp::clinic`] built.
pub struct Clinic {
    pub admin: String,
    pub facility: Uuid,
    pub specialty: Uuid,
    pub service: Uuid,
    pub doctor: Uuid,
    pub doctor_token: String,
    pub receptionist: String,
}

/// A PNG of one colour, `width` × `height`.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30])))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// A `multipart/form-data` body with one file field: (content type, body).
pub fn multipart(field: &str, filename: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "carebook-test-boundary-7d1c";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/db?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}

/// The Python with the tests' real peers (aiosmtpd, icalendar, vobject):
/// `CAREBOOK_TEST_PYTHON`, which `scripts/test.sh` sets.
pub fn test_python() -> String {
    std::env::var("CAREBOOK_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("CAREBOOK_TEST_PYTHON is not set: run the tests with scripts/test.sh (it installs aiosmtpd, icalendar and vobject)")
    })
}

/// A real SMTP server (aiosmtpd) writing what it receives to a Maildir.
pub struct SmtpServer {
    pub url: String,
    maildir: std::path::PathBuf,
    child: std::process::Child,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

/// One received message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
    /// The `text/calendar` part: its `method` parameter and body.
    pub calendar: Option<(String, String)>,
}

impl SmtpServer {
    /// Start aiosmtpd on a free port; returns once it accepts connections.
    pub async fn start() -> SmtpServer {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let maildir = std::env::temp_dir().join(format!("carebook-maildir-{}", Uuid::new_v4().simple()));
        let child = std::process::Command::new(test_python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        SmtpServer {
            url: format!("smtp://127.0.0.1:{port}"),
            maildir,
            child,
        }
    }

    /// Every message received so far, in the order received.
    pub fn messages(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|path| parse_mail(&std::fs::read(path).unwrap()))
            .collect()
    }

    /// The messages received for `to`.
    pub fn messages_to(&self, to: &str) -> Vec<Mail> {
        self.messages().into_iter().filter(|m| m.to.contains(to)).collect()
    }
}

fn parse_mail(raw: &[u8]) -> Mail {
    use mailparse::MailHeaderMap;
    let parsed = mailparse::parse_mail(raw).expect("a parsable message");
    let header = |name: &str| parsed.headers.get_first_value(name).unwrap_or_default();
    let mut mail = Mail {
        to: header("To"),
        subject: header("Subject"),
        message_id: header("Message-ID"),
        text: String::new(),
        html: String::new(),
        calendar: None,
    };
    for part in &parsed.subparts {
        let body = part.get_body().unwrap();
        match part.ctype.mimetype.as_str() {
            "text/plain" => mail.text = body,
            "text/html" => mail.html = body,
            "text/calendar" => {
                let method = part.ctype.params.get("method").cloned().unwrap_or_default();
                mail.calendar = Some((method, body));
            }
            other => panic!("an unexpected part {other}"),
        }
    }
    mail
}

/// Parse iCalendar text with two real parsers (PyPI `icalendar`, strict,
/// and `vobject`, which also validates required properties): each event's
/// UID, SEQUENCE, STATUS, DTSTART and DTEND (UTC, RFC 3339), METHOD and
/// whether every line ends in CRLF. Panics if either parser refuses it.
pub fn parse_ics(text: &str) -> Value {
    let script = r#"
import json, sys
import icalendar, vobject
raw = sys.stdin.buffer.read()
cal = icalendar.Calendar.from_ical(raw)
events = []
for ev in cal.walk("VEVENT"):
    events.append({
        "uid": str(ev.get("UID")),
        "sequence": int(ev.get("SEQUENCE", 0)),
        "status": str(ev.get("STATUS", "")),
        "start": ev.decoded("DTSTART").isoformat(),
        "end": ev.decoded("DTEND").isoformat(),
        "summary": str(ev.get("SUMMARY", "")),
    })
parsed = vobject.readOne(raw.decode("utf-8"), validate=True)
lines = raw.split(b"\r\n")
print(json.dumps({
    "method": str(cal.get("METHOD", "")),
    "events": events,
    "vobject_events": len(getattr(parsed, "vevent_list", [])),
    "crlf": all(not l.endswith(b"\r") and b"\n" not in l for l in lines) and raw.endswith(b"\r\n"),
}))
"#;
    use std::io::Write;
    let mut child = std::process::Command::new(test_python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the iCalendar parsers refused it: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

impl TestApp {
    /// Run every job due now (as a worker of this node would) until none is; how many ran.
    pub async fn run_jobs(&self) -> usize {
        carebook::jobs::worker::Worker::new(self.state.clone(), 4)
            .unwrap()
            .drain()
            .await
            .unwrap()
    }
}

/// A Server-Sent Events client: the events received so far, read as they come.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct ServerEvent {
    pub event: String,
    pub id: String,
    pub data: Value,
}

impl EventStream {
    /// Open `path` on `base` as `token`, with `last_event_id` if given; panics unless 200.
    pub async fn open(base: &str, path: &str, token: &str, last_event_id: Option<&str>) -> EventStream {
        let mut request = reqwest::Client::new()
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "opening {path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream"),
            "{:?}",
            response.headers()
        );
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (heartbeats skipped), or `None` if none comes within `wait`.
    pub async fn next(&mut self, wait: std::time::Duration) -> Option<ServerEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = ServerEvent {
                    event: "message".into(),
                    id: String::new(),
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        event.id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if data.is_empty() {
                    continue; // a comment: the heartbeat
                }
                event.data = serde_json::from_str(&data).unwrap();
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .unwrap()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// The Standard Webhooks signature of a message, by the specification's
/// reference Python library (`standardwebhooks`).
pub fn reference_signature(secret: &str, message_id: &str, timestamp: i64, body: &str) -> String {
    let script = r#"
import sys, datetime
from standardwebhooks import Webhook
secret, msg_id, ts = sys.argv[1], sys.argv[2], int(sys.argv[3])
body = sys.stdin.read()
print(Webhook(secret).sign(msg_id, datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc), body))
"#;
    use std::io::Write;
    let mut child = std::process::Command::new(test_python())
        .args(["-c", script, secret, message_id, &timestamp.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python");
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// One request a [`WebhookReceiver`] got.
#[derive(Debug, Clone)]
pub struct Hook {
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

/// An HTTP endpoint that records what is POSTed to it, answering with the
/// statuses given in turn (then 200).
pub struct WebhookReceiver {
    pub url: String,
    pub received: Arc<std::sync::Mutex<Vec<Hook>>>,
}

impl WebhookReceiver {
    pub async fn start(statuses: Vec<u16>) -> WebhookReceiver {
        let received: Arc<std::sync::Mutex<Vec<Hook>>> = Arc::default();
        let answers = Arc::new(std::sync::Mutex::new(
            statuses.into_iter().collect::<std::collections::VecDeque<_>>(),
        ));
        let store = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let (store, answers) = (store.clone(), answers.clone());
                async move {
                    store.lock().unwrap().push(Hook { headers, body });
                    let status = answers.lock().unwrap().pop_front().unwrap_or(200);
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        WebhookReceiver { url, received }
    }

    pub fn hooks(&self) -> Vec<Hook> {
        self.received.lock().unwrap().clone()
    }
}

/// A file answer: status, headers and bytes.
pub struct Download {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}

impl TestApp {
    /// GET `path` as `token`, with `accept` if given, keeping the body as bytes.
    pub async fn download(&self, path: &str, token: &str, accept: Option<&str>) -> Download {
        let mut request = self.client.get(format!("{}{path}", self.address)).bearer_auth(token);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.expect("request sent");
        Download {
            status: response.status(),
            headers: response.headers().clone(),
            bytes: response.bytes().await.unwrap().to_vec(),
        }
    }
}

/// What Python's csv module, openpyxl or pdfplumber (`kind`: csv, xlsx,
/// pdf) read in `bytes` (see `tests/api/read_export.py`).
pub fn read_export(kind: &str, bytes: &[u8]) -> Value {
    use std::io::Write;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/read_export.py");
    let mut child = std::process::Command::new(test_python())
        .args([script, kind])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the {kind} reader refused it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Check FHIR resources with `fhir.resources` (R4B models) and the official
/// FHIR R4 JSON schema (`tests/api/check_fhir.py`); panics listing every finding.
pub fn check_fhir(resources: &[Value]) {
    use std::io::Write;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/check_fhir.py");
    let mut child = std::process::Command::new(test_python())
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(resources).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "FHIR validators refused what we emitted:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
