#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of the request bodies of the
# booking and patient routes, the domain newtypes and the slot computation.
#
#   scripts/fuzz.sh                 # 30 s per target (what .ci/run does)
#   scripts/fuzz.sh 600             # the documented 10-minute run per target
#   scripts/fuzz.sh 60 slots        # one target
#
# Needs a nightly toolchain (`rustup toolchain list`); installs the pinned
# cargo-fuzz from crates.io into ~/.cache/carebook-ci/tools when missing.
# Seeds are fuzz/seeds/<target> (a crash once found stays there as a
# regression input); what a run learns is thrown away; a crash is kept in
# fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(bodies domain slots)

tools=${CAREBOOK_TOOLS:-$HOME/.cache/carebook-ci/tools}
export PATH="$tools/bin:$PATH"
if ! cargo fuzz --version 2>/dev/null | grep -q '0\.13\.2'; then
  cargo install --locked --quiet cargo-fuzz --version 0.13.2 --root "$tools"
fi
target_dir=${CAREBOOK_FUZZ_TARGET_DIR:-$HOME/.cache/carebook-ci/fuzz-target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# No sanitizer: Carebook has no unsafe code of its own; debug assertions and
# overflow checks stay on (cargo fuzz's default for a fuzz build).
if ! cargo +nightly fuzz build -s none --target-dir "$target_dir" >"$work/build.log" 2>&1; then
  tail -n 60 "$work/build.log" >&2
  exit 1
fi
for target in "${targets[@]}"; do
  mkdir -p "$work/$target" "fuzz/artifacts/$target"
  log="$work/$target.log"
  if ! cargo +nightly fuzz run -s none --target-dir "$target_dir" "$target" "$work/$target" "fuzz/seeds/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz $target: CRASH (input kept in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cover=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || echo '?')
  echo "fuzz $target: ${seconds}s, $runs inputs, coverage $cover edges, 0 crashes"
  rmdir "fuzz/artifacts/$target" 2>/dev/null || true
done
