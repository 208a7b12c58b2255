//! Several nodes on one database (each with its own pool, caches and
//! tallies, as separate processes would be): what two nodes do at once
//! must be what one node does. Run on PostgreSQL by `.ci/run`.

use chrono::TimeDelta;
use futures::future::join_all;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Reply, TestApp, spawn_app, spawn_app_with};

/// `requests` sent at once, spread over `nodes`.
async fn at_once<'a>(
    app: &'a TestApp,
    nodes: &'a [String],
    requests: impl IntoIterator<Item = (Method, String, Option<String>, Option<serde_json::Value>)>,
) -> Vec<Reply> {
    let sends = requests
        .into_iter()
        .enumerate()
        .map(|(i, (method, path, token, body))| {
            let node = &nodes[i % nodes.len()];
            async move { app.send_at(node, method, &path, token.as_deref(), body).await }
        });
    join_all(sends).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_changes_of_one_setting_on_three_nodes_all_succeed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let nodes = app.nodes(2).await;
    let changes = (0..30).map(|i| {
        let body = (i % 5 != 4).then(|| json!({"value": 30 + i}));
        let method = if body.is_some() { Method::PUT } else { Method::DELETE };
        (
            method,
            "/api/v1/settings/booking.horizon_days".to_owned(),
            Some(admin.clone()),
            body,
        )
    });
    let replies = at_once(&app, &nodes, changes).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| (200..300).contains(s)), "{statuses:?}");
    assert!(app.count("settings").await <= 1);
    // Whatever won is a valid value, read alike on every node.
    let read = app
        .get("/api/v1/settings/booking.horizon_days", &admin)
        .await
        .expect(200);
    let value = read.body["value"].as_i64().unwrap();
    assert!(value == 90 || (30..60).contains(&value), "{value}");
}

async fn register(app: &TestApp, username: &str) -> Reply {
    app.public(
        Method::POST,
        "/api/v1/auth/register",
        Some(json!({"username": username, "password": "a long passphrase", "first_name": "N", "last_name": "S"})),
    )
    .await
    .expect(201)
}

