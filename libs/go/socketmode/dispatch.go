package socketmode

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// The protocol's events, without their custom_<id>_ prefix, that are not work for a handler.
const (
	evSubscribed   = "subscribed"
	evResubscribe  = "resubscribe"
	evUnsubscribed = "unsubscribed"
	evError        = "error"
	evAckResult    = "ack_result"
)

// pluginEvent is an event's name without the plugin's prefix, and whether it is the plugin's.
func pluginEvent(event string) (string, bool) {
	return strings.CutPrefix(event, eventPrefix)
}

// carriesWork reports whether a plugin event is for a handler (and acknowledged).
func carriesWork(name string) bool {
	switch name {
	case evSubscribed, evResubscribe, evUnsubscribed, evError, evAckResult:
		return false
	}
	return true
}

// receive handles one frame read from c (msg, all of it), on the reading goroutine: protocol
// events at once; for work, it returns what to run (see dispatch).
func (a *App) receive(c *conn, f frame, msg []byte) (work func()) {
	name, ours := pluginEvent(f.Event)
	if len(f.Data) == 0 {
		f.Data = json.RawMessage("null") // as an event without data always read
	}
	switch {
	case f.Event == "":
		// A reply to one of the bot's own messages: none is needed.
	case ours && name == evResubscribe:
		a.subscribe(c) // the plugin restarted: subscribe again
	case !ours:
		if f.Event == string(model.WebsocketEventHello) {
			c.greeted.Store(true)
			a.subscribe(c) // every hello is a new connection: subscribe it
		}
		// Mattermost's own events are read into its type only for a bot that asked for them.
		if h := a.handlers.websocket(); h != nil {
			if ev, err := model.WebSocketEventFromJSON(bytes.NewReader(msg)); err == nil {
				h(ev)
			}
		}
	case name == evSubscribed:
		a.subscribed(c, f.Data)
	case name == evUnsubscribed, name == evAckResult:
		a.log.Debug("plugin event", "event", name, "data", string(f.Data))
	case name == evError:
		// A message of ours was refused: a bad answer (the event stays kept), a bad
		// subscription. The bot's developer needs to read it.
		var refused struct {
			Action  string `json:"action"`
			EventID string `json:"event_id"`
			Error   struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(f.Data, &refused)
		a.log.Error("the plugin refused a message", "action", refused.Action, "event_id", refused.EventID,
			"code", refused.Error.Code, "message", refused.Error.Message)
	default:
		return a.dispatch(c, name, f.Data)
	}
	return nil
}

// subscribed records c as the connection events come on; the first time, the app becomes
// ready (commands registered, OnReady called) in the background.
func (a *App) subscribed(c *conn, data json.RawMessage) {
	var s Subscribed
	_ = json.Unmarshal(data, &s)
	a.log.Info("subscribed", "connection_id", s.ConnectionID, "kept", s.Kept, "answer_window_ms", s.AnswerWindowMs)
	c.answered.Store(true)
	a.mu.Lock()
	a.live = c
	first := !a.ready && !a.stopping.Load()
	if first {
		a.ready = true
		a.running.Add(1)
	}
	a.mu.Unlock()
	if first {
		go func() {
			defer a.running.Done()
			a.becomeReady(s)
		}()
	}
}

// becomeReady registers the slash commands (once subscribed, so that none typed meanwhile
// reaches a bot that cannot answer it) and calls OnReady.
func (a *App) becomeReady(s Subscribed) {
	r := &Ready{BotUserID: a.bot, Subscribed: s, Commands: map[string]error{}}
	for trigger, cmd := range a.handlers.allCommands() {
		err := a.registerCommand(a.work, trigger, cmd.info)
		if err != nil {
			a.log.Error("registering a slash command failed", "trigger", trigger, "error", err)
		}
		r.Commands[trigger] = err
	}
	if h := a.handlers.ready(); h != nil {
		func() {
			defer a.recovered("OnReady")
			h(a.work, r)
		}()
	}
}

// dispatch prepares the handling of one event: its handler run once per proxy.event_id, and
// the event acknowledged (when it has proxy.delivery) with the answer, every time it comes.
// It returns that work, for the caller to run on a goroutine other than the reader's; nil
// when there is none.
func (a *App) dispatch(c *conn, name string, raw json.RawMessage) (work func()) {
	var head struct {
		Proxy struct {
			EventID  string          `json:"event_id"`
			Delivery json.RawMessage `json:"delivery"`
		} `json:"proxy"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		a.log.Error("an event could not be read", "event", name, "error", err)
		return nil
	}
	id, acked := head.Proxy.EventID, len(head.Proxy.Delivery) > 0 && string(head.Proxy.Delivery) != "null"
	if !a.admit() {
		a.leftToPlugin(name)
		return nil
	}
	entry, first := a.memory.claim(id)
	if !first {
		// Sent again: its acknowledgement was lost, or it was being handled when the
		// connection went away. Acknowledge it again with the first answer, once known.
		return func() {
			defer a.running.Done()
			select {
			case <-entry.done:
			case <-a.work.Done():
				return
			}
			a.log.Debug("an event came again: acknowledged with its first answer", "event", name, "event_id", id)
			if acked {
				a.sendAck(c, id, entry.answer)
			}
		}
	}
	return func() {
		defer a.running.Done()
		select { // at most Concurrency handlers at once
		case a.sem <- struct{}{}:
		case <-a.work.Done():
			return
		}
		defer func() { <-a.sem }()
		a.handle(c, name, raw, id, entry, acked)
	}
}

// handle runs the handler matched for one event and acknowledges it with the answer: the
// handler's return value, or what it passed to Ack first.
func (a *App) handle(c *conn, name string, raw json.RawMessage, id string, entry *remembered, acked bool) {
	var once sync.Once
	var ackedEarly atomic.Bool
	finish := func(answer any) {
		once.Do(func() {
			encoded, err := encodeAnswer(answer, a.bot)
			if err != nil {
				a.log.Error("the answer could not be encoded: acknowledged without it", "event", name, "event_id", id, "error", err)
				encoded = nil
			}
			entry.finish(encoded)
			if acked {
				a.sendAck(c, id, encoded)
			}
		})
	}
	run, ok := a.handlers.match(name, raw, func(answer any) {
		if ackedEarly.Swap(true) {
			a.log.Warn("Ack called twice: the first answer stands", "event", name, "event_id", id)
			return
		}
		finish(answer)
	})
	if !ok {
		a.log.Info("no handler for this event: acknowledged without an answer", "event", name, "event_id", id)
		finish(nil)
		return
	}
	answer, err := a.call(run)
	switch {
	case err != nil:
		a.log.Error("the handler failed: acknowledged without an answer", "event", name, "event_id", id, "error", err)
		answer = nil
	case ackedEarly.Load() && answer != nil:
		a.log.Warn("the handler returned an answer after Ack: the first answer stands", "event", name, "event_id", id)
	}
	finish(answer)
}

// call runs a handler, turning a panic into an error.
func (a *App) call(run func(context.Context) (any, error)) (answer any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return run(a.work)
}

// recovered logs a panic in a callback of the bot's.
func (a *App) recovered(what string) {
	if p := recover(); p != nil {
		a.log.Error("a callback panicked", "callback", what, "panic", p, "stack", string(debug.Stack()))
	}
}

// sendAck acknowledges event id with answer (nil: none): on the connection it came on,
// else on the bot's live one, else over REST (POST /api/v1/ack) when no socket is up.
func (a *App) sendAck(c *conn, id string, answer json.RawMessage) {
	data := map[string]any{"event_id": id}
	if answer != nil {
		data["answer"] = answer
	}
	if a.work.Err() != nil {
		return // past the shutdown timeout: the plugin sends the event again later
	}
	if c.send(eventPrefix+"ack", data) {
		return
	}
	a.mu.Lock()
	live := a.live
	a.mu.Unlock()
	if live != nil && live != c && live.send(eventPrefix+"ack", data) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(a.work), 15*time.Second)
	defer cancel()
	var result struct {
		Status string `json:"status"`
	}
	if err := a.pluginCall(ctx, http.MethodPost, "/api/v1/ack", data, &result); err != nil {
		a.log.Error("acknowledging over REST failed: the plugin will send the event again", "event_id", id, "error", err)
		return
	}
	a.log.Debug("acknowledged over REST (no websocket)", "event_id", id, "status", result.Status)
}
