package e2e_test

// The example bots in examples/ (Python, Go, JavaScript) against the real
// server: each runs as a subprocess with a fresh bot's token, posts its
// message and registers its slash command, and the test clicks, fills in the
// dialog and runs the command as alice and reads what the bot prints (one
// line per thing it did), what it did to the post and what Mattermost
// answered. Skips without E2E_BUNDLE, like the other plugin tests.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

const exampleOpenDialogEvent = string(model.WebsocketEventOpenDialog)

// examplesDir is the repository's examples/ directory.
func examplesDir() string {
	return filepath.Join(harness.E2EDir(), "..", "..", "examples")
}

// exampleCommand prepares an example (venv, build, npm ci) and returns its
// command line and working directory.
type exampleCommand func(t *testing.T, ctx context.Context) (argv []string, dir string)

func pythonExample(t *testing.T, ctx context.Context) ([]string, string) {
	dir := filepath.Join(examplesDir(), "python")
	// The library's venv (scripts/pylibenv.sh): libs/python from this clone, as
	// requirements.txt installs it.
	py, err := env.PythonLibPath(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return []string{py, "bot.py"}, dir
}

func goExample(t *testing.T, ctx context.Context) ([]string, string) {
	dir := filepath.Join(examplesDir(), "go")
	bin := filepath.Join(t.TempDir(), "gobot")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", dir, err, out)
	}
	return []string{bin}, dir
}

func jsExample(t *testing.T, ctx context.Context) ([]string, string) {
	dir := filepath.Join(examplesDir(), "js")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	// Always: the example holds a copy of libs/js (install-links), which must be the current one.
	npm := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	npm.Dir = dir
	if out, err := npm.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return []string{node, "bot.mjs"}, dir
}

// exampleBot is a running example: its stdout lines on lines, its stderr
// kept for the failure report.
type exampleBot struct {
	name   string
	cmd    *exec.Cmd
	lines  chan string
	stderr exampleStderr
	done   chan struct{}
}

type exampleStderr struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *exampleStderr) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *exampleStderr) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startExample runs argv in dir with the bot's token, the e2e channel and the
// command's trigger in its environment, and stops it when the test ends.
func startExample(t *testing.T, name string, argv []string, dir string, bot *harness.Account, trigger string) *exampleBot {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"MM_URL="+env.SiteURL,
		"MM_BOT_TOKEN="+bot.Token,
		"MM_CHANNEL_ID="+env.Channel.Id,
		"MM_COMMAND="+trigger,
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	x := &exampleBot{name: name, cmd: cmd, lines: make(chan string, 256), done: make(chan struct{})}
	cmd.Stderr = &x.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the %s example: %v", name, err)
	}
	go func() {
		defer close(x.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			x.lines <- sc.Text()
		}
	}()
	go func() { _ = cmd.Wait(); close(x.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-x.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-x.done
		}
		if t.Failed() {
			t.Logf("%s example stderr:\n%s", name, x.stderr.String())
		}
	})
	return x
}

// exampleResultLine matches the lines the examples print for what they do; other
// stdout lines (a library's own logging) are skipped.
var exampleResultLine = regexp.MustCompile(`^(posted|command|click|dialog|lookup|submitted|refused|cancelled) `)

// next returns the next result line, or "" after timeout.
func (x *exampleBot) next(t *testing.T, timeout time.Duration) string {
	t.Helper()
	line, err := harness.Await(x.lines, timeout, func(line string) bool {
		if exampleResultLine.MatchString(line) {
			return true
		}
		t.Logf("%s example (other output): %s", x.name, line)
		return false
	})
	if errors.Is(err, harness.ErrClosed) {
		select {
		case <-x.done:
		case <-time.After(time.Second):
		}
		t.Fatalf("the %s example exited (%v); stderr:\n%s", x.name, x.cmd.ProcessState, x.stderr.String())
	}
	return line
}

// expect fails unless the next result line is want.
func (x *exampleBot) expect(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	if got := x.next(t, timeout); got != want {
		t.Fatalf("%s example printed %q, want %q", x.name, got, want)
	}
}

// expectAfter is expect for what a click should make the example print: when it does not,
// the click's response says what the plugin did with it (told the clicker the bot is offline,
// or has not answered, or answered it).
func (x *exampleBot) expectAfter(t *testing.T, want string, timeout time.Duration, click clickResult, bot *harness.Account) {
	t.Helper()
	if got := x.next(t, timeout); got != want {
		t.Fatalf("%s example printed %q, want %q; the click's response (after %s): HTTP %d %s; the bot's status: %s",
			x.name, got, want, click.Done.Sub(click.Sent), click.Status, click.Body, mustJSON(botStatus(t, bot)))
	}
}

