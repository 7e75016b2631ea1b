package e2e_test

// Interactive dialogs opened through the plugin (README "Dialogs", SPEC §5),
// against the real server: a click gives actionbot a trigger id, the test
// (acting as the bot) opens a dialog with POST /plugins/<id>/api/v1/dialogs/open,
// alice's websocket receives open_dialog, and alice submits the form the way
// the webapp does, with POST /api/v4/actions/dialogs/submit. Mattermost calls
// the plugin's one-time submission path; the plugin answers field errors or
// refusals itself, or publishes dialog_submission to the bot. Every test skips
// without E2E_BUNDLE. FINDINGS.md ("Dialogs") records what the server does.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

var (
	dialogEvent      = "custom_" + pluginID + "_dialog_submission"
	dialogOpenPath   = "/plugins/" + pluginID + "/api/v1/dialogs/open"
	dialogPathPrefix = "/plugins/" + pluginID + "/api/v1/dialogs/"
)

const (
	openDialogEv    = string(model.WebsocketEventOpenDialog)
	dialogSubmitAPI = "/api/v4/actions/dialogs/submit"

	// The words the plugin answers a refused submission with (src/refusal.rs).
	expiredText        = "This form has expired or was already submitted. Close it and start again."
	usedText           = "This form was already submitted."
	wrongSubmitterText = "This form was opened for someone else, so you cannot submit it."
	userMismatchText   = "This request was refused: it claims to come from a different user than the one signed in."
)

// deployDialog is the definition the tests open: a required static select, a
// textarea with length limits, an optional email and a bool.
func deployDialog(state string, notifyOnCancel bool) map[string]any {
	return map[string]any{
		"callback_id":       "deploy-42",
		"title":             "Deploy release",
		"introduction_text": "Where and why?",
		"submit_label":      "Deploy",
		"state":             state,
		"notify_on_cancel":  notifyOnCancel,
		"elements": []any{
			map[string]any{"display_name": "Region", "name": "region", "type": "select",
				"options": []any{
					map[string]any{"text": "Europe", "value": "eu"},
					map[string]any{"text": "Americas", "value": "us"},
				}},
			map[string]any{"display_name": "Reason", "name": "reason", "type": "textarea",
				"min_length": 5, "max_length": 50, "placeholder": "Why now?"},
			map[string]any{"display_name": "Notify email", "name": "email", "type": "text",
				"subtype": "email", "optional": true},
			map[string]any{"display_name": "Canary first", "name": "canary", "type": "bool",
				"optional": true, "default": "false"},
		},
	}
}

// dialogRig is actionbot (Go websocket), alice and bob (websockets).
type dialogRig struct {
	bot, alice, bob       *harness.Account
	botWS, aliceWS, bobWS *socket
}

func newDialogRig(t *testing.T) *dialogRig {
	t.Helper()
	requirePlugin(t)
	r := &dialogRig{bot: env.Bots[0], alice: env.Users[0], bob: env.Users[1]}
	if r.alice.User.Username != "alice" || r.bob.User.Username != "bob" {
		t.Fatalf("users are %s and %s, want alice and bob", r.alice.User.Username, r.bob.User.Username)
	}
	r.botWS, r.aliceWS, r.bobWS = openSocket(t, r.bot), openSocket(t, r.alice), openSocket(t, r.bob)
	return r
}

// trigger posts a button as actionbot, has who click it, and returns the
// trigger id actionbot receives in the action event (Mattermost's signed
// trigger) with the click.
func (r *dialogRig) trigger(t *testing.T, who *harness.Account) (string, clickResult) {
	t.Helper()
	bctx := map[string]any{"user_id": r.bot.ID(), "action": "deploy"}
	post := createPost(t, r.bot, "", "Deploy release 1.4.2?", button("deploy", "Deploy", bctx))
	c := mustClick(t, who, post.Id, "deploy", "")
	ev := r.botWS.mustNext(t, actionEvent, 10*time.Second)
	checkEvent(t, "actionbot", ev.GetData(), wantData(who, post, "button", "", bctx), c, true, time.Now())
	trig, _ := ev.GetData()["trigger_id"].(string)
	return trig, c
}

// openDialog posts {"trigger_id", "dialog"} to the plugin with token and
// returns the status and the decoded JSON body.
func openDialog(t *testing.T, token, triggerID string, dialog any) (int, map[string]any) {
	t.Helper()
	status, out, err := call(http.MethodPost, dialogOpenPath, token, map[string]any{"trigger_id": triggerID, "dialog": dialog})
	if err != nil {
		t.Fatal(err)
	}
	m := jsonObject(out)
	if m == nil {
		t.Fatalf("dialogs/open answered HTTP %d with a body that is not a JSON object: %q", status, out)
	}
	return status, m
}

