//! Money: an integer count of minor units and an ISO 4217 currency, never a
//! float. JSON shows the amount as a decimal string (`"500.00"`).

use std::fmt;

/// An ISO 4217 currency code with its minor-unit exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Bangladeshi taka, the default currency.
    pub const BDT: Currency = Currency(iso_currency::Currency::BDT);

    /// Parse an ISO 4217 alphabetic code (`"BDT"`). Errors: unknown code or one without minor units defined.
    pub fn parse(code: &str) -> Result<Currency, String> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err("must be a three-letter ISO 4217 code".into());
        }
        let currency = iso_currency::Currency::from_code(&code.to_ascii_uppercase())
            .ok_or_else(|| "is not an ISO 4217 currency code".to_owned())?;
        if currency.exponent().is_none() {
            return Err("is not a currency with minor units".into());
        }
        Ok(Currency(currency))
    }

    /// The three-letter code.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point (2 for BDT, 0 for JPY).
    pub fn exponent(self) -> u32 {
        self.0.exponent().map(u32::from).unwrap_or(2)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of money in minor units of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    /// Minor units (paisa for BDT, cents for USD).
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// Parse a non-negative decimal string (`"500"`, `"500.5"`, `"500.50"`) in `currency`.
    ///
    /// Errors: not a plain decimal, more fraction digits than the currency has, negative, or too large.
    pub fn parse(amount: &str, currency: Currency) -> Result<Money, String> {
        let exponent = currency.exponent();
        let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !digits_only(whole)
            || !digits_only(fraction)
            || (amount.contains('.') && fraction.is_empty())
        {
            return Err("must be a non-negative decimal amount such as \"500.00\"".into());
        }
        if whole.len() > 10 {
            return Err("is too large".into());
        }
        if fraction.len() > exponent as usize {
            return Err(format!("{} allows at most {exponent} decimal places", currency.code()));
        }
        let scale = 10_i64.pow(exponent);
        let whole: i64 = whole.parse().map_err(|_| "is too large".to_owned())?;
        let padded = format!("{fraction:0<width$}", width = exponent as usize);
        let fraction: i64 = if padded.is_empty() {
            0
        } else {
            padded.parse().map_err(|_| "is too large".to_owned())?
        };
        let minor = whole
            .checked_mul(scale)
            .and_then(|m| m.checked_add(fraction))
            .filter(|m| *m <= 1_000_000_000_000)
            .ok_or_else(|| "is too large".to_owned())?;
        Ok(Money { minor, currency })
    }

    /// `minor` units of the currency coded `currency` as a decimal string
    /// (an unknown code is read as BDT: stored codes were checked on the way in).
    pub fn format(minor: i64, currency: &str) -> String {
        let currency = Currency::parse(currency).unwrap_or(Currency::BDT);
        Money { minor, currency }.amount_string()
    }

    /// The amount as a decimal string with exactly the currency's decimals.
    pub fn amount_string(&self) -> String {
        let exponent = self.currency.exponent();
        if exponent == 0 {
            return self.minor.to_string();
        }
        let scale = 10_i64.pow(exponent);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        format!(
            "{sign}{}.{:0width$}",
            abs / scale as u64,
            abs % scale as u64,
            width = exponent as usize
        )
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_string(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_become_minor_units() {
        let bdt = Currency::BDT;
        assert_eq!(Money::parse("500", bdt).unwrap().minor, 50_000);
        assert_eq!(Money::parse("500.5", bdt).unwrap().minor, 50_050);
        assert_eq!(Money::parse("0.05", bdt).unwrap().minor, 5);
        assert_eq!(Money::parse("500.00", bdt).unwrap().amount_string(), "500.00");
        let jpy = Currency::parse("jpy").unwrap();
        assert_eq!(Money::parse("1200", jpy).unwrap().amount_string(), "1200");
        assert!(Money::parse("1200.5", jpy).is_err());
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for bad in ["", "-1", "1.234", "1e3", "abc", "1.", ".5", "99999999999999"] {
            assert!(Money::parse(bad, Currency::BDT).is_err(), "{bad:?} accepted");
        }
        assert!(Currency::parse("ZZZ").is_err());
    }
}
