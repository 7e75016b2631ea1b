package main

import (
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/segmentio/encoding/json"
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

// waiters holds, on this node, the inputs waiting for a bot's answer (a click, a submission, a
// command, a lookup), by event id: the core registers each wait (the await fact) with what an
// acknowledgement may know of it (held), and an acknowledgement hands the answer over in
// memory (the claim fact). When a wait's time is up it ends, and claims fail from then on;
// the core then keeps the event in the store, and an acknowledgement asking of it (the held
// fact) waits until the input that waited is decided, so that it finds the kept event. An
// ended wait stays known for a while (a tombstone), so that a second or a late
// acknowledgement is answered without the store.
type waiters struct {
	mu      sync.Mutex
	waiting map[string]*wait
	// expected counts the waits registered, to sweep tombstones now and then.
	expected uint64
	// early holds answers handed over before their wait began (a relayed result that came
	// before the await), briefly.
	early map[string]earlyAnswer
}

// wait is one input's wait for an answer.
type wait struct {
	held   json.RawMessage // what the core said of it; nil for a wait only the core's messages end
	state  string          // "waiting", "answered", "ended"
	answer chan handover
	// decided is closed when the input that waited is decided (its kept event stored).
	decided chan struct{}
	ended   time.Time
}

// handover is what reaches an input that waited: the bot's answer and, when the answer alone
// decides the input, the decision the acknowledgement made with it (the core's, as a decision
// reply), so that the input is decided without calling the core again. The zero handover: the
// time was up.
type handover struct {
	answer   json.RawMessage
	decision json.RawMessage
}

type earlyAnswer struct {
	answer json.RawMessage
	at     time.Time
}

const (
	// earlyAnswerLife bounds how long an answer waits for its wait.
	earlyAnswerLife = time.Minute
	// tombstoneLife is how long an ended wait is remembered: as long as the store keeps an
	// answered event (10 minutes), so a second acknowledgement is told it is one.
	tombstoneLife = 10 * time.Minute
	// maxWaits bounds the waits and tombstones kept; past it the oldest tombstones go.
	maxWaits = 100_000
	// decidedWait bounds how long an acknowledgement waits for an ended wait's input to be
	// decided (it stores the kept event): the rounds after a window are a few store calls.
	decidedWait = 10 * time.Second
)

// expect registers the wait for eventID before the event is published, so that no answer can
// come before anyone listens.
func (w *waiters) expect(eventID string, held json.RawMessage) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waiting == nil {
		w.waiting = make(map[string]*wait)
	}
	if _, ok := w.waiting[eventID]; ok {
		return
	}
	w.expected++
	if len(w.waiting) >= maxWaits || w.expected%1024 == 0 {
		w.sweep(time.Now(), len(w.waiting) >= maxWaits)
	}
	w.waiting[eventID] = &wait{held: held, state: "waiting", answer: make(chan handover, 1), decided: make(chan struct{})}
}

// await waits for eventID's answer until deadline; none when the time is up, and the wait has
// ended: claims fail from then on.
func (w *waiters) await(eventID string, held json.RawMessage, deadline time.Duration) handover {
	w.expect(eventID, held)
	w.mu.Lock()
	wt := w.waiting[eventID]
	if e, ok := w.early[eventID]; ok && wt.state == "waiting" {
		delete(w.early, eventID)
		wt.state = "answered"
		wt.answer <- handover{answer: e.answer}
	}
	w.mu.Unlock()
	timer := time.NewTimer(max(deadline, 0))
	defer timer.Stop()
	select {
	case answer := <-wt.answer:
		return answer
	case <-timer.C:
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if wt.state == "answered" { // a claim won as the time ran out
		return <-wt.answer
	}
	wt.state, wt.ended = "ended", time.Now()
	return handover{}
}

// decided marks the waits of an input decided (its decide loop is over): acknowledgements
// waiting to learn of an ended wait go on.
func (w *waiters) decided(eventIDs []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	for _, id := range eventIDs {
		if wt, ok := w.waiting[id]; ok {
			if wt.state == "waiting" {
				wt.state, wt.ended = "ended", now
			}
			select {
			case <-wt.decided:
			default:
				close(wt.decided)
			}
			if wt.held == nil { // a relay's result: nobody asks of it later
				delete(w.waiting, id)
			}
		}
	}
}

// heldState answers the held fact: what this node knows of a wait for eventID, or JSON null.
func (w *waiters) heldState(eventID string) json.RawMessage {
	w.mu.Lock()
	wt, ok := w.waiting[eventID]
	w.mu.Unlock()
	if !ok || wt.held == nil {
		return json.RawMessage("null")
	}
	w.untilDecided(wt)
	w.mu.Lock()
	state := wt.state
	w.mu.Unlock()
	return describeWait(state, wt.held)
}

// untilDecided waits, if wt's time is up, until the input that waited is decided.
func (w *waiters) untilDecided(wt *wait) {
	w.mu.Lock()
	ended := wt.state == "ended"
	w.mu.Unlock()
	if !ended {
		return
	}
	select {
	case <-wt.decided:
	case <-time.After(decidedWait):
	}
}

// describeWait is {"state", ...held} as the core reads it.
func describeWait(state string, held json.RawMessage) json.RawMessage {
	out := make([]byte, 0, len(held)+24)
	out = append(out, `{"state":"`...)
	out = append(out, state...)
	out = append(out, `",`...)
	return append(out, held[1:]...) // held is a JSON object the core wrote
}

// claim hands answer (and the decision made with it, if any) to the input waiting for eventID,
// if it still waits: "claimed", "answered" (another claim won), "ended" (its time was up:
// reported once its input is decided) or "absent".
func (w *waiters) claim(eventID string, answer, decision json.RawMessage) string {
	w.mu.Lock()
	wt, ok := w.waiting[eventID]
	if !ok || wt.held == nil {
		w.mu.Unlock()
		return "absent"
	}
	switch wt.state {
	case "waiting":
		wt.state = "answered"
		wt.answer <- handover{answer: answer, decision: decision}
		w.mu.Unlock()
		// The waiting input goes first. While the plugin's work is interactive it runs on one
		// processor (processors.go), where the input just woken waits for this goroutine to
		// block, and a core call cannot be interrupted: without a yield the click's response
		// would wait for the rest of the acknowledgement — its last core call, its hook's
		// return or its REST response. The input, once running, writes its response and
		// blocks on that round trip, and the acknowledgement goes on.
		runtime.Gosched()
		return "claimed"
	case "answered":
		w.mu.Unlock()
		return "answered"
	}
	w.mu.Unlock()
	w.untilDecided(wt)
	return "ended"
}

// wake hands answer to a wait the core's own messages end (a relayed acknowledgement's
// result), or keeps it a moment for a wait about to begin.
func (w *waiters) wake(eventID string, answer json.RawMessage) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if wt, ok := w.waiting[eventID]; ok && wt.held == nil {
		if wt.state == "waiting" {
			wt.state = "answered"
			wt.answer <- handover{answer: answer}
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

// sweep drops tombstones past their life (all ended ones when full). Called with mu held.
func (w *waiters) sweep(now time.Time, full bool) {
	for id, wt := range w.waiting {
		if wt.state == "waiting" {
			continue
		}
		select {
		case <-wt.decided:
		default:
			continue // its input is still being decided
		}
		if full || now.Sub(wt.ended) > tombstoneLife {
			delete(w.waiting, id)
		}
	}
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
