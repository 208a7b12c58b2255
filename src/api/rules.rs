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
