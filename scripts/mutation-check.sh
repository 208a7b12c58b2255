#!/usr/bin/env bash
# Mutation check: break each guarantee the foundation tests stand for, one at
# a time, and require the test that guards it to fail. A test that still
# passes with its guarantee broken could not fail, and this script says so.
#
#   scripts/mutation-check.sh            # every mutant (SQLite)
#
# Each mutant is one textual change to one source file; the file is put back
# whatever happens. Runs from the project root.
set -uo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
survivors=0
# Put back any file a mutant changed, even if this script is interrupted.
restore() { find src -name '*.unmutated' | while read -r f; do mv -f "$f" "${f%.unmutated}"; touch "${f%.unmutated}"; done; }
trap restore EXIT

# mutate NAME FILE OLD NEW TEST_FILTER
mutate() {
  local name=$1 file=$2 old=$3 new=$4 filter=$5
  cp "$file" "$file.unmutated"
  python3 - "$file" "$old" "$new" <<'PY' || { echo "mutant '$name': its source line is gone; update this script" >&2; survivors=$((survivors + 1)); restore; return; }
import sys
path, old, new = sys.argv[1:4]
text = open(path).read()
if old not in text:
    sys.exit(1)
open(path, "w").write(text.replace(old, new, 1))
PY
  if cargo test --quiet --test api "$filter" >/tmp/carebook-mutant.log 2>&1; then
    echo "SURVIVED  $name  (the tests matching '$filter' still pass)"
    survivors=$((survivors + 1))
  elif grep -q "test result: FAILED" /tmp/carebook-mutant.log; then
    echo "killed    $name"
  else
    echo "BROKEN    $name  (did not build or run; see /tmp/carebook-mutant.log)"
    survivors=$((survivors + 1))
  fi
  restore
}

mutate "receptionists receive clinical fields" \
  src/auth/policy.rs \
  "[Write, Write, Hidden, Write],  // receptionist: never clinical" \
  "[Write, Write, Read, Write],  // receptionist: never clinical" \
  every_role_receives_and_writes

mutate "allergies classed as demographic" \
  src/auth/policy.rs \
  '("allergies", FieldClass::Clinical),' \
  '("allergies", FieldClass::Demographic),' \
  every_role_receives_and_writes

mutate "a change's audit event written outside its transaction" \
  src/db/mod.rs \
  "            audit::insert(&self, events).await?;" \
  "            let _ = events;" \
  a_change_and_its_audit_event

mutate "the first X-Forwarded-For entry taken as the client" \
  src/config.rs \
  ".map(str::trim).rev();" \
  ".map(str::trim).take(1);" \
  behind_a_proxy_the_client

mutate "check-in at any time before the start" \
  src/scheduling/lifecycle.rs \
  "Transition::CheckIn if timing.now < timing.start - timing.check_in_opens" \
  "Transition::CheckIn if false" \
  check_in_opens_shortly_before

mutate "reception reads clinical records" \
  src/auth/policy.rs \
  "rule(Action::ClinicalRead,          [All, Own, Facility, No, Own], CLINICAL)," \
  "rule(Action::ClinicalRead,          [All, Own, Facility, All, Own], CLINICAL)," \
  the_visit_flow_from_booking

mutate "an implausible temperature let through by the handler" \
  src/clinical/vital_signs.rs \
  'check_range("temperature", Milli(celsius), 25_000, 45_000, "Cel")?;' \
  'check_range("temperature", Milli(celsius), 25_000, 60_000, "Cel")?;' \
  vital_signs_read_back_exactly

mutate "a dispense beyond what the prescription allows" \
  src/pharmacy/dispensing.rs \
  "if wanted > remaining {" \
  "if false {" \
  dispensing_takes_first_expiry_first

mutate "a payment's idempotency key not recorded" \
  src/billing/mod.rs \
  "&& !idempotency::record(&tx, actor.user_id, key, payment_id, now).await?" \
  "&& false" \
  a_hundred_replays_of_a_payment

mutate "the database lets a bill be overpaid" \
  src/db/migrations/m20261206_000001_billing.rs \
  '.check(Expr::col("paid_minor").lte(Expr::col("total_minor")))' \
  '.check(Expr::col("paid_minor").gte(0))' \
  bills_are_made_by_reception

mutate "doctors read bills" \
  src/auth/policy.rs \
  "rule(Action::BillRead,              [All, No, No, All, Own], BILL)," \
  "rule(Action::BillRead,              [All, Own, No, All, Own], BILL)," \
  dispensing_takes_first_expiry_first

mutate "a reschedule leaves the old reminder queued" \
  src/notifications/mod.rs \
  "            jobs::cancel_queued(tx, appointment.id, &[JobKind::AppointmentReminder], now).await?;
            mail(tx, appointment, JobKind::AppointmentRescheduled" \
  "            mail(tx, appointment, JobKind::AppointmentRescheduled" \
  a_booking_mails_its_confirmation_and_one_reminder

mutate "a reminder sent for an appointment that ended" \
  src/notifications/perform.rs \
  "if !wanted_while.contains(&row.status) {" \
  "if false {" \
  reminders_follow_the_setting

mutate "a worker records a job whose lease it lost" \
  src/db/jobs.rs \
  '.and_where(Expr::col("lease_owner").eq(lease.owner.as_str()))' \
  "" \
  a_worker_that_dies_mid_job

mutate "a webhook signature that leaves out the id and timestamp" \
  src/notifications/webhooks.rs \
  'mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());' \
  'mac.update(body.as_bytes());' \
  webhooks_are_signed

mutate "a webhook to an internal address accepted" \
  src/notifications/webhooks.rs \
  "if addresses.iter().any(|a| internal(a.ip())) {" \
  "if false {" \
  webhooks_are_signed

mutate "report days counted in UTC, not the facility's zone" \
  src/reports/mod.rs \
  "at.with_timezone(&tz).date_naive()" \
  "at.date_naive()" \
  reports_count_days

mutate "a doctor reads another doctor's report" \
  src/reports/mod.rs \
  "if doctor.is_some_and(|d| d != own) {" \
  "if false {" \
  reports_refuse

mutate "an XLSX export without its totals row" \
  src/exports/xlsx.rs \
  "if totals.iter().any(|c| !matches!(c, Cell::Empty)) {" \
  "if false {" \
  every_report_of_the_demo

mutate "an expired hold not released by the booking that needs its time" \
  src/booking/appointments.rs \
  "    appointments::release_expired(tx, doctor, patient, start, end, now).await?;" \
  "    let _ = now;" \
  a_fhir_hold_expires

mutate "FHIR Appointment status confirmed sent as our own word" \
  src/fhir/resources.rs \
  'AppointmentStatus::Confirmed => "booked",' \
  'AppointmentStatus::Confirmed => "confirmed",' \
  a_fhir_client_reads_metadata

mutate "blood pressure components without their LOINC codes" \
  src/fhir/clinical.rs \
  'component("8480-6", "Systolic blood pressure", row.systolic),' \
  'component("8480-6x", "Systolic blood pressure", row.systolic),' \
  the_directory_and_the_clinical_record

if [ "$survivors" -gt 0 ]; then
  echo "$survivors mutant(s) survived" >&2
  exit 1
fi
echo "every mutant was killed"
