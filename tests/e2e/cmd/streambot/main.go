// Command streambot is the bot process the delivery tests kill in the middle of a stream of
// clicks (SPEC §9): a Go model.WebSocketClient that subscribes, prints each event it receives,
// then acknowledges it. Printing before acknowledging is what a bot that does its work and
// then acks looks like: killed in between, it sees the event again after its restart.
//
//	MM_URL=http://127.0.0.1:8065 MM_BOT_TOKEN=... streambot
//
// stdout: "subscribed <connection id> <kept>" once subscribed, then
// "event <event id> <attempt> <selected option>" for each click. STREAMBOT_WORK_MS is how long
// the work between printing and acknowledging takes (default 0).
package main

import (
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

func main() {
	id := harness.PluginManifest().Id
	site := strings.TrimRight(os.Getenv("MM_URL"), "/")
	ws, err := model.NewWebSocketClient4("ws"+strings.TrimPrefix(site, "http"), os.Getenv("MM_BOT_TOKEN"))
	if err != nil {
		log.Fatalf("websocket: %v", err)
	}
	ws.Listen()
	go func() {
		for range ws.ResponseChannel { //nolint:revive // drained so the reader never blocks
		}
	}()
	work, _ := time.ParseDuration(os.Getenv("STREAMBOT_WORK_MS") + "ms")
	prefix := "custom_" + id + "_"
	for ev := range ws.EventChannel {
		data := ev.GetData()
		switch string(ev.EventType()) {
		case string(model.WebsocketEventHello):
			ws.SendMessage(prefix+"subscribe", map[string]any{"protocol": 1})
		case prefix + "subscribed":
			fmt.Printf("subscribed %v %v\n", data["connection_id"], data["kept"])
		case prefix + "action":
			proxy, _ := data["proxy"].(map[string]any)
			delivery, _ := proxy["delivery"].(map[string]any)
			context, _ := data["context"].(map[string]any)
			fmt.Printf("event %v %v %v\n", proxy["event_id"], delivery["attempt"], context["selected_option"])
			time.Sleep(work)
			ws.SendMessage(prefix+"ack", map[string]any{"event_id": proxy["event_id"]})
		}
	}
	log.Fatalf("websocket closed: %v", ws.ListenError)
}
