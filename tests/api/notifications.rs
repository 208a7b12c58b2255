//! Notifications: the job queue, email to a real SMTP server (aiosmtpd),
//! reminders exactly once through moves and cancellations, retries, leases,
//! in-app notifications, and the administrators' view of the queue.

use chrono::TimeDelta;
use serde_json::{Value, json};
use uuid::Uuid;

use carebook::clock::Clock;
use carebook::config::Secret;
use carebook::db::jobs;
use carebook::domain::JobStatus;
use carebook::jobs::worker::{LEASE, backoff};

use crate::helpers::{
    EventStream, SmtpServer, TestApp, WebhookReceiver, at, parse_ics, reference_signature, spawn_app, spawn_app_with,
};

const WEEKLY: &[(&str, &str, &str)] = &[("sunday", "09:00", "13:00"), ("monday", "09:00", "13:00")];
/// Sunday 29 November 2026, 09:00 in Dhaka.
const SUNDAY_9: &str = "2026-11-29T03:00:00Z";
/// Monday 30 November 2026, 09:30 in Dhaka.
const MONDAY_930: &str = "2026-11-30T03:30:00Z";

/// A test server whose mail goes to a real SMTP server.
async fn with_smtp() -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url.clone();
    let app = spawn_app_with(|c| c.smtp_url = Some(Secret::new(url))).await;
    (app, smtp)
}

/// Sign a patient up with an email address: (patient id, token, address).
pub async fn patient_with_email(app: &TestApp) -> (Uuid, String, String) {
    let name = format!("pat{}", &Uuid::new_v4().simple().to_string()[..10]);
    let email = format!("{name}@mail.test");
    let reply = app
        .public(
            reqwest::Method::POST,
            "/api/v1/auth/register",
            Some(
                json!({"username": name, "password": "patient passphrase", "first_name": "Amina",
                        "last_name": "Khatun", "email": email}),
            ),
        )
        .await
        .expect(201);
    let patient = reply.body["user"]["patient_id"].as_str().unwrap().parse().unwrap();
    (patient, reply.body["access"].as_str().unwrap().to_owned(), email)
}