// expectPrefix fails unless the next result line starts with prefix, and
// returns the rest.
func (x *exampleBot) expectPrefix(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	got := x.next(t, timeout)
	rest, ok := strings.CutPrefix(got, prefix)
	if !ok || rest == "" {
		t.Fatalf("%s example printed %q, want %q<...>", x.name, got, prefix)
	}
	return rest
}

// expectQuiet fails if a result line comes within d.
func (x *exampleBot) expectQuiet(t *testing.T, d time.Duration) {
	t.Helper()
	if got := x.next(t, d); got != "" {
		t.Fatalf("%s example printed %q, want nothing", x.name, got)
	}
}

// exampleWaitMessage polls the post (as alice) until its message is want, and checks
// that its three actions survived the bot's edit.
func exampleWaitMessage(t *testing.T, acc *harness.Account, postID, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var p model.Post
	for {
		status, out, err := call(http.MethodGet, "/api/v4/posts/"+postID, acc.Token, nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("get post %s: HTTP %d %v: %s", postID, status, err, out)
		}
		p = model.Post{}
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatal(err)
		}
		if p.Message == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("post %s message is %q, want %q", postID, p.Message, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var ids []string
	for _, a := range p.Attachments() {
		for _, act := range a.Actions {
			ids = append(ids, act.Id)
		}
	}
	if strings.Join(ids, ",") != "approve,reject,region" {
		t.Errorf("post %s actions after the edit: %v, want approve, reject, region", postID, ids)
	}
}

// exampleOpenedDialog reads the open_dialog event alice's webapp would get,
// checks that the plugin pointed it (and its dynamic select) at the session the
// bot printed, and returns the dialog's submit URL and the approver's lookup URL.
func exampleOpenedDialog(t *testing.T, alice *socket, sessionID, postID string) (url, lookupURL string) {
	t.Helper()
	ev := alice.mustNext(t, exampleOpenDialogEvent, 10*time.Second)
	raw, _ := ev.GetData()["dialog"].(string)
	var req model.OpenDialogRequest
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		t.Fatalf("open_dialog event: dialog %q: %v", raw, err)
	}
	session := "/plugins/" + pluginID + "/api/v1/dialogs/" + sessionID
	if want := session + "/submit"; req.URL != want {
		t.Errorf("open_dialog url = %q, want %q", req.URL, want)
	}
	d := req.Dialog
	if d.CallbackId != "approve" || d.Title != "Approve release" || d.State != postID || !d.NotifyOnCancel ||
		len(d.Elements) != 2 || d.Elements[0].Name != "reason" || d.Elements[0].MinLength != 3 {
		t.Fatalf("open_dialog dialog = %s, want the example's approval dialog with state %s", raw, postID)
	}
	// The approver: a dynamic select the bot gave no URL, bound to the session's lookup.
	if a := d.Elements[1]; a.Name != "approver" || a.Type != "select" || a.DataSource != "dynamic" || !a.Optional {
		t.Errorf("open_dialog dialog = %s, want the optional dynamic select approver second", raw)
	}
	if want := session + "/lookup"; d.Elements[1].DataSourceURL != want {
		t.Errorf("open_dialog approver data_source_url = %q, want %q", d.Elements[1].DataSourceURL, want)
	}
	return req.URL, d.Elements[1].DataSourceURL
}

// exampleLookup types query in the dialog's approver menu as acc, as the webapp
// does (POST /api/v4/actions/dialogs/lookup), and returns the items Mattermost answers.
func exampleLookup(t *testing.T, acc *harness.Account, lookupURL, postID, query string) []any {
	t.Helper()
	body := map[string]any{
		"url": lookupURL, "callback_id": "approve", "state": postID,
		"user_id": acc.ID(), "channel_id": env.Channel.Id, "team_id": env.Team.Id,
		"submission": map[string]any{"query": query, "selected_field": "approver"},
	}
	status, out, err := call(http.MethodPost, "/api/v4/actions/dialogs/lookup", acc.Token, body)
	if err != nil || status != http.StatusOK {
		t.Fatalf("lookup %q as %s: HTTP %d %v: %s", query, acc.User.Username, status, err, out)
	}
	answer := jsonObject(out)
	if answer == nil {
		t.Fatalf("lookup: answer %q is not a JSON object", out)
	}
	items, _ := answer["items"].([]any)
	return items
}

// exampleSubmitDialog submits the dialog at url as acc, as the webapp does
// (POST /api/v4/actions/dialogs/submit), and returns Mattermost's answer.
func exampleSubmitDialog(t *testing.T, acc *harness.Account, url, postID string, submission map[string]any, cancelled bool) map[string]any {
	t.Helper()
	body := map[string]any{
		"url": url, "callback_id": "approve", "state": postID,
		"user_id": acc.ID(), "channel_id": env.Channel.Id, "team_id": env.Team.Id,
		"submission": submission, "cancelled": cancelled,
	}
	status, out, err := call(http.MethodPost, "/api/v4/actions/dialogs/submit", acc.Token, body)
	if err != nil || status != http.StatusOK {
		t.Fatalf("submit dialog as %s: HTTP %d %v: %s", acc.User.Username, status, err, out)
	}
	answer := jsonObject(out)
	if answer == nil {
		t.Fatalf("submit dialog: answer %q is not a JSON object", out)
	}
	return answer
}

