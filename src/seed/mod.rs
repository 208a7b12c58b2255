//! `carebook seed --demo`: a realistic clinic network on the real Bangladesh
//! geography, for trying Carebook out.
//!
//! 24 specialties, four facilities (three in `Asia/Dhaka`, one in
//! `America/New_York` which has DST), 32 doctors with weekly hours and time
//! off in the coming four weeks, 240 patients (200 with logins), and a few
//! hundred appointments in every status, past and future. Appointments are
//! placed by the scheduling core on genuinely free slots, so the demo obeys
//! every booking rule and the no-overlap constraints.
//!
//! Idempotent: ids are UUID v5 of stable names and everything is written in
//! one transaction; if the demo administrator exists, nothing is written.

mod billing;
mod clinical;
mod pharmacy;
pub mod synthetic;

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel};
use uuid::Uuid;

use crate::auth::password;
use crate::booking::calendar::local_midnight;
use crate::db::entities::{
    appointment, appointment_event, bill, bill_line, clinical_note, clinical_version, consultation, diagnosis,
    dispense, doctor, doctor_service, facility, medication, patient, payment, prescription, refund, service, specialty,
    stock_lot, stock_movement, telemedicine_event, telemedicine_session, time_off, user, vital_signs, working_hours,
};
use crate::db::{Db, ids};
use crate::domain::{
    AppointmentAction, AppointmentKind, AppointmentStatus, BillStatus, BloodGroup, FacilityKind, Phone, Role, Sex,
    TimeOffKind, TimeZone,
};
use crate::scheduling::{Calendar, Interval, Limits, Slot, TimeOff, TimeOffSpan, WorkingHoursRule, available_slots};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "carebook-demo";

const SPECIALTIES: &[(&str, &str, i64)] = &[
    ("CARD", "Cardiology", 1500),
    ("DERM", "Dermatology", 1000),
    ("ENDO", "Endocrinology", 1200),
    ("GAST", "Gastroenterology", 1200),
    ("GMED", "General Medicine", 600),
    ("OBGY", "Obstetrics & Gynaecology", 1200),
    ("NEPH", "Nephrology", 1300),
    ("NEUR", "Neurology", 1500),
    ("ONCO", "Oncology", 2000),
    ("OPHT", "Ophthalmology", 900),
    ("ORTH", "Orthopaedics", 1200),
    ("ENT", "Otorhinolaryngology (ENT)", 800),
    ("PAED", "Paediatrics", 800),
    ("PSYC", "Psychiatry", 1500),
    ("PULM", "Respiratory Medicine", 1200),
    ("RHEU", "Rheumatology", 1200),
    ("UROL", "Urology", 1200),
    ("DENT", "Dentistry", 700),
    ("GSUR", "General Surgery", 1000),
    ("RADI", "Radiology", 1000),
    ("HAEM", "Haematology", 1500),
    ("INFD", "Infectious Diseases", 1000),
    ("PMR", "Physical Medicine & Rehabilitation", 800),
    ("NSUR", "Neurosurgery", 2000),
];

/// A demo facility.
struct FacilitySeed {
    key: &'static str,
    name: &'static str,
    kind: FacilityKind,
    zone: &'static str,
    address: &'static str,
    /// (kind, bd-geo code) of its place.
    location: Option<(&'static str, &'static str)>,
    auto_confirm: bool,
}

const FACILITIES: &[FacilitySeed] = &[
    FacilitySeed {
        key: "dhaka",
        name: "Dhaka Central Hospital",
        kind: FacilityKind::Hospital,
        zone: "Asia/Dhaka",
        address: "Savar Road, Savar, Dhaka",
        location: Some(("upazila", "365")),
        auto_confirm: true,
    },
    FacilitySeed {
        key: "chattogram",
        name: "Chattogram City Clinic",
        kind: FacilityKind::Clinic,
        zone: "Asia/Dhaka",
        address: "Hathazari, Chattogram",
        location: Some(("upazila", "76")),
        auto_confirm: true,
    },
    FacilitySeed {
        key: "sylhet",
        name: "Sylhet Care Centre",
        kind: FacilityKind::Hospital,
        zone: "Asia/Dhaka",
        address: "Zindabazar, Sylhet Sadar, Sylhet",
        location: Some(("upazila", "281")),
        auto_confirm: false,
    },
    FacilitySeed {
        key: "newyork",
        name: "Carebook Clinic New York",
        kind: FacilityKind::Clinic,
        zone: "America/New_York",
        address: "350 5th Avenue, New York, NY",
        location: None,
        auto_confirm: true,
    },
];

