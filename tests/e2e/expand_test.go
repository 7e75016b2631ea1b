package e2e_test

// Expanded context (SPEC §13) on the real server: a bot that subscribes with `expand` receives
// in proxy.expanded exactly what GET /api/v4/users|channels|teams|posts would have returned to
// the bot itself, and nothing more, with Mattermost's privacy settings off and on.

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

// newPerson is a user of the test's own with a full name, an email address and a language, in
// the e2e team and channel.
func newPerson(t *testing.T, prefix string) *harness.Account {
	t.Helper()
	ctx := context.Background()
	name := prefix + "-" + strings.ToLower(model.NewId()[:6])
	u, resp, err := env.Admin.Client.CreateUser(ctx, &model.User{
		Username: name, Email: name + "@example.com", Password: "Passw0rd!" + name,
		FirstName: "Carol", LastName: "Danvers", Nickname: "cap", Locale: "de", Position: "Pilot",
	})
	if err != nil {
		t.Fatalf("create user %s: %v (%v)", name, err, resp)
	}
	if err := env.Join(ctx, u.Id); err != nil {
		t.Fatal(err)
	}
	c := env.NewClient("")
	me, _, err := c.Login(ctx, name, "Passw0rd!"+name)
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return &harness.Account{User: me, Password: "Passw0rd!" + name, Token: c.AuthToken, Client: c}
}

// setPrivacy sets PrivacySettings.ShowEmailAddress and ShowFullName, restored after the test.
func setPrivacy(t *testing.T, email, names bool) {
	t.Helper()
	ctx := context.Background()
	cfg, _, err := env.Admin.Client.GetConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	savedEmail, savedNames := *cfg.PrivacySettings.ShowEmailAddress, *cfg.PrivacySettings.ShowFullName
	cfg.PrivacySettings.ShowEmailAddress, cfg.PrivacySettings.ShowFullName = &email, &names
	if _, _, err := env.Admin.Client.UpdateConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cfg, _, err := env.Admin.Client.GetConfig(ctx)
		if err == nil {
			cfg.PrivacySettings.ShowEmailAddress, cfg.PrivacySettings.ShowFullName = &savedEmail, &savedNames
			_, _, err = env.Admin.Client.UpdateConfig(ctx, cfg)
		}
		if err != nil {
			t.Errorf("restoring the privacy settings: %v", err)
		}
	})
}

// subscribeExpanding subscribes s asking for expand, and returns what the plugin accepted.
func (s *socket) subscribeExpanding(t testing.TB, expand map[string]any) map[string]any {
	t.Helper()
	s.ws.SendMessage(subscribeAction, map[string]any{"protocol": 1, "expand": expand})
	return s.mustNext(t, subscribedEvent, 10*time.Second).GetData()
}

// restGet is GET path with the bot's own token, as a bot would fetch it itself.
func restGet(t *testing.T, bot *harness.Account, path string) map[string]any {
	t.Helper()
	status, out, err := call(http.MethodGet, path, bot.Token, nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET %s as the bot: HTTP %d %v: %s", path, status, err, out)
	}
	return jsonObject(out)
}