// checkOpenError checks an error body of dialogs/open: exactly
// {"ephemeral_text", "error": {"code", "message"}} with status, code, the
// ephemeral text and the message (when not empty) given.
func checkOpenError(t *testing.T, what string, status int, body map[string]any, wantStatus int, wantCode, wantText, wantMessage string) {
	t.Helper()
	errObj, _ := body["error"].(map[string]any)
	if status != wantStatus || len(body) != 2 || len(errObj) != 2 || errObj["code"] != wantCode || body["ephemeral_text"] != wantText {
		t.Errorf("%s: HTTP %d %s, want %d with ephemeral_text %q and error.code %s", what, status, mustJSON(body), wantStatus, wantText, wantCode)
	}
	if wantMessage != "" && errObj["message"] != wantMessage {
		t.Errorf("%s: error.message\n  %v\nwant\n  %s", what, errObj["message"], wantMessage)
	}
}

// opened is a dialog the plugin opened, as the bot and the person see it.
type opened struct {
	SessionID string
	ExpiresAt int64
	URL       string                  // the submission path, from alice's open_dialog
	Request   model.OpenDialogRequest // data.dialog of open_dialog, decoded
	Raw       string                  // data.dialog as sent
	Def       map[string]any
}

// open gets a trigger from a click by who, opens def with it as actionbot,
// checks the answer and the open_dialog event who receives, and returns both.
func (r *dialogRig) open(t *testing.T, who *harness.Account, whoWS *socket, def map[string]any) *opened {
	t.Helper()
	trig, c := r.trigger(t, who)
	before := time.Now().UnixMilli()
	status, body := openDialog(t, r.bot.Token, trig, def)
	after := time.Now().UnixMilli()
	if status != http.StatusOK {
		t.Fatalf("dialogs/open: HTTP %d %s", status, mustJSON(body))
	}
	o := &opened{Def: def}
	o.SessionID, _ = body["session_id"].(string)
	at, _ := body["expires_at"].(float64)
	o.ExpiresAt = int64(at)
	if len(body) != 2 || len(o.SessionID) != 26 || strings.Trim(o.SessionID, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Errorf("dialogs/open answered %s, want exactly session_id (a 26-char id) and expires_at", mustJSON(body))
	}
	minutes := dialogMinutes(t)
	if lo, hi := before+minutes*60000, after+minutes*60000; o.ExpiresAt < lo || o.ExpiresAt > hi {
		t.Errorf("expires_at %d outside [%d, %d] (now + %d minutes)", o.ExpiresAt, lo, hi, minutes)
	}

	ev := whoWS.mustNext(t, openDialogEv, 10*time.Second)
	if b := ev.GetBroadcast(); b == nil || b.UserId != who.ID() || b.ChannelId != "" || b.TeamId != "" {
		t.Errorf("open_dialog broadcast %+v, want to %s only", b, who.User.Username)
	}
	data := ev.GetData()
	var ok bool
	if o.Raw, ok = data["dialog"].(string); !ok || len(data) != 1 {
		t.Fatalf("open_dialog data %s, want exactly {\"dialog\": <JSON string>}", mustJSON(data))
	}
	if err := json.Unmarshal([]byte(o.Raw), &o.Request); err != nil {
		t.Fatalf("open_dialog data.dialog %q: %v", o.Raw, err)
	}
	o.URL = o.Request.URL
	if want := dialogPathPrefix + o.SessionID + "/submit"; o.URL != want {
		t.Errorf("open_dialog url %q, want %q", o.URL, want)
	}
	// Mattermost replaces the signed trigger with the client's part.
	if o.Request.TriggerId != c.TriggerID() {
		t.Errorf("open_dialog trigger_id %q, want the click's client trigger id %q", o.Request.TriggerId, c.TriggerID())
	}
	var want model.Dialog
	if err := json.Unmarshal([]byte(mustJSON(def)), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Request.Dialog, want) {
		t.Errorf("open_dialog dialog\n  %s\nwant the definition as sent\n  %s", mustJSON(o.Request.Dialog), mustJSON(want))
	}
	return o
}

