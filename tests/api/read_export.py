"""Read an export the way its users' tools do, and print what they see as JSON.

usage: python read_export.py csv|xlsx|pdf < file

- csv:  Python's csv module (RFC 4180 dialect); whether a UTF-8 BOM leads.
- xlsx: openpyxl: sheet names, frozen panes, and per cell its type
        (n number, s string, d date), value, number format and boldness.
- pdf:  pdfplumber: page count, the text, and the tables it finds from the
        drawn cell borders, page after page.
"""
import csv
import datetime
import io
import json
import sys

kind = sys.argv[1]
raw = sys.stdin.buffer.read()

if kind == "csv":
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    print(json.dumps({"bom": bom, "crlf": text.count("\r\n") == len(rows), "rows": rows}))
elif kind == "xlsx":
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(raw))
    sheet = book.worksheets[0]
    rows = []
    for row in sheet.iter_rows():
        cells = []
        for c in row:
            value = c.value
            if isinstance(value, (datetime.datetime, datetime.date)):
                kind_ = "d"
                value = value.isoformat()
            elif isinstance(value, (int, float)):
                kind_ = "n"
            elif value is None:
                kind_ = "empty"
            else:
                kind_ = "s"
            cells.append({"t": kind_, "v": value, "fmt": c.number_format, "bold": bool(c.font and c.font.b)})
        rows.append(cells)
    about = {r[0].value: r[1].value for r in book["About"].iter_rows()} if "About" in book.sheetnames else {}
    print(json.dumps({
        "sheets": book.sheetnames,
        "freeze": sheet.freeze_panes,
        "title": book.properties.title,
        "about": about,
        "rows": rows,
    }))
elif kind == "pdf":
    import pdfplumber

    with pdfplumber.open(io.BytesIO(raw)) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
        tables = []
        for page in pdf.pages:
            for table in page.extract_tables():
                tables.append(table)
        print(json.dumps({"pages": len(pdf.pages), "text": text, "tables": tables}))
else:
    sys.exit(f"unknown kind {kind}")
