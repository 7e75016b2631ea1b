package e2e_test

// TestDeliveryBench (SPEC §8, §9; `make e2e-bench`): the delivery guarantees measured on the
// real server.
//
//   - click → the bot's answer applied: a websocket bot that subscribed and answers in its ack,
//     against the same answer given by a native HTTP integration on loopback (Mattermost calls
//     it directly; AllowedUntrustedInternalConnections lets it call 127.0.0.1), alternating A B
//     A B in one run. The click's round trip is the measure: Mattermost answers the click only
//     after it applied the answer (updated the post, sent the ephemeral text), for both.
//   - how fast the clicker hears that a bot is offline;
//   - replay throughput: kept events per second a reconnecting bot receives (and acks);
//   - plugin memory with 10,000 kept events.
//
// Prints an "E2E-BENCH" block, also written to $E2E_RUN_DIR/delivery-bench.txt.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/socketmode/mattermost-plugin-interactive-message-actions-to-websocket-proxy/libs/go/socketmode"

	"e2e/harness"
)

var (
	benchRounds       = benchSize(6, 1)  // A B C rounds
	benchClicksRound  = benchSize(40, 3) // clicks per side per round
	benchOfflineClick = benchSize(50, 3) // clicks measured for the offline notice
	benchKept         = benchSize(10_000, 30)
	benchKeepers      = 4 // concurrent clickers filling the queue
)

// benchAnswer is the bot logic both sides share: what a click is answered with.
func benchAnswer(userName, option string) map[string]any {
	return map[string]any{
		"update":         map[string]any{"message": "Deployed " + option + " for @" + userName},
		"ephemeral_text": "Deploying " + option + ".",
	}
}

// nativeIntegration is an HTTP integration on loopback answering like the websocket bot.
func nativeIntegration(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req model.PostActionIntegrationRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		option, _ := req.Context["selected_option"].(string)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(benchAnswer(req.UserName, option))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String() + "/click"
}

// allowLoopbackIntegrations lets Mattermost call 127.0.0.1 for the rest of the test.
func allowLoopbackIntegrations(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	cfg, _, err := env.Admin.Client.GetConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	saved := ""
	if cfg.ServiceSettings.AllowedUntrustedInternalConnections != nil {
		saved = *cfg.ServiceSettings.AllowedUntrustedInternalConnections
	}
	set := func(v string) {
		cfg, _, err := env.Admin.Client.GetConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ServiceSettings.AllowedUntrustedInternalConnections = model.NewPointer(v)
		if _, _, err := env.Admin.Client.UpdateConfig(ctx, cfg); err != nil {
			t.Fatalf("AllowedUntrustedInternalConnections=%q: %v", v, err)
		}
	}
	set("127.0.0.1")
	t.Cleanup(func() { set(saved) })
}

// restAckingBot subscribes a websocket of bot and answers every click in its ack, posted to
// POST /api/v1/ack and timed into acks.
func restAckingBot(t *testing.T, bot *harness.Account, acks *restAcks) {
	t.Helper()
	s := openSocket(t, bot)
	s.subscribe(t)
	restClickBot(t, s, bot, actionEvent, ackPath, acks, func(data map[string]any) (string, map[string]any) {
		proxy, _ := data["proxy"].(map[string]any)
		return fmt.Sprint(proxy["event_id"]), data
	})
}

// restClickBot answers, on s, every event of bot's that is a click with benchAnswer, posted to
// path and timed into acks; click reads an event's data into its id and the click's request.
func restClickBot(t *testing.T, s *socket, bot *harness.Account, event, path string, acks *restAcks,
	click func(data map[string]any) (id string, request map[string]any)) {
	t.Helper()
	go func() {
		for {
			ev, err := s.next(event, time.Hour)
			if err != nil {
				return
			}
			id, request := click(ev.GetData())
			ctx, _ := request["context"].(map[string]any)
			userName, _ := request["user_name"].(string)
			option, _ := ctx["selected_option"].(string)
			acks.post(t, path, bot, id, benchAnswer(userName, option))
		}
	}()
}