/// The jobs about `appointment` of `kind`, as the admin API lists them.
async fn jobs_of(app: &TestApp, admin: &str, appointment: Uuid, kind: &str) -> Vec<Value> {
    let page = app
        .get(
            &format!("/api/v1/jobs?kind={kind}&appointment={appointment}&page_size=100"),
            &app.renew(admin),
        )
        .await
        .expect(200);
    page.body["results"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_booking_mails_its_confirmation_and_one_reminder_follows_every_move() {
    let (app, smtp) = with_smtp().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient, email) = patient_with_email(&app).await;
    let admin = app.admin().await;

    let id = app.book(&patient, clinic.doctor, SUNDAY_9, None).await.expect(201).id();
    assert_eq!(app.run_jobs().await, 1, "the confirmation is due; the reminder is not");
    let mails = smtp.messages_to(&email);
    assert_eq!(mails.len(), 1);
    let confirmation = &mails[0];
    assert!(
        confirmation.subject.starts_with("Appointment booked"),
        "{}",
        confirmation.subject
    );
    assert!(
        confirmation
            .text
            .contains("Sunday 29 November 2026, 09:00 (Asia/Dhaka)"),
        "local time with its zone: {}",
        confirmation.text
    );
    assert!(confirmation.html.contains("<table"));
    let (method, ics) = confirmation.calendar.clone().expect("a text/calendar part");
    assert_eq!(method, "REQUEST");
    let calendar = parse_ics(&ics);
    assert_eq!(calendar["method"], "REQUEST");
    assert_eq!(calendar["crlf"], true);
    assert_eq!(calendar["vobject_events"], 1);
    let event = &calendar["events"][0];
    assert_eq!(event["uid"], format!("{id}@carebook"));
    assert_eq!(event["sequence"], 1);
    assert_eq!(event["start"], "2026-11-29T03:00:00+00:00");
    assert_eq!(event["end"], "2026-11-29T03:30:00+00:00");

    let reminders = jobs_of(&app, &admin, id, "appointment_reminder").await;
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0]["status"], "queued");
    assert_eq!(reminders[0]["run_at"], "2026-11-28T03:00:00Z", "24 hours before");
    assert_eq!(reminders[0]["payload"]["appointment_id"], id.to_string());
    assert_eq!(reminders[0]["payload"]["offset_hours"], 24);

    // Moving it moves the reminder: the old one is cancelled in the same transaction.
    app.post(
        &format!("/api/v1/appointments/{id}/reschedule"),
        &patient,
        json!({"start": MONDAY_930}),
    )
    .await
    .expect(200);
    assert_eq!(app.run_jobs().await, 1);
    let moved = smtp.messages_to(&email).pop().unwrap();
    assert!(moved.subject.starts_with("Appointment moved"), "{}", moved.subject);
    assert!(
        moved
            .text
            .contains("It was on Sunday 29 November 2026, 09:00 (Asia/Dhaka)")
    );
    assert!(moved.text.contains("Monday 30 November 2026, 09:30 (Asia/Dhaka)"));
    let calendar = parse_ics(&moved.calendar.unwrap().1);
    assert_eq!(calendar["events"][0]["sequence"], 2, "SEQUENCE grows with every change");
    assert_eq!(calendar["events"][0]["start"], "2026-11-30T03:30:00+00:00");
    let reminders = jobs_of(&app, &admin, id, "appointment_reminder").await;
    let status_at = |at: &str| {
        reminders
            .iter()
            .find(|r| r["run_at"] == at)
            .map(|r| r["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status_at("2026-11-28T03:00:00Z").as_deref(), Some("cancelled"));
    assert_eq!(status_at("2026-11-29T03:30:00Z").as_deref(), Some("queued"));

    // The old reminder's time passes: nothing is sent.
    app.clock.set(at("2026-11-28T03:00:01Z"));
    assert_eq!(app.run_jobs().await, 0);
    // The new one's comes: one reminder, once, with an in-app twin.
    app.clock.set(at("2026-11-29T03:30:00Z"));
    assert_eq!(app.run_jobs().await, 1);
    assert_eq!(app.run_jobs().await, 0, "nothing is due twice");
    let reminder = smtp.messages_to(&email).pop().unwrap();
    assert!(reminder.subject.starts_with("Reminder"), "{}", reminder.subject);
    assert!(reminder.text.contains("in 24 hours"));
    assert!(reminder.calendar.is_none());
    let patient = app.renew(&patient);
    let inbox = app.get("/api/v1/notifications", &patient).await.expect(200);
    assert!(
        inbox.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "appointment_reminder")
    );
    let reminder_job = jobs_of(&app, &admin, id, "appointment_reminder")
        .await
        .into_iter()
        .find(|r| r["status"] == "succeeded")
        .unwrap();
    let detail = app
        .get(
            &format!("/api/v1/jobs/{}", reminder_job["id"].as_str().unwrap()),
            &app.renew(&admin),
        )
        .await
        .expect(200);
    let delivery = &detail.body["deliveries"][0];
    assert_eq!(delivery["outcome"], "sent");
    assert_eq!(delivery["recipient"], email);
    assert!(delivery["detail"].as_str().unwrap().starts_with("250"), "{delivery}");
    assert_eq!(delivery["message_id"], reminder.message_id);

    // Cancelling sends the cancellation, and nothing after it.
    app.post(
        &format!("/api/v1/appointments/{id}/cancel"),
        &patient,
        json!({"reason": "Feeling better"}),
    )
    .await
    .expect(200);
    assert_eq!(app.run_jobs().await, 1);
    let cancelled = smtp.messages_to(&email).pop().unwrap();
    assert!(cancelled.subject.starts_with("Appointment cancelled"));
    assert!(cancelled.text.contains("Reason: Feeling better"));
    let (method, ics) = cancelled.calendar.unwrap();
    assert_eq!(method, "CANCEL");
    let calendar = parse_ics(&ics);
    assert_eq!(calendar["method"], "CANCEL");
    assert_eq!(calendar["events"][0]["status"], "CANCELLED");
    assert_eq!(calendar["events"][0]["sequence"], 3);
    app.clock.set(at("2026-12-01T00:00:00Z"));
    assert_eq!(app.run_jobs().await, 0);
    assert_eq!(
        smtp.messages_to(&email).len(),
        4,
        "booked, moved, reminded, cancelled: once each"
    );
}

#[tokio::test]
async fn reminders_follow_the_setting_skip_past_offsets_and_end_with_the_visit() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    app.set_setting(&clinic.admin, "notifications.reminder_hours", json!([24, 2]))
        .await;
    let (patient_id, _) = app.patient().await;
    let reception = &clinic.receptionist;

    // Now is Sunday 22 November, 06:00 in Dhaka: 11:00 is inside the 24-hour window.
    let today = app
        .book(reception, clinic.doctor, "2026-11-22T05:00:00Z", Some(patient_id))
        .await
        .expect(201)
        .id();
    let tomorrow = app
        .book(reception, clinic.doctor, "2026-11-23T03:00:00Z", Some(patient_id))
        .await
        .expect(201)
        .id();
    let admin = &clinic.admin;
    let today_reminders = jobs_of(&app, admin, today, "appointment_reminder").await;
    assert_eq!(today_reminders.len(), 1, "no reminder for the offset already past");
    assert_eq!(today_reminders[0]["run_at"], "2026-11-22T03:00:00Z");
    assert_eq!(jobs_of(&app, admin, tomorrow, "appointment_reminder").await.len(), 2);

    // Cancelling one, checking in the other: their queued reminders are cancelled.
    app.post(
        &format!("/api/v1/appointments/{today}/cancel"),
        reception,
        json!({"reason": "Doctor away"}),
    )
    .await
    .expect(200);
    app.drive(reception, tomorrow, at("2026-11-23T03:00:00Z"), &["check-in"])
        .await;
    for id in [today, tomorrow] {
        let reminders = jobs_of(&app, admin, id, "appointment_reminder").await;
        assert!(reminders.iter().all(|r| r["status"] == "cancelled"), "{reminders:?}");
    }
    // A retry of a cancelled reminder is allowed only by an admin, and its
    // job then finds the appointment ended: it is cancelled again, not sent.
    let job = jobs_of(&app, admin, today, "appointment_reminder").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/api/v1/jobs/{job}/retry"), reception, json!({}))
        .await
        .expect(403);
    app.post(&format!("/api/v1/jobs/{job}/retry"), admin, json!({}))
        .await
        .expect(200);
    app.run_jobs().await;
    let after = app.get(&format!("/api/v1/jobs/{job}"), admin).await.expect(200);
    assert_eq!(after.body["status"], "cancelled");
    assert!(after.body["last_error"].as_str().unwrap().contains("superseded"));
    assert_eq!(after.body["deliveries"], json!([]));
}

