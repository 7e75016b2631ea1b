package e2e_test

// Dialogs answered by the bot (SPEC §11) on the real server, with the Go client: a subscribed
// bot's field errors and error shown to the submitter (read back from the submit API's answer,
// which is what the webapp shows), a two-step dialog, a dynamic select answering a typed query
// through Mattermost's own lookup API, and a refresh.

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"e2e/harness"
)

var (
	dialogLookupEvent  = "custom_" + pluginID + "_dialog_lookup"
	dialogRefreshEvent = "custom_" + pluginID + "_dialog_refresh"
	dialogLookupAPI    = "/api/v4/actions/dialogs/lookup"
)

// answerRig is a subscribed bot of the test's own, alice, and a post with a button that gives
// the bot a trigger to open dialogs with.
type answerRig struct {
	bot            *harness.Account
	botWS, aliceWS *socket
	postID         string
}

func newAnswerRig(t *testing.T, prefix string) *answerRig {
	t.Helper()
	requirePlugin(t)
	bot := newDeliveryBot(t, prefix)
	r := &answerRig{bot: bot, botWS: openSocket(t, bot), aliceWS: openSocket(t, env.Users[0])}
	r.botWS.subscribe(t)
	r.postID = createPost(t, bot, "", "Deploy?", button("deploy", "Deploy", map[string]any{"user_id": bot.ID()})).Id
	return r
}

// open has alice click, the bot open def with the click's trigger and ack the click; it
// returns the dialog as alice's open_dialog event shows it.
func (r *answerRig) open(t *testing.T, def map[string]any) *opened {
	t.Helper()
	pending := clickAsync(env.Users[0], r.postID, "deploy", "")
	d := r.botWS.nextAction(t, 10*time.Second)
	trig, _ := d.Data["trigger_id"].(string)
	status, body := openDialog(t, r.bot.Token, trig, def)
	if status != http.StatusOK {
		t.Fatalf("dialogs/open: HTTP %d %s", status, mustJSON(body))
	}
	r.botWS.ack(d.EventID, nil)
	clickDone(t, pending)
	ev := r.aliceWS.mustNext(t, openDialogEv, 10*time.Second)
	o := &opened{Def: def}
	o.SessionID, _ = body["session_id"].(string)
	o.Raw, _ = ev.GetData()["dialog"].(string)
	if err := json.Unmarshal([]byte(o.Raw), &o.Request); err != nil {
		t.Fatal(err)
	}
	o.URL = o.Request.URL
	return o
}

// submitAnswered submits values as alice while the bot answers the submission with answer;
// it returns the submit API's answer (what the webapp shows) and the event the bot received.
func (r *answerRig) submitAnswered(t *testing.T, o *opened, values map[string]any, answer map[string]any) (map[string]any, delivered) {
	t.Helper()
	type result struct {
		status int
		body   string
	}
	done := make(chan result, 1)
	go func() {
		status, out, err := call(http.MethodPost, dialogSubmitAPI, env.Users[0].Token, submitBody(env.Users[0], o, values, false))
		if err != nil {
			out = []byte(err.Error())
		}
		done <- result{status, string(out)}
	}()
	d := deliveryOf(t, r.botWS.mustNext(t, dialogEvent, 10*time.Second))
	r.botWS.ack(d.EventID, answer)
	res := <-done
	if res.status != http.StatusOK {
		t.Fatalf("submit: HTTP %d %s", res.status, res.body)
	}
	if got := r.botWS.ackResult(t, d.EventID); got != "applied" {
		t.Errorf("ack_result %q, want applied (the submitter waited)", got)
	}
	out := map[string]any{}
	if err := json.Unmarshal([]byte(res.body), &out); err != nil {
		t.Fatalf("submit answered %q: %v", res.body, err)
	}
	return out, d
}

