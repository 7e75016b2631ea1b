package socketmode

import (
	"encoding/json"
	"sync"
)

// memory remembers the most recent event ids and their answers, so that an event sent
// again (its acknowledgement was lost, or it was being handled when a connection went
// away) runs no handler twice and is acknowledged again with the first answer. The plugin
// sends an event again soon after, or on the next subscription: a few thousand ids cover
// that, and the oldest are forgotten first.
type memory struct {
	mu    sync.Mutex
	size  int
	byID  map[string]*remembered
	order []string // oldest first
}

// remembered is one event: done is closed once its answer is known.
type remembered struct {
	done   chan struct{}
	answer json.RawMessage
}

func newMemory(size int) *memory {
	return &memory{size: size, byID: make(map[string]*remembered, size)}
}

// claim returns the event's entry, and first = true if id was not seen before: the caller
// then runs the handler and calls finish. An empty id (no proxy.event_id) is always first.
func (m *memory) claim(id string) (e *remembered, first bool) {
	e = &remembered{done: make(chan struct{})}
	if id == "" {
		return e, true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if seen, ok := m.byID[id]; ok {
		return seen, false
	}
	m.byID[id] = e
	m.order = append(m.order, id)
	if len(m.order) > m.size {
		delete(m.byID, m.order[0])
		m.order = m.order[1:]
	}
	return e, true
}

// finish records the answer (nil: none) and wakes whoever waits to acknowledge a repeat.
func (e *remembered) finish(answer json.RawMessage) {
	e.answer = answer
	close(e.done)
}
