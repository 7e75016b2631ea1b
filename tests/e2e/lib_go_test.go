package e2e_test

// The Go bot library (libs/go, package socketmode) against the real server: cmd/golibbot,
// a bot written on it, runs as its own process (one, then two replicas) and the test clicks,
// fills in a dialog, types a command, clicks a verified ephemeral button, reads the lint,
// stops and restarts the bot, and restarts the plugin.
// Every event the library hands a handler is printed by the bot as received and held to
// docs/schemas. One bot process serves most checks, to keep the suite short.

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

// libBot is one cmd/golibbot process.
type libBot struct {
	name  string
	cmd   *exec.Cmd
	lines chan map[string]any
	done  chan struct{}

	mu      sync.Mutex
	events  []map[string]any // every event line, in order
	invalid []string         // events that do not match their schema
}

func buildGoLibBot(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "golibbot")
	build := exec.Command("go", "build", "-o", bin, "./cmd/golibbot")
	build.Dir = harness.E2EDir()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/golibbot: %v\n%s", err, out)
	}
	return bin
}

// startLibBot runs the bot as replica name; with post it posts the test's message once ready.
func startLibBot(t *testing.T, bin, name string, bot *harness.Account, trigger string, post bool) *libBot {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "MM_URL="+env.SiteURL, "MM_BOT_TOKEN="+bot.Token, "MM_CHANNEL_ID="+env.Channel.Id,
		"BOT_COMMAND="+trigger, "BOT_REPLICA="+name)
	if post {
		cmd.Env = append(cmd.Env, "BOT_POST=1")
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &libBot{name: name, cmd: cmd, lines: make(chan map[string]any, 256), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				b.note("a line that is not JSON: " + sc.Text())
				continue
			}
			if line["kind"] == "event" {
				name, _ := line["name"].(string)
				if err := validateData(name, line["data"]); err != nil {
					b.note(err.Error())
				}
				b.mu.Lock()
				b.events = append(b.events, line)
				b.mu.Unlock()
			}
			b.lines <- line
		}
		_ = cmd.Wait()
		close(b.lines)
		close(b.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-b.done
		b.checkSchemas(t)
	})
	return b
}

func (b *libBot) note(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.invalid = append(b.invalid, s)
}

// checkSchemas fails for every event the bot was handed that does not match docs/schemas.
func (b *libBot) checkSchemas(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.invalid {
		t.Errorf("golibbot %s: %s", b.name, s)
	}
	b.invalid = nil
}

// next is the bot's next line of kind, skipping others.
func (b *libBot) next(t *testing.T, kind string) map[string]any {
	t.Helper()
	line, err := harness.Await(b.lines, 20*time.Second, func(l map[string]any) bool { return l["kind"] == kind })
	if err != nil {
		t.Fatalf("golibbot %s: no %s line: %v", b.name, kind, err)
	}
	return line
}

// event is the bot's next event line, its name checked.
func (b *libBot) event(t *testing.T, name string) map[string]any {
	t.Helper()
	line := b.next(t, "event")
	if line["name"] != name {
		t.Fatalf("golibbot %s handled a %v event, want %s: %s", b.name, line["name"], name, mustJSON(line))
	}
	return line["data"].(map[string]any)
}

// stop sends SIGTERM, the way to stop a bot: the library finishes and acknowledges what
// runs, then exits.
func (b *libBot) stop(t *testing.T) {
	t.Helper()
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(40 * time.Second):
		t.Fatalf("golibbot %s did not stop on SIGTERM", b.name)
	}
	if !b.cmd.ProcessState.Success() {
		t.Errorf("golibbot %s exited with %v", b.name, b.cmd.ProcessState)
	}
}

// picks is how many times each menu value reached the bots' handlers.
func picks(bots ...*libBot) map[string]int {
	n := map[string]int{}
	for _, b := range bots {
		b.mu.Lock()
		for _, e := range b.events {
			data := e["data"].(map[string]any)
			if ctx, _ := data["context"].(map[string]any); ctx["action_id"] == "pick" {
				n[ctx["selected_option"].(string)]++
			}
		}
		b.mu.Unlock()
	}
	return n
}

