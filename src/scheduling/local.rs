//! Local wall-clock time → UTC, with the DST rules of the whole module.

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// A grid time: the instant of a local time, or `None` when the local time
/// does not exist. An ambiguous local time maps to its first occurrence only.
pub(crate) fn grid_instant(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// A boundary (start or end of working hours, start of a day): always an
/// instant. A local time inside a spring-forward gap is read with the offset in
/// force before the gap, as RFC 5545 §3.3.5 does, which lands just after it.
pub(crate) fn boundary_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    grid_instant(tz, local).unwrap_or_else(|| {
        let before = tz
            .from_local_datetime(&(local - TimeDelta::days(1)))
            .earliest()
            .map(|t| t.offset().fix())
            .unwrap_or_else(|| Utc.fix());
        Utc.from_utc_datetime(&(local - TimeDelta::seconds(before.local_minus_utc().into())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use chrono_tz::America::New_York;

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn gap_times_have_no_grid_instant_but_a_boundary_after_the_gap() {
        // 2027-03-14 02:30 does not exist in New York.
        assert_eq!(grid_instant(New_York, local(2027, 3, 14, 2, 30)), None);
        let b = boundary_instant(New_York, local(2027, 3, 14, 2, 30));
        assert_eq!(b.to_rfc3339(), "2027-03-14T07:30:00+00:00"); // 03:30 EDT
    }

    #[test]
    fn ambiguous_times_take_the_first_occurrence() {
        // 2026-11-01 01:30 happens twice in New York: EDT (05:30Z) then EST (06:30Z).
        let t = grid_instant(New_York, local(2026, 11, 1, 1, 30)).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-01T05:30:00+00:00");
    }
}
