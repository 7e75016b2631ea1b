#!/usr/bin/env bash
# Builds the browser build of the Rust core into webapp/pkg/ (generated, ignored by git):
# cargo (feature `web`) → wasm-bindgen (bundler glue) → wasm-opt → wasm2js.
#
# Why JavaScript and not WebAssembly: Mattermost serves its pages with a Content-Security-Policy
# whose script-src has no 'wasm-unsafe-eval', so the System Console cannot compile a wasm module.
# wasm2js translates the same optimized module into plain JavaScript, which that policy allows.
set -euo pipefail
cd "$(dirname "$0")/../.."

RAW=target/web/wasm32-unknown-unknown/web/socket_mode_core.wasm
OUT=webapp/pkg
BIN=webapp/node_modules/.bin
# The features rustc's wasm target emits by default: the Makefile's one list (`make webapp`).
FEATURES="${WASM_OPT_FEATURES:?run this through make (make webapp), which sets WASM_OPT_FEATURES}"

echo "==> building the core for the browser (Rust → wasm → JavaScript)"
cargo build --locked --profile web --target wasm32-unknown-unknown --features web --target-dir target/web
rm -rf "$OUT" && mkdir -p "$OUT"
wasm-bindgen --target bundler --no-typescript --out-dir "$OUT" --out-name socket_mode_core "$RAW"
# shellcheck disable=SC2086
"$BIN/wasm-opt" $FEATURES -Oz "$OUT/socket_mode_core_bg.wasm" -o "$OUT/socket_mode_core_bg.wasm"
# wasm2js translates the MVP instruction set: lower the newer instructions first.
# shellcheck disable=SC2086
"$BIN/wasm-opt" $FEATURES --llvm-nontrapping-fptoint-lowering --llvm-memory-copy-fill-lowering \
  --signext-lowering "$OUT/socket_mode_core_bg.wasm" -o "$OUT/lowered.wasm"
"$BIN/wasm2js" --enable-mutable-globals -Oz "$OUT/lowered.wasm" -o "$OUT/socket_mode_core_bg.wasm.js"
rm "$OUT/lowered.wasm"
node webapp/scripts/patch-glue.mjs "$OUT"
echo "    $OUT/socket_mode_core_bg.wasm: $(wc -c < "$OUT/socket_mode_core_bg.wasm") bytes (as JavaScript: $(wc -c < "$OUT/socket_mode_core_bg.wasm.js"))"
