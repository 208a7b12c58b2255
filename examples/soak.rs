//! Mixed-load soak against running Carebook nodes with the demo data
//! (`scripts/soak.sh` starts them): many clients at once search doctors, read
//! availability, book free slots, list and move appointments through their
//! lifecycle, each request sent to the next node in turn. At the end every
//! doctor's live appointments are checked for overlaps.
//!
//! Fails (exit 1) on any 5xx, any transport error, any status the operation
//! cannot legitimately answer, or any overlap; prints counts and latencies.
//!
//! ```sh
//! cargo run --release --example soak -- --node http://127.0.0.1:8080 --seconds 300 --clients 48
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Parser;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
struct Args {
    /// Base URL of a node; give it once per node.
    #[arg(long = "node", required = true)]
    nodes: Vec<String>,
    /// How long the load runs.
    #[arg(long, default_value_t = 300)]
    seconds: u64,
    /// Concurrent clients (one in eight is the receptionist, one in eight a doctor).
    #[arg(long, default_value_t = 48)]
    clients: usize,
    /// Password of the demo accounts.
    #[arg(long, default_value = "carebook-demo")]
    password: String,
}

/// What a client does; each has the statuses it may legitimately get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Login,
    Search,
    Availability,
    Book,
    List,
    Confirm,
    CheckIn,
    Cancel,
    Reschedule,
}

impl Op {
    fn expected(self, status: StatusCode) -> bool {
        let s = status.as_u16();
        match self {
            Op::Login | Op::Search | Op::Availability | Op::List => s == 200,
            // Taken meanwhile (409) or a rule such as minimum notice crossed (422).
            Op::Book => matches!(s, 201 | 409 | 422),
            // Already moved on by another client, outside the check-in or
            // cancellation window (409), or a booking rule (422).
            Op::Confirm | Op::CheckIn | Op::Cancel | Op::Reschedule => matches!(s, 200 | 409 | 422),
        }
    }
}

#[derive(Default)]
struct Stats {
    by_op: BTreeMap<Op, BTreeMap<u16, u64>>,
    latency_us: BTreeMap<Op, Vec<u32>>,
    server_errors: u64,
    transport_errors: u64,
    unexpected: u64,
    examples: Vec<String>,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        for (op, statuses) in other.by_op {
            let mine = self.by_op.entry(op).or_default();
            for (status, n) in statuses {
                *mine.entry(status).or_default() += n;
            }
        }
        for (op, mut l) in other.latency_us {
            self.latency_us.entry(op).or_default().append(&mut l);
        }
        self.server_errors += other.server_errors;
        self.transport_errors += other.transport_errors;
        self.unexpected += other.unexpected;
        self.examples.extend(other.examples);
        self.examples.truncate(20);
    }
}

struct Load {
    http: Client,
    nodes: Vec<String>,
    next: AtomicUsize,
}

impl Load {
    /// Send to the next node in turn; record the outcome. `None` on a failure
    /// already counted.
    async fn call(
        &self,
        stats: &mut Stats,
        op: Op,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Option<(StatusCode, Value)> {
        let node = &self.nodes[self.next.fetch_add(1, Ordering::Relaxed) % self.nodes.len()];
        let mut request = self.http.request(method, format!("{node}/api/v1{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        if op == Op::Book {
            request = request.header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
        }
        let started = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                stats.transport_errors += 1;
                stats.examples.push(format!("{op:?} {path}: transport error {error}"));
                return None;
            }
        };
        let status = response.status();
        let value = response.json::<Value>().await.unwrap_or(Value::Null);
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        stats.latency_us.entry(op).or_default().push(micros);
        *stats.by_op.entry(op).or_default().entry(status.as_u16()).or_default() += 1;
        if status.is_server_error() {
            stats.server_errors += 1;
            stats
                .examples
                .push(format!("{op:?} {path} on {node}: {status} {}", value["type"]));
        } else if !op.expected(status) {
            stats.unexpected += 1;
            stats.examples.push(format!(
                "{op:?} {path} on {node}: unexpected {status} {} {}",
                value["rule"], value["errors"]
            ));
        }
        Some((status, value))
    }

    async fn login(&self, stats: &mut Stats, username: &str, password: &str) -> Option<String> {
        let body = json!({"username": username, "password": password});
        let (status, value) = self
            .call(stats, Op::Login, Method::POST, "/auth/login", None, Some(body))
            .await?;
        (status == StatusCode::OK).then(|| value["access"].as_str().unwrap_or_default().to_owned())
    }
}

