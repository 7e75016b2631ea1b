package main

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// clusterEventID names the plugin's messages between nodes (PublishPluginClusterEvent).
const clusterEventID = "socketmode"

// WebSocketMessageHasBeenPosted hands the core the messages a connection addresses to this
// plugin (custom_<id>_…). Mattermost calls it for every websocket message of every user, so
// the prefix test comes first: it is plumbing (is this message for us at all), not a decision.
func (p *Plugin) WebSocketMessageHasBeenPosted(connID, userID string, req *model.WebSocketRequest) {
	if req == nil {
		return
	}
	action, ours := strings.CutPrefix(req.Action, "custom_"+p.info.PluginID+"_")
	if !ours {
		return
	}
	data, err := json.Marshal(req.Data)
	if err != nil || req.Data == nil {
		data = []byte("{}")
	}
	p.hook(input{WebSocket: &socketMessage{ConnectionID: connID, UserID: userID, Action: action, Seq: req.Seq, Data: data}})
}

// OnWebSocketDisconnect reports the end of the connections the core asked to watch: most
// connections are people's, and the core need not hear of them.
func (p *Plugin) OnWebSocketDisconnect(connID, userID string) {
	if _, watched := p.watched.LoadAndDelete(connID); watched {
		p.hook(input{Disconnected: &connectionEnd{ConnectionID: connID, UserID: userID}})
	}
}

// OnPluginClusterEvent hands the core what another node's core sent.
func (p *Plugin) OnPluginClusterEvent(_ *plugin.Context, ev model.PluginClusterEvent) {
	if ev.Id != clusterEventID {
		return
	}
	p.hook(input{Cluster: &clusterMessage{Message: ev.Data}})
}

// waiters hands a bot's answer to the click waiting for it on this node.
type waiters struct {
	mu sync.Mutex
	// waiting is the click waiting for each event.
	waiting map[string]chan json.RawMessage
	// early holds answers that came before their click began to wait (the bot answered while
	// the publish was still returning), briefly.
	early map[string]earlyAnswer
}

type earlyAnswer struct {
	answer json.RawMessage
	at     time.Time
}

// earlyAnswerLife bounds how long an answer waits for its click.
const earlyAnswerLife = time.Minute

// expect registers the wait for eventID before the event is published, so that no answer can
// come before anyone listens.
func (w *waiters) expect(eventID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waiting == nil {
		w.waiting = make(map[string]chan json.RawMessage)
	}
	if _, ok := w.waiting[eventID]; !ok {
		w.waiting[eventID] = make(chan json.RawMessage, 1)
	}
}

// await waits for eventID's answer until deadline; nil when the time is up.
func (w *waiters) await(eventID string, deadline time.Duration) json.RawMessage {
	w.expect(eventID)
	w.mu.Lock()
	ch := w.waiting[eventID]
	if e, ok := w.early[eventID]; ok {
		delete(w.early, eventID)
		ch <- e.answer
	}
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.waiting, eventID)
		w.mu.Unlock()
	}()
	timer := time.NewTimer(max(deadline, 0))
	defer timer.Stop()
	select {
	case answer := <-ch:
		return answer
	case <-timer.C:
		select {
		case answer := <-ch:
			return answer
		default:
			return nil
		}
	}
}

// wake hands answer to the click waiting for eventID, or keeps it a moment for a click that
// is about to wait.
func (w *waiters) wake(eventID string, answer json.RawMessage) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ch, ok := w.waiting[eventID]; ok {
		select {
		case ch <- answer:
		default:
		}
		return
	}
	if w.early == nil {
		w.early = make(map[string]earlyAnswer)
	}
	now := time.Now()
	for id, e := range w.early {
		if now.Sub(e.at) > earlyAnswerLife {
			delete(w.early, id)
		}
	}
	w.early[eventID] = earlyAnswer{answer: answer, at: now}
}

// timers are the core's timers on this node, by name.
type timers struct {
	mu      sync.Mutex
	pending map[string]*time.Timer
	stopped bool
	// manual records the timers without ever firing them (tests fire them by hand).
	manual bool
}

// set fires fire(name) after d, replacing any timer of that name.
func (t *timers) set(name string, d time.Duration, fire func(string)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	if t.pending == nil {
		t.pending = make(map[string]*time.Timer)
	}
	if old := t.pending[name]; old != nil {
		old.Stop()
	}
	if t.manual {
		t.pending[name] = time.NewTimer(time.Hour)
		t.pending[name].Stop()
		return
	}
	// A fired timer leaves the map: the core names timers after what they carry (a replay's
	// cursor), so names do not repeat. The callback takes the lock set holds until timer is
	// assigned.
	var timer *time.Timer
	timer = time.AfterFunc(max(d, 0), func() {
		t.mu.Lock()
		if t.pending[name] == timer {
			delete(t.pending, name)
		}
		t.mu.Unlock()
		fire(name)
	})
	t.pending[name] = timer
}

// count is how many timers are set and not yet fired.
func (t *timers) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

// stop cancels every timer, for deactivation.
func (t *timers) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	for _, timer := range t.pending {
		timer.Stop()
	}
}
