//! PDF 1.7 with `pdf-writer` (the typst project's low-level writer: pure
//! Rust, no fonts to ship). Text is set in the standard Helvetica and
//! Helvetica-Bold fonts in WinAnsiEncoding, which every reader has, so
//! nothing is embedded; characters outside Windows-1252 print as `?`.
//!
//! A document is A4 landscape: the title, the scope and period, any extra
//! lines, then a bordered table (every cell drawn, so readers such as
//! pdfplumber find its grid) whose header repeats on each page, numbers
//! right-aligned, the totals row in bold, and on every page "Page i of n"
//! and the generated-at time.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

use super::{Cell, Column, ColumnType, Heading};

const WIDTH: f32 = 842.0;
const HEIGHT: f32 = 595.0;
const MARGIN: f32 = 36.0;
const FONT_SIZE: f32 = 8.0;
const ROW: f32 = 14.0;
const PAD: f32 = 4.0;
/// Room for readers whose Helvetica is a little wider than Adobe's.
const SLACK: f32 = 2.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// Advance widths (1/1000 em) of Helvetica, ASCII 32–126 (Adobe's AFM).
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556,
    556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833,
    722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556,
    556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334,
    260, 334, 584,
];

/// Advance widths (1/1000 em) of Helvetica-Bold, ASCII 32–126 (Adobe's AFM).
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556,
    556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833,
    722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611,
    556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389,
    280, 389, 584,
];

/// `text` in Windows-1252 (WinAnsiEncoding); other characters become `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{2026}' => 0x85,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201c}' => 0x93,
            '\u{201d}' => 0x94,
            '\u{2022}' => 0x95,
            '\u{20ac}' => 0x80,
            _ => b'?',
        })
        .collect()
}

/// The width of `text` in points at `size`.
fn text_width(text: &[u8], bold: bool, size: f32) -> f32 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    let units: u32 = text
        .iter()
        .map(|&b| match b {
            32..=126 => table[(b - 32) as usize] as u32,
            _ => 600,
        })
        .sum();
    units as f32 * size / 1000.0
}

/// `text` cut to fit `width`, ending in "..." when cut.
fn fit(mut text: Vec<u8>, bold: bool, width: f32) -> Vec<u8> {
    if text_width(&text, bold, FONT_SIZE) <= width {
        return text;
    }
    while !text.is_empty() && text_width(&text, bold, FONT_SIZE) + text_width(b"...", bold, FONT_SIZE) > width {
        text.pop();
    }
    text.extend_from_slice(b"...");
    text
}

/// A cell as the PDF prints it: ratios as percentages, money with separators.
fn printed(cell: &Cell) -> String {
    match cell {
        Cell::Ratio(x) => format!("{:.1}%", x * 100.0),
        Cell::Number(x) => format!("{x:.1}"),
        Cell::Money(..) => {
            let plain = cell.text();
            let (int, frac) = plain
                .split_once('.')
                .map_or((plain.as_str(), None), |(i, f)| (i, Some(f)));
            let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
            let mut grouped = String::new();
            for (i, ch) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(ch);
            }
            match frac {
                Some(f) => format!("{sign}{grouped}.{f}"),
                None => format!("{sign}{grouped}"),
            }
        }
        other => other.text(),
    }
}

fn right_aligned(kind: ColumnType) -> bool {
    matches!(
        kind,
        ColumnType::Integer | ColumnType::Number | ColumnType::Money | ColumnType::Ratio
    )
}

fn show(content: &mut Content, font: Name, size: f32, x: f32, y: f32, text: &[u8]) {
    content
        .begin_text()
        .set_font(font, size)
        .set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y])
        .show(Str(text))
        .end_text();
}

/// The widths of the columns: each as wide as its widest value, text
/// columns shrunk in proportion when the table is wider than the page.
fn widths(columns: &[Column], rows: &[Vec<Vec<u8>>], totals: &[Vec<u8>]) -> Vec<f32> {
    let mut natural: Vec<f32> = columns
        .iter()
        .map(|c| text_width(&win_ansi(c.label), true, FONT_SIZE) + 2.0 * PAD + SLACK)
        .collect();
    for row in rows.iter().chain(std::iter::once(&totals.to_vec())) {
        for (i, text) in row.iter().enumerate() {
            natural[i] = natural[i].max(text_width(text, true, FONT_SIZE) + 2.0 * PAD + SLACK);
        }
    }
    let available = WIDTH - 2.0 * MARGIN;
    let total: f32 = natural.iter().sum();
    if total <= available {
        return natural;
    }
    let fixed: f32 = columns
        .iter()
        .zip(&natural)
        .filter(|(c, _)| c.kind != ColumnType::Text)
        .map(|(_, w)| w)
        .sum();
    let flexible = total - fixed;
    let scale = ((available - fixed) / flexible).max(0.0);
    columns
        .iter()
        .zip(&natural)
        .map(|(c, w)| {
            if c.kind == ColumnType::Text {
                (w * scale).max(24.0)
            } else {
                *w
            }
        })
        .collect()
}

/// A line of the table: its cells' text and whether it is bold (the totals).
type Line<'a> = (&'a [Vec<u8>], bool);