// restAcks times a bot's acknowledgements over REST: POST /api/v1/ack (or the floor's) as the
// bot sees it, from sending the request to reading the response.
type restAcks struct {
	mu   sync.Mutex
	path string // the last one posted to
	took []time.Duration
}

// post acknowledges the event id with answer as bot at path, and times it.
func (a *restAcks) post(t *testing.T, path string, bot *harness.Account, id string, answer map[string]any) {
	start := time.Now()
	status, out, err := call(http.MethodPost, path, bot.Token, map[string]any{"event_id": id, "answer": answer})
	took := time.Since(start)
	if err != nil || status != http.StatusOK {
		t.Errorf("POST %s: HTTP %d %v %s", path, status, err, out)
		return
	}
	a.mu.Lock()
	a.path, a.took = path, append(a.took, took)
	a.mu.Unlock()
}

// taken hands over the acknowledgements timed so far, and starts again.
func (a *restAcks) taken() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	took := a.took
	a.took = nil
	return took
}

// report adds the acknowledgements timed since the last taken.
func (a *restAcks) report(add func(string, ...any), what string) {
	took := a.taken()
	if len(took) == 0 {
		return
	}
	p50, p95, _ := percentiles(took)
	add("%s: the REST bot's POST %s as it saw it, %d acks: p50 %s p95 %s", what, a.path, len(took), ms(p50), ms(p95))
}

