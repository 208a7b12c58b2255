//! Vital signs (the LOINC vital-signs panel, 85354-9 and its members),
//! recorded in a consultation by its doctor or a nurse of its facility, or
//! for triage before one. Values are fixed-point decimals with at most
//! three places, kept exactly as entered (`177` reads back `177`, `38.5`
//! reads back `38.5`); a temperature in `[degF]` is kept as entered and
//! converted to Celsius for the range check and the answer. Body mass index
//! is derived from weight and height measured together, never sent.

use chrono::{DateTime, TimeDelta, Utc};
use garde::Validate;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use uuid::Uuid;

use super::consultations::check_visible;
use super::entries::{self, impl_entry};
use crate::auth::Actor;
use crate::auth::policy::{self, Action, ClinicalRecord, authorize, authorize_object};
use crate::db::entities::vital_signs;
use crate::db::{self, PageRequest, Paged};
use crate::error::{AppError, AppResult};
use crate::input::Text;
use crate::state::AppState;

/// A decimal with at most three places, as thousandths (`38.5` is 38500).
/// Read from a JSON number or a decimal string; a number is read through
/// its shortest decimal form, so `36.6` is exactly 36600.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Milli(pub i64);

impl Milli {
    /// Parse `text` (`177`, `38.5`, `-1.25`). Errors: a message for the field.
    pub fn parse(text: &str) -> Result<Milli, &'static str> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || (digits.contains('.') && fraction.is_empty())
        {
            return Err("must be a decimal number");
        }
        if fraction.len() > 3 {
            return Err("must have at most 3 decimal places");
        }
        let whole: i64 = whole
            .parse()
            .ok()
            .filter(|w| *w < 1_000_000_000)
            .ok_or("is too large")?;
        let fraction: i64 = format!("{fraction:0<3}").parse().unwrap_or(0);
        let value = whole * 1000 + fraction;
        Ok(Milli(if negative { -value } else { value }))
    }

    /// As a JSON number: the nearest double to the decimal, which prints as
    /// the decimal itself (`38.5`, `177`).
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

impl<'de> Deserialize<'de> for Milli {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Number(serde_json::Number),
            Text(String),
        }
        let text = match Given::deserialize(deserializer)? {
            Given::Number(n) => n.to_string(),
            Given::Text(s) => s,
        };
        // Exponents (`1.85e2`) through the shortest form of the double.
        let text = match text.contains(['e', 'E']) {
            true => text.parse::<f64>().map(|f| f.to_string()).unwrap_or(text),
            false => text,
        };
        Milli::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Milli {
    /// A whole value as an integer (`177`), else the decimal (`38.5`).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            serializer.serialize_i64(self.0 / 1000)
        } else {
            serializer.serialize_f64(self.to_f64())
        }
    }
}

impl utoipa::PartialSchema for Milli {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .description(Some("A decimal with at most 3 places (a number or a decimal string)"))
            .into()
    }
}

impl ToSchema for Milli {}

/// The unit a temperature is given in (UCUM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
pub enum TemperatureUnit {
    /// Degrees Celsius.
    #[default]
    #[serde(rename = "Cel")]
    Celsius,
    /// Degrees Fahrenheit, converted to Celsius.
    #[serde(rename = "[degF]")]
    Fahrenheit,
}

impl TemperatureUnit {
    /// The UCUM code.
    pub fn code(self) -> &'static str {
        match self {
            TemperatureUnit::Celsius => "Cel",
            TemperatureUnit::Fahrenheit => "[degF]",
        }
    }
}

/// One set of vital signs measured together; at least one measurement.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct VitalSignsIn {
    /// When measured (RFC 3339); now when absent; not in the future.
    #[garde(skip)]
    pub measured_at: Option<DateTime<Utc>>,
    /// Systolic blood pressure, mm[Hg], 40–300 (LOINC 8480-6); with `diastolic`.
    #[garde(range(min = 40, max = 300))]
    pub systolic: Option<i32>,
    /// Diastolic blood pressure, mm[Hg], 20–200 and below systolic (LOINC 8462-4).
    #[garde(range(min = 20, max = 200))]
    pub diastolic: Option<i32>,
    /// Heart rate, /min, 20–300 (LOINC 8867-4).
    #[garde(range(min = 20, max = 300))]
    pub heart_rate: Option<i32>,
    /// Respiratory rate, /min, 4–80 (LOINC 9279-1).
    #[garde(range(min = 4, max = 80))]
    pub respiratory_rate: Option<i32>,
    /// Body temperature in `temperature_unit`, 25–45 Cel (LOINC 8310-5).
    #[garde(skip)]
    #[schema(value_type = Option<f64>)]
    pub temperature: Option<Milli>,
    /// `Cel` (default) or `[degF]`.
    #[serde(default)]
    #[garde(skip)]
    pub temperature_unit: TemperatureUnit,
    /// Oxygen saturation (SpO2), %, 50–100 (LOINC 2708-6).
    #[garde(range(min = 50, max = 100))]
    pub oxygen_saturation: Option<i32>,
    /// Body weight, kg, 0.2–500 (LOINC 29463-7).
    #[garde(skip)]
    #[schema(value_type = Option<f64>)]
    pub weight: Option<Milli>,
    /// Body height, cm, 20–272 (LOINC 8302-2).
    #[garde(skip)]
    #[schema(value_type = Option<f64>)]
    pub height: Option<Milli>,
    /// Pain severity, 0–10 (LOINC 72514-3).
    #[garde(range(min = 0, max = 10))]
    pub pain_score: Option<i32>,
}