func TestAnswerDialogFieldErrors(t *testing.T) {
	r := newAnswerRig(t, "verr")
	o := r.open(t, deployDialog("s1", false))
	values := map[string]any{"region": "eu", "reason": "because I can"}

	// The bot's own rule: a reason must name a ticket.
	got, d := r.submitAnswered(t, o, values, map[string]any{"errors": map[string]any{"reason": "Name the ticket this fixes (like OPS-12)."}})
	if d.WindowMs <= 0 {
		t.Errorf("submission delivered with answer_within_ms %d, want the answer window (the submitter waits)", d.WindowMs)
	}
	want := map[string]any{"errors": map[string]any{"reason": "Name the ticket this fixes (like OPS-12)."}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("submit API answered %s, want the bot's field errors %s", mustJSON(got), mustJSON(want))
	}

	// The dialog stays open: the same session takes the corrected submission.
	values["reason"] = "OPS-12 login fix"
	got, _ = r.submitAnswered(t, o, values, map[string]any{"error": "Deploys are frozen until Monday."})
	if want := map[string]any{"error": "Deploys are frozen until Monday."}; !reflect.DeepEqual(got, want) {
		t.Errorf("submit API answered %s, want the bot's error %s", mustJSON(got), mustJSON(want))
	}
	got, _ = r.submitAnswered(t, o, values, map[string]any{})
	if len(got) != 0 {
		t.Errorf("submit API answered %s, want {} (the dialog closes)", mustJSON(got))
	}
	// Closed: the session is used up.
	status, out := submit(t, env.Users[0], submitBody(env.Users[0], o, values, false))
	if status != http.StatusOK || !strings.Contains(out, "already") {
		t.Errorf("a fourth submission answered HTTP %d %s, want the form's refusal (already submitted)", status, out)
	}

	// An answer Mattermost could not show is refused to the bot, which is told why.
	o = r.open(t, deployDialog("s2", false))
	pending := make(chan string, 1)
	go func() {
		_, out := submit(t, env.Users[0], submitBody(env.Users[0], o, values, false))
		pending <- out
	}()
	d = deliveryOf(t, r.botWS.mustNext(t, dialogEvent, 10*time.Second))
	r.botWS.ack(d.EventID, map[string]any{"errors": []any{"not", "a", "map"}})
	if code, msg := r.botWS.socketError(t); code != "bad_answer" || !strings.Contains(msg, "errors") {
		t.Errorf("bad answer: error %s %q, want bad_answer naming `errors`", code, msg)
	}
	r.botWS.ack(d.EventID, map[string]any{"errors": map[string]any{"region": "Not this week."}})
	if got := <-pending; !strings.Contains(got, "Not this week.") {
		t.Errorf("submit API answered %s, want the corrected answer", got)
	}
}

