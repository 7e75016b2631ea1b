#!/usr/bin/env bash
# Private PostgreSQL cluster for the e2e tests.
#   pg.sh start   initdb (first time) + start on 127.0.0.1:$E2E_PG_PORT, create the database
#   pg.sh stop    stop it (fast, then immediate, then SIGKILL), never leaving a process behind
#   pg.sh status
# The data directory lives in $E2E_RUN_DIR/pg; no system service is used.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

BIN="$(e2e_pg_bindir)" || e2e_die "PostgreSQL not installed: run scripts/install-deps.sh"

pg_running() {
	[ -f "$E2E_PG_DATA/postmaster.pid" ] && e2e_as_pg "$BIN/pg_ctl" -D "$E2E_PG_DATA" status >/dev/null 2>&1
}

start() {
	if [ "$(id -u)" = 0 ]; then
		id "$E2E_PG_USER" >/dev/null 2>&1 || e2e_die "user $E2E_PG_USER missing: run scripts/install-deps.sh"
	fi
	mkdir -p "$E2E_RUN_DIR"
	chmod 755 "$E2E_RUN_DIR"
	if pg_running; then
		e2e_log "PostgreSQL already running (data $E2E_PG_DATA)"
		return 0
	fi
	if e2e_port_busy "$E2E_PG_PORT"; then
		e2e_die "port $E2E_HOST:$E2E_PG_PORT is taken by another process; set E2E_PG_PORT"
	fi
	mkdir -p "$E2E_PG_DIR"
	[ "$(id -u)" = 0 ] && chown "$E2E_PG_USER" "$E2E_PG_DIR"
	if [ ! -s "$E2E_PG_DATA/PG_VERSION" ]; then
		rm -rf "$E2E_PG_DATA"
		e2e_log "initdb $E2E_PG_DATA"
		e2e_as_pg "$BIN/initdb" -D "$E2E_PG_DATA" -U postgres --auth=trust \
			--encoding=UTF8 --locale=C.UTF-8 --no-instructions >"$E2E_PG_DIR/initdb.log" 2>&1 ||
			{ cat "$E2E_PG_DIR/initdb.log" >&2; e2e_die "initdb failed"; }
		cat >>"$E2E_PG_DATA/postgresql.conf" <<EOF
# --- mmpx e2e ---
listen_addresses = '$E2E_HOST'
port = $E2E_PG_PORT
unix_socket_directories = ''
max_connections = 200
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
EOF
	fi
	e2e_log "starting PostgreSQL on $E2E_HOST:$E2E_PG_PORT"
	# pg_ctl daemonizes the postmaster in its own session.
	if ! e2e_as_pg "$BIN/pg_ctl" -D "$E2E_PG_DATA" -l "$E2E_PG_LOG" -w -t 60 start >/dev/null; then
		tail -n 30 "$E2E_PG_LOG" >&2 || true
		e2e_die "PostgreSQL did not start"
	fi
	if ! "$BIN/psql" -h "$E2E_HOST" -p "$E2E_PG_PORT" -U postgres -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = '$E2E_PG_DB'" | grep -q 1; then
		"$BIN/createdb" -h "$E2E_HOST" -p "$E2E_PG_PORT" -U postgres "$E2E_PG_DB"
	fi
	e2e_log "PostgreSQL ready: postgres://postgres@$E2E_HOST:$E2E_PG_PORT/$E2E_PG_DB"
}

stop() {
	[ -d "$E2E_PG_DATA" ] || return 0
	if pg_running; then
		e2e_log "stopping PostgreSQL"
		e2e_as_pg "$BIN/pg_ctl" -D "$E2E_PG_DATA" -m fast -w -t 20 stop >/dev/null 2>&1 ||
			e2e_as_pg "$BIN/pg_ctl" -D "$E2E_PG_DATA" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
	fi
	# Last resort: the postmaster recorded in postmaster.pid and its children.
	if [ -f "$E2E_PG_DATA/postmaster.pid" ]; then
		local pid
		pid="$(head -n1 "$E2E_PG_DATA/postmaster.pid")"
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
			grep -q postgres "/proc/$pid/comm" 2>/dev/null; then
			e2e_log "killing PostgreSQL postmaster $pid"
			pkill -KILL -P "$pid" 2>/dev/null || true
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$E2E_PG_DATA/postmaster.pid"
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) if pg_running; then echo running; else echo stopped; exit 3; fi ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
