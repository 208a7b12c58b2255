//! Prescriptions (FHIR MedicationRequest), made in a consultation by its
//! doctor: a medication by name (a catalogue item once the pharmacy keeps
//! one), dose, route, frequency, duration, quantity and refills. Status
//! `active` → `completed` or `stopped` (with a reason), or
//! `entered_in_error`; each change a version ([`super::entries`]).

use garde::Validate;
use serde::{Deserialize, Deserializer};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::consultations::check_visible;
use super::entries::{self, impl_entry};
use super::vital_signs::Milli;
use crate::auth::Actor;
use crate::auth::policy::{Action, authorize};
use crate::db;
use crate::db::entities::prescription;
use crate::domain::{MedicationRoute, PrescriptionStatus};
use crate::error::{AppError, AppResult};
use crate::input::{self, Text, TextOrEmpty};
use crate::state::AppState;

/// How often a medication is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frequency {
    /// So many times a day (1–24).
    TimesPerDay(i32),
    /// Doses at morning-noon-night (or morning-noon-evening-night): `1-0-1`.
    Pattern(String),
    /// As needed (PRN).
    AsNeeded,
}

impl Frequency {
    /// Read `1`–`24`, a pattern of 2–4 digits joined by `-` with at least
    /// one dose, or `as_needed`. Errors: a message for the field.
    pub fn parse(text: &str) -> Result<Frequency, &'static str> {
        if text == "as_needed" {
            return Ok(Frequency::AsNeeded);
        }
        if let Ok(n) = text.parse::<i32>() {
            return (1..=24)
                .contains(&n)
                .then_some(Frequency::TimesPerDay(n))
                .ok_or("must be 1 to 24 times a day");
        }
        let parts: Vec<&str> = text.split('-').collect();
        let digits = parts.iter().all(|p| p.len() == 1 && p.as_bytes()[0].is_ascii_digit());
        if !(2..=4).contains(&parts.len()) || !digits {
            return Err("must be times a day (1–24), a dose pattern such as 1-0-1, or as_needed");
        }
        if parts.iter().all(|p| *p == "0") {
            return Err("a dose pattern needs at least one dose");
        }
        Ok(Frequency::Pattern(text.to_owned()))
    }

    /// Doses a day; none when only as needed.
    pub fn times_per_day(&self) -> Option<i32> {
        match self {
            Frequency::TimesPerDay(n) => Some(*n),
            Frequency::Pattern(p) => Some(p.split('-').map(|d| i32::from(d.as_bytes()[0] - b'0')).sum()),
            Frequency::AsNeeded => None,
        }
    }
}

impl<'de> Deserialize<'de> for Frequency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Number(i64),
            Text(String),
        }
        let text = match Given::deserialize(deserializer)? {
            Given::Number(n) => n.to_string(),
            Given::Text(s) => s,
        };
        Frequency::parse(text.trim()).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Frequency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(24)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^([0-9](-[0-9]){1,3}|as_needed)$")),
            )
            .description(Some("Times a day (1–24), a dose pattern (`1-0-1`), or `as_needed`"))
            .into()
    }
}

impl ToSchema for Frequency {}

/// A prescription to make, or (with `reason`, see [`PrescriptionAmendment`]) as it should now stand.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PrescriptionIn {
    /// Generic name and strength.
    #[schema(example = "Metformin 500 mg tablet")]
    #[garde(dive)]
    pub medication: Text<200>,
    /// The catalogue item prescribed, if it is in the catalogue: dispensing gives it.
    #[serde(default)]
    #[garde(skip)]
    pub medication_id: Option<Uuid>,
    /// How much per dose, more than 0 (at most 3 decimal places).
    #[schema(value_type = f64, example = 1)]
    #[garde(skip)]
    pub dose_amount: Milli,
    /// Its unit (`tablet`, `mg`, `mL`).
    #[schema(example = "tablet")]
    #[garde(dive)]
    pub dose_unit: Text<32>,
    /// `oral` when absent.
    #[serde(default = "oral")]
    #[garde(skip)]
    pub route: MedicationRoute,
    #[schema(value_type = Frequency, example = "1-0-1")]
    #[garde(skip)]
    pub frequency: Frequency,
    /// For how many days, 1–365.
    #[serde(default, deserialize_with = "input::optional_integer")]
    #[garde(range(min = 1, max = 365))]
    pub duration_days: Option<i32>,
    /// Units to dispense each time, at least 1.
    #[serde(deserialize_with = "input::integer")]
    #[garde(range(min = 1, max = 100000))]
    pub quantity: i32,
    /// Further dispensings allowed, 0–12.
    #[serde(default, deserialize_with = "input::integer")]
    #[garde(range(min = 0, max = 12))]
    pub refills: i32,
    #[serde(default)]
    #[garde(dive)]
    pub instructions: TextOrEmpty<1000>,
}

