//! Email addresses, normalised to lower case.

use std::fmt;

/// A syntactically valid email address (HTML living standard "valid email
/// address", as checked by `garde`), lower-cased so lookups are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parse and normalise. Errors: not an email address, or longer than 254 characters.
    pub fn parse(input: &str) -> Result<Email, String> {
        if input.chars().count() > 254 {
            return Err("must be at most 254 characters".into());
        }
        let trimmed = input.trim();
        let candidate = trimmed.to_lowercase();
        if garde::rules::email::parse_email(&candidate).is_err() {
            return Err("is not a valid email address".into());
        }
        Ok(Email(candidate))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalised address, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse(" Rahim@Example.COM ").unwrap().as_str(),
            "rahim@example.com"
        );
        assert!(Email::parse("not-an-email").is_err());
        assert!(Email::parse("a@").is_err());
        assert!(Email::parse(&format!("{}@x.org", "a".repeat(260))).is_err());
    }
}
