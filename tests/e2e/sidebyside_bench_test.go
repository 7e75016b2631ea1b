package e2e_test

// TestSideBySide (SPEC §8, §10; `make e2e-bench`): this plugin, every check on (provenance,
// hostile-user field checks, signed buttons), against the least a websocket proxy can do — the
// baseline handler of tests/e2e/helloplugin, which publishes the body to context.user_id and
// checks nothing — on the same server, alternating round by round (A B A B):
//
//   - click → event at the bot's websocket, sequential clicks: p50/p95 per side and round, the
//     ratio per round and its median;
//   - saturation: concurrent clickers for a fixed number of clicks per side, clicks/s;
//   - the post hook's cost: POST /api/v4/posts with the plugin enabled against disabled, for a
//     post without attachments and one with the plugin's buttons.
//
// Prints an "E2E-BENCH" block, also written to $E2E_RUN_DIR/sidebyside-bench.txt.

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

var (
	sbsRounds     = benchSize(6, 1)
	sbsClicks     = benchSize(200, 3)   // sequential clicks per side per round
	sbsSaturation = benchSize(1000, 16) // clicks per side in each saturation round
	sbsSatRounds  = benchSize(5, 1)
	sbsClickers   = 8
	sbsPosts      = benchSize(100, 3) // posts per side per round of the hook benchmark
)

var baselineEvent = "custom_" + helloPluginID + "_action"

