#!/usr/bin/env bash
# bench-ab.sh REV_A REV_B [ROUNDS] [BENCH_REGEX]
# The shim benchmarks of two commits, side by side: both are built once, then run alternately
# (A B A B …) on one CPU (GOMAXPROCS=1, taskset -c 1 when there are two or more), so that the
# machine's drift hits both alike. Prints every round, then each benchmark's medians and the
# median of the per-round ratios B/A.
set -euo pipefail
a=${1:?REV_A}; b=${2:?REV_B}; rounds=${3:-10}; bench=${4:-'CorePath|ServeHTTPClick$'}
top=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'git -C "$top" worktree remove --force "$work/a" >/dev/null 2>&1; git -C "$top" worktree remove --force "$work/b" >/dev/null 2>&1; rm -rf "$work"' EXIT
pin=(); [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null && pin=(taskset -c 1)
for side in a b; do
  rev=${!side}
  git -C "$top" worktree add -f --detach "$work/$side" "$rev" >/dev/null 2>&1
  echo "==> building $side = $rev" >&2
  (cd "$work/$side" && make wasm >/dev/null && cd server && go test -c -o "$work/$side.test" .) >&2
done
for round in $(seq 1 "$rounds"); do
  for side in a b; do
    (cd "$work/$side/server" && GOMAXPROCS=1 "${pin[@]}" "$work/$side.test" -test.run '^$' \
      -test.bench "$bench" -test.benchtime 1s -test.count 1) |
      awk -v r="$round" -v s="$side" '/^Benchmark/ {print r, s, $1, $3}'
  done
done | tee "$work/rounds.txt"
python3 - "$work/rounds.txt" "$a" "$b" <<'PY'
import statistics, sys, collections
rows = [l.split() for l in open(sys.argv[1])]
by = collections.defaultdict(dict)
for r, side, name, ns in rows:
    by[name].setdefault(side, {})[int(r)] = float(ns)
for name, sides in by.items():
    a, b = sides.get("a", {}), sides.get("b", {})
    ratios = [b[r] / a[r] for r in a if r in b]
    print(f"{name}: A={sys.argv[2]} median {statistics.median(a.values())/1000:.1f} µs, "
          f"B={sys.argv[3]} median {statistics.median(b.values())/1000:.1f} µs, "
          f"B/A median of {len(ratios)} rounds {statistics.median(ratios):.2f}")
PY
