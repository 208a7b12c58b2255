#!/usr/bin/env bash
# A walk through Carebook over HTTP, against a running server with the demo
# data (`cargo run --release -- serve --demo`). Needs curl and jq.
#
#   scripts/demo.sh [BASE_URL]        (default http://127.0.0.1:8080)
#
# Every step prints the HTTP status it got; the script stops at the first
# status it did not expect.
set -euo pipefail

BASE=${1:-${CAREBOOK_URL:-http://127.0.0.1:8080}}
API="$BASE/api/v1"
PASSWORD=carebook-demo
RUN=$(date +%s)-$RANDOM
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# call METHOD PATH EXPECTED_STATUS [TOKEN] [JSON]: prints the status, leaves the body in $TMP/body.
call() {
  local method=$1 path=$2 expected=$3 token=${4:-} body=${5:-}
  local args=(-s -o "$TMP/body" -w '%{http_code}' -X "$method" "$API$path")
  [[ -n $token ]] && args+=(-H "Authorization: Bearer $token")
  [[ -n $body ]] && args+=(-H 'Content-Type: application/json' -d "$body")
  local status
  status=$(curl "${args[@]}")
  printf '  %-6s %-62s -> %s\n' "$method" "${path:0:62}" "$status"
  if [[ $status != "$expected" ]]; then
    echo "  expected $expected; body:" >&2
    jq . "$TMP/body" >&2 || cat "$TMP/body" >&2
    exit 1
  fi
}
field() { jq -r "$1" "$TMP/body"; }

step() { printf '\n== %s\n' "$*"; }

step "Register a patient and log in"
call POST /auth/register 201 "" "{\"username\":\"demo.$RUN\",\"password\":\"a long passphrase\",\"first_name\":\"Rahim\",\"last_name\":\"Uddin\",\"phone\":\"01$((RANDOM % 7 + 3))$(printf '%08d' $((RANDOM * 3 + RANDOM)))\"}"
call POST /auth/login 200 "" "{\"username\":\"demo.$RUN\",\"password\":\"a long passphrase\"}"
PATIENT=$(field .access)
echo "  logged in as $(field .user.username) (patient $(field .user.patient_id))"

step "Search cardiologists in Dhaka division"
call GET "/locations?kind=division&search=dhaka" 200 "$PATIENT"
DHAKA=$(field '.results[0].id')
call GET "/doctors?specialty=cardiology&location=$DHAKA" 200 "$PATIENT"
DOCTOR=$(field '.results[0].id')
echo "  found $(field .count): Dr $(field '.results[0].first_name') $(field '.results[0].last_name'), $(field '.results[0].facility.name') ($(field '.results[0].facility.time_zone'))"

step "Read availability for the next two weeks"
FROM=$(date -u +%F)
TO=$(date -u -d '+13 days' +%F)
call GET "/doctors/$DOCTOR/availability?from=$FROM&to=$TO" 200 "$PATIENT"
echo "  $(field '.slots | length') free slots; first: $(field '.slots[0].local_start') ($(field '.slots[0].time_zone'))"
SLOT=$(field '.slots[0].start')
NEXT=$(field '.slots[1].start')

step "Book the first slot"
call POST /appointments 201 "$PATIENT" "{\"doctor_id\":\"$DOCTOR\",\"start\":\"$SLOT\",\"reason\":\"Chest pain on exertion\"}"
APPOINTMENT=$(field .id)
echo "  appointment $APPOINTMENT is $(field .status) at $(field .local_start)"

step "Another patient tries the same slot"
call POST /auth/login 200 "" "{\"username\":\"patient002\",\"password\":\"$PASSWORD\"}"
OTHER=$(field .access)
call POST /appointments 409 "$OTHER" "{\"doctor_id\":\"$DOCTOR\",\"start\":\"$SLOT\"}"
echo "  refused: rule $(field .rule): $(field .detail)"

step "The other patient tries to read the first patient's appointment"
call GET "/appointments/$APPOINTMENT" 404 "$OTHER"
echo "  $(field .detail)"

step "Reschedule to the next slot, then cancel"
call POST "/appointments/$APPOINTMENT/reschedule" 200 "$PATIENT" "{\"start\":\"$NEXT\"}"
echo "  now at $(field .local_start), version $(field .version)"
call POST "/appointments/$APPOINTMENT/cancel" 200 "$PATIENT" '{"reason":"Feeling better"}'
echo "  $(field .status): $(field .cancel_reason)"
call GET "/appointments/$APPOINTMENT/history" 200 "$PATIENT"
echo "  history: $(field '[.results[].action] | join(" → ")')"

step "Reception registers a walk-in and runs the visit"
call POST /auth/login 200 "" "{\"username\":\"reception.dhaka\",\"password\":\"$PASSWORD\"}"
RECEPTION=$(field .access)
call POST /patients 201 "$RECEPTION" '{"first_name":"Ayesha","last_name":"Begum","sex":"female","date_of_birth":"1979-03-02"}'
WALK_IN=$(field .id)
echo "  registered $(field .first_name) $(field .last_name), MRN $(field .medical_record_number)"
call POST /appointments 201 "$RECEPTION" "{\"doctor_id\":\"$DOCTOR\",\"start\":\"$SLOT\",\"patient_id\":\"$WALK_IN\"}"
VISIT=$(field .id)
# Check-in opens booking.check_in_open_minutes (120) before the start: a
# visit cannot be run hours early. For this walk-through an administrator
# opens it a day ahead, and puts the setting back at the end.
if (( $(date -d "$SLOT" +%s) - $(date +%s) > 120 * 60 )); then
  call POST "/appointments/$VISIT/check-in" 409 "$RECEPTION"
  echo "  refused: rule $(field .rule): $(field .detail)"
fi
call POST /auth/login 200 "" "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}"
ADMIN=$(field .access)
call PUT /settings/booking.check_in_open_minutes 200 "$ADMIN" '{"value":1440}'
if (( $(date -d "$SLOT" +%s) - $(date +%s) <= 1440 * 60 )); then
  call POST "/appointments/$VISIT/check-in" 200 "$RECEPTION"
  echo "  checked in, queue number $(field .queue_number)"
  call POST "/appointments/$VISIT/start" 200 "$RECEPTION"
  call POST "/appointments/$VISIT/complete" 200 "$RECEPTION"
  echo "  visit $(field .status)"
  call GET "/appointments/$VISIT/history" 200 "$RECEPTION"
  echo "  history: $(field '[.results[].action] | join(" → ")')"
else
  echo "  the first free slot is more than a day away: check-in waits for it"
fi
call DELETE /settings/booking.check_in_open_minutes 204 "$ADMIN"

printf '\nDemo finished.\n'