// libraryBot runs the Go library's bot for bot (libs/go, package socketmode), answering every
// choice in the menu "pick" with benchAnswer in its acknowledgement on the websocket, as a bot
// developer's bot would; quickAck is the library's remedy for Mattermost's Nagle stall (on by
// default). It runs until the test ends.
func libraryBot(t *testing.T, bot *harness.Account, quickAck bool) {
	t.Helper()
	app := socketmode.New(env.SiteURL, bot.Token, socketmode.Options{NoQuickAck: !quickAck,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ready := make(chan struct{})
	var once sync.Once
	app.OnReady(func(context.Context, *socketmode.Ready) { once.Do(func() { close(ready) }) })
	app.Menu("pick", func(_ context.Context, e *socketmode.Action) (*socketmode.ActionAnswer, error) {
		a := benchAnswer(e.UserName, e.SelectedOption)
		return &socketmode.ActionAnswer{Update: &socketmode.PostUpdate{Message: a["update"].(map[string]any)["message"].(string)},
			EphemeralText: a["ephemeral_text"].(string)}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = app.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("the library's bot did not subscribe")
	}
}

// benchSidesRun runs each side in turn, round after round (A B C D A B C D …), and reports
// each round and the whole, every side against the last (the native baseline). It returns
// each side's p50 over every round.
func benchSidesRun(add func(string, ...any), what, measured string, rounds int, names []string, sides []func() []time.Duration) []time.Duration {
	all := make([][]time.Duration, len(sides))
	base := len(sides) - 1
	for round := range rounds {
		line := fmt.Sprintf("%s round %d:", what, round+1)
		got := make([][]time.Duration, len(sides))
		for i, side := range sides {
			got[i] = side()
			all[i] = append(all[i], got[i]...)
		}
		for i := range sides {
			line += fmt.Sprintf(" %s p50 %s (%.2f);", names[i], ms(median(got[i])), float64(median(got[i]))/float64(median(got[base])))
		}
		add("%s", line)
	}
	b50, b95, _ := percentiles(all[base])
	add("%s: %s, %d a side in %d alternating rounds; %s p50 %s p95 %s", what, measured, len(all[base]), rounds, names[base], ms(b50), ms(b95))
	p50s := make([]time.Duration, len(sides))
	p50s[base] = b50
	for i := range base {
		p50, p95, _ := percentiles(all[i])
		p50s[i] = p50
		add("%s: %s: p50 %s p95 %s, ratio p50 %.2f, p95 %.2f", what, names[i], ms(p50), ms(p95), float64(p50)/float64(b50), float64(p95)/float64(b95))
	}
	return p50s
}

// reportOverFloor reports the plugin's sides against the floor side's p50: what the plugin adds
// to the hops any plugin makes.
func reportOverFloor(add func(string, ...any), what string, names []string, p50s []time.Duration, floor int, sides ...int) {
	line := fmt.Sprintf("%s: against the floor (%s, p50 %s):", what, names[floor], ms(p50s[floor]))
	for _, i := range sides {
		line += fmt.Sprintf(" %s %.2f (+%s);", names[i], float64(p50s[i])/float64(p50s[floor]), ms(p50s[i]-p50s[floor]))
	}
	add("%s", line)
}

// benchReport collects a benchmark's lines, each logged as it comes, for writeBenchReport.
type benchReport struct {
	t     *testing.T
	lines []string
}

func (r *benchReport) add(format string, args ...any) {
	r.t.Helper()
	line := fmt.Sprintf(format, args...)
	r.lines = append(r.lines, line)
	r.t.Log(line)
}

func median(ds []time.Duration) time.Duration {
	p50, _, _ := percentiles(append([]time.Duration(nil), ds...))
	return p50
}

func TestDeliveryBench(t *testing.T) {
	requirePlugin(t)
	alice := env.Users[0]
	aliceWS := openSocket(t, alice)
	report := &benchReport{t: t}
	add := report.add
	add("real Mattermost %s + %s %s, %d CPUs, PostgreSQL; bots: the Go library's (libs/go), the REST-acking one on model.WebSocketClient",
		mmVersion(), pluginID, pluginVersion, runtime.NumCPU())

	// --- click -> answer applied: the plugin with a websocket bot on the Go library, with its
	// Nagle remedy (A) and without (A0), with a bot acking over REST (R), against a native HTTP
	// integration on loopback (B).
	allowLoopbackIntegrations(t)
	hook := nativeIntegration(t)
	bot := newDeliveryBot(t, "benchanswer")
	libraryBot(t, bot, true)
	stalled := newDeliveryBot(t, "benchnagle")
	libraryBot(t, stalled, false)
	restBot := newDeliveryBot(t, "benchrest")
	acks := &restAcks{}
	restAckingBot(t, restBot, acks)
	values := make([]string, benchClicksRound)
	for i := range values {
		values[i] = strconv.Itoa(i)
	}
	options := make([]map[string]any, len(values))
	for i, v := range values {
		options[i] = map[string]any{"text": v, "value": v}
	}
	menu := func(who *harness.Account, url string) map[string]any {
		return map[string]any{"id": "pick", "name": "Pick", "type": "select", "options": options,
			"integration": map[string]any{"url": url, "context": map[string]any{"user_id": who.ID(), "action_id": "pick"}}}
	}
	viaPlugin := createPost(t, bot, "", "via the plugin", menu(bot, handlerPath))
	viaStalled := createPost(t, stalled, "", "via the plugin, no Nagle remedy", menu(stalled, handlerPath))
	viaREST := createPost(t, restBot, "", "via the plugin, acks over REST", menu(restBot, handlerPath))
	native := createPost(t, bot, "", "native integration", menu(bot, hook))
	side := func(post *model.Post) []time.Duration {
		out := make([]time.Duration, 0, benchClicksRound)
		for _, v := range values {
			c := mustClick(t, alice, post.Id, "pick", v)
			out = append(out, c.Done.Sub(c.Sent))
			// The clicker's ephemeral text arrived (Mattermost sent it before answering).
			if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Deploying "+v+"." {
				t.Fatalf("ephemeral %q after clicking %s", p.Message, v)
			}
		}
		return out
	}
	// Warm every path (connections, caches) before measuring.
	for _, p := range []*model.Post{viaPlugin, viaStalled, viaREST, native} {
		side(p)
		waitPostMessage(t, alice, p.Id, "Deployed "+values[len(values)-1]+" for @alice")
	}
	acks.taken() // the warm-up's
	benchSidesRun(add, "answer", "click -> answer applied", benchRounds,
		[]string{"plugin, library bot acking on the websocket", "plugin, the same without its Nagle remedy", "plugin, bot acking over REST", "native HTTP integration"},
		[]func() []time.Duration{func() []time.Duration { return side(viaPlugin) }, func() []time.Duration { return side(viaStalled) },
			func() []time.Duration { return side(viaREST) }, func() []time.Duration { return side(native) }})
	acks.report(add, "answer")
	// The same beside the floor: the least any plugin can do (floor_bench_test.go).
	// Both ways a bot acks: on its websocket, and over REST (the floor's REST bot on the same
	// client as the plugin's, restAckingBot).
	withFloor(t, func(floorAcc *harness.Account) {
		floorREST, floorAcks := newDeliveryBot(t, "benchfloorrest"), &restAcks{}
		floorRESTBot(t, floorREST, floorAcks)
		bare := newDeliveryBot(t, "benchbare")
		bareClickBot(t, bare)
		viaBare := createPost(t, bare, "", "via the plugin, a bare bot", menu(bare, handlerPath))
		viaFloor := createPost(t, floorAcc, "", "floor plugin", menu(floorAcc, floorURL(floorAcc, "click")))
		viaFloorCheck := createPost(t, floorAcc, "", "floor plugin, the clicker's permission asked", menu(floorAcc, floorURL(floorAcc, "click")+"&check=read"))
		viaFloorREST := createPost(t, floorREST, "", "floor plugin, acks over REST", menu(floorREST, floorURL(floorREST, "click")))
		for _, p := range []*model.Post{viaBare, viaFloor, viaFloorCheck, viaFloorREST} {
			side(p)
			waitPostMessage(t, alice, p.Id, "Deployed "+values[len(values)-1]+" for @alice")
		}
		acks.taken() // the warm-up's
		floorAcks.taken()
		names := []string{"plugin, library bot acking on the websocket", "floor plugin, bot acking on the websocket",
			"plugin, bot acking over REST", "floor plugin, bot acking over REST", "plugin, a bare bot acking on the websocket",
			"floor plugin asking the clicker's permission first, bot acking on the websocket", "native HTTP integration"}
		p50s := benchSidesRun(add, "answer beside the floor", "click -> answer applied", benchRounds, names,
			[]func() []time.Duration{func() []time.Duration { return side(viaPlugin) }, func() []time.Duration { return side(viaFloor) },
				func() []time.Duration { return side(viaREST) }, func() []time.Duration { return side(viaFloorREST) },
				func() []time.Duration { return side(viaBare) }, func() []time.Duration { return side(viaFloorCheck) },
				func() []time.Duration { return side(native) }})
		reportOverFloor(add, "answer beside the floor", names, p50s, 1, 0, 4)
		reportOverFloor(add, "answer beside the floor that asks the clicker's permission", names, p50s, 5, 0, 4)
		reportOverFloor(add, "answer beside the floor, acks over REST", names, p50s, 3, 2)
		acks.report(add, "answer beside the floor")
		floorAcks.report(add, "answer beside the floor, the floor's")
	})
	// The same answer from the Python and JavaScript libraries' bots, with and without their
	// Nagle remedy (library_bench_test.go).
	benchLibraryBots(t, add, side, menu, native, values[len(values)-1])

	// --- a burst of 200 concurrent clicks for one bot: answered in time (nothing is promised,
	// so nothing should be written), then for the bot offline (each click kept before the
	// clicker is told so). The KV store's row operations come from PostgreSQL's own counters.
	clickers := append([]*harness.Account{env.Users[1]}, createLoadUsersOnce(t)...)
	burstPost := createPost(t, bot, "", "burst", menu(bot, handlerPath))
	benchBurst(t, add, "answered in time by the library bot", burstPost, clickers, "0")
	gone := newDeliveryBot(t, "benchburst")
	g := openSocket(t, gone)
	g.subscribe(t)
	g.ws.Close()
	waitLive(t, gone, 0)
	benchBurst(t, add, "for the bot offline (every click kept)", createPost(t, gone, "", "burst offline", menu(gone, handlerPath)), clickers, "0")

	// --- offline: how fast the clicker hears it.
	away := newDeliveryBot(t, "benchaway")
	s := openSocket(t, away)
	s.subscribe(t)
	s.ws.Close()
	waitLive(t, away, 0)
	awayPost := createPost(t, away, "", "offline", button("go", "Go", map[string]any{"user_id": away.ID()}))
	var told []time.Duration
	for range benchOfflineClick {
		c := mustClick(t, alice, awayPost.Id, "go", "")
		p := aliceWS.ephemeralPost(t, 10*time.Second)
		if p.Message != offlineNotice {
			t.Fatalf("offline click: %q", p.Message)
		}
		told = append(told, time.Since(c.Sent))
	}
	o50, o95, _ := percentiles(told)
	add("offline: click -> the clicker reads that the bot is offline (ephemeral on alice's websocket), %d clicks: p50 %s p95 %s",
		len(told), ms(o50), ms(o95))

	// --- 10,000 kept events: memory, then replay throughput (E2E_BENCH_KEPT to change; 0 skips).
	kept := benchKept
	if v := os.Getenv("E2E_BENCH_KEPT"); v != "" {
		kept, _ = strconv.Atoi(v)
	}
	if kept > 0 {
		benchKeptEvents(t, alice, kept, add)
	}

	writeBenchReport(t, "delivery-bench.txt", report.lines)
}

// benchBurst makes 200 concurrent clicks (choosing option) on post from clickers, each click
// waiting for Mattermost's answer, and reports the KV store's row operations per click.
func benchBurst(t *testing.T, add func(string, ...any), label string, post *model.Post, clickers []*harness.Account, option string) {
	t.Helper()
	burst, concurrent := benchSize(200, 40), 20
	before := kvTableStats(t)
	start := time.Now()
	wait, _ := clickConcurrently(clickers, concurrent, burst, post.Id, "pick", option)
	failed := wait()
	took := time.Since(start)
	after := kvTableStats(t)
	if failed != 0 {
		t.Fatalf("burst %s: %d of %d clicks failed", label, failed, burst)
	}
	d := func(i int) float64 { return float64(after[i]-before[i]) / float64(burst) }
	add("burst of %d concurrent clicks (%d at a time) %s: all answered in %s; KV store per click: %.2f rows inserted, %.2f updated, %.2f deleted, %.2f index lookups (PostgreSQL's pg_stat_user_tables for PluginKeyValueStore, the plugin's heartbeats included)",
		burst, concurrent, label, took.Round(time.Millisecond), d(0), d(1), d(2), d(3))
}

// clickConcurrently makes n clicks on a post's action from workers concurrent clickers (the
// users in turn), each click waiting for Mattermost's answer. It returns at once: wait waits
// for the last click and says how many failed; failed says how many failed so far.
func clickConcurrently(users []*harness.Account, workers, n int, postID, action, option string) (wait, failedSoFar func() int) {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func(u *harness.Account) {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if r, err := click(u, postID, action, option); err != nil || r.Status != http.StatusOK {
					failed.Add(1)
				}
			}
		}(users[i%len(users)])
	}
	failedSoFar = func() int { return int(failed.Load()) }
	return func() int { wg.Wait(); return failedSoFar() }, failedSoFar
}

