//! Tables as files. A report or a list is built once as a [`Table`]
//! (typed [`Column`]s, rows of [`Cell`]s, totals); JSON, CSV (RFC 4180),
//! XLSX (Office Open XML) and PDF are renderings of that one value, so their
//! columns and totals agree by construction.
//!
//! - [`csv`]: the `csv` crate, a header row of labels, optional UTF-8 BOM.
//! - [`xlsx`]: `rust_xlsxwriter` in constant-memory mode: typed cells, frozen
//!   header, money as numbers in a currency format, a bold totals row.
//! - [`pdf`]: `pdf-writer` with the standard Helvetica fonts (nothing to
//!   embed or ship): title, period, bordered table with its header repeated
//!   on every page, totals, page numbers and the time it was generated.
//!
//! Nothing here knows HTTP or the database.

pub mod csv;
pub mod pdf;
pub mod xlsx;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};
use utoipa::ToSchema;

use crate::domain::Currency;

/// What a column holds, and so how each format writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// A string.
    Text,
    /// A whole number (a count).
    Integer,
    /// A decimal number (e.g. minutes, one decimal).
    Number,
    /// Money: JSON integer minor units of the row's `currency`; CSV a decimal
    /// in major units; XLSX a number in a currency format.
    Money,
    /// A fraction 0–1 (JSON, CSV); a percentage in XLSX and PDF.
    Ratio,
    /// A calendar date, `YYYY-MM-DD` (local to the facility).
    Date,
    /// A local date and time, `YYYY-MM-DD HH:MM` (local to the facility).
    DateTime,
}

impl ColumnType {
    /// The name JSON gives the type.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Number => "number",
            ColumnType::Money => "money",
            ColumnType::Ratio => "ratio",
            ColumnType::Date => "date",
            ColumnType::DateTime => "date_time",
        }
    }
}

/// One column of a table: its stable key (JSON), its label (the header of
/// CSV, XLSX and PDF) and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Column {
    /// The key of the value in each JSON row.
    pub key: &'static str,
    /// The header text.
    pub label: &'static str,
    /// How values are written.
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

/// A column (for `const` column lists).
pub const fn column(key: &'static str, label: &'static str, kind: ColumnType) -> Column {
    Column { key, label, kind }
}

/// One value of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value (JSON `null`, an empty cell).
    Empty,
    Text(String),
    Integer(i64),
    Number(f64),
    /// An amount in minor units of a currency.
    Money(i64, Currency),
    /// A fraction 0–1.
    Ratio(f64),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

impl Cell {
    /// The value as CSV and PDF write it (PDF writes ratios as percentages).
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Integer(n) => n.to_string(),
            Cell::Number(x) | Cell::Ratio(x) => x.to_string(),
            Cell::Money(minor, currency) => crate::domain::Money::format(*minor, currency.code()),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::DateTime(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        }
    }
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Empty => s.serialize_none(),
            Cell::Text(v) => s.serialize_str(v),
            Cell::Integer(n) | Cell::Money(n, _) => s.serialize_i64(*n),
            Cell::Number(x) | Cell::Ratio(x) => s.serialize_f64(*x),
            Cell::Date(_) | Cell::DateTime(_) => s.serialize_str(&self.text()),
        }
    }
}