const MALE: &[&str] = &[
    "Rahim", "Karim", "Abdul", "Tanvir", "Arif", "Hasan", "Imran", "Sajid", "Rafiq", "Jamal", "Kamal", "Nazmul",
    "Shakil", "Mahmud", "Anwar", "Faisal", "Habib", "Rashed", "Sohel", "Tariq", "Zahid", "Minhaz", "Shahriar", "Rakib",
    "Asif", "Fahim", "Nayeem", "Omar", "Yusuf", "Mizanur",
];
const FEMALE: &[&str] = &[
    "Ayesha", "Fatema", "Nusrat", "Sadia", "Tahmina", "Farhana", "Nasreen", "Shirin", "Sharmin", "Rumana", "Jannat",
    "Laila", "Mahmuda", "Nadia", "Rokeya", "Sabina", "Tania", "Yasmin", "Zarin", "Afroza", "Bilkis", "Dilruba",
    "Habiba", "Ishrat", "Khadija", "Marium", "Nargis", "Parvin", "Ruksana", "Selina",
];
const SURNAMES: &[&str] = &[
    "Rahman",
    "Hossain",
    "Ahmed",
    "Islam",
    "Khan",
    "Chowdhury",
    "Uddin",
    "Sarkar",
    "Mia",
    "Talukder",
    "Siddique",
    "Haque",
    "Alam",
    "Karim",
    "Bhuiyan",
    "Das",
    "Roy",
    "Saha",
    "Paul",
    "Barua",
    "Majumder",
    "Mollah",
    "Sheikh",
    "Kabir",
    "Biswas",
];
/// Family names borne by women only.
const FEMALE_SURNAMES: &[&str] = &["Akter", "Begum", "Sultana", "Jahan", "Nahar", "Khatun"];

fn surname(rng: &mut ChaCha8Rng, female: bool) -> &'static str {
    if female && rng.random_bool(0.4) {
        FEMALE_SURNAMES.choose(rng).expect("names")
    } else {
        SURNAMES.choose(rng).expect("names")
    }
}
const NEW_YORK_DOCTORS: &[(&str, &str)] = &[
    ("Emily", "Carter"),
    ("Michael", "Chen"),
    ("Sarah", "Goldberg"),
    ("David", "Okafor"),
];
const REASONS: &[&str] = &[
    "Follow-up visit",
    "Chest pain on exertion",
    "Persistent cough",
    "Skin rash",
    "Blood pressure check",
    "Headache for two weeks",
    "Knee pain",
    "Routine check-up",
    "Fever and body ache",
    "Diabetes review",
    "Back pain",
    "Blurred vision",
    "Stomach ache",
    "Sore throat",
    "Prenatal check-up",
];

/// What the seed did.
#[derive(Debug, Default)]
pub struct Report {
    /// False when the demo was already present.
    pub created: bool,
    pub specialties: usize,
    pub facilities: usize,
    pub doctors: usize,
    pub patients: usize,
    pub working_hours: usize,
    pub time_off: usize,
    pub appointments: usize,
    pub by_status: Vec<(AppointmentStatus, usize)>,
    /// Reminder jobs queued for the live appointments ahead.
    pub reminders: usize,
    /// Consultations of the completed appointments, with their entries.
    pub consultations: usize,
    /// Telemedicine sessions of the telemedicine appointments that took place or were missed.
    pub telemedicine_sessions: usize,
    /// Catalogue items, and the stock lots of all of them at every facility.
    pub medications: usize,
    pub stock_lots: usize,
    /// Dispenses of the seeded prescriptions.
    pub dispenses: usize,
    /// Bills of the completed visits, by status.
    pub bills: Vec<(BillStatus, usize)>,
    pub payments: usize,
    pub refunds: usize,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.created {
            return write!(f, "demo data already present; nothing changed");
        }
        writeln!(
            f,
            "demo data created: {} specialties, {} facilities, {} doctors, {} patients, {} working-hours rules, {} time-off entries, {} appointments",
            self.specialties,
            self.facilities,
            self.doctors,
            self.patients,
            self.working_hours,
            self.time_off,
            self.appointments
        )?;
        let statuses: Vec<String> = self.by_status.iter().map(|(s, n)| format!("{s} {n}")).collect();
        writeln!(
            f,
            "appointments by status: {}; {} reminders queued",
            statuses.join(", "),
            self.reminders
        )?;
        writeln!(
            f,
            "clinical records: {} consultations with vital signs, diagnoses, prescriptions and notes; {} telemedicine sessions",
            self.consultations, self.telemedicine_sessions
        )?;
        writeln!(
            f,
            "pharmacy: {} catalogue items, {} stock lots (expired, expiring this month, for the year at each facility), {} dispenses",
            self.medications, self.stock_lots, self.dispenses
        )?;
        let bills: Vec<String> = self.bills.iter().map(|(s, n)| format!("{s} {n}")).collect();
        writeln!(
            f,
            "billing: bills {}; {} payments, {} refunds",
            bills.join(", "),
            self.payments,
            self.refunds
        )?;
        write!(
            f,
            "log in with password {DEMO_PASSWORD:?} as: admin, reception.dhaka, nurse.dhaka, doctor01 … doctor32, patient001 … patient200"
        )
    }
}

