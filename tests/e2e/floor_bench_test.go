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
// benchCommandText. It acks on a websocket dialed like the Go library's, with its Nagle remedy,
// so that it is set beside the library's bot on equal terms.
func floorBot(t *testing.T, bot *harness.Account) {
	t.Helper()
	ws, err := model.NewWebSocketClientWithDialer(&websocket.Dialer{NetDialContext: socketmode.DialQuickAck}, env.WebSocketURL(), bot.Token)
	if err != nil {
		t.Fatalf("floor bot's websocket: %v", err)
	}
	ws.Listen()
	t.Cleanup(ws.Close)
	go func() {
		for range ws.ResponseChannel { //nolint:revive // drained so the reader never blocks
		}
	}()
	// Ready once Mattermost said hello: the connection is authenticated and registered for
	// the events published to the bot, so that none is sent before anyone listens.
	hello := make(chan struct{})
	go func() {
		greeted := false
		for ev := range ws.EventChannel {
			if ev.EventType() == model.WebsocketEventHello && !greeted {
				greeted = true
				close(hello)
			}
			if string(ev.EventType()) != floorEvent {
				continue
			}
			data := ev.GetData()
			request, _ := data["request"].(map[string]any)
			var answer any
			switch data["kind"] {
			case "click":
				name, _ := request["user_name"].(string)
				ctx, _ := request["context"].(map[string]any)
				option, _ := ctx["selected_option"].(string)
				answer = benchAnswer(name, option)
			case "lookup":
				submission, _ := request["submission"].(map[string]any)
				q, _ := submission["query"].(string)
				answer = map[string]any{"items": benchItems(q)}
			case "command":
				text, _ := request["text"].(string)
				answer = map[string]any{"response_type": "ephemeral", "text": benchCommandText(text)}
			}
			ws.SendMessage(floorAck, map[string]any{"event_id": data["event_id"], "answer": answer})
		}
	}()
	select {
	case <-hello:
	case <-time.After(15 * time.Second):
		t.Fatalf("the floor bot's websocket: no hello (%v)", ws.ListenError)
	}
}
