#!/usr/bin/env bash
# Crash recovery (tests/api/crash.rs): SIGKILLs the server in a burst of
# idempotent purchases, and restarts PostgreSQL during outbox delivery and
# during disbursement, then checks nothing is lost or doubled.
#
#   bash scripts/crash-test.sh
#
# Restarting PostgreSQL would cut every other client of the server, so this
# makes a throwaway cluster of its own (Debian's pg_createcluster, on port
# CRASH_PG_PORT, trust auth on 127.0.0.1), runs the tests against it one at a
# time, and drops it at the end. Not part of the suite or CI: it takes a
# minute or two and needs root (or the postgres user's rights) for the cluster.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/ensure-rust.sh
bash scripts/ensure-postgres.sh >/dev/null

PORT=${CRASH_PG_PORT:-55432}
NAME=prakerja_crash
VERSION=$(pg_lsclusters -h | awk 'NR == 1 { print $1 }')
[ -n "$VERSION" ] || { echo "crash-test: no PostgreSQL cluster found (pg_lsclusters)" >&2; exit 1; }
cleanup() { pg_dropcluster "$VERSION" "$NAME" --stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
pg_createcluster "$VERSION" "$NAME" -p "$PORT" --start -- --auth-host=trust --auth-local=trust >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
export PG_RESTART="pg_ctlcluster $VERSION $NAME restart"
for _ in $(seq 1 50); do
    psql "$DATABASE_URL" -Atqc 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.2
done
cargo test --locked -p prakerja-api --test api "crash::${CRASH_FILTER:-}" -- --ignored --test-threads=1 --nocapture