// dialogMinutes is the session lifetime in force (setting dialogsessionminutes, default 30).
func dialogMinutes(t *testing.T) int64 {
	t.Helper()
	switch v := pluginSection(t)["dialogsessionminutes"].(type) {
	case float64:
		return int64(v)
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return 30
}

// submitBody is what the webapp sends for a submission of o (cancelled:
// values is ignored and no submission is sent, as the webapp does).
func submitBody(acc *harness.Account, o *opened, values map[string]any, cancelled bool) map[string]any {
	body := map[string]any{
		"url":         o.URL,
		"callback_id": o.Request.Dialog.CallbackId,
		"state":       o.Request.Dialog.State,
		"user_id":     acc.ID(),
		"channel_id":  env.Channel.Id,
		"team_id":     env.Team.Id,
		"cancelled":   cancelled,
	}
	if !cancelled {
		body["submission"] = values
	}
	return body
}

// submit posts body to /api/v4/actions/dialogs/submit as acc and returns the
// status and the raw answer.
func submit(t *testing.T, acc *harness.Account, body map[string]any) (int, string) {
	t.Helper()
	status, out, err := call(http.MethodPost, dialogSubmitAPI, acc.Token, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, string(out)
}

// mustSubmit submits and requires exactly the answer want (compared as JSON).
func mustSubmit(t *testing.T, what string, acc *harness.Account, body map[string]any, want string) {
	t.Helper()
	status, out := submit(t, acc, body)
	var got, w any
	_ = json.Unmarshal([]byte(out), &got)
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if status != http.StatusOK || got == nil || !reflect.DeepEqual(got, w) {
		t.Errorf("%s: submit answered HTTP %d %s, want 200 %s", what, status, out, want)
	}
}

// errorAnswer is the submit API's answer to a refusal: the plugin's
// {"error": text, "error_code": code} read as SubmitDialogResponse.
func errorAnswer(text string) string { return mustJSON(map[string]string{"error": text}) }

// wantSubmission is the exact data of the dialog_submission event for o
// submitted by who (proxy aside).
func wantSubmission(o *opened, who *harness.Account, submission map[string]any, cancelled bool) map[string]any {
	return map[string]any{
		"callback_id": o.Def["callback_id"],
		"state":       o.Def["state"],
		"submission":  normalize(submission),
		"user_id":     who.ID(),
		"user_name":   who.User.Username,
		"channel_id":  env.Channel.Id,
		"team_id":     env.Team.Id,
		"cancelled":   cancelled,
	}
}

// checkSubmission compares every key of a dialog_submission event's data with
// want plus proxy, and proxy with the time window [sent, received].
func checkSubmission(t *testing.T, who string, ev *model.WebSocketEvent, want map[string]any, bot *harness.Account, sent, received time.Time) string {
	t.Helper()
	data := ev.GetData()
	if b := ev.GetBroadcast(); b == nil || b.UserId != bot.ID() || b.ChannelId != "" || b.TeamId != "" {
		t.Errorf("%s: broadcast %+v, want to %s only", who, b, bot.User.Username)
	}
	var keys, wantKeys []string
	for k := range data {
		keys = append(keys, k)
	}
	for k := range want {
		wantKeys = append(wantKeys, k)
	}
	wantKeys = append(wantKeys, "proxy")
	sort.Strings(keys)
	sort.Strings(wantKeys)
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("%s: event keys %v, want %v", who, keys, wantKeys)
	}
	for k, w := range want {
		if got := normalize(data[k]); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: event %s = %s, want %s", who, k, mustJSON(data[k]), mustJSON(w))
		}
	}
	proxy, _ := data["proxy"].(map[string]any)
	id, _ := proxy["event_id"].(string)
	if len(proxy) != 4 || len(id) != 26 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789") != "" ||
		proxy["verified"] != true || proxy["version"] != pluginVersion {
		t.Errorf("%s: proxy = %s, want {event_id: 26-char id, received_at, verified: true, version: %s}", who, mustJSON(proxy), pluginVersion)
	}
	at, _ := proxy["received_at"].(float64)
	if lo, hi := sent.UnixMilli(), received.UnixMilli(); int64(at) < lo || int64(at) > hi || at != float64(int64(at)) {
		t.Errorf("%s: proxy.received_at %v outside the submission's window [%d, %d]", who, proxy["received_at"], lo, hi)
	}
	return id
}

// deliver submits values for o as who, expects the answer {} and the
// dialog_submission event with want's submission, and returns the event id.
func (r *dialogRig) deliver(t *testing.T, what string, who *harness.Account, o *opened, body map[string]any, wantSub map[string]any, cancelled bool) string {
	t.Helper()
	sent := time.Now()
	mustSubmit(t, what, who, body, `{}`)
	ev := r.botWS.mustNext(t, dialogEvent, 10*time.Second)
	return checkSubmission(t, what, ev, wantSubmission(o, who, wantSub, cancelled), r.bot, sent, time.Now())
}

// 1: the whole flow: click, trigger id to the bot, dialog opened through the
// plugin, open_dialog to alice, a valid submission, the exact event to the bot.
func TestDialogFullFlow(t *testing.T) {
	r := newDialogRig(t)
	other := openSocket(t, env.Bots[1])
	o := r.open(t, r.alice, r.aliceWS, deployDialog("s1", true))
	t.Logf("open_dialog data.dialog: %s", o.Raw)

	values := map[string]any{
		"region": "eu", "reason": "Fixes the login bug", "email": "alice@example.com", "canary": true,
		"not_a_field": "dropped", // only the dialog's own fields reach the bot
	}
	sent := time.Now()
	mustSubmit(t, "valid submission", r.alice, submitBody(r.alice, o, values, false), `{}`)
	ev := r.botWS.mustNext(t, dialogEvent, 10*time.Second)
	want := map[string]any{
		"callback_id": "deploy-42", "state": "s1",
		"submission": map[string]any{"region": "eu", "reason": "Fixes the login bug", "email": "alice@example.com", "canary": true},
		"user_id":    r.alice.ID(), "user_name": "alice",
		"channel_id": env.Channel.Id, "team_id": env.Team.Id, "cancelled": false,
	}
	checkSubmission(t, "dialog_submission", ev, want, r.bot, sent, time.Now())
	t.Logf("dialog_submission data: %s", mustJSON(ev.GetData()))

	// Exactly one event, to actionbot only; the dialog is not reopened.
	expectNoneAll(t, dialogEvent, 1500*time.Millisecond, r.botWS, r.aliceWS, r.bobWS, other)
	r.aliceWS.expectNone(t, openDialogEv, time.Millisecond)
	r.bobWS.expectNone(t, openDialogEv, time.Millisecond)
}

