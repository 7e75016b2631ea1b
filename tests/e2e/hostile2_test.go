package e2e_test

// Hostile users, second round (issue 18, items 4 to 8), on the real server: what slash
// commands, ephemeral messages and a flood of heavy requests let an attacker do, each through
// Mattermost's own REST API with an ordinary user's or a bot's token. Before the fixes each of
// these took something over, let something through or stalled somebody else; now each holds.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// 4: a bot cannot register a built-in command's trigger, whatever the built-in's
// autocomplete: /invite_people is left out of ListBuiltInCommands while email invitations are
// off (as here), /test always is, and a plugin's command would run before either.
func TestHostileBuiltInTriggersCannotBeTaken(t *testing.T) {
	requirePlugin(t)
	bot := newDeliveryBot(t, "builtin")
	for _, trigger := range []string{"invite_people", "test", "echo"} {
		status, body := registerCommand(t, bot, trigger)
		if status != http.StatusConflict || errorCode(body) != "command_taken" || !strings.Contains(mustJSON(body), "Mattermost itself") {
			t.Errorf("registering /%s: HTTP %d %s, want 409 command_taken naming Mattermost", trigger, status, mustJSON(body))
		}
	}
	if status, out, _ := call(http.MethodGet, commandsPath, bot.Token, nil); status != http.StatusOK || strings.Contains(string(out), "invite_people") {
		t.Errorf("the bot's commands: HTTP %d %s, want none", status, out)
	}
}

// teamCommandServer is a team's own slash command on loopback: it records what it is sent and
// answers with its own text. Mattermost reaches it once 127.0.0.1 is an allowed untrusted
// internal connection (restored when the test ends).
func teamCommandServer(t *testing.T, answer string) (string, <-chan url.Values) {
	t.Helper()
	got := make(chan url.Values, 8)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		values, _ := url.ParseQuery(string(body))
		got <- values
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(mustJSON(map[string]any{"response_type": "ephemeral", "text": answer})))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	ctx := context.Background()
	cfg, _, err := env.Admin.Client.GetConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old := *cfg.ServiceSettings.AllowedUntrustedInternalConnections
	cfg.ServiceSettings.AllowedUntrustedInternalConnections = model.NewPointer(strings.TrimSpace(old + " 127.0.0.1"))
	if _, _, err := env.Admin.Client.UpdateConfig(ctx, cfg); err != nil {
		t.Fatalf("allowing 127.0.0.1: %v", err)
	}
	t.Cleanup(func() {
		cfg, _, err := env.Admin.Client.GetConfig(ctx)
		if err == nil {
			cfg.ServiceSettings.AllowedUntrustedInternalConnections = model.NewPointer(old)
			_, _, _ = env.Admin.Client.UpdateConfig(ctx, cfg)
		}
	})
	return "http://" + ln.Addr().String() + "/command", got
}

