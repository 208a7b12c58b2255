//! `carebook seed --synthetic --doctors N --patients N --appointments N`: the
//! demo clinic ([`super::demo`]) grown to a large, valid dataset, for
//! benchmarks at scale.
//!
//! The extra doctors work Sunday–Thursday 09:00–17:00 (30-minute slots) at
//! the three Bangladeshi facilities and offer their specialty's
//! consultation; the extra patients have no login. The appointments fill the
//! extra doctors' past slots densely, working back from yesterday, so the
//! future stays free to book: at each slot the doctors see distinct patients,
//! so neither no-overlap guarantee is ever broken (the database checks them
//! on every row as usual). 80% completed, 8% cancelled, 12% no-shows, each
//! with its `booked` event.
//!
//! Rows go in multi-row `INSERT`s, one transaction per batch of
//! [`ROWS_PER_TRANSACTION`]. Ids are UUID v5 of stable names, so a second
//! run with the same sizes fails on the first duplicate and writes nothing
//! more (run it on a fresh database).

use anyhow::Context;
use chrono::{DateTime, Datelike, NaiveTime, TimeDelta, Utc, Weekday};

use super::{FACILITIES, SPECIALTIES, insert_all, surname};
use crate::auth::password;
use crate::booking::calendar::local_midnight;
use crate::db::entities::{appointment, appointment_event, doctor, doctor_service, patient, user, working_hours};
use crate::db::{Db, ids};
use crate::domain::{AppointmentAction, AppointmentKind, AppointmentStatus, Phone, Role, Sex};

/// Rows written per transaction.
pub const ROWS_PER_TRANSACTION: usize = 20_000;
/// Slots a synthetic doctor works per day (09:00–17:00, 30 minutes).
const SLOTS_PER_DAY: usize = 16;

/// How much to add to the demo clinic.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Doctors in all (the demo's 32 included).
    pub doctors: usize,
    /// Patients in all (the demo's 240 included).
    pub patients: usize,
    /// Appointments to add.
    pub appointments: usize,
}

/// What [`synthetic`] added.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Doctors added.
    pub doctors: usize,
    /// Patients added.
    pub patients: usize,
    /// Appointments added.
    pub appointments: usize,
    /// How long it took.
    pub elapsed: std::time::Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "synthetic data added: {} doctors, {} patients, {} appointments (with their events) in {:.1} s",
            self.doctors,
            self.patients,
            self.appointments,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Load the demo clinic if it is not there, then add doctors, patients and
/// past appointments up to `sizes`, relative to `now`.
///
/// Errors: a database failure (the batches committed before it stay), or
/// appointments but no extra doctor or patient to give them to.
pub async fn synthetic(db: &Db, now: DateTime<Utc>, sizes: Sizes) -> anyhow::Result<Report> {
    let started = std::time::Instant::now();
    super::demo(db, now).await.context("loading the demo clinic first")?;
    let doctors = sizes.doctors.saturating_sub(32);
    let patients = sizes.patients.saturating_sub(240);
    if sizes.appointments > 0 && (doctors == 0 || patients < doctors) {
        anyhow::bail!(
            "appointments need more doctors than the demo's 32 and at least as many extra patients as doctors"
        );
    }
    let hash = password::hash(super::DEMO_PASSWORD)?;
    let facilities: Vec<usize> = (0..FACILITIES.len())
        .filter(|i| FACILITIES[*i].zone == "Asia/Dhaka")
        .collect();

    let mut batch = Batch::new(db);
    for n in 0..doctors {
        let (user, doctor, services, hours) = synthetic_doctor(n, &facilities, &hash, now);
        batch.users.push(user);
        batch.doctors.push(doctor);
        batch.doctor_services.push(services);
        batch.working_hours.extend(hours);
        batch.flush_if_full().await?;
    }
    batch.flush().await?;
    for n in 0..patients {
        batch.patients.push(synthetic_patient(n, now)?);
        batch.flush_if_full().await?;
    }
    batch.flush().await?;

    // Slots going back from yesterday, Sunday–Thursday, in Dhaka.
    let tz = chrono_tz::Asia::Dhaka;
    let per_doctor = sizes.appointments.div_ceil(doctors.max(1));
    let mut added = 0usize;
    let mut day = now.with_timezone(&tz).date_naive() - TimeDelta::days(1);
    let mut slot_index = 0usize;
    'days: while added < sizes.appointments && slot_index < per_doctor {
        if matches!(day.weekday(), Weekday::Fri | Weekday::Sat) {
            day -= TimeDelta::days(1);
            continue;
        }
        let morning = local_midnight(tz, day) + TimeDelta::hours(9);
        for slot in 0..SLOTS_PER_DAY {
            let start = morning + TimeDelta::minutes(30 * slot as i64);
            for d in 0..doctors {
                if added == sizes.appointments {
                    break 'days;
                }
                let patient = (slot_index * doctors + d) % patients;
                let (row, event) = synthetic_appointment(d, patient, start, slot_index, &facilities);
                batch.appointments.push(row);
                batch.events.push(event);
                added += 1;
                batch.flush_if_full().await?;
            }
            slot_index += 1;
        }
        day -= TimeDelta::days(1);
    }
    batch.flush().await?;
    Ok(Report {
        doctors,
        patients,
        appointments: added,
        elapsed: started.elapsed(),
    })
}