#[tokio::test]
async fn mail_to_a_server_that_is_down_is_retried_with_backoff_and_the_booking_stands() {
    let closed = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let app = spawn_app_with(|c| c.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{closed}")))).await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient, _) = patient_with_email(&app).await;
    let admin = &clinic.admin;
    let id = app.book(&patient, clinic.doctor, SUNDAY_9, None).await.expect(201).id();

    let job_id = jobs_of(&app, admin, id, "appointment_confirmation").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut attempts = 0;
    loop {
        assert_eq!(app.run_jobs().await, 1);
        attempts += 1;
        let job = app
            .get(&format!("/api/v1/jobs/{job_id}"), &app.renew(admin))
            .await
            .expect(200);
        assert_eq!(job.body["attempts"], attempts);
        assert!(
            job.body["last_error"]
                .as_str()
                .unwrap()
                .contains("could not be reached")
        );
        assert_eq!(job.body["deliveries"].as_array().unwrap().len(), attempts as usize);
        assert_eq!(job.body["deliveries"][attempts as usize - 1]["outcome"], "failed");
        if job.body["status"] == "dead" {
            break;
        }
        assert_eq!(job.body["status"], "queued");
        let wait = backoff(attempts);
        assert_eq!(
            job.body["run_at"],
            (app.clock.now() + wait).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        );
        assert_eq!(app.run_jobs().await, 0, "not before its time");
        app.clock.advance(wait);
    }
    assert_eq!(attempts, carebook::notifications::MAIL_ATTEMPTS);
    // The appointment never noticed.
    let appointment = app
        .get(&format!("/api/v1/appointments/{id}"), &app.renew(&patient))
        .await
        .expect(200);
    assert_eq!(appointment.body["status"], "confirmed");
    let admin = app.renew(admin);
    let dead = app.get("/api/v1/jobs?status=dead", &admin).await.expect(200);
    assert_eq!(dead.body["count"], 1);
    // An administrator queues it again; a queued job cannot be retried.
    let retried = app
        .post(&format!("/api/v1/jobs/{job_id}/retry"), &admin, json!({}))
        .await
        .expect(200);
    assert_eq!(retried.body["status"], "queued");
    assert_eq!(retried.body["attempts"], 0);
    app.post(&format!("/api/v1/jobs/{job_id}/retry"), &admin, json!({}))
        .await
        .expect_rule(409, "job_not_retryable");
    app.post(&format!("/api/v1/jobs/{}/retry", Uuid::new_v4()), &admin, json!({}))
        .await
        .expect(404);
    app.get("/api/v1/jobs?status=sleeping", &admin).await.expect(400);
}

#[tokio::test]
async fn without_smtp_mail_is_logged_as_not_sent() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient, email) = patient_with_email(&app).await;
    let id = app.book(&patient, clinic.doctor, SUNDAY_9, None).await.expect(201).id();
    assert_eq!(app.run_jobs().await, 1);
    let job = &jobs_of(&app, &clinic.admin, id, "appointment_confirmation").await[0];
    assert_eq!(job["status"], "succeeded");
    let detail = app
        .get(&format!("/api/v1/jobs/{}", job["id"].as_str().unwrap()), &clinic.admin)
        .await
        .expect(200);
    let delivery = &detail.body["deliveries"][0];
    assert_eq!(delivery["outcome"], "not_sent");
    assert_eq!(delivery["recipient"], email);
    assert!(delivery["detail"].as_str().unwrap().contains("SMTP is not configured"));
}

