package e2e_test

// TestLoad: thousands of clicks through the real server, with one Go bot
// websocket connected: no event lost or duplicated; click→event latency,
// click round trip, throughput and the plugin process's memory. Runs in the
// normal suite (not under -short) and alone with `make e2e-bench`
// (E2E_BENCH=1 -run TestLoad). Prints an "E2E-BENCH" block, also written to
// $E2E_RUN_DIR/bench.txt.

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

const (
	loadExtraUsers  = 4  // besides alice and bob
	loadClickers    = 2  // concurrent clickers per user
	loadPosts       = 25 // actionbot's posts clicked during the load
	loadButtons     = 4  // buttons per post
	loadOptions     = 10 // options of the menu on each post
	loadSequential  = 200
	loadEventWait   = 30 * time.Second
	loadUsersPrefix = "loaduser"
)

// clickKey identifies one click of the load: every (user, post, button or
// option) is clicked exactly once, so each event names its click.
func clickKey(userID, postID, what string) string { return userID + "/" + postID + "/" + what }

// eventKey is clickKey for a received event's data.
func eventKey(data map[string]any) string {
	ctx, _ := data["context"].(map[string]any)
	what := ""
	if opt, ok := ctx["selected_option"].(string); ok {
		what = "opt:" + opt
	} else if n, ok := ctx["n"].(float64); ok {
		what = "b" + strconv.Itoa(int(n))
	}
	u, _ := data["user_id"].(string)
	p, _ := data["post_id"].(string)
	return clickKey(u, p, what)
}

type loadClick struct {
	user           *harness.Account
	postID, action string
	option         string
	key            string
}

// percentiles of ds (sorted in place): p50, p95, p99.
func percentiles(ds []time.Duration) (p50, p95, p99 time.Duration) {
	if len(ds) == 0 {
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) time.Duration { return ds[max(int(math.Ceil(q*float64(len(ds))))-1, 0)] }
	return at(0.50), at(0.95), at(0.99)
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + " ms"
}

// serverProcess is the Mattermost server's process (0: not known).
func serverProcess() int {
	b, err := os.ReadFile(filepath.Join(env.RunDir, "mm", "server.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// rssKiB reads VmRSS and VmHWM (peak) of a process, in KiB.
func rssKiB(pid int) (rss, peak int) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			v, _ := strconv.Atoi(f[1])
			switch f[0] {
			case "VmRSS:":
				rss = v
			case "VmHWM:":
				peak = v
			}
		}
	}
	return rss, peak
}

func mib(kib int) string { return strconv.FormatFloat(float64(kib)/1024, 'f', 1, 64) + " MiB" }

// createLoadUsers creates n more users, members of the team and channel,
// logged in.
func createLoadUsers(t *testing.T, n int) []*harness.Account {
	ctx := context.Background()
	ac := env.Admin.Client
	var out []*harness.Account
	for i := 1; i <= n; i++ {
		name := loadUsersPrefix + strconv.Itoa(i)
		u, _, err := ac.CreateUser(ctx, &model.User{Username: name, Email: name + "@example.com", Password: harness.UserPassword})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if _, _, err := ac.AddTeamMember(ctx, env.Team.Id, u.Id); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ac.AddChannelMember(ctx, env.Channel.Id, u.Id); err != nil {
			t.Fatal(err)
		}
		out = append(out, logIn(t, name))
	}
	return out
}

