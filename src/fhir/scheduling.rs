//! Schedule, Slot and the IHE ITI Scheduling operations (`$find` ITI-115,
//! `$hold` ITI-116, `$book` ITI-117) over the booking core, so the FHIR
//! face has the REST API's rules and the database's no-overlap guarantee.
//!
//! Nothing here is stored: a Schedule is a doctor's working hours at one
//! facility, a Slot a step of its grid, a proposed Appointment a free slot
//! long enough for a service. Their ids are stable because they are made of
//! what they describe (each UUID in 22 base-62 characters, a start as
//! `YYYYMMDDHHMM` UTC), within FHIR's 64-character id limit:
//!
//! - Schedule `{doctor}.{facility}`;
//! - Slot `{doctor}.{facility}.{start}`;
//! - proposed Appointment `{doctor}.{start}` or `{doctor}.{start}.{service}`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::resources::appointment;
use super::search::{self, Params};
use crate::auth::Actor;
use crate::booking::appointments::{self as booking, AppointmentIn};
use crate::booking::calendar;
use crate::db::schedules::DoctorRules;
use crate::db::{Paged, directory};
use crate::domain::AppointmentStatus;
use crate::error::{AppError, AppResult};
use crate::scheduling::{Slot, available_slots};
use crate::state::AppState;