fn synthetic_doctor(
    n: usize,
    facilities: &[usize],
    hash: &str,
    now: DateTime<Utc>,
) -> (
    user::Model,
    doctor::Model,
    doctor_service::Model,
    Vec<working_hours::Model>,
) {
    let id = ids::demo("synthetic-doctor", n);
    let user_id = ids::demo("synthetic-doctor-user", n);
    let female = n.is_multiple_of(2);
    let first = if female { "Nusrat" } else { "Rahim" };
    let mut user = user::Model::new(user_id, format!("sdoctor{n:05}"), Role::Doctor, hash.into(), now);
    user.first_name = first.into();
    user.last_name = surname_of(n, female).into();
    user.email = Some(format!("sdoctor{n:05}@carebook.example"));
    let specialty = n % SPECIALTIES.len();
    let facility = &FACILITIES[facilities[n % facilities.len()]];
    let facility_id = ids::demo("facility", facility.key);
    let doctor = doctor::Model {
        id,
        user_id,
        licence_number: format!("BMDC-S-{n:06}"),
        specialty_id: ids::demo("specialty", SPECIALTIES[specialty].0),
        facility_id,
        location_id: facility.location.map(|(k, code)| ids::bd_geo(k, code)),
        years_of_experience: 3 + (n % 28) as i32,
        consultation_fee_minor: (5 + (n % 21) as i64) * 10_000,
        currency: "BDT".into(),
        bio: format!("Consultant in {}.", SPECIALTIES[specialty].1),
        languages: serde_json::json!(["Bengali", "English"]),
        is_accepting: true,
        created_at: now,
        updated_at: now,
    };
    let service = doctor_service::Model {
        doctor_id: id,
        service_id: ids::demo("service", format!("{}/consultation", SPECIALTIES[specialty].0)),
    };
    let hours = (0..5)
        .map(|w| working_hours::Model {
            id: ids::demo("synthetic-hours", format!("{n}/{w}")),
            doctor_id: id,
            facility_id,
            // ISO weekday: Sunday 7, Monday 1 … Thursday 4.
            weekday: if w == 0 { 7 } else { w },
            start_time: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00"),
            end_time: NaiveTime::from_hms_opt(17, 0, 0).expect("17:00"),
            slot_minutes: 30,
            valid_from: None,
            valid_to: None,
            created_at: now,
            updated_at: now,
        })
        .collect();
    (user, doctor, service, hours)
}

fn surname_of(n: usize, female: bool) -> &'static str {
    use rand::SeedableRng;
    surname(&mut rand_chacha::ChaCha8Rng::seed_from_u64(n as u64), female)
}

fn synthetic_patient(n: usize, now: DateTime<Utc>) -> anyhow::Result<patient::Model> {
    let female = n % 2 == 1;
    let phone = Phone::parse(&format!("01{}{:08}", [3, 5, 6, 7, 8, 9][n % 6], 50_000_000 + n))
        .map_err(|e| anyhow::anyhow!("synthetic phone: {e}"))?
        .into_string();
    Ok(patient::Model {
        id: ids::demo("synthetic-patient", n),
        medical_record_number: format!("CB{:010}", 5_000_000_000u64 + n as u64),
        first_name: if female { "Fatema" } else { "Karim" }.into(),
        last_name: surname_of(n, female).into(),
        date_of_birth: chrono::NaiveDate::from_ymd_opt(
            1945 + (n % 78) as i32,
            1 + (n % 12) as u32,
            1 + (n % 28) as u32,
        ),
        sex: Some(if female { Sex::Female } else { Sex::Male }),
        phone: Some(phone),
        address: format!("House {}, Road {}", 1 + n % 199, 1 + n % 29),
        location_id: Some(ids::bd_geo("upazila", &(1 + n % 494).to_string())),
        national_id: Some(format!("{:010}", 3_000_000_000u64 + n as u64)),
        ..crate::db::patients::blank(now)
    })
}

