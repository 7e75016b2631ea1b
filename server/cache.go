package main

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/encoding/json"
)

// factCache keeps answers the core said may be reused (query.CacheMs): the facts that rarely
// change, such as an account or a channel's name. Only answers that were found are kept, for
// no longer than the core allows, and the core names what to forget when a hook says it
// changed. It is plumbing: what may be cached, for how long, is the core's to say.
type factCache struct {
	mu sync.Mutex
	// entries holds, per fact, its answers by the fields they were projected to ("" for the
	// whole answer): forgetting a fact forgets every projection of it.
	entries map[string]cachedFact
	// order is the facts in the order they were stored, oldest from head on, each with the
	// sequence number it was stored under: full, the cache drops its oldest fact, so a flood of
	// made-up facts (a click per made-up trigger) pushes out only what is older than all of it,
	// never a fact stored since. A fact stored again, or forgotten, is not looked for: its pair
	// is left in place and skipped when reached (its sequence is no longer the fact's).
	order []storedFact
	head  int
	// stores numbers the stores, so that a fact's latest one tells its live pair in order.
	stores uint64
	// forgets counts the forgets so far. An answer asked before a forget and received after it
	// may be the very value forgotten (a key read while it was rotated): it is not kept
	// (putAsked). One count for every fact keeps it bounded; a forget is rare, and an answer
	// not kept only costs its next reader a round trip.
	forgets uint64
}

type cachedFact struct {
	answers map[string]cachedAnswer
	stored  uint64 // the sequence of its latest store
}

type storedFact struct {
	key    string
	stored uint64
}

type cachedAnswer struct {
	answer json.RawMessage
	at     time.Time
}

// maxCachedFacts bounds the cache; past it the oldest fact stored makes room, which keeps
// memory flat however many users and channels click (order holds at most twice as many pairs).
const maxCachedFacts = 10_000

// cacheKey names a fact by everything it asks (every field of the query), not by the name the
// core gave the answer nor how old an answer it accepts: two facts that differ in any field,
// such as two permissions of one user, are two entries. Each field has its slot, in a fixed
// order: "-" when empty, else a text's length, ':' and the text, or a number and ';'. So no two
// queries share a key. It is built by hand into one buffer because every click looks facts up
// (fmt's %#v spent more of the plugin's CPU than a click's core call's own decoding).
func cacheKey(q query) string {
	var buf [256]byte
	b := buf[:0]
	for _, s := range [...]string{q.Fact, q.PostID, q.UserID, q.ChannelID, q.TeamID, q.Permission,
		q.Key, q.Expected, q.Old, q.Unique, q.Field, q.EventID, q.Trigger} {
		b = appendKeyText(b, s)
	}
	for _, r := range [...]json.RawMessage{q.Value, q.Request, q.New, q.Item, q.Held, q.Answer, q.Post, q.Decision} {
		b = appendKeyText(b, string(r)) // no copy: the conversion only feeds append
	}
	for _, n := range [...]int64{q.ExpireInSeconds, int64(q.Cap), q.UntilMs, int64(q.Count), q.By} {
		b = appendKeyNumber(b, n)
	}
	for _, ids := range [...][]string{q.Keys, q.ChannelIDs, q.UserIDs} {
		b = appendKeyNumber(b, int64(len(ids)))
		for _, k := range ids {
			b = appendKeyText(b, k)
		}
	}
	if q.Ceiling != nil {
		b = strconv.AppendUint(b, *q.Ceiling, 10)
		b = append(b, ';')
	} else {
		b = append(b, '-')
	}
	b = appendKeyNumber(b, int64(len(q.Entries)))
	if len(q.Entries) > 0 {
		entries := make([]string, 0, len(q.Entries))
		for k := range q.Entries {
			entries = append(entries, k)
		}
		sort.Strings(entries)
		for _, k := range entries {
			b = appendKeyText(b, k)
			b = appendKeyText(b, string(q.Entries[k]))
		}
	}
	return string(b)
}