// exampleResubscribes disables and enables the plugin and waits until the bot holds a
// subscription on the new plugin process's node (named by the administrators' status).
func exampleResubscribes(t *testing.T, ctx context.Context, bot *harness.Account) string {
	t.Helper()
	if _, err := env.Admin.Client.DisablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Admin.Client.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	if err := env.WaitPluginRunning(ctx, pluginID, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	status, out, err := call(http.MethodGet, adminStatusPath, env.Admin.Token, nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("admin status: HTTP %d %v %s", status, err, out)
	}
	node, _ := jsonObject(out)["node"].(string)
	deadline := time.Now().Add(10 * time.Second)
	for {
		conns, _ := botStatus(t, bot)["connections"].([]any)
		for _, c := range conns {
			if m, _ := c.(map[string]any); m["node"] == node && m["live"] == true {
				return node
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bot did not subscribe again after the plugin restarted: %s", mustJSON(conns))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestExamples runs each example bot through the scenario of examples/README.md.
func TestExamples(t *testing.T) {
	requirePlugin(t)
	for _, ex := range []struct {
		name    string
		command exampleCommand
	}{
		{"python", pythonExample},
		{"go", goExample},
		{"js", jsExample},
	} {
		t.Run(ex.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			argv, dir := ex.command(t, ctx)

			// A bot of its own, so that no other test's bot sees its events.
			bot, err := env.CreateBot(ctx, "ex-"+ex.name+"-"+model.NewId()[:6])
			if err != nil {
				t.Fatal(err)
			}
			ac := env.Admin.Client
			if _, _, err := ac.AddTeamMember(ctx, env.Team.Id, bot.ID()); err != nil {
				t.Fatal(err)
			}
			if _, _, err := ac.AddChannelMember(ctx, env.Channel.Id, bot.ID()); err != nil {
				t.Fatal(err)
			}
			alice := env.Users[0]
			aliceWS := openSocket(t, alice)
			trigger := uniqueTrigger("rel" + ex.name) // the examples run against one server

			x := startExample(t, ex.name, argv, dir, bot, trigger)
			postID := x.expectPrefix(t, "posted ", 60*time.Second)
			x.expect(t, "command registered "+trigger, 10*time.Second)
			var post model.Post
			if status, out, err := call(http.MethodGet, "/api/v4/posts/"+postID, alice.Token, nil); err != nil || status != http.StatusOK {
				t.Fatalf("the example's post %s: HTTP %d %v: %s", postID, status, err, out)
			} else if err := json.Unmarshal(out, &post); err != nil || post.UserId != bot.ID() || post.ChannelId != env.Channel.Id {
				t.Fatalf("the example's post is %s, want one by %s in %s", out, bot.ID(), env.Channel.Id)
			}

			// The example subscribed before posting (SPEC §9): one live connection.
			if st := waitLive(t, bot, 1); st["subscribed"] != true {
				t.Fatalf("the %s example's status: %s, want subscribed", ex.name, mustJSON(st))
			}

			// Reject: the bot answers the click as an HTTP integration would; the
			// answer updates the message, keeping its buttons, and alice reads its text.
			r := mustClick(t, alice, postID, "reject", "")
			x.expectAfter(t, "click reject alice -", 10*time.Second, r, bot)
			exampleWaitMessage(t, alice, postID, "Rejected by @alice")
			if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "You rejected release 1.4.2." {
				t.Errorf("alice read %q, want the %s example's ephemeral_text", p.Message, ex.name)
			}

			// A menu choice, on the updated post (its buttons still verify).
			r = mustClick(t, alice, postID, "region", "eu")
			x.expectAfter(t, "click region alice eu", 10*time.Second, r, bot)
			exampleWaitMessage(t, alice, postID, "Region: eu")
			if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Deploying to eu." {
				t.Errorf("alice read %q, want the %s example's ephemeral_text", p.Message, ex.name)
			}

			// Approve: the bot opens a dialog through the plugin; alice's
			// webapp is told to show it, pointed at the plugin's session.
			mustClick(t, alice, postID, "approve", "")
			x.expect(t, "click approve alice -", 10*time.Second)
			session := x.expectPrefix(t, "dialog opened ", 10*time.Second)
			url, lookupURL := exampleOpenedDialog(t, aliceWS, session, postID)

			// Too short a reason: the plugin answers the error inside the
			// dialog; the bot hears nothing.
			answer := exampleSubmitDialog(t, alice, url, postID, map[string]any{"reason": "x"}, false)
			if errs, _ := answer["errors"].(map[string]any); errs["reason"] == nil || errs["reason"] == "" {
				t.Fatalf("submitting reason %q: answer %s, want errors.reason", "x", mustJSON(answer))
			} else {
				t.Logf("reason %q: %s", "x", errs["reason"])
			}
			x.expectQuiet(t, 1500*time.Millisecond)

			// The approver menu: alice types "ca", the bot answers the matching choices.
			items := exampleLookup(t, alice, lookupURL, postID, "ca")
			x.expect(t, "lookup approver ca", 10*time.Second)
			if want := []any{map[string]any{"text": "Carol", "value": "carol"}}; !reflect.DeepEqual(items, want) {
				t.Errorf("lookup %q: items %s, want %s", "ca", mustJSON(items), mustJSON(want))
			}

			// The bot's own rule: no releases on Fridays. Its answer keeps the dialog
			// open with the error beside the reason; the post is not edited.
			answer = exampleSubmitDialog(t, alice, url, postID, map[string]any{"reason": "ship it friday"}, false)
			if want := map[string]any{"errors": map[string]any{"reason": "No releases on Fridays."}}; !reflect.DeepEqual(answer, want) {
				t.Errorf("submitting a Friday reason: answer %s, want %s", mustJSON(answer), mustJSON(want))
			}
			x.expect(t, "refused alice ship it friday", 10*time.Second)

			// Submitted again, valid, with an approver: the bot closes the dialog.
			answer = exampleSubmitDialog(t, alice, url, postID, map[string]any{"reason": "looks good", "approver": "carol"}, false)
			if len(answer) != 0 {
				t.Errorf("submitting a valid reason: answer %s, want {}", mustJSON(answer))
			}
			x.expect(t, "submitted alice looks good", 10*time.Second)
			exampleWaitMessage(t, alice, postID, "Approved by @alice: looks good (approver: carol)")

			// Approve again, then cancel: notify_on_cancel delivers it.
			mustClick(t, alice, postID, "approve", "")
			x.expect(t, "click approve alice -", 10*time.Second)
			session2 := x.expectPrefix(t, "dialog opened ", 10*time.Second)
			if session2 == session {
				t.Errorf("the second dialog has the first one's session %s", session)
			}
			url2, _ := exampleOpenedDialog(t, aliceWS, session2, postID)
			exampleSubmitDialog(t, alice, url2, postID, map[string]any{}, true)
			x.expect(t, "cancelled alice", 10*time.Second)

			// The slash command: "status" is answered to alice alone, through the
			// execute API; a version is answered in the channel, posted as the bot.
			if status, res := execute(t, alice, "/"+trigger+" status"); status != http.StatusOK ||
				res["text"] != "Release 1.4.2 is waiting for approval." || res["response_type"] != "ephemeral" {
				t.Errorf("/%s status: HTTP %d %s, want the example's ephemeral answer", trigger, status, mustJSON(res))
			}
			x.expect(t, "command alice status", 10*time.Second)
			if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Release 1.4.2 is waiting for approval." {
				t.Errorf("alice's ephemeral post after /%s status: %q", trigger, p.Message)
			}
			if status, res := execute(t, alice, "/"+trigger+" 1.4.3"); status != http.StatusOK {
				t.Errorf("/%s 1.4.3: HTTP %d %s", trigger, status, mustJSON(res))
			}
			x.expect(t, "command alice 1.4.3", 10*time.Second)
			botPostWithText(t, bot, "@alice asked to release 1.4.3.")
			// Nothing after the trigger: how to use it, to alice alone.
			usage := "Usage: /" + trigger + " status | /" + trigger + " <version>"
			if status, res := execute(t, alice, "/"+trigger); status != http.StatusOK || res["text"] != usage {
				t.Errorf("/%s: HTTP %d %s, want the usage", trigger, status, mustJSON(res))
			}
			x.expect(t, "command alice ", 10*time.Second)
			if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != usage {
				t.Errorf("alice's ephemeral post after /%s: %q", trigger, p.Message)
			}

			// Nothing more: every event was handled once and acknowledged.
			x.expectQuiet(t, time.Second)
			waitStatus(t, bot, 1, 0)

			// The plugin restarts: the example subscribes again when asked (its connection
			// is then held by the new plugin process) and its answers still apply.
			node := exampleResubscribes(t, ctx, bot)
			mustClick(t, alice, postID, "region", "us")
			x.expect(t, "click region alice us", 10*time.Second)
			exampleWaitMessage(t, alice, postID, "Region: us")
			if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Deploying to us." {
				t.Errorf("after the plugin restarted alice read %q", p.Message)
			}
			t.Logf("the %s example subscribed again on node %s", ex.name, node)
		})
	}
}