// libDialog reads the open_dialog event alice's webapp gets: the submit and lookup URLs.
func libDialog(t *testing.T, alice *socket, sessionID string) (submitURL, lookupURL string) {
	t.Helper()
	ev := alice.mustNext(t, exampleOpenDialogEvent, 10*time.Second)
	var req model.OpenDialogRequest
	if err := json.Unmarshal([]byte(ev.GetData()["dialog"].(string)), &req); err != nil {
		t.Fatal(err)
	}
	session := "/plugins/" + pluginID + "/api/v1/dialogs/" + sessionID
	if req.URL != session+"/submit" || req.Dialog.CallbackId != "libform" || len(req.Dialog.Elements) != 2 ||
		req.Dialog.Elements[1].DataSourceURL != session+"/lookup" {
		t.Fatalf("open_dialog: %s, want the bot's form on session %s", mustJSON(req), sessionID)
	}
	return req.URL, req.Dialog.Elements[1].DataSourceURL
}

// libDialogCall posts to Mattermost's dialog API as alice's webapp does and returns its answer.
func libDialogCall(t *testing.T, alice *harness.Account, path, url, postID string, submission map[string]any) map[string]any {
	t.Helper()
	status, out, err := call(http.MethodPost, path, alice.Token, map[string]any{
		"url": url, "callback_id": "libform", "state": postID, "user_id": alice.ID(),
		"channel_id": env.Channel.Id, "team_id": env.Team.Id, "submission": submission})
	if err != nil || status != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d %v: %s", path, status, err, out)
	}
	return jsonObject(out)
}

