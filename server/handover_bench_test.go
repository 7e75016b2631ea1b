package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/encoding/json"
)

// BenchmarkAnsweredClick is what a waiting click does once its bot's answer arrives (issue 20),
// both ways the plugin has had: its own last core call, which reads the click again with every
// answer so far (the fixture delivery/click_answered_in_time, warm), and the decision the
// acknowledgement made and handed over, read. Each is on the click's path between the
// acknowledgement and Mattermost's response.
func BenchmarkAnsweredClick(b *testing.B) {
	p, call, body := answeredClick(b)
	ctx := context.Background()
	b.Run("its own call", func(b *testing.B) {
		for b.Loop() {
			rep, err := p.callCore(ctx, laneInteractive, &call, body)
			if err != nil || rep.Kind != "decision" {
				b.Fatalf("%v %+v", err, rep)
			}
		}
	})
	decision := json.RawMessage(`{"effects":[],"reply":{"http":{"status":200,"body":"{\"ephemeral_text\":\"Approved.\",\"update\":{\"message\":\"Approved by @alice\",\"props\":{}}}","to_mattermost":true}}}`)
	b.Run("decided by the acknowledgement", func(b *testing.B) {
		for b.Loop() {
			rep := &reply{Kind: "decision"}
			if err := json.Unmarshal(decision, rep); err != nil || rep.Reply == nil {
				b.Fatal(err)
			}
		}
	})
}

// answeredClick is a plugin and the last call of the click of delivery/click_answered_in_time,
// every answer in (the bot's among them), and its body.
func answeredClick(tb testing.TB) (*Plugin, handleCall, []byte) {
	f := loadFixtures(tb)["delivery_click_answered_in_time"]
	api, _, _ := clickAPI(tb)
	p := activated(tb, api)
	body, _, err := readBody(f.httpRequest(tb).Body, -1, p.info.MaxBodyBytes)
	if err != nil {
		tb.Fatal(err)
	}
	call := handleCall{
		Input:    input{HTTP: &httpInput{Method: "POST", Path: f.Request.Path, UserID: *f.Request.UserID}},
		NowMs:    f.NowMs,
		Entropy:  f.Entropy,
		Node:     "nodenodenodenodenodenode01", // the fixture's node, where the bot's connection is
		Settings: p.getConfiguration().settings,
		Facts:    map[string]json.RawMessage{},
	}
	for name, answer := range f.Facts {
		call.Facts[name] = answerFound(answer.Found)
	}
	return p, call, body
}

// BenchmarkAckHandover is how long a bot's acknowledgement on its websocket takes to hand its
// answer to the click waiting on the node (issue 20), both ways: with what the node knows of
// the wait read before the first call (one core call, then the hand-over) and asked by the
// core (two). It reports µs from the hook's call to the waiting click's wake-up.
func BenchmarkAckHandover(b *testing.B) {
	api, _, _ := clickAPI(b)
	p := activated(b, api)
	const bot = "bot1bot1bot1bot1bot1bot1b1"
	held := json.RawMessage(`{"bot":"` + bot + `","event":"action","decides":{"click":{"internal":true}}}`)
	data := func(id string) json.RawMessage {
		return json.RawMessage(`{"event_id":"` + id + `","answer":{"ephemeral_text":"Approved."}}`)
	}
	for i, c := range []struct {
		name   string
		atHand bool
	}{{"held at hand", true}, {"held asked", false}} {
		// Each case its own events: a wait answered in the case before is remembered a while.
		side := byte('a' + i)
		b.Run(c.name, func(b *testing.B) {
			var waited time.Duration
			n := 0
			for b.Loop() {
				id := fmt.Sprintf("bench%c%020d", side, n)
				n++
				p.waiters.expect(id, held)
				woke := make(chan time.Time, 1)
				go func() { p.waiters.await(id, held, time.Minute); woke <- time.Now() }()
				call := handleCall{
					Input:    input{WebSocket: &socketMessage{ConnectionID: "conn1", UserID: bot, Action: "ack", Seq: 1, Data: data(id)}},
					NowMs:    p.now().UnixMilli(),
					Entropy:  p.entropy(),
					Node:     p.node,
					Settings: p.getConfiguration().settings,
				}
				start := time.Now()
				var guess *openGuess
				if c.atHand {
					guess = p.prefetch(&call, p.getConfiguration(), nil, time.UnixMilli(call.NowMs))
				}
				if _, err := p.decide(context.Background(), laneInteractive, &call, nil, guess); err != nil {
					b.Fatal(err)
				}
				waited += (<-woke).Sub(start)
				p.waiters.decided([]string{id})
			}
			b.ReportMetric(float64(waited.Microseconds())/float64(n), "µs-to-handover")
		})
	}
}
