//! Request input, shared by the API and the services that take it:
//! bounded text whose limit is part of its type ([`text`]), garde
//! validators built on the domain newtypes (a value that validates also
//! parses), and serde helpers for JSON and query fields.

pub mod ordering;
pub mod text;

use garde::{Error, Result};
use serde::Deserialize;

pub use ordering::{Ordering, sorts};
pub use text::{
    EmailText, NewPassword, PhoneText, QueryText, Text, TextOrEmpty, USERNAME_PATTERN, Username, Verbatim, email,
    normalise_username, phone,
};

use crate::domain::{Currency, Money, TimeZone};
use crate::error::{AppError, AppResult};

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

/// Longest `search` of a list, in characters.
pub const MAX_SEARCH: usize = 200;

/// The `search` query parameter of lists: at most [`MAX_SEARCH`] characters
/// (refused with 400 naming `search` while the query string is read).
pub type Search = QueryText<MAX_SEARCH>;

/// A list's search text, trimmed; `None` when absent or blank.
pub fn search(value: &Option<Search>) -> Option<String> {
    clean(value.clone().map(QueryText::into_inner))
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
    let number = text
        .parse::<i64>()
        .ok()
        .or_else(|| text.parse::<f64>().ok().and_then(whole));
    number
        .and_then(|n| T::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("invalid value: {text:?}, expected an integer in range")))
}

fn integral(number: &serde_json::Number) -> Option<i64> {
    number.as_i64().or_else(|| number.as_f64().and_then(whole))
}

/// A number written with a fraction or exponent that is still a whole
/// number (`12.0`, `1.2e1`). Zero in that notation is refused: `1e-999`
/// underflows to `0.0` when parsed, so `0.0` cannot be told apart from a
/// fraction too small to represent; zero is written `0`.
fn whole(f: f64) -> Option<i64> {
    (f.is_finite() && f != 0.0 && f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
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

/// The period of a list's `from` and `to` parameters (see [`instant`]).
///
/// Errors: 400 naming `from` or `to`.
pub fn period(from: Option<&str>, to: Option<&str>) -> AppResult<crate::db::Period> {
    Ok(crate::db::Period {
        from: from.map(|v| instant("from", v, false)).transpose()?,
        to: to.map(|v| instant("to", v, true)).transpose()?,
    })
}

/// A comma-separated list of enumeration values (`confirmed,checked_in`),
/// each once, in a stable order; empty when absent or blank.
///
/// Errors: 400 naming `field` and the allowed values.
pub fn one_or_more<T>(field: &'static str, list: Option<&str>) -> AppResult<Vec<T>>
where
    T: std::str::FromStr<Err = String> + Ord,
{
    let mut values = match list {
        Some(list) if !list.is_empty() => list
            .split(',')
            .map(|s| s.parse::<T>().map_err(|m| AppError::bad_field(field, m)))
            .collect::<AppResult<Vec<T>>>()?,
        _ => Vec::new(),
    };
    values.sort_unstable();
    values.dedup();
    Ok(values)
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
        assert!(serde_json::from_str::<Body>(r#"{"n": 1e-999}"#).is_err());
        assert!(serde_json::from_str::<Body>(r#"{"n": 0.0}"#).is_err());
        let body: Body = serde_json::from_str(r#"{"n": 0}"#).unwrap();
        assert_eq!(body.n, 0);
    }
}
