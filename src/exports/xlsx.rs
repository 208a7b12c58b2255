//! XLSX (Office Open XML spreadsheet) with `rust_xlsxwriter`, its
//! worksheet in constant-memory mode (rows go to a temporary file as they
//! are written, so a long export holds one row at a time): the header row
//! of labels, frozen; numbers as numbers, dates and times as Excel dates,
//! money as numbers in major units with a format naming the currency,
//! ratios as percentages; a bold totals row; a second sheet "About" with
//! the title, scope, period and when it was generated.

use std::collections::HashMap;

use rust_xlsxwriter::{DocProperties, Format, Workbook, XlsxError};

use super::{Cell, Column, ColumnType, Heading};

/// An XLSX file written row by row (see the module).
pub struct Writer {
    workbook: Workbook,
    heading: Heading,
    columns: Vec<Column>,
    next_row: u32,
    bold: Format,
    date: Format,
    datetime: Format,
    ratio: Format,
    number: Format,
    money: HashMap<(&'static str, bool), Format>,
}

/// Worksheet names are at most 31 characters, without `[]:*?/\`.
fn sheet_name(title: &str) -> String {
    title.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect()
}

impl Writer {
    /// A workbook whose first sheet has the header row.
    ///
    /// Errors: the temporary file of the constant-memory sheet cannot be made.
    pub fn new(heading: &Heading, columns: &[Column]) -> Result<Writer, XlsxError> {
        let mut workbook = Workbook::new();
        workbook.set_properties(
            &DocProperties::new()
                .set_title(&heading.title)
                .set_subject(format!("{} {}", heading.scope, heading.period_text()))
                .set_author("Carebook"),
        );
        let bold = Format::new().set_bold();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(sheet_name(&heading.title))?;
        for (i, column) in columns.iter().enumerate() {
            let width: f64 = match column.kind {
                ColumnType::Text => 24.0,
                ColumnType::DateTime => 17.0,
                ColumnType::Money => 15.0,
                _ => 12.0,
            };
            sheet.set_column_width(i as u16, width.max(column.label.len() as f64 + 2.0))?;
            sheet.write_string_with_format(0, i as u16, column.label, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(Writer {
            workbook,
            heading: heading.clone(),
            columns: columns.to_vec(),
            next_row: 1,
            bold,
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm"),
            ratio: Format::new().set_num_format("0.0%"),
            number: Format::new().set_num_format("0.0"),
            money: HashMap::new(),
        })
    }

    /// Write one row; `bold` for the totals.
    pub fn row(&mut self, cells: &[Cell], bold: bool) -> Result<(), XlsxError> {
        let row = self.next_row;
        self.next_row += 1;
        for (i, cell) in cells.iter().enumerate() {
            let col = i as u16;
            let embolden = |f: &Format| if bold { f.clone().set_bold() } else { f.clone() };
            if let Cell::Money(_, currency) = cell {
                let code = currency.code();
                let exponent = currency.exponent() as usize;
                self.money.entry((code, bold)).or_insert_with(|| {
                    let decimals = if exponent == 0 {
                        String::new()
                    } else {
                        format!(".{}", "0".repeat(exponent))
                    };
                    let f = Format::new().set_num_format(format!("#,##0{decimals} \"{code}\""));
                    if bold { f.set_bold() } else { f }
                });
            }
            let sheet = self.workbook.worksheet_from_index(0)?;
            match cell {
                Cell::Empty => {}
                Cell::Text(s) if bold => {
                    sheet.write_string_with_format(row, col, s, &self.bold)?;
                }
                Cell::Text(s) => {
                    sheet.write_string(row, col, s)?;
                }
                Cell::Integer(n) if bold => {
                    sheet.write_number_with_format(row, col, *n as f64, &self.bold)?;
                }
                Cell::Integer(n) => {
                    sheet.write_number(row, col, *n as f64)?;
                }
                Cell::Number(x) => {
                    sheet.write_number_with_format(row, col, *x, &embolden(&self.number))?;
                }
                Cell::Ratio(x) => {
                    sheet.write_number_with_format(row, col, *x, &embolden(&self.ratio))?;
                }
                Cell::Money(minor, currency) => {
                    let major = *minor as f64 / 10f64.powi(currency.exponent() as i32);
                    let format = &self.money[&(currency.code(), bold)];
                    sheet.write_number_with_format(row, col, major, format)?;
                }
                Cell::Date(d) => {
                    sheet.write_date_with_format(row, col, d, &embolden(&self.date))?;
                }
                Cell::DateTime(t) => {
                    sheet.write_datetime_with_format(row, col, t, &embolden(&self.datetime))?;
                }
            }
        }
        Ok(())
    }

    /// The file, with the totals row (when there are totals) and the "About" sheet.
    pub fn finish(mut self, totals: &[Cell]) -> Result<Vec<u8>, XlsxError> {
        let rows = self.next_row - 1;
        if totals.iter().any(|c| !matches!(c, Cell::Empty)) {
            self.row(totals, true)?;
        }
        let h = &self.heading;
        let about = [
            ("Report", h.title.clone()),
            ("Scope", h.scope.clone()),
            ("Period", h.period_text()),
            ("Generated", h.generated_text()),
            ("Rows", rows.to_string()),
            (
                "Columns",
                self.columns.iter().map(|c| c.key).collect::<Vec<_>>().join(", "),
            ),
        ];
        let sheet = self.workbook.add_worksheet();
        sheet.set_name("About")?;
        sheet.set_column_width(0, 12)?;
        sheet.set_column_width(1, 60)?;
        for (i, (label, value)) in about.iter().enumerate() {
            sheet.write_string_with_format(i as u32, 0, *label, &self.bold)?;
            sheet.write_string(i as u32, 1, value)?;
        }
        self.workbook.save_to_buffer()
    }
}

/// A whole table as XLSX (see the module).
///
/// Errors: see [`Writer::new`].
pub fn render(
    heading: &Heading,
    columns: &[Column],
    rows: &[Vec<Cell>],
    totals: &[Cell],
) -> Result<Vec<u8>, XlsxError> {
    let mut writer = Writer::new(heading, columns)?;
    for row in rows {
        writer.row(row, false)?;
    }
    writer.finish(totals)
}
