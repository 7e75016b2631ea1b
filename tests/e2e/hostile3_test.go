package e2e_test

// Hostile users, second round (issue 18, items 1 to 3), on the real server: what delivery let
// an attacker do with an ordinary user's token and a bot of their own. And what the answer-
// speed changes (issue 20) promise a bot: a replay says why it comes and until when its
// trigger opens a dialog, and a dialog opens with the event's trigger_token.

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"e2e/harness"
)

// withPluginSettings saves the plugin's settings with changes for the test, and puts the saved
// ones back after it.
func withPluginSettings(t *testing.T, changes map[string]any) {
	t.Helper()
	saved := pluginSection(t)
	section := map[string]any{}
	for k, v := range saved {
		section[k] = v
	}
	for k, v := range changes {
		section[k] = v
	}
	setPluginSection(t, section)
	t.Cleanup(func() { setPluginSection(t, saved) })
}

// 1: with provenance checks off, a user posts straight to the handler a click naming someone
// else's post, for a bot of their own; the bot, offline, gets it kept and acknowledges with an
// update. The update is refused and the post stays as its author wrote it: an answer changes
// only the bot's own post, whatever the settings.
func TestHostileALateAnswerRewritesOnlyTheBotsOwnPost(t *testing.T) {
	requirePlugin(t)
	withPluginSettings(t, map[string]any{"verifyprovenance": false})
	thief, alice, bob := newDeliveryBot(t, "rewriter"), env.Users[0], env.Users[1]
	victim := createPost(t, bob, "", "Bob's words")
	thiefWS := openSocket(t, thief)
	thiefWS.subscribe(t)
	thiefWS.ws.Close()
	waitStatus(t, thief, 0, 0)

	body := forgedBody(alice, victim.Id, env.Channel.Id, map[string]any{"user_id": thief.ID()})
	status, out, err := call(http.MethodPost, "/plugins/"+pluginID+"/api/v1/handler", alice.Token, body)
	if err != nil || status != http.StatusOK || !strings.Contains(string(out), "offline") {
		t.Fatalf("the made-up click: HTTP %d %s %v, want 200 with the offline notice (kept)", status, out, err)
	}
	back := openSocket(t, thief)
	back.subscribe(t)
	d := back.nextAction(t, 10*time.Second)
	back.ack(d.EventID, map[string]any{"update": map[string]any{"message": "rewritten"}})
	if code, msg := back.socketError(t); code != "bad_answer" || !strings.Contains(msg, "own post") {
		t.Errorf("the late update of bob's post: error %q (%s), want bad_answer naming the bot's own post", code, msg)
	}
	if got := waitPostMessage(t, bob, victim.Id, "Bob's words"); got.Message != "Bob's words" {
		t.Errorf("bob's post reads %q", got.Message)
	}
	// Refused before the event was claimed: an answer that can apply is still taken.
	back.ack(d.EventID, map[string]any{"ephemeral_text": "Only this."})
	if got := back.ackResult(t, d.EventID); got != "applied_late" {
		t.Errorf("a valid answer after the refused one: %q, want applied_late", got)
	}
}

// 2: past KeptPerBot the oldest kept events are dropped for good: their records go with them,
// so the bot cannot acknowledge one and have its update applied, and the store does not grow
// with them.
func TestHostileDroppedKeptEventsAreGone(t *testing.T) {
	requirePlugin(t)
	withPluginSettings(t, map[string]any{"keptperbot": 1, "answerwindowms": 0})
	bot, alice := newDeliveryBot(t, "dropper"), env.Users[0]
	post := createPost(t, bot, "", "Keep one", button("go", "Go", map[string]any{"user_id": bot.ID()}))
	botWS := openSocket(t, bot)
	botWS.subscribe(t)
	var sent []delivered
	for range 3 {
		mustClick(t, alice, post.Id, "go", "")
		sent = append(sent, botWS.nextAction(t, 10*time.Second)) // a window of 0: sent and kept
	}
	st := botStatus(t, bot)
	if st["kept"] != float64(1) || st["dropped"] != float64(2) {
		t.Errorf("status %s, want 1 kept and 2 dropped", mustJSON(st))
	}
	for _, d := range sent[:2] {
		if rows := psql(t, "SELECT count(*) FROM pluginkeyvaluestore WHERE pluginid = '"+pluginID+"' AND pkey = 'ev_"+d.EventID+"'"); strings.TrimSpace(rows) != "0" {
			t.Errorf("the dropped event %s is still stored (%s rows)", d.EventID, rows)
		}
		botWS.ack(d.EventID, map[string]any{"update": map[string]any{"message": "from a dropped event"}})
		if code, _ := botWS.socketError(t); code != "unknown_event" {
			t.Errorf("acknowledging the dropped %s: %q, want unknown_event", d.EventID, code)
		}
	}
	botWS.ack(sent[2].EventID, map[string]any{"update": map[string]any{"message": "from the kept one"}})
	if got := botWS.ackResult(t, sent[2].EventID); got != "applied_late" {
		t.Errorf("the kept event's ack: %q, want applied_late", got)
	}
	waitPostMessage(t, alice, post.Id, "from the kept one")
}

