#!/usr/bin/env bash
# Starts the whole e2e environment: PostgreSQL + a real Mattermost server on
# loopback. Fresh state each time (the run dir is wiped) unless
# E2E_KEEP_STATE=1. On failure everything started is stopped again.
#   up.sh [--watch PID]   with --watch, a detached reaper runs down.sh as soon
#                         as process PID is gone (test binary killed, timeout…)
# SIGINT/SIGTERM/SIGHUP during start-up stop whatever was started.
# Bootstrapping users/bots is done by the Go harness (or cmd/e2eenv).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

watch=""
if [ "${1:-}" = "--watch" ]; then
	watch="${2:?--watch needs a pid}"
fi

"$E2E_SCRIPTS/install-deps.sh"
"$E2E_SCRIPTS/build-mattermost.sh" >/dev/null

# Leftovers of an interrupted run.
"$E2E_SCRIPTS/down.sh" --quiet
if [ "${E2E_KEEP_STATE:-0}" != 1 ] && [ -e "$E2E_RUN_DIR" ]; then
	# Only ever wipe a directory this script made.
	[ -f "$E2E_RUN_DIR/.mmpx-e2e-run" ] ||
		e2e_die "$E2E_RUN_DIR exists and is not an e2e run dir; remove it or set E2E_RUN_DIR"
	rm -rf "$E2E_RUN_DIR"
fi
mkdir -p "$E2E_RUN_DIR"
touch "$E2E_RUN_DIR/.mmpx-e2e-run"

cleanup() { "$E2E_SCRIPTS/down.sh" --quiet; }
trap 'cleanup; exit 1' ERR
trap 'cleanup; exit 130' INT TERM HUP
if [ -n "$watch" ]; then
	# The reaper also waits for this script to finish before tearing down,
	# so that nothing it starts can outlive the teardown.
	setsid "$E2E_SCRIPTS/reaper.sh" "$watch" $$ </dev/null >>"$E2E_RUN_DIR/reaper.log" 2>&1 &
	echo $! >"$E2E_REAPER_PIDFILE"
fi
"$E2E_SCRIPTS/pg.sh" start
"$E2E_SCRIPTS/mm.sh" start
trap - ERR INT TERM HUP
echo "$E2E_SITE_URL"
