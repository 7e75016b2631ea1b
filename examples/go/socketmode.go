package main

// SocketMode is the plugin's delivery protocol for a model.WebSocketClient bot: copy this
// file into your bot.
//
//   - It subscribes each connection: on every hello (so again after a reconnect) and when the
//     plugin asks (resubscribe, after it restarted). From then on each event comes to one
//     connection of the bot, and events made while the bot was away are kept and sent again
//     when it is back.
//   - It hands each event to Handler once: an event sent again (same proxy.event_id, e.g. it
//     was being handled when the bot stopped) is acknowledged again but not handled twice.
//   - It acknowledges each event with what Handler returned. For a click that is an answer as
//     an HTTP integration gives one ("update", "ephemeral_text"); for a command, a command
//     response ("response_type", "text"); for a dialog submission, the dialog's response
//     ({}, "errors", "error"); for a lookup, "items". Within the answer window (2.5 s by
//     default) it is what the person gets. nil acknowledges without an answer.
//   - It reconnects when the connection drops.

import (
	"context"
	"log"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

const eventPrefix = "custom_" + pluginID + "_"

// answered are the plugin's events that the bot answers in their acknowledgement.
var answered = map[string]bool{"action": true, "command": true, "dialog_submission": true, "dialog_lookup": true}

type SocketMode struct {
	// Handler handles one event ("action", "command", "dialog_submission" or "dialog_lookup")
	// and returns the answer to acknowledge it with. Events are handled one at a time, in the
	// order they come.
	Handler func(event string, data map[string]any) map[string]any
	// OnSubscribed, if set, is called with {connection_id, answer_window_ms, kept} each time a
	// connection's subscription is taken.
	OnSubscribed func(data map[string]any)
	// Expand, if set, is what every event should carry in proxy.expanded (SPEC §13), e.g.
	// {"acting_user": "summary", "post": "summary", "locale": true}.
	Expand map[string]any

	seen *seen
}

// Run connects with the bot's token and handles events until ctx is done.
func (s *SocketMode) Run(ctx context.Context, siteURL, token string) {
	if s.seen == nil {
		s.seen = newSeen(1000)
	}
	wsURL := "ws" + strings.TrimPrefix(strings.TrimRight(siteURL, "/"), "http")
	for ctx.Err() == nil {
		ws, err := model.NewWebSocketClient4(wsURL, token)
		if err != nil {
			log.Printf("websocket: %v (again in a second)", err)
			time.Sleep(time.Second)
			continue
		}
		ws.Listen()
		go func() {
			for range ws.ResponseChannel { // replies to our messages: none we need, but they must be read
			}
		}()
		go func() { <-ctx.Done(); ws.Close() }()
		s.serve(ws)
		if ctx.Err() == nil {
			log.Printf("websocket closed (%v): reconnecting", ws.ListenError)
			time.Sleep(time.Second)
		}
	}
}

// serve handles one connection's events until it closes.
func (s *SocketMode) serve(ws *model.WebSocketClient) {
	for ev := range ws.EventChannel {
		name, ours := strings.CutPrefix(string(ev.EventType()), eventPrefix)
		switch {
		case ev.EventType() == model.WebsocketEventHello, ours && name == "resubscribe":
			ws.SendMessage(eventPrefix+"subscribe", map[string]any{"protocol": 1, "expand": s.Expand})
		case ours && name == "subscribed" && s.OnSubscribed != nil:
			s.OnSubscribed(ev.GetData())
		case ours && name == "error":
			log.Printf("the plugin refused a message: %v", ev.GetData())
		case ours && answered[name]:
			data := ev.GetData()
			proxy, _ := data["proxy"].(map[string]any)
			eventID, _ := proxy["event_id"].(string)
			var answer map[string]any
			if s.seen.firstTime(eventID) {
				answer = s.Handler(name, data)
			}
			// No delivery: the event came before the subscription was taken (or from an older
			// plugin); nobody waits for an answer, and there is nothing to acknowledge.
			if proxy["delivery"] == nil {
				continue
			}
			ack := map[string]any{"event_id": eventID}
			if answer != nil {
				ack["answer"] = answer
			}
			ws.SendMessage(eventPrefix+"ack", ack)
		}
	}
}

// seen remembers the last event ids, to handle an event sent twice once.
type seen struct {
	ids   map[string]bool
	order []string
	size  int
}

func newSeen(size int) *seen { return &seen{ids: map[string]bool{}, size: size} }

// firstTime reports whether id is new, and remembers it.
func (s *seen) firstTime(id string) bool {
	if s.ids[id] {
		return false
	}
	s.ids[id] = true
	s.order = append(s.order, id)
	if len(s.order) > s.size {
		delete(s.ids, s.order[0])
		s.order = s.order[1:]
	}
	return true
}
