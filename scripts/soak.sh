#!/usr/bin/env bash
# Mixed-load soak: release nodes on one database with the demo clinic, many
# clients searching, reading availability, booking, rescheduling, cancelling,
# confirming and checking in (examples/soak.rs), then every doctor's live
# appointments checked for overlaps and the nodes' logs for errors.
#
#   scripts/soak.sh                     # 300 s, 3 nodes on PostgreSQL, 48 clients
#   scripts/soak.sh 60 3 32             # SECONDS NODES CLIENTS
#   SOAK_DATABASE=sqlite scripts/soak.sh 300 1
#
# PostgreSQL: SOAK_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres)
# is the server; a database carebook_soak_<pid> is created and dropped.
# Rate limits are off (every client is 127.0.0.1). Exit 1 on any 5xx,
# transport error, unexpected status, overlap, or ERROR in a node's log.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-300}
nodes=${2:-3}
clients=${3:-48}
database=${SOAK_DATABASE:-postgres}
pg_server=${SOAK_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
target=${CARGO_TARGET_DIR:-target}
base_port=${SOAK_BASE_PORT:-18900}

cargo build --quiet --release --bin carebook --example soak
bin="$target/release/carebook"
# shellcheck source=lib/nodes.sh
source scripts/lib/nodes.sh

if [[ $database == sqlite ]]; then
  export DATABASE_URL="sqlite://$work/soak.db"
else
  pg_db="carebook_soak_$$"
  psql "$pg_server" -qc "CREATE DATABASE $pg_db"
  export DATABASE_URL="${pg_server%/*}/$pg_db"
fi

"$bin" migrate >/dev/null
"$bin" seed --demo >"$work/seed.log"
head -n 1 "$work/seed.log"

urls=()
for i in $(seq 1 "$nodes"); do
  port=$((base_port + i))
  CAREBOOK_BIND="127.0.0.1:$port" "$bin" serve >"$work/node$i.log" 2>&1 &
  pids+=($!)
  urls+=(--node "http://127.0.0.1:$port")
done
for i in $(seq 1 "$nodes"); do
  port=$((base_port + i))
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/ready" >/dev/null && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$port/ready" >/dev/null || { cat "$work/node$i.log" >&2; echo "node $i did not start" >&2; exit 1; }
done
echo "soak: $nodes node(s) on $database"

status=0
"$target/release/examples/soak" "${urls[@]}" --seconds "$seconds" --clients "$clients" || status=1

errors=0
for i in $(seq 1 "$nodes"); do
  n=$(grep -cE ' ERROR |panicked' "$work/node$i.log" || true)
  if [[ $n -gt 0 ]]; then
    echo "node $i logged $n error line(s):" >&2
    grep -E ' ERROR |panicked' "$work/node$i.log" | head -n 5 >&2
    errors=$((errors + n))
  fi
done
echo "node log errors: $errors"
[[ $errors -eq 0 ]] || status=1
exit $status
