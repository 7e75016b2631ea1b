#!/usr/bin/env bash
# The real Mattermost server for the e2e tests.
#   mm.sh start    build if needed, write the config (first time), start on
#                  $E2E_SITE_URL, wait until /api/v4/system/ping answers 200
#   mm.sh stop     SIGTERM the server's process group (plugins included),
#                  SIGKILL after 30 s; no process and no port left behind
#   mm.sh status
# PostgreSQL must be running (pg.sh start).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

START_TIMEOUT="${E2E_MM_START_TIMEOUT:-180}"

mm_pid() {
	local pid
	pid="$(cat "$E2E_MM_PIDFILE" 2>/dev/null)" || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	echo "$pid"
}

write_config() {
	# Settings a test may change through PUT /api/v4/config live here, in a
	# writable file; the environment only pins what no test should change
	# (database, addresses, directories, telemetry). Missing settings take
	# Mattermost's defaults, which the server writes back on start.
	cat >"$E2E_MM_CONFIG" <<EOF
{
  "ServiceSettings": {
    "EnableBotAccountCreation": true,
    "EnableUserAccessTokens": true,
    "EnableLocalMode": true,
    "LocalModeSocketLocation": "$E2E_MM_DIR/mattermost_local.socket",
    "EnableSecurityFixAlert": false,
    "EnableDeveloper": false,
    "EnableTesting": false,
    "SessionLengthWebInHours": 720,
    "EnableAPIChannelDeletion": true,
    "EnableAPIUserDeletion": true,
    "EnableAPITeamDeletion": true
  },
  "TeamSettings": {
    "EnableOpenServer": true,
    "MaxUsersPerTeam": 1000,
    "MaxChannelsPerTeam": 10000
  },
  "PasswordSettings": { "MinimumLength": 8 },
  "EmailSettings": {
    "SendEmailNotifications": false,
    "RequireEmailVerification": false,
    "EnableSignUpWithEmail": true,
    "EnableSignInWithEmail": true,
    "EnableSignInWithUsername": true,
    "EnablePreviewModeBanner": false
  },
  "RateLimitSettings": { "Enable": false },
  "PluginSettings": {
    "Enable": true,
    "EnableUploads": true,
    "EnableHealthCheck": true,
    "Directory": "$E2E_MM_DIR/plugins",
    "ClientDirectory": "$E2E_MM_DIR/client-plugins",
    "AutomaticPrepackagedPlugins": false,
    "EnableMarketplace": false,
    "EnableRemoteMarketplace": false,
    "RequirePluginSignature": false
  },
  "JobSettings": { "RunJobs": false, "RunScheduler": false },
  "AnnouncementSettings": { "AdminNoticesEnabled": false, "UserNoticesEnabled": false },
  "LogSettings": {
    "EnableConsole": true,
    "ConsoleLevel": "${E2E_MM_LOG_LEVEL:-INFO}",
    "ConsoleJson": false,
    "EnableFile": true,
    "FileLevel": "DEBUG",
    "FileJson": true
  }
}
EOF
}

start() {
	if pid="$(mm_pid)"; then
		e2e_log "Mattermost already running (pid $pid) at $E2E_SITE_URL"
		return 0
	fi
	"$E2E_SCRIPTS/pg.sh" status >/dev/null || e2e_die "PostgreSQL is not running: scripts/pg.sh start"
	if e2e_port_busy "$E2E_MM_PORT"; then
		e2e_die "port $E2E_HOST:$E2E_MM_PORT is taken by another process; set E2E_MM_PORT"
	fi
	local install
	install="$("$E2E_SCRIPTS/build-mattermost.sh")"
	mkdir -p "$E2E_MM_DIR"/{data,plugins,client-plugins,logs}
	[ -f "$E2E_MM_CONFIG" ] || write_config
	rm -f "$E2E_MM_DIR/mattermost_local.socket"

	e2e_log "starting Mattermost $(sed -n 's/^mattermost_version=//p' "$install/VERSION") on $E2E_SITE_URL (log $E2E_MM_LOG)"
	local t0=$SECONDS
	# setsid: the server leads its own process group, which its plugin
	# processes join, so stop can signal all of them at once.
	(
		cd "$install"
		export MM_SQLSETTINGS_DRIVERNAME=postgres
		export MM_SQLSETTINGS_DATASOURCE="postgres://postgres@$E2E_HOST:$E2E_PG_PORT/$E2E_PG_DB?sslmode=disable&connect_timeout=10"
		export MM_SERVICESETTINGS_SITEURL="$E2E_SITE_URL"
		export MM_SERVICESETTINGS_LISTENADDRESS="$E2E_HOST:$E2E_MM_PORT"
		export MM_FILESETTINGS_DRIVERNAME=local
		export MM_FILESETTINGS_DIRECTORY="$E2E_MM_DIR/data/"
		export MM_LOGSETTINGS_FILELOCATION="$E2E_MM_DIR/logs"
		export MM_NOTIFICATIONLOGSETTINGS_FILELOCATION="$E2E_MM_DIR/logs"
		export MM_LOGSETTINGS_ENABLEDIAGNOSTICS=false
		export MM_SERVICESETTINGS_ENABLESECURITYFIXALERT=false
		exec setsid "$install/bin/mattermost" server --config "$E2E_MM_CONFIG" \
			</dev/null >>"$E2E_MM_LOG" 2>&1
	) &
	echo $! >"$E2E_MM_PIDFILE"
	local pid=$!

	local deadline=$((SECONDS + START_TIMEOUT))
	until curl -fsS -o /dev/null --max-time 2 "$E2E_SITE_URL/api/v4/system/ping" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			e2e_log "Mattermost exited during start-up; last lines of $E2E_MM_LOG:"
			tail -n 40 "$E2E_MM_LOG" >&2
			rm -f "$E2E_MM_PIDFILE"
			exit 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			e2e_log "Mattermost not ready after ${START_TIMEOUT}s; last lines of $E2E_MM_LOG:"
			tail -n 40 "$E2E_MM_LOG" >&2
			stop
			exit 1
		fi
		sleep 0.5
	done
	e2e_log "Mattermost ready at $E2E_SITE_URL in $((SECONDS - t0))s (pid $pid)"
}

# Plugin processes are started by the server from its plugin directory; kill
# any that outlived it (by pid, found through their executable's path).
kill_plugin_leftovers() {
	local p exe
	for p in /proc/[0-9]*; do
		exe="$(readlink "$p/exe" 2>/dev/null)" || continue
		case "$exe" in
		"$E2E_MM_DIR"/plugins/*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;;
		esac
	done
}

stop() {
	local pid
	if pid="$(mm_pid)"; then
		e2e_log "stopping Mattermost (pid $pid)"
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		local i
		for ((i = 0; i < 300; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			e2e_log "Mattermost did not stop in 30s: SIGKILL"
		fi
	fi
	if [ -n "${pid:-}" ]; then
		# Whatever is left of its process group.
		kill -KILL -- "-$pid" 2>/dev/null || true
	fi
	kill_plugin_leftovers
	rm -f "$E2E_MM_PIDFILE" "$E2E_MM_DIR/mattermost_local.socket"
	local i
	for ((i = 0; i < 50; i++)); do
		e2e_port_busy "$E2E_MM_PORT" || return 0
		sleep 0.1
	done
	e2e_log "warning: port $E2E_MM_PORT still busy after stop"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) if pid="$(mm_pid)"; then echo "running (pid $pid)"; else echo stopped; exit 3; fi ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
