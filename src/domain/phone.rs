//! Phone numbers, normalised to E.164 (ITU-T E.164, `+8801712345678`).

use std::fmt;

use phonenumber::country;

/// A valid phone number in E.164 form. National numbers without a country
/// code are read as Bangladeshi (`01712345678` → `+8801712345678`), the
/// convention of the systems Carebook replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parse and normalise. Errors: not a valid phone number for its country,
    /// or longer than E.164's 15 digits.
    pub fn parse(input: &str) -> Result<Phone, String> {
        if input.chars().count() > 32 {
            return Err("must be at most 32 characters".into());
        }
        let input = input.trim();
        if input.is_empty() {
            return Err("is not a valid phone number".into());
        }
        let e164 = e164_of(input)?;
        // The crate's E.164 formatting loses leading zeros past the first
        // (Italian numbers, found by fuzzing: +39 000 5361449 formats as
        // +3905361449, which is not valid). Keep only numbers whose normal
        // form reads back as itself.
        if e164_of(&e164).as_deref() != Ok(e164.as_str()) {
            return Err("is not a valid phone number".into());
        }
        Ok(Phone(e164))
    }

    /// Whether the input looks like a phone number at all (digits, spaces, `+`, `-`, brackets).
    pub fn looks_like(input: &str) -> bool {
        let input = input.trim();
        input.chars().any(|c| c.is_ascii_digit()) && input.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
    }

    /// The E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The E.164 form, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// One pass of libphonenumber: parse (national numbers as Bangladeshi),
/// validate, format as E.164 and check E.164's 15-digit limit.
fn e164_of(input: &str) -> Result<String, String> {
    let number =
        phonenumber::parse(Some(country::Id::BD), input).map_err(|_| "is not a valid phone number".to_owned())?;
    if !phonenumber::is_valid(&number) {
        return Err("is not a valid phone number".into());
    }
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    // libphonenumber's metadata admits some national numbers longer than
    // E.164's 15 digits (found by fuzzing: +49 2248 40495304532).
    if e164.len() > 16 {
        return Err("is not a valid phone number (E.164 allows at most 15 digits)".into());
    }
    Ok(e164)
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bangladeshi_numbers_normalise_to_e164() {
        assert_eq!(Phone::parse("01712345678").unwrap().as_str(), "+8801712345678");
        assert_eq!(Phone::parse("+880 1712-345678").unwrap().as_str(), "+8801712345678");
        assert_eq!(Phone::parse("+1 212 555 0123").unwrap().as_str(), "+12125550123");
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(Phone::parse("12").is_err());
        assert!(Phone::parse("hello").is_err());
        // Valid by libphonenumber's German metadata, but 17 digits (fuzzing found it).
        assert!(Phone::parse("+49224840495304532").is_err());
        assert!(Phone::parse("").is_err());
        // Formats as +3905361449, which is itself not valid (fuzzing found it).
        assert!(Phone::parse("+390005361449\u{1b}").is_err());
        assert!(Phone::looks_like("+880 17"));
        assert!(!Phone::looks_like("rahim"));
    }
}