#[tokio::test]
async fn a_worker_that_dies_mid_job_loses_nothing_and_sends_once() {
    let (app, smtp) = with_smtp().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient, email) = patient_with_email(&app).await;
    app.book(&patient, clinic.doctor, SUNDAY_9, None).await.expect(201);

    // A node claims the confirmation and dies before it finishes.
    let now = app.clock.now();
    let tx = app.state.db.begin_write().await.unwrap();
    let claimed = jobs::claim(&tx, "node-that-dies", now, LEASE, 10).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(app.run_jobs().await, 0, "leased jobs are nobody else's");
    // Its lease expires; another node takes the job over…
    app.clock.advance(LEASE + TimeDelta::seconds(1));
    let tx = app.state.db.begin_write().await.unwrap();
    let taken = jobs::claim(&tx, "node-that-took-over", app.clock.now(), LEASE, 10)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(taken.len(), 1);
    // …and the dead node's late word changes nothing.
    let tx = app.state.db.begin_write().await.unwrap();
    assert!(
        !jobs::finish(&tx, &claimed[0], JobStatus::Succeeded, None, app.clock.now())
            .await
            .unwrap(),
        "a lease that was lost finishes nothing"
    );
    drop(tx);
    let job = jobs::find(app.state.db.conn(), claimed[0].job.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(job.lease_owner.as_deref(), Some("node-that-took-over"));
    // That node dies too; a live worker finishes it, and the patient gets one email.
    app.clock.advance(LEASE + TimeDelta::seconds(1));
    assert_eq!(app.run_jobs().await, 1, "an expired lease is taken over");
    assert_eq!(smtp.messages_to(&email).len(), 1);
    let job = jobs::find(app.state.db.conn(), claimed[0].job.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.attempts, 3);
}

#[tokio::test]
async fn three_nodes_send_each_due_reminder_once() {
    let (app, smtp) = with_smtp().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let mut workers = Vec::new();
    for _ in 0..3 {
        let db = carebook::db::Db::connect(app.database_url(), Some(4)).await.unwrap();
        let (_, state) = app.node_with(db, |_| {}).await;
        workers.push(carebook::jobs::worker::Worker::new(state, 2).unwrap());
    }
    let mut patients = Vec::new();
    for slot in 0..6 {
        let (_, token, email) = patient_with_email(&app).await;
        let start = at(SUNDAY_9) + TimeDelta::minutes(30 * slot);
        let id = app
            .book(&token, clinic.doctor, &start.to_rfc3339(), None)
            .await
            .expect(201)
            .id();
        patients.push((id, email));
    }
    // One node dies holding two confirmations; the others take them over later.
    let tx = app.state.db.begin_write().await.unwrap();
    jobs::claim(&tx, "node-that-dies", app.clock.now(), LEASE, 2)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Past every reminder's time and the dead node's lease: three nodes race for the jobs.
    app.clock.set(at(SUNDAY_9) - TimeDelta::hours(1));
    let (a, b, c) = tokio::join!(workers[0].drain(), workers[1].drain(), workers[2].drain());
    let ran = a.unwrap() + b.unwrap() + c.unwrap();
    assert_eq!(ran, 12, "six confirmations and six reminders, each run once");
    for (id, email) in &patients {
        let mails = smtp.messages_to(email);
        let subjects: Vec<&str> = mails.iter().map(|m| m.subject.split(':').next().unwrap()).collect();
        assert_eq!(subjects.len(), 2, "{id}: {subjects:?}");
        assert!(
            subjects.contains(&"Appointment booked") && subjects.contains(&"Reminder"),
            "{subjects:?}"
        );
    }
    assert_eq!(app.count_where("deliveries", "outcome = 'sent'").await, 12);
    assert_eq!(app.count_where("jobs", "status = 'succeeded'").await, 12);
}