// 2: invalid submissions get field errors, the dialog stays usable and the bot
// receives nothing; the corrected submission is delivered.
func TestDialogFieldErrors(t *testing.T) {
	r := newDialogRig(t)
	o := r.open(t, r.alice, r.aliceWS, deployDialog("s2", false))

	cases := []struct {
		name   string
		values map[string]any
		errors map[string]string
	}{
		{"empty", map[string]any{}, map[string]string{
			"region": "This field is required.", "reason": "This field is required.",
		}},
		{"wrong values", map[string]any{"region": "mars", "reason": "abc", "email": "not-an-email", "canary": "maybe"}, map[string]string{
			"region": "Choose from the list.",
			"reason": "Must be at least 5 characters.",
			"email":  "Enter an email address, like name@example.com.",
			"canary": "Must be true or false.",
		}},
		{"too long", map[string]any{"region": "us", "reason": strings.Repeat("é", 51), "email": "", "canary": false}, map[string]string{
			"reason": "Must be at most 50 characters.",
		}},
	}
	for _, tc := range cases {
		mustSubmit(t, tc.name, r.alice, submitBody(r.alice, o, tc.values, false), mustJSON(map[string]any{"errors": tc.errors}))
	}
	r.botWS.expectNone(t, dialogEvent, 2*time.Second)

	// The session survived the errors. callback_id and state come from the
	// stored definition, not from the request.
	body := submitBody(r.alice, o, map[string]any{"region": "us", "reason": strings.Repeat("é", 50), "email": "", "canary": false}, false)
	body["callback_id"], body["state"] = "forged", "forged"
	r.deliver(t, "corrected", r.alice, o, body,
		map[string]any{"region": "us", "reason": strings.Repeat("é", 50), "email": "", "canary": false}, false)
	r.botWS.expectNone(t, dialogEvent, time.Second)
}

// 3: a cancellation is published with notify_on_cancel (empty submission,
// cancelled true), not without it; either way the session is used.
func TestDialogCancel(t *testing.T) {
	r := newDialogRig(t)
	o := r.open(t, r.alice, r.aliceWS, deployDialog("s3", true))
	r.deliver(t, "cancel (notify_on_cancel)", r.alice, o, submitBody(r.alice, o, nil, true), map[string]any{}, true)
	mustSubmit(t, "submit after cancel", r.alice, submitBody(r.alice, o, map[string]any{"region": "eu", "reason": "later on"}, false), errorAnswer(expiredText))

	o = r.open(t, r.alice, r.aliceWS, deployDialog("s3-quiet", false))
	body := submitBody(r.alice, o, nil, true)
	body["submission"] = map[string]any{"region": "eu"}
	mustSubmit(t, "cancel (no notify_on_cancel)", r.alice, body, `{}`)
	r.botWS.expectNone(t, dialogEvent, 2*time.Second)
	mustSubmit(t, "submit after a quiet cancel", r.alice, submitBody(r.alice, o, map[string]any{"region": "eu", "reason": "later on"}, false), errorAnswer(expiredText))

	// A cancellation that carries values still publishes an empty submission.
	o = r.open(t, r.alice, r.aliceWS, deployDialog("s3-values", true))
	body = submitBody(r.alice, o, nil, true)
	body["submission"] = map[string]any{"region": "eu", "reason": "ignored"}
	r.deliver(t, "cancel with values", r.alice, o, body, map[string]any{}, true)
	r.botWS.expectNone(t, dialogEvent, time.Second)
}

// 4: a session is used once: the same valid submission a second time is
// refused, and concurrent submissions deliver exactly one event.
func TestDialogReplay(t *testing.T) {
	r := newDialogRig(t)
	o := r.open(t, r.alice, r.aliceWS, deployDialog("s4", false))
	values := map[string]any{"region": "eu", "reason": "Replay me", "canary": true}
	body := submitBody(r.alice, o, values, false)
	r.deliver(t, "first", r.alice, o, body, values, false)
	// The session was deleted when used: the second attempt finds none.
	mustSubmit(t, "replay", r.alice, body, errorAnswer(expiredText))
	r.botWS.expectNone(t, dialogEvent, 2*time.Second)

	// Four identical submissions at once: one {} and one event.
	o = r.open(t, r.alice, r.aliceWS, deployDialog("s4-race", false))
	body = submitBody(r.alice, o, values, false)
	const n = 4
	answers := make([]string, n)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, out, err := call(http.MethodPost, dialogSubmitAPI, r.alice.Token, body)
			answers[i] = fmt.Sprintf("%d %s %v", status, out, err)
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, a := range answers {
		switch a {
		case "200 {} <nil>":
			ok++
		case "200 " + errorAnswer(expiredText) + " <nil>", "200 " + errorAnswer(usedText) + " <nil>":
			refused++
		}
	}
	if ok != 1 || refused != n-1 {
		t.Errorf("concurrent submissions answered %q, want one {} and %d refusals", answers, n-1)
	}
	t.Logf("concurrent submissions: %q", answers)
	r.botWS.mustNext(t, dialogEvent, 10*time.Second)
	r.botWS.expectNone(t, dialogEvent, 2*time.Second)
}