func TestAnswerDialogTwoSteps(t *testing.T) {
	r := newAnswerRig(t, "steps")
	o := r.open(t, deployDialog("step1", false))
	next := map[string]any{
		"callback_id": "deploy-step2", "title": "Deploy: approver", "state": "step2",
		"elements": []any{
			map[string]any{"display_name": "Approver", "name": "approver", "type": "select", "data_source": "dynamic"},
			map[string]any{"display_name": "Note", "name": "note", "type": "text", "optional": true, "max_length": 20},
		},
	}
	got, _ := r.submitAnswered(t, o, map[string]any{"region": "eu", "reason": "OPS-1 fix"}, map[string]any{"type": "form", "form": next})
	form, _ := got["form"].(map[string]any)
	if got["type"] != "form" || form["callback_id"] != "deploy-step2" {
		t.Fatalf("submit API answered %s, want the next form", mustJSON(got))
	}
	els, _ := form["elements"].([]any)
	approver, _ := els[0].(map[string]any)
	lookupURL, _ := approver["data_source_url"].(string)
	if want := dialogPathPrefix + o.SessionID + "/lookup"; lookupURL != want {
		t.Errorf("the next form's dynamic select points at %q, want the session's lookup %q", lookupURL, want)
	}

	// The dynamic select: Mattermost's lookup API reaches the bot with the typed query.
	lookup := func(query string) (int, map[string]any) {
		body := map[string]any{"url": lookupURL, "callback_id": "deploy-step2", "state": "step2",
			"user_id": env.Users[0].ID(), "channel_id": env.Channel.Id, "team_id": env.Team.Id,
			"submission": map[string]any{"query": query, "selected_field": "approver", "note": "x"}}
		status, out, err := call(http.MethodPost, dialogLookupAPI, env.Users[0].Token, body)
		if err != nil {
			t.Fatal(err)
		}
		return status, jsonObject(out)
	}
	done := make(chan map[string]any, 1)
	go func() { _, out := lookup("ali"); done <- out }()
	ev := r.botWS.mustNext(t, dialogLookupEvent, 10*time.Second)
	if err := checkSchema(ev); err != nil {
		t.Error(err)
	}
	data := ev.GetData()
	if data["query"] != "ali" || data["selected_field"] != "approver" || data["user_id"] != env.Users[0].ID() || data["callback_id"] != "deploy-step2" {
		t.Errorf("dialog_lookup %s, want alice's query for the approver field", mustJSON(data))
	}
	if sub, _ := data["submission"].(map[string]any); sub["note"] != "x" {
		t.Errorf("dialog_lookup submission %s, want the values so far", mustJSON(data["submission"]))
	}
	ld := deliveryOf(t, ev)
	r.botWS.ack(ld.EventID, map[string]any{"items": []any{map[string]any{"text": "Alice A.", "value": "alice"}, map[string]any{"text": "Alina B.", "value": "alina"}}})
	items := <-done
	if want := []any{map[string]any{"text": "Alice A.", "value": "alice"}, map[string]any{"text": "Alina B.", "value": "alina"}}; !reflect.DeepEqual(items["items"], want) {
		t.Errorf("lookup API answered %s, want the bot's items", mustJSON(items))
	}
	// §7: another person looking up through alice's session gets nothing, and the bot hears
	// nothing of it.
	bob := env.Users[1]
	status, out, err := call(http.MethodPost, dialogLookupAPI, bob.Token, map[string]any{"url": lookupURL, "callback_id": "deploy-step2",
		"state": "step2", "user_id": bob.ID(), "channel_id": env.Channel.Id, "team_id": env.Team.Id,
		"submission": map[string]any{"query": "a", "selected_field": "approver"}})
	if got, _ := jsonObject(out)["items"].([]any); err != nil || status != http.StatusOK || len(got) != 0 {
		t.Errorf("bob's lookup in alice's dialog: HTTP %d %s %v, want no items", status, out, err)
	}
	r.botWS.expectNone(t, dialogLookupEvent, 500*time.Millisecond)

	// A silent bot: an empty list, never an error.
	start := time.Now()
	status, items = lookup("zzz")
	r.botWS.mustNext(t, dialogLookupEvent, 5*time.Second)
	if items["items"] != nil && len(items["items"].([]any)) != 0 || status != http.StatusOK {
		t.Errorf("lookup nobody answered: HTTP %d %s, want 200 and no items", status, mustJSON(items))
	}
	t.Logf("unanswered lookup returned after %v", time.Since(start).Round(time.Millisecond))

	// The second step is checked against the next form and reaches the bot.
	got, d := r.submitAnswered(t, o, map[string]any{"approver": "alice", "note": "ok"}, map[string]any{})
	if len(got) != 0 {
		t.Errorf("second step answered %s, want {}", mustJSON(got))
	}
	if d.Data["callback_id"] != "deploy-step2" || d.Data["state"] != "step2" {
		t.Errorf("second submission %s, want the next form's callback_id and state", mustJSON(d.Data))
	}
	if sub, _ := d.Data["submission"].(map[string]any); sub["approver"] != "alice" {
		t.Errorf("second submission values %s", mustJSON(d.Data["submission"]))
	}
}

func TestAnswerDialogRefresh(t *testing.T) {
	r := newAnswerRig(t, "refresh")
	def := deployDialog("r1", false)
	def["elements"].([]any)[0].(map[string]any)["refresh"] = true
	o := r.open(t, def)
	body := submitBody(env.Users[0], o, map[string]any{"region": "us"}, false)
	body["type"] = "refresh"
	done := make(chan string, 1)
	go func() {
		_, out, err := call(http.MethodPost, dialogSubmitAPI, env.Users[0].Token, body)
		if err != nil {
			out = []byte(err.Error())
		}
		done <- string(out)
	}()
	ev := r.botWS.mustNext(t, dialogRefreshEvent, 10*time.Second)
	if sub, _ := ev.GetData()["submission"].(map[string]any); sub["region"] != "us" {
		t.Errorf("dialog_refresh %s, want the values so far", mustJSON(ev.GetData()))
	}
	redrawn := deployDialog("r1-us", false)
	redrawn["title"] = "Deploy to the Americas"
	r.botWS.ack(deliveryOf(t, ev).EventID, map[string]any{"type": "form", "form": redrawn})
	got := jsonObject([]byte(<-done))
	if form, _ := got["form"].(map[string]any); got["type"] != "form" || form["title"] != "Deploy to the Americas" {
		t.Errorf("refresh answered %s, want the redrawn form", mustJSON(got))
	}
	// Not consumed: the redrawn form is submitted as usual, with its state.
	_, d := r.submitAnswered(t, o, map[string]any{"region": "us", "reason": "OPS-2 rollout"}, map[string]any{})
	if d.Data["state"] != "r1-us" {
		t.Errorf("submission after the refresh has state %v, want the redrawn form's", d.Data["state"])
	}
}
