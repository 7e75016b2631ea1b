package e2e_test

// The JavaScript library (libs/js) against the real server: a bot built on it (libjs/bot.mjs)
// runs as a subprocess, and alice clicks, fills in a dialog, types in its dynamic select and runs
// its slash command; the plugin restarts; the bot stops while clicks are made and starts again;
// a second replica joins. Every event the library hands a handler is printed by the bot and
// checked against docs/schemas. One bot account and at most two processes serve every check.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"e2e/harness"
)

// libjsBot is a running libjs/bot.mjs: its stdout lines, its stderr kept for the failure report.
type libjsBot struct {
	replica string
	cmd     *exec.Cmd
	lines   chan string
	stderr  exampleStderr
	done    chan struct{}
}

// libjsEvent is an "event" line: what a handler received.
type libjsEvent struct {
	Kind    string         `json:"kind"`
	Replica string         `json:"replica"`
	Event   map[string]any `json:"event"`
}

func (e libjsEvent) id() string {
	proxy, _ := e.Event["proxy"].(map[string]any)
	id, _ := proxy["event_id"].(string)
	return id
}

func (e libjsEvent) attempt() float64 {
	proxy, _ := e.Event["proxy"].(map[string]any)
	delivery, _ := proxy["delivery"].(map[string]any)
	n, _ := delivery["attempt"].(float64)
	return n
}

// libjsDir installs the current libs/js into libjs/ (a copy: install-links) and returns it.
func libjsDir(t *testing.T, ctx context.Context) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	dir := filepath.Join(harness.E2EDir(), "libjs")
	npm := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	npm.Dir = dir
	if out, err := npm.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return dir
}

// startLibJS runs the bot as replica with bot's token; with post, it posts its message first.
func startLibJS(t *testing.T, dir string, bot *harness.Account, trigger, replica string, post bool) *libjsBot {
	t.Helper()
	extra := []string{"MM_COMMAND=" + trigger, "REPLICA=" + replica}
	if post {
		extra = append(extra, "MM_CHANNEL_ID="+env.Channel.Id)
	}
	return startLibJSScript(t, dir, "bot.mjs", bot, replica, extra...)
}

// startLibJSScript runs script (in dir) with bot's token and extra environment, named replica
// in the test's output, and stops it when the test ends.
func startLibJSScript(t *testing.T, dir, script string, bot *harness.Account, replica string, extra ...string) *libjsBot {
	t.Helper()
	cmd := exec.Command("node", script)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "MM_URL="+env.SiteURL, "MM_BOT_TOKEN="+bot.Token), extra...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	b := &libjsBot{replica: replica, cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	cmd.Stderr = &b.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the libjs bot: %v", err)
	}
	go func() {
		defer close(b.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			b.lines <- sc.Text()
		}
	}()
	go func() { _ = cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		b.stop(t)
		if t.Failed() {
			t.Logf("libjs bot %s stderr:\n%s", replica, b.stderr.String())
		}
	})
	return b
}

// stop sends SIGTERM (the library stops cleanly) and waits for the process to exit.
func (b *libjsBot) stop(t *testing.T) {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
		t.Errorf("libjs bot %s did not stop within 10 s of SIGTERM", b.replica)
	}
}

// line returns the next line starting with prefix (others are skipped, the library's
// @mattermost/client prints a few), without the prefix; "" and false after timeout.
func (b *libjsBot) line(t *testing.T, prefix string, timeout time.Duration) (string, bool) {
	t.Helper()
	line, err := harness.Await(b.lines, timeout, func(l string) bool {
		if strings.HasPrefix(l, prefix) {
			return true
		}
		t.Logf("libjs bot %s (skipped): %s", b.replica, l)
		return false
	})
	if errors.Is(err, harness.ErrClosed) {
		t.Fatalf("the libjs bot %s exited; stderr:\n%s", b.replica, b.stderr.String())
	}
	if err != nil {
		return "", false
	}
	return strings.TrimPrefix(line, prefix), true
}

