package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/segmentio/encoding/json"
)

// The KV primitives the core asks for beyond get and set: many keys at once, and capped lists
// changed with compare-and-set. They are storage mechanics, like a list in Redis: which lists
// exist and what goes in them is the core's to say.

// kvGetMany reads each key (a few at a time), answering {"<key>": value or null}.
// eachAtOnce runs do(0) … do(n-1), eight at a time (each is an RPC round trip to the
// server), and returns when all are done.
func eachAtOnce(n int, do func(i int)) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			do(i)
		}()
	}
	wg.Wait()
}

func (p *Plugin) kvGetMany(keys []string) result {
	values := make([]json.RawMessage, len(keys))
	errs := make([]*model.AppError, len(keys))
	eachAtOnce(len(keys), func(i int) {
		p.pending.wait(keys[i])
		value, appErr := p.API.KVGet(keys[i])
		switch {
		case appErr != nil:
			errs[i] = appErr
		case value == nil || !json.Valid(value):
			values[i] = json.RawMessage("null")
		default:
			values[i] = value
		}
	})
	out := make(map[string]json.RawMessage, len(keys))
	for i, key := range keys {
		if errs[i] != nil {
			return result{appErr: errs[i]}
		}
		out[key] = values[i]
	}
	return result{value: out}
}

// listDoc is a capped list as stored.
type listDoc struct {
	Items   []json.RawMessage `json:"items"`
	Dropped int64             `json:"dropped"`
}

// changeList applies change to the list under key until no other writer got in between:
// serialized on this node (so one node's writers never collide), and retried with a jittered,
// growing pause while other nodes get in between, for at most casPatience.
func (p *Plugin) changeList(key string, ttl int64, change func(*listDoc) any) result {
	k := p.counters.lock(key)
	defer k.mu.Unlock()
	k.last = nil // a list is read afresh: it is changed through here only, but rarely
	deadline := time.Now().Add(casPatience)
	pause := time.Millisecond
	for attempt := 1; ; attempt++ {
		old, appErr := p.API.KVGet(key)
		if appErr != nil {
			return result{appErr: appErr}
		}
		var doc listDoc
		if old != nil {
			if err := json.Unmarshal(old, &doc); err != nil {
				return result{err: fmt.Errorf("the list under %q is not one: %w", key, err)}
			}
		}
		answer := change(&doc)
		if doc.Items == nil {
			doc.Items = []json.RawMessage{}
		}
		updated, err := json.Marshal(doc)
		if err != nil {
			return result{err: err}
		}
		opts := model.PluginKVSetOptions{Atomic: true, OldValue: old, ExpireInSeconds: ttl}
		ok, appErr := p.API.KVSetWithOptions(key, updated, opts)
		if appErr != nil {
			return result{appErr: appErr}
		}
		if ok {
			return result{value: answer}
		}
		if time.Now().After(deadline) {
			return result{err: fmt.Errorf("the list under %q changed %d times while it was being changed", key, attempt)}
		}
		time.Sleep(pause/2 + rand.N(pause))
		pause = min(pause*2, 100*time.Millisecond)
	}
}

// field is item's value for name, as JSON text (nil when absent).
func field(item json.RawMessage, name string) json.RawMessage {
	var fields map[string]json.RawMessage
	if json.Unmarshal(item, &fields) != nil {
		return nil
	}
	return fields[name]
}

// listPush appends q.Item, replacing the item with the same q.Unique field, and drops the
// oldest past q.Cap.
func (p *Plugin) listPush(q query) result {
	return p.changeList(q.Key, q.ExpireInSeconds, func(doc *listDoc) any {
		if q.Unique != "" {
			name := field(q.Item, q.Unique)
			kept := doc.Items[:0]
			for _, item := range doc.Items {
				if !bytes.Equal(field(item, q.Unique), name) {
					kept = append(kept, item)
				}
			}
			doc.Items = kept
		}
		doc.Items = append(doc.Items, q.Item)
		dropped := []json.RawMessage{}
		if over := len(doc.Items) - max(q.Cap, 1); over > 0 {
			dropped = append(dropped, doc.Items[:over]...)
			doc.Items = doc.Items[over:]
			doc.Dropped += int64(over)
		}
		return map[string]any{"dropped": dropped, "len": len(doc.Items)}
	})
}

// listRemove removes every item whose q.Field is q.Value (a JSON string). A list that does not
// exist stays so.
func (p *Plugin) listRemove(q query) result {
	var value string
	if err := json.Unmarshal(q.Value, &value); err != nil {
		return result{err: fmt.Errorf("list_remove needs a string value: %w", err)}
	}
	want, _ := json.Marshal(value)
	existing, appErr := p.API.KVGet(q.Key)
	if appErr != nil {
		return result{appErr: appErr}
	}
	if existing == nil {
		return result{value: map[string]any{"removed": 0, "len": 0}}
	}
	return p.changeList(q.Key, q.ExpireInSeconds, func(doc *listDoc) any {
		kept := doc.Items[:0]
		for _, item := range doc.Items {
			if !bytes.Equal(field(item, q.Field), want) {
				kept = append(kept, item)
			}
		}
		removed := len(doc.Items) - len(kept)
		doc.Items = kept
		return map[string]any{"removed": removed, "len": len(kept)}
	})
}
