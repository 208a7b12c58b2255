//! garde validators for request fields, built on the domain newtypes so a
//! value that validates also parses.

use garde::{Error, Result};

use crate::auth::accounts::normalise_username;
use crate::domain::{Currency, Email, Money, Phone, TimeZone};

/// A username (see [`normalise_username`]).
pub fn username(value: &str, _: &()) -> Result {
    normalise_username(value).map(|_| ()).map_err(Error::new)
}

/// Non-blank text of at most `MAX` characters.
pub fn text<const MAX: usize>(value: &str, _: &()) -> Result {
    let value = value.trim();
    if value.is_empty() {
        Err(Error::new("must not be blank"))
    } else if value.chars().count() > MAX {
        Err(Error::new(format!("must be at most {MAX} characters")))
    } else {
        Ok(())
    }
}

/// Optional text of at most `MAX` characters.
pub fn optional_text<const MAX: usize>(value: &Option<String>, _: &()) -> Result {
    match value {
        Some(v) if v.chars().count() > MAX => {
            Err(Error::new(format!("must be at most {MAX} characters")))
        }
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
    Money::parse(value, Currency::BDT)
        .map(|_| ())
        .map_err(Error::new)
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
    let value = value.trim();
    if value.is_empty() || value.len() > 32 {
        return Err(Error::new("must be 1 to 32 characters"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
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
