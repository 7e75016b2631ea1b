package e2e_test

// The Python Socket Mode library (libs/python) against the real server: a bot on the library
// (pybot/libbot.py) as a subprocess, one or two replicas of it, and a real mmpy_bot bot with
// the library's SocketModePlugin (pybot/mmpybot.py). Every event the library hands a handler
// is printed by the bot and validated against docs/schemas. Skips without E2E_BUNDLE.

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
	"syscall"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

// pyLibBot is a running Python bot whose stdout is one JSON object per line.
type pyLibBot struct {
	name  string
	cmd   *exec.Cmd
	lines chan map[string]any
	done  chan struct{}
	log   exampleStderr
}

// startPyLibBot runs script (in pybot/) with the bot's token and extra environment, and stops
// it (SIGTERM) when the test ends if it is still running.
func startPyLibBot(t *testing.T, py, script, name string, bot *harness.Account, extra ...string) *pyLibBot {
	t.Helper()
	cmd := exec.Command(py, filepath.Join(harness.E2EDir(), "pybot", script))
	cmd.Env = append(os.Environ(), append([]string{"MM_URL=" + env.SiteURL, "MM_BOT_TOKEN=" + bot.Token,
		"MM_CHANNEL_ID=" + env.Channel.Id, "PYTHONUNBUFFERED=1"}, extra...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	b := &pyLibBot{name: name, cmd: cmd, lines: make(chan map[string]any, 256), done: make(chan struct{})}
	cmd.Stderr = &b.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", script, err)
	}
	go func() {
		defer close(b.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"raw": sc.Text()}
			}
			b.lines <- m
		}
	}()
	go func() { _ = cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		b.stop(t)
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, b.log.String())
		}
	})
	return b
}

// stop sends SIGTERM and waits for the process to end (the library stops cleanly).
func (b *pyLibBot) stop(t *testing.T) {
	select {
	case <-b.done:
		return
	default:
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(15 * time.Second):
		t.Errorf("%s did not stop within 15 s of SIGTERM", b.name)
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

// next returns the next line that has key, failing after timeout.
func (b *pyLibBot) next(t *testing.T, key string, timeout time.Duration) map[string]any {
	t.Helper()
	m, err := harness.Await(b.lines, timeout, func(m map[string]any) bool {
		if _, ok := m[key]; ok {
			return true
		}
		if _, ok := m["raw"]; ok {
			t.Errorf("%s printed %q, not a JSON line", b.name, m["raw"])
		}
		return false
	})
	if errors.Is(err, harness.ErrClosed) {
		t.Fatalf("%s exited; stderr:\n%s", b.name, b.log.String())
	}
	if err != nil {
		t.Fatalf("%s: no %q line within %s", b.name, key, timeout)
	}
	return m
}

// event returns the next event the library handed a handler, checked against its schema.
func (b *pyLibBot) event(t *testing.T, kind string, timeout time.Duration) map[string]any {
	t.Helper()
	m := b.next(t, "event", timeout)
	data, _ := m["data"].(map[string]any)
	if m["event"] != kind {
		t.Fatalf("%s handled %v %s, want a %s event", b.name, m["event"], mustJSON(data), kind)
	}
	if err := validateData(kind, data); err != nil {
		t.Errorf("%s: %v", b.name, err)
	}
	return data
}

// quiet fails if the bot handles an event within d.
func (b *pyLibBot) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	m, err := harness.Await(b.lines, d, func(m map[string]any) bool { _, ok := m["event"]; return ok })
	if err == nil {
		t.Fatalf("%s handled %s, want nothing more", b.name, mustJSON(m))
	}
}

// pyLibOpenedDialog reads the open_dialog event the person's webapp gets and returns the
// dialog's submit URL and its dynamic select's lookup URL (empty when it has none).
func pyLibOpenedDialog(t *testing.T, s *socket, sessionID string) (string, string) {
	t.Helper()
	ev := s.mustNext(t, exampleOpenDialogEvent, 10*time.Second)
	raw, _ := ev.GetData()["dialog"].(string)
	var req model.OpenDialogRequest
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		t.Fatalf("open_dialog event: %q: %v", raw, err)
	}
	if !strings.Contains(req.URL, sessionID) {
		t.Fatalf("the dialog's URL %q is not the session %s the bot was given", req.URL, sessionID)
	}
	lookup := ""
	for _, e := range req.Dialog.Elements {
		if e.DataSource == "dynamic" {
			lookup = e.DataSourceURL
		}
	}
	return req.URL, lookup
}

