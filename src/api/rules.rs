//! garde validators for request fields, built on the domain newtypes so a
//! value that validates also parses.

use garde::{Error, Result};
use serde::Deserialize;

use crate::auth::accounts::normalise_username;
use crate::domain::{Currency, Email, Money, Phone, TimeZone};

/// A username (see [`normalise_username`]).
pub fn username(value: &str, _: &()) -> Result {
    normalise_username(value).map(|_| ()).map_err(Error::new)
}

/// Non-blank text of at most `MAX` characters (counted before trimming, as
/// the schema's `maxLength` counts).
pub fn text<const MAX: usize>(value: &str, _: &()) -> Result {
    if value.chars().count() > MAX {
        Err(Error::new(format!("must be at most {MAX} characters")))
    } else if value.trim().is_empty() {
        Err(Error::new("must not be blank"))
    } else {
        Ok(())
    }
}

/// Optional text of at most `MAX` characters.
pub fn optional_text<const MAX: usize>(value: &Option<String>, _: &()) -> Result {
    match value {
        Some(v) if v.chars().count() > MAX => Err(Error::new(format!("must be at most {MAX} characters"))),
        _ => Ok(()),
    }
}

/// Text of at most `MAX` characters, possibly empty.
pub fn long_text<const MAX: usize>(value: &str, _: &()) -> Result {
    if value.chars().count() > MAX {
        Err(Error::new(format!("must be at most {MAX} characters")))
    } else {
        Ok(())
    }
}

/// An optional email address.
pub fn optional_email(value: &Option<String>, _: &()) -> Result {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Email::parse(v).map(|_| ()).map_err(Error::new),
        None => Ok(()),
    }
}

/// An optional phone number.
pub fn optional_phone(value: &Option<String>, _: &()) -> Result {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Phone::parse(v).map(|_| ()).map_err(Error::new),
        None => Ok(()),
    }
}

/// An IANA time zone name.
pub fn time_zone(value: &str, _: &()) -> Result {
    TimeZone::parse(value).map(|_| ()).map_err(Error::new)
}

/// An optional ISO 4217 currency code.
pub fn optional_currency(value: &Option<String>, _: &()) -> Result {
    match value {
        Some(v) => Currency::parse(v).map(|_| ()).map_err(Error::new),
        None => Ok(()),
    }
}

/// A non-negative decimal amount (at most two decimals; the currency's own
/// exponent is checked when the amount is converted).
pub fn amount(value: &str, _: &()) -> Result {
    Money::parse(value, Currency::BDT).map(|_| ()).map_err(Error::new)
}

/// An optional non-negative decimal amount.
pub fn optional_amount(value: &Option<String>, ctx: &()) -> Result {
    match value {
        Some(v) => amount(v, ctx),
        None => Ok(()),
    }
}

/// Trim and drop blank optional text.
pub fn clean(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A short code: 1–32 of A–Z, 0–9, `_`, `-` (case-insensitive; stored upper-case).
pub fn code(value: &str, _: &()) -> Result {
    if value.is_empty() || value.len() > 32 {
        return Err(Error::new("must be 1 to 32 characters"));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(Error::new("may contain only letters, digits, '_' and '-'"));
    }
    Ok(())
}

/// An optional patch value that may be set to null: `Some(None)` clears it.
pub fn optional_phone_patch(value: &Option<Option<String>>, ctx: &()) -> Result {
    match value {
        Some(inner) => optional_phone(inner, ctx),
        None => Ok(()),
    }
}

/// Deserialise a field that distinguishes "absent" (`None`) from "null" (`Some(None)`).
pub fn nullable<'de, D, T>(deserializer: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// An integer field of a JSON body. JSON Schema counts `5.0` as an integer,
/// so an integral number is accepted in any notation; a string is not.
pub fn integer<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    let number = serde_json::Number::deserialize(deserializer)?;
    integral(&number)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| serde::de::Error::custom(format!("invalid value: {number}, expected an integer in range")))
}

/// An optional integer field of a JSON body (see [`integer`]).
pub fn optional_integer<'de, D, T>(deserializer: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    match Option::<serde_json::Number>::deserialize(deserializer)? {
        None => Ok(None),
        Some(number) => integral(&number)
            .and_then(|n| T::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid value: {number}, expected an integer in range"))),
    }
}

/// An optional integer query parameter: its text may be any integral number (`20`, `20.0`).
pub fn query_integer<'de, D, T>(deserializer: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let number = text.parse::<i64>().ok().or_else(|| {
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    });
    number
        .and_then(|n| T::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("invalid value: {text:?}, expected an integer in range")))
}

fn integral(number: &serde_json::Number) -> Option<i64> {
    number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

/// A free-text query parameter of at most `max` characters.
///
/// Errors: 400 naming `field` when longer.
pub fn query_text(field: &'static str, value: Option<String>, max: usize) -> crate::error::AppResult<Option<String>> {
    match value {
        Some(v) if v.chars().count() > max => Err(crate::error::AppError::bad_field(
            field,
            format!("must be at most {max} characters"),
        )),
        other => Ok(other),
    }
}

/// A date (`YYYY-MM-DD`) or an RFC 3339 instant.
pub fn date_or_instant() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let string = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
    };
    utoipa::openapi::Schema::AnyOf(
        AnyOfBuilder::new()
            .item(string(KnownFormat::Date))
            .item(string(KnownFormat::DateTime))
            .build(),
    )
}

/// A query bound: an RFC 3339 instant, or a date `YYYY-MM-DD` meaning 00:00 UTC
/// (or, with `end_of_day`, the end of that day).
///
/// Errors: 400 naming `field`.
pub fn instant(
    field: &'static str,
    value: &str,
    end_of_day: bool,
) -> crate::error::AppResult<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let date: chrono::NaiveDate = value
        .parse()
        .map_err(|_| crate::error::AppError::bad_field(field, "must be an RFC 3339 instant or a date YYYY-MM-DD"))?;
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    Ok(if end_of_day {
        midnight + chrono::TimeDelta::days(1)
    } else {
        midnight
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::integer")]
        n: u32,
        #[serde(default, deserialize_with = "super::optional_integer")]
        m: Option<i32>,
    }

    #[test]
    fn integral_numbers_in_any_notation_are_integers() {
        let body: Body = serde_json::from_str(r#"{"n": 211.0, "m": -3}"#).unwrap();
        assert_eq!((body.n, body.m), (211, Some(-3)));
        let body: Body = serde_json::from_str(r#"{"n": 2.11e2}"#).unwrap();
        assert_eq!((body.n, body.m), (211, None));
        assert!(serde_json::from_str::<Body>(r#"{"n": 2.5}"#).is_err());
        assert!(serde_json::from_str::<Body>(r#"{"n": -1}"#).is_err());
        assert!(serde_json::from_str::<Body>(r#"{"n": "5"}"#).is_err());
    }
}
