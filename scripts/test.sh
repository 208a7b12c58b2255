#!/usr/bin/env bash
# The test command: the Python peers the tests talk to (scripts/test-venv.sh),
# then `cargo test` with any arguments given (SQLite; PostgreSQL with
# TEST_DATABASE_URL=postgres://…).
set -euo pipefail
cd "$(dirname "$0")/.."
CAREBOOK_TEST_PYTHON=$(scripts/test-venv.sh)
export CAREBOOK_TEST_PYTHON
exec cargo test "$@"
