//! CSV per RFC 4180 (CRLF line ends, fields quoted when they need it) with
//! the `csv` crate: a header row of the columns' labels, then one line per
//! row; no totals line, so every line after the header is data. Money is a
//! decimal in major units; ratios are fractions; dates `YYYY-MM-DD`.
//!
//! A text value that a spreadsheet would run as a formula (starting with
//! `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`
//! (OWASP "CSV injection"); names and notes are never formulas.

use std::sync::{Arc, Mutex};

use super::{Cell, Column, ColumnType};

/// The buffer the `csv` writer flushes into, shared so that it can be drained.
#[derive(Clone)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The UTF-8 byte order mark some spreadsheet programs need to read UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A CSV file written row by row; [`Writer::take`] hands over what is
/// written so far, so a long export streams with bounded memory.
pub struct Writer {
    inner: csv::Writer<Shared>,
    out: Shared,
    kinds: Vec<ColumnType>,
    fields: Vec<String>,
}

impl Writer {
    /// A writer that has written the BOM (when asked) and the header row.
    pub fn new(columns: &[Column], bom: bool) -> Writer {
        let mut out = Vec::with_capacity(64 * 1024);
        if bom {
            out.extend_from_slice(BOM);
        }
        let out = Shared(Arc::new(Mutex::new(out)));
        let mut inner = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out.clone());
        inner
            .write_record(columns.iter().map(|c| c.label))
            .expect("writing to memory");
        Writer {
            inner,
            out,
            kinds: columns.iter().map(|c| c.kind).collect(),
            fields: Vec::with_capacity(columns.len()),
        }
    }

    /// Write one row (as long as the columns).
    pub fn row(&mut self, cells: &[Cell]) {
        self.fields.clear();
        for (cell, kind) in cells.iter().zip(&self.kinds) {
            let text = cell.text();
            let guarded = *kind == ColumnType::Text && text.starts_with(['=', '+', '-', '@', '\t', '\r']);
            self.fields.push(if guarded { format!("'{text}") } else { text });
        }
        self.inner.write_record(&self.fields).expect("writing to memory");
    }

    /// The bytes written since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        self.inner.flush().expect("writing to memory");
        std::mem::take(&mut *self.out.0.lock().expect("not poisoned"))
    }
}

/// A whole table as CSV (header and rows; see the module).
pub fn render(columns: &[Column], rows: &[Vec<Cell>], bom: bool) -> Vec<u8> {
    let mut writer = Writer::new(columns, bom);
    for row in rows {
        writer.row(row);
    }
    writer.take()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;
    use crate::exports::column;

    #[test]
    fn quotes_per_rfc_4180_and_defuses_formulas() {
        let columns = [
            column("name", "Name", ColumnType::Text),
            column("amount", "Amount", ColumnType::Money),
        ];
        let rows = vec![
            vec![Cell::Text("Rahman, \"Dr\"".into()), Cell::Money(123450, Currency::BDT)],
            vec![Cell::Text("=1+1".into()), Cell::Empty],
        ];
        let out = String::from_utf8(render(&columns, &rows, false)).unwrap();
        assert_eq!(out, "Name,Amount\r\n\"Rahman, \"\"Dr\"\"\",1234.50\r\n'=1+1,\r\n");
        assert!(render(&columns, &rows, true).starts_with(BOM));
    }
}
