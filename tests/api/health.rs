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

/// A TCP forwarder in front of PostgreSQL that can be cut, as an outage
/// would: open connections are reset and new ones refused (the port is closed).
struct Outage {
    address: std::net::SocketAddr,
    upstream: std::net::SocketAddr,
    forwarding: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Outage {
    async fn in_front_of(upstream: std::net::SocketAddr) -> Outage {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let outage = Outage {
            address: listener.local_addr().unwrap(),
            upstream,
            forwarding: std::sync::Mutex::new(None),
            cut,
        };
        outage.forward(listener);
        outage
    }

    fn forward(&self, listener: tokio::net::TcpListener) {
        let (upstream, cuts) = (self.upstream, self.cut.subscribe());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let mut cuts = cuts.clone();
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        *self.forwarding.lock().unwrap() = Some(task);
    }

    async fn set_up(&self, up: bool) {
        if up {
            self.forward(tokio::net::TcpListener::bind(self.address).await.unwrap());
        } else {
            if let Some(task) = self.forwarding.lock().unwrap().take() {
                task.abort();
            }
            self.cut.send_modify(|n| *n += 1);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// PostgreSQL goes away under a running node: `/ready` and requests answer
/// 503 at once (not after the pool's acquire timeout) while it is down, and
/// the node recovers on its own when it is back. (SQLite is a file in the
/// process: it has no outage of this kind.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn during_a_database_outage_requests_fail_fast_and_recover() {
    let app = spawn_app().await;
    if app.state.db.backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let admin = app.admin().await;
    let url = app.database_url().to_owned();
    let rest = url.split_once('@').map_or(url.as_str(), |(_, r)| r);
    let host = rest.split('/').next().unwrap();
    let upstream = tokio::net::lookup_host(host).await.unwrap().next().unwrap();
    let outage = Outage::in_front_of(upstream).await;
    let proxied = url.replacen(host, &outage.address.to_string(), 1);
    let db = carebook::db::Db::connect(&proxied, Some(4)).await.unwrap();
    let node = app.node(db).await;
    let get = |path: &'static str| {
        let (client, node, admin) = (app.client.clone(), node.clone(), admin.clone());
        async move {
            let started = std::time::Instant::now();
            let status = client
                .get(format!("{node}{path}"))
                .bearer_auth(admin)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            (status, started.elapsed())
        }
    };
    assert_eq!(get("/ready").await.0, 200);
    assert_eq!(get("/api/v1/users").await.0, 200);

    outage.set_up(false).await;
    // /ready never waits more than its one second, and soon says 503.
    let mut known = false;
    for _ in 0..20 {
        let (status, took) = get("/ready").await;
        assert!(took < std::time::Duration::from_secs(2), "/ready answered in {took:?}");
        if status == 503 {
            known = true;
            break;
        }
    }
    assert!(known, "/ready reports the outage");
    // Known down: every request is refused at once, not after the pool's 10 s acquire timeout.
    let fast = std::time::Duration::from_secs(2);
    for path in ["/api/v1/users", "/api/v1/users", "/ready", "/api/v1/patients", "/ready"] {
        let (status, took) = get(path).await;
        assert_eq!(status, 503, "{path} while the database is down");
        assert!(took < fast, "{path} answered in {took:?}");
    }
    assert_eq!(get("/health").await.0, 200, "the process itself is up");

    outage.set_up(true).await;
    let mut recovered = false;
    for _ in 0..40 {
        if get("/api/v1/users").await.0 == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(recovered, "the node recovers on its own");
    assert_eq!(get("/ready").await.0, 200);
}