#[derive(Clone, Copy)]
enum Role {
    Patient,
    Reception,
    Doctor,
}

const SEARCHES: [&str; 8] = [
    "?specialty=CARD",
    "?search=rahman",
    "?ordering=-years_of_experience&page_size=10",
    "?min_experience=10&ordering=consultation_fee",
    "?search=khan&page=2",
    "?specialty=Dermatology&ordering=last_name",
    "?max_fee=1000",
    "",
];

async fn client(
    load: Arc<Load>,
    index: usize,
    deadline: Instant,
    password: String,
    doctors: Arc<Vec<String>>,
) -> Stats {
    let mut stats = Stats::default();
    let (role, username) = match index % 8 {
        6 => (Role::Reception, "reception.dhaka".to_owned()),
        7 => (Role::Doctor, format!("doctor{:02}", 1 + (index / 8) % 32)),
        _ => (Role::Patient, format!("patient{:03}", 1 + index % 200)),
    };
    let Some(token) = load.login(&mut stats, &username, &password).await else {
        return stats;
    };
    let mut rng = StdRng::from_os_rng();
    let mut slots: Vec<(String, String)> = Vec::new(); // (doctor, start)
    let mut mine: Vec<(String, String)> = Vec::new(); // (appointment, doctor)
    while Instant::now() < deadline {
        let roll = rng.random_range(0..100);
        match role {
            Role::Patient if roll < 30 => {
                let path = format!("/doctors{}", SEARCHES.choose(&mut rng).unwrap());
                load.call(&mut stats, Op::Search, Method::GET, &path, Some(&token), None)
                    .await;
            }
            Role::Patient if roll < 60 || (roll < 80 && slots.is_empty()) => {
                let doctor = doctors.choose(&mut rng).unwrap();
                let from = Utc::now().date_naive();
                let to = from + chrono::TimeDelta::days(13);
                let path = format!("/doctors/{doctor}/availability?from={from}&to={to}");
                if let Some((StatusCode::OK, value)) = load
                    .call(&mut stats, Op::Availability, Method::GET, &path, Some(&token), None)
                    .await
                {
                    slots = value["slots"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s["start"].as_str())
                        .map(|start| (doctor.clone(), start.to_owned()))
                        .collect();
                }
            }
            Role::Patient if roll < 80 => {
                let (doctor, start) = slots.swap_remove(rng.random_range(0..slots.len()));
                let body = json!({"doctor_id": doctor, "start": start, "reason": "Soak test visit"});
                if let Some((StatusCode::CREATED, value)) = load
                    .call(
                        &mut stats,
                        Op::Book,
                        Method::POST,
                        "/appointments",
                        Some(&token),
                        Some(body),
                    )
                    .await
                {
                    mine.extend(value["id"].as_str().map(|id| (id.to_owned(), doctor)));
                }
            }
            Role::Patient
                if roll < 88
                    && !mine.is_empty()
                    && slots
                        .first()
                        .is_some_and(|(doctor, _)| mine.iter().any(|(_, d)| d == doctor)) =>
            {
                // Move one of this doctor's appointments to another of their free slots.
                let (doctor, start) = slots.swap_remove(rng.random_range(0..slots.len()));
                let Some((id, _)) = mine.iter().find(|(_, d)| *d == doctor) else {
                    continue;
                };
                let path = format!("/appointments/{id}/reschedule");
                let body = json!({"start": start});
                load.call(
                    &mut stats,
                    Op::Reschedule,
                    Method::POST,
                    &path,
                    Some(&token),
                    Some(body),
                )
                .await;
            }
            Role::Patient if roll < 94 && !mine.is_empty() => {
                let (id, _) = mine.swap_remove(rng.random_range(0..mine.len()));
                let path = format!("/appointments/{id}/cancel");
                let body = json!({"reason": "Plans changed"});
                load.call(&mut stats, Op::Cancel, Method::POST, &path, Some(&token), Some(body))
                    .await;
            }
            Role::Patient => {
                let path = "/appointments?ordering=-start&page_size=20";
                load.call(&mut stats, Op::List, Method::GET, path, Some(&token), None)
                    .await;
            }
            Role::Doctor => {
                let path = "/appointments?status=confirmed,checked_in&ordering=start&page_size=20";
                load.call(&mut stats, Op::List, Method::GET, path, Some(&token), None)
                    .await;
            }
            Role::Reception => {
                let (op, status) = if roll % 2 == 0 {
                    (Op::Confirm, "pending")
                } else {
                    (Op::CheckIn, "confirmed")
                };
                let path = format!(
                    "/appointments?status={status}&page_size=20&from={}",
                    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                let Some((StatusCode::OK, value)) = load
                    .call(&mut stats, Op::List, Method::GET, &path, Some(&token), None)
                    .await
                else {
                    continue;
                };
                let ids: Vec<&str> = value["results"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a["id"].as_str())
                    .collect();
                if let Some(id) = ids.choose(&mut rng) {
                    let verb = if op == Op::Confirm { "confirm" } else { "check-in" };
                    let path = format!("/appointments/{id}/{verb}");
                    load.call(&mut stats, op, Method::POST, &path, Some(&token), None).await;
                }
            }
        }
    }
    stats
}

/// Every doctor's live appointments, checked pairwise for overlap.
async fn overlaps(load: &Load, stats: &mut Stats, admin: &str, doctors: &[String]) -> (usize, usize) {
    let (mut checked, mut overlapping) = (0, 0);
    for doctor in doctors {
        let mut live: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        for page in 1.. {
            let path = format!(
                "/appointments?doctor={doctor}&status=pending,confirmed,checked_in,in_progress&page_size=100&page={page}"
            );
            let Some((StatusCode::OK, value)) = load.call(stats, Op::List, Method::GET, &path, Some(admin), None).await
            else {
                break;
            };
            for a in value["results"].as_array().into_iter().flatten() {
                let at = |k: &str| a[k].as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok());
                if let (Some(start), Some(end)) = (at("start"), at("end")) {
                    live.push((start, end));
                }
            }
            if value["next"].is_null() {
                break;
            }
        }
        live.sort();
        checked += live.len();
        overlapping += live.windows(2).filter(|w| w[1].0 < w[0].1).count();
    }
    (checked, overlapping)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

#[tokio::main]
async fn main() {
    // The TLS provider reqwest is built with (ring, as the server's).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    let load = Arc::new(Load {
        http: Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(args.clients)
            .build()
            .expect("HTTP client"),
        nodes: args.nodes.iter().map(|n| n.trim_end_matches('/').to_owned()).collect(),
        next: AtomicUsize::new(0),
    });
    let mut setup = Stats::default();
    let admin = load
        .login(&mut setup, "admin", &args.password)
        .await
        .expect("admin login (is the demo data loaded?)");
    let mut doctors = Vec::new();
    for page in 1..=4 {
        let path = format!("/doctors?page_size=100&page={page}");
        let Some((StatusCode::OK, value)) = load
            .call(&mut setup, Op::Search, Method::GET, &path, Some(&admin), None)
            .await
        else {
            break;
        };
        doctors.extend(
            value["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["id"].as_str().map(str::to_owned)),
        );
        if value["next"].is_null() {
            break;
        }
    }
    assert!(!doctors.is_empty(), "no doctors: load the demo data first");
    let doctors = Arc::new(doctors);
    println!(
        "soak: {} clients for {} s against {} node(s), {} doctors",
        args.clients,
        args.seconds,
        load.nodes.len(),
        doctors.len()
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.clients)
        .map(|i| {
            tokio::spawn(client(
                load.clone(),
                i,
                deadline,
                args.password.clone(),
                doctors.clone(),
            ))
        })
        .collect();
    let mut stats = setup;
    for task in tasks {
        stats.merge(task.await.expect("client task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (checked, overlapping) = overlaps(&load, &mut stats, &admin, &doctors).await;

    let total: u64 = stats.by_op.values().flat_map(|s| s.values()).sum();
    println!("{total} requests in {elapsed:.1} s ({:.0}/s)", total as f64 / elapsed);
    println!(
        "{:<13} {:>8} {:>9} {:>9}  statuses",
        "operation", "requests", "p50 ms", "p99 ms"
    );
    for (op, statuses) in &stats.by_op {
        let mut l = stats.latency_us.get(op).cloned().unwrap_or_default();
        l.sort_unstable();
        let counts: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        println!(
            "{:<13} {:>8} {:>9.2} {:>9.2}  {}",
            format!("{op:?}"),
            l.len(),
            percentile(&l, 0.5),
            percentile(&l, 0.99),
            counts.join(" ")
        );
    }
    println!("live appointments checked for overlap: {checked}, overlapping pairs: {overlapping}");
    println!(
        "server errors: {}, transport errors: {}, unexpected statuses: {}",
        stats.server_errors, stats.transport_errors, stats.unexpected
    );
    for example in &stats.examples {
        println!("  {example}");
    }
    if stats.server_errors + stats.transport_errors + stats.unexpected > 0 || overlapping > 0 {
        std::process::exit(1);
    }
}
