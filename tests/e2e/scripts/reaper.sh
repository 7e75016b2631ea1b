#!/usr/bin/env bash
# reaper.sh PID [STARTER_PID] — waits until process PID (and then the
# start-up script STARTER_PID) is gone, then runs down.sh.
# Started detached (setsid) by up.sh --watch, so that the environment is torn
# down even when the test process dies without cleaning up (SIGKILL, a
# `go test -timeout` panic, a crashed harness).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

watched="${1:?usage: reaper.sh PID [STARTER_PID]}"
starter="${2:-}"
trap 'exit 0' TERM INT # down.sh ran normally and dismisses us
while kill -0 "$watched" 2>/dev/null; do
	sleep 1 &
	wait $!
done
# If the start-up script is still running (its caller died mid-start), let it
# finish or fail first: whatever it starts must not outlive the teardown.
if [ -n "$starter" ]; then
	while kill -0 "$starter" 2>/dev/null; do
		sleep 0.5 &
		wait $!
	done
fi
e2e_log "reaper: process $watched is gone, stopping the e2e environment"
E2E_REAPER_SELF=$$ "$E2E_SCRIPTS/down.sh"