func TestSideBySide(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	requireHello(t)
	report := &benchReport{t: t}
	add := report.add
	add("real Mattermost %s, %d CPUs, PostgreSQL; A: %s %s (verification on, signed buttons); B: the baseline handler (publish the body, check nothing)",
		mmVersion(), runtime.NumCPU(), pluginID, pluginVersion)

	bot, alice := newDeliveryBot(t, "sidebyside"), env.Users[0]
	botWS := openSocket(t, bot)
	bctx := map[string]any{"user_id": bot.ID(), "action": "go"}
	ours := createPost(t, bot, "", "A", button("go", "Go", bctx))
	if signatureOf(t, ours.Id) == nil {
		t.Fatal("the plugin's post is not signed")
	}
	base := createPost(t, bot, "", "B", map[string]any{"id": "go", "name": "Go", "type": "button",
		"integration": map[string]any{"url": "/plugins/" + helloPluginID + "/baseline", "context": bctx}})

	sequential := func(post *model.Post, event string, n int) []time.Duration {
		out := make([]time.Duration, 0, n)
		for range n {
			c := mustClick(t, alice, post.Id, "go", "")
			if _, err := botWS.next(event, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			out = append(out, time.Since(c.Sent))
		}
		return out
	}
	sequential(ours, actionEvent, 30) // warm up both
	sequential(base, baselineEvent, 30)
	var ratios []float64
	var allA, allB []time.Duration
	for round := range sbsRounds {
		// Which side goes first alternates, so that neither always runs on a machine the
		// other has just warmed (or loaded).
		var a, b []time.Duration
		if round%2 == 0 {
			a = sequential(ours, actionEvent, sbsClicks)
			b = sequential(base, baselineEvent, sbsClicks)
		} else {
			b = sequential(base, baselineEvent, sbsClicks)
			a = sequential(ours, actionEvent, sbsClicks)
		}
		allA, allB = append(allA, a...), append(allB, b...)
		a50, a95, _ := percentiles(a)
		b50, b95, _ := percentiles(b)
		r := float64(a50) / float64(b50)
		ratios = append(ratios, r)
		add("click->event round %d: A p50 %s p95 %s; B p50 %s p95 %s; ratio %.2f", round+1, ms(a50), ms(a95), ms(b50), ms(b95), r)
	}
	sort.Float64s(ratios)
	a50, a95, _ := percentiles(allA)
	b50, b95, _ := percentiles(allB)
	add("click->event, %d sequential clicks a side in %d alternating rounds: A p50 %s p95 %s; B p50 %s p95 %s; median ratio per round %.2f (overall p50 ratio %.2f)",
		len(allA), sbsRounds, ms(a50), ms(a95), ms(b50), ms(b95), ratios[len(ratios)/2], float64(a50)/float64(b50))

	// Saturation: concurrent clickers, each click waits for Mattermost's answer; the events are
	// counted as they arrive.
	users := append([]*harness.Account{alice, env.Users[1]}, createLoadUsersOnce(t)...)
	saturate := func(post *model.Post, event string, clicks int) (float64, int) {
		start := time.Now()
		wait, failedSoFar := clickConcurrently(users, sbsClickers, clicks, post.Id, "go", "")
		got := 0
		for got < clicks-failedSoFar() {
			if _, err := botWS.next(event, 20*time.Second); err != nil {
				t.Fatalf("saturation: %d of %d events: %v", got, clicks, err)
			}
			got++
		}
		failed := wait()
		return float64(got) / time.Since(start).Seconds(), failed
	}
	// Warm up both sides, untimed, as the latency rounds do: the load users are made (and log
	// in: bcrypt on the server) above, and their first clicks fill the server's caches of their
	// sessions and memberships. Without this, the first timed round (A's) paid for all of it.
	saturate(ours, actionEvent, sbsSaturation/4)
	saturate(base, baselineEvent, sbsSaturation/4)
	// The plugin processes' CPU time per 1,000 clicks (each side's own process), and the
	// server's, over the same rounds.
	pidA, pidB, server := pluginProcess(), pluginProcessOf(helloPluginID), serverProcess()
	if pidA == 0 || pidB == 0 {
		t.Fatalf("plugin processes not found (A %d, B %d)", pidA, pidB)
	}
	perK := func(d time.Duration) float64 { return float64(d.Milliseconds()) * 1000 / float64(sbsSaturation) }
	var rates, cpus, servers [2][]float64
	// One side's saturation: clicks/s, failures, its plugin process's CPU and the server's, per
	// 1,000 clicks.
	side := func(post *model.Post, event string, pid int) (rate float64, failed int, cpu, srv float64) {
		p0, s0 := cpuTime(pid), cpuTime(server)
		rate, failed = saturate(post, event, sbsSaturation)
		p1, s1 := cpuTime(pid), cpuTime(server)
		return rate, failed, perK(p1 - p0), perK(s1 - s0)
	}
	for round := range sbsSatRounds {
		// Alternating which side goes first, as above.
		var ra, rb, ca, cb, sa, sb float64
		var fa, fb int
		if round%2 == 0 {
			ra, fa, ca, sa = side(ours, actionEvent, pidA)
			rb, fb, cb, sb = side(base, baselineEvent, pidB)
		} else {
			rb, fb, cb, sb = side(base, baselineEvent, pidB)
			ra, fa, ca, sa = side(ours, actionEvent, pidA)
		}
		rates[0], rates[1] = append(rates[0], ra), append(rates[1], rb)
		cpus[0], cpus[1] = append(cpus[0], ca), append(cpus[1], cb)
		servers[0], servers[1] = append(servers[0], sa), append(servers[1], sb)
		add("saturation round %d, %d clickers, %d clicks a side: A %.0f clicks/s (%d failed); B %.0f clicks/s (%d failed); ratio %.2f; plugin CPU per 1,000 clicks A %.0f ms, B %.0f ms (ratio %.2f); server CPU per 1,000 clicks A %.0f ms, B %.0f ms",
			round+1, sbsClickers, sbsSaturation, ra, fa, rb, fb, ra/rb, ca, cb, ca/cb, sa, sb)
	}
	med := func(v []float64) float64 { s := append([]float64(nil), v...); sort.Float64s(s); return s[len(s)/2] }
	// The ratios are each round's, A against the B that ran right after it, then their median:
	// the machine's drift between rounds cancels out within a round, not across them.
	perRound := func(a, b []float64) []float64 {
		out := make([]float64, len(a))
		for i := range a {
			out[i] = a[i] / b[i]
		}
		return out
	}
	add("saturation, median of %d rounds: A %.0f clicks/s, B %.0f clicks/s, median ratio per round %.2f; plugin CPU per 1,000 clicks A %.0f ms, B %.0f ms, median ratio per round %.2f; server CPU per 1,000 clicks A %.0f ms, B %.0f ms",
		sbsSatRounds, med(rates[0]), med(rates[1]), med(perRound(rates[0], rates[1])), med(cpus[0]), med(cpus[1]), med(perRound(cpus[0], cpus[1])), med(servers[0]), med(servers[1]))

	// The post hook: POST /api/v4/posts with the plugin enabled and disabled, alternately.
	post := func(props map[string]any) time.Duration {
		body := map[string]any{"channel_id": env.Channel.Id, "message": "hook cost"}
		if props != nil {
			body["props"] = props
		}
		t0 := time.Now()
		status, out, err := call(http.MethodPost, "/api/v4/posts", bot.Token, body)
		if err != nil || status != http.StatusCreated {
			t.Fatalf("POST /api/v4/posts: HTTP %d %v %s", status, err, out)
		}
		return time.Since(t0)
	}
	withButtons := map[string]any{"attachments": []any{map[string]any{"actions": []any{button("go", "Go", bctx)}}}}
	var enabled, disabled [2][]time.Duration
	for round := range 4 {
		for _, on := range []bool{true, false} {
			if on {
				if _, err := env.Admin.Client.EnablePlugin(ctx, pluginID); err != nil {
					t.Fatal(err)
				}
				if err := env.WaitPluginRunning(ctx, pluginID, 60*time.Second); err != nil {
					t.Fatal(err)
				}
			} else if _, err := env.Admin.Client.DisablePlugin(ctx, pluginID); err != nil {
				t.Fatal(err)
			}
			for range sbsPosts {
				plain, buttons := post(nil), post(withButtons)
				if on {
					enabled[0], enabled[1] = append(enabled[0], plain), append(enabled[1], buttons)
				} else {
					disabled[0], disabled[1] = append(disabled[0], plain), append(disabled[1], buttons)
				}
			}
		}
		_ = round
	}
	if _, err := env.Admin.Client.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	if err := env.WaitPluginRunning(ctx, pluginID, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	for i, what := range []string{"a post without attachments", "a post with the plugin's buttons"} {
		e50, e95, _ := percentiles(enabled[i])
		d50, d95, _ := percentiles(disabled[i])
		add("post hook: POST /api/v4/posts, %s, %d posts a side in 4 alternating rounds: plugin enabled p50 %s p95 %s; disabled p50 %s p95 %s; ratio %.2f",
			what, len(enabled[i]), ms(e50), ms(e95), ms(d50), ms(d95), float64(e50)/float64(d50))
	}

	writeBenchReport(t, "sidebyside-bench.txt", report.lines)
}

var (
	loadUsersOnce sync.Once
	loadUsers     []*harness.Account
)

// createLoadUsersOnce makes the load users once per test binary (TestLoad may have made them).
func createLoadUsersOnce(t *testing.T) []*harness.Account {
	loadUsersOnce.Do(func() {
		ctx := context.Background()
		for i := 1; i <= loadExtraUsers; i++ {
			name := loadUsersPrefix + fmt.Sprint(i)
			c := model.NewAPIv4Client(env.SiteURL)
			if _, _, err := c.Login(ctx, name, harness.UserPassword); err != nil {
				loadUsers = createLoadUsers(t, loadExtraUsers)
				return
			}
			me, _, _ := c.GetMe(ctx, "")
			loadUsers = append(loadUsers, &harness.Account{User: me, Password: harness.UserPassword, Token: c.AuthToken, Client: c})
		}
	})
	return loadUsers
}
