#!/usr/bin/env bash
# Fuzzes the parsers and signature checks (api/src/fuzz.rs) for a bounded time:
#
#   bash scripts/fuzz.sh                 # every target, 60 s each
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh money_bodies_parse_or_are_refused_cleanly
#
# Each target is a proptest property; this reruns it with many cases and a
# fresh random seed until its time is up, and stops at the first failure
# (proptest prints the smallest failing input and stores it under
# api/proptest-regressions/, which later runs replay first: commit that file
# with the fix). `cargo test` runs the same properties with a few hundred cases.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/ensure-rust.sh

SECONDS_EACH=${FUZZ_SECONDS:-60}
CASES=${FUZZ_CASES:-50000}
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(
        nik_and_kk_parsing_never_panics_and_round_trips
        partner_signature_headers_never_panic
        partner_signatures_verify_only_the_signed_request
        callback_signatures_never_panic_and_bind_the_body
        money_bodies_parse_or_are_refused_cleanly
    )
fi

cargo test --locked -p prakerja-api --lib --no-run --quiet
for target in "${TARGETS[@]}"; do
    deadline=$(($(date +%s) + SECONDS_EACH))
    runs=0
    while [ "$(date +%s)" -lt "$deadline" ]; do
        PROPTEST_CASES=$CASES cargo test --locked --quiet -p prakerja-api --lib \
            "fuzz::$target" -- --exact >/dev/null 2>&1 || {
            echo "fuzz: $target FAILED; rerun to see the minimal input:" >&2
            echo "  PROPTEST_CASES=$CASES cargo test -p prakerja-api --lib fuzz::$target -- --exact" >&2
            exit 1
        }
        runs=$((runs + 1))
    done
    echo "fuzz: $target: $((runs * CASES)) cases in ${SECONDS_EACH} s, no failure"
done
