# shellcheck shell=bash
# Common settings for the real-server end-to-end environment.
# Sourced by the other scripts; every value can be overridden from the
# environment. Nothing here starts anything.

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
E2E_SCRIPTS="$E2E_DIR/scripts"

# Per-run state: database cluster, Mattermost config, files, plugins, logs.
E2E_RUN_DIR="${E2E_RUN_DIR:-/tmp/mmpx-e2e}"
# Long-lived cache: the built Mattermost server and the Python venv.
E2E_CACHE_DIR="${E2E_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mmpx-e2e}"

E2E_PG_PORT="${E2E_PG_PORT:-55432}"
E2E_MM_PORT="${E2E_MM_PORT:-58065}"
E2E_HOST=127.0.0.1
E2E_SITE_URL="http://$E2E_HOST:$E2E_MM_PORT"

# PostgreSQL refuses to run as root: when we are root, the cluster runs as
# this system user (created by install-deps.sh).
E2E_PG_USER="${E2E_PG_USER:-mmpxe2e}"
E2E_PG_DB="${E2E_PG_DB:-mattermost}"
E2E_PG_DIR="$E2E_RUN_DIR/pg"
E2E_PG_DATA="$E2E_PG_DIR/data"
E2E_PG_LOG="$E2E_PG_DIR/postgres.log"

E2E_MM_DIR="$E2E_RUN_DIR/mm"
E2E_MM_CONFIG="$E2E_MM_DIR/config.json"
E2E_MM_LOG="$E2E_MM_DIR/server.log"
E2E_MM_PIDFILE="$E2E_MM_DIR/server.pid"
E2E_REAPER_PIDFILE="$E2E_RUN_DIR/reaper.pid"

# Python bot client.
E2E_MMDRIVER_VERSION="${E2E_MMDRIVER_VERSION:-7.3.2}"
E2E_WEBSOCKETS_VERSION="${E2E_WEBSOCKETS_VERSION:-17.4}"
E2E_VENV="${E2E_VENV:-$E2E_CACHE_DIR/venv-mattermostdriver-$E2E_MMDRIVER_VERSION}"

e2e_log() { printf '[e2e] %s\n' "$*" >&2; }
e2e_die() { printf '[e2e] ERROR: %s\n' "$*" >&2; exit 1; }

# Directory of the newest installed PostgreSQL's binaries.
e2e_pg_bindir() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# Run a command as the PostgreSQL owner (as ourselves when not root).
e2e_as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$E2E_PG_USER" -- "$@"
	else
		"$@"
	fi
}

# Is something listening on 127.0.0.1:$1 ?
e2e_port_busy() {
	(exec 3<>"/dev/tcp/$E2E_HOST/$1") 2>/dev/null
}

# The Mattermost server module version pinned in mmserver/go.mod.
e2e_mm_module_version() {
	awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/mattermost/mattermost/server/v8") { print $(i + 1); exit } }' \
		"$E2E_DIR/mmserver/go.mod"
}

# Where the built server lives; depends on the pinned version.
e2e_mm_install_dir() {
	echo "$E2E_CACHE_DIR/mattermost-$(e2e_mm_module_version)"
}
