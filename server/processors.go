package main

import (
	"os"
	"runtime"
	"sync"
	"time"
)

// How many processors run the plugin's Go code: one while its work is interactive, all it is
// given while heavy work is in flight and for heavyLinger after.
//
// Why: a click's work in this process is short pieces between round trips to the server (the
// request arrives, the core decides, the permission's answer arrives, the publish returns).
// With several processors, each piece that becomes ready while another processor is idle
// wakes that processor's thread, which spins looking for work, finds the piece or nothing, and
// sleeps again: futex calls and spinning that cost more than the piece itself. On the real
// server, one processor took the plugin's CPU per 1,000 clicks from 1.29 to 1.125 times the
// baseline plugin's and click → event from 1.065 to 1.01 times (medians of 16 runs a side,
// docs/BENCHMARKS.md, "One processor for interactive work"). But a heavy input (a 1 MiB
// ephemeral post, a lint) is tens of milliseconds of work that cannot be interrupted (compiled
// wasm has no preemption points): on one processor every click would wait behind it, and under
// a flood of them for seconds
// (TestHostileEphemeralFloodDoesNotStallClicks). So while such work is in flight — waiting for
// its lane or running — the process has all its processors, as before; the lingering keeps a
// flood from switching back and forth between its calls. Heavy is a call on the bulk lane, or
// any call carrying more than the core's heavy size (an interactive call whose answers hold a
// post of 800,000 characters). A switch stops the world for a moment, as a garbage collection
// does, and rarely, since heavy inputs are rare: the switch up right away (this goroutine holds
// the only processor), the switch back once the interactive calls under way have returned
// (wasm is stopped only between calls; each is small, heavy ones having been counted).
type processors struct {
	set func(int) int // runtime.GOMAXPROCS
	// restore gives the process back what it was given, and answers how many: the runtime's
	// default, which follows the machine and the container's limit as they change, or the
	// GOMAXPROCS environment variable when the administrator set it.
	restore func() int
	after   func(time.Duration, func()) func() bool // time.AfterFunc, answering its Stop
	mu      sync.Mutex
	all     int  // the processors the process is given; 0 while not managed (tests, benchmarks, one processor)
	one     bool // whether it runs on one now
	heavy   int  // heavy calls in flight
	// lowering cancels the pending switch back to one processor; generation tells a switch
	// that fired too late to be cancelled that it is stale.
	lowering   func() bool
	generation int
}

// heavyLinger is how long the process keeps all its processors after its last heavy call
// ended: longer than the gap between a flood's calls.
const heavyLinger = time.Second

// procs manages this process's processors; main starts it, and tests and benchmarks, which
// leave it alone, run with what the Go runtime gave them.
var procs = &processors{}

// manage takes over the process's processors: it keeps all it was given for heavy work, and
// runs on one otherwise. A process given one has nothing to manage.
func (p *processors) manage(set func(int) int, restore func() int, after func(time.Duration, func()) func() bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	given := set(0)
	if given <= 1 {
		return
	}
	p.set, p.restore, p.after = set, restore, after
	p.all = given
	p.toOne()
}

// manageRuntime manages the Go runtime's processors.
func (p *processors) manageRuntime() {
	given := runtime.GOMAXPROCS(0)
	restore := func() int {
		if os.Getenv("GOMAXPROCS") != "" {
			runtime.GOMAXPROCS(given)
			return given
		}
		runtime.SetDefaultGOMAXPROCS()
		return runtime.GOMAXPROCS(0)
	}
	p.manage(runtime.GOMAXPROCS, restore, func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop })
}

// available is how many processors the process may use for its parallel work: all of them,
// whether or not it runs on one now.
func (p *processors) available() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.all == 0 {
		return runtime.GOMAXPROCS(0)
	}
	return p.all
}

// heavyStarted is called when a heavy call begins, before it waits for its lane: the process
// has all its processors until heavyEnded has been called as often and heavyLinger passed.
func (p *processors) heavyStarted() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.all == 0 {
		return
	}
	p.heavy++
	if p.lowering != nil {
		p.lowering()
		p.lowering = nil
	}
	p.generation++
	p.toAll()
}

// heavyEnded is called when a heavy call is over, however it ended.
func (p *processors) heavyEnded() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.all == 0 || p.heavy == 0 {
		return
	}
	p.heavy--
	if p.heavy > 0 || p.one {
		return
	}
	generation := p.generation
	p.lowering = p.after(heavyLinger, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.generation == generation && p.heavy == 0 {
			p.lowering = nil
			p.toOne()
		}
	})
}

// toOne runs the process on one processor; p.mu is held.
func (p *processors) toOne() {
	if !p.one {
		p.set(1)
		p.one = true
	}
}

// toAll gives the process back every processor it is given, as many as the machine or the
// container has now; p.mu is held.
func (p *processors) toAll() {
	if p.one {
		p.all = max(p.restore(), 1)
		p.one = false
	}
}