// pyLibSubmit submits a dialog as acc (what the webapp does) and returns Mattermost's answer.
func pyLibSubmit(t *testing.T, acc *harness.Account, url, callbackID, state string, submission map[string]any) map[string]any {
	t.Helper()
	status, out, err := call(http.MethodPost, "/api/v4/actions/dialogs/submit", acc.Token, map[string]any{
		"url": url, "callback_id": callbackID, "state": state, "user_id": acc.ID(),
		"channel_id": env.Channel.Id, "team_id": env.Team.Id, "submission": submission,
	})
	if err != nil || status != http.StatusOK {
		t.Fatalf("submitting the dialog: HTTP %d %v: %s", status, err, out)
	}
	answer := jsonObject(out)
	if answer == nil {
		answer = map[string]any{}
	}
	return answer
}

// newLibBot creates a bot account of its own, in the team and the e2e channel.
func newLibBot(t *testing.T, ctx context.Context, name string) *harness.Account {
	t.Helper()
	bot, err := env.CreateBot(ctx, name+"-"+model.NewId()[:6])
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Admin.Client.AddTeamMember(ctx, env.Team.Id, bot.ID()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Admin.Client.AddChannelMember(ctx, env.Channel.Id, bot.ID()); err != nil {
		t.Fatal(err)
	}
	return bot
}

// TestLibPython: one library bot answers a click, a menu, a dialog (field error, then valid),
// a lookup and a slash command; stopped, its clicks are kept and reach it once when it is
// back; two replicas handle each event once between them; after the plugin restarts both
// subscribe again and answers still apply.
func TestLibPython(t *testing.T) {
	requirePlugin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	py, err := env.PythonLibPath(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bot := newLibBot(t, ctx, "pylib")
	alice := env.Users[0]
	aliceWS := openSocket(t, alice)
	trigger := uniqueTrigger("pylib")

	a := startPyLibBot(t, py, "libbot.py", "replica a", bot, "REPLICA=a", "POST=1", "MM_COMMAND="+trigger)
	ready := a.next(t, "ready", 60*time.Second)
	postID, _ := ready["post_id"].(string)
	if ready["command"] != "registered" || postID == "" {
		t.Fatalf("the bot started with %s, want its post and its command registered", mustJSON(ready))
	}
	waitLive(t, bot, 1)
	// app.lint: the library's buttons have no finding; an action id with "_" has an error.
	lint, _ := ready["lint"].(map[string]any)
	if ok, _ := lint["ok"].([]any); len(ok) != 0 {
		t.Errorf("lint of the bot's buttons: %s, want no findings", mustJSON(ok))
	}
	if bad, _ := lint["bad"].([]any); len(bad) == 0 || !strings.Contains(mustJSON(bad), "action_id_invalid") {
		t.Errorf("lint of an action id with _: %s, want action_id_invalid", mustJSON(bad))
	}

	// A click answered in the ack: the post is updated, alice reads the text.
	mustClick(t, alice, postID, "answer", "")
	if ev := a.event(t, "action", 10*time.Second); ev["user_id"] != alice.ID() {
		t.Errorf("the click's user_id is %v, want alice", ev["user_id"])
	}
	pyLibWaitPost(t, alice, postID, "Answered by @"+alice.User.Username)
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Answered." {
		t.Errorf("alice read %q, want the answer's ephemeral_text", p.Message)
	}
	// A menu choice, by an async def handler.
	mustClick(t, alice, postID, "pick", "b")
	if ev := a.event(t, "action", 10*time.Second); ev["context"].(map[string]any)["selected_option"] != "b" {
		t.Errorf("the menu event: %s", mustJSON(ev))
	}
	pyLibWaitPost(t, alice, postID, "Picked: b")
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "You picked b." {
		t.Errorf("alice read %q after the menu", p.Message)
	}

	// A dialog: opened from the click's trigger, a lookup, a field error from the bot, then valid.
	mustClick(t, alice, postID, "form", "")
	a.event(t, "action", 10*time.Second)
	session, _ := a.next(t, "dialog", 10*time.Second)["dialog"].(string)
	url, lookupURL := pyLibOpenedDialog(t, aliceWS, session)
	items := pyLibLookup(t, alice, lookupURL, "form", postID, "who", "ca")
	if lk := a.event(t, "dialog_lookup", 10*time.Second); lk["query"] != "ca" || lk["selected_field"] != "who" {
		t.Errorf("the lookup event: %s", mustJSON(lk))
	}
	if want := []any{map[string]any{"text": "carol", "value": "carol"}}; !reflect.DeepEqual(items, want) {
		t.Errorf("lookup items %s, want %s", mustJSON(items), mustJSON(want))
	}
	answer := pyLibSubmit(t, alice, url, "form", postID, map[string]any{"name": "bad"})
	if want := map[string]any{"errors": map[string]any{"name": "Not that name."}}; !reflect.DeepEqual(answer, want) {
		t.Errorf("submitting a bad name: %s, want %s", mustJSON(answer), mustJSON(want))
	}
	a.event(t, "dialog_submission", 10*time.Second)
	if answer = pyLibSubmit(t, alice, url, "form", postID, map[string]any{"name": "good"}); len(answer) != 0 {
		t.Errorf("submitting a good name: %s, want {}", mustJSON(answer))
	}
	if sub := a.event(t, "dialog_submission", 10*time.Second); sub["submission"].(map[string]any)["name"] != "good" {
		t.Errorf("the second submission: %s", mustJSON(sub))
	}

	// The slash command, registered by the library when it started.
	if status, res := execute(t, alice, "/"+trigger+" hi"); status != http.StatusOK || res["text"] != "echo: hi" {
		t.Errorf("/%s hi: HTTP %d %s, want the bot's answer", trigger, status, mustJSON(res))
	}
	if ev := a.event(t, "command", 10*time.Second); ev["text"] != "hi" {
		t.Errorf("the command event: %s", mustJSON(ev))
	}
	pyLibEphemeral(t, aliceWS, "echo: hi")
	a.quiet(t, 500*time.Millisecond)
	waitStatus(t, bot, 1, 0)

	// Stopped (SIGTERM: a clean stop), two clicks are kept; started again, each reaches it once.
	a.stop(t)
	waitStatus(t, bot, 0, 0)
	for i := 0; i < 2; i++ {
		mustClick(t, alice, postID, "count", "")
	}
	waitStatus(t, bot, 0, 2)
	a = startPyLibBot(t, py, "libbot.py", "replica a (again)", bot, "REPLICA=a", "MM_COMMAND="+trigger)
	// The kept events follow the subscription at once: they may be handled before on_ready ran.
	var replayed []map[string]any
	for ready := false; !ready || len(replayed) < 2; {
		m, err := harness.Await(a.lines, 60*time.Second, func(m map[string]any) bool {
			if m["raw"] != nil {
				t.Errorf("replica a (again) printed %q", m["raw"])
			}
			return m["ready"] != nil || m["event"] != nil
		})
		if err != nil {
			t.Fatalf("replica a (again): ready %v, %d events replayed: %v", ready, len(replayed), err)
		}
		if m["ready"] != nil {
			ready = true
			continue
		}
		data, _ := m["data"].(map[string]any)
		if err := validateData("action", data); err != nil {
			t.Error(err)
		}
		replayed = append(replayed, data)
	}
	ids := map[string]bool{}
	for _, ev := range replayed {
		proxy := ev["proxy"].(map[string]any)
		ids[proxy["event_id"].(string)] = true
		if d, _ := proxy["delivery"].(map[string]any); d == nil || d["attempt"].(float64) < 2 {
			t.Errorf("a replayed click's delivery: %s, want attempt > 1", mustJSON(proxy["delivery"]))
		}
	}
	if len(ids) != 2 {
		t.Errorf("the replay handed the bot %d distinct events, want 2", len(ids))
	}
	a.quiet(t, 500*time.Millisecond)
	waitStatus(t, bot, 1, 0)

	// Two replicas: each click is handled by one of them, once.
	b := startPyLibBot(t, py, "libbot.py", "replica b", bot, "REPLICA=b", "MM_COMMAND="+trigger)
	b.next(t, "ready", 60*time.Second)
	waitLive(t, bot, 2)
	const clicks = 6
	for i := 0; i < clicks; i++ {
		mustClick(t, alice, postID, "count", "")
	}
	handled := map[string]string{}
	byReplica := map[string]int{}
	merged := make(chan map[string]any, 2*clicks)
	for _, r := range []*pyLibBot{a, b} {
		go func(r *pyLibBot) {
			for m := range r.lines {
				if m["event"] != nil || m["raw"] != nil {
					merged <- m
				}
			}
		}(r)
	}
	deadline := time.After(15 * time.Second)
	for len(handled) < clicks {
		select {
		case m := <-merged:
			if m["raw"] != nil {
				t.Fatalf("a replica printed %q, not a JSON line", m["raw"])
			}
			data := m["data"].(map[string]any)
			if err := validateData("action", data); err != nil {
				t.Error(err)
			}
			id := data["proxy"].(map[string]any)["event_id"].(string)
			if prev, dup := handled[id]; dup {
				t.Errorf("event %s handled twice (by %s, then by %s)", id, prev, m["replica"])
			}
			handled[id] = m["replica"].(string)
			byReplica[m["replica"].(string)]++
		case <-deadline:
			t.Fatalf("the replicas handled %d of %d clicks", len(handled), clicks)
		}
	}
	select {
	case m := <-merged:
		t.Errorf("an event handled again: %s", mustJSON(m))
	case <-time.After(time.Second):
	}
	t.Logf("replicas: %v", byReplica)
	waitStatus(t, bot, 2, 0)

	// The plugin restarts: both replicas subscribe again, and an answer still applies.
	exampleResubscribes(t, ctx, bot)
	waitLive(t, bot, 2)
	mustClick(t, alice, postID, "answer", "")
	select {
	case m := <-merged:
		if err := validateData("action", m["data"].(map[string]any)); err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no replica handled the click after the plugin restarted")
	}
	// (after the "counted by" answers of the replayed and the replicas' clicks)
	pyLibEphemeral(t, aliceWS, "Answered.")
}

// pyLibEphemeral waits for the ephemeral post want on s, skipping others.
func pyLibEphemeral(t *testing.T, s *socket, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := s.ephemeralPost(t, time.Until(deadline))
		if p.Message == want {
			return
		}
		t.Logf("(ephemeral post %q)", p.Message)
	}
}