fn refreshes(token: &str, count: usize) -> Vec<(Method, String, Option<String>, Option<serde_json::Value>)> {
    (0..count)
        .map(|_| {
            (
                Method::POST,
                "/api/v1/auth/refresh".to_owned(),
                None,
                Some(json!({"refresh": token})),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_sent_to_three_nodes_at_once_gets_one_successor_pair() {
    let app = spawn_app().await;
    let nodes = app.nodes(2).await;
    let token = register(&app, "sabina").await.body["refresh"]
        .as_str()
        .unwrap()
        .to_owned();
    let replies = at_once(&app, &nodes, refreshes(&token, 9)).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let pairs: std::collections::HashSet<(String, String)> = replies
        .iter()
        .map(|r| {
            (
                r.body["access"].as_str().unwrap().to_owned(),
                r.body["refresh"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(pairs.len(), 1, "the same successor pair for every repeat");
    let (access, successor) = pairs.into_iter().next().unwrap();
    // The successor is live: its access token works and it rotates in turn.
    app.get("/api/v1/auth/me", &access).await.expect(200);
    let next = app
        .send_at(
            &nodes[2],
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh": successor})),
        )
        .await
        .expect(200);
    let newest = next.body["access"].as_str().unwrap().to_owned();

    // After the leeway, the spent token is theft again: the session ends.
    app.clock.advance(TimeDelta::seconds(11));
    let newest = app.renew(&newest);
    app.public(Method::POST, "/api/v1/auth/refresh", Some(json!({"refresh": token})))
        .await
        .expect(401);
    app.get("/api/v1/auth/me", &newest).await.expect(401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_no_leeway_any_second_use_of_a_refresh_token_ends_the_session() {
    let app = spawn_app_with(|c| c.refresh_reuse_leeway = TimeDelta::zero()).await;
    let nodes = app.nodes(2).await;
    let token = register(&app, "strict").await.body["refresh"]
        .as_str()
        .unwrap()
        .to_owned();
    let replies = at_once(&app, &nodes, refreshes(&token, 6)).await;
    let won: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(won.len(), 1, "exactly one rotation");
    assert_eq!(replies.iter().filter(|r| r.status == 401).count(), 5);
    // The repeats were taken for theft: even the winner's pair is revoked.
    let access = won[0].body["access"].as_str().unwrap();
    app.get("/api/v1/auth/me", access).await.expect(401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_simultaneous_wrong_passwords_on_three_nodes_lock_the_account_once() {
    let app = spawn_app().await;
    let nodes = app.nodes(2).await;
    register(&app, "target").await;
    let attempts = (0..10).map(|_| {
        let body = json!({"username": "target", "password": "not the passphrase"});
        (Method::POST, "/api/v1/auth/login".to_owned(), None, Some(body))
    });
    let replies = at_once(&app, &nodes, attempts).await;
    assert!(replies.iter().all(|r| r.status == 401));
    assert_eq!(
        app.count_where("users", "username = 'target' AND lockouts = 1").await,
        1,
        "one lockout"
    );
    // Locked for the 15 minutes of one lockout, not the 30 of two.
    app.clock.advance(TimeDelta::minutes(14));
    app.try_login("target", "a long passphrase").await.expect(401);
    app.clock.advance(TimeDelta::minutes(1) + TimeDelta::seconds(1));
    app.try_login("target", "a long passphrase").await.expect(200);
}

/// Poll `GET /auth/me` with `token` on `node` until it is refused; how long that took.
async fn until_refused(app: &TestApp, node: &str, token: &str) -> std::time::Duration {
    let started = std::time::Instant::now();
    loop {
        let reply = app
            .send_at(node, Method::GET, "/api/v1/auth/me", Some(token), None)
            .await;
        if reply.status.as_u16() == 401 {
            return started.elapsed();
        }
        assert_eq!(reply.status.as_u16(), 200, "{:?}", reply.body);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "never refused");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Each node keeps accounts and sessions in memory (no database query per
/// request): a logout, a deactivation and a role change on one node end the
/// tokens on another within a second (DESIGN §7; the poll bound, met by
/// LISTEN/NOTIFY on PostgreSQL long before), and at once on the node that
/// made the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revocations_on_one_node_end_tokens_on_another_within_a_second() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let nodes = app.nodes(1).await;
    let other = &nodes[1];
    let me = |token: String| {
        let app = &app;
        async move {
            app.send_at(other, Method::GET, "/api/v1/auth/me", Some(&token), None)
                .await
                .expect(200)
        }
    };

    // Logout.
    let (_, patient) = app.patient().await;
    me(patient.clone()).await; // now in the other node's view
    app.post("/api/v1/auth/logout", &patient, json!({})).await.expect(204);
    app.get("/api/v1/auth/me", &patient).await.expect(401);
    let logout = until_refused(&app, other, &patient).await;

    // Deactivation by an administrator.
    let (nurse_id, nurse) = app.staff(&admin, "nurse", None).await;
    me(nurse.clone()).await;
    app.post(&format!("/api/v1/users/{nurse_id}/deactivate"), &admin, json!({}))
        .await
        .expect(200);
    app.get("/api/v1/auth/me", &nurse).await.expect(401);
    let deactivation = until_refused(&app, other, &nurse).await;

    // A role change.
    let (clerk_id, clerk) = app.staff(&admin, "receptionist", None).await;
    me(clerk.clone()).await;
    app.put(
        &format!("/api/v1/users/{clerk_id}/role"),
        &admin,
        json!({"role": "nurse"}),
    )
    .await
    .expect(200);
    app.get("/api/v1/auth/me", &clerk).await.expect(401);
    let role_change = until_refused(&app, other, &clerk).await;

    for (what, took) in [
        ("logout", logout),
        ("deactivation", deactivation),
        ("role change", role_change),
    ] {
        assert!(
            took < std::time::Duration::from_secs(1),
            "{what}: refused after {took:?}"
        );
    }
}

/// A node books against the doctor's rules it holds in memory, but checks
/// under the doctor's lock that they are the committed ones: time off added
/// on another node a moment before refuses the booking there at once, however
/// late the other node hears of the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_booking_on_another_node_sees_time_off_committed_a_moment_before() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", &[("sunday", "09:00", "11:00")]).await;
    let (_, patient) = app.patient().await;
    let nodes = app.nodes(1).await;
    let other = &nodes[1];
    let availability = format!("/api/v1/doctors/{}/availability?from=2026-11-29", clinic.doctor);
    let before = app
        .send_at(other, Method::GET, &availability, Some(&patient), None)
        .await
        .expect(200);
    assert!(before.body["slots"].as_array().unwrap().len() >= 4, "{:?}", before.body);
    app.post(
        &format!("/api/v1/doctors/{}/time-off", clinic.doctor),
        &clinic.doctor_token,
        json!({"start": "2026-11-29T03:00:00Z", "end": "2026-11-29T05:00:00Z", "reason": "Ward round"}),
    )
    .await
    .expect(201);
    let booking = json!({"doctor_id": clinic.doctor, "start": "2026-11-29T03:30:00Z"});
    app.send_at(
        other,
        Method::POST,
        "/api/v1/appointments",
        Some(&patient),
        Some(booking),
    )
    .await
    .expect_rule(422, "time_off");
    assert_eq!(app.count("appointments").await, 0);
}
