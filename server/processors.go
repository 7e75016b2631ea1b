package main

import (
	"runtime"
	"sync"
	"time"
)

// How many processors run the plugin's Go code: one while its work is interactive, all it may
// use while heavy work (a call on the bulk lane) is in flight and for heavyLinger after.
//
// Why: a click's work in this process is short pieces between round trips to the server (the
// request arrives, the core decides, the permission's answer arrives, the publish returns).
// With several processors, each piece that becomes ready while another processor is idle
// wakes that processor's thread, which spins looking for work, finds the piece or nothing, and
// sleeps again: futex calls and spinning that cost more than the piece itself. On the real
// server, one processor took the plugin's CPU per 1,000 clicks from 1.26 to 1.135 times the
// baseline plugin's and click → event from 1.07 to 1.015 times (medians of 12 runs a side,
// docs/BENCHMARKS.md, "One processor for interactive work"). But a heavy input (a 1 MiB ephemeral post, a lint) is tens
// of milliseconds of work that cannot be interrupted (compiled wasm has no preemption points):
// on one processor every click would wait behind it, and under a flood of them for seconds
// (TestHostileEphemeralFloodDoesNotStallClicks). So while such work is in flight — waiting for
// its lane or running — the process has all its processors, as before; the lingering keeps a
// flood from switching back and forth between its calls. A switch stops the world for a moment
// (as a garbage collection does), rare since heavy inputs are.
type processors struct {
	set   func(int) int                           // runtime.GOMAXPROCS
	after func(time.Duration, func()) func() bool // time.AfterFunc, answering its Stop
	mu    sync.Mutex
	all   int // the processors the process may use; 0 while not managed (tests, benchmarks)
	now   int // the processors it has now
	heavy int // heavy calls in flight
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

// manage takes over the process's processors: it keeps all it was given (GOMAXPROCS, which
// follows the machine or the container's limit) for heavy work, and runs on one otherwise.
func (p *processors) manage(set func(int) int, after func(time.Duration, func()) func() bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.set, p.after = set, after
	p.all = set(0)
	p.now = p.all
	p.switchTo(1)
}

// manageRuntime manages the Go runtime's processors.
func (p *processors) manageRuntime() {
	p.manage(runtime.GOMAXPROCS, func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop })
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
	p.switchTo(p.all)
}

// heavyEnded is called when a heavy call is over, however it ended.
func (p *processors) heavyEnded() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.all == 0 || p.heavy == 0 {
		return
	}
	p.heavy--
	if p.heavy > 0 || p.now == 1 {
		return
	}
	generation := p.generation
	p.lowering = p.after(heavyLinger, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.generation == generation && p.heavy == 0 {
			p.lowering = nil
			p.switchTo(1)
		}
	})
}

// switchTo runs the process on n processors; p.mu is held.
func (p *processors) switchTo(n int) {
	if p.now != n {
		p.set(n)
		p.now = n
	}
}