fn oral() -> MedicationRoute {
    MedicationRoute::Oral
}

/// An amendment: the prescription as it should now stand, and why.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PrescriptionAmendment {
    /// Why it changes.
    #[garde(dive)]
    pub reason: Text<500>,
    #[garde(dive)]
    pub medication: Text<200>,
    #[serde(default)]
    #[garde(skip)]
    pub medication_id: Option<Uuid>,
    #[schema(value_type = f64)]
    #[garde(skip)]
    pub dose_amount: Milli,
    #[garde(dive)]
    pub dose_unit: Text<32>,
    #[garde(skip)]
    pub route: MedicationRoute,
    #[schema(value_type = Frequency)]
    #[garde(skip)]
    pub frequency: Frequency,
    #[serde(default, deserialize_with = "input::optional_integer")]
    #[garde(range(min = 1, max = 365))]
    pub duration_days: Option<i32>,
    #[serde(deserialize_with = "input::integer")]
    #[garde(range(min = 1, max = 100000))]
    pub quantity: i32,
    #[serde(deserialize_with = "input::integer")]
    #[garde(range(min = 0, max = 12))]
    pub refills: i32,
    #[serde(default)]
    #[garde(dive)]
    pub instructions: TextOrEmpty<1000>,
}

/// Why a prescription is stopped.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct StopIn {
    #[schema(example = "Rash after the second dose")]
    #[garde(dive)]
    pub reason: Text<500>,
}

/// Filters of a patient's prescriptions.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PrescriptionQuery {
    /// One status or several, comma-separated (default: all but `entered_in_error`).
    #[param(
        pattern = "^((active|completed|stopped|entered_in_error)(,(active|completed|stopped|entered_in_error))*)?$"
    )]
    pub status: Option<String>,
}

impl_entry!(
    prescription,
    entry = "prescription",
    table = "prescriptions",
    kind = "prescription",
    entered_in_error = PrescriptionStatus::EnteredInError,
    consultation = |row| Some(row.consultation_id),
    author = |row, by| row.recorded_by = by,
    content = |row| json!({
        "consultation_id": row.consultation_id,
        "patient_id": row.patient_id,
        "medication_id": row.medication_id,
        "medication": row.medication,
        "dose_amount_milli": row.dose_amount_milli,
        "dose_unit": row.dose_unit,
        "route": row.route,
        "times_per_day": row.times_per_day,
        "frequency_pattern": row.frequency_pattern,
        "as_needed": row.as_needed,
        "duration_days": row.duration_days,
        "quantity": row.quantity,
        "refills": row.refills,
        "instructions": row.instructions,
        "status": row.status,
        "status_reason": row.status_reason,
        "error_reason": row.error_reason,
    }),
);

/// What a prescription orders, from a new one or an amendment.
struct Order {
    medication: Text<200>,
    medication_id: Option<Uuid>,
    dose_amount: Milli,
    dose_unit: Text<32>,
    route: MedicationRoute,
    frequency: Frequency,
    duration_days: Option<i32>,
    quantity: i32,
    refills: i32,
    instructions: TextOrEmpty<1000>,
}

impl From<PrescriptionIn> for Order {
    fn from(b: PrescriptionIn) -> Self {
        Order {
            medication: b.medication,
            medication_id: b.medication_id,
            dose_amount: b.dose_amount,
            dose_unit: b.dose_unit,
            route: b.route,
            frequency: b.frequency,
            duration_days: b.duration_days,
            quantity: b.quantity,
            refills: b.refills,
            instructions: b.instructions,
        }
    }
}

impl From<PrescriptionAmendment> for Order {
    fn from(b: PrescriptionAmendment) -> Self {
        Order {
            medication: b.medication,
            medication_id: b.medication_id,
            dose_amount: b.dose_amount,
            dose_unit: b.dose_unit,
            route: b.route,
            frequency: b.frequency,
            duration_days: b.duration_days,
            quantity: b.quantity,
            refills: b.refills,
            instructions: b.instructions,
        }
    }
}

impl Order {
    /// Write the order into `row`. Errors: 422 naming `dose_amount` for 0 or less.
    fn apply(self, row: &mut prescription::Model) -> AppResult<()> {
        if self.dose_amount.0 <= 0 {
            return Err(AppError::invalid_field("dose_amount", "must be more than 0"));
        }
        row.medication = self.medication.into_trimmed();
        row.medication_id = self.medication_id;
        row.dose_amount_milli = self.dose_amount.0;
        row.dose_unit = self.dose_unit.into_trimmed();
        row.route = self.route;
        row.times_per_day = self.frequency.times_per_day();
        row.as_needed = self.frequency == Frequency::AsNeeded;
        row.frequency_pattern = match self.frequency {
            Frequency::Pattern(p) => Some(p),
            _ => None,
        };
        row.duration_days = self.duration_days;
        row.quantity = self.quantity;
        row.refills = self.refills;
        row.instructions = self.instructions.into_trimmed();
        Ok(())
    }
}

