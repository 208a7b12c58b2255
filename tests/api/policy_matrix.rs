//! The policy matrix, generated from the code's own declarations: every
//! operation the routes declare (`api::operations()`, read from the same
//! document another test proves the router serves) × every role × own
//! object / someone else's object, expecting what `policy::MATRIX` says —
//! success (2xx), 403, or 404 where the object must stay hidden — and 401
//! without a token.
//!
//! The same run checks audit coverage: every request that wrote, read
//! patient data or was refused must have left an audit event carrying its
//! request id, with the right outcome, and object decisions about patient
//! data must name the patient.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use carebook::accounts::two_factor::code_at;
use carebook::auth::policy::{Action, MATRIX, Scope, scope_of};
use carebook::clock::Clock;
use carebook::domain::Role;

use crate::helpers::{TestApp, at, spawn_app};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// No object, or the object is not the point.
    Only,
    /// An object that is the actor's own (their record, their patient, their facility).
    Own,
    /// Someone else's object.
    Other,
}

enum Body {
    Empty,
    Json(Value),
    Multipart(String, Vec<u8>),
}

/// One prepared request.
struct Call {
    path: String,
    body: Body,
    token: Option<String>,
    /// Send it with the clock at this instant (then put the clock back).
    at: Option<DateTime<Utc>>,
}

impl Call {
    fn new(path: impl Into<String>, token: Option<String>) -> Call {
        Call {
            path: path.into(),
            body: Body::Empty,
            token,
            at: None,
        }
    }

    fn json(mut self, body: Value) -> Call {
        self.body = Body::Json(body);
        self
    }
}

/// What the matrix predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Success,
    Status(u16),
}

const ROLES: [Role; 5] = [
    Role::Admin,
    Role::Doctor,
    Role::Nurse,
    Role::Receptionist,
    Role::Patient,
];
const PASSWORD: &str = "matrix passphrase";

/// The clinic every case runs in.
struct World {
    app: TestApp,
    admin: String,
    tokens: HashMap<Role, String>,
    base: DateTime<Utc>,
    f1: Uuid,
    specialty: Uuid,
    service: Uuid,
    location: Uuid,
    d1: Uuid,
    d1_user: Uuid,
    d2: Uuid,
    d2_user: Uuid,
    /// d2's token (the doctor of other patients' consultations).
    d2_token: String,
    d1_hours: Uuid,
    d2_hours: Uuid,
    /// The patient of the patient role; has an appointment with d1 at f1.
    patient: Uuid,
    patient_username: String,
    /// A patient nobody of f1 has seen.
    other_patient: Uuid,
    own_appointment: Uuid,
    other_appointment: Uuid,
    /// A pending role-change request of an uninvolved user.
    other_request: Uuid,
    mfa_username: String,
    recovery_codes: RefCell<Vec<String>>,
    serial: Cell<u32>,
    slot: Cell<i64>,
}