/// A whole table as a PDF (see the module); `lines` are printed under the
/// period (e.g. a bill's patient and number).
pub fn render(heading: &Heading, lines: &[String], columns: &[Column], rows: &[Vec<Cell>], totals: &[Cell]) -> Vec<u8> {
    let encode = |row: &[Cell]| row.iter().map(|c| win_ansi(&printed(c))).collect::<Vec<_>>();
    let body: Vec<Vec<Vec<u8>>> = rows.iter().map(|r| encode(r)).collect();
    let has_totals = totals.iter().any(|c| !matches!(c, Cell::Empty));
    let total_row = encode(totals);
    let widths = widths(columns, &body, &total_row);

    // Lines of the table: data rows, then the totals.
    let mut items: Vec<Line> = body.iter().map(|r| (r.as_slice(), false)).collect();
    if has_totals {
        items.push((&total_row, true));
    }
    let first_top = HEIGHT - MARGIN - 44.0 - 12.0 * lines.len() as f32;
    let later_top = HEIGHT - MARGIN - 18.0;
    let bottom = MARGIN + 12.0;
    let fits = |top: f32| (((top - bottom) / ROW).floor() as usize).saturating_sub(1).max(1);
    let mut pages: Vec<&[Line]> = Vec::new();
    let mut rest = items.as_slice();
    let mut first = true;
    loop {
        let n = fits(if first { first_top } else { later_top }).min(rest.len());
        let (page, tail) = rest.split_at(n);
        pages.push(page);
        rest = tail;
        first = false;
        if rest.is_empty() {
            break;
        }
    }

    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let page_ids: Vec<Ref> = (0..pages.len()).map(|i| Ref::new(6 + 2 * i as i32)).collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_ids.iter().copied()).count(pages.len() as i32);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(pdf_writer::TextStr(&heading.title))
        .producer(pdf_writer::TextStr("Carebook"));

    let title = win_ansi(&heading.title);
    let subtitle = win_ansi(&format!("{} \u{b7} {}", heading.scope, heading.period_text()));
    let generated = win_ansi(&format!("Generated {} by Carebook", heading.generated_text()));
    let header: Vec<Vec<u8>> = columns.iter().map(|c| win_ansi(c.label)).collect();
    for (index, page) in pages.iter().enumerate() {
        let mut content = Content::new();
        content.set_line_width(0.5).set_stroke_gray(0.4);
        let mut top = if index == 0 {
            show(&mut content, BOLD, 14.0, MARGIN, HEIGHT - MARGIN - 14.0, &title);
            show(&mut content, REGULAR, 9.0, MARGIN, HEIGHT - MARGIN - 30.0, &subtitle);
            for (i, line) in lines.iter().enumerate() {
                let y = HEIGHT - MARGIN - 42.0 - 12.0 * i as f32;
                show(&mut content, REGULAR, 9.0, MARGIN, y, &win_ansi(line));
            }
            first_top
        } else {
            show(&mut content, BOLD, 9.0, MARGIN, HEIGHT - MARGIN - 9.0, &title);
            later_top
        };
        let rows = std::iter::once((header.as_slice(), true, true)).chain(page.iter().map(|(r, b)| (*r, *b, false)));
        for (cells, is_bold, is_header) in rows {
            let y = top - ROW;
            let font = if is_bold { BOLD } else { REGULAR };
            let mut x = MARGIN;
            for ((text, width), column) in cells.iter().zip(&widths).zip(columns) {
                if is_header || is_bold {
                    content.set_fill_gray(if is_header { 0.88 } else { 0.95 });
                    content.rect(x, y, *width, ROW).fill_nonzero_and_stroke();
                    content.set_fill_gray(0.0);
                } else {
                    content.rect(x, y, *width, ROW).stroke();
                }
                let text = fit(text.clone(), is_bold, width - 2.0 * PAD);
                let tx = if right_aligned(column.kind) && !is_header {
                    x + width - PAD - text_width(&text, is_bold, FONT_SIZE)
                } else {
                    x + PAD
                };
                show(&mut content, font, FONT_SIZE, tx, y + 4.0, &text);
                x += width;
            }
            top = y;
        }
        show(&mut content, REGULAR, 8.0, MARGIN, MARGIN - 12.0, &generated);
        let number = win_ansi(&format!("Page {} of {}", index + 1, pages.len()));
        let nx = WIDTH - MARGIN - text_width(&number, false, 8.0);
        show(&mut content, REGULAR, 8.0, nx, MARGIN - 12.0, &number);

        let page_id = page_ids[index];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT))
            .parent(tree)
            .contents(content_id);
        page.resources().fonts().pair(REGULAR, regular).pair(BOLD, bold);
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    #[test]
    fn money_and_ratios_print_for_people() {
        assert_eq!(printed(&Cell::Money(123456789, Currency::BDT)), "1,234,567.89");
        assert_eq!(printed(&Cell::Money(-50, Currency::BDT)), "-0.50");
        assert_eq!(printed(&Cell::Ratio(0.8333)), "83.3%");
    }

    #[test]
    fn text_is_cut_to_fit_its_cell() {
        let long = win_ansi("A very long doctor name that will not fit");
        let cut = fit(long, false, 60.0);
        assert!(cut.ends_with(b"..."));
        assert!(text_width(&cut, false, FONT_SIZE) <= 60.0);
        assert_eq!(win_ansi("café – ১"), b"caf\xe9 \x96 ?");
    }
}
