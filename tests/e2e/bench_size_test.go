package e2e_test

import "os"

// benchFull is whether the benchmarks run at their full sizes: E2E_BENCH=1 (make e2e-bench),
// whose figures docs/BENCHMARKS.md quotes. Otherwise (make e2e, and so CI) every benchmark
// runs once at a token size — each path, each report line, each check, a few clicks each — so
// that a broken benchmark fails the build instead of waiting for someone to measure.
var benchFull = os.Getenv("E2E_BENCH") == "1"

// benchSize is full under E2E_BENCH=1 and once otherwise.
func benchSize(full, once int) int {
	if benchFull {
		return full
	}
	return once
}
