#!/usr/bin/env bash
# Regenerates docs/openapi/openapi.json from the code (`prakerja-api openapi`).
# CI fails when the committed file differs from what the code generates, so run
# this and commit the result whenever a route or schema changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

. scripts/ensure-rust.sh
mkdir -p docs/openapi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# The same build as the tests and .ci/run (one set of dependency features).
cargo build --quiet --locked --workspace --all-targets
"${CARGO_TARGET_DIR:-target}/debug/prakerja-api" openapi >"$tmp"
mv "$tmp" docs/openapi/openapi.json
chmod 644 docs/openapi/openapi.json
