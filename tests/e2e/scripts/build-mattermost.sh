#!/usr/bin/env bash
# Builds the real Mattermost server (Team Edition) from its Go module, at the
# version pinned in tests/e2e/mmserver/go.mod, into a cache directory:
#   $E2E_CACHE_DIR/mattermost-<pseudo-version>/{bin/mattermost,i18n,templates,fonts,client}
# A second run is instant unless the wrapper module changed. --force rebuilds.
# Prints the install directory on stdout.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

force=0
[ "${1:-}" = "--force" ] && force=1

command -v go >/dev/null || e2e_die "go not found"
SRC="$E2E_DIR/mmserver"
VERSION="$(e2e_mm_module_version)"
[ -n "$VERSION" ] || e2e_die "cannot read the server version from $SRC/go.mod"
INSTALL="$(e2e_mm_install_dir)"
STAMP_WANT="$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" "$0" | sha256sum | cut -c1-16)"

mkdir -p "$E2E_CACHE_DIR"
exec 9>"$E2E_CACHE_DIR/.build.lock"
flock 9 # one build at a time

if [ "$force" = 0 ] && [ -x "$INSTALL/bin/mattermost" ] &&
	[ "$(cat "$INSTALL/.stamp" 2>/dev/null)" = "$STAMP_WANT" ]; then
	echo "$INSTALL"
	exit 0
fi

cd "$SRC"
e2e_log "fetching the Mattermost server module $VERSION (first time: a few hundred MB of modules)"
go mod download github.com/mattermost/mattermost/server/v8 github.com/mattermost/mattermost/server/public
MODDIR="$(go list -m -f '{{.Dir}}' github.com/mattermost/mattermost/server/v8)"
PUBDIR="$(go list -m -f '{{.Dir}}' github.com/mattermost/mattermost/server/public)"
COMMIT="$(go mod download -json github.com/mattermost/mattermost/server/v8@"$VERSION" |
	sed -n 's/.*"Hash": "\([0-9a-f]*\)".*/\1/p' | head -n1)"
MMVER="$(sed -n '/versions = \[\]string{/{n;s/[^0-9.]//g;p;q}' "$PUBDIR/model/version.go")"

STAGE="$INSTALL.tmp.$$"
rm -rf "$STAGE"
mkdir -p "$STAGE/bin"
hb=""
trap 'rm -rf "$STAGE"; [ -z "$hb" ] || kill "$hb" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM HUP

e2e_log "building Mattermost $MMVER ($VERSION, commit ${COMMIT:-?}) from source, first time takes several minutes…"
start=$(date +%s)
( while sleep 30; do e2e_log "  … still building Mattermost ($(( $(date +%s) - start ))s)"; done ) &
hb=$!
PKG=github.com/mattermost/mattermost/server/public/model
go build -trimpath -o "$STAGE/bin/mattermost" -ldflags "\
 -X $PKG.BuildNumber=e2e-$VERSION \
 -X '$PKG.BuildDate=$(date -u +'%a %b %d %H:%M:%S UTC %Y')' \
 -X $PKG.BuildHash=${COMMIT:-unknown} \
 -X $PKG.BuildHashEnterprise=none \
 -X $PKG.BuildEnterpriseReady=false" .
kill "$hb" 2>/dev/null || true
e2e_log "built in $(( $(date +%s) - start ))s"

# Runtime assets the server looks up next to its binary.
for d in i18n templates fonts; do
	cp -r "$MODDIR/$d" "$STAGE/$d"
done
chmod -R u+w "$STAGE"
# No webapp is needed by the tests; a stub keeps the static handler quiet.
mkdir -p "$STAGE/client"
# (The server rewrites the CSP meta tag and publicPath script at start.)
cat >"$STAGE/client/root.html" <<'EOF'
<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="script-src 'self'">
<script id="publicPathInWindowScript"></script>
<title>Mattermost (e2e build, no webapp)</title></head>
<body>Mattermost server for end-to-end tests; the webapp is not built.</body></html>
EOF
cat >"$STAGE/VERSION" <<EOF
mattermost_version=$MMVER
module=github.com/mattermost/mattermost/server/v8@$VERSION
commit=$COMMIT
EOF
echo "$STAMP_WANT" >"$STAGE/.stamp"

rm -rf "$INSTALL"
mv "$STAGE" "$INSTALL"
trap - EXIT
e2e_log "Mattermost installed in $INSTALL"
echo "$INSTALL"
