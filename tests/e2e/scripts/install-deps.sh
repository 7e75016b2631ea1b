#!/usr/bin/env bash
# Installs what the real-server e2e tests need from the system: PostgreSQL
# (Debian packages; the cluster is run privately, never as a system service)
# and a non-root user to own the cluster when we run as root.
# Idempotent and non-interactive.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

need_pkgs=()
if ! e2e_pg_bindir >/dev/null; then
	need_pkgs+=(postgresql)
fi
command -v python3 >/dev/null || need_pkgs+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_pkgs+=(python3-venv)
command -v runuser >/dev/null || need_pkgs+=(util-linux)
command -v curl >/dev/null || need_pkgs+=(curl)

if [ "${#need_pkgs[@]}" -gt 0 ]; then
	[ "$(id -u)" = 0 ] || e2e_die "missing ${need_pkgs[*]}; run this script as root (apt-get)"
	e2e_log "installing ${need_pkgs[*]} with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	# The package lists may be missing on a fresh machine.
	if ! apt-get install -y --no-install-recommends "${need_pkgs[@]}" >/dev/null 2>&1; then
		apt-get update -qq
		apt-get install -y --no-install-recommends "${need_pkgs[@]}"
	fi
	# Debian's postgresql package starts a system cluster: we never use it.
	if command -v pg_lsclusters >/dev/null && [ -d /run/systemd/system ]; then
		systemctl disable --now postgresql >/dev/null 2>&1 || true
	fi
fi
e2e_pg_bindir >/dev/null || e2e_die "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin"

if [ "$(id -u)" = 0 ] && ! id "$E2E_PG_USER" >/dev/null 2>&1; then
	e2e_log "creating system user $E2E_PG_USER (PostgreSQL will not run as root)"
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$E2E_PG_USER"
fi

command -v go >/dev/null || e2e_die "go is required to build Mattermost"
e2e_log "dependencies ok: PostgreSQL $("$(e2e_pg_bindir)/postgres" --version | awk '{print $3}'), $(go version | awk '{print $3}')"
