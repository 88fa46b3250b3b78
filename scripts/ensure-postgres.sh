#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers at $DATABASE_URL and that the database it
# names exists. Idempotent, and silent when there is nothing to do.
#
#   DATABASE_URL   default postgres://postgres@127.0.0.1:5432/prakerja
#
# - A server already answers: it is used as it is (postgresql-client is installed
#   first if psql/pg_isready are missing).
# - Nothing answers and the URL points at this machine: on Debian, as root (or
#   through sudo), Debian's postgresql package is installed, its cluster started
#   and local TCP connections trusted, then the database is created.
# - Nothing answers at another host: an error; this script never installs a
#   server for somebody else's machine.
#
# ENSURE_POSTGRES_DRY_RUN=1 prints the install/start commands instead of running
# them (to see what a fresh machine would do without touching this one).
set -euo pipefail

url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/prakerja}
dry_run=${ENSURE_POSTGRES_DRY_RUN:-}

say() { echo "ensure-postgres: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

# --- Pieces of the URL: postgres://[user[:password]@]host[:port][/dbname][?params]
case $url in
postgres://* | postgresql://*) ;;
*) die "DATABASE_URL must be a postgres:// URL" ;;
esac
scheme=${url%%://*}
rest=${url#*://}
params=""
if [[ $rest == *\?* ]]; then
    params="?${rest#*\?}"
    rest=${rest%%\?*}
fi
authority=${rest%%/*}
dbname=""
[[ $rest == */* ]] && dbname=${rest#*/}
userinfo=""
hostport=$authority
if [[ $authority == *@* ]]; then
    userinfo=${authority%@*}
    hostport=${authority##*@}
fi
user=${userinfo%%:*}
if [[ $hostport == \[* ]]; then # [::1]:5432
    host=${hostport%%]*}
    host=${host#[}
    port=${hostport#*]}
    port=${port#:}
else
    host=${hostport%%:*}
    port=""
    [[ $hostport == *:* ]] && port=${hostport#*:}
fi
port=${port:-5432}
dbname=${dbname:-${user:-postgres}} # libpq's default: the user name
# Database names with %-escapes are not decoded here; keep them plain.
# The maintenance database, for checking and creating the target one.
admin_url="$scheme://$authority/postgres$params"

is_local() {
    case $1 in
    "" | localhost | 127.0.0.1 | ::1 | /*) return 0 ;; # "" or a path: the Unix socket
    *) return 1 ;;
    esac
}

# Runs a command that changes the machine, as root (or through sudo), or only
# prints it in dry-run mode. Output is kept out of sight unless it fails.
privileged() {
    if [ -n "$dry_run" ]; then
        echo "would run: $*"
        return 0
    fi
    local prefix=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "installing PostgreSQL needs root (or sudo): $*"
        prefix=(sudo)
    fi
    local log
    log=$(mktemp)
    if ! "${prefix[@]}" env DEBIAN_FRONTEND=noninteractive "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "failed: $*"
    fi
    rm -f "$log"
}

have_client() { command -v psql >/dev/null 2>&1 && command -v pg_isready >/dev/null 2>&1; }

# 0: accepting connections, 1: up but not accepting yet (starting), 2: no answer.
server_state() {
    local rc=0
    pg_isready -q -t 3 -d "$admin_url" || rc=$?
    echo "$rc"
}

# A plain TCP probe, for when pg_isready is not installed yet.
port_answers() {
    local h=${host:-127.0.0.1}
    [[ $h == /* ]] && h=127.0.0.1
    timeout 3 bash -c "exec 3<>/dev/tcp/$h/$port" 2>/dev/null
}

wait_until_ready() {
    for _ in $(seq 1 30); do
        [ "$(server_state)" = 0 ] && return 0
        sleep 1
    done
    return 1
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        die "no PostgreSQL answers at $host:$port and this is not a Debian-like system (no apt-get): install PostgreSQL and run this again"
    say "installing $* with apt-get (first run only)"
    privileged apt-get update -q
    privileged apt-get install -y -q --no-install-recommends "$@"
}

# The newest PostgreSQL version installed by Debian's packages.
# shellcheck disable=SC2012 # version directories are plain numbers
pg_version() {
    local v
    v=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)
    [ -n "$v" ] || v=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)
    echo "$v"
}

# Installs (if needed) and starts the local cluster of Debian's postgresql package.
start_local_server() {
    is_local "$host" ||
        die "no PostgreSQL answers at $host:$port; start it there, or point DATABASE_URL at a server that runs"
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(pg_version)" ]; then
        apt_install postgresql
    fi
    local version
    version=$(pg_version)
    if [ -z "$version" ]; then
        [ -n "$dry_run" ] || die "the postgresql package installed no server version under /usr/lib/postgresql"
        version="<version>" # known only after the install
    fi
    local conf_dir="/etc/postgresql/$version/main"
    if [ -z "$dry_run" ] && [ ! -f "$conf_dir/postgresql.conf" ]; then
        say "creating cluster $version/main"
        privileged pg_createcluster --port "$port" "$version" main
    fi
    if [ -f "$conf_dir/postgresql.conf" ]; then
        local cluster_port
        cluster_port=$(sed -nE 's/^[[:space:]]*port[[:space:]]*=[[:space:]]*([0-9]+).*/\1/p' "$conf_dir/postgresql.conf" | tail -n 1)
        if [ -n "$cluster_port" ] && [ "$cluster_port" != "$port" ]; then
            die "the local cluster $version/main listens on port $cluster_port, but DATABASE_URL asks for $port; use port $cluster_port in DATABASE_URL"
        fi
    fi
    # Trust TCP connections from this machine, so user postgres needs no password.
    # This is for a local development or CI box only: never do this on a server
    # that holds real data or accepts connections from other machines.
    local hba="$conf_dir/pg_hba.conf" marker="# prakerja-api: trust local TCP (dev/CI box only)"
    if [ -n "$dry_run" ] || ! grep -qF "$marker" "$hba" 2>/dev/null; then
        privileged sed -i "1i $marker\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust" "$hba"
    fi
    # pg_lsclusters shows "online" in its status column while the cluster runs.
    if [ -z "$dry_run" ] && pg_lsclusters --no-header 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
        privileged pg_ctlcluster "$version" main reload
    else
        say "starting PostgreSQL $version"
        privileged pg_ctlcluster --skip-systemctl-redirect "$version" main start
    fi
    if [ -n "$dry_run" ]; then
        echo "would wait for $host:$port to accept connections, then create database \"$dbname\" if missing"
        exit 0
    fi
    wait_until_ready || die "PostgreSQL $version was started but does not accept connections at $host:$port"
}

# --- 1. A server that answers.
if have_client; then
    case $(server_state) in
    0) ;;
    1) wait_until_ready || die "PostgreSQL at $host:$port answers but does not accept connections" ;;
    2) start_local_server ;;
    *) die "pg_isready cannot use DATABASE_URL (is it a valid libpq URL?)" ;;
    esac
elif port_answers; then
    # Something listens, but psql/pg_isready are missing: get the client only.
    apt_install postgresql-client
    [ -n "$dry_run" ] && exit 0
    have_client || die "postgresql-client did not provide psql and pg_isready"
    wait_until_ready || die "the server at $host:$port does not accept PostgreSQL connections"
else
    start_local_server
fi

# --- 2. The database named in the URL.
[ "$dbname" = postgres ] && exit 0
psql_admin() { psql "$admin_url" -X -q -v ON_ERROR_STOP=1 -tA "$@"; }
literal=${dbname//\'/\'\'}
identifier=${dbname//\"/\"\"}
exists() { [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$literal'")" = 1 ]; }
if ! err=$(exists 2>&1); then
    [ -z "$err" ] || die "cannot query the server as given in DATABASE_URL: $err"
    # Another process may create it at the same moment: only a failure that
    # leaves the database missing is an error.
    if ! err=$(psql_admin -c "CREATE DATABASE \"$identifier\"" 2>&1) && ! exists 2>/dev/null; then
        die "could not create database \"$dbname\": $err"
    fi
fi
