package socketmode

import (
	"context"
	"strconv"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"
)

// What the library adds to a click between the event's arrival and its acknowledgement,
// measured on a fake Mattermost over loopback: a click event sent, the ack read back, one at a
// time. BenchmarkClickToAckBare is the same round on a bare model.WebSocketClient that decodes
// nothing into types and runs no handler (the floor bot of tests/e2e): the difference is the
// library's own work.

// benchClick is the n-th click event of a round: a menu's choice, with proxy.delivery.
func benchClick(n int) map[string]any {
	return actionEvent("event"+strconv.Itoa(n), map[string]any{"action_id": "pick", "selected_option": "eu"}, true)
}

func BenchmarkClickToAck(b *testing.B) {
	f := newFakeMM(b)
	startApp(b, f, Options{}, func(a *App) {
		a.Action("pick", func(_ context.Context, e *Action) (*ActionAnswer, error) {
			return &ActionAnswer{Update: &PostUpdate{Message: "Deployed " + e.SelectedOption}, EphemeralText: "Deploying."}, nil
		})
	})
	clickRounds(b, f.connection(b))
}

func BenchmarkClickToAckBare(b *testing.B) {
	f := newFakeMM(b)
	ws, err := model.NewWebSocketClientWithDialer(&websocket.Dialer{NetDialContext: DialQuickAck}, "ws"+f.srv.URL[len("http"):], testToken)
	if err != nil {
		b.Fatal(err)
	}
	ws.Listen()
	b.Cleanup(ws.Close)
	go func() {
		for range ws.ResponseChannel { //nolint:revive // drained so the reader never blocks
		}
	}()
	go func() {
		defer func() { _ = recover() }() // SendMessage panics once Cleanup closed the client
		for ev := range ws.EventChannel {
			data := ev.GetData()
			proxy, _ := data["proxy"].(map[string]any)
			ctx, _ := data["context"].(map[string]any)
			option, _ := ctx["selected_option"].(string)
			ws.SendMessage(eventPrefix+"ack", map[string]any{"event_id": proxy["event_id"],
				"answer": map[string]any{"update": map[string]any{"message": "Deployed " + option}, "ephemeral_text": "Deploying."}})
		}
	}()
	clickRounds(b, <-f.conns)
}

// clickRounds is the measured loop: one click event sent, its acknowledgement read back.
func clickRounds(b *testing.B, c *fakeConn) {
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		c.plugin("action", benchClick(n))
		c.next(b, eventPrefix+"ack")
	}
}