#[tokio::test]
async fn in_app_notifications_are_ones_own_unread_first() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;
    let (other_id, other) = app.patient().await;
    let id = app.book(&patient, clinic.doctor, SUNDAY_9, None).await.expect(201).id();
    app.book(&clinic.receptionist, clinic.doctor, MONDAY_930, Some(other_id))
        .await
        .expect(201);

    let inbox = app.get("/api/v1/notifications", &patient).await.expect(200);
    assert_eq!(inbox.body["count"], 1);
    assert_eq!(inbox.body["unread_count"], 1);
    let mine = &inbox.body["results"][0];
    assert_eq!(mine["kind"], "appointment_booked");
    assert_eq!(mine["appointment_id"], id.to_string());
    assert!(
        mine["message"]
            .as_str()
            .unwrap()
            .contains("Sunday 29 November 2026, 09:00 (Asia/Dhaka)")
    );
    let doctor = app.get("/api/v1/notifications", &clinic.doctor_token).await.expect(200);
    assert_eq!(doctor.body["count"], 2, "the doctor hears of both bookings");
    assert_eq!(doctor.body["results"][0]["title"], "New booking");

    // Someone else's notification does not exist for them.
    let notification = mine["id"].as_str().unwrap();
    app.post(&format!("/api/v1/notifications/{notification}/read"), &other, json!({}))
        .await
        .expect(404);
    app.post(
        &format!("/api/v1/notifications/{}/read", Uuid::new_v4()),
        &patient,
        json!({}),
    )
    .await
    .expect(404);
    let read = app
        .post(
            &format!("/api/v1/notifications/{notification}/read"),
            &patient,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(read.body["read"], true);

    // Check-in tells the doctor; read ones go after unread ones.
    app.drive(&clinic.receptionist, id, at(SUNDAY_9), &["check-in"]).await;
    let doctor = app
        .get("/api/v1/notifications", &app.renew(&clinic.doctor_token))
        .await
        .expect(200);
    assert_eq!(doctor.body["unread_count"], 3);
    assert_eq!(doctor.body["results"][0]["kind"], "patient_checked_in");
    app.post(
        "/api/v1/notifications/read-all",
        &app.renew(&clinic.doctor_token),
        json!({}),
    )
    .await
    .expect(200);
    let doctor = app
        .get("/api/v1/notifications?unread=true", &app.renew(&clinic.doctor_token))
        .await
        .expect(200);
    assert_eq!(doctor.body["count"], 0);
    assert_eq!(doctor.body["unread_count"], 0);
    let patient = app.renew(&patient);
    app.book(&patient, clinic.doctor, "2026-11-30T04:30:00Z", None)
        .await
        .expect(201);
    let inbox = app.get("/api/v1/notifications", &patient).await.expect(200);
    assert_eq!(inbox.body["results"][0]["read"], false, "unread first");
    assert_eq!(inbox.body["results"][1]["read"], true);
}

#[tokio::test]
async fn reception_hears_of_walk_ins_and_admins_of_role_requests() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (patient_id, patient) = app.patient().await;
    // A receptionist elsewhere hears nothing.
    let elsewhere = app
        .post(
            "/api/v1/facilities",
            &clinic.admin,
            json!({"name": "Elsewhere", "kind": "clinic", "time_zone": "Asia/Dhaka"}),
        )
        .await
        .expect(201)
        .id();
    let (_, other_desk) = app.staff(&clinic.admin, "receptionist", Some(elsewhere)).await;

    app.post(
        "/api/v1/consultations",
        &clinic.doctor_token,
        json!({"patient_id": patient_id, "facility_id": clinic.facility, "chief_complaint": "Sudden fever"}),
    )
    .await
    .expect(201);
    let desk = app.get("/api/v1/notifications", &clinic.receptionist).await.expect(200);
    assert_eq!(desk.body["count"], 1);
    let told = &desk.body["results"][0];
    assert_eq!(told["kind"], "walk_in_registered");
    let message = told["message"].as_str().unwrap();
    assert!(message.contains("MRN"), "{message}");
    assert!(
        !message.contains("fever"),
        "no clinical detail for reception: {message}"
    );
    let other = app.get("/api/v1/notifications", &other_desk).await.expect(200);
    assert_eq!(other.body["count"], 0);

    app.post(
        "/api/v1/role-change-requests",
        &patient,
        json!({"requested_role": "nurse", "reason": "I joined the ward."}),
    )
    .await
    .expect(201);
    let admin = app.get("/api/v1/notifications", &clinic.admin).await.expect(200);
    assert_eq!(admin.body["results"][0]["kind"], "role_request");
    assert!(admin.body["results"][0]["message"].as_str().unwrap().contains("nurse"));
}

