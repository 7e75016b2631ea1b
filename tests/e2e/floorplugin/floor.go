package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// The floor: the least any plugin can do to have a bot on its websocket answer a click, a
// lookup or a slash command, the hops Mattermost's plugin API leaves no way around. It reads
// the request, publishes it to the bot as custom_com.example.e2e-floor_floor
// {event_id, kind, request}, waits in memory for the bot's answer {event_id, answer} — sent as
// custom_com.example.e2e-floor_ack on the websocket (WebSocketMessageHasBeenPosted), or posted
// to /plugins/com.example.e2e-floor/ack — and answers Mattermost with the bot's answer as it
// is. It checks nothing, keeps nothing and runs no core: the
// benchmarks set the real plugin beside it, so that what the plugin adds to the hops can be
// told from the hops themselves (docs/BENCHMARKS.md).

const (
	floorTrigger = "e2efloor"
	// floorReadTrigger is the same command, but its text reaches the bot only once the team's
	// own commands are read and none has the trigger: the least a plugin does that keeps what
	// people type for a team's command from a bot (Mattermost runs plugin commands first).
	floorReadTrigger = "e2efloorread"
	floorWait        = 5 * time.Second
)

type floor struct {
	mu      sync.Mutex
	waiting map[string]floorWaiter
}

type floorWaiter struct {
	bot    string
	answer chan json.RawMessage
}

// ask publishes request to bot and waits for its answer; nil when none came in time.
func (p *floorPlugin) ask(bot, kind string, request map[string]any) json.RawMessage {
	id := model.NewId()
	ch := make(chan json.RawMessage, 1)
	p.floor.mu.Lock()
	if p.floor.waiting == nil {
		p.floor.waiting = make(map[string]floorWaiter)
	}
	p.floor.waiting[id] = floorWaiter{bot: bot, answer: ch}
	p.floor.mu.Unlock()
	defer func() {
		p.floor.mu.Lock()
		delete(p.floor.waiting, id)
		p.floor.mu.Unlock()
	}()
	p.API.PublishWebSocketEvent("floor", map[string]any{"event_id": id, "kind": kind, "request": request},
		&model.WebsocketBroadcast{UserId: bot})
	select {
	case a := <-ch:
		return a
	case <-time.After(floorWait):
		return nil
	}
}

// ServeHTTP answers POST /plugins/com.example.e2e-floor/floor?to=<user id>&kind=<click or
// lookup>[&check=read]: a click or a dialog's lookup, with the bot's answer; and POST
// /plugins/com.example.e2e-floor/ack, a bot's answer over REST.
func (p *floorPlugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ack" {
		var ack struct {
			EventID string          `json:"event_id"`
			Answer  json.RawMessage `json:"answer"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ack); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// Mattermost sets the header from the request's token, and strips one a client sent.
		if !p.answer(ack.EventID, r.Header.Get("Mattermost-User-Id"), ack.Answer) {
			http.Error(w, "no such event", http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte(`{"status":"OK"}`))
		return
	}
	if r.URL.Path != "/floor" {
		http.NotFound(w, r)
		return
	}
	// Decoded, as the baseline does: the payload crosses a gob-encoded RPC, which carries
	// maps, strings and float64 numbers.
	var request map[string]any
	if err := json.NewDecoder(r.Body).Decode(&request); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// check=read: the clicker must be able to read the channel, asked of Mattermost before the
	// bot hears the click — what a plugin must ask on Mattermost 11.4, whose own check of a
	// click that carries a cookie looks only at the cookie's channel (tests/e2e/FINDINGS.md).
	if r.URL.Query().Get("check") == "read" {
		user, _ := request["user_id"].(string)
		channel, _ := request["channel_id"].(string)
		if !p.API.HasPermissionToChannel(user, channel, model.PermissionReadChannel) {
			http.Error(w, "the clicker cannot read the channel", http.StatusForbidden)
			return
		}
	}
	answer := p.ask(r.URL.Query().Get("to"), r.URL.Query().Get("kind"), request)
	if answer == nil {
		http.Error(w, "no answer", http.StatusGatewayTimeout)
		return
	}
	_, _ = w.Write(answer)
}

// ExecuteCommand answers /e2efloor <bot's user id> <text> with the bot's command response;
// /e2efloorread the same after reading the team's own commands, and hands it back to
// Mattermost when the team has one with that trigger.
func (p *floorPlugin) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	fields := strings.SplitN(args.Command, " ", 3)
	if len(fields) < 3 {
		return nil, model.NewAppError("ExecuteCommand", "floor.usage", nil, "usage: /e2efloor <user id> <text>", http.StatusBadRequest)
	}
	if trigger := strings.TrimPrefix(fields[0], "/"); trigger == floorReadTrigger {
		custom, err := p.API.ListCustomCommands(args.TeamId)
		if err != nil {
			return nil, model.NewAppError("ExecuteCommand", "floor.read", nil, err.Error(), http.StatusInternalServerError)
		}
		for _, c := range custom {
			if strings.EqualFold(c.Trigger, trigger) {
				return nil, nil // Mattermost runs the team's own
			}
		}
	}
	answer := p.ask(fields[1], "command", map[string]any{"text": fields[2], "user_id": args.UserId, "channel_id": args.ChannelId})
	var response model.CommandResponse
	if answer == nil || json.Unmarshal(answer, &response) != nil {
		return nil, model.NewAppError("ExecuteCommand", "floor.no_answer", nil, "no answer", http.StatusGatewayTimeout)
	}
	return &response, nil
}

// WebSocketMessageHasBeenPosted hands the bot's answer to the request waiting for it; only
// the user the event went to may answer it.
func (p *floorPlugin) WebSocketMessageHasBeenPosted(_, userID string, req *model.WebSocketRequest) {
	if req == nil || req.Action != "custom_com.example.e2e-floor_ack" {
		return
	}
	id, _ := req.Data["event_id"].(string)
	raw, err := json.Marshal(req.Data["answer"])
	if err != nil {
		return
	}
	p.answer(id, userID, raw)
}

// answer hands answer to the request waiting for event id, if userID is the bot it went to.
func (p *floorPlugin) answer(id, userID string, answer json.RawMessage) bool {
	p.floor.mu.Lock()
	wt, ok := p.floor.waiting[id]
	ok = ok && wt.bot == userID
	if ok {
		delete(p.floor.waiting, id)
	}
	p.floor.mu.Unlock()
	if ok {
		wt.answer <- answer
	}
	return ok
}
