#!/usr/bin/env bash
# One command for the benchmarks: bash bench/run.sh [applicant counts…] [--quota-all]
# Default: selection at 100k and 1M applicants (quota 10%).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/ensure-rust.sh
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
bash scripts/ensure-postgres.sh
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(100000 1000000)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(psql --version 2>/dev/null | head -1)"
cargo run --quiet --release --locked -p prakerja-bench --bin selection-bench -- "${args[@]}"
