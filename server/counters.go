package main

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/segmentio/encoding/json"
)

// counters are the small documents the core changes with compare-and-set: a bot's queue
// counter (queue_push) and the counts of its kept events per person (count). They are storage
// mechanics, like INCR in Redis: which counters exist and what they bound is the core's to say.
//
// One node serializes its own changes to a key (a mutex per key) and remembers the value it
// last wrote, so a burst of clicks for one bot on one node costs each one compare-and-set, with
// no collisions. Only another node's change can make it fail: then the value is read afresh
// and the change retried after a jittered, growing pause, for at most casPatience.
type counters struct {
	mu   sync.Mutex
	keys map[string]*counter
}

// counter is one key's lock and the document this node last wrote or read under it.
type counter struct {
	mu   sync.Mutex
	last []byte // nil: not known (read it)
	used time.Time
}

const (
	// casPatience bounds how long one change retries while other nodes get in between.
	casPatience = 5 * time.Second
	// maxCounters bounds the keys remembered; past it the idle ones are forgotten.
	maxCounters = 10_000
)

// lock takes key's lock and returns its counter.
func (c *counters) lock(key string) *counter {
	c.mu.Lock()
	if c.keys == nil {
		c.keys = make(map[string]*counter)
	}
	k := c.keys[key]
	if k == nil {
		if len(c.keys) >= maxCounters {
			for name, idle := range c.keys {
				if idle.mu.TryLock() {
					delete(c.keys, name)
					idle.mu.Unlock()
				}
			}
		}
		k = &counter{}
		c.keys[key] = k
	}
	c.mu.Unlock()
	k.mu.Lock()
	k.used = time.Now()
	return k
}

// change applies edit to the document under key (nil when absent) until its compare-and-set
// holds; edit returns the new document (nil: change nothing) and the answer.
func (c *counters) change(api plugin.API, key string, ttl int64, edit func(old []byte) ([]byte, any, error)) result {
	k := c.lock(key)
	defer k.mu.Unlock()
	deadline := time.Now().Add(casPatience)
	pause := time.Millisecond
	known := k.last != nil
	for attempt := 0; ; attempt++ {
		if !known {
			value, appErr := api.KVGet(key)
			if appErr != nil {
				return result{appErr: appErr}
			}
			k.last = value
		}
		updated, answer, err := edit(k.last)
		if err != nil {
			return result{err: err}
		}
		if updated == nil {
			return result{value: answer}
		}
		opts := model.PluginKVSetOptions{Atomic: true, OldValue: k.last, ExpireInSeconds: ttl}
		ok, appErr := api.KVSetWithOptions(key, updated, opts)
		if appErr != nil {
			k.last = nil
			return result{appErr: appErr}
		}
		if ok {
			k.last = updated
			return result{value: answer}
		}
		// Another node changed it (or it expired): read it afresh, after a pause.
		known = false
		if time.Now().After(deadline) {
			k.last = nil
			return result{err: fmt.Errorf("the document under %q changed %d times while it was being changed", key, attempt+1)}
		}
		time.Sleep(pause/2 + rand.N(pause))
		pause = min(pause*2, 100*time.Millisecond)
	}
}

// queueRange is a bot's queue counter as stored (src/delivery/store.rs, QueueRange).
type queueRange struct {
	First   uint64 `json:"first"`
	Next    uint64 `json:"next"`
	Dropped uint64 `json:"dropped"`
}

// queuePush gives the next count sequence numbers of the queue under key, moving its front
// past the oldest beyond limit: answered with {"seq", "dropped": [from, to]}.
func (c *counters) queuePush(api plugin.API, key string, limit, count int, ttl int64) result {
	return c.change(api, key, ttl, func(old []byte) ([]byte, any, error) {
		var q queueRange
		if old != nil {
			if err := json.Unmarshal(old, &q); err != nil {
				return nil, nil, fmt.Errorf("the queue counter under %q is not one: %w", key, err)
			}
		}
		seq := q.Next
		q.Next += uint64(count)
		from := q.First
		if span := q.Next - q.First; span > uint64(max(limit, 1)) {
			q.First = q.Next - uint64(max(limit, 1))
			q.Dropped += q.First - from
		}
		updated, err := json.Marshal(q)
		return updated, map[string]any{"seq": seq, "dropped": [2]uint64{from, max(from, q.First)}}, err
	})
}

// count adds by to the count under key (never below 0), unless that passes ceiling: answered
// with {"value": n} or {"at_ceiling": n}.
func (c *counters) count(api plugin.API, key string, by int64, ceiling *uint64, ttl int64) result {
	return c.change(api, key, ttl, func(old []byte) ([]byte, any, error) {
		var n uint64
		if old != nil {
			if err := json.Unmarshal(old, &n); err != nil {
				return nil, nil, fmt.Errorf("the count under %q is not one: %w", key, err)
			}
		}
		next := n
		switch {
		case by >= 0:
			next = n + uint64(by)
		case uint64(-by) < n:
			next = n - uint64(-by)
		default:
			next = 0
		}
		if ceiling != nil && by > 0 && next > *ceiling {
			return nil, map[string]uint64{"at_ceiling": n}, nil
		}
		updated, err := json.Marshal(next)
		return updated, map[string]uint64{"value": next}, err
	})
}

// kvSetMany stores every entry (a few at a time), answering true once all are stored.
func (p *Plugin) kvSetMany(entries map[string]json.RawMessage, ttl int64) result {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed *model.AppError
	slots := make(chan struct{}, 8)
	for key, value := range entries {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			if _, appErr := p.API.KVSetWithOptions(key, value, model.PluginKVSetOptions{ExpireInSeconds: ttl}); appErr != nil {
				mu.Lock()
				failed = appErr
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failed != nil {
		return result{appErr: failed}
	}
	return result{value: true}
}