/// 422 naming `medication_id` unless it is an active catalogue item.
async fn check_item(state: &AppState, id: Option<Uuid>) -> AppResult<()> {
    let Some(id) = id else { return Ok(()) };
    match db::pharmacy::find(state.db.conn(), id).await? {
        Some(item) if item.active => Ok(()),
        Some(_) => Err(AppError::invalid_field(
            "medication_id",
            "is an inactive catalogue item",
        )),
        None => Err(AppError::invalid_field("medication_id", "no such catalogue item")),
    }
}

/// Prescribe in consultation `id` (its doctor, while in progress).
///
/// Errors: 404/403 by the policy; 409 when the consultation is closed; 422
/// for a dose of 0, a quantity below 1, refills outside 0–12, a bad
/// frequency, a `medication_id` that is not an active catalogue item.
pub async fn record(state: &AppState, actor: &Actor, id: Uuid, body: PrescriptionIn) -> AppResult<prescription::Model> {
    body.validate()?;
    check_item(state, body.medication_id).await?;
    let now = state.clock.now();
    entries::record(state, actor, id, Action::ClinicalWrite, |consultation| {
        let mut row = prescription::Model {
            id: Uuid::now_v7(),
            consultation_id: consultation.id,
            patient_id: consultation.patient_id,
            recorded_by: actor.user_id,
            error_reason: None,
            version: 1,
            recorded_at: now,
            updated_at: now,
            medication_id: None,
            medication: String::new(),
            dose_amount_milli: 0,
            dose_unit: String::new(),
            route: body.route,
            times_per_day: None,
            frequency_pattern: None,
            as_needed: false,
            duration_days: None,
            quantity: 0,
            refills: 0,
            instructions: String::new(),
            status: PrescriptionStatus::Active,
            status_reason: None,
        };
        Order::from(body).apply(&mut row)?;
        Ok(row)
    })
    .await
}

/// Amend a prescription with a reason (its consultation's doctor).
///
/// Errors: as [`record`] and [`entries::change`].
pub async fn amend(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: PrescriptionAmendment,
) -> AppResult<prescription::Model> {
    body.validate()?;
    check_item(state, body.medication_id).await?;
    let reason = body.reason.trimmed().to_owned();
    let order = Order::from(body);
    entries::change(
        state,
        actor,
        id,
        Action::ClinicalWrite,
        reason,
        move |row: &mut prescription::Model| order.apply(row),
    )
    .await
}

/// Stop an active prescription with a reason, or (`reason` None) complete it.
///
/// Errors: as [`entries::change`]; 409 `prescription_not_active`.
pub async fn end(state: &AppState, actor: &Actor, id: Uuid, stop: Option<StopIn>) -> AppResult<prescription::Model> {
    if let Some(stop) = &stop {
        stop.validate()?;
    }
    let reason = stop.map(|s| s.reason.into_trimmed());
    let why = reason.clone().unwrap_or_else(|| "completed".to_owned());
    entries::change(
        state,
        actor,
        id,
        Action::ClinicalWrite,
        why,
        move |row: &mut prescription::Model| {
            if row.status != PrescriptionStatus::Active {
                return Err(AppError::conflict(
                    "prescription_not_active",
                    format!("the prescription is {}", row.status),
                ));
            }
            match reason {
                Some(reason) => {
                    row.status = PrescriptionStatus::Stopped;
                    row.status_reason = Some(reason);
                }
                None => row.status = PrescriptionStatus::Completed,
            }
            Ok(())
        },
    )
    .await
}

/// A patient's prescriptions in `query`'s statuses, newest first.
///
/// Errors: 400 for an unknown status; 404 when the actor may not see the
/// patient's clinical record.
pub async fn of_patient(
    state: &AppState,
    actor: &Actor,
    patient: Uuid,
    query: &PrescriptionQuery,
) -> AppResult<Vec<prescription::Model>> {
    authorize(actor, Action::ClinicalRead)?;
    let statuses = input::one_or_more::<PrescriptionStatus>("status", query.status.as_deref())?;
    check_visible(state, actor, patient).await?;
    let names: Vec<&str> = if statuses.is_empty() {
        vec!["active", "completed", "stopped"]
    } else {
        statuses.iter().map(|s| s.as_str()).collect()
    };
    Ok(db::entries::of_patient(state.db.conn(), "prescriptions", patient, &names).await?)
}