func (b *libjsBot) mustLine(t *testing.T, prefix string) string {
	t.Helper()
	rest, ok := b.line(t, prefix, 30*time.Second)
	if !ok {
		t.Fatalf("the libjs bot %s printed no %q line", b.replica, prefix)
	}
	return rest
}

// event returns the next event a handler received, checked against its schema; false after timeout.
func (b *libjsBot) event(t *testing.T, timeout time.Duration) (libjsEvent, bool) {
	t.Helper()
	raw, ok := b.line(t, "event ", timeout)
	if !ok {
		return libjsEvent{}, false
	}
	var e libjsEvent
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatalf("libjs bot %s: event line %q: %v", b.replica, raw, err)
	}
	if err := validateData(e.Kind, e.Event); err != nil {
		t.Errorf("libjs bot %s handed its handler an event the schemas refuse: %v", b.replica, err)
	}
	return e, true
}

// mustEvent is the next event, which must be of kind.
func (b *libjsBot) mustEvent(t *testing.T, kind string) libjsEvent {
	t.Helper()
	e, ok := b.event(t, 10*time.Second)
	if !ok || e.Kind != kind {
		t.Fatalf("libjs bot %s: got %v %s, want a %s event", b.replica, ok, mustJSON(e), kind)
	}
	return e
}

// libjsDialog reads the open_dialog alice's webapp gets: the submit URL and the lookup URL.
func libjsDialog(t *testing.T, alice *socket) (url, lookupURL string) {
	t.Helper()
	ev := alice.mustNext(t, exampleOpenDialogEvent, 10*time.Second)
	var req struct {
		URL    string `json:"url"`
		Dialog struct {
			Elements []struct {
				Name          string `json:"name"`
				DataSourceURL string `json:"data_source_url"`
			} `json:"elements"`
		} `json:"dialog"`
	}
	raw, _ := ev.GetData()["dialog"].(string)
	if err := json.Unmarshal([]byte(raw), &req); err != nil || len(req.Dialog.Elements) != 2 {
		t.Fatalf("open_dialog: %s (%v)", raw, err)
	}
	return req.URL, req.Dialog.Elements[1].DataSourceURL
}

// libjsDialogCall is what the webapp posts to /api/v4/actions/dialogs/{submit,lookup}.
func libjsDialogCall(t *testing.T, acc *harness.Account, path, url, postID string, submission map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{
		"url": url, "callback_id": "libjs", "state": postID, "user_id": acc.ID(),
		"channel_id": env.Channel.Id, "team_id": env.Team.Id, "submission": submission,
	}
	status, out, err := call(http.MethodPost, "/api/v4/actions/dialogs/"+path, acc.Token, body)
	if err != nil || status != http.StatusOK {
		t.Fatalf("dialogs/%s as %s: HTTP %d %v: %s", path, acc.User.Username, status, err, out)
	}
	return jsonObject(out)
}