// 5: a team creates its own slash command with the trigger a bot registered earlier. What
// people type there (secrets included) must reach the team's command, not the bot: Mattermost
// runs a plugin's command first (as the first step shows), so the plugin hands the command
// back to Mattermost, which runs the team's own. Elsewhere the bot's command still works.
func TestHostileTeamCommandMadeLaterIsNotTakenOver(t *testing.T) {
	requirePlugin(t)
	_, botWS, trigger := commandBot(t, "cmdlater", "vault")
	alice := env.Users[0]
	// Before the team has a command of that name, the plugin's runs (the bot answers).
	pending := executeAsync(alice, "/"+trigger+" before")
	d := deliveryOf(t, botWS.mustNext(t, commandEvent, 10*time.Second))
	botWS.ackQuiet(d.EventID, map[string]any{"text": "the bot's answer"})
	if res := <-pending; res["text"] != "the bot's answer" {
		t.Fatalf("before the team's command existed, execute answered %s", mustJSON(res))
	}

	hook, received := teamCommandServer(t, "the team's own answer")
	if _, _, err := env.Admin.Client.CreateCommand(context.Background(), &model.Command{TeamId: env.Team.Id, Trigger: trigger,
		Method: model.CommandMethodPost, URL: hook, DisplayName: "Vault"}); err != nil {
		t.Fatalf("creating the team's /%s: %v", trigger, err)
	}
	status, res := execute(t, alice, "/"+trigger+" s3cr3t-password")
	if status != http.StatusOK || res["text"] != "the team's own answer" {
		t.Errorf("/%s in the team that has its own: HTTP %d %s, want the team's command's answer", trigger, status, mustJSON(res))
	}
	select {
	case values := <-received:
		if values.Get("text") != "s3cr3t-password" || values.Get("user_id") != alice.ID() {
			t.Errorf("the team's command was sent %v, want alice's text", values)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("the team's own command never ran")
	}
	botWS.expectNone(t, commandEvent, time.Second)
}

// 6: the per-bot limit of 25 commands holds under 40 concurrent registrations by one bot.
func TestHostileCommandLimitHoldsUnderConcurrentRegistrations(t *testing.T) {
	requirePlugin(t)
	bot := newDeliveryBot(t, "cmdrace")
	var wg sync.WaitGroup
	statuses := make([]int, 40)
	bodies := make([]string, 40)
	prefix := strings.ToLower(model.NewId()[:6])
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, out, err := call(http.MethodPost, commandsPath, bot.Token, map[string]any{"trigger": fmt.Sprintf("race%s%02d", prefix, i)})
			if err != nil {
				status, out = -1, []byte(err.Error())
			}
			statuses[i], bodies[i] = status, string(out)
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for i, s := range statuses {
		count[s]++
		if s != http.StatusOK && (s != http.StatusRequestEntityTooLarge || !strings.Contains(bodies[i], "over_limit")) {
			t.Errorf("registration %d: HTTP %d %s, want 200 or 413 over_limit", i, s, bodies[i])
		}
	}
	if count[http.StatusOK] != 25 {
		t.Errorf("40 concurrent registrations: %d accepted, want exactly 25 (statuses %v)", count[http.StatusOK], count)
	}
	status, out, err := call(http.MethodGet, commandsPath, bot.Token, nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET commands: HTTP %d %v", status, err)
	}
	if listed, _ := jsonObject(out)["commands"].([]any); len(listed) != count[http.StatusOK] {
		t.Errorf("the bot lists %d commands, and %d registrations were accepted", len(listed), count[http.StatusOK])
	}
	// A freed slot is free again: one deleted, one more registered.
	if status, out, _ := call(http.MethodDelete, commandsPath+"/"+fmt.Sprintf("race%s%02d", prefix, firstOK(statuses)), bot.Token, nil); status != http.StatusOK {
		t.Fatalf("DELETE: HTTP %d %s", status, out)
	}
	if status, body := registerCommand(t, bot, "race"+prefix+"xx"); status != http.StatusOK {
		t.Errorf("after a delete, one more registration: HTTP %d %s", status, mustJSON(body))
	}
}

func firstOK(statuses []int) int {
	for i, s := range statuses {
		if s == http.StatusOK {
			return i
		}
	}
	return 0
}

// heaviestEphemeral is an ephemeral message at the limits: 200 buttons (the lint's limit)
// whose contexts fill the body to about 940 KB, every button valid, so that every check runs.
func heaviestEphemeral(bot, to string) []byte {
	actions := make([]any, 200)
	for i := range actions {
		actions[i] = button(fmt.Sprintf("b%d", i), "B", map[string]any{"user_id": bot, "pad": strings.Repeat("é", 2300)})
	}
	return []byte(mustJSON(map[string]any{"user_id": to, "channel_id": env.Channel.Id, "message": "heavy",
		"props": map[string]any{"attachments": []any{map[string]any{"actions": actions}}}}))
}

// 7: 48 heavy ephemeral requests in flight at all times, and clicks meanwhile. A click that
// queued behind them would wait while many of them were answered; one that does not waits for
// none of them. For each click the test counts the heavy requests answered between the click
// and its event reaching the bot.
func TestHostileEphemeralFloodDoesNotStallClicks(t *testing.T) {
	requirePlugin(t)
	sender, clicked := newDeliveryBot(t, "heavy"), env.Bots[0]
	clickerWS := openSocket(t, clicked)
	post := createPost(t, clicked, "", "clicks under an ephemeral flood", button("f", "F", map[string]any{"user_id": clicked.ID(), "phase": "ephemeral-flood"}))
	heavy := heaviestEphemeral(sender.ID(), env.Users[0].ID())
	if n := len(heavy); n < 900_000 || n > 1<<20 {
		t.Fatalf("the heavy request is %d bytes", n)
	}
	if status, out, err := call(http.MethodPost, ephemeralPath, sender.Token, heavy); err != nil || status != http.StatusOK {
		t.Fatalf("one heavy ephemeral request: HTTP %d %v %.300s", status, err, out)
	}

	// A heavy request waits for its lane as long as the lane is busy (a minute, with 48 of them
	// on one instance): the test's client waits as a patient bot would, past the suite's
	// usual 30 s.
	patient := &http.Client{Transport: httpClient.Transport, Timeout: 5 * time.Minute}
	sendHeavy := func() (int, error) {
		req, err := http.NewRequest(http.MethodPost, env.SiteURL+ephemeralPath, bytes.NewReader(heavy))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+sender.Token)
		resp, err := patient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	stop := make(chan struct{})
	var inFlight, answered, failed atomic.Int64
	var wg sync.WaitGroup
	for range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				inFlight.Add(1)
				status, err := sendHeavy()
				inFlight.Add(-1)
				answered.Add(1)
				if err != nil || status != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	// The flood is on once its first requests have been answered.
	for answered.Load() < 48 {
		time.Sleep(50 * time.Millisecond)
	}

	var during []int
	for range 7 {
		before := answered.Load()
		r := mustClick(t, env.Users[1], post.Id, "f", "")
		if _, err := clickerWS.next(actionEvent, 60*time.Second); err != nil {
			t.Fatalf("a click under the flood: %v", err)
		}
		during = append(during, int(answered.Load()-before))
		t.Logf("click answered in %s while %d heavy requests were in flight; %d answered meanwhile",
			r.Done.Sub(r.Sent).Round(time.Millisecond), inFlight.Load(), during[len(during)-1])
	}
	sort.Ints(during)
	// The plugin serves heavy requests one or two at a time: a click that does not queue behind
	// them sees at most a couple answered while it is served. One that queued behind 48 of
	// them sees them answered by the dozen.
	if median := during[len(during)/2]; median > 4 {
		t.Errorf("heavy requests answered while a click waited: %v (median %d); the clicks queued behind the flood", during, median)
	}
	if failed.Load() > 0 {
		t.Errorf("%d of %d heavy requests failed: a heavy request waits for its lane, it does not fail", failed.Load(), answered.Load())
	}
}

// 8: once the bot's answer has changed an ephemeral post, its old buttons are dead: the old
// cookie re-sent is refused and the bot receives nothing. The new buttons work.
func TestHostileEphemeralButtonsCannotBeReplayed(t *testing.T) {
	requirePlugin(t)
	bot, alice := newDeliveryBot(t, "ephreplay"), env.Users[0]
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)
	botWS.subscribe(t)
	send := func(actions ...map[string]any) (string, map[string]string) {
		list := make([]any, len(actions))
		for i, a := range actions {
			list[i] = a
		}
		status, out := sendEphemeral(t, bot, map[string]any{"user_id": alice.ID(), "channel_id": env.Channel.Id, "message": "Proceed?",
			"props": map[string]any{"attachments": []any{map[string]any{"actions": list}}}})
		if status != http.StatusOK {
			t.Fatalf("POST %s: HTTP %d %s", ephemeralPath, status, mustJSON(out))
		}
		shown := aliceWS.ephemeralPost(t, 10*time.Second)
		return shown.Id, cookies(shown)
	}
	clickOnce := func(postID, action, cookie string) delivered {
		pending := make(chan clickResult, 1)
		go func() { r, _ := clickWith(alice, postID, action, cookie); pending <- r }()
		d := botWS.nextAction(t, 10*time.Second)
		if c := <-pending; c.Status != http.StatusOK {
			t.Fatalf("alice's click: HTTP %d %s", c.Status, c.Body)
		}
		return d
	}
	refused := func(what, postID, action, cookie string) {
		if _, err := clickWith(alice, postID, action, cookie); err != nil {
			t.Fatal(err)
		}
		botWS.expectNone(t, actionEvent, 1500*time.Millisecond)
		if p := aliceWS.ephemeralPost(t, 10*time.Second); !strings.Contains(p.Message, "no longer") {
			t.Errorf("%s: alice read %q, want to be told the button no longer works", what, p.Message)
		}
	}

	// An update that removes the buttons.
	postID, old := send(button("drop", "Drop", map[string]any{"user_id": bot.ID(), "db": "staging"}))
	d := clickOnce(postID, "drop", old["drop"])
	botWS.ack(d.EventID, map[string]any{"update": map[string]any{"message": "Dropped."}})
	if got := botWS.ackResult(t, d.EventID); got != "applied" && got != "applied_late" {
		t.Fatalf("ack_result %q", got)
	}
	if p := aliceWS.editedPost(t, postID, 10*time.Second); p.Message != "Dropped." || len(p.Attachments()) != 0 {
		t.Fatalf("alice's post after the update: %s", mustJSON(p))
	}
	refused("the removed button's cookie re-sent", postID, "drop", old["drop"])

	// An update that changes the buttons: the old one is dead, the new one works.
	postID, old = send(button("first", "First", map[string]any{"user_id": bot.ID(), "step": 1}))
	d = clickOnce(postID, "first", old["first"])
	botWS.ack(d.EventID, map[string]any{"update": map[string]any{"message": "Step 2?", "props": map[string]any{"attachments": []any{
		map[string]any{"actions": []any{button("second", "Second", map[string]any{"user_id": bot.ID(), "step": 2})}}}}}})
	if got := botWS.ackResult(t, d.EventID); got != "applied" && got != "applied_late" {
		t.Fatalf("ack_result %q", got)
	}
	updated := aliceWS.editedPost(t, postID, 10*time.Second)
	refused("the first step's cookie re-sent", postID, "first", old["first"])
	next := cookies(updated)
	if d := clickOnce(postID, "second", next["second"]); d.Data["context"].(map[string]any)["step"] != float64(2) {
		t.Errorf("the new button delivered %s", mustJSON(d.Data))
	} else {
		// Answered without an update, its buttons stay: the same click works again.
		botWS.ack(d.EventID, map[string]any{"ephemeral_text": "Noted."})
		aliceWS.ephemeralPost(t, 10*time.Second)
		d = clickOnce(postID, "second", next["second"])
		botWS.ack(d.EventID, nil)
	}
}

// cookies is each action's cookie by action id, as the webapp sends them back:
// {"cookie": ...}.
func cookies(p *model.Post) map[string]string {
	out := map[string]string{}
	for _, a := range p.Attachments() {
		for _, action := range a.Actions {
			out[action.Id] = mustJSON(map[string]string{"cookie": action.Cookie})
		}
	}
	return out
}