/// Thousandths of a degree Celsius of a temperature given in `unit`, rounded half away from zero.
pub fn celsius_milli(value: Milli, unit: TemperatureUnit) -> i64 {
    match unit {
        TemperatureUnit::Celsius => value.0,
        TemperatureUnit::Fahrenheit => {
            let scaled = (value.0 - 32_000) * 5;
            (scaled + scaled.signum() * 4) / 9
        }
    }
}

/// Body mass index in tenths of kg/m2 from grams-thousandths (kg × 1000) and
/// cm × 1000, rounded half up.
pub fn bmi_tenths(weight_milli: i64, height_milli: i64) -> Option<i64> {
    if height_milli <= 0 || weight_milli <= 0 {
        return None;
    }
    // kg / m² = (w / 1000) / (h / 100000)² = w × 10⁷ / h²; tenths: × 10.
    let numerator = i128::from(weight_milli) * 100_000_000;
    let denominator = i128::from(height_milli) * i128::from(height_milli);
    i64::try_from((numerator * 2 + denominator) / (denominator * 2)).ok()
}

fn check_range(field: &'static str, value: Milli, low: i64, high: i64, unit: &str) -> AppResult<()> {
    if (low..=high).contains(&value.0) {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            field,
            format!(
                "must be between {} and {} {unit}",
                Milli(low).to_f64(),
                Milli(high).to_f64()
            ),
        ))
    }
}

/// The row of `body`, refused whole when a value is implausible.
///
/// Errors: 422 naming the field (range, diastolic not below systolic, one
/// of a blood pressure pair missing, nothing measured, measured in the future).
fn row_of(body: &VitalSignsIn, patient: Uuid, actor: &Actor, now: DateTime<Utc>) -> AppResult<vital_signs::Model> {
    body.validate()?;
    match (body.systolic, body.diastolic) {
        (Some(s), Some(d)) if d >= s => {
            return Err(AppError::invalid_field("diastolic", "must be below systolic"));
        }
        (Some(_), None) => return Err(AppError::invalid_field("diastolic", "is required with systolic")),
        (None, Some(_)) => return Err(AppError::invalid_field("systolic", "is required with diastolic")),
        _ => {}
    }
    let temperature = body.temperature.map(|t| celsius_milli(t, body.temperature_unit));
    if let Some(celsius) = temperature {
        check_range("temperature", Milli(celsius), 25_000, 45_000, "Cel")?;
    }
    if let Some(weight) = body.weight {
        check_range("weight", weight, 200, 500_000, "kg")?;
    }
    if let Some(height) = body.height {
        check_range("height", height, 20_000, 272_000, "cm")?;
    }
    let measured = [
        body.systolic,
        body.heart_rate,
        body.respiratory_rate,
        body.oxygen_saturation,
        body.pain_score,
    ]
    .iter()
    .any(Option::is_some)
        || body.temperature.is_some()
        || body.weight.is_some()
        || body.height.is_some();
    if !measured {
        return Err(AppError::invalid_field(
            "systolic",
            "at least one measurement is required",
        ));
    }
    let measured_at = body.measured_at.unwrap_or(now);
    if measured_at > now + TimeDelta::minutes(5) {
        return Err(AppError::invalid_field("measured_at", "must not be in the future"));
    }
    Ok(vital_signs::Model {
        id: Uuid::now_v7(),
        patient_id: patient,
        consultation_id: None,
        facility_id: actor.facility_id,
        measured_at,
        measured_by: actor.user_id,
        systolic: body.systolic,
        diastolic: body.diastolic,
        heart_rate: body.heart_rate,
        respiratory_rate: body.respiratory_rate,
        oxygen_saturation: body.oxygen_saturation,
        pain_score: body.pain_score,
        temperature_milli: temperature,
        temperature_entered_milli: body.temperature.map(|t| t.0),
        temperature_unit: body.temperature.map(|_| body.temperature_unit.code().to_owned()),
        weight_milli: body.weight.map(|w| w.0),
        height_milli: body.height.map(|h| h.0),
        status: "final".into(),
        error_reason: None,
        version: 1,
        created_at: now,
        updated_at: now,
    })
}