// 5: bob cannot submit alice's dialog (whatever user_id he claims); nothing
// is published and alice can still submit.
func TestDialogWrongSubmitter(t *testing.T) {
	r := newDialogRig(t)
	o := r.open(t, r.alice, r.aliceWS, deployDialog("s5", true))
	r.bobWS.expectNone(t, openDialogEv, 500*time.Millisecond)
	values := map[string]any{"region": "us", "reason": "bob wants it"}

	mustSubmit(t, "bob", r.bob, submitBody(r.bob, o, values, false), errorAnswer(wrongSubmitterText))
	// Mattermost overwrites user_id with the signed-in user: claiming to be
	// alice changes nothing.
	mustSubmit(t, "bob claiming alice", r.bob, submitBody(r.alice, o, values, false), errorAnswer(wrongSubmitterText))
	// bob's cancellation is refused as well (it would use the session).
	mustSubmit(t, "bob cancelling", r.bob, submitBody(r.bob, o, nil, true), errorAnswer(wrongSubmitterText))

	// Straight to the plugin (no Mattermost in between): the plugin's own
	// status and error_code.
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		answer map[string]any
	}{
		{"direct, claiming alice", submitBody(r.alice, o, values, false), 403, map[string]any{"error": userMismatchText, "error_code": "user_mismatch"}},
		{"direct", submitBody(r.bob, o, values, false), 403, map[string]any{"error": wrongSubmitterText, "error_code": "wrong_submitter"}},
	} {
		status, out, err := call(http.MethodPost, o.URL, r.bob.Token, tc.body)
		if err != nil || status != tc.status || !reflect.DeepEqual(jsonObject(out), tc.answer) {
			t.Errorf("%s: HTTP %d %v %s, want %d %s", tc.name, status, err, out, tc.status, mustJSON(tc.answer))
		}
	}
	expectNoneAll(t, dialogEvent, 2*time.Second, r.botWS, r.bobWS)

	r.deliver(t, "alice after bob", r.alice, o, submitBody(r.alice, o, map[string]any{"region": "eu", "reason": "alice decides"}, false),
		map[string]any{"region": "eu", "reason": "alice decides"}, false)
}

// setOutgoingTimeout sets ServiceSettings.OutgoingIntegrationRequestsTimeout
// (the trigger id's lifetime, in seconds) and returns the previous value.
func setOutgoingTimeout(t *testing.T, seconds int64) int64 {
	t.Helper()
	ctx := context.Background()
	cfg, _, err := env.Admin.Client.GetConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old := *cfg.ServiceSettings.OutgoingIntegrationRequestsTimeout
	cfg.ServiceSettings.OutgoingIntegrationRequestsTimeout = model.NewPointer(seconds)
	if _, _, err := env.Admin.Client.UpdateConfig(ctx, cfg); err != nil {
		t.Fatalf("PUT /api/v4/config OutgoingIntegrationRequestsTimeout=%d: %v", seconds, err)
	}
	return old
}

// 6: trigger ids the plugin or Mattermost refuses: expired, made up, forged.
func TestDialogTriggerRefusals(t *testing.T) {
	r := newDialogRig(t)
	def := deployDialog("s6", false)

	t.Run("expired", func(t *testing.T) {
		old := setOutgoingTimeout(t, 1)
		t.Cleanup(func() { setOutgoingTimeout(t, old) })
		trig, _ := r.trigger(t, r.alice)
		time.Sleep(2 * time.Second)
		status, body := openDialog(t, r.bot.Token, trig, def)
		checkOpenError(t, "expired trigger", status, body, http.StatusGone, "trigger_expired",
			"The dialog was not opened: its trigger id has expired. Open the dialog within a few seconds of the click that issued it.",
			"the trigger id has expired")
	})

	t.Run("made_up", func(t *testing.T) {
		status, body := openDialog(t, r.bot.Token, "not-a-trigger", def)
		checkOpenError(t, "made-up trigger", status, body, http.StatusBadRequest, "invalid_trigger",
			"The dialog was not opened: `trigger_id` must be the trigger id of a click or slash command, as Mattermost sent it.",
			"`trigger_id` is not a trigger id issued by Mattermost")
		status, body = openDialog(t, r.bot.Token, "", def)
		checkOpenError(t, "no trigger", status, body, http.StatusBadRequest, "invalid_trigger",
			"The dialog was not opened: `trigger_id` must be the trigger id of a click or slash command, as Mattermost sent it.", "")
	})

	// The right shape, made up: the plugin did not deliver it, so it opens nothing (Mattermost,
	// which checks the signature, is never asked).
	t.Run("forged_signature", func(t *testing.T) {
		status, body := openDialog(t, r.bot.Token, madeUpTrigger(r.alice.ID()), def)
		checkOpenError(t, "forged trigger", status, body, http.StatusBadRequest, "unknown_trigger",
			"The dialog was not opened: `trigger_id` must come from a click or command this plugin delivered, sent with that event's `proxy.trigger_token` (without it, only the server that delivered the event knows the trigger, for a minute), and opens one dialog only.",
			"the trigger id was not delivered by this plugin (or its trigger_token does not match it), or it was used already")
	})

	// Without a signed-in user (no token) nothing is opened either.
	status, body := openDialog(t, "", "not-a-trigger", def)
	if errObj, _ := body["error"].(map[string]any); status != http.StatusUnauthorized || errObj["code"] != "not_authenticated" {
		t.Errorf("no token: HTTP %d %s, want 401 not_authenticated", status, mustJSON(body))
	}
	r.aliceWS.expectNone(t, openDialogEv, time.Second)
}