/// Rounds a fraction to four decimals, so every format shows the same value.
pub fn ratio(part: i64, whole: i64) -> Cell {
    if whole == 0 {
        Cell::Empty
    } else {
        Cell::Ratio((part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
    }
}

/// A mean rounded to one decimal, or empty when there is nothing to average.
pub fn mean(sum: f64, count: i64) -> Cell {
    if count == 0 {
        Cell::Empty
    } else {
        Cell::Number((sum / count as f64 * 10.0).round() / 10.0)
    }
}

/// A table: columns, rows (each as long as `columns`) and totals (as long
/// as `columns`; [`Cell::Empty`] where a column has no total, and the first
/// cell may be the text "Total").
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    pub totals: Vec<Cell>,
}

/// What a file says about itself: its title, whose data (facility, doctor)
/// and which period, and when it was generated.
#[derive(Debug, Clone)]
pub struct Heading {
    /// E.g. "Appointment statistics".
    pub title: String,
    /// E.g. "Dhaka Medical Centre · Dr Rahman".
    pub scope: String,
    /// The first and last local day covered, if the table is about a period.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// The IANA time zone days are counted in.
    pub time_zone: String,
    /// When the file was made.
    pub generated_at: DateTime<Utc>,
}

impl Heading {
    /// "2026-11-01 – 2026-11-30 (Asia/Dhaka)", or the time zone alone.
    pub fn period_text(&self) -> String {
        match self.period {
            Some((from, to)) => format!("{from} \u{2013} {to} ({})", self.time_zone),
            None => format!("({})", self.time_zone),
        }
    }

    /// The generated-at instant in the heading's time zone.
    pub fn generated_text(&self) -> String {
        let tz: chrono_tz::Tz = self.time_zone.parse().unwrap_or(chrono_tz::UTC);
        self.generated_at
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    /// A file name: the title in kebab case and the period, e.g.
    /// `appointment-statistics-2026-11-01-2026-11-30`.
    pub fn file_stem(&self) -> String {
        let mut stem: String = self
            .title
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        if let Some((from, to)) = self.period {
            stem.push_str(&format!("-{from}-{to}"));
        }
        stem
    }
}

/// A report: its heading and its table. Serialises as the JSON answer
/// `{"title", "scope", "from", "to", "time_zone", "generated_at",
/// "columns": [{"key", "label", "type"}], "rows": [{key: value}],
/// "totals": {key: value}}`.
#[derive(Debug, Clone)]
pub struct Report {
    pub heading: Heading,
    pub table: Table,
}

impl Report {
    /// A report back from its JSON answer (as [`Report`] serialises it),
    /// its cells typed by `columns` (which must be the report's own).
    /// Money cannot be read back without its currency, so a report stored
    /// this way holds none. `None` if the JSON is not such an answer.
    pub fn from_json(columns: &[Column], json: &serde_json::Value) -> Option<Report> {
        let cell = |column: &Column, v: &serde_json::Value| -> Option<Cell> {
            if v.is_null() {
                return Some(Cell::Empty);
            }
            Some(match column.kind {
                ColumnType::Text => Cell::Text(v.as_str()?.to_owned()),
                ColumnType::Integer => Cell::Integer(v.as_i64()?),
                ColumnType::Number => Cell::Number(v.as_f64()?),
                ColumnType::Ratio => Cell::Ratio(v.as_f64()?),
                ColumnType::Date => Cell::Date(v.as_str()?.parse().ok()?),
                ColumnType::DateTime => {
                    Cell::DateTime(NaiveDateTime::parse_from_str(v.as_str()?, "%Y-%m-%d %H:%M").ok()?)
                }
                ColumnType::Money => return None,
            })
        };
        let row = |object: &serde_json::Value, totals: bool| -> Option<Vec<Cell>> {
            let mut cells = columns
                .iter()
                .map(|c| cell(c, object.get(c.key).unwrap_or(&serde_json::Value::Null)))
                .collect::<Option<Vec<_>>>()?;
            if totals && matches!(cells.first(), Some(Cell::Empty)) {
                cells[0] = Cell::Text("Total".into());
            }
            Some(cells)
        };
        let date = |key: &str| json.get(key).and_then(|v| v.as_str()).and_then(|s| s.parse().ok());
        Some(Report {
            heading: Heading {
                title: json.get("title")?.as_str()?.to_owned(),
                scope: json.get("scope")?.as_str()?.to_owned(),
                period: date("from").zip(date("to")),
                time_zone: json.get("time_zone")?.as_str()?.to_owned(),
                generated_at: serde_json::from_value(json.get("generated_at")?.clone()).ok()?,
            },
            table: Table {
                columns: columns.to_vec(),
                rows: json
                    .get("rows")?
                    .as_array()?
                    .iter()
                    .map(|r| row(r, false))
                    .collect::<Option<Vec<_>>>()?,
                totals: row(json.get("totals")?, true)?,
            },
        })
    }
}

struct Rows<'a>(&'a Table);
struct Row<'a>(&'a [Column], &'a [Cell], bool);

impl Serialize for Rows<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.rows.len()))?;
        for row in &self.0.rows {
            seq.serialize_element(&Row(&self.0.columns, row, false))?;
        }
        seq.end()
    }
}