// TestLibPythonMmpyBot: a real mmpy_bot bot with the library's SocketModePlugin and no webhook
// server: its @listen_to handler posts buttons, a click reaches its @listen_webhook handler as
// an ActionEvent and respond_to_web's response updates the post; a dialog opened from another
// click is submitted to its @listen_webhook("^reason$") handler, whose errors show in the
// dialog, then closes it.
func TestLibPythonMmpyBot(t *testing.T) {
	requirePlugin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	py, err := env.PythonLibPath(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bot := newLibBot(t, ctx, "mmpy")
	alice := env.Users[0]
	aliceWS := openSocket(t, alice)
	m := startPyLibBot(t, py, "mmpybot.py", "mmpy_bot", bot)
	waitLive(t, bot, 1)

	// mmpy_bot's own message listener posts the buttons (through the library's app.post).
	if _, _, err := alice.Client.CreatePost(ctx, &model.Post{ChannelId: env.Channel.Id, Message: "!release"}); err != nil {
		t.Fatal(err)
	}
	postID, _ := m.next(t, "posted", 30*time.Second)["posted"].(string)

	mustClick(t, alice, postID, "approve", "")
	hook := m.next(t, "webhook", 10*time.Second)
	if hook["webhook"] != "approve" || hook["class"] != "ActionEvent" {
		t.Errorf("the click reached %s", mustJSON(hook))
	}
	if err := validateData("action", hook["data"].(map[string]any)); err != nil {
		t.Error(err)
	}
	pyLibWaitPost(t, alice, postID, "Approved by @"+alice.User.Username)
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Approved." {
		t.Errorf("alice read %q, want respond_to_web's ephemeral_text", p.Message)
	}

	mustClick(t, alice, postID, "ask", "")
	if hook = m.next(t, "webhook", 10*time.Second); hook["webhook"] != "ask" {
		t.Errorf("the second click reached %s", mustJSON(hook))
	}
	session, _ := m.next(t, "dialog", 10*time.Second)["dialog"].(string)
	url, _ := pyLibOpenedDialog(t, aliceWS, session)
	answer := pyLibSubmit(t, alice, url, "reason", "", map[string]any{"reason": "friday"})
	if want := map[string]any{"errors": map[string]any{"reason": "Not on a Friday."}}; !reflect.DeepEqual(answer, want) {
		t.Errorf("a Friday reason: %s, want %s", mustJSON(answer), mustJSON(want))
	}
	hook = m.next(t, "webhook", 10*time.Second)
	if hook["webhook"] != "reason" || hook["class"] != "WebHookEvent" {
		t.Errorf("the submission reached %s", mustJSON(hook))
	}
	if err := validateData("dialog_submission", hook["data"].(map[string]any)); err != nil {
		t.Error(err)
	}
	if answer = pyLibSubmit(t, alice, url, "reason", "", map[string]any{"reason": "tuesday"}); len(answer) != 0 {
		t.Errorf("a good reason: %s, want {} (closed)", mustJSON(answer))
	}
	m.next(t, "webhook", 10*time.Second)
	waitStatus(t, bot, 1, 0)
}

