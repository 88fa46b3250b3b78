#!/usr/bin/env bash
# Quick start, "test": the whole suite (unit tests and the API tests in tests/).
# Extra arguments go to `cargo test`, e.g. `bash scripts/test.sh foundation`.
#
# DATABASE_URL here names a PostgreSQL *server*: the harness (tests/api/helpers.rs)
# connects to its `postgres` database and clones one database per test from a
# migrated template, whatever database the URL names.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

. scripts/ensure-rust.sh
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
bash scripts/ensure-postgres.sh
# cargo prints one "test result" line per test binary, the last for doc tests
# (0 of them); close with the whole suite's count so the total is the last line.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($i ~ /^passed;/) p += $(i - 1); if ($i ~ /^failed;/) f += $(i - 1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
