#!/usr/bin/env bash
# Stops the e2e environment: Mattermost (and its plugin processes), then
# PostgreSQL, then the reaper. Safe to run any number of times.
#   down.sh [--quiet]
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

"$E2E_SCRIPTS/mm.sh" stop
"$E2E_SCRIPTS/pg.sh" stop

if [ -f "$E2E_REAPER_PIDFILE" ]; then
	pid="$(cat "$E2E_REAPER_PIDFILE")"
	# Not when the reaper itself is the caller.
	if [ -n "$pid" ] && [ "$pid" != "${E2E_REAPER_SELF:-}" ] &&
		grep -q reaper "/proc/$pid/cmdline" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
	fi
	rm -f "$E2E_REAPER_PIDFILE"
fi
[ "${1:-}" = "--quiet" ] || e2e_log "e2e environment stopped"
exit 0
