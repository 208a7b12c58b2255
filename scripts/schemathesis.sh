#!/usr/bin/env bash
# Check the API against its own OpenAPI document with schemathesis, as a
# patient, a receptionist and an admin, on a fresh SQLite database with the
# demo clinic. Installs schemathesis into a virtual environment under the
# build directory on first use. Exits non-zero on any failure.
#
#   scripts/schemathesis.sh            (MAX_EXAMPLES=25 by default)
#   SCHEMATHESIS_PATHS='^/api/v1/bills' scripts/schemathesis.sh   (only those paths)
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=${CARGO_TARGET_DIR:-target}
VENV="$TARGET/schemathesis-venv"
SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${MAX_EXAMPLES:-25}
PORT=${SCHEMATHESIS_PORT:-18787}
BASE="http://127.0.0.1:$PORT"

if [[ ! -x "$VENV/bin/st" ]] || ! "$VENV/bin/st" --version | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --quiet --bin carebook
BIN="$TARGET/debug/carebook"
WORK=$(mktemp -d)
export DATABASE_URL="sqlite://$WORK/schemathesis.db"
export CAREBOOK_BIND="127.0.0.1:$PORT"
export CAREBOOK_JWT_SECRET="schemathesis-only-secret-0123456789abcdef"
export CAREBOOK_UPLOAD_DIR="$WORK/uploads"
export CAREBOOK_LOG=${CAREBOOK_LOG:-warn}
# Fuzzing sends thousands of requests from one address: no rate limits here
# (the integration tests cover them), and no per-address login throttle.
export CAREBOOK_RATE_LIMIT_AUTH_PER_MINUTE=0
export CAREBOOK_RATE_LIMIT_PER_MINUTE=0
export CAREBOOK_LOGIN_FAILURES_PER_ADDRESS=100000
# No background jobs: a fuzzed webhook URL must never be called (this
# machine sends nothing off loopback), and no SMTP server is configured.
export CAREBOOK_WORKERS=0
"$BIN" serve --demo > "$WORK/server.log" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

for _ in $(seq 1 60); do
  curl -sf "$BASE/ready" > /dev/null && break
  sleep 0.5
done
curl -sf "$BASE/ready" > /dev/null || { echo "the server did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; }

token() {
  curl -sf -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"carebook-demo\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])'
}

# first TOKEN PATH JQ-LIKE-KEY: the first result's id of a list (or a random UUID if none).
first() {
  curl -s -H "Authorization: Bearer $1" "$BASE$2" | python3 -c '
import json, sys, uuid
body = json.load(sys.stdin)
items = body.get("results", []) if isinstance(body, dict) else []
print(items[0]["id"] if items else uuid.uuid4())'
}

# payment_of TOKEN BILL_ID: the bill's first payment (or a random UUID).
payment_of() {
  curl -s -H "Authorization: Bearer $1" "$BASE/api/v1/bills/$2" | python3 -c '
import json, sys, uuid
body = json.load(sys.stdin)
items = body.get("payments", []) if isinstance(body, dict) else []
print(items[0]["id"] if items else uuid.uuid4())'
}

# Real objects the role can reach, for schemathesis.toml.
pin_objects() {
  local t=$1 admin=$2
    # Not the tested user: resetting or deactivating oneself would end the run's session.
  export CB_USER_ID=$(first "$admin" "/api/v1/users?role=nurse")
  export CB_DOCTOR_ID=$(first "$t" "/api/v1/doctors?specialty=cardiology")
  export CB_APPOINTMENT_ID=$(first "$t" "/api/v1/appointments?status=confirmed&from=$(date -u +%F)")
  export CB_PATIENT_ID=$(first "$t" "/api/v1/patients")
  export CB_SPECIALTY_ID=$(first "$t" "/api/v1/specialties")
  export CB_FACILITY_ID=$(first "$t" "/api/v1/facilities")
  export CB_SERVICE_ID=$(first "$t" "/api/v1/services")
  export CB_LOCATION_ID=$(first "$t" "/api/v1/locations?kind=upazila")
  export CB_WORKING_HOURS_ID=$(first "$admin" "/api/v1/doctors/$CB_DOCTOR_ID/working-hours")
  export CB_TIME_OFF_ID=$(first "$admin" "/api/v1/doctors/$CB_DOCTOR_ID/time-off")
  export CB_MEDICATION_ID=$(first "$t" "/api/v1/medications")
  export CB_BILL_ID=$(first "$t" "/api/v1/bills?status=partially_paid")
  export CB_PAYMENT_ID=$(payment_of "$t" "$CB_BILL_ID")
}

USERS=(patient001 reception.dhaka admin)
# Every token up front: fuzzing the login can lock an account.
declare -A TOKENS LAST_TOKENS
for user in "${USERS[@]}"; do
  TOKENS[$user]=$(token "$user")
  LAST_TOKENS[$user]=$(token "$user")
done
ADMIN_TOKEN=$(token admin)

run() {
  "$VENV/bin/st" --config-file schemathesis.toml run "$BASE/api/v1/openapi.json" \
    --checks all \
    --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" \
    --seed "${SCHEMATHESIS_SEED:-20261121}" \
    --workers 1 \
    "$@"
}

status=0
for user in "${USERS[@]}"; do
  echo "== schemathesis as $user"
  pin_objects "${TOKENS[$user]}" "$ADMIN_TOKEN"
  # Logging out ends the session the run uses: those two go last, with a token of their own.
  if [[ -n "${SCHEMATHESIS_PATHS:-}" ]]; then
    run --include-path-regex "$SCHEMATHESIS_PATHS" --exclude-path-regex '/stream$' -H "Authorization: Bearer ${TOKENS[$user]}" || status=1
    continue
  fi
  # Event streams never end, so they are left to the integration tests.
  run --exclude-path-regex '^/api/v1/auth/logout|/stream$' -H "Authorization: Bearer ${TOKENS[$user]}" || status=1
  echo "== schemathesis as $user: logout"
  run --include-path-regex '^/api/v1/auth/logout' -H "Authorization: Bearer ${LAST_TOKENS[$user]}" || status=1
done
if [[ $status -ne 0 ]]; then
  echo "== server log (warnings and errors)"
  tail -n 50 "$WORK/server.log"
fi
exit $status