// kvTableStats reads PostgreSQL's counters for the plugins' KV table: rows inserted, updated,
// deleted, and index scans (each read, compare-and-set and upsert looks its row up). A
// backend reports its counters when idle, at most every ten seconds (PostgreSQL 15's
// PGSTAT_IDLE_INTERVAL): wait that long first.
func kvTableStats(t *testing.T) [4]int64 {
	t.Helper()
	time.Sleep(11 * time.Second)
	psql, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	if len(psql) == 0 {
		t.Fatal("psql not found under /usr/lib/postgresql/*/bin")
	}
	port := os.Getenv("E2E_PG_PORT")
	if port == "" {
		port = "55432"
	}
	out, err := exec.Command(psql[len(psql)-1], "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "mattermost", "-Atc",
		"SELECT n_tup_ins, n_tup_upd, n_tup_del, coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'pluginkeyvaluestore'").Output()
	if err != nil {
		t.Fatalf("psql: %v", err)
	}
	var v [4]int64
	for i, f := range strings.Split(strings.TrimSpace(string(out)), "|") {
		if i < len(v) {
			v[i], _ = strconv.ParseInt(f, 10, 64)
		}
	}
	return v
}

// moreUsers makes n users named prefix1… in the e2e team and channel (again if they exist:
// they are logged in), for tests that need many clickers.
func moreUsers(t *testing.T, prefix string, n int) []*harness.Account {
	t.Helper()
	ctx := context.Background()
	var out []*harness.Account
	for i := 1; i <= n; i++ {
		name := prefix + strconv.Itoa(i)
		if u, _, err := env.Admin.Client.CreateUser(ctx, &model.User{Username: name, Email: name + "@example.com", Password: harness.UserPassword}); err == nil {
			_, _, _ = env.Admin.Client.AddTeamMember(ctx, env.Team.Id, u.Id)
			_, _, _ = env.Admin.Client.AddChannelMember(ctx, env.Channel.Id, u.Id)
		}
		out = append(out, logIn(t, name))
	}
	return out
}