#[tokio::test]
async fn a_stream_on_one_node_hears_a_booking_made_on_another_and_catches_up_on_reconnect() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (_, patient) = app.patient().await;
    let nodes = app.nodes(1).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let wait = std::time::Duration::from_secs(5);

    let mut stream = EventStream::open(b, "/api/v1/notifications/stream", &patient, None).await;
    let mut board = EventStream::open(
        b,
        &format!("/api/v1/facilities/{}/stream", clinic.facility),
        &clinic.receptionist,
        None,
    )
    .await;
    let sent = std::time::Instant::now();
    let booked = app
        .send(
            reqwest::Method::POST,
            "/api/v1/appointments",
            Some(&patient),
            Some(json!({"doctor_id": clinic.doctor, "start": SUNDAY_9})),
        )
        .await
        .expect(201);
    let id = booked.id().to_string();
    let first = stream.next(wait).await.expect("the notification arrives");
    println!(
        "node {a} booked; node {b}'s stream heard it {} ms after the request was sent",
        sent.elapsed().as_millis()
    );
    assert_eq!(first.event, "notification");
    assert_eq!(first.data["kind"], "appointment_booked");
    assert_eq!(first.data["appointment_id"], id);
    assert_eq!(first.id, first.data["id"].as_str().unwrap());
    let change = board.next(wait).await.expect("the day board hears it");
    assert_eq!(change.event, "appointment.booked");
    assert_eq!(change.data["appointment_id"], id);
    assert!(change.data.get("patient_id").is_none(), "no patient data on the board");
    drop(stream);

    // Away: a move happens; back with Last-Event-ID, it comes first.
    app.post(
        &format!("/api/v1/appointments/{id}/reschedule"),
        &patient,
        json!({"start": MONDAY_930}),
    )
    .await
    .expect(200);
    let mut again = EventStream::open(b, "/api/v1/notifications/stream", &patient, Some(&first.id)).await;
    let missed = again.next(wait).await.expect("the missed notification");
    assert_eq!(missed.data["kind"], "appointment_rescheduled");
    assert!(
        again.next(std::time::Duration::from_millis(300)).await.is_none(),
        "nothing twice"
    );
    let moved = board.next(wait).await.unwrap();
    assert_eq!(moved.event, "appointment.rescheduled");
    assert_eq!(moved.data["start"], MONDAY_930);

    // Who may follow a day board.
    let board_path = format!("/api/v1/facilities/{}/stream", clinic.facility);
    app.get(&board_path, &clinic.doctor_token).await.expect(403);
    app.get(&board_path, &patient).await.expect(403);
    let (_, nurse_elsewhere) = app.staff(&clinic.admin, "nurse", None).await;
    app.get(&board_path, &nurse_elsewhere).await.expect(404);
    app.get(&format!("/api/v1/facilities/{}/stream", Uuid::new_v4()), &clinic.admin)
        .await
        .expect(404);
}