impl Serialize for Row<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let totals = self.2;
        let mut map = s.serialize_map(None)?;
        for (column, cell) in self.0.iter().zip(self.1) {
            // Totals carry numbers only; the "Total" label is for files.
            if totals && matches!(cell, Cell::Empty | Cell::Text(_)) {
                continue;
            }
            map.serialize_entry(column.key, cell)?;
        }
        map.end()
    }
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = &self.heading;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("title", &h.title)?;
        map.serialize_entry("scope", &h.scope)?;
        map.serialize_entry("from", &h.period.map(|p| p.0))?;
        map.serialize_entry("to", &h.period.map(|p| p.1))?;
        map.serialize_entry("time_zone", &h.time_zone)?;
        map.serialize_entry("generated_at", &h.generated_at)?;
        map.serialize_entry("columns", &self.table.columns)?;
        map.serialize_entry("rows", &Rows(&self.table))?;
        map.serialize_entry("totals", &Row(&self.table.columns, &self.table.totals, true))?;
        map.end()
    }
}

/// A file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
    Pdf,
}

impl Format {
    /// Every format, by its `format` parameter name.
    pub const ALL: [(&'static str, Format); 4] = [
        ("json", Format::Json),
        ("csv", Format::Csv),
        ("xlsx", Format::Xlsx),
        ("pdf", Format::Pdf),
    ];

    /// The media type of the body.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Pdf => "application/pdf",
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
        }
    }

    /// The format named by a `format` parameter (`json`, `csv`, `xlsx`, `pdf`).
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// The format an `Accept` header (RFC 9110 §12.5.1) prefers among
    /// `offered`: the highest `q`, then the order of the header; `*/*` and
    /// no header mean the first offered. `None` when nothing offered is
    /// acceptable (406).
    pub fn negotiate(accept: Option<&str>, offered: &[Format]) -> Option<Format> {
        let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
            return offered.first().copied();
        };
        let mut best: Option<(f32, Format)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            let matched = offered.iter().copied().find(|f| {
                let essence = f.media_type().split(';').next().unwrap_or_default();
                media == essence
                    || media == "*/*"
                    || media
                        .strip_suffix("/*")
                        .is_some_and(|top| essence.starts_with(top) && essence[top.len()..].starts_with('/'))
            });
            if let Some(format) = matched
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, format));
            }
        }
        best.map(|(_, f)| f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_choose_the_preferred_offered_format() {
        let all = [Format::Json, Format::Csv, Format::Xlsx, Format::Pdf];
        assert_eq!(Format::negotiate(None, &all), Some(Format::Json));
        assert_eq!(Format::negotiate(Some("*/*"), &all), Some(Format::Json));
        assert_eq!(Format::negotiate(Some("text/csv"), &all), Some(Format::Csv));
        assert_eq!(
            Format::negotiate(Some("application/json;q=0.5, application/pdf"), &all),
            Some(Format::Pdf)
        );
        assert_eq!(Format::negotiate(Some("text/*"), &all), Some(Format::Csv));
        assert_eq!(Format::negotiate(Some("image/png"), &all), None);
        assert_eq!(Format::negotiate(Some("application/pdf;q=0"), &all), None);
        assert_eq!(Format::negotiate(Some("text/csv"), &[Format::Json]), None);
    }

    #[test]
    fn reports_serialise_rows_as_objects_and_totals_without_labels() {
        let report = Report {
            heading: Heading {
                title: "Test".into(),
                scope: "All".into(),
                period: None,
                time_zone: "UTC".into(),
                generated_at: DateTime::UNIX_EPOCH,
            },
            table: Table {
                columns: vec![
                    column("doctor", "Doctor", ColumnType::Text),
                    column("n", "N", ColumnType::Integer),
                    column("fee", "Fee", ColumnType::Money),
                ],
                rows: vec![vec![
                    Cell::Text("A".into()),
                    Cell::Integer(2),
                    Cell::Money(150, Currency::BDT),
                ]],
                totals: vec![Cell::Text("Total".into()), Cell::Integer(2), Cell::Empty],
            },
        };
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["rows"][0], serde_json::json!({"doctor": "A", "n": 2, "fee": 150}));
        assert_eq!(json["totals"], serde_json::json!({"n": 2}));
        assert_eq!(
            json["columns"][2],
            serde_json::json!({"key": "fee", "label": "Fee", "type": "money"})
        );
    }
}
