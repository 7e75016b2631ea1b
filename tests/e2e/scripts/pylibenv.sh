#!/usr/bin/env bash
# Creates (once per set of pins) the venv of the Python Socket Mode library: the pins of
# tests/e2e/pylib-requirements.txt (its dependencies, mmpy_bot, pytest), then installs the
# library from this clone (libs/python) into it whenever its files changed, and prints the
# venv's python on stdout. Used by the e2e tests (harness.PythonLibPath: the library's bots,
# the Python example, the mmpy_bot bot) and by `make test-lib-python`. --force recreates it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

REPO="$(cd "$E2E_DIR/../.." && pwd)"
LIB="$REPO/libs/python"
PINS="$E2E_DIR/pylib-requirements.txt"
# One venv per set of pins and per clone: the library installed in it is this clone's.
KEY="$( (cat "$PINS"; echo "$REPO") | sha256sum | cut -c1-12)"
VENV="${E2E_PYLIB_VENV:-$E2E_CACHE_DIR/venv-pylib-$KEY}"
PY="$VENV/bin/python"

mkdir -p "$E2E_CACHE_DIR"
exec 9>"$E2E_CACHE_DIR/.venv-pylib.lock"
flock 9

if [ "${1:-}" = "--force" ]; then
	rm -rf "$VENV"
fi
if ! { [ -x "$PY" ] && cmp -s "$PINS" "$VENV/.pins"; }; then
	e2e_log "creating the library's Python venv $VENV"
	rm -rf "$VENV"
	python3 -m venv "$VENV"
	"$PY" -m pip install --disable-pip-version-check -q -r "$PINS"
	cp "$PINS" "$VENV/.pins"
fi

# The library's own files (not caches or build output): reinstalled when any changed.
LIBHASH="$(cd "$LIB" && find . -type f \( -name '*.py' -o -name '*.toml' -o -name '*.md' -o -name py.typed \) \
	-not -path './build/*' -not -path '*/__pycache__/*' -not -path './tests/*' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)"
if [ "$(cat "$VENV/.lib" 2>/dev/null)" != "$LIBHASH" ]; then
	e2e_log "installing libs/python into $VENV"
	# --no-build-isolation: setuptools is pinned in the venv, nothing else to fetch.
	"$PY" -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation --force-reinstall "$LIB"
	rm -rf "$LIB/build" "$LIB/src/"*.egg-info
	echo "$LIBHASH" >"$VENV/.lib"
fi
"$PY" -c 'import mattermost_socket_mode, mattermost_socket_mode.mmpy_bot' ||
	e2e_die "the library does not import in $VENV"
echo "$PY"
