//! Search parameters (FHIR R4 §3.1.1) and searchset Bundles.
//!
//! A parameter a search does not support is refused with 400 naming it,
//! unless the request says `handling=lenient` (FHIR R4 §3.1.1.4, the
//! `Prefer: handling` choice as a parameter), in which case it is ignored.
//! Every search takes `_count` (1–100, default 20), `_page` (1-based) and
//! `_format` (`json`, `application/fhir+json`, `application/json`).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::db::PageRequest;
use crate::error::{AppError, AppResult};

/// Parameters every search takes.
pub const COMMON: &[&str] = &["_count", "_page", "_format", "handling"];

/// Default and largest `_count`.
pub const DEFAULT_COUNT: u64 = 20;
/// Largest `_count`.
pub const MAX_COUNT: u64 = 100;

/// The parameters of one search request.
#[derive(Debug, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// The page asked for.
    pub page: PageRequest,
}

impl Params {
    /// Parse a query string, keeping only the parameters in `supported`
    /// (and [`COMMON`]).
    ///
    /// Errors: 400 naming an unsupported parameter (unless
    /// `handling=lenient`), a bad `_count`, `_page`, `_format` or `handling`.
    pub fn parse(query: Option<&str>, supported: &[&str]) -> AppResult<Params> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|_| AppError::bad_field("query", "is not a valid query string"))?;
        let lenient = match pairs.iter().find(|(k, _)| k == "handling").map(|(_, v)| v.as_str()) {
            None | Some("strict") => false,
            Some("lenient") => true,
            Some(_) => return Err(AppError::bad_field("handling", "must be strict or lenient")),
        };
        let mut kept = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            if value.contains('\0') || value.chars().count() > 200 {
                return Err(AppError::invalid_field(
                    name,
                    "must be at most 200 characters, without NUL",
                ));
            }
            let base = name.split(':').next().unwrap_or_default();
            if COMMON.contains(&base) || supported.contains(&name.as_str()) {
                kept.push((name, value));
            } else if !lenient {
                return Err(AppError::bad_field(
                    name,
                    "this search parameter is not supported here (handling=lenient ignores it)",
                ));
            }
        }
        let count = match kept.iter().find(|(k, _)| k == "_count") {
            None => DEFAULT_COUNT,
            Some((_, v)) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_COUNT).contains(n))
                .ok_or_else(|| AppError::bad_field("_count", format!("must be 1 to {MAX_COUNT}")))?,
        };
        let page = match kept.iter().find(|(k, _)| k == "_page") {
            None => 1,
            Some((_, v)) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| AppError::bad_field("_page", "must be a page number from 1"))?,
        };
        if let Some((_, format)) = kept.iter().find(|(k, _)| k == "_format")
            && !matches!(format.as_str(), "json" | "application/fhir+json" | "application/json")
        {
            return Err(AppError::bad_field("_format", "only json is offered"));
        }
        Ok(Params {
            pairs: kept,
            page: PageRequest { page, page_size: count },
        })
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The page asked for of `all` (results computed in memory, such as
    /// slots, or a patient's whole record).
    pub fn page_of(&self, all: Vec<Value>) -> crate::db::Paged<Value> {
        let size = self.page.page_size as usize;
        let skip = (self.page.page as usize - 1).saturating_mul(size);
        crate::db::Paged {
            count: all.len() as u64,
            rows: all.into_iter().skip(skip).take(size).collect(),
        }
    }

    /// The query string of these parameters on another page (for links).
    fn query_for_page(&self, page: u64) -> String {
        let mut pairs: Vec<(&str, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != "_page" && k != "_count")
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        pairs.push(("_count", self.page.page_size.to_string()));
        pairs.push(("_page", page.to_string()));
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// A range of instants `[from, to)`, either side open when `None`.
pub type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A reference `Type/{id}` (or a bare id) naming a UUID.
///
/// Errors: 400 naming `param` for anything else.
pub fn reference_id(param: &str, value: &str, kind: &str) -> AppResult<uuid::Uuid> {
    let id = value
        .rsplit_once('/')
        .map(|(prefix, id)| (prefix.ends_with(kind)).then_some(id))
        .unwrap_or(Some(value));
    id.and_then(|id| id.parse().ok())
        .ok_or_else(|| AppError::bad_field(param, format!("must be a {kind} reference ({kind}/id) or an id")))
}

/// A date search value (FHIR R4 §3.1.1.5.1) as the range it covers: a
/// prefix (`eq` by default, `ge`, `gt`, `le`, `lt`) and a date or an RFC
/// 3339 instant. Dates are whole UTC days.
///
/// Errors: 400 naming `param` when malformed; 422 for a well-formed date
/// that does not exist.
pub fn date_range(param: &str, value: &str) -> AppResult<Range> {
    let (prefix, text) = match value.get(..2) {
        Some(p @ ("eq" | "ge" | "gt" | "le" | "lt")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let bad = || AppError::bad_field(param, "must be [eq|ge|gt|le|lt] then YYYY-MM-DD or an RFC 3339 instant");
    let (low, high) = if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let start = day.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc();
        (start, start + TimeDelta::days(1))
    } else if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        let instant = instant.with_timezone(&Utc);
        (instant, instant + TimeDelta::seconds(1))
    } else if text.len() >= 10 && text.as_bytes()[..4].iter().all(u8::is_ascii_digit) && text.as_bytes()[4] == b'-' {
        // The right shape, but no such day or instant (2026-02-30): a value that breaks a rule.
        return Err(AppError::invalid_field(param, "no such date or instant"));
    } else {
        return Err(bad());
    };
    Ok(match prefix {
        "ge" => (Some(low), None),
        "gt" => (Some(high), None),
        "le" => (None, Some(high)),
        "lt" => (None, Some(low)),
        _ => (Some(low), Some(high)),
    })
}

/// Narrow `[from, to)` by every value of a date parameter.
pub fn narrow(param: &str, values: impl Iterator<Item = impl AsRef<str>>) -> AppResult<Range> {
    let (mut from, mut to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = (None, None);
    for value in values {
        let (low, high) = date_range(param, value.as_ref())?;
        from = from.max(low);
        to = match (to, high) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok((from, to))
}

/// A searchset Bundle (FHIR R4 §3.1.1.2) of `resources` (page `params.page`
/// of `total`), each entry with its `fullUrl` and `search.mode=match`, and
/// links `self`, `next` and `previous` under `base` (`…/fhir/R4`).
pub fn searchset(base: &str, resource_type: &str, params: &Params, total: u64, resources: Vec<Value>) -> Value {
    let page = params.page.page;
    let link = |relation: &str, page: u64| json!({"relation": relation, "url": format!("{base}/{resource_type}?{}", params.query_for_page(page))});
    let mut links = vec![link("self", page)];
    if page * params.page.page_size < total {
        links.push(link("next", page + 1));
    }
    if page > 1 {
        links.push(link("previous", page - 1));
    }
    bundle(base, total, links, resources)
}

/// A searchset Bundle of `resources` with the given links.
pub fn bundle(base: &str, total: u64, links: Vec<Value>, resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|resource| {
            let url = format!(
                "{base}/{}/{}",
                resource["resourceType"].as_str().unwrap_or_default(),
                resource["id"].as_str().unwrap_or_default()
            );
            json!({"fullUrl": url, "resource": resource, "search": {"mode": "match"}})
        })
        .collect();
    let mut bundle = json!({"resourceType": "Bundle", "type": "searchset", "total": total, "link": links});
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_parameters_are_refused_unless_lenient() {
        assert!(Params::parse(Some("name=x&colour=red"), &["name"]).is_err());
        let lenient = Params::parse(Some("name=x&colour=red&handling=lenient"), &["name"]).unwrap();
        assert_eq!(lenient.get("name"), Some("x"));
        assert_eq!(lenient.get("colour"), None);
        assert!(Params::parse(Some("_count=0"), &[]).is_err());
        assert!(Params::parse(Some("_count=101"), &[]).is_err());
        assert_eq!(Params::parse(Some("_count=5&_page=2"), &[]).unwrap().page.page, 2);
    }

    #[test]
    fn date_prefixes_cover_their_ranges() {
        let (from, to) = date_range("date", "2026-11-29").unwrap();
        assert_eq!(from.unwrap().to_rfc3339(), "2026-11-29T00:00:00+00:00");
        assert_eq!(to.unwrap().to_rfc3339(), "2026-11-30T00:00:00+00:00");
        assert_eq!(date_range("date", "ge2026-11-29").unwrap().1, None);
        assert_eq!(
            date_range("date", "lt2026-11-29T03:00:00Z")
                .unwrap()
                .1
                .unwrap()
                .to_rfc3339(),
            "2026-11-29T03:00:00+00:00"
        );
        assert!(date_range("date", "ge29/11/2026").is_err());
        assert!(date_range("date", "xx2026-11-29").is_err());
        let (from, to) = narrow("date", ["ge2026-11-01", "lt2026-12-01"].iter()).unwrap();
        assert!(from.is_some() && to.is_some());
    }
}
