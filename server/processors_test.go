package main

import (
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
	p.manage(f.set, f.after)
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

// A call on the bulk lane is heavy work: the process has all its processors while it runs;
// one on the interactive lane changes nothing.
func TestABulkLaneCallIsHeavy(t *testing.T) {
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
