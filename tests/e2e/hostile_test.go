package e2e_test

// Hostile users (SPEC §7): each finding of the hostile-users review, reproduced through
// Mattermost's own REST API with an ordinary user's token. Before the fix each of these
// crashed the core, delivered something the clicker made up, or told the clicker more than
// they may know; now each is refused with words for the person, and nothing reaches the bot.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

// realClick posts a button as the bot, clicks it as who through the API and returns the post
// and the exact body the bot received: what Mattermost itself sent for a genuine click.
func realClick(t *testing.T, bot, who *harness.Account, botWS *socket, ctx map[string]any) (*model.Post, map[string]any) {
	t.Helper()
	post := createPost(t, bot, "", "Approve the change?", button("ok", "OK", ctx))
	mustClick(t, who, post.Id, "ok", "")
	ev := botWS.mustNext(t, actionEvent, 10*time.Second)
	data := ev.GetData()
	delete(data, "proxy")
	return post, normalize(data).(map[string]any)
}

// privateChannel is a private channel of the e2e team with the bot in it and alice not.
func privateChannel(t *testing.T, name string, bot *harness.Account) *model.Channel {
	t.Helper()
	ctx := context.Background()
	ch, _, err := env.Admin.Client.CreateChannel(ctx, &model.Channel{
		TeamId: env.Team.Id, Name: name + "-" + strings.ToLower(model.NewId()[:6]), DisplayName: name, Type: model.ChannelTypePrivate,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Admin.Client.AddChannelMember(ctx, ch.Id, bot.ID()); err != nil {
		t.Fatal(err)
	}
	return ch
}

func copyBody(body map[string]any) map[string]any {
	var out map[string]any
	_ = json.Unmarshal([]byte(mustJSON(body)), &out)
	return out
}

// Inputs that crashed the core (HTTP 500, instance replaced) are refused with a clear error.
func TestHostileInputsThatCrashedTheCore(t *testing.T) {
	r := newDialogRig(t)
	bot, alice, botWS := r.bot, r.alice, r.botWS

	// A real post's click replayed with `context` as an array.
	_, body := realClick(t, bot, alice, botWS, map[string]any{"user_id": bot.ID(), "n": 1})
	body["context"] = []any{bot.ID()}
	if status, code, text := handlerError(t, alice.Token, body); status != http.StatusBadRequest || code != "invalid_recipient" || text == "" {
		t.Errorf("context as an array: HTTP %d %s %q, want 400 invalid_recipient", status, code, text)
	}

	// A date and a datetime with a character that is not ASCII where digits are expected,
	// through dialogs/open (any user can reach it): the definition is refused, nothing opens.
	for _, el := range []map[string]any{
		{"display_name": "When", "name": "when", "type": "date", "default": "2026-0é-01"},
		{"display_name": "At", "name": "at", "type": "datetime", "time_interval": 30, "default": "2026-01-01T1é:00:00Z"},
	} {
		def := deployDialog("crash", false)
		def["elements"] = append(def["elements"].([]any), el)
		trig, _ := r.trigger(t, r.alice)
		status, resp := openDialog(t, r.bot.Token, trig, def)
		errObj, _ := resp["error"].(map[string]any)
		if status != http.StatusBadRequest || errObj["code"] != "invalid_dialog" || !strings.Contains(mustJSON(errObj["message"]), el["name"].(string)) {
			t.Errorf("%s default %q: HTTP %d %s, want 400 invalid_dialog naming the element", el["type"], el["default"], status, mustJSON(resp))
		}
	}

	// The same datetime, submitted: a field error inside the dialog.
	def := deployDialog("crash-submit", false)
	def["elements"] = append(def["elements"].([]any), map[string]any{"display_name": "At", "name": "at", "type": "datetime", "time_interval": 30})
	o := r.open(t, r.alice, r.aliceWS, def)
	values := map[string]any{"region": "eu", "reason": "Because", "at": "2026-01-01T1é:00:00Z"}
	mustSubmit(t, "datetime not ASCII", r.alice, submitBody(r.alice, o, values, false), `{"errors":{"at":"Enter a date and time."}}`)

	// A lint of a message with as many findings as it can hold: listed up to the limit.
	actions := make([]any, 200)
	for i := range actions {
		actions[i] = map[string]any{"id": "a_" + strings.Repeat("x", i%7), "type": "x",
			"integration": map[string]any{"url": "https://x.example", "context": map[string]any{"user_id": "nobody"}}}
	}
	status, raw, err := call(http.MethodPost, "/plugins/"+pluginID+"/api/v1/lint", bot.Token,
		map[string]any{"props": map[string]any{"attachments": []any{map[string]any{"actions": actions}}}})
	if err != nil {
		t.Fatal(err)
	}
	findings, _ := jsonObject(raw)["findings"].([]any)
	if status != http.StatusOK || len(findings) != 201 {
		t.Fatalf("lint with many findings: HTTP %d, %d findings, want 200 with 200 findings and one that says how many more", status, len(findings))
	}
	if last, _ := findings[200].(map[string]any); last["code"] != "too_many_findings" {
		t.Errorf("the last finding is %s, want too_many_findings", mustJSON(last))
	}
	botWS.expectNone(t, actionEvent, time.Second)
}

// Fields the bot trusts cannot be made up: a body posted straight to the handler that matches a
// real post in everything the post can check is refused when any other field is not
// Mattermost's, and the clicker hears why.
func TestMadeUpFieldsAreRefused(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	bot, alice, bob := env.Bots[0], env.Users[0], env.Users[1]
	botWS := openSocket(t, bot)
	_, genuine := realClick(t, bot, alice, botWS, map[string]any{"user_id": bot.ID(), "order": 7})

	otherTeam, _, err := env.Admin.Client.CreateTeam(ctx, &model.Team{Name: "other-" + strings.ToLower(model.NewId()[:6]), DisplayName: "Other", Type: model.TeamOpen})
	if err != nil {
		t.Fatal(err)
	}
	bobsTrigger := madeUpTrigger(bob.ID())
	for _, tc := range []struct {
		name, field string
		edit        func(map[string]any)
	}{
		{"a made-up user_name", "user_name", func(b map[string]any) { b["user_name"] = "admin" }},
		{"a made-up channel_name", "channel_name", func(b map[string]any) { b["channel_name"] = "announcements" }},
		{"another team's id", "team_id", func(b map[string]any) { b["team_id"] = otherTeam.Id }},
		{"a made-up team_domain", "team_domain", func(b map[string]any) { b["team_domain"] = "evil-corp" }},
		{"a trigger issued to bob", "trigger_id", func(b map[string]any) { b["trigger_id"] = bobsTrigger }},
		{"a selected_option on a button", "context.selected_option", func(b map[string]any) {
			b["context"].(map[string]any)["selected_option"] = "x"
		}},
	} {
		body := copyBody(genuine)
		tc.edit(body)
		status, code, text := handlerError(t, alice.Token, body)
		if status != http.StatusForbidden || code != "field_mismatch" || !strings.Contains(text, "`"+tc.field+"`") {
			t.Errorf("%s: HTTP %d %s %q, want 403 field_mismatch naming `%s`", tc.name, status, code, text, tc.field)
		}
	}
	body := copyBody(genuine)
	body["user"] = map[string]any{"id": bot.ID(), "roles": "system_admin system_user"}
	if status, code, _ := handlerError(t, alice.Token, body); status != http.StatusBadRequest || code != "reserved_field" {
		t.Errorf("a top-level user object: HTTP %d %s, want 400 reserved_field", status, code)
	}
	// The genuine body itself, replayed as is, still goes through: only made-up fields are refused.
	if status, code, _ := handlerError(t, alice.Token, copyBody(genuine)); status != http.StatusOK {
		t.Errorf("the genuine body replayed: HTTP %d %s, want 200", status, code)
	}
	botWS.mustNext(t, actionEvent, 10*time.Second)
	botWS.expectNone(t, actionEvent, time.Second)
}

// Menus: a users menu's choice must be a user, a channels menu's a channel the clicker can
// read, whatever Mattermost's click API lets through.
func TestMenuChoicesAreChecked(t *testing.T) {
	requirePlugin(t)
	bot, alice := env.Bots[0], env.Users[0]
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)
	private := privateChannel(t, "menu-secret", bot)
	menu := func(id, source string) map[string]any {
		return map[string]any{"id": id, "name": id, "type": "select", "data_source": source,
			"integration": map[string]any{"url": handlerPath, "context": map[string]any{"user_id": bot.ID(), "menu": id}}}
	}
	post := createPost(t, bot, "", "Pick", menu("who", "users"), menu("where", "channels"))
	for _, tc := range []struct{ action, choice, what string }{
		{"who", model.NewId(), "user"},
		{"who", "everyone", "user"},
		{"where", private.Id, "channel"},
	} {
		mustClick(t, alice, post.Id, tc.action, tc.choice)
		p := aliceWS.ephemeralPost(t, 10*time.Second)
		if !strings.Contains(p.Message, "not a "+tc.what+" you can choose") {
			t.Errorf("%s menu, choice %q: ephemeral %q, want the invalid_choice words", tc.action, tc.choice, p.Message)
		}
	}
	// Real choices go through.
	mustClick(t, alice, post.Id, "who", env.Users[1].ID())
	botWS.mustNext(t, actionEvent, 10*time.Second)
	mustClick(t, alice, post.Id, "where", env.Channel.Id)
	botWS.mustNext(t, actionEvent, 10*time.Second)
	botWS.expectNone(t, actionEvent, time.Second)
}

// A click in an archived channel is refused: its buttons no longer work.
func TestClicksInArchivedChannelsAreRefused(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	bot, alice := env.Bots[0], env.Users[0]
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)
	ch, _, err := env.Admin.Client.CreateChannel(ctx, &model.Channel{
		TeamId: env.Team.Id, Name: "archived-" + strings.ToLower(model.NewId()[:6]), DisplayName: "to archive", Type: model.ChannelTypeOpen,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, acc := range []*harness.Account{bot, alice} {
		if _, _, err := env.Admin.Client.AddChannelMember(ctx, ch.Id, acc.ID()); err != nil {
			t.Fatal(err)
		}
	}
	post := createPost(t, bot, ch.Id, "old business", button("go", "Go", map[string]any{"user_id": bot.ID()}))
	if _, err := env.Admin.Client.DeleteChannel(ctx, ch.Id); err != nil {
		t.Fatal(err)
	}
	// Nothing was clicked in the channel before: no cached state of it can be older than the archive.
	c, err := click(alice, post.Id, "go", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("click in an archived channel: HTTP %d %s", c.Status, c.Body)
	if p := aliceWS.ephemeralPost(t, 10*time.Second); !strings.Contains(p.Message, "archived") {
		t.Errorf("ephemeral %q, want the channel_archived words", p.Message)
	}
	botWS.expectNone(t, actionEvent, time.Second)
}

// With unverifiable (ephemeral) clicks allowed, a made-up click naming a private channel the
// caller cannot read is still refused; and whatever the setting, a refusal does not tell
// whether a post the caller cannot see exists.
func TestNoChannelTheClickerCannotReadAndNoOracle(t *testing.T) {
	requirePlugin(t)
	bot, alice := env.Bots[0], env.Users[0]
	botWS := openSocket(t, bot)
	private := privateChannel(t, "oracle", bot)
	secret := createPost(t, bot, private.Id, "secret", button("s", "S", map[string]any{"user_id": bot.ID(), "secret": true}))
	ctx := map[string]any{"user_id": bot.ID(), "secret": true}

	saved := pluginSection(t)
	t.Cleanup(func() { setPluginSection(t, saved) })
	for _, allow := range []bool{false, true} {
		setPluginSection(t, map[string]any{"verifyprovenance": true, "allowunverifiedephemeral": allow})
		sReal, cReal, tReal := handlerError(t, alice.Token, forgedBody(alice, secret.Id, private.Id, ctx))
		sNone, cNone, tNone := handlerError(t, alice.Token, forgedBody(alice, model.NewId(), private.Id, ctx))
		if sReal != sNone || cReal != cNone || tReal != tNone {
			t.Errorf("unverified allowed %v: a real post in a channel alice cannot read answers %d %s %q, a made-up one %d %s %q: the refusals must not differ",
				allow, sReal, cReal, tReal, sNone, cNone, tNone)
		}
		if sNone != http.StatusForbidden || cNone != "channel_not_readable" {
			t.Errorf("unverified allowed %v: a made-up click in a private channel alice cannot read: HTTP %d %s, want 403 channel_not_readable", allow, sNone, cNone)
		}
	}
	botWS.expectNone(t, actionEvent, time.Second)
}

// Dialogs: the session is bound to where the dialog was opened, one trigger opens one dialog,
// a session keeps only what checking needs, text has Mattermost's limits without max_length,
// and a key Go would read but Rust would not is refused.
func TestDialogsCannotBeStretched(t *testing.T) {
	r := newDialogRig(t)
	values := map[string]any{"region": "eu", "reason": "Stretch it"}

	// A submission posted straight to the session's path, naming another channel and team.
	o := r.open(t, r.alice, r.aliceWS, deployDialog("bound", false))
	body := submitBody(r.alice, o, values, false)
	body["channel_id"], body["team_id"] = model.NewId(), model.NewId()
	status, out, err := call(http.MethodPost, o.URL, r.alice.Token, body)
	if err != nil || status != http.StatusOK {
		t.Fatalf("submission straight to the session: HTTP %d %v %s", status, err, out)
	}
	ev := r.botWS.mustNext(t, dialogEvent, 10*time.Second)
	if ev.GetData()["channel_id"] != env.Channel.Id || ev.GetData()["team_id"] != env.Team.Id {
		t.Errorf("submission event names channel %v and team %v, want the dialog's own %s and %s",
			ev.GetData()["channel_id"], ev.GetData()["team_id"], env.Channel.Id, env.Team.Id)
	}

	// One trigger id, two opens.
	trig, _ := r.trigger(t, r.alice)
	if status, resp := openDialog(t, r.bot.Token, trig, deployDialog("once", false)); status != http.StatusOK {
		t.Fatalf("first open: HTTP %d %s", status, mustJSON(resp))
	}
	r.aliceWS.mustNext(t, openDialogEv, 10*time.Second)
	status, resp := openDialog(t, r.bot.Token, trig, deployDialog("twice", false))
	if errObj, _ := resp["error"].(map[string]any); status != http.StatusBadRequest || errObj["code"] != "unknown_trigger" {
		t.Errorf("second open with the same trigger: HTTP %d %s, want 400 unknown_trigger", status, mustJSON(resp))
	}
	r.aliceWS.expectNone(t, openDialogEv, time.Second)

	// What a session keeps: the checks' needs, not the titles and labels.
	o = r.open(t, r.alice, r.aliceWS, deployDialog("kept", false))
	_, stored := sessionRow(t, o.SessionID)
	kept := mustJSON(stored)
	for _, shown := range []string{"Deploy release", "Where and why?", "Europe", "Why now?"} {
		if strings.Contains(kept, shown) {
			t.Errorf("the session keeps %q, which only Mattermost shows: %s", shown, kept)
		}
	}

	// A text field without max_length stops at 150 characters.
	def := deployDialog("long", false)
	def["elements"] = append(def["elements"].([]any), map[string]any{"display_name": "Note", "name": "note", "type": "text", "optional": true})
	o = r.open(t, r.alice, r.aliceWS, def)
	long := map[string]any{"region": "eu", "reason": "Long note", "note": strings.Repeat("x", 151)}
	mustSubmit(t, "151 characters", r.alice, submitBody(r.alice, o, long, false), `{"errors":{"note":"Must be at most 150 characters."}}`)

	// "Elements" is the elements to Go, not to Rust: refused.
	def = deployDialog("case", false)
	def["Elements"] = []any{map[string]any{"display_name": "X", "name": "x", "type": "slider"}}
	trig, _ = r.trigger(t, r.alice)
	status, resp = openDialog(t, r.bot.Token, trig, def)
	errObj, _ := resp["error"].(map[string]any)
	if msg, _ := errObj["message"].(string); status != http.StatusBadRequest || errObj["code"] != "invalid_dialog" || !strings.Contains(msg, `"Elements" must be spelled "elements"`) {
		t.Errorf("a key spelled Elements: HTTP %d %s, want 400 invalid_dialog naming it", status, mustJSON(resp))
	}
	r.aliceWS.expectNone(t, openDialogEv, time.Second)
}

// A session that cannot be stored is not opened, and the bot is told.
func TestADialogWhoseSessionCannotBeStoredIsNotOpened(t *testing.T) {
	r := newDialogRig(t)
	// PostgreSQL refuses to store any dialog session of this plugin, as a failing store would.
	psql(t, `CREATE OR REPLACE FUNCTION e2e_refuse_sessions() RETURNS trigger AS $$ BEGIN
		IF NEW.pkey LIKE 'dialog\_%' THEN RAISE EXCEPTION 'e2e: no sessions today'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`)
	psql(t, `CREATE TRIGGER e2e_refuse_sessions BEFORE INSERT OR UPDATE ON pluginkeyvaluestore FOR EACH ROW EXECUTE FUNCTION e2e_refuse_sessions()`)
	t.Cleanup(func() {
		psql(t, `DROP TRIGGER IF EXISTS e2e_refuse_sessions ON pluginkeyvaluestore`)
		psql(t, `DROP FUNCTION IF EXISTS e2e_refuse_sessions()`)
	})
	trig, _ := r.trigger(t, r.alice)
	status, resp := openDialog(t, r.bot.Token, trig, deployDialog("lost", false))
	errObj, _ := resp["error"].(map[string]any)
	if status != http.StatusServiceUnavailable || errObj["code"] != "store_failed" {
		t.Errorf("open with a failing store: HTTP %d %s, want 503 store_failed", status, mustJSON(resp))
	}
	r.aliceWS.expectNone(t, openDialogEv, 2*time.Second)
}

// A user who cannot read a private channel clicks a bot's button in it through Mattermost,
// with the cookie of an unrelated ephemeral post he was shown in a channel he can read.
// Mattermost 11.4 checks only the cookie's channel, then ignores the cookie for a stored post,
// and calls the plugin as for a genuine click (FINDINGS.md, "Mattermost's own click is not
// proof"). The plugin asks the clicker's permission itself, so nothing reaches the bot.
func TestHostileAnotherPostsCookieOpensNoPrivatePost(t *testing.T) {
	requirePlugin(t)
	bot, bob := newDeliveryBot(t, "cookiebot"), env.Users[1]
	botWS := openSocket(t, bot)
	bobWS := openSocket(t, bob)
	ch := privateChannel(t, "cookie", bot)
	post := createPost(t, bot, ch.Id, "Deploy to prod?", button("ship", "Ship", map[string]any{"user_id": bot.ID(), "secret": "s3"}))
	// bob is not a member: Mattermost refuses his plain click itself.
	if r, err := click(bob, post.Id, "ship", ""); err != nil || r.Status != http.StatusForbidden {
		t.Fatalf("bob's plain click on a post he cannot read: HTTP %d %s (%v), want Mattermost's 403", r.Status, r.Body, err)
	}
	// Any ephemeral post with a button that bob was shown, in a channel he can read.
	status, out, err := call(http.MethodPost, "/api/v4/posts/ephemeral", env.Admin.Token, map[string]any{
		"user_id": bob.ID(),
		"post": map[string]any{"channel_id": env.Channel.Id, "message": "unrelated",
			"props": map[string]any{"attachments": []any{map[string]any{"actions": []any{map[string]any{
				"id": "other", "name": "Other", "type": "button",
				"integration": map[string]any{"url": "http://127.0.0.1:9/elsewhere", "context": map[string]any{"x": 1}}}}}}}},
	})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("the ephemeral post: HTTP %d %v %s", status, err, out)
	}
	cookie := bobWS.ephemeralPost(t, 10*time.Second).Attachments()[0].Actions[0].Cookie
	r, err := clickWith(bob, post.Id, "ship", mustJSON(map[string]string{"cookie": cookie}))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bob's click with another post's cookie: HTTP %d %s", r.Status, r.Body)
	botWS.expectNone(t, actionEvent, 2*time.Second)
	// He is told, as for any refused click, and told nothing about the channel but that he
	// cannot read it.
	p := bobWS.ephemeralPost(t, 10*time.Second)
	t.Logf("bob is shown: %q", p.Message)
	if !strings.Contains(p.Message, "read") || strings.Contains(p.Message, "Deploy") {
		t.Errorf("bob is shown %q, want the refusal (the channel cannot be read)", p.Message)
	}
}
