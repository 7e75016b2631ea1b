#!/usr/bin/env bash
# Builds one of the harness's own plugins into a bundle and prints its path:
#   scripts/make-hello-bundle.sh              # tests/e2e/helloplugin (the harness self-test,
#                                             # the benchmarks' no-op and baseline handlers)
#   scripts/make-hello-bundle.sh floorplugin  # tests/e2e/floorplugin (the benchmarks' floor)
# E2E_BUNDLE=$(scripts/make-hello-bundle.sh) go test ./...
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

dir="${1:-helloplugin}"
id="$(sed -n 's/^ *"id": *"\([^"]*\)".*/\1/p' "$E2E_DIR/$dir/plugin.json" | head -n1)"
out="$E2E_CACHE_DIR/$dir-bundle"
rm -rf "$out"
mkdir -p "$out/$id/server"
arch="$(go env GOARCH)"
(cd "$E2E_DIR" && CGO_ENABLED=0 GOOS=linux go build -trimpath \
	-o "$out/$id/server/plugin-linux-$arch" "./$dir")
cp "$E2E_DIR/$dir/plugin.json" "$out/$id/"
tar -C "$out" -czf "$out/$id-0.0.1.tar.gz" "$id"
echo "$out/$id-0.0.1.tar.gz"