struct DoctorPlan {
    id: Uuid,
    user_id: Uuid,
    facility: usize,
    rules: Vec<WorkingHoursRule>,
    time_off: Vec<TimeOff>,
    services: Vec<(Uuid, i32)>,
    busy: Vec<Interval>,
}

/// Load the demo clinic, relative to `now`. Errors: any database failure (nothing is written then).
pub async fn demo(db: &Db, now: DateTime<Utc>) -> anyhow::Result<Report> {
    let admin_id = ids::demo("user", "admin");
    if user::Entity::find_by_id(admin_id).one(db.conn()).await?.is_some() {
        return Ok(Report::default());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(20261121);
    // One hash for every demo account: they share a documented password, and
    // 250 argon2id hashes would only slow the demo down.
    let hash = password::hash(DEMO_PASSWORD)?;
    let now = now.with_timezone(&Utc);
    let txn = db.begin_write().await?;
    let mut report = Report {
        created: true,
        ..Report::default()
    };

    // Specialties and services.
    let mut specialty_ids = Vec::new();
    let mut services_by_specialty: HashMap<Uuid, Vec<(Uuid, i32)>> = HashMap::new();
    let mut rows_service = Vec::new();
    let mut rows_specialty = Vec::new();
    for (code, name, price) in SPECIALTIES {
        let id = ids::demo("specialty", code);
        specialty_ids.push(id);
        rows_specialty.push(specialty::Model {
            id,
            code: (*code).into(),
            name: (*name).into(),
            description: format!("{name} clinic"),
            created_at: now,
            updated_at: now,
        });
        for (kind, minutes, factor) in [("consultation", 30, 1), ("extended consultation", 60, 2)] {
            let service_id = ids::demo("service", format!("{code}/{kind}"));
            services_by_specialty.entry(id).or_default().push((service_id, minutes));
            rows_service.push(service::Model {
                id: service_id,
                name: format!("{name} {kind}"),
                specialty_id: id,
                duration_minutes: minutes,
                price_minor: price * factor * 100,
                currency: "BDT".into(),
                is_active: true,
                created_at: now,
                updated_at: now,
            });
        }
    }
    insert_all::<specialty::ActiveModel>(&txn, rows_specialty).await?;
    report.specialties = SPECIALTIES.len();

    // Facilities.
    let mut facility_rows = Vec::new();
    for seed in FACILITIES {
        facility_rows.push(facility::Model {
            id: ids::demo("facility", seed.key),
            name: seed.name.into(),
            kind: seed.kind,
            address: seed.address.into(),
            location_id: seed.location.map(|(k, code)| ids::bd_geo(k, code)),
            time_zone: seed.zone.into(),
            phone: Some(
                if seed.zone == "Asia/Dhaka" {
                    "+8809610001000"
                } else {
                    "+12125550100"
                }
                .into(),
            ),
            auto_confirm: seed.auto_confirm,
            currency: if seed.zone == "Asia/Dhaka" { "BDT" } else { "USD" }.into(),
            created_at: now,
            updated_at: now,
        });
    }
    insert_all::<facility::ActiveModel>(&txn, facility_rows.clone()).await?;
    report.facilities = facility_rows.len();
    // US-priced services for the New York clinic.
    let us_services = [
        ("us/general", "General consultation (US)", 4, 30, 12000),
        ("us/cardiology", "Cardiology consultation (US)", 0, 30, 25000),
    ];
    for (key, name, specialty_index, minutes, price) in us_services {
        rows_service.push(service::Model {
            id: ids::demo("service", key),
            name: name.into(),
            specialty_id: specialty_ids[specialty_index],
            duration_minutes: minutes,
            price_minor: price,
            currency: "USD".into(),
            is_active: true,
            created_at: now,
            updated_at: now,
        });
    }
    let service_fees: HashMap<Uuid, billing::Fee> = rows_service
        .iter()
        .map(|s| {
            (
                s.id,
                (format!("Consultation: {}", s.name), s.price_minor, s.currency.clone()),
            )
        })
        .collect();
    insert_all::<service::ActiveModel>(&txn, rows_service).await?;

    // Staff.
    let mut users = vec![user_row(
        admin_id,
        "admin",
        Role::Admin,
        "Demo",
        "Administrator",
        None,
        &hash,
        now,
    )];
    for FacilitySeed { key, .. } in FACILITIES {
        let facility = Some(ids::demo("facility", key));
        users.push(user_row(
            ids::demo("user", format!("reception.{key}")),
            &format!("reception.{key}"),
            Role::Receptionist,
            "Front",
            &format!("Desk {key}"),
            facility,
            &hash,
            now,
        ));
        users.push(user_row(
            ids::demo("user", format!("nurse.{key}")),
            &format!("nurse.{key}"),
            Role::Nurse,
            "Ward",
            &format!("Nurse {key}"),
            facility,
            &hash,
            now,
        ));
    }

    // Doctors: 28 in Bangladesh (every specialty at least once), 4 in New York.
    let tz_of = |i: usize| TimeZone::parse(FACILITIES[i].zone).expect("valid zone").tz();
    let today = now.date_naive();
    let mut doctors = Vec::new();
    let mut doctor_rows = Vec::new();
    let mut doctor_service_rows = Vec::new();
    let mut working_rows = Vec::new();
    let mut time_off_rows = Vec::new();
    for n in 0..32usize {
        let id = ids::demo("doctor", n + 1);
        let user_id = ids::demo("user", format!("doctor{:02}", n + 1));
        let (facility, specialty_index, first, last) = if n < 28 {
            let female = rng.random_bool(0.5);
            let first = *(if female { FEMALE } else { MALE }).choose(&mut rng).expect("names");
            // Cardiology (0) is at every Bangladeshi facility; the rest spread round-robin.
            (
                n % 3,
                if n < 3 { 0 } else { n % SPECIALTIES.len() },
                first,
                surname(&mut rng, female),
            )
        } else {
            let (first, last) = NEW_YORK_DOCTORS[n - 28];
            (3, [4, 0, 5, 12][n - 28], first, last)
        };
        let username = format!("doctor{:02}", n + 1);
        users.push(user_row(
            user_id,
            &username,
            Role::Doctor,
            first,
            last,
            None,
            &hash,
            now,
        ));
        let specialty = specialty_ids[specialty_index];
        let services: Vec<(Uuid, i32)> = if facility == 3 {
            vec![(
                ids::demo(
                    "service",
                    if specialty_index == 0 {
                        "us/cardiology"
                    } else {
                        "us/general"
                    },
                ),
                30,
            )]
        } else {
            services_by_specialty[&specialty].clone()
        };
        for (service, _) in &services {
            doctor_service_rows.push(doctor_service::Model {
                doctor_id: id,
                service_id: *service,
            });
        }
        let (fee, currency) = if facility == 3 {
            (rng.random_range(15..=30) * 1000, "USD")
        } else {
            (rng.random_range(5..=25) * 10000, "BDT")
        };
        doctor_rows.push(doctor::Model {
            id,
            user_id,
            licence_number: if facility == 3 {
                format!("NY-{:06}", 200000 + n * 37)
            } else {
                format!("BMDC-A-{:05}", 20000 + n * 113)
            },
            specialty_id: specialty,
            facility_id: ids::demo("facility", FACILITIES[facility].key),
            location_id: FACILITIES[facility].location.map(|(k, code)| ids::bd_geo(k, code)),
            years_of_experience: rng.random_range(3..=30),
            consultation_fee_minor: fee,
            currency: currency.into(),
            bio: format!("Consultant in {}.", SPECIALTIES[specialty_index].1),
            languages: if facility == 3 {
                serde_json::json!(["English", "Spanish"])
            } else {
                serde_json::json!(["Bengali", "English"])
            },
            is_accepting: true,
            created_at: now,
            updated_at: now,
        });

        // Weekly hours: Bangladeshi chambers Saturday–Thursday, morning and/or
        // evening; New York Monday–Friday with a lunch break.
        let facility_id = ids::demo("facility", FACILITIES[facility].key);
        let mut rules = Vec::new();
        let (days, blocks, slot): (&[Weekday], &[(&str, &str)], u32) = if facility == 3 {
            (
                &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
                &[("09:00", "12:00"), ("13:00", "17:00")],
                30,
            )
        } else {
            let days: &[Weekday] = if n % 2 == 0 {
                &[
                    Weekday::Sat,
                    Weekday::Sun,
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                ]
            } else {
                &[Weekday::Sat, Weekday::Mon, Weekday::Wed]
            };
            let blocks: &[(&str, &str)] = match n % 3 {
                0 => &[("09:00", "13:00")],
                1 => &[("17:00", "21:00")],
                _ => &[("10:00", "13:00"), ("18:00", "21:00")],
            };
            (days, blocks, if n % 4 == 0 { 20 } else { 30 })
        };
        for day in days {
            for (start, end) in blocks {
                let rule = WorkingHoursRule {
                    facility_id,
                    tz: tz_of(facility),
                    weekday: *day,
                    start: NaiveTime::parse_from_str(start, "%H:%M").expect("time"),
                    end: NaiveTime::parse_from_str(end, "%H:%M").expect("time"),
                    slot_minutes: slot,
                    valid_from: None,
                    valid_to: None,
                };
                working_rows.push(working_hours::Model {
                    id: ids::demo("working-hours", format!("{n}/{day}/{start}")),
                    doctor_id: id,
                    facility_id,
                    weekday: day.number_from_monday() as i16,
                    start_time: rule.start,
                    end_time: rule.end,
                    slot_minutes: slot as i32,
                    valid_from: None,
                    valid_to: None,
                    created_at: now,
                    updated_at: now,
                });
                rules.push(rule);
            }
        }

        // Time off in the coming four weeks for every fourth doctor.
        let mut offs = Vec::new();
        if n % 4 == 1 {
            let first = today + TimeDelta::days(rng.random_range(3..20));
            let last = first + TimeDelta::days(rng.random_range(0..3));
            let kind = if first == last {
                TimeOffKind::Day
            } else {
                TimeOffKind::DateRange
            };
            let midnight = |d: NaiveDate| local_midnight(tz_of(facility), d);
            time_off_rows.push(time_off::Model {
                id: ids::demo("time-off", n),
                doctor_id: id,
                facility_id: None,
                kind,
                start_date: Some(first),
                end_date: Some(last),
                start_at: midnight(first),
                end_at: midnight(last + TimeDelta::days(1)),
                reason: ["Conference", "Annual leave", "Family event", "Training"][n % 4].into(),
                created_by: Some(admin_id),
                created_at: now,
            });
            offs.push(TimeOff {
                span: TimeOffSpan::Days { first, last },
                facility_id: None,
            });
        }
        doctors.push(DoctorPlan {
            id,
            user_id,
            facility,
            rules,
            time_off: offs,
            services,
            busy: Vec::new(),
        });
    }
    report.doctors = doctors.len();
    report.working_hours = working_rows.len();
    report.time_off = time_off_rows.len();

    // Patients: 200 with logins, 40 walk-ins registered by reception.
    let upazilas: Vec<Uuid> = (1..=494).map(|i| ids::bd_geo("upazila", &i.to_string())).collect();
    let mut patient_rows = Vec::new();
    for n in 1..=240usize {
        let sex = if rng.random_bool(0.5) { Sex::Female } else { Sex::Male };
        let first = *(if sex == Sex::Female { FEMALE } else { MALE })
            .choose(&mut rng)
            .expect("names");
        let last = surname(&mut rng, sex == Sex::Female);
        let phone = Phone::parse(&format!("01{}{:08}", [3, 5, 6, 7, 8, 9][n % 6], 10_000_000 + n * 9173))
            .map_err(|e| anyhow::anyhow!("demo phone: {e}"))?
            .into_string();
        let user_id = (n <= 200).then(|| ids::demo("user", format!("patient{n:03}")));
        let email = format!("patient{n:03}@example.com");
        if let Some(user_id) = user_id {
            let mut row = user_row(
                user_id,
                &format!("patient{n:03}"),
                Role::Patient,
                first,
                last,
                None,
                &hash,
                now,
            );
            row.email = Some(email.clone());
            row.phone = Some(phone.clone());
            users.push(row);
        }
        let born = NaiveDate::from_ymd_opt(
            rng.random_range(1945..=2022),
            rng.random_range(1..=12),
            rng.random_range(1..=28),
        )
        .expect("date");
        patient_rows.push(patient::Model {
            id: ids::demo("patient", n),
            user_id,
            medical_record_number: format!("CB{:010}", 4_200_000_000u64 + n as u64),
            first_name: first.into(),
            last_name: last.into(),
            date_of_birth: Some(born),
            sex: Some(sex),
            phone: Some(phone),
            email: user_id.map(|_| email),
            address: format!("House {}, Road {}", rng.random_range(1..200), rng.random_range(1..30)),
            location_id: Some(*upazilas.choose(&mut rng).expect("upazilas")),
            national_id: Some(format!("{:010}", 1_900_000_000u64 + n as u64 * 7919)),
            insurance_number: (n % 3 == 0).then(|| format!("INS-{:06}", n * 31)),
            blood_group: Some(BloodGroup::ALL[n % BloodGroup::ALL.len()]),
            allergies: if n % 7 == 0 { "Penicillin".into() } else { String::new() },
            medical_history: if n % 5 == 0 {
                "Hypertension".into()
            } else {
                String::new()
            },
            emergency_contact_name: format!("{} {}", MALE.choose(&mut rng).expect("names"), surname(&mut rng, false)),
            emergency_contact_phone: None,
            created_at: now,
            updated_at: now,
        });
    }
    report.patients = patient_rows.len();
    insert_all::<user::ActiveModel>(&txn, users).await?;
    let doctor_fees: HashMap<Uuid, billing::Fee> = doctor_rows
        .iter()
        .map(|d| {
            (
                d.id,
                (
                    "Consultation fee".to_owned(),
                    d.consultation_fee_minor,
                    d.currency.clone(),
                ),
            )
        })
        .collect();
    insert_all::<doctor::ActiveModel>(&txn, doctor_rows).await?;
    insert_all::<doctor_service::ActiveModel>(&txn, doctor_service_rows).await?;
    insert_all::<patient::ActiveModel>(&txn, patient_rows).await?;
    insert_all::<working_hours::ActiveModel>(&txn, working_rows).await?;
    insert_all::<time_off::ActiveModel>(&txn, time_off_rows).await?;

    // Appointments: three weeks back, four weeks ahead, on free slots only.
    let mut appointments = Vec::new();
    let mut events = Vec::new();
    let mut patient_busy: HashMap<Uuid, Vec<Interval>> = HashMap::new();
    let mut queue: HashMap<(Uuid, NaiveDate), i32> = HashMap::new();
    let wide_open = Limits {
        minimum_notice: TimeDelta::zero(),
        horizon: TimeDelta::days(400),
    };
    let receptionist = |facility: usize| ids::demo("user", format!("reception.{}", FACILITIES[facility].key));
    let mut count = 0usize;
    let medications = pharmacy::catalogue(now);
    let mut records = clinical::Records {
        catalogue: pharmacy::prescribable(&medications),
        ..clinical::Records::default()
    };
    for day in -21i64..28 {
        let date = today + TimeDelta::days(day);
        for doctor in doctors.iter_mut() {
            let use_service = rng.random_bool(0.5);
            let service = use_service.then(|| *doctor.services.choose(&mut rng).expect("a service"));
            let duration = service.map(|(_, minutes)| TimeDelta::minutes(minutes.into()));
            let calendar = Calendar {
                working_hours: &doctor.rules,
                time_off: &doctor.time_off,
                busy: &doctor.busy,
            };
            let free: Vec<Slot> =
                available_slots(&calendar, date, date, duration, now - TimeDelta::days(30), wide_open);
            if free.is_empty() {
                continue;
            }
            // Some of a day's slots get booked: a few hundred appointments in all.
            let wanted = if rng.random_bool(0.45) {
                rng.random_range(1..=2usize).min(free.len())
            } else {
                0
            };
            let picks: Vec<Slot> = free.choose_multiple(&mut rng, wanted).copied().collect();
            for slot in picks {
                let interval = Interval::new(slot.start, slot.end);
                if doctor.busy.iter().any(|b| b.overlaps(&interval)) {
                    continue;
                }
                let Some(patient_n) = (0..10).map(|_| rng.random_range(1..=240usize)).find(|p| {
                    !patient_busy
                        .get(&ids::demo("patient", *p))
                        .is_some_and(|b| b.iter().any(|i| i.overlaps(&interval)))
                }) else {
                    continue;
                };
                let patient_id = ids::demo("patient", patient_n);
                let past = slot.end <= now;
                let roll = rng.random_range(0..100);
                let status = match (past, roll) {
                    (true, 0..=64) => AppointmentStatus::Completed,
                    (true, 65..=79) => AppointmentStatus::NoShow,
                    (true, _) => AppointmentStatus::Cancelled,
                    (false, 0..=11) => AppointmentStatus::Cancelled,
                    (false, _) if !FACILITIES[doctor.facility].auto_confirm => AppointmentStatus::Pending,
                    (false, _) => AppointmentStatus::Confirmed,
                };
                // Cancelled appointments freed their time; every other one used it.
                if status != AppointmentStatus::Cancelled {
                    doctor.busy.push(interval);
                    patient_busy.entry(patient_id).or_default().push(interval);
                }
                count += 1;
                let id = ids::demo("appointment", count);
                let booked_at = (slot.start - TimeDelta::days(rng.random_range(1..10))).min(now);
                let booked_by = if patient_n <= 200 && rng.random_bool(0.6) {
                    ids::demo("user", format!("patient{patient_n:03}"))
                } else {
                    receptionist(doctor.facility)
                };
                let mut steps: Vec<(AppointmentAction, AppointmentStatus, Option<AppointmentStatus>)> = vec![(
                    AppointmentAction::Booked,
                    if FACILITIES[doctor.facility].auto_confirm {
                        AppointmentStatus::Confirmed
                    } else {
                        AppointmentStatus::Pending
                    },
                    None,
                )];
                let first_status = steps[0].1;
                let confirm = |steps: &mut Vec<_>| {
                    if first_status == AppointmentStatus::Pending {
                        steps.push((
                            AppointmentAction::Confirmed,
                            AppointmentStatus::Confirmed,
                            Some(AppointmentStatus::Pending),
                        ));
                    }
                };
                let mut queue_number = None;
                match status {
                    AppointmentStatus::Completed => {
                        confirm(&mut steps);
                        steps.push((
                            AppointmentAction::CheckedIn,
                            AppointmentStatus::CheckedIn,
                            Some(AppointmentStatus::Confirmed),
                        ));
                        steps.push((
                            AppointmentAction::Started,
                            AppointmentStatus::InProgress,
                            Some(AppointmentStatus::CheckedIn),
                        ));
                        steps.push((
                            AppointmentAction::Completed,
                            AppointmentStatus::Completed,
                            Some(AppointmentStatus::InProgress),
                        ));
                        let n = queue.entry((doctor.id, slot.local_start().date_naive())).or_insert(0);
                        *n += 1;
                        queue_number = Some(*n);
                    }
                    AppointmentStatus::NoShow => {
                        confirm(&mut steps);
                        steps.push((
                            AppointmentAction::NoShow,
                            AppointmentStatus::NoShow,
                            Some(AppointmentStatus::Confirmed),
                        ));
                    }
                    AppointmentStatus::Cancelled => {
                        steps.push((
                            AppointmentAction::Cancelled,
                            AppointmentStatus::Cancelled,
                            Some(first_status),
                        ));
                    }
                    _ => {}
                }
                let version = steps.len() as i32;
                for (i, (action, to, from)) in steps.iter().enumerate() {
                    let at = match action {
                        AppointmentAction::Booked => booked_at,
                        AppointmentAction::Confirmed => booked_at + TimeDelta::hours(2),
                        AppointmentAction::CheckedIn => slot.start - TimeDelta::minutes(15),
                        AppointmentAction::Started => slot.start,
                        AppointmentAction::Completed => slot.end,
                        AppointmentAction::NoShow => slot.start + TimeDelta::minutes(20),
                        _ => (booked_at + TimeDelta::days(1)).min(now),
                    };
                    events.push(appointment_event::Model {
                        id: ids::demo("event", format!("{count}/{i}")),
                        appointment_id: id,
                        version: i as i32 + 1,
                        actor_id: Some(if *action == AppointmentAction::Booked {
                            booked_by
                        } else {
                            receptionist(doctor.facility)
                        }),
                        action: *action,
                        from_status: *from,
                        to_status: *to,
                        old_start_at: None,
                        old_end_at: None,
                        new_start_at: Some(slot.start),
                        new_end_at: Some(slot.end),
                        reason: (*action == AppointmentAction::Cancelled).then(|| "Patient asked to cancel".to_owned()),
                        created_at: at.min(now),
                    });
                }
                let reason: &'static str = REASONS.choose(&mut rng).expect("reasons");
                let kind = if doctor.facility == 3 && rng.random_bool(0.3) {
                    AppointmentKind::Telemedicine
                } else {
                    AppointmentKind::InPerson
                };
                if kind == AppointmentKind::Telemedicine {
                    let patient_user = (patient_n <= 200).then(|| ids::demo("user", format!("patient{patient_n:03}")));
                    records.telemedicine(
                        id,
                        patient_id,
                        patient_user,
                        doctor.id,
                        doctor.user_id,
                        slot.facility_id,
                        slot.start,
                        slot.end,
                        status,
                    );
                }
                if status == AppointmentStatus::Completed {
                    let visit = clinical::Visit {
                        appointment: id,
                        patient: patient_id,
                        doctor: doctor.id,
                        doctor_user: doctor.user_id,
                        facility: slot.facility_id,
                        start: slot.start,
                        end: slot.end,
                        reason,
                        now,
                    };
                    records.add(&mut rng, &visit);
                }
                appointments.push(appointment::Model {
                    id,
                    patient_id,
                    doctor_id: doctor.id,
                    facility_id: slot.facility_id,
                    service_id: service.map(|(s, _)| s),
                    start_at: slot.start,
                    end_at: slot.end,
                    status,
                    kind,
                    reason: reason.into(),
                    notes: String::new(),
                    queue_number,
                    booked_by: Some(booked_by),
                    cancel_reason: (status == AppointmentStatus::Cancelled)
                        .then(|| "Patient asked to cancel".to_owned()),
                    hold_expires_at: None,
                    version,
                    created_at: booked_at,
                    updated_at: now.min(slot.end.max(booked_at)),
                });
            }
        }
    }
    report.appointments = appointments.len();
    report.by_status = AppointmentStatus::ALL
        .iter()
        .map(|s| (*s, appointments.iter().filter(|a| a.status == *s).count()))
        .collect();
    insert_all::<appointment::ActiveModel>(&txn, appointments.clone()).await?;
    insert_all::<appointment_event::ActiveModel>(&txn, events).await?;
    // Reminders of the live appointments ahead, as booking queues them (the default 24 hours).
    for appointment in &appointments {
        for job in crate::notifications::reminders(appointment, &[24], now) {
            report.reminders += usize::from(crate::db::jobs::enqueue(&txn, job, now).await?.is_some());
        }
    }
    report.consultations = records.consultations.len();
    insert_all::<consultation::ActiveModel>(&txn, records.consultations.clone()).await?;
    insert_all::<vital_signs::ActiveModel>(&txn, records.vital_signs).await?;
    insert_all::<diagnosis::ActiveModel>(&txn, records.diagnoses).await?;
    insert_all::<prescription::ActiveModel>(&txn, records.prescriptions.clone()).await?;
    insert_all::<clinical_note::ActiveModel>(&txn, records.notes).await?;
    insert_all::<clinical_version::ActiveModel>(&txn, records.versions).await?;
    report.telemedicine_sessions = records.sessions.len();
    insert_all::<telemedicine_session::ActiveModel>(&txn, records.sessions).await?;
    insert_all::<telemedicine_event::ActiveModel>(&txn, records.session_events).await?;
    let stocked: Vec<(Uuid, &'static str)> = facility_rows
        .iter()
        .map(|f| {
            (
                f.id,
                if f.time_zone == "America/New_York" {
                    "USD"
                } else {
                    "BDT"
                },
            )
        })
        .collect();
    let (mut lots, receipts) = pharmacy::stock(&medications, &stocked, admin_id, now);
    let inputs = billing::Inputs {
        appointments: &appointments,
        consultations: &records.consultations,
        prescriptions: &records.prescriptions,
        catalogue: &medications,
        services: service_fees,
        doctors: doctor_fees,
        facilities: facility_rows
            .iter()
            .zip(FACILITIES)
            .map(|(f, seed)| {
                let desk = billing::Desk {
                    currency: f.currency.clone(),
                    time_zone: f.time_zone.clone(),
                    reception: ids::demo("user", format!("reception.{}", seed.key)),
                    nurse: ids::demo("user", format!("nurse.{}", seed.key)),
                };
                (f.id, desk)
            })
            .collect(),
    };
    let (billed, finals) = billing::bill_visits(&inputs, &mut lots, &mut rng, now);
    report.medications = medications.len();
    report.stock_lots = lots.len();
    report.dispenses = billed.dispenses.len();
    report.bills = finals
        .iter()
        .map(|b| (b.status, 1))
        .fold(Vec::new(), |mut acc, (s, n)| {
            match acc.iter_mut().find(|(k, _)| *k == s) {
                Some((_, c)) => *c += n,
                None => acc.push((s, n)),
            }
            acc
        });
    report.bills.sort();
    report.payments = billed.payments.len();
    report.refunds = billed.refunds.len();
    insert_all::<medication::ActiveModel>(&txn, medications).await?;
    insert_all::<stock_lot::ActiveModel>(&txn, lots).await?;
    insert_all::<stock_movement::ActiveModel>(&txn, receipts).await?;
    insert_all::<stock_movement::ActiveModel>(&txn, billed.movements).await?;
    insert_all::<dispense::ActiveModel>(&txn, billed.dispenses).await?;
    // Lines go on drafts only (a trigger holds it): the bills go in as
    // drafts, then take their final state.
    insert_all::<bill::ActiveModel>(&txn, billed.bills).await?;
    insert_all::<bill_line::ActiveModel>(&txn, billed.lines).await?;
    upsert_bills(&txn, finals).await?;
    insert_all::<payment::ActiveModel>(&txn, billed.payments).await?;
    insert_all::<refund::ActiveModel>(&txn, billed.refunds).await?;
    txn.commit().await.context("committing the demo data")?;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn user_row(
    id: Uuid,
    username: &str,
    role: Role,
    first_name: &str,
    last_name: &str,
    facility_id: Option<Uuid>,
    hash: &str,
    now: DateTime<Utc>,
) -> user::Model {
    user::Model {
        email: Some(format!("{username}@carebook.example")),
        first_name: first_name.into(),
        last_name: last_name.into(),
        facility_id,
        ..user::Model::new(id, username.into(), role, hash.into(), now)
    }
}

/// Rows per `INSERT` statement (under SQLite's 32,766 parameters for the widest table).
const ROWS_PER_STATEMENT: usize = 1_000;

/// Write the final state (status, paid amount, issue, void) of bills inserted as drafts.
async fn upsert_bills(db: &impl ConnectionTrait, rows: Vec<bill::Model>) -> anyhow::Result<()> {
    use sea_orm::sea_query::OnConflict;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<bill::ActiveModel> = rows
            .by_ref()
            .take(ROWS_PER_STATEMENT)
            .map(|r| r.into_active_model().reset_all())
            .collect();
        bill::Entity::insert_many(batch)
            .on_conflict(
                OnConflict::column(bill::Column::Id)
                    .update_columns([
                        bill::Column::Status,
                        bill::Column::PaidMinor,
                        bill::Column::VoidReason,
                        bill::Column::IssuedAt,
                        bill::Column::Version,
                        bill::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Insert rows in multi-row statements of [`ROWS_PER_STATEMENT`].
async fn insert_all<A>(db: &impl ConnectionTrait, rows: Vec<<A::Entity as EntityTrait>::Model>) -> anyhow::Result<()>
where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows
            .by_ref()
            .take(ROWS_PER_STATEMENT)
            .map(|r| r.into_active_model().reset_all())
            .collect();
        <A::Entity as EntityTrait>::insert_many(batch)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
