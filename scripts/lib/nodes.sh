# Sourced by scripts/soak.sh and scripts/bench.sh, after they set pg_server:
# a scratch directory ($work), the nodes they start ($pids) and a scratch
# PostgreSQL database ($pg_db), all removed on exit; one JWT secret and data
# key for every node, rate limits off (every client is 127.0.0.1).
work=$(mktemp -d)
pids=()
pg_db=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n $pg_db ]]; then psql "$pg_server" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

CAREBOOK_JWT_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
CAREBOOK_DATA_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export CAREBOOK_JWT_SECRET CAREBOOK_DATA_KEY
export CAREBOOK_RATE_LIMIT_PER_MINUTE=0 CAREBOOK_RATE_LIMIT_AUTH_PER_MINUTE=0
export CAREBOOK_LOG=warn CAREBOOK_UPLOAD_DIR="$work/uploads"