/// Search parameters of Schedule.
pub const SCHEDULE_SEARCH: &[&str] = &["_id", "actor", "service-type", "specialty", "active"];
/// Search parameters of Slot (`end`: slots ending at or before it; not a FHIR search parameter).
pub const SLOT_SEARCH: &[&str] = &["schedule", "start", "status", "_include"];
/// Parameters of `$find` (ITI-115).
pub const FIND_PARAMETERS: &[&str] = &[
    "start",
    "end",
    "specialty",
    "practitioner",
    "location-reference",
    "visit-type",
    "patient-reference",
];
/// The longest period one Slot search or `$find` covers, in days.
pub const MAX_DAYS: i64 = 31;
/// The most doctors one `$find` or Schedule search looks at.
const MAX_DOCTORS: u64 = 100;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A UUID in 22 base-62 characters.
pub fn short(id: Uuid) -> String {
    let mut n = id.as_u128();
    let mut out = [b'0'; 22];
    for place in out.iter_mut().rev() {
        *place = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The UUID of [`short`] text.
pub fn unshort(text: &str) -> Option<Uuid> {
    if text.len() != 22 {
        return None;
    }
    let mut n: u128 = 0;
    for byte in text.bytes() {
        let digit = ALPHABET.iter().position(|c| *c == byte)? as u128;
        n = n.checked_mul(62)?.checked_add(digit)?;
    }
    Some(Uuid::from_u128(n))
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%d%H%M").to_string()
}

fn unstamp(text: &str) -> Option<DateTime<Utc>> {
    (text.len() == 12)
        .then(|| NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M").ok())
        .flatten()
        .map(|t| t.and_utc())
}

/// The id of a doctor's Schedule at a facility.
pub fn schedule_id(doctor: Uuid, facility: Uuid) -> String {
    format!("{}.{}", short(doctor), short(facility))
}

/// The doctor and facility of a Schedule id.
pub fn parse_schedule_id(id: &str) -> Option<(Uuid, Uuid)> {
    let (doctor, facility) = id.split_once('.')?;
    Some((unshort(doctor)?, unshort(facility)?))
}

/// The id of a proposed Appointment (a free slot for a service).
pub fn proposal_id(doctor: Uuid, start: DateTime<Utc>, service: Option<Uuid>) -> String {
    match service {
        Some(service) => format!("{}.{}.{}", short(doctor), stamp(start), short(service)),
        None => format!("{}.{}", short(doctor), stamp(start)),
    }
}

/// The doctor, start and service of a proposed Appointment id.
pub fn parse_proposal_id(id: &str) -> Option<(Uuid, DateTime<Utc>, Option<Uuid>)> {
    let mut parts = id.split('.');
    let doctor = unshort(parts.next()?)?;
    let start = unstamp(parts.next()?)?;
    let service = match parts.next() {
        Some(service) => Some(unshort(service)?),
        None => None,
    };
    parts.next().is_none().then_some((doctor, start, service))
}

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn specialty_coding(rules: &DoctorRules) -> Value {
    json!([{"coding": [{"system": "urn:carebook:specialty", "code": rules.doctor.specialty_code, "display": rules.doctor.specialty_name}]}])
}

fn service_types(rules: &DoctorRules) -> Vec<Value> {
    rules
        .services
        .iter()
        .filter(|s| s.is_active)
        .map(|s| json!({"coding": [{"system": "urn:carebook:service", "code": s.id.to_string(), "display": s.name}]}))
        .collect()
}

/// The facilities a doctor has working hours at, in a stable order.
fn facilities_of(rules: &DoctorRules) -> Vec<Uuid> {
    rules
        .working_hours
        .iter()
        .map(|w| w.facility_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A Schedule resource: the doctor and facility as actors, the doctor's
/// specialty and services, `active` while the doctor takes bookings.
pub fn schedule(rules: &DoctorRules, facility: Uuid) -> Value {
    let facility_name = rules.facility(facility).map(|f| f.name.clone()).unwrap_or_default();
    let mut out = json!({
        "resourceType": "Schedule",
        "id": schedule_id(rules.doctor.id, facility),
        "active": rules.doctor.is_active && rules.doctor.is_accepting,
        "actor": [
            {"reference": format!("Practitioner/{}", rules.doctor.id),
             "display": format!("Dr {} {}", rules.doctor.first_name, rules.doctor.last_name)},
            {"reference": format!("Location/{facility}"), "display": facility_name},
        ],
        "specialty": specialty_coding(rules),
        "comment": format!("Working hours of Dr {} {} at {facility_name}", rules.doctor.first_name, rules.doctor.last_name),
    });
    let services = service_types(rules);
    if !services.is_empty() {
        out["serviceType"] = Value::Array(services);
    }
    out
}

/// A Slot resource of `schedule` (`free` or `busy`).
pub fn slot(doctor: Uuid, slot: &Slot, free: bool) -> Value {
    let schedule = schedule_id(doctor, slot.facility_id);
    json!({
        "resourceType": "Slot",
        "id": format!("{schedule}.{}", stamp(slot.start)),
        "schedule": {"reference": format!("Schedule/{schedule}")},
        "status": if free { "free" } else { "busy" },
        "start": instant(slot.start),
        "end": instant(slot.end),
    })
}

/// The rules of doctors found by a directory filter (at most [`MAX_DOCTORS`]).
async fn rules_of(state: &AppState, filter: &directory::DoctorFilter) -> AppResult<Vec<Arc<DoctorRules>>> {
    let page = crate::db::PageRequest {
        page: 1,
        page_size: MAX_DOCTORS,
    };
    let ids: Vec<Uuid> = directory::search_doctors(state.db.conn(), filter, &[], page)
        .await?
        .rows
        .into_iter()
        .map(|d| d.id)
        .collect();
    let now = state.clock.now();
    let mut found = state.db.views().doctor_rules(state.db.conn(), &ids, now).await?;
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// A Schedule by id. Errors: 404.
pub async fn read_schedule(state: &AppState, id: &str) -> AppResult<Value> {
    let (doctor, facility) = parse_schedule_id(id).ok_or(AppError::NotFound("schedule"))?;
    let now = state.clock.now();
    let rules = state
        .db
        .views()
        .doctor_rules(state.db.conn(), &[doctor], now)
        .await?
        .remove(&doctor)
        .filter(|rules| facilities_of(rules).contains(&facility))
        .ok_or(AppError::NotFound("schedule"))?;
    Ok(schedule(&rules, facility))
}

/// The Schedules matching `params` ([`SCHEDULE_SEARCH`]): one per doctor per
/// facility of their working hours.
///
/// Errors: 400 naming a malformed parameter.
pub async fn search_schedules(state: &AppState, params: &Params) -> AppResult<Paged<Value>> {
    let mut filter = directory::DoctorFilter::default();
    let mut facility = None;
    for actor in params.all("actor") {
        if actor.starts_with("Location/") {
            facility = Some(search::reference_id("actor", actor, "Location")?);
        } else {
            filter.ids = Some(vec![search::reference_id("actor", actor, "Practitioner")?]);
        }
    }
    if let Some(id) = params.get("_id") {
        // An id that is not one of ours names nothing.
        let (doctor, at) = parse_schedule_id(id).unwrap_or((Uuid::nil(), Uuid::nil()));
        filter.ids = Some(vec![doctor]);
        facility = Some(at);
    }
    if let Some(token) = params.get("specialty") {
        filter.specialty = Some(super::directory::specialty_id(state, token).await?);
    }
    let service = params
        .get("service-type")
        .map(|token| super::directory::service_token("service-type", token))
        .transpose()?;
    let active = match params.get("active") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(AppError::bad_field("active", "must be true or false")),
    };
    let mut all = Vec::new();
    for rules in rules_of(state, &filter).await? {
        if service.is_some_and(|s| rules.service(s).is_none_or(|s| !s.is_active)) {
            continue;
        }
        for at in facilities_of(&rules) {
            if facility.is_some_and(|f| f != at) {
                continue;
            }
            let resource = schedule(&rules, at);
            if active.is_some_and(|a| resource["active"] != a) {
                continue;
            }
            all.push(resource);
        }
    }
    Ok(params.page_of(all))
}

/// `[from, to)` of a Slot search or `$find`: at most [`MAX_DAYS`].
fn period(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    names: (&str, &str),
) -> AppResult<(DateTime<Utc>, DateTime<Utc>)> {
    let from = from.ok_or_else(|| AppError::bad_field(names.0, "is required"))?;
    let to = to.ok_or_else(|| AppError::bad_field(names.1, "is required"))?;
    if to <= from {
        return Err(AppError::invalid_field(names.1, "must be after the start"));
    }
    if to - from > TimeDelta::days(MAX_DAYS) {
        return Err(AppError::invalid_field(
            names.1,
            format!("the period may cover at most {MAX_DAYS} days"),
        ));
    }
    Ok((from, to))
}

/// Free (and taken) slots of `rules` in `[from, to)` lasting `duration`
/// (one grid step when `None`): each with whether it is free.
async fn slots_of(
    state: &AppState,
    doctors: &[Arc<DoctorRules>],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    duration: Option<TimeDelta>,
    with_busy: bool,
) -> AppResult<Vec<(Uuid, Slot, bool)>> {
    let now = state.clock.now();
    let limits = state.booking_policy().await?.limits();
    let rules: HashMap<Uuid, Arc<DoctorRules>> = doctors.iter().map(|r| (r.doctor.id, Arc::clone(r))).collect();
    let (first, last) = (
        (from - TimeDelta::days(1)).date_naive(),
        (to + TimeDelta::days(1)).date_naive(),
    );
    let (start, end) = calendar::window(first, last);
    let calendars = calendar::with_busy(&state.db, &rules, start, end, None, now).await?;
    let mut out = Vec::new();
    for rules in doctors {
        let Some(cal) = calendars.get(&rules.doctor.id) else {
            continue;
        };
        if !rules.doctor.is_accepting {
            continue;
        }
        let inside = |s: &Slot| s.start >= from && s.end <= to;
        let free: Vec<Slot> = available_slots(&cal.view(), first, last, duration, now, limits)
            .into_iter()
            .filter(inside)
            .collect();
        if with_busy {
            let mut open = cal.clone();
            open.busy.clear();
            for s in available_slots(&open.view(), first, last, duration, now, limits)
                .into_iter()
                .filter(inside)
            {
                let is_free = free.iter().any(|f| f.start == s.start);
                out.push((rules.doctor.id, s, is_free));
            }
        } else {
            out.extend(free.into_iter().map(|s| (rules.doctor.id, s, true)));
        }
    }
    out.sort_by(|a, b| a.1.start.cmp(&b.1.start).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// The Slots matching `params` ([`SLOT_SEARCH`]): `schedule` (required),
/// `start=ge…` and `start=lt…` (at most 31 days; a missing side is 7 days
/// from the other, both missing the next 7 days), `status`
/// (`free`, `busy` or both), and `_include=Slot:schedule`.
///
/// Errors: 400 naming a missing or malformed parameter; 422 for too long a period.
pub async fn search_slots(state: &AppState, params: &Params) -> AppResult<(Paged<Value>, Vec<Value>)> {
    let reference = params
        .get("schedule")
        .ok_or_else(|| AppError::bad_field("schedule", "is required"))?;
    let id = reference.strip_prefix("Schedule/").unwrap_or(reference);
    // A reference that is not one of ours names no schedule: no slots.
    let (doctor, facility) = parse_schedule_id(id).unwrap_or((Uuid::nil(), Uuid::nil()));
    let (from, to) = search::narrow("start", params.all("start"))?;
    let week = TimeDelta::days(7);
    let (from, to) = match (from, to) {
        (None, None) => (state.clock.now(), state.clock.now() + week),
        (Some(from), None) => (from, from + week),
        (None, Some(to)) => (to - week, to),
        (Some(from), Some(to)) => (from, to),
    };
    let (from, to) = period(Some(from), Some(to), ("start", "start"))?;
    let (mut free, mut busy) = (true, true);
    if let Some(status) = params.get("status") {
        free = status.split(',').any(|s| s == "free");
        busy = status.split(',').any(|s| s == "busy");
        if status.split(',').any(|s| s != "free" && s != "busy") {
            return Err(AppError::bad_field("status", "must be free, busy or both"));
        }
    }
    let include = match params.get("_include") {
        None => false,
        Some("Slot:schedule") => true,
        Some(_) => return Err(AppError::bad_field("_include", "only Slot:schedule is supported")),
    };
    let now = state.clock.now();
    let Some(rules) = state
        .db
        .views()
        .doctor_rules(state.db.conn(), &[doctor], now)
        .await?
        .remove(&doctor)
    else {
        return Ok((params.page_of(Vec::new()), Vec::new()));
    };
    let all: Vec<Value> = slots_of(state, &[Arc::clone(&rules)], from, to, None, busy)
        .await?
        .into_iter()
        .filter(|(_, s, is_free)| s.facility_id == facility && if *is_free { free } else { busy })
        .map(|(doctor, s, is_free)| slot(doctor, &s, is_free))
        .collect();
    let included = if include && facilities_of(&rules).contains(&facility) {
        vec![schedule(&rules, facility)]
    } else {
        Vec::new()
    };
    Ok((params.page_of(all), included))
}

/// A proposed Appointment (status `proposed`) of a free slot.
fn proposal(rules: &DoctorRules, slot: &Slot, service: Option<Uuid>, patient: Option<Uuid>) -> Value {
    let facility = rules
        .facility(slot.facility_id)
        .map(|f| f.name.clone())
        .unwrap_or_default();
    let mut participants = vec![
        json!({"actor": {"reference": format!("Practitioner/{}", rules.doctor.id),
                         "display": format!("Dr {} {}", rules.doctor.first_name, rules.doctor.last_name)},
               "required": "required", "status": "needs-action"}),
        json!({"actor": {"reference": format!("Location/{}", slot.facility_id), "display": facility},
               "required": "required", "status": "needs-action"}),
    ];
    if let Some(patient) = patient {
        participants.insert(
            0,
            json!({"actor": {"reference": format!("Patient/{patient}")}, "required": "required", "status": "needs-action"}),
        );
    }
    let mut out = json!({
        "resourceType": "Appointment",
        "id": proposal_id(rules.doctor.id, slot.start, service),
        "status": "proposed",
        "specialty": specialty_coding(rules),
        "start": instant(slot.start),
        "end": instant(slot.end),
        "minutesDuration": (slot.end - slot.start).num_minutes(),
        "slot": [{"reference": format!("Slot/{}.{}", schedule_id(rules.doctor.id, slot.facility_id), stamp(slot.start))}],
        "participant": participants,
    });
    if let Some(service) = service.and_then(|s| rules.service(s)) {
        out["serviceType"] = json!([{"coding": [{"system": "urn:carebook:service", "code": service.id.to_string(), "display": service.name}]}]);
    }
    out
}

/// `$find` (ITI-115): the free appointments from `start` to `end` (both
/// required, at most 31 days) with the doctors `practitioner`, `specialty`
/// and `location-reference` narrow to, long enough for `visit-type` (a
/// service id), as proposed Appointments.
///
/// Errors: 400 naming a missing or malformed parameter; 422 for too long a period.
pub async fn find(state: &AppState, params: &Params) -> AppResult<Paged<Value>> {
    let (from, _) = search::date_range(
        "start",
        params
            .get("start")
            .ok_or_else(|| AppError::bad_field("start", "is required"))?,
    )?;
    let (_, to) = search::date_range(
        "end",
        params
            .get("end")
            .ok_or_else(|| AppError::bad_field("end", "is required"))?,
    )?;
    let (from, to) = period(from, to, ("start", "end"))?;
    let filter = super::directory::doctor_filter(state, params, "location-reference").await?;
    let service = params
        .get("visit-type")
        .map(|token| super::directory::service_token("visit-type", token))
        .transpose()?;
    let patient = params
        .get("patient-reference")
        .map(|p| search::reference_id("patient-reference", p, "Patient"))
        .transpose()?;
    let mut doctors = rules_of(state, &filter).await?;
    let mut duration = None;
    if let Some(service) = service {
        doctors.retain(|rules| rules.service(service).is_some_and(|s| s.is_active));
        duration = doctors
            .first()
            .and_then(|rules| rules.service(service))
            .map(|s| TimeDelta::minutes(s.duration_minutes.into()));
    }
    let facility = filter.facility;
    let by_id: HashMap<Uuid, Arc<DoctorRules>> = doctors.iter().map(|r| (r.doctor.id, Arc::clone(r))).collect();
    let all: Vec<Value> = slots_of(state, &doctors, from, to, duration, false)
        .await?
        .into_iter()
        .filter(|(_, s, _)| facility.is_none_or(|f| s.facility_id == f))
        .filter_map(|(doctor, s, _)| by_id.get(&doctor).map(|rules| proposal(rules, &s, service, patient)))
        .collect();
    Ok(params.page_of(all))
}

/// What a `$hold` or `$book` request names: a proposed Appointment (or the
/// fields of one), or an appointment of ours, and the patient.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The appointment of ours it names (a hold, or one booked).
    pub existing: Option<Uuid>,
    /// The doctor.
    pub doctor: Option<Uuid>,
    /// The start.
    pub start: Option<DateTime<Utc>>,
    /// The service.
    pub service: Option<Uuid>,
    /// The patient.
    pub patient: Option<Uuid>,
    /// The status the client asks for (`$book` with `cancelled` cancels).
    pub status: Option<String>,
    /// A cancellation reason or a description.
    pub text: Option<String>,
}

/// The UUID a reference in a request body names. Errors: 422 naming `param`.
fn body_reference(param: &str, value: &str, kind: &str) -> AppResult<Uuid> {
    search::reference_id(param, value, kind)
        .map_err(|_| AppError::invalid_field(param, format!("must be a {kind} reference ({kind}/id)")))
}

fn reference_of(value: &Value) -> Option<&str> {
    value.get("reference").and_then(Value::as_str)
}

impl Request {
    /// Read a `Parameters` resource (`appointment-reference`, `appt-resource`,
    /// `patient-reference`) or a bare Appointment.
    ///
    /// Errors: 422 naming what is missing or unusable.
    pub fn parse(body: &Value) -> AppResult<Request> {
        let mut request = Request::default();
        match body.get("resourceType").and_then(Value::as_str) {
            Some("Parameters") => {
                for parameter in body.get("parameter").and_then(Value::as_array).into_iter().flatten() {
                    match parameter.get("name").and_then(Value::as_str) {
                        Some("appointment-reference") => {
                            let reference =
                                parameter.get("valueReference").and_then(reference_of).ok_or_else(|| {
                                    AppError::invalid_field("appointment-reference", "must be a valueReference")
                                })?;
                            request.named(reference)?;
                        }
                        Some("appt-resource") => {
                            let resource = parameter.get("resource").ok_or_else(|| {
                                AppError::invalid_field("appt-resource", "must hold an Appointment resource")
                            })?;
                            request.read_appointment(resource)?;
                        }
                        Some("patient-reference") => {
                            let reference =
                                parameter.get("valueReference").and_then(reference_of).ok_or_else(|| {
                                    AppError::invalid_field("patient-reference", "must be a valueReference")
                                })?;
                            request.patient = Some(body_reference("patient-reference", reference, "Patient")?);
                        }
                        Some(other) => {
                            return Err(AppError::invalid_field(
                                other.to_owned(),
                                "is not a parameter of this operation",
                            ));
                        }
                        None => return Err(AppError::invalid_field("parameter", "each parameter needs a name")),
                    }
                }
            }
            Some("Appointment") => request.read_appointment(body)?,
            _ => {
                return Err(AppError::invalid_field(
                    "resourceType",
                    "must be Parameters or Appointment",
                ));
            }
        }
        if request.existing.is_none() && (request.doctor.is_none() || request.start.is_none()) {
            return Err(AppError::invalid_field(
                "appointment-reference",
                "name a proposed Appointment from $find, or give an Appointment with a Practitioner and a start",
            ));
        }
        Ok(request)
    }

    /// `Appointment/{id}`: one of ours (a UUID) or a proposed one.
    fn named(&mut self, reference: &str) -> AppResult<()> {
        let id = reference.rsplit('/').next().unwrap_or(reference);
        if let Ok(uuid) = id.parse::<Uuid>() {
            self.existing = Some(uuid);
        } else {
            let (doctor, start, service) = parse_proposal_id(id).ok_or_else(|| {
                AppError::invalid_field("appointment-reference", "is not an Appointment of this server")
            })?;
            self.doctor = Some(doctor);
            self.start = Some(start);
            self.service = service;
        }
        Ok(())
    }

    fn read_appointment(&mut self, resource: &Value) -> AppResult<()> {
        if resource.get("resourceType").and_then(Value::as_str) != Some("Appointment") {
            return Err(AppError::invalid_field("appt-resource", "must be an Appointment"));
        }
        if let Some(id) = resource.get("id").and_then(Value::as_str) {
            self.named(id)?;
        }
        for participant in resource
            .get("participant")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(reference) = participant.get("actor").and_then(reference_of) else {
                continue;
            };
            if reference.starts_with("Practitioner/") {
                self.doctor = Some(body_reference("participant", reference, "Practitioner")?);
            } else if reference.starts_with("Patient/") {
                self.patient = Some(body_reference("participant", reference, "Patient")?);
            }
        }
        if let Some(start) = resource.get("start").and_then(Value::as_str) {
            let start = DateTime::parse_from_rfc3339(start)
                .map_err(|_| AppError::invalid_field("start", "must be an RFC 3339 instant"))?;
            self.start = Some(start.with_timezone(&Utc));
        }
        let service = resource
            .pointer("/serviceType/0/coding/0/code")
            .and_then(Value::as_str)
            .map(|code| {
                code.parse::<Uuid>()
                    .map_err(|_| AppError::invalid_field("serviceType", "must code a service id"))
            })
            .transpose()?;
        if service.is_some() {
            self.service = service;
        }
        self.status = resource.get("status").and_then(Value::as_str).map(str::to_owned);
        self.text = resource
            .pointer("/cancelationReason/text")
            .or_else(|| resource.get("description"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(())
    }

    fn booking(&self, hold: Option<Uuid>) -> AppResult<AppointmentIn> {
        let reason = serde_json::from_value(json!(self.text.clone().unwrap_or_default()))
            .map_err(|_| AppError::invalid_field("description", "must be at most 1000 characters"))?;
        Ok(AppointmentIn {
            doctor_id: self
                .doctor
                .ok_or_else(|| AppError::invalid_field("participant", "needs a Practitioner"))?,
            service_id: self.service,
            start: self
                .start
                .ok_or_else(|| AppError::invalid_field("start", "is required"))?,
            patient_id: self.patient,
            reason,
            kind: None,
            hold_id: hold,
        })
    }
}

/// `$hold` (ITI-116): hold the proposed appointment for
/// `booking.hold_minutes`; the held Appointment (`pending`) and an
/// information issue saying until when.
///
/// Errors: those of booking (409 taken, 422 a rule such as the horizon).
pub async fn hold(state: &AppState, actor: &Actor, request: &Request) -> AppResult<(Value, DateTime<Utc>)> {
    if request.existing.is_some() {
        return Err(AppError::invalid_field(
            "appointment-reference",
            "name a proposed Appointment from $find",
        ));
    }
    let held = booking::hold(state, actor, request.booking(None)?).await?;
    Ok((appointment(&held.appointment), held.expires_at))
}

/// `$book` (ITI-117): book a proposed appointment, a hold of the caller's,
/// or change one booked: `cancelled` cancels it, another start moves it.
/// Retrying a booking answers the appointment it made.
///
/// Errors: those of booking, rescheduling and cancelling (409 for a taken slot).
pub async fn book(state: &AppState, actor: &Actor, request: &Request) -> AppResult<Value> {
    let Some(id) = request.existing else {
        let body = request.booking(None)?;
        let (doctor, start) = (body.doctor_id, body.start);
        return match booking::create(state, actor, body, None).await {
            Ok(booked) => Ok(appointment(&booked.appointment)),
            Err(AppError::Conflict { rule, detail }) => {
                // A retry of a booking that was made: answer it as it is.
                match made_before(state, actor, doctor, start, request.patient).await? {
                    Some(row) => Ok(appointment(&row)),
                    None => Err(AppError::Conflict { rule, detail }),
                }
            }
            Err(other) => Err(other),
        };
    };
    let current = booking::get(state, actor, id).await?;
    if current.hold_expires_at.is_some() {
        let mut request = request.clone();
        request.doctor = Some(current.doctor_id);
        request.start = request.start.or(Some(current.start_at));
        request.service = request.service.or(current.service_id);
        request.patient = Some(current.patient_id);
        let booked = booking::create(state, actor, request.booking(Some(id))?, None).await?;
        return Ok(appointment(&booked.appointment));
    }
    if request.status.as_deref() == Some("cancelled") {
        if current.status == AppointmentStatus::Cancelled {
            return Ok(appointment(&current));
        }
        let reason = request
            .text
            .clone()
            .unwrap_or_else(|| "Cancelled through FHIR $book".to_owned());
        let body = serde_json::from_value(json!({ "reason": reason }))
            .map_err(|_| AppError::invalid_field("cancelationReason", "must be 1 to 500 characters"))?;
        let cancelled = booking::cancel(state, actor, id, body, |_| Ok(())).await?;
        return Ok(appointment(&cancelled));
    }
    match request.start {
        Some(start) if start != current.start_at => {
            let moved = booking::reschedule(state, actor, id, start, |_| Ok(())).await?;
            Ok(appointment(&moved))
        }
        _ => Ok(appointment(&current)),
    }
}

/// The live appointment the actor booked with `doctor` at `start` (for `patient`).
async fn made_before(
    state: &AppState,
    actor: &Actor,
    doctor: Uuid,
    start: DateTime<Utc>,
    patient: Option<Uuid>,
) -> AppResult<Option<crate::db::appointments::AppointmentRow>> {
    let Some(patient) = patient.or(actor.patient_id) else {
        return Ok(None);
    };
    let filter = crate::db::appointments::AppointmentFilter {
        statuses: AppointmentStatus::LIVE.to_vec(),
        from: Some(start),
        to: Some(start + TimeDelta::minutes(1)),
        doctor: Some(doctor),
        patient: Some(patient),
        now: Some(state.clock.now()),
        ..Default::default()
    };
    let reach = crate::auth::policy::reach::<crate::db::appointments::AppointmentRow>(
        actor,
        crate::auth::policy::Action::AppointmentRead,
    )?;
    let page = crate::db::PageRequest { page: 1, page_size: 1 };
    let found = crate::db::appointments::list(state.db.conn(), reach, &filter, &[], page).await?;
    Ok(found
        .rows
        .into_iter()
        .find(|row| row.start_at == start && row.booked_by == Some(actor.user_id) && row.hold_expires_at.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_short_and_read_back() {
        let doctor = Uuid::new_v4();
        let facility = Uuid::new_v4();
        let service = Uuid::new_v4();
        assert_eq!(unshort(&short(doctor)), Some(doctor));
        assert_eq!(short(Uuid::max()).len(), 22);
        let start = "2026-11-29T03:00:00Z".parse().unwrap();
        let id = proposal_id(doctor, start, Some(service));
        assert!(id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'));
        assert_eq!(parse_proposal_id(&id), Some((doctor, start, Some(service))));
        assert_eq!(
            parse_schedule_id(&schedule_id(doctor, facility)),
            Some((doctor, facility))
        );
        assert_eq!(parse_proposal_id("x.y"), None);
    }
}
