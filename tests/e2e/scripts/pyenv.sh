#!/usr/bin/env bash
# Creates (once) the Python venv for the Python bot client used by the e2e
# tests, with pinned mattermostdriver + websockets, and prints the venv's
# python path on stdout. --force recreates it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

PY="$E2E_VENV/bin/python"
REQS="mattermostdriver==$E2E_MMDRIVER_VERSION websockets==$E2E_WEBSOCKETS_VERSION"

mkdir -p "$E2E_CACHE_DIR"
exec 9>"$E2E_CACHE_DIR/.venv.lock"
flock 9

if [ "${1:-}" = "--force" ]; then
	rm -rf "$E2E_VENV"
fi
if [ -x "$PY" ] && [ "$(cat "$E2E_VENV/.reqs" 2>/dev/null)" = "$REQS" ] &&
	"$PY" -c 'import mattermostdriver, websockets' 2>/dev/null; then
	echo "$PY"
	exit 0
fi

e2e_log "creating Python venv $E2E_VENV ($REQS)"
rm -rf "$E2E_VENV"
python3 -m venv "$E2E_VENV"
# shellcheck disable=SC2086
"$PY" -m pip install --disable-pip-version-check -q $REQS
"$PY" -c 'import mattermostdriver, websockets' ||
	e2e_die "mattermostdriver does not import in $E2E_VENV"
echo "$REQS" >"$E2E_VENV/.reqs"
echo "$PY"