// logIn signs a user made by the tests in, with the tests' password.
func logIn(t *testing.T, name string) *harness.Account {
	t.Helper()
	c := model.NewAPIv4Client(env.SiteURL)
	me, _, err := c.Login(context.Background(), name, harness.UserPassword)
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return &harness.Account{User: me, Password: harness.UserPassword, Token: c.AuthToken, Client: c}
}

// benchKeptEvents keeps n clicks for an offline bot, measures the plugin's memory, then the
// replay to the bot when it is back.
func benchKeptEvents(t *testing.T, alice *harness.Account, n int, add func(string, ...any)) {
	section := pluginSection(t)
	bigger := map[string]any{}
	for k, v := range section {
		bigger[k] = v
	}
	bigger["keptperbot"] = n
	setPluginSection(t, bigger)
	t.Cleanup(func() { setPluginSection(t, section) })
	keeper := newDeliveryBot(t, "benchkeep")
	s := openSocket(t, keeper)
	s.subscribe(t)
	s.ws.Close()
	waitLive(t, keeper, 0)
	keptPost := createPost(t, keeper, "", "kept", button("go", "Go", map[string]any{"user_id": keeper.ID()}))
	// One person may have a tenth of what a bot keeps: the clicks come from enough people.
	clickers := append([]*harness.Account{alice, env.Users[1]}, createLoadUsersOnce(t)...)
	clickers = append(clickers, moreUsers(t, "keeper", 12-len(clickers))...)
	pid := pluginProcess()
	rssBefore, _ := rssKiB(pid)
	var next, failed atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range benchKeepers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if r, err := click(clickers[int(i)%len(clickers)], keptPost.Id, "go", ""); err != nil || r.Status != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	filled := time.Since(start)
	if failed.Load() > 0 {
		t.Errorf("%d of %d clicks failed while filling the queue", failed.Load(), n)
	}
	st := waitStatus(t, keeper, 0, n)
	rssKept, peakKept := rssKiB(pid)
	add("kept: %d clicks for an offline bot kept in %s (%.0f clicks/s, %d concurrent clickers); status kept %v, dropped %v",
		n, filled.Round(time.Millisecond), float64(n)/filled.Seconds(), benchKeepers, st["kept"], st["dropped"])
	add("memory: plugin process RSS before %s, with %d kept events %s (peak %s): the events are in the KV store, not in memory",
		mib(rssBefore), n, mib(rssKept), mib(peakKept))

	back := openSocket(t, keeper)
	t0 := time.Now()
	if sub := back.subscribe(t); sub["kept"] != float64(n) {
		t.Errorf("subscribed %s, want kept %d", mustJSON(sub), n)
	}
	seen := map[string]bool{}
	for len(seen) < n {
		ev, err := back.next(actionEvent, 30*time.Second)
		if err != nil {
			t.Fatalf("replay stopped after %d of %d events: %v", len(seen), n, err)
		}
		d := deliveryOf(t, ev)
		seen[d.EventID] = true
		back.ack(d.EventID, nil)
	}
	replayed := time.Since(t0)
	rssAfter, peakAfter := rssKiB(pid)
	add("replay: %d kept events to a reconnecting bot (acking each) in %s: %.0f events/s",
		n, replayed.Round(time.Millisecond), float64(n)/replayed.Seconds())
	add("memory: plugin process RSS after the replay %s (peak %s)", mib(rssAfter), mib(peakAfter))
	waitStatus(t, keeper, 1, -1)
}