impl World {
    async fn build() -> World {
        let app = spawn_app().await;
        let admin = app.admin().await;
        app.set_setting(&admin, "booking.auto_confirm", json!(false)).await;
        let facility = |name: &str| {
            app.post(
                "/api/v1/facilities",
                &admin,
                json!({"name": name, "kind": "clinic", "time_zone": "Asia/Dhaka"}),
            )
        };
        let f1 = facility("Matrix Clinic One").await.expect(201).id();
        let f2 = facility("Matrix Clinic Two").await.expect(201).id();
        let specialty = app
            .post(
                "/api/v1/specialties",
                &admin,
                json!({"code": "MATRIX", "name": "Matrix medicine"}),
            )
            .await
            .expect(201)
            .id();
        let service = app
            .post(
                "/api/v1/services",
                &admin,
                json!({"name": "Matrix visit", "specialty_id": specialty, "duration_minutes": 30, "price": "500"}),
            )
            .await
            .expect(201)
            .id();
        let location = app.get("/api/v1/locations?page_size=1", &admin).await.expect(200).body["results"][0]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let (d1_user, doctor_token) = app.staff(&admin, "doctor", None).await;
        let (d2_user, d2_token) = app.staff(&admin, "doctor", None).await;
        let (_, nurse) = app.staff(&admin, "nurse", Some(f1)).await;
        let (_, receptionist) = app.staff(&admin, "receptionist", Some(f1)).await;
        let mut doctors = Vec::new();
        let mut hours = Vec::new();
        for (user, facility, licence) in [(d1_user, f1, "MX-1"), (d2_user, f2, "MX-2")] {
            let doctor = app
                .post(
                    "/api/v1/doctors",
                    &admin,
                    json!({"user_id": user, "licence_number": licence, "specialty_id": specialty,
                           "facility_id": facility, "consultation_fee": "500", "service_ids": [service]}),
                )
                .await
                .expect(201)
                .id();
            let mut first = None;
            for day in [
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
            ] {
                let id = app
                    .post(
                        &format!("/api/v1/doctors/{doctor}/working-hours"),
                        &admin,
                        // Until the end of 2027: the cases add schedules in weeks of 2028.
                        json!({"weekday": day, "start_time": "08:00", "end_time": "20:00", "valid_to": "2027-12-31"}),
                    )
                    .await
                    .expect(201)
                    .id();
                first.get_or_insert(id);
            }
            doctors.push(doctor);
            hours.push(first.unwrap());
        }
        let patient_username = "matrix.patient".to_owned();
        let signed_up = app
            .public(
                Method::POST,
                "/api/v1/auth/register",
                Some(json!({"username": patient_username, "password": PASSWORD, "first_name": "Matrix", "last_name": "Patient"})),
            )
            .await
            .expect(201);
        let patient = signed_up.body["user"]["patient_id"].as_str().unwrap().parse().unwrap();
        let patient_token = signed_up.body["access"].as_str().unwrap().to_owned();
        let other_patient = app
            .post(
                "/api/v1/patients",
                &receptionist,
                json!({"first_name": "Other", "last_name": "Person"}),
            )
            .await
            .expect(201)
            .id();

        // Someone uninvolved asks for a role.
        let (_, bystander) = app.staff(&admin, "nurse", None).await;
        let other_request = app
            .post(
                "/api/v1/role-change-requests",
                &bystander,
                json!({"requested_role": "receptionist", "reason": "Moving desks."}),
            )
            .await
            .expect(201)
            .id();

        // A user with two-factor authentication, for the login's second step.
        let mfa_username = "matrix.mfa".to_owned();
        let mfa_token = app
            .public(
                Method::POST,
                "/api/v1/auth/register",
                Some(json!({"username": mfa_username, "password": PASSWORD, "first_name": "M", "last_name": "F"})),
            )
            .await
            .expect(201)
            .body["access"]
            .as_str()
            .unwrap()
            .to_owned();
        let secret = app
            .post("/api/v1/auth/totp/enrol", &mfa_token, json!({}))
            .await
            .expect(200)
            .body["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let code = code_at(&mfa_username, &secret, app.clock.now().timestamp() as u64).unwrap();
        let recovery_codes = app
            .post("/api/v1/auth/totp/confirm", &mfa_token, json!({ "code": code }))
            .await
            .expect(200)
            .body["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();

        let tokens = HashMap::from([
            (Role::Admin, admin.clone()),
            (Role::Doctor, doctor_token),
            (Role::Nurse, nurse),
            (Role::Receptionist, receptionist),
            (Role::Patient, patient_token),
        ]);
        let base = app.clock.now();
        let mut world = World {
            app,
            admin,
            tokens,
            base,
            f1,
            specialty,
            service,
            location,
            d1: doctors[0],
            d1_user,
            d2: doctors[1],
            d2_user,
            d2_token,
            d1_hours: hours[0],
            d2_hours: hours[1],
            patient,
            patient_username,
            other_patient,
            own_appointment: Uuid::nil(),
            other_appointment: Uuid::nil(),
            other_request,
            mfa_username,
            recovery_codes: RefCell::new(recovery_codes),
            serial: Cell::new(0),
            slot: Cell::new(0),
        };
        world.own_appointment = world.appointment(true, "pending").await.0;
        world.other_appointment = world.appointment(false, "pending").await.0;
        world
    }

    fn token(&self, role: Role) -> Option<String> {
        Some(self.tokens[&role].clone())
    }

    fn next(&self) -> u32 {
        self.serial.set(self.serial.get() + 1);
        self.serial.get()
    }

    /// The next free half-hour from tomorrow 08:00 in Dhaka (02:00Z), 24 a day.
    fn next_slot(&self) -> DateTime<Utc> {
        let i = self.slot.get();
        self.slot.set(i + 1);
        at("2026-11-23T02:00:00Z") + TimeDelta::days(i / 24) + TimeDelta::minutes(30 * (i % 24))
    }

    /// A distinct week far beyond the booking horizon, for schedule changes.
    fn next_week(&self) -> (String, String) {
        let start = chrono::NaiveDate::from_ymd_opt(2028, 1, 3).unwrap() + TimeDelta::weeks(i64::from(self.next()));
        (start.to_string(), (start + TimeDelta::days(6)).to_string())
    }

    /// A new account of `role` and its token (for operations on one's own account).
    async fn fresh(&self, role: Role) -> (Uuid, String) {
        let name = format!("fresh{}{}", role.as_str(), self.next());
        if role == Role::Patient {
            let reply = self
                .app
                .public(
                    Method::POST,
                    "/api/v1/auth/register",
                    Some(json!({"username": name, "password": PASSWORD, "first_name": "F", "last_name": "P"})),
                )
                .await
                .expect(201);
            let token = reply.body["access"].as_str().unwrap().to_owned();
            return (TestApp::user_of(&token), token);
        }
        let facility = matches!(role, Role::Nurse | Role::Receptionist).then_some(self.f1);
        let user = self
            .app
            .post(
                "/api/v1/users",
                &self.admin,
                json!({"username": name, "password": PASSWORD, "role": role.as_str(), "first_name": "F",
                       "last_name": "S", "facility_id": facility}),
            )
            .await
            .expect(201)
            .id();
        (user, self.app.login(&name, PASSWORD).await)
    }

    /// A fresh appointment (own: the patient with d1 at f1; other: another
    /// patient with d2 at f2) driven to `status`; its id and start.
    async fn appointment(&self, own: bool, status: &str) -> (Uuid, DateTime<Utc>) {
        let (patient, doctor) = if own {
            (self.patient, self.d1)
        } else {
            (self.other_patient, self.d2)
        };
        let start = self.next_slot();
        let id = self
            .app
            .book(&self.admin, doctor, &start.to_rfc3339(), Some(patient))
            .await
            .expect(201)
            .id();
        let steps: &[&str] = match status {
            "pending" => &[],
            "confirmed" => &["confirm"],
            "checked_in" => &["confirm", "check-in"],
            "in_progress" => &["confirm", "check-in", "start"],
            other => panic!("no path to {other}"),
        };
        self.app.drive(&self.admin, id, start, steps).await;
        (id, start)
    }

    /// The consultation of a fresh appointment in progress (own: the
    /// patient's with d1 at f1; other: another patient's with d2 at f2).
    async fn consultation(&self, own: bool) -> Uuid {
        let (appointment, _) = self.appointment(own, "in_progress").await;
        let found = self
            .app
            .get("/api/v1/consultations?status=in_progress&page_size=100", &self.admin)
            .await
            .expect(200);
        let found = found.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["appointment_id"] == appointment.to_string());
        found.expect("starting opens the consultation")["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Vital signs recorded by a nurse of the consultation's facility in a
    /// fresh consultation (see [`World::consultation`]).
    async fn vital_signs(&self, own: bool) -> Uuid {
        let consultation = self.consultation(own).await;
        let path = format!("/api/v1/consultations/{consultation}");
        let facility: Uuid = self.app.get(&path, &self.admin).await.expect(200).body["facility_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let (_, nurse) = self.app.staff(&self.admin, "nurse", Some(facility)).await;
        let body = json!({"heart_rate": 70});
        self.app
            .post(&format!("{path}/vital-signs"), &nurse, body)
            .await
            .expect(201)
            .id()
    }

    /// A diagnosis recorded by its doctor in a fresh consultation (see [`World::consultation`]).
    async fn diagnosis(&self, own: bool) -> Uuid {
        let consultation = self.consultation(own).await;
        let token = if own {
            &self.tokens[&Role::Doctor]
        } else {
            &self.d2_token
        };
        let path = format!("/api/v1/consultations/{consultation}/diagnoses");
        self.app
            .post(&path, token, json!({"code": "J06.9"}))
            .await
            .expect(201)
            .id()
    }

    /// An entry (`prescriptions`, `notes`) recorded by its doctor in a fresh consultation.
    async fn entry(&self, own: bool, kind: &str, body: Value) -> Uuid {
        let consultation = self.consultation(own).await;
        let token = if own {
            &self.tokens[&Role::Doctor]
        } else {
            &self.d2_token
        };
        let path = format!("/api/v1/consultations/{consultation}/{kind}");
        self.app.post(&path, token, body).await.expect(201).id()
    }

    /// A prescription of a fresh catalogue item in a fresh consultation (see
    /// [`World::consultation`]), with 50 units in stock at its facility.
    async fn stocked_prescription(&self, own: bool) -> Uuid {
        let n = self.next();
        let item = self.admin_creates("/api/v1/medications", medication(n)).await;
        let mut body = prescription();
        body["medication_id"] = json!(item);
        let rx = self.entry(own, "prescriptions", body).await;
        let read = |path: String| async move { self.app.get(&path, &self.admin).await.expect(200).body };
        let consultation = read(format!("/api/v1/prescriptions/{rx}")).await["consultation_id"].clone();
        let facility =
            read(format!("/api/v1/consultations/{}", consultation.as_str().unwrap())).await["facility_id"].clone();
        self.app
            .post(
                &format!("/api/v1/medications/{item}/lots"),
                &self.admin,
                json!({"facility_id": facility, "lot_number": format!("D{n}"), "expires_on": "2099-12-31",
                       "unit_cost": "1.00", "quantity": 50}),
            )
            .await
            .expect(201);
        rx
    }

    /// A bill of 10,000.00 at f1 for the patient (own) or another patient,
    /// left a draft or issued (`issue`).
    async fn bill(&self, own: bool, issue: bool) -> Uuid {
        let patient = if own { self.patient } else { self.other_patient };
        let body = json!({"patient_id": patient, "facility_id": self.f1,
                          "lines": [{"kind": "service", "description": "Surgery", "unit_price": "10000.00"}]});
        let id = self.admin_creates("/api/v1/bills", body).await;
        if issue {
            self.app
                .post(&format!("/api/v1/bills/{id}/issue"), &self.admin, json!({}))
                .await
                .expect(200);
        }
        id
    }

    /// A payment of 6,000.00 on a fresh bill (see [`World::bill`]).
    async fn payment(&self, own: bool) -> Uuid {
        let bill = self.bill(own, true).await;
        let body = json!({"amount": "6000.00", "method": "cash"});
        self.app
            .post(&format!("/api/v1/bills/{bill}/payments"), &self.admin, body)
            .await
            .expect(201)
            .body["payment"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// A refund of 5,500.00 of a fresh payment by reception: above the
    /// default `billing.refund_approval_above` (5,000), so it waits for approval.
    async fn refund(&self, own: bool) -> Uuid {
        let payment = self.payment(own).await;
        let body = json!({"amount": "5500.00", "reason": "Surgery postponed"});
        let reception = self.tokens[&Role::Receptionist].as_str();
        let made = self
            .app
            .post(&format!("/api/v1/payments/{payment}/refunds"), reception, body)
            .await
            .expect(201);
        assert_eq!(made.body["status"], "pending_approval");
        made.id()
    }

    /// A walk-in consultation of the patient with d1 at f1.
    async fn walk_in_consultation(&self) -> Uuid {
        let body = json!({"patient_id": self.patient, "facility_id": self.f1});
        let doctor = self.tokens[&Role::Doctor].as_str();
        self.app
            .post("/api/v1/consultations", doctor, body)
            .await
            .expect(201)
            .id()
    }

    /// A fresh pending telemedicine appointment (own: the patient's with d1; other: another's with d2).
    async fn video_appointment(&self, own: bool) -> Uuid {
        let (patient, doctor) = if own {
            (self.patient, self.d1)
        } else {
            (self.other_patient, self.d2)
        };
        let body =
            json!({"doctor_id": doctor, "patient_id": patient, "start": self.next_slot(), "kind": "telemedicine"});
        self.app
            .post("/api/v1/appointments", &self.admin, body)
            .await
            .expect(201)
            .id()
    }

    /// A patient record without a login.
    async fn walk_in(&self) -> Uuid {
        self.app
            .post(
                "/api/v1/patients",
                &self.admin,
                json!({"first_name": "Walk", "last_name": "In"}),
            )
            .await
            .expect(201)
            .id()
    }

    async fn admin_creates(&self, path: &str, body: Value) -> Uuid {
        self.app.post(path, &self.admin, body).await.expect(201).id()
    }

    fn doctor(&self, variant: Variant) -> Uuid {
        if variant == Variant::Other { self.d2 } else { self.d1 }
    }

    async fn working_hours(&self, doctor: Uuid) -> Uuid {
        let (from, to) = self.next_week();
        self.admin_creates(
            &format!("/api/v1/doctors/{doctor}/working-hours"),
            json!({"weekday": "monday", "start_time": "08:00", "end_time": "09:00", "valid_from": from, "valid_to": to}),
        )
        .await
    }

    async fn time_off(&self, doctor: Uuid) -> Uuid {
        let (from, _) = self.next_week();
        self.admin_creates(
            &format!("/api/v1/doctors/{doctor}/time-off"),
            json!({"date": from, "reason": "Conference"}),
        )
        .await
    }

    async fn image(&self, token: &str) {
        let (content_type, body) = png_upload();
        let status = self
            .app
            .client
            .post(format!("{}/api/v1/profile/image", self.app.address))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }

    /// Prepare the request for one operation, role and variant.
    async fn prepare(&self, method: &Method, route: &str, role: Role, variant: Variant) -> Call {
        let me = self.token(role);
        let n = self.next();
        let own = variant != Variant::Other;
        let account_body =
            |password: &str| json!({"current_password": password, "new_password": "a different passphrase"});
        match (method.as_str(), route) {
            ("GET", path @ ("/" | "/health" | "/ready" | "/api/v1/openapi.json" | "/api/v1/openapi.yaml" | "/api/v1/settings/public")) => {
                Call::new(path, me)
            }
            ("POST", "/api/v1/auth/register") => Call::new(route, me).json(
                json!({"username": format!("signup{n}"), "password": PASSWORD, "first_name": "S", "last_name": "U"}),
            ),
            ("POST", "/api/v1/auth/login") => {
                Call::new(route, me).json(json!({"username": self.patient_username, "password": PASSWORD}))
            }
            ("POST", "/api/v1/auth/login/totp") => {
                let step = self.app.try_login(&self.mfa_username, PASSWORD).await.expect(200);
                let code = self.recovery_codes.borrow_mut().pop().expect("enough recovery codes");
                Call::new(route, me).json(json!({"mfa_token": step.body["mfa_token"], "code": code}))
            }
            ("POST", "/api/v1/auth/refresh") => {
                let login = self.app.try_login(&self.patient_username, PASSWORD).await.expect(200);
                Call::new(route, me).json(json!({"refresh": login.body["refresh"]}))
            }
            ("POST", "/api/v1/auth/verify") => Call::new(route, me).json(json!({"token": self.tokens[&Role::Patient]})),

            // One's own account and profile: a fresh account, so sessions and passwords of the others stay.
            ("POST", "/api/v1/auth/logout" | "/api/v1/auth/logout-all" | "/api/v1/auth/totp/enrol")
            | ("GET", "/api/v1/auth/me" | "/api/v1/profile" | "/api/v1/profile/preferences") => {
                Call::new(route, Some(self.fresh(role).await.1)).json(json!({}))
            }
            ("POST", "/api/v1/auth/change-password") => {
                Call::new(route, Some(self.fresh(role).await.1)).json(account_body(PASSWORD))
            }
            ("POST", "/api/v1/auth/totp/confirm" | "/api/v1/auth/totp/disable") => {
                let (_, token) = self.fresh(role).await;
                let username = self.app.get("/api/v1/auth/me", &token).await.body["username"].as_str().unwrap().to_owned();
                let secret = self.app.post("/api/v1/auth/totp/enrol", &token, json!({})).await.expect(200).body["secret"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let code = code_at(&username, &secret, self.app.clock.now().timestamp() as u64).unwrap();
                if route.ends_with("confirm") {
                    return Call::new(route, Some(token)).json(json!({ "code": code }));
                }
                let confirmed = self.app.post("/api/v1/auth/totp/confirm", &token, json!({ "code": code })).await.expect(200);
                Call::new(route, Some(token)).json(json!({"code": confirmed.body["recovery_codes"][0]}))
            }
            ("PATCH", "/api/v1/profile") => {
                Call::new(route, Some(self.fresh(role).await.1)).json(json!({"first_name": "Changed"}))
            }
            ("PUT", "/api/v1/profile/preferences") => Call::new(route, Some(self.fresh(role).await.1))
                .json(json!({"language": "bn", "notification_channels": ["push"], "appointment_reminders": false})),
            ("POST", "/api/v1/profile/image") => {
                let (content_type, body) = png_upload();
                Call {
                    body: Body::Multipart(content_type, body),
                    ..Call::new(route, Some(self.fresh(role).await.1))
                }
            }
            ("GET" | "DELETE", "/api/v1/profile/image") => {
                let (_, token) = self.fresh(role).await;
                self.image(&token).await;
                Call::new(route, Some(token))
            }

            // Users.
            ("GET", "/api/v1/users") => Call::new(route, me),
            ("POST", "/api/v1/users") => Call::new(route, me).json(
                json!({"username": format!("made{n}"), "password": PASSWORD, "role": "nurse", "first_name": "M", "last_name": "N"}),
            ),
            ("GET", "/api/v1/users/{id}") => Call::new(format!("/api/v1/users/{}", self.d2_user), me),
            (_, "/api/v1/users/{id}" | "/api/v1/users/{id}/deactivate" | "/api/v1/users/{id}/reactivate"
                | "/api/v1/users/{id}/reset-password" | "/api/v1/users/{id}/role") => {
                // Only an administrator gets through: give them a target of their own.
                let target = if role == Role::Admin { self.fresh(Role::Nurse).await.0 } else { self.d2_user };
                let path = route.replace("{id}", &target.to_string());
                let body = match route.rsplit('/').next().unwrap() {
                    "{id}" => json!({"last_name": "Renamed"}),
                    "reset-password" => json!({"password": "temporary passphrase"}),
                    "role" => json!({"role": "receptionist"}),
                    _ => json!({}),
                };
                Call::new(path, me).json(body)
            }

            // Role-change requests.
            ("GET", "/api/v1/role-change-requests") => Call::new(route, me),
            ("POST", "/api/v1/role-change-requests") => {
                let token = if role == Role::Admin { me } else { Some(self.fresh(role).await.1) };
                let wanted = if role == Role::Receptionist { "nurse" } else { "receptionist" };
                Call::new(route, token).json(json!({"requested_role": wanted, "reason": "Please."}))
            }
            ("GET", "/api/v1/role-change-requests/{id}") => {
                if own && role != Role::Admin {
                    let (_, token) = self.fresh(role).await;
                    let wanted = if role == Role::Receptionist { "nurse" } else { "receptionist" };
                    let id = self
                        .app
                        .post("/api/v1/role-change-requests", &token, json!({"requested_role": wanted, "reason": "Mine."}))
                        .await
                        .expect(201)
                        .id();
                    return Call::new(format!("/api/v1/role-change-requests/{id}"), Some(token));
                }
                Call::new(format!("/api/v1/role-change-requests/{}", self.other_request), me)
            }
            ("POST", "/api/v1/role-change-requests/{id}/approve" | "/api/v1/role-change-requests/{id}/reject") => {
                let id = if role == Role::Admin {
                    let (_, token) = self.fresh(Role::Nurse).await;
                    self.app
                        .post("/api/v1/role-change-requests", &token, json!({"requested_role": "doctor", "reason": "Qualified."}))
                        .await
                        .expect(201)
                        .id()
                } else {
                    self.other_request
                };
                Call::new(route.replace("{id}", &id.to_string()), me).json(json!({"notes": "Decided."}))
            }

            // Directory.
            ("GET", "/api/v1/locations" | "/api/v1/specialties" | "/api/v1/facilities" | "/api/v1/services" | "/api/v1/doctors") => {
                Call::new(route, me)
            }
            ("GET", "/api/v1/diagnosis-codes") => Call::new("/api/v1/diagnosis-codes?search=E11", me),
            ("GET", "/api/v1/diagnosis-codes/{code}") => Call::new("/api/v1/diagnosis-codes/E11.9", me),
            ("GET", "/api/v1/locations/{id}") => Call::new(format!("/api/v1/locations/{}", self.location), me),
            ("GET", "/api/v1/specialties/{id}") => Call::new(format!("/api/v1/specialties/{}", self.specialty), me),
            ("GET", "/api/v1/facilities/{id}") => Call::new(format!("/api/v1/facilities/{}", self.f1), me),
            ("GET", "/api/v1/services/{id}") => Call::new(format!("/api/v1/services/{}", self.service), me),
            ("GET", "/api/v1/doctors/{id}") => Call::new(format!("/api/v1/doctors/{}", self.d1), me),
            ("POST", "/api/v1/locations") => {
                Call::new(route, me).json(json!({"kind": "division", "code": format!("MX{n}"), "name": format!("Division {n}")}))
            }
            ("POST", "/api/v1/specialties") => {
                Call::new(route, me).json(json!({"code": format!("SP{n}"), "name": format!("Specialty {n}")}))
            }
            ("POST", "/api/v1/facilities") => Call::new(route, me)
                .json(json!({"name": format!("Facility {n}"), "kind": "clinic", "time_zone": "Asia/Dhaka"})),
            ("POST", "/api/v1/services") => Call::new(route, me).json(
                json!({"name": format!("Service {n}"), "specialty_id": self.specialty, "duration_minutes": 30, "price": "100"}),
            ),
            ("POST", "/api/v1/doctors") => {
                let user = if role == Role::Admin { self.fresh(Role::Doctor).await.0 } else { self.d1_user };
                Call::new(route, me).json(json!({"user_id": user, "licence_number": format!("LIC-{n}"),
                    "specialty_id": self.specialty, "facility_id": self.f1, "consultation_fee": "700"}))
            }
            (_, "/api/v1/locations/{id}" | "/api/v1/specialties/{id}" | "/api/v1/facilities/{id}" | "/api/v1/services/{id}"
                | "/api/v1/doctors/{id}") => {
                let kind = route.split('/').nth(3).unwrap();
                let admin = role == Role::Admin;
                let id = match kind {
                    "locations" if admin => self
                        .admin_creates("/api/v1/locations", json!({"kind": "division", "code": format!("LX{n}"), "name": format!("Place {n}")}))
                        .await,
                    "specialties" if admin => self
                        .admin_creates("/api/v1/specialties", json!({"code": format!("SX{n}"), "name": format!("Field {n}")}))
                        .await,
                    "facilities" if admin => self
                        .admin_creates("/api/v1/facilities", json!({"name": format!("Site {n}"), "kind": "clinic", "time_zone": "Asia/Dhaka"}))
                        .await,
                    "services" if admin => self
                        .admin_creates("/api/v1/services", json!({"name": format!("Visit {n}"), "specialty_id": self.specialty,
                            "duration_minutes": 30, "price": "100"}))
                        .await,
                    "doctors" if admin => {
                        let user = self.fresh(Role::Doctor).await.0;
                        self.admin_creates("/api/v1/doctors", json!({"user_id": user, "licence_number": format!("DX-{n}"),
                            "specialty_id": self.specialty, "facility_id": self.f1, "consultation_fee": "700"}))
                            .await
                    }
                    "locations" => self.location,
                    "specialties" => self.specialty,
                    "facilities" => self.f1,
                    "services" => self.service,
                    _ => self.d1,
                };
                let body = match kind {
                    "services" => json!({"price": "150"}),
                    "doctors" => json!({"bio": "Changed."}),
                    _ => json!({"name": format!("Renamed {n}")}),
                };
                Call::new(route.replace("{id}", &id.to_string()), me).json(body)
            }

            // Schedules: own = the doctor role's own schedule, other = another doctor's.
            ("GET", "/api/v1/doctors/{doctor_id}/working-hours" | "/api/v1/doctors/{doctor_id}/time-off") => {
                Call::new(route.replace("{doctor_id}", &self.doctor(variant).to_string()), me)
            }
            ("GET", "/api/v1/doctors/{doctor_id}/availability") => Call::new(
                format!("/api/v1/doctors/{}/availability?from=2026-11-23&to=2026-11-23", self.doctor(variant)),
                me,
            ),
            ("GET", "/api/v1/doctors/{doctor_id}/working-hours/{id}") => {
                let hours = if own { self.d1_hours } else { self.d2_hours };
                Call::new(format!("/api/v1/doctors/{}/working-hours/{hours}", self.doctor(variant)), me)
            }
            ("POST", "/api/v1/doctors/{doctor_id}/working-hours") => {
                let (from, to) = self.next_week();
                Call::new(route.replace("{doctor_id}", &self.doctor(variant).to_string()), me).json(
                    json!({"weekday": "tuesday", "start_time": "08:00", "end_time": "09:00", "valid_from": from, "valid_to": to}),
                )
            }
            ("POST", "/api/v1/doctors/{doctor_id}/working-hours/bulk") => {
                let (from, to) = self.next_week();
                Call::new(route.replace("{doctor_id}", &self.doctor(variant).to_string()), me).json(json!({
                    "valid_from": from, "valid_to": to, "replace": false,
                    "days": [{"weekday": "wednesday", "start_time": "08:00", "end_time": "09:00"}]}))
            }
            ("PUT" | "DELETE", "/api/v1/doctors/{doctor_id}/working-hours/{id}") => {
                let doctor = self.doctor(variant);
                let (from, to) = self.next_week();
                let hours = self.working_hours(doctor).await;
                Call::new(format!("/api/v1/doctors/{doctor}/working-hours/{hours}"), me).json(
                    json!({"weekday": "thursday", "start_time": "10:00", "end_time": "11:00", "valid_from": from, "valid_to": to}),
                )
            }
            ("POST", "/api/v1/doctors/{doctor_id}/time-off") => {
                let (date, _) = self.next_week();
                Call::new(route.replace("{doctor_id}", &self.doctor(variant).to_string()), me)
                    .json(json!({"date": date, "reason": "Leave"}))
            }
            ("DELETE", "/api/v1/doctors/{doctor_id}/time-off/{id}") => {
                let doctor = self.doctor(variant);
                let off = self.time_off(doctor).await;
                Call::new(format!("/api/v1/doctors/{doctor}/time-off/{off}"), me)
            }

            // Patients: own = the patient's own record, a patient the doctor treats and the nurse's facility saw.
            ("GET", "/api/v1/patients") => Call::new(route, me),
            // The FHIR face: the same actions as the REST routes it mirrors.
            ("GET", "/fhir/R4/metadata" | "/fhir/R4/Patient" | "/fhir/R4/Practitioner" | "/fhir/R4/Appointment" | "/fhir/R4/Schedule") => {
                Call::new(route, me)
            }
            ("GET", "/fhir/R4/Slot") => Call::new("/fhir/R4/Slot?schedule=Schedule/none", me),
            ("GET", "/fhir/R4/Location" | "/fhir/R4/Organization" | "/fhir/R4/HealthcareService" | "/fhir/R4/PractitionerRole" | "/fhir/R4/Encounter") => {
                Call::new(route, me)
            }
            ("GET", "/fhir/R4/Location/{id}" | "/fhir/R4/Organization/{id}") => Call::new(route.replace("{id}", &self.f1.to_string()), me),
            ("GET", "/fhir/R4/HealthcareService/{id}") => Call::new(route.replace("{id}", &self.service.to_string()), me),
            ("GET", "/fhir/R4/PractitionerRole/{id}") => Call::new(route.replace("{id}", &self.d1.to_string()), me),
            ("GET", "/fhir/R4/Observation" | "/fhir/R4/Condition" | "/fhir/R4/MedicationRequest") => {
                let patient = if own { self.patient } else { self.walk_in().await };
                Call::new(format!("{route}?patient=Patient/{patient}"), me)
            }
            ("GET", "/fhir/R4/Encounter/{id}") => {
                let id = self.consultation(own).await;
                Call::new(route.replace("{id}", &id.to_string()), me)
            }
            ("GET", "/fhir/R4/Observation/{id}") => {
                let id = self.vital_signs(own).await;
                Call::new(format!("/fhir/R4/Observation/{id}.heart-rate"), me)
            }
            ("GET", "/fhir/R4/Condition/{id}") => {
                let id = self.diagnosis(own).await;
                Call::new(route.replace("{id}", &id.to_string()), me)
            }
            ("GET", "/fhir/R4/MedicationRequest/{id}") => {
                let id = self.entry(own, "prescriptions", prescription()).await;
                Call::new(route.replace("{id}", &id.to_string()), me)
            }
            ("GET", "/fhir/R4/Appointment/$find") => {
                Call::new(format!("/fhir/R4/Appointment/$find?start=2026-11-23&end=2026-11-24&practitioner={}", self.d1), me)
            }
            ("GET", "/fhir/R4/Schedule/{id}") => {
                let found = self
                    .app
                    .get(&format!("/fhir/R4/Schedule?actor=Practitioner/{}", self.d1), &self.admin)
                    .await
                    .expect(200);
                let id = found.body["entry"][0]["resource"]["id"].as_str().unwrap().to_owned();
                Call::new(format!("/fhir/R4/Schedule/{id}"), me)
            }
            ("POST", "/fhir/R4/Appointment/$hold" | "/fhir/R4/Appointment/$book") => {
                let (patient, doctor) = if own { (self.patient, self.d1) } else { (self.other_patient, self.d2) };
                let appointment = json!({"resourceType": "Appointment", "status": "proposed", "start": self.next_slot(),
                    "participant": [{"actor": {"reference": format!("Practitioner/{doctor}")}, "status": "needs-action"},
                                    {"actor": {"reference": format!("Patient/{patient}")}, "status": "needs-action"}]});
                Call::new(route, me).json(json!({"resourceType": "Parameters", "parameter": [{"name": "appt-resource", "resource": appointment}]}))
            }
            ("GET", "/fhir/R4/Practitioner/{id}") => Call::new(format!("/fhir/R4/Practitioner/{}", self.d1), me),
            ("GET", "/fhir/R4/Patient/{id}") => {
                let patient = if own { self.patient } else { self.walk_in().await };
                Call::new(format!("/fhir/R4/Patient/{patient}"), me)
            }
            ("GET", "/fhir/R4/Appointment/{id}") => {
                let id = if own { self.own_appointment } else { self.other_appointment };
                Call::new(format!("/fhir/R4/Appointment/{id}"), me)
            }
            ("POST", "/api/v1/patients") => Call::new(route, me).json(json!({"first_name": "New", "last_name": format!("Patient{n}")})),
            ("GET" | "PATCH", "/api/v1/patients/{id}") => {
                let patient = if own { self.patient } else { self.walk_in().await };
                // A field of a class the role may write (doctors write clinical fields only).
                let body = match role {
                    Role::Doctor => json!({"allergies": format!("Penicillin {n}")}),
                    _ => json!({"address": format!("Road {n}")}),
                };
                Call::new(format!("/api/v1/patients/{patient}"), me).json(body)
            }
            ("POST", "/api/v1/patients/{id}/account") => {
                let patient = self.walk_in().await;
                Call::new(format!("/api/v1/patients/{patient}/account"), me)
                    .json(json!({"username": format!("walkin{n}"), "password": "temporary passphrase"}))
            }

            // Appointments: own = the patient's, with the doctor, at the nurse's facility; other = none of these.
            ("GET", "/api/v1/appointments") => Call::new(route, me),
            ("POST", "/api/v1/appointments" | "/api/v1/appointments/holds") => {
                let (patient, doctor) = if own { (self.patient, self.d1) } else { (self.other_patient, self.d2) };
                Call::new(route, me).json(json!({"doctor_id": doctor, "patient_id": patient, "start": self.next_slot()}))
            }
            ("GET", "/api/v1/appointments/{id}" | "/api/v1/appointments/{id}/history") => {
                let id = if own { self.own_appointment } else { self.other_appointment };
                Call::new(route.replace("{id}", &id.to_string()), me)
            }
            ("POST", "/api/v1/appointments/{id}/telemedicine") => {
                let id = self.video_appointment(own).await;
                Call::new(format!("/api/v1/appointments/{id}/telemedicine"), me)
            }
            ("GET", "/api/v1/telemedicine/sessions/{id}")
            | ("POST", "/api/v1/telemedicine/sessions/{id}/join" | "/api/v1/telemedicine/sessions/{id}/leave" | "/api/v1/telemedicine/sessions/{id}/end") => {
                let appointment = self.video_appointment(own).await;
                let open = format!("/api/v1/appointments/{appointment}/telemedicine");
                let id = self.app.post(&open, &self.admin, json!({})).await.expect(201).id();
                Call::new(route.replace("{id}", &id.to_string()), me).json(json!({"outcome": "completed"}))
            }
            ("GET", "/api/v1/telemedicine/statistics") => Call::new(route, me),
            ("GET", "/api/v1/dashboard") => Call::new(route, me),
            ("GET", "/api/v1/reports/monthly") => match variant {
                Variant::Only => Call::new(route, me),
                _ => Call::new(format!("{route}?doctor={}", self.doctor(variant)), me),
            },
            ("POST", "/api/v1/reports/monthly") => {
                Call::new(route, me).json(json!({"doctor_id": self.doctor(variant), "month": "2026-10"}))
            }
            ("GET", "/api/v1/reports/monthly/{id}") => {
                let body = json!({"doctor_id": self.doctor(variant), "month": "2026-09"});
                let stored = self.app.post("/api/v1/reports/monthly", &self.admin, body).await.expect(201);
                Call::new(route.replace("{id}", &stored.id().to_string()), me)
            }
            ("GET", "/api/v1/exports/appointments" | "/api/v1/exports/patients") => {
                Call::new(format!("{route}?format=csv"), me)
            }
            ("GET", "/api/v1/reports/revenue" | "/api/v1/reports/billing" | "/api/v1/reports/patients") => {
                Call::new(route, me)
            }
            ("GET", report) if report.starts_with("/api/v1/reports/") => match variant {
                Variant::Only => Call::new(route, me),
                _ => Call::new(format!("{route}?doctor={}", self.doctor(variant)), me),
            },
            ("POST", _) if route.starts_with("/api/v1/appointments/{id}/") => {
                let transition = route.rsplit('/').next().unwrap();
                let status = match transition {
                    "confirm" | "cancel" | "reschedule" => "pending",
                    "check-in" | "no-show" => "confirmed",
                    "start" => "checked_in",
                    "complete" => "in_progress",
                    other => panic!("no case for transition {other}"),
                };
                let (id, start) = self.appointment(own, status).await;
                let body = match transition {
                    "cancel" => json!({"reason": "Cannot come."}),
                    "reschedule" => json!({"start": self.next_slot()}),
                    _ => json!({}),
                };
                let mut call = Call::new(route.replace("{id}", &id.to_string()), me).json(body);
                call.at = match transition {
                    "no-show" => Some(start + TimeDelta::minutes(20)),
                    "check-in" => Some(start - TimeDelta::minutes(30)),
                    _ => None,
                };
                call
            }

            // Clinical records: own = the patient's, with d1 at f1; other = another patient's, with d2 at f2.
            ("GET", "/api/v1/consultations") => Call::new(route, me),
            ("POST", "/api/v1/consultations") => {
                Call::new(route, me).json(json!({"patient_id": self.patient, "facility_id": self.f1, "chief_complaint": "Cough"}))
            }
            ("GET" | "PATCH", "/api/v1/consultations/{id}") => {
                let id = self.consultation(own).await;
                Call::new(format!("/api/v1/consultations/{id}"), me).json(json!({"assessment": format!("Noted {n}")}))
            }
            ("PUT", "/api/v1/consultations/{id}")
            | ("GET", "/api/v1/consultations/{id}/versions")
            | ("POST", "/api/v1/consultations/{id}/entered-in-error") => {
                let id = self.consultation(own).await;
                let body = match method.as_str() {
                    "PUT" => json!({"reason": "Clarified", "chief_complaint": "Cough", "history_of_present_illness": "",
                                    "examination": "", "assessment": format!("Amended {n}"), "plan": ""}),
                    _ => json!({"reason": "Wrong patient"}),
                };
                Call::new(route.replace("{id}", &id.to_string()), me).json(body)
            }
            ("POST", "/api/v1/consultations/{id}/complete") => {
                let id = if own { self.walk_in_consultation().await } else { self.consultation(false).await };
                Call::new(format!("/api/v1/consultations/{id}/complete"), me).json(json!({}))
            }
            ("POST", "/api/v1/consultations/{id}/vital-signs") => {
                let id = self.consultation(own).await;
                Call::new(format!("/api/v1/consultations/{id}/vital-signs"), me).json(json!({"heart_rate": 72}))
            }
            ("GET" | "POST", "/api/v1/patients/{id}/vital-signs") => {
                let patient = if own { self.patient } else { self.walk_in().await };
                Call::new(format!("/api/v1/patients/{patient}/vital-signs"), me).json(json!({"heart_rate": 72}))
            }
            ("GET" | "PUT", "/api/v1/vital-signs/{id}")
            | ("GET", "/api/v1/vital-signs/{id}/versions")
            | ("POST", "/api/v1/vital-signs/{id}/entered-in-error") => {
                let id = self.vital_signs(own).await;
                let body = match method.as_str() {
                    "PUT" => json!({"reason": "Recounted", "heart_rate": 74}),
                    _ => json!({"reason": "Wrong patient"}),
                };
                Call::new(route.replace("{id}", &id.to_string()), me).json(body)
            }
            ("POST", "/api/v1/consultations/{id}/diagnoses") => {
                let id = self.consultation(own).await;
                Call::new(format!("/api/v1/consultations/{id}/diagnoses"), me).json(json!({"code": "J06.9"}))
            }
            ("GET" | "PUT", "/api/v1/diagnoses/{id}") | ("GET", "/api/v1/diagnoses/{id}/versions") => {
                let id = self.diagnosis(own).await;
                let body = json!({"code": "J06.9", "kind": "primary", "status": "confirmed", "reason": "Confirmed"});
                Call::new(route.replace("{id}", &id.to_string()), me).json(body)
            }
            ("POST", "/api/v1/diagnoses/{id}/entered-in-error") => {
                let id = self.diagnosis(own).await;
                Call::new(route.replace("{id}", &id.to_string()), me).json(json!({"reason": "Wrong patient"}))
            }
            ("POST", "/api/v1/consultations/{id}/prescriptions") => {
                let id = self.consultation(own).await;
                Call::new(format!("/api/v1/consultations/{id}/prescriptions"), me).json(prescription())
            }
            ("GET" | "PUT", "/api/v1/prescriptions/{id}")
            | ("GET", "/api/v1/prescriptions/{id}/versions")
            | ("POST", "/api/v1/prescriptions/{id}/stop" | "/api/v1/prescriptions/{id}/complete" | "/api/v1/prescriptions/{id}/entered-in-error") => {
                let id = self.entry(own, "prescriptions", prescription()).await;
                let mut body = json!({"reason": "Changed"});
                if method.as_str() == "PUT" {
                    body = prescription();
                    body["reason"] = json!("Changed");
                }
                Call::new(route.replace("{id}", &id.to_string()), me).json(body)
            }
            ("GET", "/api/v1/consultations/{id}/prescription.pdf") => {
                let rx = self.entry(own, "prescriptions", prescription()).await;
                let found = self.app.get(&format!("/api/v1/prescriptions/{rx}"), &self.admin).await.expect(200);
                let consultation = found.body["consultation_id"].as_str().unwrap().to_owned();
                Call::new(route.replace("{id}", &consultation), me)
            }
            ("GET", "/api/v1/bills/{id}/invoice.pdf") => {
                let id = self.bill(own, true).await;
                Call::new(route.replace("{id}", &id.to_string()), me)
            }
            ("GET", "/api/v1/patients/{id}/prescriptions") => {
                let patient = if own { self.patient } else { self.walk_in().await };
                Call::new(format!("/api/v1/patients/{patient}/prescriptions?status=active"), me)
            }
            ("POST", "/api/v1/consultations/{id}/notes") => {
                let id = self.consultation(own).await;
                Call::new(format!("/api/v1/consultations/{id}/notes"), me).json(json!({"kind": "nursing", "text": "Calm."}))
            }
            ("GET" | "PUT", "/api/v1/notes/{id}")
            | ("GET", "/api/v1/notes/{id}/versions")
            | ("POST", "/api/v1/notes/{id}/entered-in-error") => {
                let id = self.entry(own, "notes", json!({"kind": "nursing", "text": "Calm."})).await;
                let body = match method.as_str() {
                    "PUT" => json!({"kind": "nursing", "text": "Calm, reassured.", "reason": "Clarified"}),
                    _ => json!({"reason": "Wrong patient"}),
                };
                Call::new(route.replace("{id}", &id.to_string()), me).json(body)
            }
            ("GET", "/api/v1/patients/{id}/problems" | "/api/v1/patients/{id}/clinical-summary") => {
                let patient = if own { self.patient } else { self.walk_in().await };
                Call::new(route.replace("{id}", &patient.to_string()), me)
            }
            ("GET", "/api/v1/patients/{id}/consultations") => {
                let patient = if own { self.patient } else { self.walk_in().await };
                Call::new(format!("/api/v1/patients/{patient}/consultations"), me)
            }

            // Pharmacy: catalogue items and their stock (no owner).
            ("GET", "/api/v1/medications") => Call::new(route, me),
            ("POST", "/api/v1/medications") => Call::new(route, me).json(medication(n)),
            (_, "/api/v1/medications/{id}" | "/api/v1/medications/{id}/stock" | "/api/v1/medications/{id}/lots"
                | "/api/v1/medications/{id}/movements" | "/api/v1/stock-lots/{id}" | "/api/v1/stock-movements/{id}") => {
                let id = self.admin_creates("/api/v1/medications", medication(n)).await;
                let received = self
                    .app
                    .post(
                        &format!("/api/v1/medications/{id}/lots"),
                        &self.admin,
                        json!({"facility_id": self.f1, "lot_number": format!("M{n}"), "expires_on": "2099-12-31",
                               "unit_cost": "1.00", "quantity": 20}),
                    )
                    .await
                    .expect(201);
                let lot = received.body["lot"]["id"].clone();
                let target = match route {
                    "/api/v1/stock-lots/{id}" => lot.as_str().unwrap().to_owned(),
                    "/api/v1/stock-movements/{id}" => received.body["receipt"]["id"].as_str().unwrap().to_owned(),
                    _ => id.to_string(),
                };
                let body = match (method.as_str(), route.rsplit('/').next().unwrap()) {
                    ("PATCH", _) => json!({"reorder_level": 5}),
                    (_, "lots") => json!({"facility_id": self.f1, "lot_number": format!("N{n}"), "expires_on": "2099-12-31",
                                          "unit_cost": "1.00", "quantity": 5}),
                    _ => json!({"lot_id": lot, "kind": "adjustment", "quantity": -1, "reason": "stock_count"}),
                };
                Call::new(route.replace("{id}", &target), me).json(body)
            }

            // Dispensing (a nurse at the consultation's facility) and billing.
            ("POST", "/api/v1/prescriptions/{id}/dispense") => {
                let id = self.stocked_prescription(own).await;
                Call::new(route.replace("{id}", &id.to_string()), me).json(json!({"quantity": 2}))
            }
            ("GET", "/api/v1/prescriptions/{id}/dispenses" | "/api/v1/dispenses/{id}") => {
                let rx = self.stocked_prescription(own).await;
                let done = self
                    .app
                    .post(&format!("/api/v1/prescriptions/{rx}/dispense"), &self.admin, json!({"quantity": 1}))
                    .await
                    .expect(201);
                let target = if route.starts_with("/api/v1/dispenses") { done.id() } else { rx };
                Call::new(route.replace("{id}", &target.to_string()), me)
            }
            ("GET", "/api/v1/bills") => Call::new(route, me),
            ("POST", "/api/v1/bills") => Call::new(route, me).json(json!({"patient_id": self.patient, "facility_id": self.f1,
                "lines": [{"kind": "other", "description": "Dressing", "unit_price": "100.00"}]})),
            ("GET", "/api/v1/bills/{id}")
            | ("POST", "/api/v1/bills/{id}/lines" | "/api/v1/bills/{id}/issue" | "/api/v1/bills/{id}/void" | "/api/v1/bills/{id}/payments") => {
                let issued = matches!(route.rsplit('/').next(), Some("payments" | "{id}"));
                let id = self.bill(own, issued).await;
                let body = match route.rsplit('/').next().unwrap() {
                    "lines" => json!({"lines": [{"kind": "other", "description": "Dressing", "unit_price": "100.00"}]}),
                    "void" => json!({"reason": "Billed twice"}),
                    "payments" => json!({"amount": "100.00", "method": "mobile_banking", "reference": "TX1"}),
                    _ => json!({}),
                };
                Call::new(route.replace("{id}", &id.to_string()), me).json(body)
            }
            ("GET", "/api/v1/payments/{id}") | ("POST", "/api/v1/payments/{id}/refunds") => {
                let id = self.payment(own).await;
                Call::new(route.replace("{id}", &id.to_string()), me).json(json!({"amount": "10.00", "reason": "Overcharged"}))
            }
            ("GET", "/api/v1/refunds/{id}") | ("POST", "/api/v1/refunds/{id}/approve" | "/api/v1/refunds/{id}/reject") => {
                let id = self.refund(own).await;
                Call::new(route.replace("{id}", &id.to_string()), me).json(json!({"note": "Checked"}))
            }

            // Administration.
            ("GET", "/api/v1/audit-events" | "/api/v1/login-activity" | "/api/v1/settings") => Call::new(route, me),
            ("GET" | "DELETE", "/api/v1/settings/{key}") => Call::new("/api/v1/settings/booking.horizon_days", me),
            ("PUT", "/api/v1/settings/{key}") => Call::new("/api/v1/settings/booking.horizon_days", me).json(json!({"value": 90})),

            // One's notifications; the job queue.
            ("GET", "/api/v1/notifications") | ("POST", "/api/v1/notifications/read-all") => {
                Call::new(route, me).json(json!({}))
            }
            ("POST", "/api/v1/notifications/{id}/read") => {
                let id = self.notification_for(me.as_deref()).await;
                Call::new(format!("/api/v1/notifications/{id}/read"), me).json(json!({}))
            }
            ("GET", "/api/v1/notifications/stream") => Call::new(route, me),
            ("GET", "/api/v1/facilities/{id}/stream") => Call::new(format!("/api/v1/facilities/{}/stream", self.f1), me),
            ("POST", "/api/v1/calendars/token") => Call::new(route, me).json(json!({})),
            // Public routes authenticated by a feed token: the patient's own feed.
            ("GET", "/api/v1/calendars/me.ics") => {
                let made = self.app.post("/api/v1/calendars/token", self.tokens[&Role::Patient].as_str(), json!({})).await.expect(201);
                Call::new(made.body["me"].as_str().unwrap(), me)
            }
            ("GET", "/api/v1/calendars/doctors/{file}") => {
                let made = self.app.post("/api/v1/calendars/token", &self.admin, json!({})).await.expect(201);
                let url = made.body["any_doctor"].as_str().unwrap().replace("{doctor_id}", &self.d1.to_string());
                Call::new(url, me)
            }
            ("GET", "/api/v1/webhooks") => Call::new(route, me),
            ("POST", "/api/v1/webhooks") => Call::new(route, me).json(webhook()),
            ("GET" | "DELETE", "/api/v1/webhooks/{id}") => {
                let id = self.app.post("/api/v1/webhooks", &self.admin, webhook()).await.expect(201).id();
                Call::new(format!("/api/v1/webhooks/{id}"), me)
            }
            ("GET", "/api/v1/jobs") => Call::new(route, me),
            ("GET", "/api/v1/jobs/{id}") | ("POST", "/api/v1/jobs/{id}/retry") => {
                let id = self.dead_job().await;
                Call::new(route.replace("{id}", &id.to_string()), me).json(json!({}))
            }

            (method, route) => panic!("the policy matrix test has no case for {method} {route}: add one"),
        }
    }
}

impl World {
    /// A notification of the user of `token` (a random id without one).
    async fn notification_for(&self, token: Option<&str>) -> Uuid {
        let Some(token) = token else { return Uuid::new_v4() };
        let id = Uuid::now_v7();
        let row = carebook::db::entities::notification::Model {
            id,
            user_id: TestApp::user_of(token),
            kind: "matrix".into(),
            title: "Matrix".into(),
            message: "A notification of one's own.".into(),
            appointment_id: None,
            read_at: None,
            created_at: self.app.clock.now(),
        };
        let tx = self.app.state.db.begin_write().await.unwrap();
        carebook::db::notifications::insert(&tx, vec![row]).await.unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// A dead job (that an administrator may retry).
    async fn dead_job(&self) -> Uuid {
        let now = self.app.clock.now();
        let job = carebook::db::jobs::NewJob {
            kind: carebook::domain::JobKind::AppointmentCancelled,
            payload: json!({}),
            run_at: now,
            unique_key: None,
            appointment_id: None,
            max_attempts: 1,
        };
        let tx = self.app.state.db.begin_write().await.unwrap();
        let id = carebook::db::jobs::enqueue(&tx, job, now).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        use sea_orm::ConnectionTrait;
        use sea_orm::sea_query::{Expr, ExprTrait, Query};
        let bury = Query::update()
            .table("jobs")
            .value("status", "dead")
            .value("finished_at", now)
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        let conn = self.app.state.db.conn();
        assert_eq!(conn.execute(&bury).await.unwrap().rows_affected(), 1);
        id
    }
}

/// Routes that address an object whose ownership matters.
fn variants(method: &Method, route: &str) -> &'static [Variant] {
    let object = route.starts_with("/api/v1/patients/{id}")
        || route.starts_with("/api/v1/appointments/{id}")
        || route.starts_with("/api/v1/doctors/{doctor_id}/")
        || route.starts_with("/api/v1/role-change-requests/{id}")
        || route.starts_with("/api/v1/consultations/{id}")
        || route.starts_with("/api/v1/vital-signs/{id}")
        || route.starts_with("/api/v1/diagnoses/{id}")
        || route.starts_with("/api/v1/prescriptions/{id}")
        || route.starts_with("/api/v1/notes/{id}")
        || route.starts_with("/api/v1/telemedicine/sessions/{id}")
        || route.starts_with("/api/v1/dispenses/{id}")
        || route.starts_with("/api/v1/bills/{id}")
        || route.starts_with("/api/v1/payments/{id}")
        || route.starts_with("/api/v1/refunds/{id}")
        || route == "/fhir/R4/Patient/{id}"
        || route.starts_with("/fhir/R4/Encounter/")
        || route.starts_with("/fhir/R4/Observation")
        || route.starts_with("/fhir/R4/Condition")
        || route.starts_with("/fhir/R4/MedicationRequest")
        || (method == Method::POST && route.starts_with("/fhir/R4/Appointment/$"))
        || route == "/fhir/R4/Appointment/{id}"
        || (method == Method::POST && route == "/api/v1/appointments");
    if object {
        &[Variant::Own, Variant::Other]
    } else {
        &[Variant::Only]
    }
}

/// What the matrix predicts for `role` doing `action` in `variant`.
fn expected(role: Role, action: Option<Action>, variant: Variant) -> Expect {
    let Some(action) = action else { return Expect::Success };
    match scope_of(role, action) {
        Scope::None => Expect::Status(403),
        Scope::All => Expect::Success,
        Scope::Own | Scope::Facility if variant != Variant::Other => Expect::Success,
        Scope::Own | Scope::Facility => {
            let rule = MATRIX.iter().find(|r| r.action == action).unwrap();
            match rule.visible_via {
                Some(read) if scope_of(role, read) != Scope::All => Expect::Status(404),
                _ => Expect::Status(403),
            }
        }
    }
}

/// A webhook endpoint on a public address (nothing is sent to it here).
fn webhook() -> Value {
    json!({"url": "https://93.184.215.14/hook", "events": ["appointment.booked"]})
}

fn medication(n: u32) -> Value {
    json!({"generic_name": format!("matrixcillin {n}"), "dosage_form": "TABLET", "route": "ORAL", "strength": "250",
           "strength_unit": "mg/1", "dispensing_unit": "tablet"})
}

fn prescription() -> Value {
    json!({"medication": "Amoxicillin 500 mg capsule", "dose_amount": 1, "dose_unit": "capsule",
           "route": "oral", "frequency": 3, "duration_days": 5, "quantity": 15, "refills": 0})
}

fn png_upload() -> (String, Vec<u8>) {
    crate::helpers::multipart("image", "a.png", "image/png", &crate::helpers::png(40, 30))
}

/// What one case did, for the audit check.
struct Sent {
    label: String,
    method: Method,
    action: Option<Action>,
    object_route: bool,
    status: u16,
    request_id: String,
    /// The id at the end of the `Location` of a creation in the route's own collection.
    created: Option<String>,
}

/// What came back: status, request id, body and `Location`.
async fn send(world: &World, method: &Method, call: Call) -> (u16, String, String, Option<String>) {
    let app = &world.app;
    if let Some(instant) = call.at {
        app.clock.set(instant);
    }
    let token = call
        .token
        .as_deref()
        .map(|t| if call.at.is_some() { app.renew(t) } else { t.to_owned() });
    let mut request = app
        .client
        .request(method.clone(), format!("{}{}", app.address, call.path));
    if let Some(token) = &token {
        request = request.bearer_auth(token);
    }
    request = match call.body {
        Body::Empty => request,
        Body::Json(_) if method == Method::GET => request,
        Body::Json(body) => request.json(&body),
        Body::Multipart(content_type, bytes) => request.header("content-type", content_type).body(bytes),
    };
    let response = request.send().await.expect("sent");
    app.clock.set(world.base);
    let status = response.status().as_u16();
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    // An event stream does not end: its status and headers are the answer.
    let streaming = response
        .headers()
        .get("content-type")
        .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
    let body = if streaming {
        String::new()
    } else {
        response.text().await.unwrap_or_default()
    };
    (status, request_id, body, location)
}

/// The id a `Location` gives when it is in `route`'s own collection (a
/// patient's new login lives under `/users`: its event names the patient).
fn own_creation(route: &str, location: Option<String>) -> Option<String> {
    let collection = route.split('{').next().unwrap_or(route).trim_end_matches('/');
    let location = location?;
    let rest = location.strip_prefix(collection)?;
    rest.rsplit('/').next().map(str::to_owned)
}

#[tokio::test]
async fn every_route_for_every_role_on_own_and_others_objects_follows_the_matrix() {
    let world = World::build().await;
    let mut failures = Vec::new();
    let mut sent = Vec::new();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let operations = carebook::api::operations();
    for operation in operations.iter() {
        let (method, route, action) = (&operation.method, operation.path.as_str(), &operation.access);
        // Without a token.
        let call = world.prepare(method, route, Role::Patient, Variant::Only).await;
        let call = Call { token: None, ..call };
        let (status, request_id, body, location) = send(&world, method, call).await;
        let created = own_creation(route, location);
        let label = format!("{method} {route} without a token");
        let ok = match action {
            None => (200..300).contains(&status),
            Some(_) => status == 401,
        };
        if !ok {
            failures.push(format!("{label}: got {status} {body}"));
        }
        sent.push(Sent {
            label,
            method: method.clone(),
            action: *action,
            object_route: false,
            status,
            request_id,
            created,
        });

        for role in ROLES {
            for variant in variants(method, route) {
                let call = world.prepare(method, route, role, *variant).await;
                let (status, request_id, body, location) = send(&world, method, call).await;
                let created = own_creation(route, location);
                let expect = expected(role, *action, *variant);
                let ok = match expect {
                    Expect::Success => (200..300).contains(&status),
                    Expect::Status(code) => status == code,
                };
                let label = format!("{method} {route} as {} ({variant:?})", role.as_str());
                *tally.entry(format!("{expect:?}")).or_default() += 1;
                if !ok {
                    failures.push(format!("{label}: expected {expect:?}, got {status} {body}"));
                }
                sent.push(Sent {
                    label,
                    method: method.clone(),
                    action: *action,
                    // FHIR searches name their patient in the query (`?patient=`).
                    object_route: (route.contains('{') || route.starts_with("/fhir/")) && *variant != Variant::Only,
                    status,
                    request_id,
                    created,
                });
            }
        }
    }
    println!(
        "policy matrix: {} operations, {} requests; {tally:?}",
        operations.len(),
        sent.len()
    );
    assert!(
        failures.is_empty(),
        "{} cases differ from the matrix:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Audit coverage: every write, every audited read and every refusal left
    // its event — unauthenticated denials as the first of their minute, the
    // rest counted in the minute's aggregate event.
    carebook::audit::flush_denials(&world.app.state, true).await.unwrap();
    let all_events = world.app.audit_events().await;
    let unauthenticated = sent
        .iter()
        .filter(|s| s.status == 401 && s.label.ends_with("without a token"))
        .count();
    let counted: i64 = all_events
        .iter()
        .filter(|e| e.status == 401 && e.actor_id.is_none())
        .map(|e| i64::from(e.occurrences))
        .sum();
    assert!(
        counted >= unauthenticated as i64,
        "{unauthenticated} requests without a token were refused, the trail counts {counted}"
    );
    let events: HashMap<String, carebook::db::entities::audit_event::Model> = all_events
        .into_iter()
        .filter_map(|e| e.request_id.clone().map(|id| (id, e)))
        .collect();
    let mut missing = Vec::new();
    let mut checked = 0;
    for s in &sent {
        if s.status == 401 && s.label.ends_with("without a token") && !events.contains_key(&s.request_id) {
            continue; // counted in an aggregate (checked above)
        }
        let denied = matches!(s.status, 401 | 403);
        let must = s.method != Method::GET || denied || s.action.is_some_and(Action::audits_reads);
        let Some(event) = events.get(&s.request_id) else {
            if must {
                missing.push(format!("{} ({}) left no audit event", s.label, s.status));
            }
            continue;
        };
        checked += 1;
        let outcome = if denied || s.status == 404 && s.object_route {
            "denied"
        } else {
            "allowed"
        };
        if event.outcome != outcome || i32::from(event.status) != i32::from(s.status) {
            missing.push(format!(
                "{}: audit says {} {}, expected {outcome} {}",
                s.label, event.outcome, event.status, s.status
            ));
        }
        let patient_data = matches!(
            s.action,
            Some(
                Action::PatientRead
                    | Action::PatientUpdate
                    | Action::PatientAccountCreate
                    | Action::ClinicalRead
                    | Action::ClinicalWrite
                    | Action::VitalSignsWrite
            )
        ) || s.action.is_some_and(|a| format!("{a:?}").starts_with("Appointment"));
        if let Some(created) = &s.created
            && s.status == 201
            && event.object_id.as_deref() != Some(created.as_str())
        {
            missing.push(format!(
                "{}: the audit event names {:?}, not the created {created}",
                s.label, event.object_id
            ));
        }
        if patient_data && s.object_route && (200..300).contains(&s.status) && event.patient_id.is_none() {
            missing.push(format!("{}: the audit event does not name the patient", s.label));
        }
    }
    println!("audit coverage: {checked} events matched to requests");
    assert!(missing.is_empty(), "audit gaps:\n{}", missing.join("\n"));
}

/// DESIGN §2 written out on its own, not read from the code: the class of
/// every field of a patient record…
const FIELD_CLASSES: &[(&str, &str)] = &[
    ("id", "demographic"),
    ("user_id", "demographic"),
    ("medical_record_number", "demographic"),
    ("first_name", "demographic"),
    ("last_name", "demographic"),
    ("date_of_birth", "demographic"),
    ("sex", "demographic"),
    ("national_id", "demographic"),
    ("created_at", "demographic"),
    ("updated_at", "demographic"),
    ("phone", "contact"),
    ("email", "contact"),
    ("address", "contact"),
    ("location_id", "contact"),
    ("emergency_contact_name", "contact"),
    ("emergency_contact_phone", "contact"),
    ("blood_group", "clinical"),
    ("allergies", "clinical"),
    ("medical_history", "clinical"),
    ("insurance_number", "financial"),
];

/// …and, per role, the classes of a reachable record it receives and may write.
const FIELD_SPEC: &[(Role, &[&str], &[&str])] = &[
    (
        Role::Admin,
        &["demographic", "contact", "clinical", "financial"],
        &["demographic", "contact", "clinical", "financial"],
    ),
    // Doctors: the clinical record of the patients they treat; no billing.
    (Role::Doctor, &["demographic", "contact", "clinical"], &["clinical"]),
    // Nurses: clinical read at their facility; they write vital signs and notes, not the record.
    (Role::Nurse, &["demographic", "contact", "clinical"], &[]),
    // Reception: never clinical, read or write.
    (
        Role::Receptionist,
        &["demographic", "contact", "financial"],
        &["demographic", "contact", "financial"],
    ),
    // Patients: all of their own record; the clinical part is the clinicians' to write.
    (
        Role::Patient,
        &["demographic", "contact", "clinical", "financial"],
        &["demographic", "contact", "financial"],
    ),
];

fn fields_of(classes: &[&str]) -> std::collections::BTreeSet<String> {
    FIELD_CLASSES
        .iter()
        .filter(|(_, class)| classes.contains(class))
        .map(|(field, _)| (*field).to_owned())
        .collect()
}

/// A valid value for each writable field.
fn sample(field: &str, world: &World, n: u32) -> Value {
    match field {
        "first_name" | "last_name" => json!(format!("Name{n}")),
        "date_of_birth" => json!(format!("19{:02}-01-15", 50 + n % 40)),
        "sex" => json!("female"),
        "national_id" => json!(format!("19901234{n}")),
        "phone" | "emergency_contact_phone" => json!(format!("0171{:07}", n)),
        "email" => json!(format!("field{n}@example.com")),
        "address" => json!(format!("House {n}, Road 3")),
        "location_id" => json!(world.location),
        "emergency_contact_name" => json!(format!("Contact {n}")),
        "blood_group" => json!("a_positive"),
        "allergies" => json!(format!("Penicillin {n}")),
        "medical_history" => json!(format!("Asthma since {n}")),
        "insurance_number" => json!(format!("INS-{n}")),
        other => panic!("no sample for {other}"),
    }
}

#[tokio::test]
async fn every_role_receives_and_writes_exactly_the_patient_fields_design_gives_it() {
    let world = World::build().await;
    let record = format!("/api/v1/patients/{}", world.patient);
    let writable: Vec<&str> = FIELD_CLASSES
        .iter()
        .map(|(field, _)| *field)
        .filter(|f| !["id", "user_id", "medical_record_number", "created_at", "updated_at"].contains(f))
        .collect();
    let mut failures = Vec::new();
    let mut cases = 0;
    for (role, receives, writes) in FIELD_SPEC {
        let token = world.token(*role).unwrap();
        let expected = fields_of(receives);
        // One record and every record of a list carry exactly these fields.
        let one = world.app.get(&record, &token).await.expect(200).body;
        let list = world.app.get("/api/v1/patients", &token).await.expect(200).body;
        let mut received = vec![("GET one", one)];
        received.extend(
            list["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| ("GET list", r.clone())),
        );
        for (how, body) in received {
            let got: std::collections::BTreeSet<String> = body.as_object().unwrap().keys().cloned().collect();
            cases += 1;
            if got != expected {
                failures.push(format!("{role} {how}: receives {got:?}, DESIGN says {expected:?}"));
            }
        }
        // Each field alone: written when its class is the role's to write, else 403 naming it.
        for field in &writable {
            let class = FIELD_CLASSES.iter().find(|(f, _)| f == field).unwrap().1;
            let value = sample(field, &world, world.next());
            let reply = world.app.patch(&record, &token, json!({ *field: value })).await;
            let allowed = writes.contains(&class);
            let ok = match (allowed, reply.status.as_u16()) {
                (true, 200) => reply.body[*field] == stored_form(field, &value),
                (false, 403) => *role == Role::Nurse || reply.body["errors"].get(*field).is_some(),
                _ => false,
            };
            cases += 1;
            if !ok {
                failures.push(format!(
                    "{role} PATCH {field} ({class}): got {} {}, DESIGN says {}",
                    reply.status,
                    reply.body,
                    if allowed { "written" } else { "refused" }
                ));
            }
        }
    }
    // Registering a walk-in: reception may not record clinical fields either.
    let reception = world.token(Role::Receptionist).unwrap();
    let refused = world
        .app
        .post(
            "/api/v1/patients",
            &reception,
            json!({"first_name": "Walk", "last_name": "In", "allergies": "Peanuts"}),
        )
        .await;
    if refused.status != 403 || !refused.body["errors"]["allergies"].is_array() {
        failures.push(format!(
            "receptionist POST with allergies: got {} {}",
            refused.status, refused.body
        ));
    }
    println!(
        "field policy: {cases} cases over {} fields and {} roles",
        FIELD_CLASSES.len(),
        FIELD_SPEC.len()
    );
    assert!(
        failures.is_empty(),
        "{} cases differ from DESIGN §2:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The value a written field reads back as (phones come back in E.164).
fn stored_form(field: &str, sent: &Value) -> Value {
    match (field, sent.as_str()) {
        ("phone" | "emergency_contact_phone", Some(national)) => json!(format!("+880{}", &national[1..])),
        _ => sent.clone(),
    }
}