/// The entry type of vital signs in the version history.
pub const ENTRY: &str = "vital_signs";

impl_entry!(
    vital_signs,
    entry = ENTRY,
    table = "vital_signs",
    kind = "vital signs",
    entered_in_error = "entered_in_error",
    consultation = |row| row.consultation_id,
    // `measured_by` is who measured, which an amendment does not change.
    author = |row, by| (),
    content = |row| serde_json::json!({
        "consultation_id": row.consultation_id,
        "patient_id": row.patient_id,
        "measured_at": row.measured_at,
        "systolic": row.systolic,
        "diastolic": row.diastolic,
        "heart_rate": row.heart_rate,
        "respiratory_rate": row.respiratory_rate,
        "oxygen_saturation": row.oxygen_saturation,
        "pain_score": row.pain_score,
        "temperature_milli": row.temperature_milli,
        "temperature_entered_milli": row.temperature_entered_milli,
        "temperature_unit": row.temperature_unit,
        "weight_milli": row.weight_milli,
        "height_milli": row.height_milli,
        "status": row.status,
        "error_reason": row.error_reason,
    }),
);

/// An amendment: the set as it should now stand (`measured_at` kept when
/// absent), and why. The set reads `amended` from then on.
#[derive(Debug, Deserialize, Validate)]
pub struct VitalSignsAmendment {
    /// Why it changes.
    #[garde(dive)]
    pub reason: Text<500>,
    #[serde(flatten)]
    #[garde(skip)]
    pub measurements: VitalSignsIn,
    /// Fields neither names, refused with 400 (serde cannot deny unknown
    /// fields through `flatten`, so they are collected here).
    #[serde(flatten)]
    #[garde(skip)]
    pub unknown: std::collections::BTreeMap<String, serde_json::Value>,
}

impl utoipa::PartialSchema for VitalSignsAmendment {
    /// [`VitalSignsIn`]'s object with a required `reason` (not an `allOf`:
    /// its `additionalProperties: false` would refuse the reason).
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::Schema;
        let RefOr::T(Schema::Object(mut object)) = <VitalSignsIn as utoipa::PartialSchema>::schema() else {
            return <VitalSignsIn as utoipa::PartialSchema>::schema();
        };
        object.description = Some(
            "An amendment: the set as it should now stand (`measured_at` kept when absent) and a `reason`. \
             The set reads `amended` from then on."
                .into(),
        );
        object
            .properties
            .insert("reason".into(), <Text<500> as utoipa::PartialSchema>::schema());
        object.required.insert(0, "reason".into());
        RefOr::T(Schema::Object(object))
    }
}

impl ToSchema for VitalSignsAmendment {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <VitalSignsIn as ToSchema>::schemas(schemas);
    }
}

/// Record vital signs in consultation `id` (its doctor, or a nurse of its facility, while it is in progress).
///
/// Errors: 404/403 by the policy; 409 when the consultation is closed; 422 as [`row_of`].
pub async fn record(state: &AppState, actor: &Actor, id: Uuid, body: VitalSignsIn) -> AppResult<vital_signs::Model> {
    authorize(actor, Action::VitalSignsWrite)?;
    let mut row = row_of(&body, Uuid::nil(), actor, state.clock.now())?;
    entries::record(state, actor, id, Action::VitalSignsWrite, move |consultation| {
        row.patient_id = consultation.patient_id;
        row.consultation_id = Some(consultation.id);
        row.facility_id = Some(consultation.facility_id);
        Ok(row)
    })
    .await
}

/// Record triage vital signs for `patient` before a consultation (a doctor
/// treating them, a nurse of a facility that saw them).
///
/// Errors: 404/403 by the policy; 422 as [`row_of`].
pub async fn triage(
    state: &AppState,
    actor: &Actor,
    patient: Uuid,
    body: VitalSignsIn,
) -> AppResult<vital_signs::Model> {
    authorize(actor, Action::VitalSignsWrite)?;
    let record = ClinicalRecord(policy::patient_record(state.db.conn(), actor, patient).await?);
    authorize_object(actor, Action::ClinicalRead, &record)?;
    authorize_object(actor, Action::VitalSignsWrite, &record)?;
    if db::patients::find(state.db.conn(), patient).await?.is_none() {
        return Err(AppError::NotFound("patient"));
    }
    let row = row_of(&body, patient, actor, state.clock.now())?;
    let tx = state.db.begin_write().await?;
    let row = entries::insert(&tx, row, actor.user_id).await?;
    tx.commit().await?;
    Ok(row)
}

