package main

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// fakeProcessors stands for the Go runtime and its timers: it records every switch, and the
// lingering timers fire when the test says.
type fakeProcessors struct {
	given    int
	switches []int
	timers   []*fakeTimer
}

type fakeTimer struct {
	delay   time.Duration
	fire    func()
	stopped bool
}

func (f *fakeProcessors) set(n int) int {
	if n == 0 {
		return f.given
	}
	f.switches = append(f.switches, n)
	return 0
}

// restore gives back what the process was given: a switch to that many.
func (f *fakeProcessors) restore() int {
	f.switches = append(f.switches, f.given)
	return f.given
}

func (f *fakeProcessors) after(d time.Duration, fire func()) func() bool {
	t := &fakeTimer{delay: d, fire: fire}
	f.timers = append(f.timers, t)
	return func() bool { t.stopped = true; return true }
}

// fireAll fires the timers not stopped, as time passing would.
func (f *fakeProcessors) fireAll() {
	for _, t := range f.timers {
		if !t.stopped {
			t.stopped = true
			t.fire()
		}
	}
}

func managed(given int) (*processors, *fakeProcessors) {
	f := &fakeProcessors{given: given}
	p := &processors{}
	p.manage(f.set, f.restore, f.after)
	return p, f
}

// Interactive work runs on one processor; a heavy call gets all of them at once and keeps them
// until heavyLinger after it ended.
func TestHeavyWorkHasAllProcessorsAndInteractiveWorkOne(t *testing.T) {
	p, f := managed(4)
	assert.Equal(t, []int{1}, f.switches, "managed: one processor")
	assert.Equal(t, 4, p.available(), "the pools are sized for all of them")

	p.heavyStarted()
	assert.Equal(t, []int{1, 4}, f.switches, "a heavy call starts: all of them")
	p.heavyEnded()
	assert.Equal(t, []int{1, 4}, f.switches, "not back to one the moment it ends")
	if assert.Len(t, f.timers, 1) {
		assert.Equal(t, heavyLinger, f.timers[0].delay)
	}
	f.fireAll()
	assert.Equal(t, []int{1, 4, 1}, f.switches, "back to one once the lingering passed")
}

// A flood of heavy calls keeps all the processors from its first call to a lingering after its
// last: no switching between its calls, however they overlap.
func TestAFloodOfHeavyCallsSwitchesOnceEachWay(t *testing.T) {
	p, f := managed(2)
	p.heavyStarted()
	p.heavyStarted() // overlapping
	p.heavyEnded()
	assert.Empty(t, f.timers, "one still in flight: nothing to schedule")
	p.heavyEnded()
	p.heavyStarted() // the next call of the flood, within the lingering
	assert.True(t, f.timers[0].stopped, "the switch back was cancelled")
	p.heavyEnded()
	f.fireAll()
	assert.Equal(t, []int{1, 2, 1}, f.switches)
}

// A switch back that fired as a new heavy call started (too late to be stopped) does nothing:
// the new call keeps all the processors, and so does the lingering after it.
func TestALateSwitchBackIsStale(t *testing.T) {
	p, f := managed(2)
	p.heavyStarted()
	p.heavyEnded()
	stale := f.timers[0].fire
	p.heavyStarted()
	p.heavyEnded()
	stale()
	assert.Equal(t, []int{1, 2}, f.switches, "the stale switch back changed nothing")
	f.fireAll()
	assert.Equal(t, []int{1, 2, 1}, f.switches)
}

// On a single processor, and when not managed (tests, benchmarks), nothing is ever switched.
func TestProcessorsLeftAloneWhenThereIsNothingToSwitch(t *testing.T) {
	p, f := managed(1)
	p.heavyStarted()
	p.heavyEnded()
	f.fireAll()
	assert.Empty(t, f.switches)
	assert.Empty(t, f.timers)

	var unmanaged processors
	unmanaged.heavyStarted()
	unmanaged.heavyEnded()
	assert.Positive(t, unmanaged.available())
}

