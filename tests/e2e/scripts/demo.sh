#!/usr/bin/env bash
# demo.sh [bundle.tar.gz] — for `make demo`: installs dependencies, builds
# Mattermost if needed, starts PostgreSQL + Mattermost, bootstraps users and
# bots, uploads the bundle if given and shows a click reaching a bot's
# websocket; prints URL, logins, tokens and a curl command to click again
# (credentials also in $E2E_RUN_DIR/creds.json), prints every further event
# the bot receives, and waits for Ctrl-C; then stops everything.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

bundle="${1:-${E2E_BUNDLE:-}}"
[ -z "$bundle" ] || bundle="$(realpath "$bundle")"
e2e_log "checking dependencies (PostgreSQL, Go)"
"$E2E_SCRIPTS/install-deps.sh"
e2e_log "building Mattermost if needed (first time several minutes; cached after)"
"$E2E_SCRIPTS/build-mattermost.sh" >/dev/null
cd "$E2E_DIR"
e2e_log "building cmd/e2eenv"
go build -o "$E2E_CACHE_DIR/e2eenv" ./cmd/e2eenv
# The Go program handles Ctrl-C and stops the environment; down.sh is a
# second line of defence for any other way out.
trap '"$E2E_SCRIPTS/down.sh" --quiet' EXIT
# Not exec'd, so that the trap runs after it: Ctrl-C reaches the whole
# foreground process group; e2eenv stops the environment and exits 0.
"$E2E_CACHE_DIR/e2eenv" -bundle "$bundle" -json "$E2E_RUN_DIR/creds.json"
