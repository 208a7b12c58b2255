#!/usr/bin/env bash
# Make (once) the Python environment the integration tests use as real
# peers — aiosmtpd (an SMTP server writing a Maildir), icalendar and vobject
# (iCalendar parsers), standardwebhooks (the reference signer), openpyxl and
# pdfplumber (readers of our XLSX and PDF exports) — at pinned versions, under the build directory, and
# print its python's path.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
VENV="$TARGET/test-venv"
PINS=(aiosmtpd==1.4.6 icalendar==7.3.2 vobject==0.9.9 standardwebhooks==1.3.0 openpyxl==3.1.5 et-xmlfile==2.0.0 pdfplumber==0.11.11 pdfminer.six==20260107 pypdfium2==5.15.2 pillow==13.0.0)
STAMP="$VENV/.pins"
if [[ ! -x "$VENV/bin/python" ]] || [[ "$(cat "$STAMP" 2>/dev/null)" != "${PINS[*]}" ]]; then
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}" >&2
  echo "${PINS[*]}" > "$STAMP"
fi
cd "$VENV/bin" && echo "$PWD/python"
