package main

import "sync"

// lifecycle says when the core may be called: from the end of activation to the start of
// deactivation. Every entry point (ServeHTTP, each hook, each timer) enters for the length of
// its work and leaves when it is done; deactivation closes it and waits for the work under way
// before the core is closed. Whatever Mattermost calls afterwards (a websocket that closes as
// the server stops, a cluster message, a late timer) finds it closed and does nothing, so no
// call ever reaches a closed module.
type lifecycle struct {
	mu      sync.Mutex
	running bool
	work    sync.WaitGroup
}

// open lets entry points in: the core is ready.
func (l *lifecycle) open() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running = true
}

// enter reports whether the core may be called; if so, the caller must leave when done.
func (l *lifecycle) enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.running {
		return false
	}
	l.work.Add(1)
	return true
}

// leave ends what enter began.
func (l *lifecycle) leave() {
	l.work.Done()
}

// close lets nothing in any more and waits for the work under way (a click may wait for its
// answer up to the answer window).
func (l *lifecycle) close() {
	l.mu.Lock()
	l.running = false
	l.mu.Unlock()
	l.work.Wait()
}