// 3: a flood of concurrent clicks for one offline bot, from many users, loses nothing: every
// click that is told it is kept reaches the bot when it is back, exactly once, and none fails
// for the store's sake. One user's own flood is bounded by their quota (a tenth of what the
// bot keeps): past it their clicks are refused, and nobody else's is pushed out.
func TestHostileClickFloodOnAnOfflineBotLosesNothing(t *testing.T) {
	requirePlugin(t)
	withPluginSettings(t, map[string]any{"keptperbot": 400}) // a person may have 40 kept
	bot := newDeliveryBot(t, "flooded")
	post := createPost(t, bot, "", "Flood", numberedMenu(bot, 1))
	botWS := openSocket(t, bot)
	botWS.subscribe(t)
	botWS.ws.Close()
	waitStatus(t, bot, 0, 0)

	users := append([]*harness.Account{env.Users[0], env.Users[1]}, createLoadUsersOnce(t)...)
	const clicks, clickers = 216, 36 // 6 clickers a person, 6 clicks each: 36 a person, within a quota of 40
	// Mattermost answers a click 200 when the plugin did (the click is kept: the clicker reads
	// the offline notice), and with an error when the plugin failed (a store that gave up).
	var kept, failed atomic.Int64
	var wg sync.WaitGroup
	for i := range clickers {
		wg.Add(1)
		go func(u *harness.Account) {
			defer wg.Done()
			for range clicks / clickers {
				r, err := click(u, post.Id, "pick", "0")
				if err != nil || r.Status != http.StatusOK {
					failed.Add(1)
					continue
				}
				kept.Add(1)
			}
		}(users[i%len(users)])
	}
	wg.Wait()
	if failed.Load() != 0 || kept.Load() != clicks {
		t.Fatalf("%d concurrent clicks for an offline bot: %d kept, %d failed; want all kept", clicks, kept.Load(), failed.Load())
	}

	// One person floods: up to their quota kept, the rest refused in words; the others' stay.
	alice := env.Users[0]
	aliceWS := openSocket(t, alice)
	before := kept.Load()
	var aliceKept, aliceRefused int
	for range 60 {
		r, err := click(alice, post.Id, "pick", "0")
		if err != nil {
			t.Fatal(err)
		}
		// Mattermost shows the plugin's words either way (and answers the click 200).
		said := aliceWS.ephemeralPost(t, 10*time.Second).Message
		switch {
		case said == offlineNotice:
			aliceKept++
		case strings.Contains(said, "already holds 40 of your requests"):
			aliceRefused++
		default:
			t.Fatalf("alice's click: HTTP %d, she read %q", r.Status, said)
		}
	}
	// The flood kept 36 of hers: 4 more fit her quota of 40.
	if aliceKept != 4 || aliceRefused != 56 {
		t.Errorf("alice's own flood: %d kept, %d refused, want 4 and 56", aliceKept, aliceRefused)
	}
	want := int(before) + aliceKept

	back := openSocket(t, bot)
	if sub := back.subscribe(t); sub["kept"] != float64(want) {
		t.Errorf("subscribed: kept %v, want %d", sub["kept"], want)
	}
	seen := map[string]int{}
	for range want {
		d := back.nextAction(t, 20*time.Second)
		seen[d.EventID]++
		back.ackQuiet(d.EventID, nil)
	}
	back.expectNone(t, actionEvent, 500*time.Millisecond)
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if len(seen) != want {
		t.Errorf("%d distinct events replayed, want %d", len(seen), want)
	}
	waitStatus(t, bot, 1, 0)
}

