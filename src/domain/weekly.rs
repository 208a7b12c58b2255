//! The parts of a weekly schedule: a day of the week and a local wall-clock time.

use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WeekdayName {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl From<WeekdayName> for Weekday {
    fn from(day: WeekdayName) -> Weekday {
        match day {
            WeekdayName::Monday => Weekday::Mon,
            WeekdayName::Tuesday => Weekday::Tue,
            WeekdayName::Wednesday => Weekday::Wed,
            WeekdayName::Thursday => Weekday::Thu,
            WeekdayName::Friday => Weekday::Fri,
            WeekdayName::Saturday => Weekday::Sat,
            WeekdayName::Sunday => Weekday::Sun,
        }
    }
}

impl From<Weekday> for WeekdayName {
    fn from(day: Weekday) -> WeekdayName {
        match day {
            Weekday::Mon => WeekdayName::Monday,
            Weekday::Tue => WeekdayName::Tuesday,
            Weekday::Wed => WeekdayName::Wednesday,
            Weekday::Thu => WeekdayName::Thursday,
            Weekday::Fri => WeekdayName::Friday,
            Weekday::Sat => WeekdayName::Saturday,
            Weekday::Sun => WeekdayName::Sunday,
        }
    }
}

/// A local wall-clock time, `HH:MM` (seconds, if given, must be zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, example = "09:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9](:00)?$")]
pub struct LocalTime(pub NaiveTime);

impl LocalTime {
    /// Parse exactly `HH:MM` or `HH:MM:00` (two digits each, 00–23 and 00–59).
    pub fn parse(text: &str) -> Option<LocalTime> {
        let bytes = text.as_bytes();
        let digits = |i: usize| bytes[i].is_ascii_digit() && bytes[i + 1].is_ascii_digit();
        let shape_ok = match bytes.len() {
            5 => digits(0) && bytes[2] == b':' && digits(3),
            8 => digits(0) && bytes[2] == b':' && digits(3) && &bytes[5..] == b":00",
            _ => false,
        };
        if !shape_ok {
            return None;
        }
        let number = |i: usize| u32::from(bytes[i] - b'0') * 10 + u32::from(bytes[i + 1] - b'0');
        NaiveTime::from_hms_opt(number(0), number(3), 0).map(LocalTime)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        LocalTime::parse(&text).ok_or_else(|| serde::de::Error::custom("must be a local time HH:MM"))
    }
}

impl Serialize for LocalTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.format("%H:%M").to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::LocalTime;

    #[test]
    fn local_times_are_exactly_hh_mm() {
        assert!(LocalTime::parse("09:00").is_some());
        assert!(LocalTime::parse("23:59:00").is_some());
        for bad in ["9:00", "24:00", "09:60", "09:00:30", "0900", " 09:00", "09:00 "] {
            assert!(LocalTime::parse(bad).is_none(), "{bad}");
        }
    }
}
