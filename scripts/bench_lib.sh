# Shared by scripts/bench and scripts/scale, sourced (not run): messages, the tools they need
# (installed from Debian's packages when missing, as .ci/run does), a PostgreSQL that trusts
# the postgres user on loopback, and starting and stopping the release server.
# The sourcing script sets NAME (its name in messages), PG_URL, BIN and ADDR first.

log() { printf '[%s] %s\n' "$NAME" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$NAME" "$*" >&2; exit 1; }
min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }
# CPU time (user + system) a process has used so far, in clock ticks (/proc/PID/stat fields 14-15;
# the command name in field 2 has no spaces here).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)
# "steal total": the machine's CPU time stolen by the host, and all its CPU time, so far (ticks).
cpu_times() { awk '/^cpu / { printf "%.0f %.0f\n", $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
# A seed of its own for every wrk run (milliseconds since the epoch, modulo 10^9): a run that
# replayed an earlier run's random patches on the same data would find every value already
# stored, and its patches would write nothing (the warm-up's seed used to be the first
# measured run's, and scripts/scale's with/without runs shared theirs).
run_seed() { echo $(( $(date +%s%3N) % 1000000000 )); }
# A free TCP port on loopback.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

apt_updated=0
apt_install() {
    command -v apt-get >/dev/null || die "missing $*, and no apt-get to install it"
    if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
    log "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# PostgreSQL (server, client, pgbench), wrk, curl, python3; cargo must be there already.
ensure_tools() {
    if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        apt_install postgresql postgresql-client
    fi
    # /usr/bin/pgbench is a wrapper that exists without the real binary (postgresql-NN on Debian).
    pgbench --version >/dev/null 2>&1 || apt_install postgresql-contrib postgresql-client
    command -v wrk >/dev/null || apt_install wrk
    command -v curl >/dev/null || apt_install curl
    command -v python3 >/dev/null || apt_install python3
    command -v cargo >/dev/null || die "cargo is needed to build the server"
}

psql() { command psql -X -q -v ON_ERROR_STOP=1 -w "$@"; }

# Starts the local cluster when PG_URL's server is down, and lets user postgres in on loopback
# without a password; sets PGH and PGP.
ensure_postgres() {
    local hostport=${PG_URL#*://} version hba
    hostport=${hostport#*@}
    PGH=${hostport%%:*}; PGP=${hostport##*:}; [ "$PGP" != "$hostport" ] || PGP=5432
    if ! pg_isready -q -h "$PGH" -p "$PGP"; then
        log "starting PostgreSQL"
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        for _ in $(seq 1 30); do pg_isready -q -h "$PGH" -p "$PGP" && break; sleep 1; done
    fi
    pg_isready -q -h "$PGH" -p "$PGP" || die "PostgreSQL is not accepting connections on $PGH:$PGP"
    if ! psql "$PG_URL/postgres" -c 'SELECT 1' >/dev/null 2>&1; then
        log "allowing trusted loopback connections for user postgres"
        hba=$(su postgres -c "psql -tA -c 'SHOW hba_file'")
        sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
        su postgres -c "psql -q -c 'SELECT pg_reload_conf()'"
    fi
}

SERVER_PID=
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}

STARTUP_US=
start_server() { # start_server LOG: starts the server, waits for "listening on"; sets STARTUP_US
    local logf=$1 t0 t1 line
    : >"$logf"
    t0=$(date +%s%N)
    "$BIN" serve --listen "$ADDR" >"$logf" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 600); do
        grep -q 'listening on' "$logf" && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$logf" >&2; die "the server exited at start"; }
        sleep 0.05
    done
    line=$(grep -m 1 'listening on' "$logf") || die "the server did not start in 30 s"
    # The log line's own timestamp gives the time to microseconds, whatever the polling interval.
    t1=$(date -d "$(printf '%s' "$line" | sed 's/\x1b\[[0-9;]*m//g' | awk '{print $1}')" +%s%N 2>/dev/null) \
        || t1=$(date +%s%N)
    STARTUP_US=$(( (t1 - t0) / 1000 ))
}

# feed on|off: the triggers that log session changes for the live feed (migration 0008). Off,
# a write to sessions logs and announces nothing: what the table costs without the feed.
feed() {
    local verb=ENABLE; [ "$1" = on ] || verb=DISABLE
    # A build from before the feed has no such triggers.
    [ "$(psql "$DB_URL" -tAc "SELECT count(*) FROM pg_trigger WHERE tgname = 'sessions_log_updated'")" = 1 ] \
        || return 0
    psql "$DB_URL" -c "ALTER TABLE sessions $verb TRIGGER sessions_log_inserted,
        $verb TRIGGER sessions_log_updated, $verb TRIGGER sessions_log_deleted" >/dev/null
}
