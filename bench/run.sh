#!/usr/bin/env bash
# The benchmarks, one command: bash bench/run.sh all
#
#   bash bench/run.sh all          every load below, then one table
#   bash bench/run.sh selection    selection only (no server)
#   bash bench/run.sh me login     the named server loads only (me, login,
#                                  recommendations, search, purchase, memory)
#
# Builds in release mode, makes sure PostgreSQL runs, installs the load
# generator (oha, pinned) into target/bench-tools, seeds a database, starts the
# server in sandbox mode, runs each load and prints one table: each figure
# beside the physical limit measured in the same run on the same machine.
# bench/README.md says what each load measures and how to add one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/ensure-rust.sh
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
bash scripts/ensure-postgres.sh

OHA_VERSION=1.15.0
TOOLS="${BENCH_TOOLS:-$PWD/target/bench-tools}"
PORT="${BENCH_PORT:-18080}"
URL="http://127.0.0.1:$PORT"
SERVER_DB="${BENCH_SERVER_DB:-prakerja_bench_server}"
PARTICIPANTS="${BENCH_PARTICIPANTS:-100000}"
CONNS=16                # connections for the throughput loads
# Password-hashing threads of the server, and of the raw argon2id it is
# compared with: the server's default (all cores but one, at least one).
HASH_THREADS=$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))
COURSES="${BENCH_COURSES:-10000}"
PARTNERS=16             # partner platforms seeded (the purchase load also runs on 1)
# Cards per purchase run: each card buys once and the five runs (pgbench and
# the app at 16 partners, the constant rate, both at 1) take five ranges, so
# BENCH_PARTICIPANTS must be at least five times this.
PURCHASE_CARDS="${BENCH_PURCHASE_CARDS:-20000}"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
OUT="$PWD/target/bench/$(date -u +%Y%m%dT%H%M%SZ)"
RESULTS="$OUT/results.tsv"
BENCH="${CARGO_TARGET_DIR:-target}/release/prakerja-bench"
SERVER_BIN="${CARGO_TARGET_DIR:-target}/release/prakerja-api"
mkdir -p "$OUT"
: >"$RESULTS"
# Templates of the selection benchmark are named by the schema they hold.
BENCH_SCHEMA_KEY=$(cat migrations/*/up.sql | sha256sum | cut -c1-12)
export BENCH_SCHEMA_KEY

say() { echo "bench: $*" >&2; }
# row LOAD FIGURE LIMIT RATIO P50 P99 TARGET VERDICT: one line of the table.
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }
# pass CONDITION: "met" or "MISSED" (awk evaluates CONDITION).
pass() { awk "BEGIN { exit !($1) }" && echo met || echo MISSED; }
# kv WORDS KEY: the value of KEY=value among WORDS.
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
load_avg() { cut -d' ' -f1 /proc/loadavg; }

# --- Tools ------------------------------------------------------------------
ensure_tools() {
    if ! "$TOOLS/bin/oha" --version 2>/dev/null | grep -q "$OHA_VERSION"; then
        say "installing oha $OHA_VERSION into $TOOLS (first run only)"
        cargo install --quiet --locked --version "$OHA_VERSION" --root "$TOOLS" oha
    fi
    OHA="$TOOLS/bin/oha"
    PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -n 1 || true)
    [ -n "$PGBENCH" ] || { say "pgbench not found (Debian: apt-get install postgresql-contrib)"; exit 1; }
}

# oha_run NAME ARGS…: runs oha with JSON output into $OUT/NAME.json and
# prints its summary words (rps ok_rps p50_ms p99_ms max_ms n n2xx n429 n5xx).
oha_run() {
    local name=$1
    shift
    "$OHA" --no-tui --output-format json -o "$OUT/$name.json" "$@" >/dev/null
    "$BENCH" oha-summary "$OUT/$name.json" | tee "$OUT/$name.summary"
}

# pgbench_tps NAME CLIENTS SCRIPT: transactions per second of SCRIPT on the
# server database, CLIENTS clients, prepared statements.
pgbench_tps() { pgbench_run "$1" "$2" -f "$3"; }

# pgbench_run NAME CLIENTS ARGS…: the same with any pgbench arguments (several
# -f scripts, -D variables); fails when a client aborted.
pgbench_run() {
    local name=$1 clients=$2
    shift 2
    "$PGBENCH" -n -M prepared -c "$clients" -j 2 -T "$SECONDS_PER_RUN" "$@" \
        "$(db_url "$SERVER_DB")" >"$OUT/$name.pgbench" 2>&1 || true
    if grep -q 'aborted' "$OUT/$name.pgbench"; then
        say "pgbench $name: a client aborted (see $OUT/$name.pgbench)"
        exit 1
    fi
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$OUT/$name.pgbench" | tail -n 1
}

db_url() {
    local base=${DATABASE_URL%%\?*}
    echo "${base%/*}/$1"
}
psql_server() { psql "$(db_url "$SERVER_DB")" -XAtq -v ON_ERROR_STOP=1 "$@"; }

# --- Server -----------------------------------------------------------------
SERVER_PID=""
start_server() {
    [ -n "$SERVER_PID" ] && return
    say "seeding $PARTICIPANTS participants with cards into $SERVER_DB"
    "$BENCH" seed-server --database "$SERVER_DB" --participants "$PARTICIPANTS" --out "$OUT"
    ulimit -n 8192 2>/dev/null || ulimit -n 4096 || true
    # Per-IP limits would answer the load generator (one address) 429. As
    # many database connections for the HTTP workers as pgbench gets clients
    # (the default pool of 8 would hold 16 concurrent purchases to 6 in the
    # database), and a quarter more for the jobs (see db::pool_shares).
    APP_ENV=sandbox DATABASE_URL="$(db_url "$SERVER_DB")" HOST=127.0.0.1 PORT="$PORT" \
        DATABASE_POOL_SIZE="${BENCH_POOL_SIZE:-$((CONNS * 5 / 4))}" PASSWORD_HASH_CONCURRENCY="$HASH_THREADS" \
        RATE_LIMIT_IP_PER_MINUTE=100000000 RUST_LOG=warn \
        "$SERVER_BIN" serve >"$OUT/server.log" 2>&1 &
    SERVER_PID=$!
    trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
    for _ in $(seq 1 60); do
        curl -fsS "$URL/health" >/dev/null 2>&1 && break
        sleep 0.5
    done
    curl -fsS "$URL/health" >/dev/null || { say "the server did not start (see $OUT/server.log)"; exit 1; }
    EMAIL=$(head -n 1 "$OUT/emails.txt")
    TOKEN=$("$BENCH" token --url "$URL" --email "$EMAIL")
    ACCOUNT=$(psql_server -c "SELECT id FROM accounts WHERE email = '$EMAIL'")
    SESSION=$(psql_server -c "SELECT id FROM sessions WHERE account_id = '$ACCOUNT' ORDER BY created_at DESC LIMIT 1")
}

# --- Loads (one function each; add yours and name it in LOADS) --------------
LOADS=(selection me login recommendations search purchase memory)
VACANCIES="${BENCH_VACANCIES:-10000}"

load_selection() {
    say "selection: 100k and 1M applicants, quota 10%, then every applicant may win"
    "$BENCH" selection 100000 1000000 | tee "$OUT/selection-10.txt"
    "$BENCH" selection --quota-all 100000 1000000 | tee "$OUT/selection-all.txt"
    local s100k s1m a1m same
    s100k=$(kv "$(grep 'n=100000 ' "$OUT/selection-10.txt")" seconds | cut -d, -f1)
    s1m=$(kv "$(grep 'n=1000000 ' "$OUT/selection-10.txt")" seconds | cut -d, -f1)
    a1m=$(kv "$(grep 'n=1000000 ' "$OUT/selection-all.txt")" seconds | cut -d, -f1)
    same=$(cat "$OUT"/selection-*.txt | grep -c 'identical_reruns=yes' || true)
    row "selection, 1M applicants, quota 10%" "$s1m s" "-" "-" "-" "-" "≤ 10 s" "$(pass "$s1m <= 10")"
    row "selection, 1M applicants, all may win" "$a1m s" "-" "-" "-" "-" "≤ 30 s" "$(pass "$a1m <= 30")"
    local growth
    growth=$(awk "BEGIN { printf \"%.1f\", $s1m / $s100k }")
    row "selection, 1M / 100k time" "${growth}×" "$s100k s at 100k" "-" "-" "-" "≤ 11×" "$(pass "$growth <= 11")"
    row "selection, rerun with the same seed" "$same of 4 identical" "-" "-" "-" "-" "byte-identical" "$(pass "$same == 4")"
}

# The statements GET /v1/me makes, replayed by pgbench with the same ids and
# the same round trips (the server's statement log): the per-IP counter and
# the session sent at once (the gate), then the view's five reads sent at
# once, each pipeline on one connection. A colon before a letter is a pgbench
# variable even inside a literal, hence concat_ws(chr(58), …) for the bucket.
me_script() {
    cat <<SQL
\startpipeline
INSERT INTO request_counts (bucket, window_start, hits) VALUES (concat_ws(chr(58), 'ip', 'GET /v1/me', '127.0.0.1'), date_trunc('minute', now()), 1) ON CONFLICT (bucket, window_start) DO UPDATE SET hits = request_counts.hits + 1 RETURNING request_counts.hits;
SELECT s.account_id, s.ended_at, s.expires_at, a.role, a.blocked_at FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.id = '$SESSION' LIMIT 1;
\endpipeline
\startpipeline
SELECT * FROM accounts WHERE id = '$ACCOUNT' LIMIT 1;
SELECT account_id, kk_index, nik_ciphertext, kk_ciphertext, birth_date_ciphertext, full_name_ciphertext, birth_place_ciphertext, address_ciphertext, gender, province_code, regency_code FROM identities WHERE account_id = '$ACCOUNT' LIMIT 1;
SELECT EXISTS (SELECT 1 FROM identities WHERE account_id = '$ACCOUNT'), EXISTS (SELECT 1 FROM profiles WHERE account_id = '$ACCOUNT'), EXISTS (SELECT 1 FROM ktp_photos WHERE account_id = '$ACCOUNT'), EXISTS (SELECT 1 FROM face_enrollments WHERE account_id = '$ACCOUNT'), EXISTS (SELECT 1 FROM questionnaires WHERE account_id = '$ACCOUNT'), EXISTS (SELECT 1 FROM accounts WHERE id = '$ACCOUNT' AND phone_verified_at IS NOT NULL), EXISTS (SELECT 1 FROM statements WHERE account_id = '$ACCOUNT'), EXISTS (SELECT 1 FROM aptitude_submissions WHERE account_id = '$ACCOUNT');
SELECT c.id, c.batch_id, c.card_number, c.status, c.purchase_deadline, c.issued_at, c.deactivated_at, l.balance_idr FROM cards c JOIN ledger_accounts l ON l.card_id = c.id WHERE c.account_id = '$ACCOUNT' LIMIT 1;
SELECT status, reviewed_at, expired_at FROM purchases WHERE account_id = '$ACCOUNT' AND status <> 'cancelled' ORDER BY purchased_at DESC LIMIT 1;
\endpipeline
SQL
}

ME_P99_UNLOADED=""
load_me() {
    start_server
    me_script >"$OUT/me.sql"
    local statements trips tps app target_rate lat ratio
    statements=$(grep -c ';$' "$OUT/me.sql")
    # Round trips: each statement outside a pipeline, and each pipeline.
    trips=$(awk '/^\\startpipeline/ { p = 1; n++; next } /^\\endpipeline/ { p = 0; next } /;$/ && !p { n++ } END { print n }' "$OUT/me.sql")
    say "GET /v1/me: pgbench replaying its $statements statements ($trips round trips), then the app, $CONNS connections each"
    tps=$(pgbench_tps me "$CONNS" "$OUT/me.sql")
    app=$(oha_run me-max -c "$CONNS" -z "${SECONDS_PER_RUN}s" -H "Authorization: Bearer $TOKEN" "$URL/v1/me")
    # Latency at a constant rate: the target throughput (70% of the limit).
    target_rate=$(awk "BEGIN { printf \"%d\", $tps * 0.7 }")
    lat=$(oha_run me-rate -c "$CONNS" -z "${SECONDS_PER_RUN}s" -q "$target_rate" --latency-correction \
        -H "Authorization: Bearer $TOKEN" "$URL/v1/me")
    ratio=$(awk "BEGIN { printf \"%.0f\", 100 * $(kv "$app" ok_rps) / $tps }")
    # Above the app's maximum that rate only measures the queue, so the
    # latency at 70% of what the app reached stands beside it.
    local own_rate own
    own_rate=$(awk "BEGIN { printf \"%d\", $(kv "$app" ok_rps) * 0.7 }")
    own=$(oha_run me-own-rate -c "$CONNS" -z "${SECONDS_PER_RUN}s" -q "$own_rate" --latency-correction \
        -H "Authorization: Bearer $TOKEN" "$URL/v1/me")
    row "GET /v1/me ($statements statements, $trips round trips), $CONNS conns" "$(kv "$app" ok_rps) req/s" \
        "pgbench $tps tps" "$ratio%" "$(kv "$lat" p50_ms) ms ($(kv "$own" p50_ms) ms)" \
        "$(kv "$lat" p99_ms) ms ($(kv "$own" p99_ms) ms at $own_rate req/s)" \
        "≥ 70%, ≤ 2 round trips, p99 ≤ 10 ms at $target_rate req/s" \
        "$(pass "$ratio >= 70 && $trips <= 2 && $(kv "$lat" p99_ms) <= 10")"
}

load_login() {
    start_server
    local threads hashes login ratio storm_rate quiet storm me_storm
    threads=$HASH_THREADS
    say "login: raw argon2id on $threads threads, then login step 1 on the server"
    hashes=$("$BENCH" argon2 --threads "$threads" --seconds "$SECONDS_PER_RUN")
    login=$(oha_run login-max -c $((threads * 2)) -z "${SECONDS_PER_RUN}s" -m POST \
        -T application/json -Z "$OUT/login-bodies.jsonl" "$URL/v1/auth/login")
    ratio=$(awk "BEGIN { printf \"%.0f\", 100 * $(kv "$login" ok_rps) / $hashes }")
    row "login step 1, $((threads * 2)) conns" "$(kv "$login" ok_rps) req/s" \
        "argon2id $hashes hashes/s ($threads threads)" "$ratio%" "$(kv "$login" p50_ms) ms" \
        "$(kv "$login" p99_ms) ms" "≥ 90%" "$(pass "$ratio >= 90")"
    # GET /v1/me at a modest constant rate, alone and then during a 10× login storm.
    quiet=$(oha_run me-quiet -c 4 -z "${SECONDS_PER_RUN}s" -q 200 --latency-correction \
        -H "Authorization: Bearer $TOKEN" "$URL/v1/me")
    storm_rate=$(awk "BEGIN { printf \"%d\", $hashes * 10 }")
    say "login storm: $storm_rate logins/s (10× the hashing limit) with GET /v1/me at 200 req/s"
    oha_run login-storm -c 64 -z "${SECONDS_PER_RUN}s" -q "$storm_rate" --latency-correction -m POST \
        -T application/json -Z "$OUT/login-bodies.jsonl" "$URL/v1/auth/login" >/dev/null &
    local storm_pid=$!
    me_storm=$(oha_run me-storm -c 4 -z "${SECONDS_PER_RUN}s" -q 200 --latency-correction \
        -H "Authorization: Bearer $TOKEN" "$URL/v1/me")
    wait "$storm_pid"
    storm=$(cat "$OUT/login-storm.summary")
    row "login storm, $storm_rate/s offered" "$(kv "$storm" n2xx) ok, $(kv "$storm" n429) × 429, $(kv "$storm" n5xx) × 5xx" \
        "-" "-" "$(kv "$storm" p50_ms) ms" "$(kv "$storm" p99_ms) ms" "no 5xx" "$(pass "$(kv "$storm" n5xx) == 0 && $(kv "$storm" nerr) == 0")"
    ratio=$(awk "BEGIN { printf \"%.1f\", $(kv "$me_storm" p99_ms) / $(kv "$quiet" p99_ms) }")
    row "GET /v1/me p99 during the storm, 200 req/s" "$(kv "$me_storm" p99_ms) ms" \
        "$(kv "$quiet" p99_ms) ms unloaded" "${ratio}×" "$(kv "$me_storm" p50_ms) ms" "$(kv "$me_storm" p99_ms) ms" \
        "≤ 3× unloaded" "$(pass "$ratio <= 3")"
}

# GET /v1/me/job-recommendations over $VACANCIES vacancies: its one statement
# replayed by pgbench with the same account and date, then the app.
load_recommendations() {
    start_server
    say "recommendations: seeding $VACANCIES vacancies"
    "$BENCH" seed-vacancies --database "$SERVER_DB" --vacancies "$VACANCIES" --account "$ACCOUNT" --out "$OUT"
    local items tps app target_rate lat ratio quiet
    items=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$URL/v1/me/job-recommendations" | grep -o '"score"' | wc -l)
    [ "$items" -gt 0 ] || { say "no recommendations for the bench participant"; exit 1; }
    say "GET /v1/me/job-recommendations ($items items): pgbench replaying its statement, then the app, $CONNS connections each"
    tps=$(pgbench_tps recommendations "$CONNS" "$OUT/recommendations.sql")
    app=$(oha_run recommendations-max -c "$CONNS" -z "${SECONDS_PER_RUN}s" -H "Authorization: Bearer $TOKEN" \
        "$URL/v1/me/job-recommendations")
    # Latency at a constant rate the app sustains: 70% of its own closed-loop
    # maximum (70% of pgbench's would overload it: the app shares the cores).
    target_rate=$(awk "BEGIN { r = int($(kv "$app" ok_rps) * 0.7); print (r < 1 ? 1 : r) }")
    lat=$(oha_run recommendations-rate -c "$CONNS" -z "${SECONDS_PER_RUN}s" -q "$target_rate" --latency-correction \
        -H "Authorization: Bearer $TOKEN" "$URL/v1/me/job-recommendations")
    # And one dashboard at a time: 10 req/s, the cost of a single request.
    quiet=$(oha_run recommendations-quiet -c 2 -z "${SECONDS_PER_RUN}s" -q 10 --latency-correction \
        -H "Authorization: Bearer $TOKEN" "$URL/v1/me/job-recommendations")
    ratio=$(awk "BEGIN { printf \"%.0f\", 100 * $(kv "$app" ok_rps) / $tps }")
    row "GET /v1/me/job-recommendations, $VACANCIES vacancies, $CONNS conns" "$(kv "$app" ok_rps) req/s" \
        "pgbench $tps tps" "$ratio%" "$(kv "$lat" p50_ms) ms" "$(kv "$lat" p99_ms) ms" \
        "≥ 60%, p99 ≤ 100 ms at $target_rate req/s" \
        "$(pass "$ratio >= 60 && $(kv "$lat" p99_ms) <= 100")"
    row "GET /v1/me/job-recommendations at 10 req/s" "$(kv "$quiet" n2xx) ok" "-" "-" \
        "$(kv "$quiet" p50_ms) ms" "$(kv "$quiet" p99_ms) ms" "p99 ≤ 50 ms" "$(pass "$(kv "$quiet" p99_ms) <= 50")"
}

# Partner platforms (with their secrets in $OUT/partners.tsv) and the courses.
MARKET=""
ensure_market() {
    [ -n "$MARKET" ] && return
    start_server
    say "seeding $PARTNERS partners and $COURSES courses into $SERVER_DB"
    "$BENCH" seed-market --database "$SERVER_DB" --partners "$PARTNERS" --courses "$COURSES" --out "$OUT"
    MARKET=1
}

# Keywords of the search load: common and rare words, two-word queries, a
# place, and a typo that only the trigram match finds ("pemograman").
SEARCH_WORDS=("pemasaran digital" "excel" "kopi" "bahasa inggris" "desain" "pemrograman python"
    "keuangan" "menjahit" "pemograman" "lele" "bandung" "umkm")

load_search() {
    ensure_market
    "$BENCH" search-script >"$OUT/search.sql"
    # One pgbench script per keyword, equal weights: the handler's statement
    # with that keyword's parameters, as the handler derives them from q.
    local args=() i vars tsq phrase
    : >"$OUT/search-urls.txt"
    for i in "${!SEARCH_WORDS[@]}"; do
        vars=$("$BENCH" search-vars "${SEARCH_WORDS[$i]}")
        tsq=$(sed -n 's/^tsq=//p' <<<"$vars")
        phrase=$(sed -n 's/^phrase=//p' <<<"$vars")
        sed "s/:tsq/:tsq$i/g; s/:phrase/:phrase$i/g" "$OUT/search.sql" >"$OUT/search-$i.sql"
        args+=(-f "$OUT/search-$i.sql@1" -D "tsq$i=$tsq" -D "phrase$i=$phrase")
        echo "$URL/v1/courses?q=${SEARCH_WORDS[$i]// /+}" >>"$OUT/search-urls.txt"
    done
    say "GET /v1/courses?q=…: pgbench replaying its statement, then the app, $CONNS connections, ${#SEARCH_WORDS[@]} keywords"
    local tps app rate lat ratio load
    tps=$(pgbench_run search "$CONNS" "${args[@]}")
    load=$(load_avg)
    app=$(oha_run search-max -c "$CONNS" -z "${SECONDS_PER_RUN}s" --urls-from-file "$OUT/search-urls.txt")
    rate=$(awk "BEGIN { printf \"%d\", $(kv "$app" ok_rps) * 0.7 }")
    lat=$(oha_run search-rate -c "$CONNS" -z "${SECONDS_PER_RUN}s" -q "$rate" --latency-correction \
        --urls-from-file "$OUT/search-urls.txt")
    ratio=$(awk "BEGIN { printf \"%.0f\", 100 * $(kv "$app" ok_rps) / $tps }")
    row "GET /v1/courses?q= at $COURSES courses, $CONNS conns (load $load)" "$(kv "$app" ok_rps) req/s" \
        "pgbench $tps tps" "$ratio%" "$(kv "$lat" p50_ms) ms" "$(kv "$lat" p99_ms) ms at $rate req/s" \
        "≥ 60%, no errors" "$(pass "$ratio >= 60 && $(kv "$app" n5xx) == 0 && $(kv "$app" n2xx) == $(kv "$app" n)")"
}

# plan_purchases COUNT PARTNERS: the next COUNT cards, each with a course of
# one of the first PARTNERS platforms and an open purchase code; sets PLAN_FROM.
NEXT_CARD=0
plan_purchases() {
    PLAN_FROM=$NEXT_CARD
    NEXT_CARD=$((NEXT_CARD + $1))
    "$BENCH" purchase-plan --database "$SERVER_DB" --from "$PLAN_FROM" --count "$1" --partners "$2"
}

# purchase_pair PARTNERS: pgbench replaying the purchase's statements, then
# the app, both on fresh cards; sets TPS and APP.
purchase_pair() {
    local partners=$1
    plan_purchases "$PURCHASE_CARDS" "$partners"
    # Client c's n-th transaction buys planned purchase FROM + c + CONNS × (n - 1).
    TPS=$(pgbench_run "purchase-$partners" "$CONNS" -f bench/purchase.sql \
        -D "from=$PLAN_FROM" -D "clients=$CONNS" -D n=0)
    plan_purchases "$PURCHASE_CARDS" "$partners"
    LOAD=$(load_avg)
    APP=$("$BENCH" purchase --url "$URL" --database "$SERVER_DB" --partners "$OUT/partners.tsv" \
        --from "$PLAN_FROM" --count "$PURCHASE_CARDS" --workers "$CONNS" --seconds "$SECONDS_PER_RUN" \
        | tee "$OUT/purchase-$partners.summary")
}

load_purchase() {
    ensure_market
    say "POST /v1/partner/purchases: pgbench replaying its statements, then the app, $CONNS workers, at $PARTNERS partners and at 1"
    local tps16 app16 load16 ratio16 ratio1 rate lat
    purchase_pair "$PARTNERS"
    tps16=$TPS app16=$APP load16=$LOAD
    # Latency at a constant rate the app carries: 70% of its own maximum.
    rate=$(awk "BEGIN { printf \"%d\", $(kv "$app16" ok_rps) * 0.7 }")
    plan_purchases "$PURCHASE_CARDS" "$PARTNERS"
    lat=$("$BENCH" purchase --url "$URL" --database "$SERVER_DB" --partners "$OUT/partners.tsv" \
        --from "$PLAN_FROM" --count "$PURCHASE_CARDS" --workers "$CONNS" --seconds "$SECONDS_PER_RUN" \
        --rate "$rate" | tee "$OUT/purchase-rate.summary")
    ratio16=$(awk "BEGIN { printf \"%.0f\", 100 * $(kv "$app16" ok_rps) / $tps16 }")
    row "purchase, $PARTNERS partners, $CONNS conns (load $load16)" "$(kv "$app16" ok_rps) req/s" \
        "pgbench $tps16 tps" "$ratio16%" "$(kv "$lat" p50_ms) ms" "$(kv "$lat" p99_ms) ms at $rate req/s" \
        "≥ 70%, every purchase 201" \
        "$(pass "$ratio16 >= 70 && $(kv "$app16" n201) == $(kv "$app16" n) && $(kv "$lat" n201) == $(kv "$lat" n)")"
    purchase_pair 1
    ratio1=$(awk "BEGIN { printf \"%.0f\", 100 * $(kv "$APP" ok_rps) / $TPS }")
    local vs
    vs=$(awk "BEGIN { printf \"%.0f\", 100 * $(kv "$APP" ok_rps) / $(kv "$app16" ok_rps) }")
    row "purchase, 1 partner, $CONNS conns (load $LOAD)" "$(kv "$APP" ok_rps) req/s ($vs% of $PARTNERS partners)" \
        "pgbench $TPS tps" "$ratio1%" "$(kv "$APP" p50_ms) ms" "$(kv "$APP" p99_ms) ms closed loop" \
        "≥ 70%, ≥ 80% of $PARTNERS partners" \
        "$(pass "$ratio1 >= 70 && $vs >= 80 && $(kv "$APP" n201) == $(kv "$APP" n)")"
}

load_memory() {
    start_server
    local after idle
    after=$("$BENCH" rss --pid "$SERVER_PID")
    idle=$("$BENCH" idle --addr "127.0.0.1:$PORT" --connections 1000 --pid "$SERVER_PID")
    row "server RSS after the loads" "$after MiB" "-" "-" "-" "-" "< 100 MiB" "$(pass "$after < 100")"
    row "server RSS, 1,000 idle keep-alive conns" "$idle MiB" "-" "-" "-" "-" "< 100 MiB" "$(pass "$idle < 100")"
}

# --- Main -------------------------------------------------------------------
selected=("$@")
[ ${#selected[@]} -eq 0 ] && selected=(all)
[ "${selected[0]}" = all ] && selected=("${LOADS[@]}")
say "building (release)"
cargo build --quiet --release --locked -p prakerja-api -p prakerja-bench
ensure_tools
server=$(psql "$DATABASE_URL" -XAtc "SELECT current_setting('server_version') || ', shared_buffers ' || current_setting('shared_buffers') || ', work_mem ' || current_setting('work_mem')" 2>/dev/null || echo "unknown server")
machine="$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), PostgreSQL $server"
load_before=$(load_avg)
for load in "${selected[@]}"; do
    "load_$load"
done
{
    echo "bench/run.sh ${*:-all}, $(date -u '+%Y-%m-%d %H:%M UTC'); $machine"
    echo "load average at start $load_before, at end $(load_avg) (the machine is shared: compare ratios)"
    echo
    echo "| load | figure | physical limit (same run) | ratio | p50 | p99 | target | |"
    echo "|---|---:|---:|---:|---:|---:|---|---|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$RESULTS"
} | tee "$OUT/table.md"
say "raw outputs in $OUT"