// appendKeyText appends one text slot of a cache key.
func appendKeyText(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// appendKeyNumber appends one number slot of a cache key.
func appendKeyNumber(b []byte, n int64) []byte {
	if n == 0 {
		return append(b, '-')
	}
	b = strconv.AppendInt(b, n, 10)
	return append(b, ';')
}

// projectionKey names the fields an answer was projected to.
func projectionKey(q query) string {
	return strings.Join(q.Fields, ",")
}

func (c *factCache) get(q query, now time.Time) (json.RawMessage, bool) {
	if q.CacheMs <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[cacheKey(q)].answers[projectionKey(q)]
	if !ok || now.Sub(e.at) > time.Duration(q.CacheMs)*time.Millisecond {
		return nil, false
	}
	return e.answer, true
}

// generation is what putAsked compares: take it before asking.
func (c *factCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.forgets
}

// putAsked keeps answer, asked when the cache was at generation asked, unless something was
// forgotten since: it might be this very answer, read before the change that made it wrong.
func (c *factCache) putAsked(q query, answer json.RawMessage, now time.Time, asked uint64) {
	c.store(q, answer, now, &asked)
}

func (c *factCache) put(q query, answer json.RawMessage, now time.Time) {
	c.store(q, answer, now, nil)
}

func (c *factCache) store(q query, answer json.RawMessage, now time.Time, asked *uint64) {
	if q.CacheMs <= 0 || !bytes.HasPrefix(answer, []byte(`{"found":`)) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if asked != nil && *asked != c.forgets {
		return
	}
	if c.entries == nil {
		c.entries = make(map[string]cachedFact)
	}
	key := cacheKey(q)
	fact, ok := c.entries[key]
	if !ok {
		if len(c.entries) >= maxCachedFacts {
			c.dropOldest()
		}
		fact.answers = make(map[string]cachedAnswer, 1)
	}
	fact.answers[projectionKey(q)] = cachedAnswer{answer: answer, at: now}
	// Stored again, a fact is as new as any: it goes to the back.
	c.stores++
	fact.stored = c.stores
	c.entries[key] = fact
	c.order = append(c.order, storedFact{key: key, stored: c.stores})
	if len(c.order) >= 2*maxCachedFacts {
		c.compact()
	}
}

// dropOldest forgets the fact stored longest ago (stored again since counts as since). Every
// fact kept has its live pair in order, so the cache being full, one is found.
func (c *factCache) dropOldest() {
	for c.head < len(c.order) {
		p := c.order[c.head]
		c.order[c.head] = storedFact{} // not to hold the key's text
		c.head++
		if fact, ok := c.entries[p.key]; ok && fact.stored == p.stored {
			delete(c.entries, p.key)
			return
		}
	}
}

// compact keeps only the live pairs of order, in place: at most maxCachedFacts of them, so it
// runs once per maxCachedFacts stores at most, and order never outgrows twice the bound.
func (c *factCache) compact() {
	live := c.order[:0]
	for _, p := range c.order[c.head:] {
		if fact, ok := c.entries[p.key]; ok && fact.stored == p.stored {
			live = append(live, p)
		}
	}
	clear(c.order[len(live):])
	c.order, c.head = live, 0
}

// remember keeps found as the answer to q, as if Mattermost had just given it (the core says
// which facts; a later query decides how old an answer it accepts).
func (c *factCache) remember(q query, found json.RawMessage, now time.Time) {
	q.CacheMs = 1
	c.put(q, append(append([]byte(`{"found":`), found...), '}'), now)
}

func (c *factCache) forget(q query) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgets++
	delete(c.entries, cacheKey(q))
}

// pendingStores tracks the KV stores carried out off the request's path, so that a read of
// the same key on this node waits for the store instead of missing it.
type pendingStores struct {
	mu   sync.Mutex
	keys map[string]chan struct{}
	wg   sync.WaitGroup
}

// start runs store in the background; it is done when the returned function is called.
func (s *pendingStores) start(key string, store func()) {
	done := make(chan struct{})
	s.mu.Lock()
	if s.keys == nil {
		s.keys = make(map[string]chan struct{})
	}
	s.keys[key] = done
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		store()
		s.mu.Lock()
		if s.keys[key] == done {
			delete(s.keys, key)
		}
		s.mu.Unlock()
		close(done)
	}()
}

// wait blocks until no store of key started before it is still under way.
func (s *pendingStores) wait(key string) {
	s.mu.Lock()
	done := s.keys[key]
	s.mu.Unlock()
	if done != nil {
		<-done
	}
}
