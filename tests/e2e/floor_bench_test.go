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
	floorTrigger  = "e2efloor"
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
// benchCommandText. It speaks the websocket as the Go library does (gorilla/websocket dialed
// with the Nagle remedy, the frame read by the goroutine that answers it, the ack written by
// that goroutine), so that it is set beside the library's bot on equal terms, minus the
// library's own work: it decodes only what it answers from and runs no handler.
func floorBot(t *testing.T, bot *harness.Account) {
	t.Helper()
	d := &websocket.Dialer{NetDialContext: socketmode.DialQuickAck}
	ws, _, err := d.Dial(env.WebSocketURL()+model.APIURLSuffix+"/websocket", nil)
	if err != nil {
		t.Fatalf("floor bot's websocket: %v", err)
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
	// Ready once Mattermost said hello: the connection is authenticated and registered for
	// the events published to the bot, so that none is sent before anyone listens.
	hello := make(chan struct{})
	go func() {
		greeted := false
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
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
			if json.Unmarshal(msg, &f) != nil {
				continue
			}
			if f.Event == string(model.WebsocketEventHello) && !greeted {
				greeted = true
				close(hello)
			}
			if f.Event != floorEvent {
				continue
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
			send(floorAck, map[string]any{"event_id": f.Data.EventID, "answer": answer})
		}
	}()
	select {
	case <-hello:
	case <-time.After(15 * time.Second):
		t.Fatal("the floor bot's websocket: no hello")
	}
}