// 7: a definition Mattermost would refuse or only warn about is refused with
// every problem listed, and nothing opens; the same trigger then opens a valid
// one. Mattermost's own open API, given the same definition, opens it.
func TestDialogInvalidDefinition(t *testing.T) {
	r := newDialogRig(t)
	trig, _ := r.trigger(t, r.alice)
	bad := map[string]any{
		"callback_id": "bad", "title": "A title far too long for Mattermost",
		"elements": []any{
			map[string]any{"display_name": "Region", "name": "region", "type": "select"},
			map[string]any{"display_name": "Reason", "name": "reason", "type": "textarea", "min_length": 10, "max_length": 5},
			map[string]any{"display_name": "Again", "name": "reason", "type": "text", "subtype": "color"},
			map[string]any{"display_name": "When", "name": "when", "type": "calendar"},
		},
	}
	problems := []string{
		"`title` must be 1 to 24 bytes long (got \"A title far too long for Mattermost\")",
		"`elements[0]` (\"region\"): a select needs `options` or a `data_source`",
		"`elements[1]` (\"reason\"): `min_length` (10) is more than `max_length` (5); set `max_length` too",
		"`elements[2]` (\"reason\"): the name is used by another element",
		"`elements[2]` (\"reason\"): `subtype` \"color\" is not one of text, email, number, tel, url, password",
		"`elements[3]` (\"when\"): `type` \"calendar\" is not one of text, textarea, select, radio, bool, date, datetime",
	}
	message := "the dialog is not valid: " + strings.Join(problems, "; ")
	status, body := openDialog(t, r.bot.Token, trig, bad)
	checkOpenError(t, "invalid dialog", status, body, http.StatusBadRequest, "invalid_dialog", "The dialog was not opened: "+message+".", message)

	status, body = openDialog(t, r.bot.Token, trig, nil)
	checkOpenError(t, "no dialog", status, body, http.StatusBadRequest, "invalid_dialog",
		"The dialog was not opened: the dialog is not valid: `dialog` is missing.", "the dialog is not valid: `dialog` is missing")
	r.aliceWS.expectNone(t, openDialogEv, 1500*time.Millisecond)

	// The refusal did not use the trigger: it opens a valid dialog.
	status, body = openDialog(t, r.bot.Token, trig, deployDialog("s7", false))
	if status != http.StatusOK {
		t.Errorf("valid dialog with the same trigger: HTTP %d %s", status, mustJSON(body))
	}
	r.aliceWS.mustNext(t, openDialogEv, 10*time.Second)

	// Mattermost itself only logs a warning about the same definition and
	// opens it (POST /api/v4/actions/dialogs/open, the bot's own URL).
	trig, _ = r.trigger(t, r.alice)
	mmStatus, out, err := call(http.MethodPost, "/api/v4/actions/dialogs/open", r.bot.Token,
		map[string]any{"trigger_id": trig, "url": "http://bot.invalid/submit", "dialog": bad})
	if err != nil {
		t.Fatal(err)
	}
	ev, evErr := r.aliceWS.next(openDialogEv, 5*time.Second)
	t.Logf("Mattermost's own open API with the invalid definition: HTTP %d %s; open_dialog to alice: %v", mmStatus, out, evErr == nil)
	if mmStatus != http.StatusOK || evErr != nil {
		t.Errorf("Mattermost's own open API: HTTP %d %s, open_dialog %v; FINDINGS.md says it opens invalid dialogs", mmStatus, out, evErr)
	} else if s, _ := ev.GetData()["dialog"].(string); !strings.Contains(s, "A title far too long for Mattermost") {
		t.Errorf("open_dialog %s, want the invalid definition", s)
	}
	// The warning reaches the log file a moment later.
	warned := false
	for deadline := time.Now().Add(10 * time.Second); !warned && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		log := env.ServerLogTail(400)
		i := strings.LastIndex(log, "Interactive dialog is invalid")
		warned = i >= 0 && strings.Contains(log[i:], `invalid dialog title "A title far too long for Mattermost"`)
	}
	if !warned {
		t.Errorf("no \"Interactive dialog is invalid\" warning naming the title in the server log")
	}
}

