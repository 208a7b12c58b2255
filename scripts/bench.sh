#!/usr/bin/env bash
# Benchmark: release Carebook on SQLite and on PostgreSQL, each at two data
# sizes — the demo clinic, and the demo grown by `seed --synthetic` to 1,000
# doctors, 100,000 patients and 1,000,000 appointments — beside a baseline
# server that answers with the same availability bytes from memory
# (examples/baseline.rs), driven by wrk. The figures use the demo's
# Bangladeshi doctors at both sizes, so only the amount of data differs.
#
#   scripts/bench.sh            # 10 s per figure; appends the table to BENCHMARKS.md
#   scripts/bench.sh --quick    # 2 s per figure, a small synthetic size, prints only (.ci/run)
#
# BENCH_SECONDS, BENCH_CONNECTIONS (32) and BENCH_POSTGRES_URL (default the
# local server; a database carebook_bench_<pid> is created and dropped)
# change the run. Numbers describe this machine; nothing here is a test.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[[ ${1:-} == --quick ]] && quick=1
seconds=${BENCH_SECONDS:-10}
[[ $quick == 1 ]] && seconds=2
connections=${BENCH_CONNECTIONS:-32}
pg_server=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
target=${CARGO_TARGET_DIR:-target}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null

cargo build --quiet --release --bin carebook --example baseline
bin="$target/release/carebook"
# shellcheck source=lib/nodes.sh
source scripts/lib/nodes.sh


rows=()     # "label|database|req/s|p99 ms|note"
declare -A health_rps   # database -> req/s of its own /health
baseline_rps=""

# wrk_run URL [wrk options...]: prints "req/s p99-ms" and keeps the output in $work/wrk.out.
wrk_run() {
  local url=$1
  shift
  wrk -t2 -c"$connections" -d"${seconds}s" --latency "$url" "$@" >"$work/wrk.out" 2>&1
  local rps p99
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; printf "%.1f", v}' "$work/wrk.out")
  echo "${rps:-0} ${p99:-?}"
}

record() { rows+=("$1|$2|$3|$4|${5:-}"); printf '  %-40s %-10s %10s req/s  p99 %8s ms  %s\n' "$1" "$2" "$3" "$4" "${5:-}"; }

rss_kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

api() { # METHOD PATH TOKEN [BODY]
  local args=(-s -X "$1" "$base/api/v1$2" -H "Authorization: Bearer $3")
  [[ -n ${4:-} ]] && args+=(-H 'Content-Type: application/json' -d "$4")
  curl "${args[@]}"
}
login() { curl -s "$base/api/v1/auth/login" -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"carebook-demo\"}" | jq -r .access; }

# The large size (smaller in --quick, so the harness is exercised, not measured).
if [[ $quick == 1 ]]; then
  large=(--doctors 64 --patients 2000 --appointments 20000)
  large_name=20k
else
  large=(--doctors 1000 --patients 100000 --appointments 1000000)
  large_name=1M
fi

