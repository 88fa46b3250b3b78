#!/usr/bin/env bash
# One command for the benchmarks: bash bench/run.sh [applicant counts…] [--quota-all]
# Default: selection at 100k and 1M applicants (quota 10%). See bench/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/ensure-rust.sh
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
bash scripts/ensure-postgres.sh
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(100000 1000000)
# Build first, so compiling never counts towards (or competes with) a figure.
cargo build --quiet --release --locked -p prakerja-bench --bin selection-bench
server=$(psql "$DATABASE_URL" -XAtc "SELECT current_setting('server_version') || ', shared_buffers ' || current_setting('shared_buffers') || ', work_mem ' || current_setting('work_mem')" 2>/dev/null || echo "unknown server")
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), PostgreSQL $server; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "command: bash bench/run.sh ${args[*]}"
"${CARGO_TARGET_DIR:-target}/release/selection-bench" "${args[@]}"