// psql runs one SQL statement in the e2e database (trust auth as postgres on
// loopback, as scripts/pg.sh does) and returns its unaligned output.
func psql(t *testing.T, sql string) string {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	if len(bins) == 0 {
		t.Skip("psql not found")
	}
	sort.Strings(bins)
	port, db := os.Getenv("E2E_PG_PORT"), os.Getenv("E2E_PG_DB")
	if port == "" {
		port = "55432"
	}
	if db == "" {
		db = "mattermost"
	}
	out, err := exec.Command(bins[len(bins)-1], "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", db,
		"-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v: %s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

// sessionRow is the KV row of a session: its ExpireAt and value.
func sessionRow(t *testing.T, sessionID string) (int64, map[string]any) {
	t.Helper()
	out := psql(t, "SELECT expireat || ' ' || convert_from(pvalue, 'UTF8') FROM pluginkeyvaluestore WHERE pluginid = '"+
		pluginID+"' AND pkey = 'dialog_"+sessionID+"'")
	at, value, ok := strings.Cut(out, " ")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil {
		t.Fatalf("KV row of session %s: %q", sessionID, out)
	}
	return n, jsonObject([]byte(value))
}

// 8: sessions that do not exist or have expired are refused with the
// "expired or was already submitted" words; the lifetime setting is honoured.
func TestDialogExpiredSession(t *testing.T) {
	r := newDialogRig(t)
	values := map[string]any{"region": "eu", "reason": "Too late now"}

	t.Run("made_up", func(t *testing.T) {
		o := &opened{URL: dialogPathPrefix + model.NewId() + "/submit"}
		o.Request.Dialog = model.Dialog{CallbackId: "deploy-42", State: "s8"}
		mustSubmit(t, "made-up session", r.alice, submitBody(r.alice, o, values, false), errorAnswer(expiredText))
		status, out, _ := call(http.MethodPost, o.URL, r.alice.Token, submitBody(r.alice, o, values, false))
		if want := map[string]any{"error": expiredText, "error_code": "dialog_expired"}; status != http.StatusGone || !reflect.DeepEqual(jsonObject(out), want) {
			t.Errorf("made-up session, straight to the plugin: HTTP %d %s, want 410 %s", status, out, mustJSON(want))
		}
		// A session path that is not an id is no route at all. Today the
		// plugin answers with its generic error body, which is not a
		// SubmitDialogResponse, so Mattermost answers 500 (FINDINGS.md,
		// "Plugin issues (dialogs)"); a form-shaped refusal would be 200
		// {"error": text}. Either way nothing is accepted.
		o.URL = dialogPathPrefix + "nope/submit"
		status, got := submit(t, r.alice, submitBody(r.alice, o, values, false))
		t.Logf("submission to %s: HTTP %d %s", o.URL, status, got)
		known := status == http.StatusInternalServerError && jsonObject([]byte(got))["id"] == "app.submit_interactive_dialog.decode_json_error"
		if text, _ := jsonObject([]byte(got))["error"].(string); !known && (status != http.StatusOK || text == "") {
			t.Errorf("submission to a path that is not a session: HTTP %d %s, want a refusal", status, got)
		}
	})

	t.Run("lifetime_setting", func(t *testing.T) {
		saved := pluginSection(t)
		t.Cleanup(func() { setPluginSection(t, saved) })
		section := map[string]any{}
		for k, v := range saved {
			section[k] = v
		}
		section["dialogsessionminutes"] = 2
		setPluginSection(t, section)
		before := time.Now().UnixMilli()
		o := r.open(t, r.alice, r.aliceWS, deployDialog("s8", false)) // checks expires_at = now + 2 min
		after := time.Now().UnixMilli()
		expireAt, stored := sessionRow(t, o.SessionID)
		if lo, hi := before+120000, after+120000; expireAt < lo || expireAt > hi {
			t.Errorf("KV ExpireAt %d outside [%d, %d]: the TTL is not the 2-minute lifetime", expireAt, lo, hi)
		}
		if stored["recipient"] != r.bot.ID() || stored["user_id"] != r.alice.ID() || stored["expires_at"] != float64(o.ExpiresAt) {
			t.Errorf("stored session %s, want recipient actionbot, user_id alice, expires_at %d", mustJSON(stored), o.ExpiresAt)
		}
	})

	// The KV TTL passed (ExpireAt moved into the past, as time would):
	// Mattermost no longer returns the session.
	t.Run("kv_ttl", func(t *testing.T) {
		o := r.open(t, r.alice, r.aliceWS, deployDialog("s8-ttl", false))
		psql(t, "UPDATE pluginkeyvaluestore SET expireat = "+strconv.FormatInt(time.Now().UnixMilli()-1000, 10)+
			" WHERE pluginid = '"+pluginID+"' AND pkey = 'dialog_"+o.SessionID+"'")
		mustSubmit(t, "after the TTL", r.alice, submitBody(r.alice, o, values, false), errorAnswer(expiredText))
	})

	// The session's own expires_at passed while the KV entry is still there
	// (the core's check, independent of the store's TTL).
	t.Run("expires_at", func(t *testing.T) {
		o := r.open(t, r.alice, r.aliceWS, deployDialog("s8-at", false))
		psql(t, "UPDATE pluginkeyvaluestore SET pvalue = convert_to(regexp_replace(convert_from(pvalue, 'UTF8'), "+
			"'\"expires_at\":[0-9]+', '\"expires_at\":"+strconv.FormatInt(time.Now().UnixMilli()-1000, 10)+"'), 'UTF8')"+
			" WHERE pluginid = '"+pluginID+"' AND pkey = 'dialog_"+o.SessionID+"'")
		mustSubmit(t, "after expires_at", r.alice, submitBody(r.alice, o, values, false), errorAnswer(expiredText))
		if _, stored := sessionRow(t, o.SessionID); stored == nil {
			t.Errorf("the expired session's KV entry vanished")
		}
	})
	r.botWS.expectNone(t, dialogEvent, time.Second)
}

// 9: what Mattermost checks itself before the plugin is called; the channel and
// team the submitter names are never the event's: the dialog's own are.
func TestDialogSubmitChecks(t *testing.T) {
	r := newDialogRig(t)
	ctx := context.Background()
	o := r.open(t, r.alice, r.aliceWS, deployDialog("s9", false))
	values := map[string]any{"region": "eu", "reason": "Checks first"}
	private, _, err := env.Admin.Client.CreateChannel(ctx, &model.Channel{
		TeamId: env.Team.Id, Name: "e2e-dialog-private", DisplayName: "dialog private", Type: model.ChannelTypePrivate,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		edit   func(map[string]any)
		status int
		id     string
	}{
		{"no url", func(b map[string]any) { delete(b, "url") }, 400, "api.context.invalid_body_param.app_error"},
		{"no team_id", func(b map[string]any) { b["team_id"] = "" }, 403, "api.context.permissions.app_error"},
		{"unreadable channel", func(b map[string]any) { b["channel_id"] = private.Id }, 403, "api.context.permissions.app_error"},
		{"no channel_id", func(b map[string]any) { b["channel_id"] = "" }, 404, "app.channel.get.existing.app_error"},
	} {
		body := submitBody(r.alice, o, values, false)
		tc.edit(body)
		status, out := submit(t, r.alice, body)
		if id, _ := jsonObject([]byte(out))["id"].(string); status != tc.status || id != tc.id {
			t.Errorf("%s: HTTP %d %s, want %d %s", tc.name, status, out, tc.status, tc.id)
		}
	}
	r.botWS.expectNone(t, dialogEvent, time.Second)

	// The session was not touched. A submission naming another channel alice can read (town
	// square) is delivered with the channel the dialog was opened in.
	townSquare, _, err := env.Admin.Client.GetChannelByName(ctx, model.DefaultChannelName, env.Team.Id, "")
	if err != nil {
		t.Fatal(err)
	}
	body := submitBody(r.alice, o, values, false)
	body["channel_id"] = townSquare.Id
	sent := time.Now()
	mustSubmit(t, "another readable channel", r.alice, body, `{}`)
	ev := r.botWS.mustNext(t, dialogEvent, 10*time.Second)
	checkSubmission(t, "another readable channel", ev, wantSubmission(o, r.alice, values, false), r.bot, sent, time.Now())
}

// A users select's choice must be an active user and a channels select's a channel the
// submitter can read, as for a message menu (SPEC §7): a submission made by hand choosing a
// made-up user, a deactivated one or a private channel alice is not in is answered with field
// errors, the same words for each; the session survives, and real choices are delivered.
func TestDialogUsersAndChannelsChoicesAreChecked(t *testing.T) {
	r := newDialogRig(t)
	ctx := context.Background()
	def := deployDialog("s10", false)
	def["elements"] = append(def["elements"].([]any),
		map[string]any{"display_name": "Owner", "name": "owner", "type": "select", "data_source": "users"},
		map[string]any{"display_name": "Post to", "name": "where", "type": "select", "data_source": "channels"},
	)
	o := r.open(t, r.alice, r.aliceWS, def)
	private, _, err := env.Admin.Client.CreateChannel(ctx, &model.Channel{
		TeamId: env.Team.Id, Name: "e2e-choice-" + strings.ToLower(model.NewId()[:8]), DisplayName: "choice private", Type: model.ChannelTypePrivate,
	})
	if err != nil {
		t.Fatal(err)
	}
	gone, _, err := env.Admin.Client.CreateUser(ctx, &model.User{
		Username: "gone" + strings.ToLower(model.NewId()[:8]), Email: model.NewId()[:10] + "@example.com", Password: "Passw0rd!Passw0rd",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Admin.Client.UpdateUserActive(ctx, gone.Id, false); err != nil {
		t.Fatal(err)
	}
	values := func(owner, where string) map[string]any {
		return map[string]any{"region": "eu", "reason": "Choices first", "owner": owner, "where": where}
	}
	refused := mustJSON(map[string]any{"errors": map[string]string{"owner": "Choose from the list.", "where": "Choose from the list."}})
	mustSubmit(t, "a made-up user, a private channel", r.alice, submitBody(r.alice, o, values(model.NewId(), private.Id), false), refused)
	mustSubmit(t, "a deactivated user, a made-up channel", r.alice, submitBody(r.alice, o, values(gone.Id, model.NewId()), false), refused)
	r.botWS.expectNone(t, dialogEvent, time.Second)

	r.deliver(t, "real choices", r.alice, o, submitBody(r.alice, o, values(r.bob.ID(), env.Channel.Id), false),
		values(r.bob.ID(), env.Channel.Id), false)
}