// Issue 20: a replayed click says why it comes again and until when its trigger opens a dialog;
// a dialog opened with the event's trigger_token (as the libraries do) binds to the click's
// channel without the plugin having written anything for the trigger.
func TestReplayedEventsSayWhyAndTriggerTokensOpenDialogs(t *testing.T) {
	requirePlugin(t)
	bot, alice := newDeliveryBot(t, "why"), env.Users[0]
	post := createPost(t, bot, "", "Why", button("go", "Go", map[string]any{"user_id": bot.ID()}))
	botWS := openSocket(t, bot)
	botWS.subscribe(t)
	botWS.ws.Close()
	waitStatus(t, bot, 0, 0)
	triggers := psql(t, "SELECT count(*) FROM pluginkeyvaluestore WHERE pluginid = '"+pluginID+"' AND pkey LIKE 'trigger%'")
	aliceWS := openSocket(t, alice)
	mustClick(t, alice, post.Id, "go", "")
	if said := aliceWS.ephemeralPost(t, 10*time.Second).Message; said != offlineNotice {
		t.Fatalf("alice read %q, want the offline notice", said)
	}
	if after := psql(t, "SELECT count(*) FROM pluginkeyvaluestore WHERE pluginid = '"+pluginID+"' AND pkey LIKE 'trigger%'"); after != triggers {
		t.Errorf("the click wrote a trigger record (%s rows, %s before)", after, triggers)
	}
	back := openSocket(t, bot)
	back.subscribe(t)
	d := back.nextAction(t, 10*time.Second)
	proxy, _ := d.Data["proxy"].(map[string]any)
	delivery, _ := proxy["delivery"].(map[string]any)
	if delivery["reason"] != "offline" {
		t.Errorf("proxy.delivery.reason = %v, want offline", delivery["reason"])
	}
	expires, _ := proxy["trigger_expires_at"].(float64)
	if int64(expires) < d.FirstSentAt || int64(expires) > d.FirstSentAt+31_000 {
		t.Errorf("proxy.trigger_expires_at = %v, want the click's time plus Mattermost's 30 s (first sent %d)", expires, d.FirstSentAt)
	}
	token, _ := proxy["trigger_token"].(string)
	if token == "" {
		t.Fatal("no proxy.trigger_token")
	}
	back.ackQuiet(d.EventID, nil)

	// A fresh click, and its dialog opened with the token.
	live := openSocket(t, bot)
	live.subscribe(t)
	pending := clickAsync(alice, post.Id, "go", "")
	e := live.nextAction(t, 10*time.Second)
	eproxy, _ := e.Data["proxy"].(map[string]any)
	trig, _ := e.Data["trigger_id"].(string)
	dialog := map[string]any{"callback_id": "why", "title": "Why", "elements": []any{map[string]any{"display_name": "Reason", "name": "reason", "type": "text"}}}
	status, out, err := call(http.MethodPost, dialogOpenPath, bot.Token, map[string]any{"trigger_id": trig, "trigger_token": eproxy["trigger_token"], "dialog": dialog})
	if err != nil || status != http.StatusOK {
		t.Errorf("dialogs/open with the trigger token: HTTP %d %s %v", status, out, err)
	}
	// The same token with another trigger, or handed to another bot, opens nothing.
	other := newDeliveryBot(t, "whyother")
	status, out, _ = call(http.MethodPost, dialogOpenPath, other.Token, map[string]any{"trigger_id": trig, "trigger_token": eproxy["trigger_token"], "dialog": dialog})
	if status != http.StatusBadRequest || !strings.Contains(string(out), "unknown_trigger") {
		t.Errorf("another bot with the token: HTTP %d %s, want 400 unknown_trigger", status, out)
	}
	live.ackQuiet(e.EventID, nil)
	clickDone(t, pending)
}