// pyLibWaitPost polls the post (as acc) until its message is want.
func pyLibWaitPost(t *testing.T, acc *harness.Account, postID, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, out, err := call(http.MethodGet, "/api/v4/posts/"+postID, acc.Token, nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("get post %s: HTTP %d %v: %s", postID, status, err, out)
		}
		var p model.Post
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatal(err)
		}
		if p.Message == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("post %s message is %q, want %q", postID, p.Message, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pyLibLookup types query in a dialog's dynamic select as acc (POST
// /api/v4/actions/dialogs/lookup) and returns the items Mattermost answers.
func pyLibLookup(t *testing.T, acc *harness.Account, lookupURL, callbackID, state, field, query string) []any {
	t.Helper()
	status, out, err := call(http.MethodPost, "/api/v4/actions/dialogs/lookup", acc.Token, map[string]any{
		"url": lookupURL, "callback_id": callbackID, "state": state,
		"user_id": acc.ID(), "channel_id": env.Channel.Id, "team_id": env.Team.Id,
		"submission": map[string]any{"query": query, "selected_field": field},
	})
	if err != nil || status != http.StatusOK {
		t.Fatalf("lookup %q: HTTP %d %v: %s", query, status, err, out)
	}
	items, _ := jsonObject(out)["items"].([]any)
	return items
}
