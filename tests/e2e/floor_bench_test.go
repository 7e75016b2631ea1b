package e2e_test

// The floor: tests/e2e/floorplugin, the least any plugin can do to have a websocket bot
// answer a click, a lookup or a command (publish, wait in memory for the bot's ack on its
// websocket, answer). The benchmarks run it as one more side beside the plugin and the
// native integration, so that the plugin's own cost can be told from the hops Mattermost's
// plugin API imposes on any plugin.
//
// It is enabled only for those rounds (withFloor): Mattermost runs the websocket hook of
// every plugin that has one, one after the other, for every websocket message, so while the
// floor is enabled each of the two plugins' acknowledgements waits, about half the time, for
// the other's hook. Both sides of those rounds pay it alike; the rounds that measure the
// plugin against the native integration run without it.

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/socketmode/mattermost-plugin-interactive-message-actions-to-websocket-proxy/libs/go/socketmode"

	"e2e/harness"
)

const (
	floorPluginID = "com.example.e2e-floor"
	floorEvent    = "custom_" + floorPluginID + "_floor"
	floorAck      = "custom_" + floorPluginID + "_ack"
	floorAckPath  = "/plugins/" + floorPluginID + "/ack"
	floorTrigger  = "e2efloor"
	// floorReadTrigger reads the team's own commands before the bot hears the command.
	floorReadTrigger = "e2efloorread"
)

// withFloor enables the floor plugin for the rounds run does, and a floor bot for it, and
// disables the plugin again after them.
func withFloor(t *testing.T, run func(bot *harness.Account)) {
	t.Helper()
	ctx := context.Background()
	bundle, err := testPluginBundle("floorplugin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.UploadPlugin(ctx, bundle); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := env.Admin.Client.DisablePlugin(ctx, floorPluginID); err != nil {
			t.Errorf("disabling the floor plugin: %v", err)
		}
	}()
	bot := newDeliveryBot(t, "benchfloor")
	floorBot(t, bot)
	run(bot)
}

// floorURL is the floor's handler for kind ("click" or "lookup"), answered by bot.
func floorURL(bot *harness.Account, kind string) string {
	return "/plugins/" + floorPluginID + "/floor?to=" + bot.ID() + "&kind=" + kind
}

// floorBot answers, for bot, every floor event as the benchmarks' other bots answer the same
// request: a click with benchAnswer, a lookup with benchItems, a command with
// benchCommandText, on a bareBot.
func floorBot(t *testing.T, bot *harness.Account) {
	t.Helper()
	bareBot(t, bot, "", func(msg []byte) (string, map[string]any) {
		var f struct {
			Event string `json:"event"`
			Data  struct {
				EventID string `json:"event_id"`
				Kind    string `json:"kind"`
				Request struct {
					UserName   string         `json:"user_name"`
					Context    map[string]any `json:"context"`
					Submission map[string]any `json:"submission"`
					Text       string         `json:"text"`
				} `json:"request"`
			} `json:"data"`
		}
		if json.Unmarshal(msg, &f) != nil || f.Event != floorEvent {
			return "", nil
		}
		var answer any
		switch f.Data.Kind {
		case "click":
			option, _ := f.Data.Request.Context["selected_option"].(string)
			answer = benchAnswer(f.Data.Request.UserName, option)
		case "lookup":
			q, _ := f.Data.Request.Submission["query"].(string)
			answer = map[string]any{"items": benchItems(q)}
		case "command":
			answer = map[string]any{"response_type": "ephemeral", "text": benchCommandText(f.Data.Request.Text)}
		}
		return floorAck, map[string]any{"event_id": f.Data.EventID, "answer": answer}
	})
}

// bareClickBot answers, for bot, every click the plugin delivers as the library's bot does
// (benchAnswer), on a bareBot subscribed to the plugin: set beside the library's bot, the
// difference is the library's own work; beside the floor's bot, the plugin's.
func bareClickBot(t *testing.T, bot *harness.Account) {
	t.Helper()
	bareBot(t, bot, subscribeAction, func(msg []byte) (string, map[string]any) {
		var f struct {
			Event string `json:"event"`
			Data  struct {
				UserName string         `json:"user_name"`
				Context  map[string]any `json:"context"`
				Proxy    struct {
					EventID string `json:"event_id"`
				} `json:"proxy"`
			} `json:"data"`
		}
		if json.Unmarshal(msg, &f) != nil || f.Event != actionEvent {
			return "", nil
		}
		option, _ := f.Data.Context["selected_option"].(string)
		return ackAction, map[string]any{"event_id": f.Data.Proxy.EventID, "answer": benchAnswer(f.Data.UserName, option)}
	})
}

// bareBot is the least a bot does to answer on its websocket, for the benchmarks: it speaks
// the websocket as the Go library does (gorilla/websocket dialed with the Nagle remedy, the
// frame read by the goroutine that answers it, the ack written by that goroutine), so that it
// is set beside the library's bot on equal terms, minus the library's own work: answer decodes
// only what it answers from, and runs no handler. answer gives, for a frame, the action to
// send back and its data (none: ""). With subscribe, the bot subscribes (to the plugin) once
// Mattermost said hello, and is ready once subscribed; else once greeted.
func bareBot(t *testing.T, bot *harness.Account, subscribe string, answer func(msg []byte) (string, map[string]any)) {
	t.Helper()
	d := &websocket.Dialer{NetDialContext: socketmode.DialQuickAck}
	ws, _, err := d.Dial(env.WebSocketURL()+model.APIURLSuffix+"/websocket", nil)
	if err != nil {
		t.Fatalf("%s's websocket: %v", bot.User.Username, err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	var wmu sync.Mutex
	seq := int64(0)
	send := func(action string, data any) {
		wmu.Lock()
		defer wmu.Unlock()
		seq++
		_ = ws.WriteJSON(map[string]any{"seq": seq, "action": action, "data": data})
	}
	send(string(model.WebsocketAuthenticationChallenge), map[string]any{"token": bot.Token})
	// Ready once Mattermost said hello (the connection is authenticated and registered for
	// the events published to the bot) or, subscribing, once subscribed: no event is sent
	// before anyone listens.
	ready := make(chan struct{})
	go func() {
		readied := false
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if !readied {
				var f struct {
					Event string `json:"event"`
				}
				_ = json.Unmarshal(msg, &f)
				switch {
				case f.Event == string(model.WebsocketEventHello) && subscribe != "":
					send(subscribe, map[string]any{"protocol": 1})
				case f.Event == string(model.WebsocketEventHello), f.Event == subscribedEvent:
					readied = true
					close(ready)
				}
			}
			if action, data := answer(msg); action != "" {
				send(action, data)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s's websocket: not ready", bot.User.Username)
	}
}

// floorRESTBot answers, for bot, every floor click as floorBot does, but in a POST to the
// floor's /ack, timed into acks: the REST-acking bot of the plugin's benchmark
// (restAckingBot), on the same websocket client and HTTP client, set beside the floor.
func floorRESTBot(t *testing.T, bot *harness.Account, acks *restAcks) {
	t.Helper()
	restClickBot(t, openSocket(t, bot), bot, floorEvent, floorAckPath, acks, func(data map[string]any) (string, map[string]any) {
		request, _ := data["request"].(map[string]any)
		return fmt.Sprint(data["event_id"]), request
	})
}