// Heavy calls from many goroutines leave the count balanced: once all ended and the lingering
// passed, the process is on one processor.
func TestHeavyCallsFromManyGoroutines(t *testing.T) {
	p, f := managed(8) // the fake is called with p's lock held
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			p.heavyStarted()
			p.heavyEnded()
		})
	}
	wg.Wait()
	assert.Equal(t, 0, p.heavy)
	f.fireAll()
	assert.Equal(t, 1, f.switches[len(f.switches)-1])
}

// The processors the process is given are read again at each switch up: a container whose
// limit changed gets as many as it has now.
func TestSwitchingUpFollowsWhatTheProcessIsGiven(t *testing.T) {
	p, f := managed(4)
	f.given = 2 // the container's limit fell meanwhile
	p.heavyStarted()
	assert.Equal(t, 2, p.available())
	assert.Equal(t, []int{1, 2}, f.switches)
}

// heavyPlugin is an activated plugin whose process's processors are a fake's, as main manages
// them, and a call document for the core.
func heavyPlugin(t *testing.T) (*Plugin, *fakeProcessors, encodedCall, []byte) {
	api, body, user := clickAPI(t)
	p := activated(t, api)
	managedProcs, f := managed(2)
	saved := procs
	procs = managedProcs
	t.Cleanup(func() { procs = saved })
	call := handleCall{Input: input{HTTP: &httpInput{Method: "POST", Path: "/api/v1/handler", UserID: user}}, NowMs: p.now().UnixMilli(), Entropy: p.entropy(), Node: p.node, Settings: p.getConfiguration().settings}
	doc, err := call.encode()
	if err != nil {
		t.Fatal(err)
	}
	return p, f, doc, body
}

// A call on the bulk lane is heavy work: the process has all its processors while it runs;
// one on the interactive lane changes nothing.
func TestABulkLaneCallIsHeavy(t *testing.T) {
	p, f, doc, body := heavyPlugin(t)
	if _, _, err := p.core.call(context.Background(), laneInteractive, fuelUnbounded, doc, body); err != nil {
		t.Fatal(err)
	}
	assert.Equal(t, []int{1}, f.switches, "an interactive call: one processor")
	if _, _, err := p.core.call(context.Background(), laneBulk, fuelUnbounded, doc, body); err != nil {
		t.Fatal(err)
	}
	assert.Equal(t, []int{1, 2}, f.switches, "a bulk call: all of them")
	assert.Equal(t, 0, procs.heavy, "and it ended")
	f.fireAll()
	assert.Equal(t, []int{1, 2, 1}, f.switches)
}

// A bulk call that waits for its lane (a flood's calls queue there) is heavy already: the
// calls ahead of it run on every processor.
func TestABulkCallWaitingForItsLaneIsHeavy(t *testing.T) {
	p, f, doc, body := heavyPlugin(t)
	held := <-p.core.pools[laneBulk] // the lane busy
	done := make(chan error)
	go func() {
		_, _, err := p.core.call(context.Background(), laneBulk, fuelUnbounded, doc, body)
		done <- err
	}()
	waited := func() bool {
		procs.mu.Lock()
		defer procs.mu.Unlock()
		return procs.heavy == 1
	}
	assert.Eventually(t, waited, 5*time.Second, time.Millisecond, "the waiting call counts as heavy")
	procs.mu.Lock()
	assert.Equal(t, []int{1, 2}, f.switches, "while it waits: all processors")
	procs.mu.Unlock()
	p.core.pools[laneBulk] <- held
	assert.NoError(t, <-done)
}

// An interactive call whose answers are large (a post of 800,000 characters asked of a click)
// is heavy work too: its lane does not make it short.
func TestALargeInteractiveCallIsHeavy(t *testing.T) {
	p, f, doc, body := heavyPlugin(t)
	large := append(append([]byte{}, body...), bytes.Repeat([]byte(" "), int(p.core.heavyBytes.Load()))...)
	if _, _, err := p.core.call(context.Background(), laneInteractive, fuelUnbounded, doc, large); err != nil {
		t.Fatal(err)
	}
	assert.Equal(t, []int{1, 2}, f.switches, "past the core's heavy size: all processors")
}
