//! IANA time zones, validated against the tz database compiled into the binary.

use std::fmt;

use chrono_tz::Tz;

/// A valid IANA time zone name (`Asia/Dhaka`, `America/New_York`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl TimeZone {
    /// Parse an IANA name. Errors: not in the tz database (abbreviations like `EST` are refused too).
    pub fn parse(name: &str) -> Result<TimeZone, String> {
        let name = name.trim();
        // Abbreviations and bare offsets are in the database for compatibility
        // but are not places; a facility's zone must follow its DST rules.
        if !name.contains('/') && name != "UTC" {
            return Err("must be an IANA time zone name such as Asia/Dhaka".into());
        }
        name.parse::<Tz>()
            .map(TimeZone)
            .map_err(|_| "is not a known IANA time zone".to_owned())
    }

    /// The chrono-tz zone.
    pub fn tz(self) -> Tz {
        self.0
    }

    /// The IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_are_accepted_and_others_refused() {
        assert_eq!(TimeZone::parse("Asia/Dhaka").unwrap().name(), "Asia/Dhaka");
        assert_eq!(TimeZone::parse("America/New_York").unwrap().name(), "America/New_York");
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::parse("EST").is_err());
        assert!(TimeZone::parse("").is_err());
    }
}
