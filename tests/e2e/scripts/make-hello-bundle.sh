#!/usr/bin/env bash
# Builds the harness self-test plugin (tests/e2e/helloplugin) into a bundle
# and prints its path: E2E_BUNDLE=$(scripts/make-hello-bundle.sh) go test ./...
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

out="$E2E_CACHE_DIR/hello-bundle"
rm -rf "$out"
mkdir -p "$out/com.example.e2e-hello/server"
arch="$(go env GOARCH)"
(cd "$E2E_DIR" && CGO_ENABLED=0 GOOS=linux go build -trimpath \
	-o "$out/com.example.e2e-hello/server/plugin-linux-$arch" ./helloplugin)
cp "$E2E_DIR/helloplugin/plugin.json" "$out/com.example.e2e-hello/"
tar -C "$out" -czf "$out/com.example.e2e-hello-0.0.1.tar.gz" com.example.e2e-hello
echo "$out/com.example.e2e-hello-0.0.1.tar.gz"
