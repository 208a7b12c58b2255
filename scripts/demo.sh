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

# call METHOD PATH EXPECTED_STATUS [TOKEN] [JSON] [HEADER]: prints the status, leaves the body in $TMP/body.
call() {
  local method=$1 path=$2 expected=$3 token=${4:-} body=${5:-} header=${6:-}
  local args=(-s -o "$TMP/body" -w '%{http_code}' -X "$method" "$API$path")
  [[ -n $token ]] && args+=(-H "Authorization: Bearer $token")
  [[ -n $body ]] && args+=(-H 'Content-Type: application/json' -d "$body")
  [[ -n $header ]] && args+=(-H "$header")
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

step "Reception registers a walk-in and books the earliest free slot of any doctor"
call POST /auth/login 200 "" "{\"username\":\"reception.dhaka\",\"password\":\"$PASSWORD\"}"
RECEPTION=$(field .access)
call POST /auth/login 200 "" "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}"
ADMIN=$(field .access)
call POST /patients 201 "$RECEPTION" '{"first_name":"Ayesha","last_name":"Begum","sex":"female","date_of_birth":"1979-03-02"}'
WALK_IN=$(field .id)
echo "  registered $(field .first_name) $(field .last_name), MRN $(field .medical_record_number)"
# The visit needs a slot within a day (check-in opens at most 24 h ahead):
# the earliest free slot of any doctor, wherever they work.
call GET "/doctors?page_size=100" 200 "$ADMIN"
SLOT="" VISIT_DOCTOR=""
for d in $(field '.results[].id'); do
  first=$(curl -s "$API/doctors/$d/availability?from=$(date -u +%F)&to=$(date -u -d '+2 days' +%F)" \
    -H "Authorization: Bearer $ADMIN" | jq -r '.slots[0].start // empty')
  if [[ -n $first ]] && { [[ -z $SLOT ]] || (( $(date -d "$first" +%s) < $(date -d "$SLOT" +%s) )); }; then
    SLOT=$first VISIT_DOCTOR=$d
  fi
done
call GET "/doctors/$VISIT_DOCTOR" 200 "$ADMIN"
echo "  Dr $(field .first_name) $(field .last_name) at $(field .facility.name) ($(field .facility.time_zone)), $SLOT"
DOCTOR_USER=$(field .user_id)
FACILITY=$(field .facility.id)
call GET "/users/$DOCTOR_USER" 200 "$ADMIN"
DOCTOR_NAME=$(field .username)
call POST /appointments 201 "$RECEPTION" "{\"doctor_id\":\"$VISIT_DOCTOR\",\"start\":\"$SLOT\",\"patient_id\":\"$WALK_IN\",\"reason\":\"Headache and dizziness\"}"
VISIT=$(field .id)

step "Reception checks the patient in; the doctor starts the visit"
# Check-in opens booking.check_in_open_minutes (120) before the start: a
# visit cannot be run hours early. For this walk-through an administrator
# opens it a day ahead, and puts the setting back at the end.
if (( $(date -d "$SLOT" +%s) - $(date +%s) > 120 * 60 )); then
  call POST "/appointments/$VISIT/check-in" 409 "$RECEPTION"
  echo "  refused: rule $(field .rule): $(field .detail)"
fi
call PUT /settings/booking.check_in_open_minutes 200 "$ADMIN" '{"value":1440}'
if (( $(date -d "$SLOT" +%s) - $(date +%s) > 1440 * 60 )); then
  echo "  the first free slot is more than a day away: check-in waits for it"
  call DELETE /settings/booking.check_in_open_minutes 204 "$ADMIN"
  printf '\nDemo finished.\n'
  exit 0
fi
call POST "/appointments/$VISIT/check-in" 200 "$RECEPTION"
echo "  checked in, queue number $(field .queue_number)"
call POST /auth/login 200 "" "{\"username\":\"$DOCTOR_NAME\",\"password\":\"$PASSWORD\"}"
DOC=$(field .access)
call POST "/appointments/$VISIT/start" 200 "$DOC"
call GET "/consultations?patient=$WALK_IN&status=in_progress" 200 "$DOC"
CONSULTATION=$(field '.results[0].id')
echo "  consultation $CONSULTATION opened: $(field '.results[0].status'), chief complaint \"$(field '.results[0].chief_complaint')\""

step "The doctor records vital signs, a diagnosis, a prescription and a note"
call POST "/consultations/$CONSULTATION/vital-signs" 422 "$DOC" '{"systolic":120,"diastolic":130}'
echo "  refused: $(field .detail)"
call POST "/consultations/$CONSULTATION/vital-signs" 201 "$DOC" \
  '{"systolic":150,"diastolic":95,"heart_rate":88,"temperature":101.3,"temperature_unit":"[degF]","weight":70,"height":177}'
echo "  BP $(field .blood_pressure.systolic.value)/$(field .blood_pressure.diastolic.value) $(field .blood_pressure.systolic.unit) (LOINC $(field .blood_pressure.loinc)), temperature $(field .temperature.value) $(field .temperature.unit) (entered $(field .temperature.entered.value) $(field .temperature.entered.unit)), height $(field .height.value) cm, BMI $(field .bmi.value)"
call GET "/diagnosis-codes?search=essential%20hypertension&page_size=1" 200 "$DOC"
echo "  $(field '.results[0].code'): $(field '.results[0].description')"
call POST "/consultations/$CONSULTATION/diagnoses" 422 "$DOC" '{"code":"I1"}'
echo "  refused: $(field .detail)"
call POST "/consultations/$CONSULTATION/diagnoses" 201 "$DOC" '{"code":"i10","kind":"primary","status":"provisional"}'
DIAGNOSIS=$(field .id)
echo "  diagnosis $(field .code) ($(field .system)) $(field .status)"
call GET "/medications?search=amlodipine&page_size=100" 200 "$DOC"
ITEM=$(field '[.results[] | select(.strength == "5" and .dosage_form == "TABLET")][0].id')
call POST "/consultations/$CONSULTATION/prescriptions" 201 "$DOC" \
  "{\"medication\":\"Amlodipine 5 mg tablet\",\"medication_id\":\"$ITEM\",\"dose_amount\":1,\"dose_unit\":\"tablet\",\"frequency\":\"1-0-0\",\"duration_days\":30,\"quantity\":30,\"refills\":1}"
PRESCRIPTION=$(field .id)
echo "  prescription: $(field .medication) (catalogue item $(field .medication_id)), $(field .frequency_pattern), quantity $(field .quantity), refills $(field .refills)"
call POST "/consultations/$CONSULTATION/notes" 201 "$DOC" '{"kind":"plan","text":"Recheck blood pressure in four weeks."}'

step "The doctor completes the visit, then amends the diagnosis with a reason"
call POST "/appointments/$VISIT/complete" 200 "$DOC"
call GET "/consultations/$CONSULTATION" 200 "$DOC"
echo "  consultation $(field .status) at $(field .ended_at): $(field '.vital_signs | length') vital signs, $(field '.diagnoses | length') diagnosis, $(field '.prescriptions | length') prescription, $(field '.notes | length') note"
call GET "/consultations/$CONSULTATION/versions" 200 "$DOC"
echo "  its versions: $(field '[.versions[].content.status] | join(" → ")')"
call PUT "/diagnoses/$DIAGNOSIS" 400 "$DOC" '{"code":"I10","kind":"primary","status":"confirmed"}'
echo "  refused: $(field .detail)"
call PUT "/diagnoses/$DIAGNOSIS" 200 "$DOC" '{"reason":"Confirmed on repeat readings","code":"I10","kind":"primary","status":"confirmed"}'
echo "  diagnosis version $(field .version): $(field .status)"
call GET "/diagnoses/$DIAGNOSIS/versions" 200 "$DOC"
echo "  $(field '.versions | length') versions, chain intact: $(field .chain_intact); v2 reason \"$(field '.versions[1].reason')\", digest $(field '.versions[1].digest' | cut -c1-16)…"
call DELETE "/diagnoses/$DIAGNOSIS" 405 "$DOC"
call GET "/patients/$WALK_IN/clinical-summary" 200 "$DOC"
echo "  summary: problems $(field '[.problems[].code] | join(",")'), active prescriptions $(field '.prescriptions | length'), latest BP $(field '.vital_signs[0].blood_pressure.systolic.value')/$(field '.vital_signs[0].blood_pressure.diastolic.value')"

step "Reception sees the patient and the visit, and no clinical field"
call GET "/patients/$WALK_IN" 200 "$RECEPTION"
echo "  patient fields: $(field 'keys | join(",")')"
call GET "/appointments/$VISIT" 200 "$RECEPTION"
echo "  appointment $(field .status)"
call GET "/consultations/$CONSULTATION" 403 "$RECEPTION"
call GET "/patients/$WALK_IN/clinical-summary" 403 "$RECEPTION"
call GET "/diagnoses/$DIAGNOSIS/versions" 403 "$RECEPTION"
call GET "/appointments/$VISIT/history" 200 "$RECEPTION"
echo "  history: $(field '[.results[].action] | join(" → ")')"

step "The pharmacy receives a small lot that expires soon; a nurse dispenses first expiry first"
call POST "/medications/$ITEM/lots" 422 "$ADMIN" "{\"facility_id\":\"$FACILITY\",\"lot_number\":\"AML-$RUN\",\"expires_on\":\"$(date -u -d '-1 day' +%F)\",\"unit_cost\":\"3.50\",\"quantity\":12}"
echo "  refused: $(field .detail)"
call POST "/medications/$ITEM/lots" 201 "$ADMIN" "{\"facility_id\":\"$FACILITY\",\"lot_number\":\"AML-$RUN\",\"expires_on\":\"$(date -u -d '+10 days' +%F)\",\"supplier\":\"Square Pharmaceuticals\",\"unit_cost\":\"3.50\",\"quantity\":12}"
call GET "/medications/$ITEM/stock?facility=$FACILITY" 200 "$ADMIN"
echo "  stock as of $(field .as_of): $(field '[.lots[] | "\(.lot_number) \(.on_hand) (to \(.expires_on)\(if .expired then ", expired" else "" end))"] | join("; ")')"
call GET "/users?role=nurse&page_size=100" 200 "$ADMIN"
NURSE_NAME=$(field "[.results[] | select(.facility_id == \"$FACILITY\")][0].username")
call POST /auth/login 200 "" "{\"username\":\"$NURSE_NAME\",\"password\":\"$PASSWORD\"}"
NURSE=$(field .access)
call POST "/prescriptions/$PRESCRIPTION/dispense" 403 "$RECEPTION" '{"quantity":30}'
call POST "/prescriptions/$PRESCRIPTION/dispense" 201 "$NURSE" '{"quantity":30}'
echo "  $NURSE_NAME dispensed $(field .quantity): $(field '[.lots[] | "\(.quantity) from \(.lot_number) (to \(.expires_on))"] | join(" + ")'); $(field .remaining) remain on the prescription"
call POST "/prescriptions/$PRESCRIPTION/dispense" 409 "$NURSE" '{"quantity":31}'
echo "  refused: rule $(field .rule): $(field .detail)"

step "Reception issues the visit's bill, takes two payments (one retried) and refunds part"
call GET "/bills?appointment=$VISIT" 200 "$RECEPTION"
BILL=$(field '.results[0].id')
call GET "/bills/$BILL" 200 "$RECEPTION"
echo "  bill $(field .status), $(field .currency): $(field '[.lines[] | "\(.description) \(.quantity) × \(.unit_price) = \(.amount)"] | join("; ")')"
call POST "/bills/$BILL/issue" 200 "$RECEPTION"
TOTAL=$(field .total)
CURRENCY=$(field .currency)
HALF=$(jq -r '(.total | tonumber / 2 | floor)' "$TMP/body")
echo "  issued: total $TOTAL $CURRENCY"
call POST "/bills/$BILL/payments" 422 "$RECEPTION" '{"amount":"10.001","method":"cash"}'
echo "  refused: $(field .detail)"
call POST "/bills/$BILL/payments" 201 "$RECEPTION" "{\"amount\":\"$HALF\",\"method\":\"mobile_banking\",\"reference\":\"bKash TX$RUN\"}" "Idempotency-Key: pay-$RUN"
FIRST_PAYMENT=$(field .payment.id)
echo "  paid $(field .payment.amount) by $(field .payment.method): bill $(field .bill.status), balance $(field .bill.balance)"
call POST "/bills/$BILL/payments" 201 "$RECEPTION" "{\"amount\":\"$HALF\",\"method\":\"mobile_banking\",\"reference\":\"bKash TX$RUN\"}" "Idempotency-Key: pay-$RUN"
echo "  the retry answers payment $(field .payment.id) again (same as $FIRST_PAYMENT): balance still $(field .bill.balance)"
BALANCE=$(field .bill.balance)
call POST "/bills/$BILL/payments" 409 "$RECEPTION" "{\"amount\":\"$TOTAL\",\"method\":\"cash\"}"
echo "  refused: rule $(field .rule): $(field .detail)"
call POST "/bills/$BILL/payments" 201 "$RECEPTION" "{\"amount\":\"$BALANCE\",\"method\":\"cash\",\"reference\":\"Receipt $RUN\"}"
SECOND_PAYMENT=$(field .payment.id)
echo "  paid $(field .payment.amount) in cash: bill $(field .bill.status), balance $(field .bill.balance)"
call POST "/payments/$SECOND_PAYMENT/refunds" 201 "$RECEPTION" '{"amount":"10","reason":"Tablets returned unopened"}'
echo "  refunded $(field .amount): $(field .status)"
call POST "/payments/$SECOND_PAYMENT/refunds" 409 "$RECEPTION" "{\"amount\":\"$BALANCE\",\"reason\":\"Again\"}"
echo "  refused: rule $(field .rule): $(field .detail)"
call GET "/bills/$BILL" 200 "$RECEPTION"
echo "  bill $(field .status): total $(field .total), paid $(field .paid), balance $(field .balance); $(field '.payments | length') payments, $(field '.refunds | length') refund"
call POST "/bills/$BILL/void" 409 "$RECEPTION" '{"reason":"Wrong patient"}'
echo "  refused: rule $(field .rule)"
call GET "/bills/$BILL" 403 "$DOC"
call DELETE /settings/booking.check_in_open_minutes 204 "$ADMIN"

printf '\nDemo finished.\n'