func TestLoad(t *testing.T) {
	requirePlugin(t)
	if testing.Short() && os.Getenv("E2E_BENCH") != "1" {
		t.Skip("load test: not under -short (E2E_BENCH=1 runs it)")
	}
	bot, alice := env.Bots[0], env.Users[0]
	users := append([]*harness.Account{alice, env.Users[1]}, createLoadUsersOnce(t)...)
	botWS := openSocket(t, bot)
	pid := pluginProcess()
	if pid == 0 {
		t.Fatal("plugin process not found")
	}

	// --- Sequential, unloaded: click → event, and the click's round trip,
	// against the same click on a button of a plugin that is not installed
	// (Mattermost's own share of a click).
	seqCtx := map[string]any{"user_id": bot.ID(), "phase": "sequential"}
	seqPost := createPost(t, bot, "", "sequential", button("seq", "Seq", seqCtx))
	absent := map[string]any{"id": "absent", "name": "Absent", "type": "button",
		"integration": map[string]any{"url": "/plugins/com.example.absent/api/v1/handler", "context": seqCtx}}
	basePost := createPost(t, bot, "", "baseline", absent)
	// A trivial Go plugin whose handler answers {} at once (helloplugin /noop):
	// what any plugin's ServeHTTP costs, RPC included.
	noopPost := (*model.Post)(nil)
	if err := installHello(); err != nil {
		t.Logf("no trivial-plugin baseline: %v", err)
	} else {
		noopPost = createPost(t, bot, "", "trivial plugin", map[string]any{"id": "noop", "name": "Noop", "type": "button",
			"integration": map[string]any{"url": "/plugins/" + helloPluginID + "/noop", "context": seqCtx}})
	}
	var seqEvent, seqRT, baseRT, noopRT []time.Duration
	for i := 0; i < 30+loadSequential; i++ { // the first 30 warm up
		c := mustClick(t, alice, seqPost.Id, "seq", "")
		if _, err := botWS.next(actionEvent, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		got := time.Now()
		b, err := click(alice, basePost.Id, "absent", "")
		if err != nil || b.Status != http.StatusBadRequest {
			t.Fatalf("baseline click: HTTP %d %v %s", b.Status, err, b.Body)
		}
		if i >= 30 {
			seqEvent = append(seqEvent, got.Sub(c.Sent))
			seqRT = append(seqRT, c.Done.Sub(c.Sent))
			baseRT = append(baseRT, b.Done.Sub(b.Sent))
		}
		if noopPost != nil {
			n := mustClick(t, alice, noopPost.Id, "noop", "")
			if i >= 30 {
				noopRT = append(noopRT, n.Done.Sub(n.Sent))
			}
		}
	}

	// --- Load: every user's clickers click concurrently; each click is unique.
	var plan []loadClick
	for p := 0; p < loadPosts; p++ {
		actions := []map[string]any{}
		for j := 0; j < loadButtons; j++ {
			actions = append(actions, button("b"+strconv.Itoa(j), "B"+strconv.Itoa(j),
				map[string]any{"user_id": bot.ID(), "post": p, "n": j}))
		}
		opts := make([]string, loadOptions)
		for j := range opts {
			opts[j] = "o" + strconv.Itoa(j)
		}
		actions = append(actions, staticSelect("pick", "Pick", map[string]any{"user_id": bot.ID(), "post": p, "menu": true}, opts...))
		post := createPost(t, bot, "", fmt.Sprintf("load %d", p), actions...)
		for _, u := range users {
			for j := 0; j < loadButtons; j++ {
				plan = append(plan, loadClick{user: u, postID: post.Id, action: "b" + strconv.Itoa(j),
					key: clickKey(u.ID(), post.Id, "b"+strconv.Itoa(j))})
			}
			for _, o := range opts {
				plan = append(plan, loadClick{user: u, postID: post.Id, action: "pick", option: o,
					key: clickKey(u.ID(), post.Id, "opt:"+o)})
			}
		}
	}
	total := len(plan)
	if total < 2000 {
		t.Fatalf("plan has %d clicks, want at least 2000", total)
	}
	// Worker w of user u takes every loadClickers-th click of u, spreading posts.
	queues := map[string][]loadClick{}
	count := map[string]int{}
	for _, c := range plan {
		w := c.user.ID() + "#" + strconv.Itoa(count[c.user.ID()]%loadClickers)
		count[c.user.ID()]++
		queues[w] = append(queues[w], c)
	}

	runtime.GC()
	rssBefore, _ := rssKiB(pid)

	type arrival struct {
		at time.Time
		id string
	}
	var (
		mu         sync.Mutex
		arrivals   = map[string][]arrival{}
		eventIDs   = map[string]int{}
		unexpected []string
		sent       = map[string]clickResult{}
		failures   []string
	)
	wantKeys := map[string]bool{}
	for _, c := range plan {
		wantKeys[c.key] = true
	}
	allIn := make(chan struct{})
	stop := make(chan struct{})
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		received := 0
		for {
			select {
			case ev, ok := <-botWS.events:
				if !ok {
					return
				}
				if string(ev.EventType()) != actionEvent {
					continue
				}
				now := time.Now()
				data := ev.GetData()
				k := eventKey(data)
				proxy, _ := data["proxy"].(map[string]any)
				id, _ := proxy["event_id"].(string)
				mu.Lock()
				arrivals[k] = append(arrivals[k], arrival{now, id})
				eventIDs[id]++
				if !wantKeys[k] {
					unexpected = append(unexpected, k)
				} else if len(arrivals[k]) == 1 {
					received++
				}
				mu.Unlock()
				if received == total {
					close(allIn)
					received = -1 << 30 // keep collecting (duplicates) until stop
				}
			case <-stop:
				return
			}
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	for _, q := range queues {
		wg.Add(1)
		go func(q []loadClick) {
			defer wg.Done()
			for _, c := range q {
				r, err := click(c.user, c.postID, c.action, c.option)
				mu.Lock()
				sent[c.key] = r
				if err != nil || r.Status != http.StatusOK {
					failures = append(failures, fmt.Sprintf("%s: HTTP %d %v %s", c.key, r.Status, err, r.Body))
				}
				mu.Unlock()
			}
		}(q)
	}
	wg.Wait()
	clicksDone := time.Now()
	select {
	case <-allIn:
	case <-time.After(loadEventWait):
	}
	time.Sleep(time.Second) // late duplicates
	close(stop)
	<-collected
	rssAfter, rssPeak := rssKiB(pid)
	serverRSS, _ := rssKiB(serverProcess())

	mu.Lock()
	defer mu.Unlock()
	var lost, dup []string
	var lat, rt []time.Duration
	var lastArrival time.Time
	for _, c := range plan {
		a := arrivals[c.key]
		switch {
		case len(a) == 0:
			lost = append(lost, c.key)
			continue
		case len(a) > 1:
			dup = append(dup, c.key)
		}
		s := sent[c.key]
		lat = append(lat, a[0].at.Sub(s.Sent))
		rt = append(rt, s.Done.Sub(s.Sent))
		if a[0].at.After(lastArrival) {
			lastArrival = a[0].at
		}
	}
	dupIDs := 0
	for _, n := range eventIDs {
		if n > 1 {
			dupIDs++
		}
	}
	elapsed := clicksDone.Sub(start)
	l50, l95, l99 := percentiles(lat)
	r50, r95, r99 := percentiles(rt)
	s50, s95, s99 := percentiles(seqEvent)
	q50, _, _ := percentiles(seqRT)
	b50, _, _ := percentiles(baseRT)
	n50, _, _ := percentiles(noopRT)
	pct := func(d time.Duration) string {
		return strconv.FormatFloat(100*float64(d)/float64(max(s50, 1)), 'f', 0, 64) + "%"
	}
	noopLine := "unloaded: no trivial-plugin baseline (helloplugin could not be built or installed)"
	if len(noopRT) > 0 {
		noopLine = fmt.Sprintf("unloaded: same click to a trivial Go plugin answering {} p50 %s => this plugin's own work "+
			"(round trip - trivial plugin's) %s = %s of click->event p50 (SPEC §8 budget: 10%%)", ms(n50), ms(q50-n50), pct(q50-n50))
	}

	lines := []string{
		fmt.Sprintf("real Mattermost %s + %s %s, %d CPUs, Go bot websocket (model.WebSocketClient)",
			mmVersion(), pluginID, pluginVersion, runtime.NumCPU()),
		fmt.Sprintf("load: %d clicks by %d users x %d concurrent clickers on %d posts (%d buttons + a %d-option menu each)",
			total, len(users), loadClickers, loadPosts, loadButtons, loadOptions),
		fmt.Sprintf("load: %d delivered, %d lost, %d duplicated (by click), %d duplicate event ids, %d unexpected, %d failed clicks",
			total-len(lost), len(lost), len(dup), dupIDs, len(unexpected), len(failures)),
		fmt.Sprintf("load: %.0f clicks/s (%d clicks in %s; last event %s after the first click)",
			float64(total)/elapsed.Seconds(), total, elapsed.Round(time.Millisecond), lastArrival.Sub(start).Round(time.Millisecond)),
		fmt.Sprintf("load: click->event p50 %s  p95 %s  p99 %s", ms(l50), ms(l95), ms(l99)),
		fmt.Sprintf("load: click HTTP round trip p50 %s  p95 %s  p99 %s", ms(r50), ms(r95), ms(r99)),
		fmt.Sprintf("unloaded (%d sequential clicks): click->event p50 %s  p95 %s  p99 %s", loadSequential, ms(s50), ms(s95), ms(s99)),
		fmt.Sprintf("unloaded: click HTTP round trip p50 %s; same click to an absent plugin (Mattermost alone) p50 %s",
			ms(q50), ms(b50)),
		fmt.Sprintf("unloaded: calling any plugin, this one included (round trip - absent plugin's) %s = %s of click->event p50",
			ms(q50-b50), pct(q50-b50)),
		noopLine,
		fmt.Sprintf("memory: plugin process (pid %d) RSS before %s, after %s, peak %s; server RSS %s",
			pid, mib(rssBefore), mib(rssAfter), mib(rssPeak), mib(serverRSS)),
	}
	writeBenchReport(t, "bench.txt", lines)

	show := func(what string, keys []string) {
		if len(keys) > 0 {
			t.Errorf("%d %s, e.g. %v", len(keys), what, keys[:min(len(keys), 5)])
		}
	}
	show("failed clicks", failures)
	show("events lost", lost)
	show("events duplicated", dup)
	show("unexpected events", unexpected)
	if dupIDs > 0 {
		t.Errorf("%d event ids delivered more than once", dupIDs)
	}
}

// writeBenchReport prints lines as an "E2E-BENCH" block and writes it to $E2E_RUN_DIR/file; a
// token-size run (make e2e) writes <file>.once instead, so that it never replaces the figures of
// a full run (make e2e-bench) in the same run directory.
func writeBenchReport(t *testing.T, file string, lines []string) {
	var report strings.Builder
	for _, l := range lines {
		report.WriteString("E2E-BENCH " + l + "\n")
	}
	fmt.Print("\n" + report.String() + "\n")
	if !benchFull && file != "bench.txt" { // TestLoad runs at full size either way
		file += ".once"
	}
	if err := os.WriteFile(filepath.Join(env.RunDir, file), []byte(report.String()), 0o644); err != nil {
		t.Errorf("writing %s: %v", file, err)
	}
}

const helloPluginID = "com.example.e2e-hello"

var (
	helloOnce sync.Once
	helloErr  error
)

// installHello builds and installs the harness's trivial plugin, once per run.
func installHello() error {
	helloOnce.Do(func() {
		ctx := context.Background()
		bundle, err := helloBundle()
		if err != nil {
			helloErr = err
			return
		}
		if _, err := env.UploadPlugin(ctx, bundle); err != nil {
			helloErr = err
			return
		}
		helloErr = env.WaitPluginRunning(ctx, helloPluginID, 60*time.Second)
	})
	return helloErr
}

// requireHello is installHello that fails the test.
func requireHello(t testing.TB) {
	t.Helper()
	if err := installHello(); err != nil {
		t.Fatal(err)
	}
}

// helloBundle builds the harness's trivial plugin (scripts/make-hello-bundle.sh).
func helloBundle() (string, error) { return testPluginBundle("helloplugin") }

// testPluginBundle builds one of the harness's own plugins, tests/e2e/<dir>.
func testPluginBundle(dir string) (string, error) {
	cmd := exec.Command("bash", filepath.Join(harness.E2EDir(), "scripts", "make-hello-bundle.sh"), dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("make-hello-bundle.sh %s: %w", dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// mmVersion is the server's version as it reports it.
func mmVersion() string {
	resp, err := httpClient.Get(env.SiteURL + "/api/v4/system/ping")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	if v := strings.Split(resp.Header.Get("X-Version-Id"), "."); len(v) >= 3 {
		return strings.Join(v[:3], ".")
	}
	return "?"
}
