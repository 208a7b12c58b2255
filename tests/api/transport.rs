//! Transport hygiene: security headers, CORS, rate limits, body limits.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn every_response_carries_security_headers_and_authenticated_ones_are_not_stored() {
    let app = spawn_app().await;
    let (_, token) = app.patient().await;
    for reply in [
        app.public(Method::GET, "/health", None).await,
        app.public(Method::GET, "/api/v1/nowhere", None).await,
        app.get("/api/v1/appointments", &token).await,
    ] {
        assert_eq!(reply.headers["x-content-type-options"], "nosniff");
        assert_eq!(reply.headers["x-frame-options"], "DENY");
        assert_eq!(reply.headers["referrer-policy"], "no-referrer");
        assert!(
            reply.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        assert!(reply.headers.contains_key("x-request-id"));
        assert!(
            !reply.headers.contains_key("strict-transport-security"),
            "not configured"
        );
    }
    let authenticated = app.get("/api/v1/appointments", &token).await;
    assert_eq!(authenticated.headers["cache-control"], "no-store");
    let login = app.try_login("nobody", "nothing").await;
    assert_eq!(
        login.headers["cache-control"], "no-store",
        "token endpoints are never cached"
    );
    assert!(
        !app.public(Method::GET, "/health", None)
            .await
            .headers
            .contains_key("cache-control")
    );
    // No CORS headers unless origins are configured.
    let response = app
        .client
        .get(format!("{}/health", app.address))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!response.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn hsts_and_cors_follow_the_configuration() {
    let app = spawn_app_with(|config| {
        config.hsts = true;
        config.cors_origins = vec!["https://app.clinic.example".into()];
    })
    .await;
    let health = app.public(Method::GET, "/health", None).await;
    assert_eq!(
        health.headers["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, format!("{}/api/v1/appointments", app.address))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type, idempotency-key",
            )
            .send()
    };
    let allowed = preflight("https://app.clinic.example").await.unwrap();
    assert!(allowed.status().is_success());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.clinic.example"
    );
    assert!(!allowed.headers().contains_key("access-control-allow-credentials"));
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(!refused.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_strictly_on_auth() {
    let app = spawn_app_with(|config| {
        config.rate_limit_auth_per_minute = 3;
        config.rate_limit_per_minute = 6;
    })
    .await;
    for _ in 0..3 {
        app.try_login("someone", "something").await.expect(401);
    }
    let limited = app.try_login("someone", "something").await.expect(429);
    let retry: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "retry after {retry} s");
    assert_eq!(limited.headers["content-type"], "application/problem+json");
    // Elsewhere the allowance is separate and larger.
    for _ in 0..6 {
        app.public(Method::GET, "/api/v1/settings/public", None)
            .await
            .expect(200);
    }
    app.public(Method::GET, "/api/v1/settings/public", None)
        .await
        .expect(429);
    // Health probes are never limited.
    for _ in 0..10 {
        app.public(Method::GET, "/health", None).await.expect(200);
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let app = spawn_app_with(|config| config.body_limit = 64 * 1024).await;
    let big = json!({"username": "x".repeat(70 * 1024), "password": "y"});
    let reply = app
        .public(Method::POST, "/api/v1/auth/login", Some(big))
        .await
        .expect(413);
    assert_eq!(reply.headers["content-type"], "application/problem+json");
}

#[tokio::test]
async fn behind_a_proxy_the_client_is_the_right_most_untrusted_forwarded_address() {
    let app = spawn_app_with(|config| {
        config.proxies = carebook::config::Proxies::new(true, &[]).unwrap();
        config.rate_limit_auth_per_minute = 3;
    })
    .await;
    // A client that writes its own X-Forwarded-For entries in front of the
    // proxy's cannot pick a fresh address each time: its allowance is spent.
    let login = |spoofed: String| {
        app.client
            .post(format!("{}/api/v1/auth/login", app.address))
            .header("X-Forwarded-For", format!("{spoofed}, 203.0.113.9"))
            .json(&json!({"username": "someone", "password": "something"}))
            .send()
    };
    for i in 0..3 {
        assert_eq!(login(format!("10.9.9.{i}")).await.unwrap().status(), 401);
    }
    assert_eq!(login("10.9.9.200".into()).await.unwrap().status(), 429);
    // And the audit trail records the address the proxy saw, not the forged one.
    let events = app.audit_events().await;
    let login_events: Vec<_> = events.iter().filter(|e| e.route == "/api/v1/auth/login").collect();
    assert_eq!(login_events.len(), 3);
    assert!(
        login_events.iter().all(|e| e.ip.as_deref() == Some("203.0.113.9")),
        "{login_events:?}"
    );
}

#[tokio::test]
async fn a_peer_outside_the_trusted_proxies_is_the_client_whatever_it_forwards() {
    let app = spawn_app_with(|config| {
        config.proxies = carebook::config::Proxies::new(true, &["192.0.2.0/24".into()]).unwrap();
    })
    .await;
    let reply = app
        .client
        .post(format!("{}/api/v1/auth/login", app.address))
        .header("X-Forwarded-For", "198.51.100.1")
        .json(&json!({"username": "someone", "password": "something"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 401);
    let events = app.audit_events().await;
    let event = events.iter().find(|e| e.route == "/api/v1/auth/login").unwrap();
    assert_eq!(
        event.ip.as_deref(),
        Some("127.0.0.1"),
        "the loopback peer is not a trusted proxy"
    );
}

mod connections {
    //! Slow and stalled clients, over raw sockets: none may hold the node.

    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use crate::helpers::{TestApp, spawn_app_with};

    async fn app() -> TestApp {
        spawn_app_with(|config| {
            config.connections = carebook::config::ConnectionLimits {
                header_timeout: Duration::from_secs(1),
                request_timeout: Duration::from_secs(2),
                max_connections: 3,
            };
        })
        .await
    }

    async fn socket(app: &TestApp) -> TcpStream {
        TcpStream::connect(app.address.trim_start_matches("http://"))
            .await
            .unwrap()
    }

    /// Everything the server sends until it closes the connection (bounded
    /// by a guard far beyond every timeout, so a server that never closes fails the test).
    async fn until_closed(stream: &mut TcpStream) -> String {
        let mut received = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(20), async {
            let mut buffer = [0u8; 4096];
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.extend_from_slice(&buffer[..n]),
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the server kept the connection open");
        String::from_utf8_lossy(&received).into_owned()
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_headers_is_disconnected() {
        let app = app().await;
        let mut stream = socket(&app).await;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: carebook\r\nX-Slow: ")
            .await
            .unwrap();
        let answer = until_closed(&mut stream).await;
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    }

    #[tokio::test]
    async fn a_body_that_never_arrives_is_answered_408() {
        let app = app().await;
        let mut stream = socket(&app).await;
        let head = "POST /api/v1/auth/login HTTP/1.1\r\nHost: carebook\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(br#"{"username""#).await.unwrap();
        let answer = until_closed(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
    }

    #[tokio::test]
    async fn an_idle_keep_alive_connection_is_closed() {
        let app = app().await;
        let mut stream = socket(&app).await;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: carebook\r\n\r\n")
            .await
            .unwrap();
        let answer = until_closed(&mut stream).await;
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "answered, then closed once idle: {answer}"
        );
    }

    #[tokio::test]
    async fn stalled_connections_beyond_the_cap_do_not_lock_others_out() {
        let app = app().await;
        let mut stalled = Vec::new();
        for _ in 0..6 {
            let mut stream = socket(&app).await;
            stream.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
            stalled.push(stream);
        }
        // The node holds three connections at a time and drops stalled ones
        // after the header timeout, so a real client still gets in.
        let reply = tokio::time::timeout(
            Duration::from_secs(20),
            app.client.get(format!("{}/health", app.address)).send(),
        )
        .await
        .expect("a client got in")
        .unwrap();
        assert_eq!(reply.status(), 200);
        for mut stream in stalled {
            until_closed(&mut stream).await;
        }
    }
}
