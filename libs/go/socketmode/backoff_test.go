package socketmode

import (
	"testing"
	"time"
)

func TestBackoffGrowsWithJitterUpToItsCap(t *testing.T) {
	low := backoff{min: 500 * time.Millisecond, max: 30 * time.Second, random: func() float64 { return 0 }}
	high := low
	high.random = func() float64 { return 0.999999 }
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for n, d := range want {
		if got := low.delay(n); got != d/2 {
			t.Errorf("attempt %d: shortest wait %s, want %s", n, got, d/2)
		}
		if got := high.delay(n); got < d-time.Millisecond || got > d {
			t.Errorf("attempt %d: longest wait %s, want about %s", n, got, d)
		}
	}
	for _, n := range []int{40, 63, 64, 1000} { // no overflow, ever
		if got := high.delay(n); got < 29*time.Second || got > 30*time.Second {
			t.Errorf("attempt %d: wait %s, want the cap", n, got)
		}
	}
	// The real one is random: two bots cut off together do not come back together.
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[defaultBackoff.delay(3)] = true
	}
	if len(seen) < 2 {
		t.Error("defaultBackoff is not jittered")
	}
}
