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
exec cargo test --workspace --locked "$@"
