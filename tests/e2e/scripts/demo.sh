#!/usr/bin/env bash
# demo.sh [bundle.tar.gz] — for `make demo`: installs dependencies, builds
# Mattermost if needed, starts PostgreSQL + Mattermost, bootstraps users and
# bots, uploads the bundle if given, prints credentials (also to
# $E2E_RUN_DIR/creds.json) and waits for Ctrl-C; then stops everything.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

bundle="${1:-${E2E_BUNDLE:-}}"
[ -z "$bundle" ] || bundle="$(realpath "$bundle")"
"$E2E_SCRIPTS/install-deps.sh"
"$E2E_SCRIPTS/build-mattermost.sh" >/dev/null
cd "$E2E_DIR"
go build -o "$E2E_CACHE_DIR/e2eenv" ./cmd/e2eenv
# The Go program handles Ctrl-C and stops the environment; down.sh is a
# second line of defence for any other way out.
trap '"$E2E_SCRIPTS/down.sh" --quiet' EXIT
"$E2E_CACHE_DIR/e2eenv" -bundle "$bundle" -json "$E2E_RUN_DIR/creds.json"
