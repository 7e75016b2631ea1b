package socketmode

import (
	"math/rand/v2"
	"time"
)

// backoff is how long to wait before reconnection attempt n (0 for the first retry):
// exponential from min to max, with "equal jitter" (between half and all of it), so that
// many bots cut off at once by a restart do not all come back in the same instant.
type backoff struct {
	min, max time.Duration
	// random returns a float in [0, 1); rand.Float64 unless a test fixes it.
	random func() float64
}

var defaultBackoff = backoff{min: 500 * time.Millisecond, max: 30 * time.Second, random: rand.Float64}

func (b backoff) delay(n int) time.Duration {
	d := b.max
	if n < 32 { // past that the shift overflows, and the cap is long reached
		if exp := b.min << n; exp > 0 && exp < b.max {
			d = exp
		}
	}
	return d/2 + time.Duration(b.random()*float64(d/2))
}
