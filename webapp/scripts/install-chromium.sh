#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test (Playwright drives it through playwright-core;
# `npx playwright install` downloads browsers from a CDN, which this project does not rely on).
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "!! $CHROMIUM not found: install Chromium, or set CHROMIUM to its path" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "==> installing chromium from Debian"
$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || {
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null
}
test -x "$CHROMIUM"