/// GET a feed URL (relative) and return its status and body.
async fn fetch_feed(app: &TestApp, url: &str) -> (u16, String, String) {
    let response = app.client.get(format!("{}{url}", app.address)).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn calendar_feeds_show_moves_and_cancellations_to_whoever_the_token_may_see() {
    let app = spawn_app().await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let (patient_id, patient) = app.patient().await;
    let id = app.book(&patient, clinic.doctor, SUNDAY_9, None).await.expect(201).id();
    app.post(
        &format!("/api/v1/appointments/{id}/reschedule"),
        &patient,
        json!({"start": MONDAY_930}),
    )
    .await
    .expect(200);

    let made = app
        .post("/api/v1/calendars/token", &patient, json!({}))
        .await
        .expect(201);
    assert!(made.body["doctor"].is_null() && made.body["any_doctor"].is_null());
    let mine = made.body["me"].as_str().unwrap().to_owned();
    assert!(mine.starts_with("/api/v1/calendars/me.ics?token="), "{mine}");
    let (status, content_type, text) = fetch_feed(&app, &mine).await;
    assert_eq!(status, 200, "{text}");
    assert!(content_type.starts_with("text/calendar"));
    let feed = parse_ics(&text);
    assert_eq!(feed["crlf"], true);
    assert_eq!(feed["events"].as_array().unwrap().len(), 1);
    let event = &feed["events"][0];
    assert_eq!(event["uid"], format!("{id}@carebook"));
    assert_eq!(event["sequence"], 2, "booked, then moved");
    assert_eq!(event["start"], "2026-11-30T03:30:00+00:00");
    assert_eq!(event["status"], "CONFIRMED");

    app.post(
        &format!("/api/v1/appointments/{id}/cancel"),
        &patient,
        json!({"reason": "Travelling"}),
    )
    .await
    .expect(200);
    let feed = parse_ics(&fetch_feed(&app, &mine).await.2);
    assert_eq!(feed["events"][0]["status"], "CANCELLED");
    assert_eq!(feed["events"][0]["sequence"], 3);
    let read = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.route == "/api/v1/calendars/me.ics" && e.outcome == "allowed")
        .collect::<Vec<_>>();
    assert!(!read.is_empty(), "feed reads are audited");
    assert!(
        read.iter()
            .all(|e| e.patient_id == Some(patient_id) && e.actor_id == Some(TestApp::user_of(&patient)))
    );

    // Rotating retires the old token.
    let rotated = app
        .post("/api/v1/calendars/token", &patient, json!({}))
        .await
        .expect(201);
    assert_eq!(fetch_feed(&app, &mine).await.0, 404);
    assert_eq!(fetch_feed(&app, rotated.body["me"].as_str().unwrap()).await.0, 200);
    let token = rotated.body["token"].as_str().unwrap();
    let other_doctor = format!("/api/v1/calendars/doctors/{}.ics?token={token}", clinic.doctor);
    assert_eq!(
        fetch_feed(&app, &other_doctor).await.0,
        404,
        "a patient reads no doctor's feed"
    );
    assert_eq!(fetch_feed(&app, "/api/v1/calendars/me.ics?token=nonsense").await.0, 404);
    assert_eq!(fetch_feed(&app, "/api/v1/calendars/me.ics").await.0, 400);

    // The doctor's own feed shows the patient; reception may read any doctor's.
    let doctor = app
        .post("/api/v1/calendars/token", &clinic.doctor_token, json!({}))
        .await
        .expect(201);
    let own = doctor.body["doctor"].as_str().unwrap();
    assert!(own.contains(&format!("/doctors/{}.ics", clinic.doctor)));
    let feed = parse_ics(&fetch_feed(&app, own).await.2);
    assert!(feed["events"][0]["summary"].as_str().unwrap().contains("Pat"), "{feed}");
    let (second, _) = app.second_doctor(&clinic, WEEKLY).await;
    let doctor_token = doctor.body["token"].as_str().unwrap();
    let theirs = format!("/api/v1/calendars/doctors/{second}.ics?token={doctor_token}");
    assert_eq!(fetch_feed(&app, &theirs).await.0, 404, "not another doctor's");
    let desk = app
        .post("/api/v1/calendars/token", &clinic.receptionist, json!({}))
        .await
        .expect(201);
    let any = desk.body["any_doctor"]
        .as_str()
        .unwrap()
        .replace("{doctor_id}", &clinic.doctor.to_string());
    let (status, _, text) = fetch_feed(&app, &any).await;
    assert_eq!(status, 200);
    assert_eq!(parse_ics(&text)["events"].as_array().unwrap().len(), 1);
    assert_eq!(
        fetch_feed(
            &app,
            &format!("/api/v1/calendars/doctors/nobody.ics?token={doctor_token}")
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_refused_inside_the_network() {
    let app = spawn_app_with(|c| c.webhook_allow_hosts = vec!["127.0.0.1".into()]).await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let admin = &clinic.admin;
    let receiver = WebhookReceiver::start(vec![503]).await;

    // Refusals name the field; nothing is stored.
    for (url, why) in [
        ("ftp://example.org/hook", "http"),
        ("http://127.0.0.2:9/hook", "loopback"),
        ("http://localhost:9/hook", "loopback"),
        ("http://169.254.169.254/latest", "link-local"),
        ("http://10.0.0.8/hook", "private"),
        ("http://[::1]:9/hook", "loopback"),
        ("not a url", "absolute"),
    ] {
        let refused = app
            .post(
                "/api/v1/webhooks",
                admin,
                json!({"url": url, "events": ["appointment.booked"]}),
            )
            .await
            .expect(422);
        let message = refused.body["errors"]["url"][0].as_str().unwrap_or_default().to_owned();
        assert!(message.contains(why), "{url}: {}", refused.body);
    }
    app.post("/api/v1/webhooks", admin, json!({"url": receiver.url, "events": []}))
        .await
        .expect(422);
    app.post(
        "/api/v1/webhooks",
        admin,
        json!({"url": receiver.url, "events": ["appointment.exploded"]}),
    )
    .await
    .expect(400);
    app.post(
        "/api/v1/webhooks",
        &clinic.receptionist,
        json!({"url": receiver.url, "events": ["appointment.booked"]}),
    )
    .await
    .expect(403);
    assert_eq!(app.count("webhooks").await, 0);

    let made = app
        .post(
            "/api/v1/webhooks",
            admin,
            json!({"url": receiver.url, "events": ["appointment.cancelled", "appointment.booked"], "description": "Front desk app"}),
        )
        .await
        .expect(201);
    let secret = made.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let hook_id = made.id();
    let read = app.get(&format!("/api/v1/webhooks/{hook_id}"), admin).await.expect(200);
    assert!(read.body.get("secret").is_none(), "the secret is shown once");
    assert_eq!(
        read.body["events"],
        json!(["appointment.booked", "appointment.cancelled"])
    );

    let (_, patient) = app.patient().await;
    let id = app.book(&patient, clinic.doctor, SUNDAY_9, None).await.expect(201).id();
    assert_eq!(app.run_jobs().await, 2, "the confirmation email and the webhook");
    assert_eq!(receiver.hooks().len(), 1, "the first attempt got 503");
    app.clock.advance(backoff(1));
    assert_eq!(app.run_jobs().await, 1);
    let hooks = receiver.hooks();
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0].body, hooks[1].body, "a retry sends the same bytes");
    assert_eq!(hooks[0].headers["webhook-id"], hooks[1].headers["webhook-id"]);
    for hook in &hooks {
        let id_header = hook.headers["webhook-id"].to_str().unwrap();
        let timestamp: i64 = hook.headers["webhook-timestamp"].to_str().unwrap().parse().unwrap();
        let expected = reference_signature(&secret, id_header, timestamp, &hook.body);
        assert_eq!(hook.headers["webhook-signature"].to_str().unwrap(), expected);
    }
    assert_ne!(
        hooks[0].headers["webhook-timestamp"],
        hooks[1].headers["webhook-timestamp"]
    );
    let event: Value = serde_json::from_str(&hooks[1].body).unwrap();
    assert_eq!(event["type"], "appointment.booked");
    assert_eq!(event["data"]["appointment_id"], id.to_string());
    assert_eq!(event["data"]["start"], SUNDAY_9);
    assert!(event["timestamp"].as_str().unwrap().ends_with('Z'));

    // Not subscribed: a move sends nothing; a cancellation is sent.
    let patient = app.renew(&patient);
    app.post(
        &format!("/api/v1/appointments/{id}/reschedule"),
        &patient,
        json!({"start": MONDAY_930}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/appointments/{id}/cancel"),
        &patient,
        json!({"reason": "Better"}),
    )
    .await
    .expect(200);
    app.run_jobs().await;
    let hooks = receiver.hooks();
    assert_eq!(hooks.len(), 3);
    assert_eq!(
        serde_json::from_str::<Value>(&hooks[2].body).unwrap()["type"],
        "appointment.cancelled"
    );

    let admin = app.renew(admin);
    let detail = app
        .get(&format!("/api/v1/webhooks/{hook_id}"), &admin)
        .await
        .expect(200);
    let outcomes: Vec<&str> = detail.body["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["sent", "sent", "failed"], "newest first");
    assert_eq!(detail.body["deliveries"][2]["detail"], "HTTP 503");

    // Deactivated: nothing more.
    app.delete(&format!("/api/v1/webhooks/{hook_id}"), &admin)
        .await
        .expect(204);
    app.book(&app.renew(&patient), clinic.doctor, SUNDAY_9, None)
        .await
        .expect(201);
    app.run_jobs().await;
    assert_eq!(receiver.hooks().len(), 3);
    let list = app.get("/api/v1/webhooks", &admin).await.expect(200);
    assert_eq!(list.body["results"][0]["active"], false);
    app.delete(&format!("/api/v1/webhooks/{}", Uuid::new_v4()), &admin)
        .await
        .expect(404);
}

#[tokio::test]
async fn webhook_secrets_are_sealed_and_resealed_when_the_data_key_rotates() {
    use carebook::sealing::DataKeys;
    let app = spawn_app_with(|c| c.webhook_allow_hosts = vec!["127.0.0.1".into()]).await;
    let clinic = app.clinic("Asia/Dhaka", WEEKLY).await;
    let receiver = WebhookReceiver::start(vec![]).await;
    let made = app
        .post(
            "/api/v1/webhooks",
            &clinic.admin,
            json!({"url": receiver.url, "events": ["appointment.booked"]}),
        )
        .await
        .expect(201);
    let secret = made.body["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        app.count_where("webhooks", &format!("secret_sealed LIKE '%{}%'", &secret[6..]))
            .await,
        0
    );

    let old_key = "dGVzdC1kYXRhLWtleS10ZXN0LWRhdGEta2V5LTAxMjM=".to_owned();
    let new_key = DataKeys::generate_key();
    let (_, rotating) = app
        .node_with(app.state.db.clone(), |c| {
            c.data_keys = DataKeys::new(&new_key, std::slice::from_ref(&old_key)).unwrap();
        })
        .await;
    assert_eq!(
        carebook::notifications::webhooks::reseal_secrets(&rotating)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        carebook::notifications::webhooks::reseal_secrets(&rotating)
            .await
            .unwrap(),
        0
    );
    // A worker with the new key alone signs with the same secret.
    let (_, new_only) = app
        .node_with(app.state.db.clone(), |c| {
            c.data_keys = DataKeys::new(&new_key, &[]).unwrap()
        })
        .await;
    let (_, patient) = app.patient().await;
    app.book(&patient, clinic.doctor, SUNDAY_9, None).await.expect(201);
    carebook::jobs::worker::Worker::new(new_only, 2)
        .unwrap()
        .drain()
        .await
        .unwrap();
    let hooks = receiver.hooks();
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    let timestamp: i64 = hook.headers["webhook-timestamp"].to_str().unwrap().parse().unwrap();
    let id = hook.headers["webhook-id"].to_str().unwrap();
    assert_eq!(
        hook.headers["webhook-signature"].to_str().unwrap(),
        reference_signature(&secret, id, timestamp, &hook.body)
    );
}
