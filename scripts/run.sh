#!/usr/bin/env bash
# Quick start, "run": builds the service and serves the sandbox on
# http://localhost:8080 (API docs at /docs/), setting up PostgreSQL if needed.
#
# Each of APP_ENV, PORT and DATABASE_URL comes from the environment, else from
# .env, else the sandbox default below. Every other setting is read by the
# binary itself from the environment or .env (see .env.example).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

. scripts/ensure-rust.sh

# The value of KEY in .env (simple KEY=value lines, optionally quoted).
dotenv_value() {
    [ -f .env ] || return 0
    sed -nE "s/^[[:space:]]*(export[[:space:]]+)?$1[[:space:]]*=[[:space:]]*//p" .env | tail -n 1 |
        sed -E "s/^\"(.*)\"[[:space:]]*$/\1/; t; s/^'(.*)'[[:space:]]*$/\1/; t; s/[[:space:]]+#.*$//; s/[[:space:]]+$//"
}

default() { # NAME VALUE: keep the environment's value, else .env's, else VALUE.
    local value=${!1:-}
    [ -n "$value" ] || value=$(dotenv_value "$1")
    export "$1=${value:-$2}"
}
default APP_ENV sandbox
default PORT 8080
default DATABASE_URL postgres://postgres@127.0.0.1:5432/prakerja

bash scripts/ensure-postgres.sh
cargo build --release --locked -p prakerja-api
bin="${CARGO_TARGET_DIR:-target}/release/prakerja-api"
"$bin" migrate
echo "prakerja-api ($APP_ENV) on http://localhost:$PORT, API docs at http://localhost:$PORT/docs/" >&2
exec "$bin" serve