fn synthetic_appointment(
    doctor: usize,
    patient: usize,
    start: DateTime<Utc>,
    slot_index: usize,
    facilities: &[usize],
) -> (appointment::Model, appointment_event::Model) {
    let id = ids::demo("synthetic-appointment", format!("{doctor}/{slot_index}"));
    let status = match (doctor + slot_index) % 25 {
        0 | 1 => AppointmentStatus::Cancelled,
        2..=4 => AppointmentStatus::NoShow,
        _ => AppointmentStatus::Completed,
    };
    let booked_at = start - TimeDelta::days(7);
    let row = appointment::Model {
        id,
        patient_id: ids::demo("synthetic-patient", patient),
        doctor_id: ids::demo("synthetic-doctor", doctor),
        facility_id: ids::demo("facility", FACILITIES[facilities[doctor % facilities.len()]].key),
        service_id: None,
        start_at: start,
        end_at: start + TimeDelta::minutes(30),
        status,
        kind: AppointmentKind::InPerson,
        reason: String::new(),
        notes: String::new(),
        queue_number: None,
        booked_by: None,
        cancel_reason: (status == AppointmentStatus::Cancelled).then(|| "Patient request".into()),
        hold_expires_at: None,
        version: 2,
        created_at: booked_at,
        updated_at: start,
    };
    let event = appointment_event::Model {
        id: ids::demo("synthetic-event", format!("{doctor}/{slot_index}")),
        appointment_id: id,
        version: 1,
        actor_id: None,
        action: AppointmentAction::Booked,
        from_status: None,
        to_status: AppointmentStatus::Pending,
        old_start_at: None,
        old_end_at: None,
        new_start_at: Some(row.start_at),
        new_end_at: Some(row.end_at),
        reason: None,
        created_at: booked_at,
    };
    (row, event)
}

/// Rows waiting to be written, in foreign-key order.
struct Batch<'a> {
    db: &'a Db,
    users: Vec<user::Model>,
    doctors: Vec<doctor::Model>,
    doctor_services: Vec<doctor_service::Model>,
    working_hours: Vec<working_hours::Model>,
    patients: Vec<patient::Model>,
    appointments: Vec<appointment::Model>,
    events: Vec<appointment_event::Model>,
}

impl<'a> Batch<'a> {
    fn new(db: &'a Db) -> Batch<'a> {
        Batch {
            db,
            users: Vec::new(),
            doctors: Vec::new(),
            doctor_services: Vec::new(),
            working_hours: Vec::new(),
            patients: Vec::new(),
            appointments: Vec::new(),
            events: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.users.len()
            + self.doctors.len()
            + self.doctor_services.len()
            + self.working_hours.len()
            + self.patients.len()
            + self.appointments.len()
            + self.events.len()
    }

    async fn flush_if_full(&mut self) -> anyhow::Result<()> {
        if self.len() >= ROWS_PER_TRANSACTION {
            self.flush().await?;
        }
        Ok(())
    }

    /// Write everything waiting in one transaction.
    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.len() == 0 {
            return Ok(());
        }
        let tx = self.db.begin_write().await?;
        insert_all::<user::ActiveModel>(&tx, std::mem::take(&mut self.users)).await?;
        insert_all::<doctor::ActiveModel>(&tx, std::mem::take(&mut self.doctors)).await?;
        insert_all::<doctor_service::ActiveModel>(&tx, std::mem::take(&mut self.doctor_services)).await?;
        insert_all::<working_hours::ActiveModel>(&tx, std::mem::take(&mut self.working_hours)).await?;
        insert_all::<patient::ActiveModel>(&tx, std::mem::take(&mut self.patients)).await?;
        insert_all::<appointment::ActiveModel>(&tx, std::mem::take(&mut self.appointments)).await?;
        insert_all::<appointment_event::ActiveModel>(&tx, std::mem::take(&mut self.events)).await?;
        tx.commit().await?;
        Ok(())
    }
}