// libjsKept waits until the bot has no live connection and n kept events; if it does not come
// to that, it reports what the plugin keeps for the bot (its queue and the events) and fails.
func libjsKept(t *testing.T, bot *harness.Account, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := botStatus(t, bot)
		if liveConnections(st) == 0 && st["kept"] == float64(n) {
			return
		}
		if time.Now().After(deadline) {
			queue := psql(t, "SELECT convert_from(pvalue, 'UTF8') FROM pluginkeyvaluestore WHERE pluginid = '"+pluginID+"' AND pkey = 'q_"+bot.ID()+"'")
			events := psql(t, "SELECT pkey || ' ' || left(convert_from(pvalue, 'UTF8'), 400) FROM pluginkeyvaluestore WHERE pluginid = '"+
				pluginID+"' AND pkey LIKE 'ev_%' ORDER BY pkey")
			t.Fatalf("status %s, want no live connection and %d kept events; queue %s; kept events:\n%s", mustJSON(st), n, queue, events)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLibJS(t *testing.T) {
	requirePlugin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := libjsDir(t, ctx)
	bot := newDeliveryBot(t, "libjs")
	alice, bob := env.Users[0], env.Users[1]
	aliceWS := openSocket(t, alice)
	bobWS := openSocket(t, bob)
	trigger := uniqueTrigger("libjs")

	a := startLibJS(t, dir, bot, trigger, "a", true)
	postID := a.mustLine(t, "posted ")
	a.mustLine(t, "ready ")
	waitLive(t, bot, 1)

	// A click answered: the post is updated and alice reads the answer's text.
	mustClick(t, alice, postID, "answer", "")
	if e := a.mustEvent(t, "action"); e.Event["user_name"] != "alice" || e.attempt() != 1 {
		t.Errorf("the click's event: %s", mustJSON(e.Event))
	}
	waitPostMessage(t, alice, postID, "Answered for @alice")
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Answered by a." {
		t.Errorf("alice read %q, want the answer's ephemeral_text", p.Message)
	}

	// A dialog opened from a click, its dynamic select looked up, a field error, then a valid submission.
	mustClick(t, alice, postID, "dialog", "")
	a.mustEvent(t, "action")
	a.mustLine(t, "dialog ")
	url, lookupURL := libjsDialog(t, aliceWS)
	items := libjsDialogCall(t, alice, "lookup", lookupURL, postID, map[string]any{"query": "ca", "selected_field": "who"})["items"]
	if want := []any{map[string]any{"text": "carol", "value": "carol"}}; !reflect.DeepEqual(items, want) {
		t.Errorf("lookup items %s, want %s", mustJSON(items), mustJSON(want))
	}
	if e := a.mustEvent(t, "dialog_lookup"); e.Event["query"] != "ca" || e.Event["selected_field"] != "who" {
		t.Errorf("the lookup's event: %s", mustJSON(e.Event))
	}
	answer := libjsDialogCall(t, alice, "submit", url, postID, map[string]any{"reason": "a bad one"})
	if want := map[string]any{"errors": map[string]any{"reason": "Not that one."}}; !reflect.DeepEqual(answer, want) {
		t.Errorf("a bad reason: answer %s, want %s", mustJSON(answer), mustJSON(want))
	}
	a.mustEvent(t, "dialog_submission")
	if answer := libjsDialogCall(t, alice, "submit", url, postID, map[string]any{"reason": "a good one", "who": "carol"}); len(answer) != 0 {
		t.Errorf("a good reason: answer %s, want {}", mustJSON(answer))
	}
	if e := a.mustEvent(t, "dialog_submission"); !reflect.DeepEqual(e.Event["submission"], map[string]any{"reason": "a good one", "who": "carol"}) {
		t.Errorf("the submission's event: %s", mustJSON(e.Event))
	}

	// The slash command the library registered when it started, answered.
	if status, res := execute(t, alice, "/"+trigger+" ping"); status != http.StatusOK || res["text"] != "pong ping" {
		t.Errorf("/%s ping: HTTP %d %s, want the bot's pong", trigger, status, mustJSON(res))
	}
	a.mustEvent(t, "command")
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "pong ping" {
		t.Errorf("alice's ephemeral post after /%s ping: %q", trigger, p.Message)
	}

	// The plugin restarts: the library subscribes again when asked, and clicks still reach it.
	exampleResubscribes(t, ctx, bot)
	mustClick(t, bob, postID, "answer", "")
	a.mustEvent(t, "action")
	waitPostMessage(t, alice, postID, "Answered for @bob")
	if p := bobWS.ephemeralPost(t, 10*time.Second); p.Message != "Answered by a." {
		t.Errorf("after the plugin restarted bob read %q", p.Message)
	}

	// The bot stops (cleanly) and two clicks are made meanwhile: the clickers are told it is
	// offline, the clicks are kept, and the bot gets each once when it is back.
	a.stop(t)
	waitLive(t, bot, 0)
	mustClick(t, alice, postID, "answer", "")
	mustClick(t, bob, postID, "answer", "")
	for _, s := range []*socket{aliceWS, bobWS} {
		if p := s.ephemeralPost(t, 10*time.Second); p.Message != offlineNotice {
			t.Errorf("%s read %q while the bot was down, want the offline notice", s.name, p.Message)
		}
	}
	libjsKept(t, bot, 2)
	// No waiting for "ready": the kept events may come (and be printed) first.
	a = startLibJS(t, dir, bot, trigger, "a", false)
	replayed := map[string]int{}
	for range 2 {
		e := a.mustEvent(t, "action")
		replayed[e.id()]++
		if e.attempt() < 2 {
			t.Errorf("a replayed event has attempt %v", e.attempt())
		}
	}
	waitStatus(t, bot, 1, 0) // both acknowledged
	if e, ok := a.event(t, time.Second); ok {
		t.Errorf("an event after the replay: %s", mustJSON(e))
	}
	if len(replayed) != 2 {
		t.Errorf("the replay handed over %v, want two events once each", replayed)
	}

	// Two replicas: each click is handled by one of them, once.
	b := startLibJS(t, dir, bot, trigger, "b", false)
	b.mustLine(t, "ready ")
	waitLive(t, bot, 2)
	const clicks = 6
	for range clicks {
		mustClick(t, alice, postID, "answer", "")
	}
	handled := map[string][]string{}
	events := make(chan libjsEvent, 4*clicks)
	var readers sync.WaitGroup
	for _, r := range []*libjsBot{a, b} {
		readers.Add(1)
		go func(r *libjsBot) {
			defer readers.Done()
			for { // until 3 s without an event
				e, ok := r.event(t, 3*time.Second)
				if !ok {
					return
				}
				events <- e
			}
		}(r)
	}
	deadline := time.After(30 * time.Second)
	for len(handled) < clicks {
		select {
		case e := <-events:
			handled[e.id()] = append(handled[e.id()], e.Replica)
		case <-deadline:
			t.Fatalf("the replicas handled %d of %d clicks: %v", len(handled), clicks, handled)
		}
	}
	waitStatus(t, bot, 2, 0)
	readers.Wait() // and no event more
	close(events)
	for e := range events {
		handled[e.id()] = append(handled[e.id()], e.Replica)
	}
	per := map[string]int{}
	for id, replicas := range handled {
		if len(replicas) != 1 {
			t.Errorf("event %s was handled by %v, want one replica once", id, replicas)
		}
		per[replicas[0]]++
	}
	t.Logf("the replicas handled %v of %d clicks", per, clicks)
}

// TestLibJSQuickStart runs the complete bot of libs/js/README.md, as written there (its trigger
// made unique), and does what the README says to do with it.
func TestLibJSQuickStart(t *testing.T) {
	requirePlugin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := libjsDir(t, ctx)
	readme, err := os.ReadFile(filepath.Join(harness.E2EDir(), "..", "..", "libs", "js", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, code, ok := strings.Cut(string(readme), "## A complete bot\n\n```js\n")
	code, _, ok2 := strings.Cut(code, "```")
	if !ok || !ok2 || !strings.Contains(code, "app.command('deploy'") {
		t.Fatalf("libs/js/README.md has no complete bot with a /deploy command")
	}
	trigger := uniqueTrigger("deploy")
	code = strings.Replace(code, "app.command('deploy'", "app.command('"+trigger+"'", 1)
	if err := os.WriteFile(filepath.Join(dir, "quickstart.mjs"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	bot := newDeliveryBot(t, "libjsqs")
	cmd := exec.Command("node", "quickstart.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MM_URL="+env.SiteURL, "MM_BOT_TOKEN="+bot.Token)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr exampleStderr
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("the quick start's stderr:\n%s", stderr.String())
		}
	})
	waitLive(t, bot, 1)

	alice := env.Users[0]
	aliceWS := openSocket(t, alice)
	if status, res := execute(t, alice, "/"+trigger+" 1.4.2"); status != http.StatusOK {
		t.Fatalf("/%s 1.4.2: HTTP %d %s", trigger, status, mustJSON(res))
	}
	post := botPostWithText(t, bot, "Deploy 1.4.2?")
	mustClick(t, alice, post.Id, "approve", "")
	waitPostMessage(t, alice, post.Id, "Deploying 1.4.2, approved by @alice.")
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Thanks, deploying now." {
		t.Errorf("alice read %q after the click", p.Message)
	}
}