func TestLibGo(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	bot, alice := newDeliveryBot(t, "libgo"), env.Users[0]
	aliceWS := openSocket(t, alice)
	trigger := uniqueTrigger("libgo")
	bin := buildGoLibBot(t)

	a := startLibBot(t, bin, "a", bot, trigger, true)
	ready := a.next(t, "ready")
	postID, _ := ready["post_id"].(string)
	if want := map[string]any{trigger: ""}; !reflect.DeepEqual(ready["commands"], want) {
		t.Fatalf("ready: commands %s, want %s registered", mustJSON(ready["commands"]), trigger)
	}
	if want := map[string]any{"good": []any{}, "bad": []any{"action_id_invalid"}}; !reflect.DeepEqual(ready["lint"], want) {
		t.Errorf("lint: %s, want %s", mustJSON(ready["lint"]), mustJSON(want))
	}
	waitLive(t, bot, 1)

	// A click answered: the post is updated, alice reads the bot's text, in one round trip.
	mustClick(t, alice, postID, "ok", "")
	if data := a.event(t, "action"); data["context"].(map[string]any)["action_id"] != "ok" {
		t.Errorf("the click's context %s, want action_id ok (put there by App.Post)", mustJSON(data["context"]))
	}
	waitPostMessage(t, alice, postID, "OK by @alice")
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "ok from a" {
		t.Errorf("alice read %q, want the bot's ephemeral text", p.Message)
	}

	// A dialog, opened from the click's trigger through the library: a lookup, a field
	// error from the bot's own rule, then a valid submission that closes it.
	mustClick(t, alice, postID, "form", "")
	a.event(t, "action")
	opened := a.next(t, "dialog")
	if opened["error"] != "" {
		t.Fatalf("OpenDialog failed: %s", mustJSON(opened))
	}
	submitURL, lookupURL := libDialog(t, aliceWS, opened["session_id"].(string))
	answer := libDialogCall(t, alice, "/api/v4/actions/dialogs/lookup", lookupURL, postID, map[string]any{"query": "ca", "selected_field": "who"})
	if want := []any{map[string]any{"text": "Carol", "value": "carol"}}; !reflect.DeepEqual(answer["items"], want) {
		t.Errorf("lookup: %s, want %s", mustJSON(answer), mustJSON(want))
	}
	a.event(t, "dialog_lookup")
	answer = libDialogCall(t, alice, "/api/v4/actions/dialogs/submit", submitURL, postID, map[string]any{"reason": "friday fix"})
	if want := map[string]any{"errors": map[string]any{"reason": "Not on a Friday."}}; !reflect.DeepEqual(answer, want) {
		t.Errorf("submitting a Friday reason: %s, want %s", mustJSON(answer), mustJSON(want))
	}
	a.event(t, "dialog_submission")
	if answer = libDialogCall(t, alice, "/api/v4/actions/dialogs/submit", submitURL, postID, map[string]any{"reason": "a fix", "who": "carol"}); len(answer) != 0 {
		t.Errorf("a valid submission: %s, want {} (closed)", mustJSON(answer))
	}
	if data := a.event(t, "dialog_submission"); data["submission"].(map[string]any)["who"] != "carol" {
		t.Errorf("submission %s", mustJSON(data))
	}

	// The slash command the library registered when it started.
	if status, res := execute(t, alice, "/"+trigger+" hello"); status != http.StatusOK || res["text"] != "lib a: hello" {
		t.Errorf("/%s hello: HTTP %d %s, want the bot's answer", trigger, status, mustJSON(res))
	}
	a.event(t, "command")
	aliceWS.ephemeralPost(t, 10*time.Second)

	// A verified button on an ephemeral message (SendEphemeral, from the command): clicked
	// with its cookie, as the webapp does; the answer replaces that ephemeral post.
	execute(t, alice, "/"+trigger+" ephemeral")
	a.event(t, "command")
	shown := aliceWS.ephemeralPost(t, 10*time.Second)
	if shown.Message != "Drop it?" || shown.UserId != bot.ID() || len(shown.Attachments()) != 1 || shown.Attachments()[0].Actions[0].Cookie == "" {
		t.Fatalf("alice was shown %s, want the bot's ephemeral message with a button", mustJSON(shown))
	}
	cookie := mustJSON(map[string]string{"cookie": shown.Attachments()[0].Actions[0].Cookie})
	if r, err := clickWith(alice, shown.Id, "drop", cookie); err != nil || r.Status != http.StatusOK {
		t.Fatalf("clicking the ephemeral button: %v %+v", err, r)
	}
	if data := a.event(t, "action"); data["proxy"].(map[string]any)["verified"] != true {
		t.Errorf("the ephemeral click reached the bot unverified: %s", mustJSON(data))
	}
	if p := aliceWS.editedPost(t, shown.Id, 10*time.Second); p.Message != "Dropped." {
		t.Errorf("alice's ephemeral post now reads %q, want the bot's update", p.Message)
	}
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Done." {
		t.Errorf("alice read %q, want the bot's ephemeral text", p.Message)
	}
	waitStatus(t, bot, 1, 0) // every event acknowledged

	// Replay after a restart: the bot stops (SIGTERM), three choices are made while it is
	// away, and the restarted bot handles each once; its late answers reach alice.
	a.stop(t)
	waitLive(t, bot, 0)
	for _, v := range []string{"b", "c", "d"} {
		mustClick(t, alice, postID, "pick", v)
		if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != offlineNotice {
			t.Errorf("a choice while the bot is stopped: alice read %q, want the offline notice", p.Message)
		}
	}
	waitStatus(t, bot, 0, 3)
	a2 := startLibBot(t, bin, "a", bot, trigger, false)
	late := map[string]bool{}
	for range 3 {
		late[aliceWS.ephemeralPost(t, 20*time.Second).Message] = true
	}
	if want := map[string]bool{"picked b on a": true, "picked c on a": true, "picked d on a": true}; !reflect.DeepEqual(late, want) {
		t.Errorf("after the restart alice read %v, want %v", late, want)
	}
	waitStatus(t, bot, 1, 0)
	// The bot prints each event as its handler gets it; the line can reach the test a moment
	// after the answer reached alice.
	for deadline := time.Now().Add(10 * time.Second); len(picks(a2)) < 3 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if got := picks(a2); !reflect.DeepEqual(got, map[string]int{"b": 1, "c": 1, "d": 1}) {
		t.Errorf("after the restart the handlers saw %v, want b, c and d once each", got)
	}

	// Two replicas: every event is handled once across them.
	b := startLibBot(t, bin, "b", bot, trigger, false)
	waitLive(t, bot, 2)
	values := []string{"e", "f", "g", "h", "i", "j", "k", "l", "m", "n"}
	by := map[string]int{}
	for _, v := range values {
		mustClick(t, alice, postID, "pick", v)
		p := aliceWS.ephemeralPost(t, 10*time.Second)
		by[p.Message[len(p.Message)-1:]]++ // "picked e on a"
	}
	waitStatus(t, bot, 2, 0)
	got := picks(a2, b)
	for _, v := range values {
		if got[v] != 1 {
			t.Errorf("choice %s reached the replicas' handlers %d times, want once", v, got[v])
		}
	}
	t.Logf("two replicas: %d choices answered by a, %d by b", by["a"], by["b"])

	// The plugin restarts: both replicas subscribe again when asked, and answers apply.
	node := exampleResubscribes(t, ctx, bot)
	waitLive(t, bot, 2)
	mustClick(t, alice, postID, "ok", "")
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "ok from a" && p.Message != "ok from b" {
		t.Errorf("after the plugin restarted alice read %q", p.Message)
	}
	t.Logf("the replicas subscribed again on node %s", node)

	a2.stop(t)
	b.stop(t)
	var names []string
	for _, x := range []*libBot{a, a2, b} {
		for _, e := range x.events {
			names = append(names, e["name"].(string))
		}
	}
	sort.Strings(names)
	t.Logf("%d events handed to handlers, each checked against docs/schemas: %v", len(names), names)
}
