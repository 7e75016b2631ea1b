package main

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/segmentio/encoding/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 20: a click on a stored post whose bot answers in time is decided by the
// acknowledgement that hands the answer over (the answer, checked, is the click's response),
// so the click calls the core no more once answered: from the bot's acknowledgement to the
// click's response the node makes the acknowledgement's two calls and nothing else. The
// response is the answer, on the websocket and over REST; an acknowledgement without an answer
// gives the click `{}`.
func TestAnAcknowledgementDecidesTheClickItAnswers(t *testing.T) {
	w := newWorld(t, 1)
	node := w.nodes[0]
	conn := w.connect(node)
	conn.subscribe(t)
	deploying := map[string]any{"ephemeral_text": "Deploying.", "update": map[string]any{"message": "Deploying for @alice"}}
	for _, c := range []struct {
		name string
		ack  func(id string)
		want map[string]any
	}{
		{"on the websocket", func(id string) {
			conn.send("ack", map[string]any{"event_id": id, "answer": deploying})
		}, deploying},
		{"over REST", func(id string) {
			status, result := request(t, node, simBot.Id, "POST", "/api/v1/ack", map[string]any{"event_id": id, "answer": deploying})
			assert.Equal(t, 200, status)
			assert.Equal(t, "applied", result["status"])
		}, deploying},
		{"without an answer", func(id string) {
			conn.send("ack", map[string]any{"event_id": id})
		}, map[string]any{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			acked := make(chan int64, 1)
			go func() {
				ev := conn.next(t, "action")
				before := node.core.calls.Load()
				c.ack(eventID(ev))
				acked <- before
			}()
			status, answer := click(t, node)
			assert.Equal(t, 200, status)
			assert.Equal(t, c.want, answer, "the bot's answer is the click's response")
			before := <-acked // the acknowledgement's calls are over
			assert.Equal(t, int64(2), node.core.calls.Load()-before, "core calls from the acknowledgement to the click's response")
		})
	}
}

// A decision handed over that cannot be read (never expected: the core wrote it) does not fail
// the click whose bot was told its answer applied: the click decides with the answer itself.
func TestAnUnreadableDecisionLeavesTheClickToDecideItself(t *testing.T) {
	p, call, body := answeredClick(t)
	answer := call.Facts["answer"]
	delete(call.Facts, "answer")
	wait := query{Name: "answer", Fact: "await", EventID: "yye1rc4rkiu8xnr3ik7h3zxq9h", UntilMs: time.Now().Add(time.Minute).UnixMilli(),
		Held: json.RawMessage(`{"bot":"bot1bot1bot1bot1bot1bot1b1","event":"action"}`)}
	p.waiters.expect(wait.EventID, wait.Held)
	var found struct{ Found json.RawMessage }
	require.NoError(t, json.Unmarshal(answer, &found))
	assert.Equal(t, "claimed", p.waiters.claim(wait.EventID, found.Found, json.RawMessage(`{"reply":`)))
	rep, err := p.waitForAnswer(context.Background(), laneInteractive, &call, []query{wait}, body)
	require.NoError(t, err)
	require.Equal(t, "decision", rep.Kind)
	require.NotNil(t, rep.Reply.HTTP)
	assert.JSONEq(t, string(found.Found), rep.Reply.HTTP.Body, "the bot's answer is the click's response")
}

// The click's response goes out before the rest of the acknowledgement runs: while the plugin's
// work is interactive it has one processor (processors.go), where the click woken by the
// hand-over would otherwise wait for the acknowledgement's goroutine to block — after its last
// core call and its hook's return. Here the click's response is complete when only the
// acknowledgement's first call was made, on the websocket and over REST.
func TestTheClicksResponseGoesBeforeTheRestOfTheAcknowledgement(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	w := newWorld(t, 1)
	node := w.nodes[0]
	conn := w.connect(node)
	conn.subscribe(t)
	answer := map[string]any{"ephemeral_text": "Deploying."}
	for name, ack := range map[string]func(id string){
		"on the websocket": func(id string) { conn.send("ack", map[string]any{"event_id": id, "answer": answer}) },
		"over REST": func(id string) {
			status, _ := request(t, node, simBot.Id, "POST", "/api/v1/ack", map[string]any{"event_id": id, "answer": answer})
			assert.Equal(t, 200, status)
		},
	} {
		t.Run(name, func(t *testing.T) {
			acking := make(chan int64, 1)
			done := make(chan struct{})
			go func() {
				defer close(done)
				ev := conn.next(t, "action")
				acking <- node.core.calls.Load()
				ack(eventID(ev))
			}()
			status, got := click(t, node)
			atResponse := node.core.calls.Load()
			<-done
			assert.Equal(t, 200, status)
			assert.Equal(t, answer, got)
			assert.Equal(t, int64(1), atResponse-<-acking, "the acknowledgement's calls made when the click's response was complete")
		})
	}
}