// sameAsREST checks that an expanded entity is what GET returned to the bot: every field GET
// gave, with the same value, and no field GET did not give. Mattermost's RPC (gob) drops zero
// values and turns an empty list or object into null (FINDINGS.md), so a field that is "",
// false, 0, null, [] or {} on one side and absent on the other compares equal; skip names
// what the plugin documents it leaves out (a post's metadata).
func sameAsREST(t *testing.T, what string, expanded, rest map[string]any, skip ...string) {
	t.Helper()
	for _, k := range skip {
		delete(rest, k)
	}
	empty := func(v any) bool {
		switch v := v.(type) {
		case nil:
			return true
		case map[string]any:
			return len(v) == 0
		case []any:
			return len(v) == 0
		case string:
			return v == ""
		case bool:
			return !v
		case float64:
			return v == 0
		}
		return false
	}
	keys := map[string]bool{}
	for k := range expanded {
		keys[k] = true
	}
	for k := range rest {
		keys[k] = true
	}
	var diffs []string
	for k := range keys {
		e, inE := expanded[k]
		r, inR := rest[k]
		switch {
		case inE && !inR && !empty(e):
			diffs = append(diffs, k+": expanded has "+mustJSON(e)+", GET gave nothing")
		case inR && !inE && !empty(r):
			diffs = append(diffs, k+": GET gave "+mustJSON(r)+", expanded has nothing")
		case empty(e) && empty(r):
		case !reflect.DeepEqual(normalize(e), normalize(r)):
			diffs = append(diffs, k+": expanded "+mustJSON(e)+", GET "+mustJSON(r))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s differs from what GET returns to the bot:\n  %s", what, strings.Join(diffs, "\n  "))
	}
}

func expandedOf(t *testing.T, data map[string]any) map[string]any {
	t.Helper()
	proxy, _ := data["proxy"].(map[string]any)
	x, ok := proxy["expanded"].(map[string]any)
	if !ok {
		t.Fatalf("event without proxy.expanded: %s", mustJSON(data))
	}
	return x
}

func entity(t *testing.T, x map[string]any, name string) map[string]any {
	t.Helper()
	e, ok := x[name].(map[string]any)
	if !ok {
		t.Fatalf("proxy.expanded has no %s: %s", name, mustJSON(x))
	}
	return e
}

// §13: with the privacy settings off, then on, a click's expansions are what GET returns to
// the bot at that moment: no email and no full name, then both; never a secret. A command's
// expansions (summary levels) follow the same rules.
func TestExpandIsWhatTheBotCouldRead(t *testing.T) {
	requirePlugin(t)
	bot, carol := newDeliveryBot(t, "expand"), newPerson(t, "carol")
	botWS := openSocket(t, bot)
	all := map[string]any{"acting_user": "all", "channel": "all", "team": "all", "post": "all", "locale": true}
	if sub := botWS.subscribeExpanding(t, all); !reflect.DeepEqual(sub["expand"], map[string]any{
		"acting_user": "all", "channel": "all", "team": "all", "post": "all", "locale": true}) {
		t.Fatalf("subscribed = %s, want the expansions asked for", mustJSON(sub))
	}
	bctx := map[string]any{"user_id": bot.ID(), "action": "greet"}
	post := createPost(t, bot, "", "Who wants a greeting?", button("greet", "Greet me", bctx))

	clickExpanded := func(what string) map[string]any {
		pending := clickAsync(carol, post.Id, "greet", "")
		d := botWS.nextAction(t, 10*time.Second)
		botWS.ackQuiet(d.EventID, map[string]any{})
		if c := clickDone(t, pending); c.Status != http.StatusOK {
			t.Fatalf("%s: click HTTP %d: %s", what, c.Status, c.Body)
		}
		return expandedOf(t, d.Data)
	}
	check := func(what string, x map[string]any) {
		sameAsREST(t, what+": acting_user", entity(t, x, "acting_user"), restGet(t, bot, "/api/v4/users/"+carol.ID()))
		sameAsREST(t, what+": channel", entity(t, x, "channel"), restGet(t, bot, "/api/v4/channels/"+env.Channel.Id))
		sameAsREST(t, what+": team", entity(t, x, "team"), restGet(t, bot, "/api/v4/teams/"+env.Team.Id))
		sameAsREST(t, what+": post", entity(t, x, "post"), restGet(t, bot, "/api/v4/posts/"+post.Id), "metadata")
		if x["locale"] != "de" {
			t.Errorf("%s: expanded.locale = %v, want carol's de", what, x["locale"])
		}
		if errs, ok := x["errors"]; ok {
			t.Errorf("%s: expanded.errors = %s, want none (the bot may read all of it)", what, mustJSON(errs))
		}
	}

	setPrivacy(t, false, false)
	time.Sleep(6 * time.Second) // the plugin's copy of the settings is at most 5 s old
	hidden := clickExpanded("privacy off")
	check("privacy off", hidden)
	// At once again, within every cache's lifetime: the answers the plugin reuses are the
	// answers to the same questions (the bot's manage_system is not its view_members).
	check("privacy off, from the cache", clickExpanded("privacy off, from the cache"))
	u := entity(t, hidden, "acting_user")
	if u["email"] != "" || u["first_name"] != "" || u["last_name"] != "" {
		t.Errorf("privacy off: the bot was shown %v %v <%v>", u["first_name"], u["last_name"], u["email"])
	}

	setPrivacy(t, true, true)
	time.Sleep(6 * time.Second)
	shown := clickExpanded("privacy on")
	check("privacy on", shown)
	u = entity(t, shown, "acting_user")
	if u["email"] != carol.User.Email || u["first_name"] != "Carol" || u["last_name"] != "Danvers" {
		t.Errorf("privacy on: the bot was shown %v %v <%v>, want Carol Danvers <%s>", u["first_name"], u["last_name"], u["email"], carol.User.Email)
	}
	for _, secret := range []string{"password", "mfa_secret", "notify_props", "last_password_update", "email_verified"} {
		if _, ok := u[secret]; ok {
			t.Errorf("the bot was shown the user's %s", secret)
		}
	}
	// The post's integrations (and the plugin's signature in them) are not shown.
	if raw := mustJSON(entity(t, shown, "post")); strings.Contains(raw, "integration") || strings.Contains(raw, "_socket_mode_signature") {
		t.Errorf("expanded.post shows integrations: %s", raw)
	}

	// A command: summaries, and the same rules.
	summary := map[string]any{"acting_user": "summary", "channel": "summary", "team": "summary"}
	botWS.subscribeExpanding(t, summary)
	trigger := uniqueTrigger("whoami")
	if status, out := registerCommand(t, bot, trigger); status != http.StatusOK {
		t.Fatalf("register /%s: HTTP %d %s", trigger, status, mustJSON(out))
	}
	pending := executeAsync(carol, "/"+trigger)
	ev := botWS.mustNext(t, commandEvent, 10*time.Second)
	d := deliveryOf(t, ev)
	botWS.ackQuiet(d.EventID, map[string]any{"text": "Hallo Carol"})
	<-pending
	x := expandedOf(t, d.Data)
	for name, path := range map[string]string{"acting_user": "/api/v4/users/" + carol.ID(), "channel": "/api/v4/channels/" + env.Channel.Id, "team": "/api/v4/teams/" + env.Team.Id} {
		got, rest := entity(t, x, name), restGet(t, bot, path)
		for k, v := range got {
			if !reflect.DeepEqual(normalize(v), normalize(rest[k])) && !(v == nil && rest[k] != nil && len(mustJSON(rest[k])) <= 2) {
				t.Errorf("command: expanded.%s.%s = %s, GET gives %s", name, k, mustJSON(v), mustJSON(rest[k]))
			}
		}
		if len(got) >= len(rest) {
			t.Errorf("command: expanded.%s at summary has %d fields, GET %d: a summary is a part", name, len(got), len(rest))
		}
	}
	raw, _ := json.Marshal(x)
	t.Logf("a command's summary expansions: %d bytes", len(raw))
}

// §13: what the bot may not read is left out and named: a private channel the bot is not in
// (a command typed there) gives no channel and no team details the bot could not get itself.
func TestExpandLeavesOutWhatTheBotMayNotRead(t *testing.T) {
	requirePlugin(t)
	bot, carol := newDeliveryBot(t, "expand-private"), newPerson(t, "dana")
	ctx := context.Background()
	private, _, err := env.Admin.Client.CreateChannel(ctx, &model.Channel{
		TeamId: env.Team.Id, Name: "private-" + strings.ToLower(model.NewId()[:8]), DisplayName: "Private", Type: model.ChannelTypePrivate,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Admin.Client.AddChannelMember(ctx, private.Id, carol.ID()); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := call(http.MethodGet, "/api/v4/channels/"+private.Id, bot.Token, nil); status != http.StatusForbidden {
		t.Fatalf("GET the private channel as the bot: HTTP %d, want 403 (the premise)", status)
	}
	botWS := openSocket(t, bot)
	botWS.subscribeExpanding(t, map[string]any{"acting_user": "summary", "channel": "all"})
	trigger := uniqueTrigger("secret")
	if status, out := registerCommand(t, bot, trigger); status != http.StatusOK {
		t.Fatalf("register /%s: HTTP %d %s", trigger, status, mustJSON(out))
	}
	status, out, err := call(http.MethodPost, "/api/v4/commands/execute", carol.Token, map[string]any{
		"channel_id": private.Id, "team_id": env.Team.Id, "command": "/" + trigger,
	})
	_ = out
	ev := botWS.mustNext(t, commandEvent, 10*time.Second)
	d := deliveryOf(t, ev)
	botWS.ackQuiet(d.EventID, map[string]any{"text": "ok"})
	if err != nil || status != http.StatusOK {
		t.Fatalf("execute in the private channel: HTTP %d %v", status, err)
	}
	x := expandedOf(t, d.Data)
	if _, ok := x["channel"]; ok {
		t.Errorf("the bot was shown a private channel it cannot read: %s", mustJSON(x["channel"]))
	}
	errs, _ := x["errors"].(map[string]any)
	if why, _ := errs["channel"].(string); !strings.Contains(why, "read_channel") {
		t.Errorf("expanded.errors = %s, want the channel named with the permission it lacks", mustJSON(x["errors"]))
	}
	if u := entity(t, x, "acting_user"); u["id"] != carol.ID() {
		t.Errorf("acting_user = %s", mustJSON(u))
	}
}

// §13: a bot that is a system administrator is shown what GET shows an administrator (the
// email and full name whatever the privacy settings, the sign-in service), and still no secret.
func TestExpandForAnAdministratorBot(t *testing.T) {
	requirePlugin(t)
	bot, carol := newDeliveryBot(t, "expand-admin"), newPerson(t, "erin")
	ctx := context.Background()
	if _, err := env.Admin.Client.UpdateUserRoles(ctx, bot.ID(), "system_user system_admin"); err != nil {
		t.Fatalf("make the bot a system admin: %v", err)
	}
	setPrivacy(t, false, false)
	botWS := openSocket(t, bot)
	botWS.subscribeExpanding(t, map[string]any{"acting_user": "all", "team": "all"})
	post := createPost(t, bot, "", "Admins only?", button("go", "Go", map[string]any{"user_id": bot.ID()}))
	pending := clickAsync(carol, post.Id, "go", "")
	d := botWS.nextAction(t, 10*time.Second)
	botWS.ackQuiet(d.EventID, map[string]any{})
	clickDone(t, pending)
	x := expandedOf(t, d.Data)
	u := entity(t, x, "acting_user")
	sameAsREST(t, "admin bot: acting_user", u, restGet(t, bot, "/api/v4/users/"+carol.ID()),
		// GET adds the terms of service an administrator may see; the plugin API has none.
		"terms_of_service_id", "terms_of_service_create_at")
	sameAsREST(t, "admin bot: team", entity(t, x, "team"), restGet(t, bot, "/api/v4/teams/"+env.Team.Id))
	if u["email"] != carol.User.Email || u["first_name"] != "Carol" {
		t.Errorf("an administrator bot was shown %v <%v>, want the full name and email with privacy off", u["first_name"], u["email"])
	}
	if _, ok := u["password"]; ok {
		t.Error("an administrator bot was shown the password hash")
	}
}
