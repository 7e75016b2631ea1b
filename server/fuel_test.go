package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileBodies are the costliest bodies the 1 MiB limit lets through, of every shape the core
// must read before it can refuse or accept them: deep nesting, wide objects and arrays, long
// escaped strings, big numbers, and valid requests carrying as much as they may.
func hostileBodies(limit int) map[string][]byte {
	fill := func(prefix, unit, suffix string) []byte {
		n := (limit - len(prefix) - len(suffix)) / len(unit)
		return []byte(prefix + strings.Repeat(unit, n) + suffix)
	}
	wideObject := func(prefix, suffix string) []byte {
		var b strings.Builder
		b.WriteString(prefix)
		for i := 0; b.Len() < limit-len(suffix)-32; i++ {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		b.WriteString(`"end":0` + suffix)
		return []byte(b.String())
	}
	click := `{"user_id":"alicealicealicealicealice1","user_name":"alice","channel_id":"chanchanchanchanchanchan01","post_id":"postpostpostpostpostpost01","type":"button","context":{"user_id":"bot1bot1bot1bot1bot1bot1b1","pad":`
	return map[string][]byte{
		"deep arrays":          fill("", "[", ""),
		"deep objects":         fill("", `{"a":`, ""),
		"nesting at the limit": []byte(strings.Repeat("[", 127) + strings.Repeat("0,", limit/2-200) + "0" + strings.Repeat("]", 127)),
		"wide object":          wideObject("{", "}"),
		"wide array":           fill("[", "0,", "0]"),
		"escaped string":       fill(`{"user_id":"`, `\u00e9`, `"}`),
		"multibyte string":     fill(`{"user_id":"`, "é", `"}`),
		"long numbers":         fill(`{"user_id":1`, "9", `}`),
		"duplicate keys":       fill("{", `"user_id":"x",`, `"user_id":"y"}`),
		"click, wide context":  wideObject(click+`{`, `}}}`),
		"click, long context":  fill(click+`"`, `\"é`, `"}}`),
		"click, deep context":  []byte(click + strings.Repeat(`{"a":`, 120) + "1" + strings.Repeat("}", 120) + "}}"),
		"lint, many actions":   heavyLint()[:min(len(heavyLint()), limit)],
		// Every element's keys are checked for Go's case-folded spellings (found by the fuzzer:
		// each unknown key was folded against every known one, 220,000 fuel an element).
		"dialog, elements with unknown keys": fill(`{"trigger_id":"dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0MDE6YWxpY2VhbGljZWFsaWNlYWxpY2VhbGljZTE6MTcwMDAwMDAwMDAwMDpNRVVDSVFEc2lnbmF0dXJl","dialog":{"title":"t","elements":[`, `{"text":0,"value":"v"},`, `{"text":0}]}}`),
	}
}

// TestTheCostliestInputsStayWellWithinTheirLanesBudget runs every hostile body through every
// endpoint and measures the fuel each call spends: the costliest must stay under a quarter of
// its lane's budget, so that no input the body limit allows can be stopped for running out,
// while a call that loops forever (a bug) is stopped within the budget.
func TestTheCostliestInputsStayWellWithinTheirLanesBudget(t *testing.T) {
	p, _ := newTestPlugin(t)
	ctx := context.Background()
	paths := []string{"/api/v1/handler", "/api/v1/ack", "/api/v1/dialogs/open", "/api/v1/lint",
		"/api/v1/ephemeral", "/api/v1/commands", "/api/v1/dialogs/sessionsessionsessionsess1/submit",
		"/api/v1/dialogs/sessionsessionsessionsess1/lookup"}
	for lane, name := range laneNames {
		budget := p.info.fuel(lane)
		var worst int64
		var worstCase string
		// The largest bodies the limit lets through, and the largest the interactive lane
		// takes (the bulk lane takes anything larger).
		bodies := hostileBodies(1 << 20)
		for shape, body := range hostileBodies(32<<10 - 1) {
			bodies[shape+", 32 KiB"] = body
		}
		for _, path := range paths {
			for shape, body := range bodies {
				// Each body on the lane the shim would run it on (by path, or by its size).
				if p.info.lane(path, len(body)) != lane {
					continue
				}
				call := handleCall{
					Input:    input{HTTP: &httpInput{Method: "POST", Path: path, UserID: "alicealicealicealicealice1"}},
					NowMs:    1700000000000,
					Entropy:  p.entropy(),
					Node:     p.node,
					Settings: p.getConfiguration().settings,
				}
				doc, err := call.encode()
				require.NoError(t, err)
				start := time.Now()
				_, used, err := p.core.call(ctx, lane, fuelUnbounded, doc, body)
				require.NoError(t, err, "%s %s", path, shape)
				if testing.Verbose() {
					t.Logf("%-28s %-26s %11d fuel %8.2f ms", path, shape, used, float64(time.Since(start).Microseconds())/1000)
				}
				if used > worst {
					worst, worstCase = used, path+", "+shape
				}
			}
		}
		t.Logf("%s lane: the costliest hostile input (%s) spent %d fuel of a budget of %d (%.1f%%)",
			name, worstCase, worst, budget, 100*float64(worst)/float64(budget))
		assert.Less(t, worst, budget/4, "%s lane: %s", name, worstCase)
	}
}

// TestAnAnswersButtonsAreCheckedInFuelLinearInTheAnswer: a bot's answer with many small,
// broken buttons (found by the fuzzer: 189 nameless buttons spent 18.5 million fuel for 6 KiB,
// over its linear bound, because checking an answer also built every button's preview event,
// which nothing showed). The answer is refused with its first error, and every call stays within
// the fuzzer's bound of 10 million fuel plus 1,000 a byte carried (fuzz/src/meter.rs).
func TestAnAnswersButtonsAreCheckedInFuelLinearInTheAnswer(t *testing.T) {
	p, _ := newTestPlugin(t)
	ctx := context.Background()
	const bot, eventID = "bot1bot1bot1bot1bot1bot1b1", "yye1rc4rkiu8xnr3ik7h3zxq9h"
	var actions []string
	for i := range 200 {
		actions = append(actions, fmt.Sprintf(`{"text":%d,"value":"v%d"}`, i, i%7))
	}
	data := `{"event_id":"` + eventID + `","result":true,"answer":{"text":"t","attachments":[{"actions":[` + strings.Join(actions, ",") + `]}]}}`
	facts := map[string]string{
		"held": `{"found":null}`,
		"record": `{"found":{"attempts":1,"bot":"` + bot + `","event":"command","first_sent_at":1700000000123,"state":"late",` +
			`"data":{"command":"/deploy prod","proxy":{"event_id":"` + eventID + `","received_at":1700000000123,"verified":true,"version":"1.0.0"}},` +
			`"place":{"channel_id":"chanchanchanchanchanchan01","post_id":"","root_id":"","user_id":"alicealicealicealicealice1"}}}`,
	}
	call := handleCall{
		Input:    input{WebSocket: &socketMessage{ConnectionID: "conn1", UserID: bot, Action: "ack", Seq: 3, Data: json.RawMessage(data)}},
		NowMs:    1700000000000,
		Entropy:  p.entropy(),
		Node:     p.node,
		Settings: p.getConfiguration().settings,
	}
	p.attachStanding(&call)
	for round := 1; ; round++ {
		require.Less(t, round, 8, "the ack is never decided")
		doc, err := call.encode()
		require.NoError(t, err)
		out, used, err := p.core.call(ctx, laneInteractive, fuelUnbounded, doc, nil)
		require.NoError(t, err)
		carried := int64(len(doc.bytes) + len(out))
		assert.LessOrEqual(t, used, 10_000_000+1_000*carried, "round %d: %d fuel for %d bytes", round, used, carried)
		rep, err := decodeReply(out)
		require.NoError(t, err)
		if rep.Kind == "decision" {
			assert.Contains(t, string(out), "the answer's buttons would not work", "the answer is refused")
			assert.Contains(t, string(out), "attachments[0].actions[0].name: action_name_missing", "with its first error")
			return
		}
		if call.Facts == nil {
			call.Facts = map[string]json.RawMessage{}
		}
		for _, q := range rep.Queries {
			answer, ok := facts[q.Name]
			require.True(t, ok, "asked %s", q.Name)
			call.Facts[q.Name] = json.RawMessage(answer)
		}
	}
}
