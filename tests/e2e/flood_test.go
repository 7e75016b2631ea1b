package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"e2e/harness"
)

// heaviestLint is the largest message the lint takes (its limit of 200 actions) inside the
// 1 MiB body limit, every action wrong in four ways.
func heaviestLint() []byte {
	actions := make([]any, 200)
	for i := range actions {
		actions[i] = map[string]any{"id": fmt.Sprintf("a_%d", i), "type": "x", "style": "y",
			"integration": map[string]any{"url": "https://x.example", "context": map[string]any{
				"user_id": "nobody", "tags": []any{}, "pad": strings.Repeat("é", 2200)}}}
	}
	b, _ := json.Marshal(map[string]any{"props": map[string]any{"attachments": []any{map[string]any{"actions": actions}}}})
	return b
}

// heaviestDialog is a definition at the limits (100 elements of 500 options, every option
// chosen by default in a multiselect), near 1 MiB: all the definition checks run before the
// made-up trigger is refused.
func heaviestDialog(bot string) []byte {
	elements := make([]any, 100)
	for i := range elements {
		options := make([]any, 500)
		defaults := make([]string, 500)
		for j := range options {
			v := fmt.Sprintf("%d", j)
			options[j] = map[string]any{"text": v, "value": v}
			defaults[j] = v
		}
		elements[i] = map[string]any{"display_name": "F", "name": fmt.Sprintf("f%d", i), "type": "select",
			"multiselect": true, "options": options, "default": strings.Join(defaults[:100], ",")}
	}
	b, _ := json.Marshal(map[string]any{"trigger_id": madeUpTrigger(bot),
		"dialog": map[string]any{"title": "Heavy", "callback_id": "heavy", "elements": elements}})
	return b
}

// TestFloodDoesNotStallClicks floods lint and dialogs/open with the heaviest inputs the limits
// allow, from several accounts at once, and clicks meanwhile: every click still reaches its
// bot. The latencies, unloaded and flooded, are printed (E2E-BENCH) and kept in
// $E2E_RUN_DIR/flood.txt; docs/BENCHMARKS.md records them.
func TestFloodDoesNotStallClicks(t *testing.T) {
	requirePlugin(t)
	bot, clicker := env.Bots[0], env.Users[1]
	botWS := openSocket(t, bot)
	ctx := map[string]any{"user_id": bot.ID(), "phase": "flood"}
	post := createPost(t, bot, "", "clicks under a flood", button("f", "F", ctx))

	clicks := func(n int) []time.Duration {
		t.Helper()
		var out []time.Duration
		for range n {
			c := mustClick(t, clicker, post.Id, "f", "")
			// A click that does not reach its bot within 30 s has stalled: the flood won.
			if _, err := botWS.next(actionEvent, 30*time.Second); err != nil {
				t.Fatalf("a click under the flood: %v", err)
			}
			out = append(out, time.Since(c.Sent))
			time.Sleep(50 * time.Millisecond)
		}
		return out
	}
	clicks(10) // warm up
	unloaded := clicks(40)

	lint, dialog := heaviestLint(), heaviestDialog(env.Users[0].ID())
	floodBy := []*harness.Account{env.Users[0], env.Admin, env.Bots[1]}
	stop := make(chan struct{})
	var sent, answered atomic.Int64
	var wg sync.WaitGroup
	for _, acc := range floodBy {
		for k := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				path, body := "/plugins/"+pluginID+"/api/v1/lint", lint
				if k == 1 {
					path, body = dialogOpenPath, dialog
				}
				for {
					select {
					case <-stop:
						return
					default:
					}
					sent.Add(1)
					if status, _, err := call(http.MethodPost, path, acc.Token, body); err == nil && status < 500 {
						answered.Add(1)
					}
				}
			}()
		}
	}
	time.Sleep(2 * time.Second) // let the flood build up
	start := time.Now()
	flooded := clicks(40)
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()

	p50u, p95u, _ := percentiles(unloaded)
	p50f, p95f, _ := percentiles(flooded)
	lines := []string{
		fmt.Sprintf("E2E-BENCH flood: %d heavy requests (%d answered) from %d accounts x 2 (lint %d KiB, dialogs/open %d KiB)",
			sent.Load(), answered.Load(), len(floodBy), len(lint)>>10, len(dialog)>>10),
		fmt.Sprintf("E2E-BENCH flood: click->event unloaded p50 %s p95 %s; flooded p50 %s p95 %s; ratio p50 %.2f p95 %.2f",
			ms(p50u), ms(p95u), ms(p50f), ms(p95f), float64(p50f)/float64(p50u), float64(p95f)/float64(p95u)),
		fmt.Sprintf("E2E-BENCH flood: %.1f heavy requests/s during the flooded clicks", float64(sent.Load())/(elapsed.Seconds()+2)),
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	_ = os.WriteFile(filepath.Join(env.RunDir, "flood.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	if answered.Load() == 0 {
		t.Errorf("no heavy request was answered: the flood never ran")
	}
}