/// Amend a set of vital signs (who may record them: in a consultation, its
/// doctor or a nurse of its facility, also after it is completed): version
/// n+1 with the reason; `measured_by` stays who measured.
///
/// Errors: 404/403 by the policy; 409 for a set or consultation entered in
/// error; 422 for a blank reason or as [`row_of`].
pub async fn amend(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    body: VitalSignsAmendment,
) -> AppResult<vital_signs::Model> {
    authorize(actor, Action::VitalSignsWrite)?;
    if let Some(field) = body.unknown.keys().next() {
        return Err(AppError::bad_field(
            field.as_str(),
            "is not a field of a vital signs amendment",
        ));
    }
    body.validate()?;
    let given_at = body.measurements.measured_at;
    let new = row_of(&body.measurements, Uuid::nil(), actor, state.clock.now())?;
    let reason = body.reason.into_trimmed();
    entries::change(
        state,
        actor,
        id,
        Action::VitalSignsWrite,
        reason,
        move |row: &mut vital_signs::Model| {
            row.measured_at = given_at.unwrap_or(row.measured_at);
            row.systolic = new.systolic;
            row.diastolic = new.diastolic;
            row.heart_rate = new.heart_rate;
            row.respiratory_rate = new.respiratory_rate;
            row.oxygen_saturation = new.oxygen_saturation;
            row.pain_score = new.pain_score;
            row.temperature_milli = new.temperature_milli;
            row.temperature_entered_milli = new.temperature_entered_milli;
            row.temperature_unit = new.temperature_unit;
            row.weight_milli = new.weight_milli;
            row.height_milli = new.height_milli;
            row.status = "amended".into();
            Ok(())
        },
    )
    .await
}

/// A patient's vital signs, newest first.
///
/// Errors: 404 when the actor may not see the patient's clinical record.
pub async fn of_patient(
    state: &AppState,
    actor: &Actor,
    patient: Uuid,
    page: PageRequest,
) -> AppResult<Paged<vital_signs::Model>> {
    authorize(actor, Action::ClinicalRead)?;
    check_visible(state, actor, patient).await?;
    Ok(db::vital_signs::of_patient(state.db.conn(), patient, false, page).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_thousandths() {
        assert_eq!(Milli::parse("177"), Ok(Milli(177_000)));
        assert_eq!(Milli::parse("38.5"), Ok(Milli(38_500)));
        assert_eq!(Milli::parse("36.6"), Ok(Milli(36_600)));
        assert_eq!(Milli::parse("0.205"), Ok(Milli(205)));
        for bad in ["", "1.2345", "abc", "1.", ".5", "1e3", "--1", "NaN"] {
            assert!(Milli::parse(bad).is_err(), "{bad}");
        }
        let read = |json: &str| serde_json::from_str::<Milli>(json).map(|m| m.0).ok();
        assert_eq!(read("36.6"), Some(36_600));
        assert_eq!(read("\"177\""), Some(177_000));
        assert_eq!(read("1.77e2"), Some(177_000));
        assert_eq!(read("36.66666"), None);
        // Back as the same JSON number.
        assert_eq!(serde_json::to_string(&Milli(36_600)).unwrap(), "36.6");
        assert_eq!(serde_json::to_string(&Milli(177_000)).unwrap(), "177");
        assert_eq!(serde_json::to_string(&Milli(-1_250)).unwrap(), "-1.25");
    }

    #[test]
    fn fahrenheit_converts_and_bmi_derives() {
        assert_eq!(celsius_milli(Milli(101_300), TemperatureUnit::Fahrenheit), 38_500);
        assert_eq!(celsius_milli(Milli(98_600), TemperatureUnit::Fahrenheit), 37_000);
        assert_eq!(celsius_milli(Milli(100_000), TemperatureUnit::Fahrenheit), 37_778);
        assert_eq!(celsius_milli(Milli(38_500), TemperatureUnit::Celsius), 38_500);
        // 70 kg at 175 cm: 22.857 → 22.9.
        assert_eq!(bmi_tenths(70_000, 175_000), Some(229));
        assert_eq!(bmi_tenths(70_000, 0), None);
    }
}