bench_database() { # NAME DATABASE_URL PORT [SEED ARGS...]
  local name=$1 port=$3
  export DATABASE_URL=$2
  shift 3
  base="http://127.0.0.1:$port"
  "$bin" migrate >/dev/null
  "$bin" seed "${@:---demo}" >"$work/seed-$name.log"
  tail -n 1 "$work/seed-$name.log"
  CAREBOOK_BIND="127.0.0.1:$port" "$bin" serve >"$work/node-$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do curl -fs "$base/ready" >/dev/null && break; sleep 0.1; done
  local idle_rss
  idle_rss=$(rss_kb "$pid" VmRSS)

  local admin reception patient doctor day week
  admin=$(login admin)
  reception=$(login reception.dhaka)
  patient=$(login patient001)
  # The demo's Bangladeshi doctors (licences BMDC-A-…) at either size.
  doctor=$(api GET "/doctors?page_size=1&ordering=last_name&search=BMDC-A" "$admin" | jq -r '.results[0].id')
  # The first of the next seven days on which the doctor works (not a weekend).
  for offset in 1 2 3 4 5 6 7; do
    day=$(date -u -d "+$offset days" +%F)
    [[ $(api GET "/doctors/$doctor/availability?from=$day&to=$day" "$patient" | jq '.slots | length') -gt 0 ]] && break
  done
  week=$(date -u -d "$day +6 days" +%F)
  api GET "/doctors/$doctor/availability?from=$day&to=$day" "$patient" >"$work/availability-$name.json"

  local r
  r=$(wrk_run "$base/health")
  health_rps[$name]=${r% *}
  record "GET /health" "$name" $r
  r=$(wrk_run "$base/api/v1/auth/me" -H "Authorization: Bearer $patient")
  record "GET /auth/me" "$name" $r
  r=$(wrk_run "$base/api/v1/doctors/$doctor/availability?from=$day&to=$day" -H "Authorization: Bearer $patient")
  record "GET availability, 1 day" "$name" $r
  r=$(wrk_run "$base/api/v1/doctors/$doctor/availability?from=$day&to=$week" -H "Authorization: Bearer $patient")
  record "GET availability, 7 days" "$name" $r
  r=$(wrk_run "$base/api/v1/doctors?available_on=$day" -H "Authorization: Bearer $patient")
  record "GET /doctors?available_on" "$name" $r
  r=$(wrk_run "$base/api/v1/appointments?doctor=$doctor&from=$day&to=$week" -H "Authorization: Bearer $reception")
  record "GET /appointments, a doctor's week" "$name" $r
  r=$(wrk_run "$base/api/v1/diagnosis-codes?search=type%202%20diabetes&page_size=20" -H "Authorization: Bearer $patient")
  record "GET /diagnosis-codes?search=type 2 diabetes" "$name" $r
  r=$(wrk_run "$base/api/v1/diagnosis-codes?search=fracture%20of%20femur&page_size=20" -H "Authorization: Bearer $patient")
  record "GET /diagnosis-codes?search=fracture of femur" "$name" $r
  r=$(wrk_run "$base/api/v1/bills?status=issued,partially_paid" -H "Authorization: Bearer $reception")
  record "GET /bills, unpaid (audited read)" "$name" $r

  # Bookings: every free slot of every doctor over two weeks, each for the next patient.
  api GET "/patients?page_size=100" "$reception" | jq -r '.results[].id' >"$work/patients"
  api GET "/patients?page_size=100&page=2" "$reception" | jq -r '.results[].id' >>"$work/patients"
  : >"$work/slots"
  local from to
  from=$(date -u -d '+2 days' +%F)
  to=$(date -u -d '+29 days' +%F)
  for d in $(api GET "/doctors?page_size=100&search=BMDC-A" "$admin" | jq -r '.results[].id'); do
    api GET "/doctors/$d/availability?from=$from&to=$to" "$admin" |
      jq -c --arg d "$d" '.slots[] | {doctor_id: $d, start: .start}' >>"$work/slots"
  done
  local patients
  mapfile -t patients <"$work/patients"
  awk -v n="${#patients[@]}" 'NR==FNR {p[FNR-1]=$0; next} {sub(/}$/, ",\"patient_id\":\"" p[(FNR-1) % n] "\"}"); print}' \
    "$work/patients" "$work/slots" | shuf --random-source=<(yes) >"$work/bodies"
  local saved=$connections
  connections=16
  r=$(wrk_run "$base" -s scripts/bench/book.lua -- "$reception" "$work/bodies" 2)
  connections=$saved
  local statuses
  statuses=$(awk '/^STATUSES/ {print $2, $3, $4}' "$work/wrk.out")
  record "POST /appointments (16 conn.)" "$name" $r "$(wc -l <"$work/bodies") free slots; $statuses"
  local peak_rss
  peak_rss=$(rss_kb "$pid" VmHWM)

  # 50 patients, one slot, at once.
  local slot
  # A day after the bookings above, so its first slot is still free.
  local race_day
  for offset in 40 41 42 43 44 45 46; do
    race_day=$(date -u -d "+$offset days" +%F)
    slot=$(api GET "/doctors/$doctor/availability?from=$race_day&to=$race_day" "$admin" | jq -r '.slots[0].start // empty')
    [[ -n $slot ]] && break
  done
  head -n 50 "$work/patients" |
    xargs -P 50 -I{} curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$base/api/v1/appointments" \
      -H "Authorization: Bearer $reception" -H 'Content-Type: application/json' \
      -d "{\"doctor_id\":\"$doctor\",\"start\":\"$slot\",\"patient_id\":\"{}\"}" >"$work/race"
  local won lost other slowest
  won=$(grep -c '^201 ' "$work/race" || true)
  lost=$(grep -c '^409 ' "$work/race" || true)
  other=$(grep -vc '^20[01] \|^409 ' "$work/race" || true)
  slowest=$(awk '{printf "%.1f\n", $2 * 1000}' "$work/race" | sort -n | tail -n 1)
  record "50-way same-slot race" "$name" "-" "$slowest" "201×$won 409×$lost other×$other (p99 = slowest of 50)"
  record "RSS" "$name" "-" "-" "idle $((idle_rss / 1024)) MB, peak under load $((peak_rss / 1024)) MB"

  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

echo "bench: ${seconds}s per figure, $connections connections, $(nproc) cores"
bench_database sqlite "sqlite://$work/bench.db" 18811
bench_database "sqlite $large_name" "sqlite://$work/bench-large.db" 18814 --synthetic "${large[@]}"
rm -f "$work"/bench*.db*
pg_db="carebook_bench_$$"
psql "$pg_server" -qc "CREATE DATABASE $pg_db"
bench_database postgres "${pg_server%/*}/$pg_db" 18812
psql "$pg_server" -qc "DROP DATABASE $pg_db WITH (FORCE)"
psql "$pg_server" -qc "CREATE DATABASE $pg_db"
bench_database "postgres $large_name" "${pg_server%/*}/$pg_db" 18815 --synthetic "${large[@]}"

"$target/release/examples/baseline" 127.0.0.1:18813 "$work/availability-sqlite.json" &
pids+=($!)
for _ in $(seq 1 50); do curl -fs http://127.0.0.1:18813/ >/dev/null && break; sleep 0.1; done
r=$(wrk_run "http://127.0.0.1:18813/")
baseline_rps=${r% *}
record "baseline: availability bytes from memory" "-" $r "$(wc -c <"$work/availability-sqlite.json") bytes"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "" || b == 0) print "-"; else printf "%.1f%%", 100 * a / b }'; }
table="| figure | database | req/s | p99 ms | % of baseline | % of its /health | note |
|---|---|---:|---:|---:|---:|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r label db rps p99 note <<<"$row"
  table+=$'\n'"| $label | $db | $rps | $p99 | $(ratio "$rps" "$baseline_rps") | $(ratio "$rps" "${health_rps[$db]:-}") | $note |"
done
printf '\n%s\n' "$table"

if [[ $quick == 0 ]]; then
  {
    printf '\n## scripts/bench.sh, %s, commit %s\n\n' "$(date -u +'%Y-%m-%d %H:%M UTC')" "$(git rev-parse --short HEAD)"
    printf '%s cores (%s), %s s per figure, %s connections (bookings 16); demo data, and demo + synthetic (%s).\n\n' \
      "$(nproc)" "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" "$seconds" "$connections" "${large[*]}"
    printf '%s\n' "$table"
  } >>BENCHMARKS.md
  echo "appended to BENCHMARKS.md"
fi
