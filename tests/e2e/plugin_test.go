package e2e_test

// The plugin against a real Mattermost server: clicks made through the REST
// API as the webapp makes them, events received by a Python bot
// (mattermostdriver) and a Go bot (model.WebSocketClient) holding only a
// websocket. Every test skips without E2E_BUNDLE. See FINDINGS.md for what the
// real server does that the spec does not say.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

// richContext has every kind of JSON value a bot may put in a context.
func richContext(botID string) map[string]any {
	return map[string]any{
		"user_id": botID,
		"title":   "🚀 déploiement — 完了",
		"escapes": "quote \" backslash \\ <b>&amp;</b> tab\t newline\n",
		"count":   3,
		"delta":   -42,
		"ratio":   2.5,
		"big":     1234567890123,
		"zero":    0,
		"yes":     true,
		"no":      false,
		"nothing": nil,
		"deploy": map[string]any{
			"service": "api",
			"targets": []any{"eu-1", "us-2"},
			"limits":  map[string]any{"cpu": 1.25, "replicas": 4, "tags": map[string]any{"tier": "gold", "owner": nil}},
		},
		"matrix": []any{[]any{1, 2, 3}, []any{"a", []any{true, nil, map[string]any{"deep": "ok"}}}, map[string]any{"k": -0.5}},
	}
}

// a + i: one click reaches both bots holding the actionbot's token — the
// Python bot and the Go bot — with the exact request body plus proxy; the
// context arrives as posted; the Go client's data has no `user` key.
func TestActionReachesPythonAndGoBots(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	bot, alice := env.Bots[0], env.Users[0]

	py, err := env.StartPyListener(ctx, bot.Token, "custom_")
	if err != nil {
		t.Fatal(err)
	}
	defer py.Stop()
	goBot := openSocket(t, bot)

	context1 := richContext(bot.ID())
	post := createPost(t, bot, "", "Deploy api to production?",
		button("approve", "Approve", context1),
		button("reject", "Reject", map[string]any{"user_id": bot.ID(), "answer": "no"}))

	c := mustClick(t, alice, post.Id, "approve", "")
	if c.TriggerID() == "" {
		t.Errorf("click answered %s, want a trigger_id", c.Body)
	}
	want := wantData(alice, post, "button", "", context1)

	ev := goBot.mustNext(t, actionEvent, 10*time.Second)
	goAt := time.Now()
	data := ev.GetData()
	goID := checkEvent(t, "Go bot", data, want, c, true, goAt)
	// i: the Go client turns a top-level `user` key into *model.User; there is none.
	if u, ok := data["user"]; ok {
		t.Errorf("Go bot: event has a top-level user key (%T)", u)
	}
	if b := ev.GetBroadcast(); b == nil || b.UserId != bot.ID() || b.ChannelId != "" || b.TeamId != "" {
		t.Errorf("Go bot: broadcast %+v, want to user %s only", b, bot.ID())
	}

	pev, err := py.Next(actionEvent, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pyAt := time.Now()
	pdata, _ := pev["data"].(map[string]any)
	pyID := checkEvent(t, "Python bot", pdata, want, c, true, pyAt)
	if goID != pyID {
		t.Errorf("the two connections got different events: %s and %s", goID, pyID)
	}
	if b, _ := pev["broadcast"].(map[string]any); b["user_id"] != bot.ID() {
		t.Errorf("Python bot: broadcast %v, want to user %s", mustJSON(b), bot.ID())
	}
	t.Logf("event data: %s", mustJSON(data))

	// The second button of the same post delivers its own context.
	c2 := mustClick(t, alice, post.Id, "reject", "")
	ev2 := goBot.mustNext(t, actionEvent, 10*time.Second)
	checkEvent(t, "Go bot (reject)", ev2.GetData(),
		wantData(alice, post, "button", "", map[string]any{"user_id": bot.ID(), "answer": "no"}), c2, true, time.Now())
	if _, err := py.Next(actionEvent, 10*time.Second); err != nil {
		t.Errorf("Python bot: %v", err)
	}
}

// c: only the bot the button names receives the click: not another bot, not
// the clicking users, and every click exactly once.
func TestOnlyTheNamedBotReceives(t *testing.T) {
	requirePlugin(t)
	bot, other, alice, bob := env.Bots[0], env.Bots[1], env.Users[0], env.Users[1]
	botWS, otherWS, aliceWS, bobWS := openSocket(t, bot), openSocket(t, other), openSocket(t, alice), openSocket(t, bob)
	// otherbot also has a message of its own in the channel: it must not
	// receive actionbot's clicks.
	createPost(t, other, "", "otherbot's own buttons", button("mine", "Mine", map[string]any{"user_id": other.ID()}))
	post := createPost(t, bot, "", "Who receives?", button("go", "Go", map[string]any{"user_id": bot.ID(), "k": "v"}))

	clicks := map[string]clickResult{}
	for _, u := range []*harness.Account{alice, bob, alice} {
		c := mustClick(t, u, post.Id, "go", "")
		ev := botWS.mustNext(t, actionEvent, 10*time.Second)
		id := checkEvent(t, "actionbot", ev.GetData(),
			wantData(u, post, "button", "", map[string]any{"user_id": bot.ID(), "k": "v"}), c, true, time.Now())
		if _, dup := clicks[id]; dup {
			t.Errorf("event id %s delivered twice", id)
		}
		clicks[id] = c
	}
	expectNoneAll(t, actionEvent, 1500*time.Millisecond, botWS, otherWS, aliceWS, bobWS)
	// Accepted clicks show the user nothing.
	aliceWS.expectNone(t, ephemeralEv, time.Millisecond)
	bobWS.expectNone(t, ephemeralEv, time.Millisecond)
}

// b: a static menu delivers the choice in context.selected_option with
// type select and data_source; a users menu delivers its data_source; a value
// the menu does not offer is refused and the user is told.
func TestSelectMenus(t *testing.T) {
	requirePlugin(t)
	bot, alice, bob := env.Bots[0], env.Users[0], env.Users[1]
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)
	envCtx := map[string]any{"user_id": bot.ID(), "step": 2, "what": "environment"}
	userCtx := map[string]any{"user_id": bot.ID(), "what": "reviewer"}
	users := map[string]any{
		"id": "reviewer", "name": "Reviewer", "type": "select", "data_source": "users",
		"integration": map[string]any{"url": handlerPath, "context": userCtx},
	}
	post := createPost(t, bot, "", "Where to?", staticSelect("target", "Target", envCtx, "staging", "production"), users)

	c := mustClick(t, alice, post.Id, "target", "production")
	ev := botWS.mustNext(t, actionEvent, 10*time.Second)
	checkEvent(t, "static select", ev.GetData(), wantData(alice, post, "select", "",
		map[string]any{"user_id": bot.ID(), "step": 2, "what": "environment", "selected_option": "production"}), c, true, time.Now())

	c = mustClick(t, alice, post.Id, "reviewer", bob.ID())
	ev = botWS.mustNext(t, actionEvent, 10*time.Second)
	checkEvent(t, "users select", ev.GetData(), wantData(alice, post, "select", "users",
		map[string]any{"user_id": bot.ID(), "what": "reviewer", "selected_option": bob.ID()}), c, true, time.Now())

	// A value outside the options: Mattermost passes it on, the plugin refuses.
	c = mustClick(t, alice, post.Id, "target", "mars")
	body := forgedBody(alice, post.Id, env.Channel.Id, map[string]any{"user_id": bot.ID(), "step": 2, "what": "environment", "selected_option": "mars"})
	body["type"] = "select"
	status, code, text := handlerError(t, alice.Token, body)
	if status != http.StatusForbidden || code != "option_not_offered" || !strings.Contains(text, `"mars"`) {
		t.Errorf("handler: HTTP %d %s %q, want 403 option_not_offered naming the value", status, code, text)
	}
	p := aliceWS.ephemeralPost(t, 10*time.Second)
	if p.Message != text || p.ChannelId != env.Channel.Id || p.RootId != post.Id || p.UserId != alice.ID() {
		t.Errorf("ephemeral post %q (channel %s, root %s, user %s), want %q in reply to %s",
			p.Message, p.ChannelId, p.RootId, p.UserId, text, post.Id)
	}
	t.Logf("click with an option not offered: HTTP %d %s; ephemeral post %q", c.Status, c.Body, p.Message)
	botWS.expectNone(t, actionEvent, 2*time.Second)
}

// d: forged requests are refused, the bot receives nothing and the user is
// told why.
func TestForgeriesRefused(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	bot, alice, bob := env.Bots[0], env.Users[0], env.Users[1]
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)
	good := map[string]any{"user_id": bot.ID(), "order": 1001}
	post := createPost(t, bot, "", "Ship order 1001?", button("ship", "Ship", good))

	townSquare, _, err := env.Admin.Client.GetChannelByName(ctx, model.DefaultChannelName, env.Team.Id, "")
	if err != nil {
		t.Fatal(err)
	}
	private, _, err := env.Admin.Client.CreateChannel(ctx, &model.Channel{
		TeamId: env.Team.Id, Name: "e2e-private", DisplayName: "private", Type: model.ChannelTypePrivate,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Admin.Client.AddChannelMember(ctx, private.Id, bot.ID()); err != nil {
		t.Fatal(err)
	}
	privatePost := createPost(t, bot, private.Id, "secret", button("s", "S", map[string]any{"user_id": bot.ID(), "secret": true}))

	// (i) bodies made up by hand, posted straight to the handler with alice's token.
	withCtx := func(b map[string]any, c map[string]any) map[string]any { b["context"] = c; return b }
	cases := []struct {
		name   string
		token  string
		body   any
		status int
		code   string
		words  string
	}{
		{"body names bob", alice.Token, forgedBody(bob, post.Id, env.Channel.Id, good), 403, "user_mismatch", "different user"},
		{"invented post", alice.Token, forgedBody(alice, model.NewId(), env.Channel.Id, good), 403, "unverifiable_post", "cannot verify"},
		{"invented context", alice.Token, withCtx(forgedBody(alice, post.Id, env.Channel.Id, nil),
			map[string]any{"user_id": bot.ID(), "order": 1001, "approved": true}), 403, "action_not_found", "does not match any button"},
		// Answered as a post that does not exist, so that a refusal says nothing about posts in
		// other channels.
		{"other channel", alice.Token, forgedBody(alice, post.Id, townSquare.Id, good), 403, "unverifiable_post", "cannot verify"},
		{"unreadable channel", alice.Token, withCtx(forgedBody(alice, privatePost.Id, private.Id, nil),
			map[string]any{"user_id": bot.ID(), "secret": true}), 403, "channel_not_readable", "cannot read the channel"},
		{"no recipient", alice.Token, withCtx(forgedBody(alice, post.Id, env.Channel.Id, nil),
			map[string]any{"order": 1001}), 400, "invalid_recipient", "integration.context.user_id"},
		{"not signed in", "", forgedBody(alice, post.Id, env.Channel.Id, good), 401, "not_authenticated", "did not say who you are"},
		{"not JSON", alice.Token, "{nope", 400, "invalid_json", "malformed"},
	}
	for _, tc := range cases {
		status, code, text := handlerError(t, tc.token, tc.body)
		if status != tc.status || code != tc.code || !strings.Contains(text, tc.words) {
			t.Errorf("%s: HTTP %d %s %q, want %d %s (text with %q)", tc.name, status, code, text, tc.status, tc.code, tc.words)
		}
	}
	// A client cannot claim to be someone else with Mattermost's own header.
	req, _ := http.NewRequest(http.MethodPost, env.SiteURL+handlerPath, strings.NewReader(mustJSON(forgedBody(bob, post.Id, env.Channel.Id, good))))
	req.Header.Set("Mattermost-User-Id", bob.ID())
	if resp, err := httpClient.Do(req); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("spoofed Mattermost-User-Id header: HTTP %d, want 401", resp.StatusCode)
		}
	}
	// Other paths and methods under the plugin.
	if status, code, _ := handlerErrorAt(t, http.MethodGet, handlerPath, alice.Token); status != 405 || code != "method_not_allowed" {
		t.Errorf("GET handler: HTTP %d %s, want 405 method_not_allowed", status, code)
	}
	if status, code, _ := handlerErrorAt(t, http.MethodPost, "/plugins/"+pluginID+"/api/v1/nope", alice.Token); status != 404 || code != "no_route" {
		t.Errorf("POST /api/v1/nope: HTTP %d %s, want 404 no_route", status, code)
	}
	// Through the API, Mattermost itself refuses a click on a post in a channel alice cannot read.
	if c, err := click(alice, privatePost.Id, "s", ""); err != nil || c.Status != http.StatusForbidden {
		t.Errorf("click on a post in a private channel: HTTP %d %v %s, want 403 from Mattermost", c.Status, err, c.Body)
	}

	// (ii) alice posts her own message whose button names actionbot, and clicks it.
	own := createPost(t, alice, "", "free events for everyone", button("fake", "Fake", good))
	c := mustClick(t, alice, own.Id, "fake", "")
	status, code, text := handlerError(t, alice.Token, forgedBody(alice, own.Id, env.Channel.Id, good))
	if status != http.StatusForbidden || code != "recipient_not_author" || !strings.Contains(text, "integration.context.user_id") {
		t.Errorf("handler: HTTP %d %s %q, want 403 recipient_not_author telling the developer what to fix", status, code, text)
	}
	p := aliceWS.ephemeralPost(t, 10*time.Second)
	if p.Message != text || p.RootId != own.Id || p.UserId != alice.ID() {
		t.Errorf("ephemeral post %q (root %s, user %s), want %q in reply to %s", p.Message, p.RootId, p.UserId, text, own.Id)
	}
	t.Logf("click on alice's own button naming actionbot: HTTP %d %s; ephemeral %q", c.Status, c.Body, p.Message)

	// A button of actionbot's that names no recipient: the user is told what the developer must fix.
	broken := createPost(t, bot, "", "broken button", button("broken", "Broken", map[string]any{"order": 7}))
	mustClick(t, alice, broken.Id, "broken", "")
	_, code, text = handlerError(t, alice.Token, forgedBody(alice, broken.Id, env.Channel.Id, map[string]any{"order": 7}))
	if code != "invalid_recipient" {
		t.Errorf("handler: %s, want invalid_recipient", code)
	}
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != text {
		t.Errorf("ephemeral post %q, want %q", p.Message, text)
	}

	botWS.expectNone(t, actionEvent, 2*time.Second)
}

// handlerErrorAt is handlerError for any method and path, without a body.
func handlerErrorAt(t testing.TB, method, path, token string) (int, string, string) {
	t.Helper()
	status, out, err := call(method, path, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := jsonObject(out)
	errObj, _ := m["error"].(map[string]any)
	code, _ := errObj["code"].(string)
	text, _ := m["ephemeral_text"].(string)
	return status, code, text
}

// e: a click on the message of a bot that has since been deactivated is
// refused with a message that says so.
func TestDeactivatedBot(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	alice := env.Users[0]
	aliceWS := openSocket(t, alice)
	retired, err := env.CreateBot(ctx, "retiredbot")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Admin.Client.AddTeamMember(ctx, env.Team.Id, retired.ID()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Admin.Client.AddChannelMember(ctx, env.Channel.Id, retired.ID()); err != nil {
		t.Fatal(err)
	}
	bctx := map[string]any{"user_id": retired.ID()}
	post := createPost(t, retired, "", "I will retire soon", button("ping", "Ping", bctx))
	if _, _, err := env.Admin.Client.DisableBot(ctx, retired.ID()); err != nil {
		t.Fatalf("disable bot: %v", err)
	}

	c := mustClick(t, alice, post.Id, "ping", "")
	status, code, text := handlerError(t, alice.Token, forgedBody(alice, post.Id, env.Channel.Id, bctx))
	if status != http.StatusGone || code != "recipient_deactivated" || !strings.Contains(text, "deactivated") {
		t.Errorf("handler: HTTP %d %s %q, want 410 recipient_deactivated", status, code, text)
	}
	p := aliceWS.ephemeralPost(t, 10*time.Second)
	if p.Message != text || !strings.Contains(p.Message, "deactivated") {
		t.Errorf("ephemeral post %q, want %q", p.Message, text)
	}
	t.Logf("click on a deactivated bot's post: HTTP %d %s; ephemeral %q", c.Status, c.Body, p.Message)
}

// pluginSection returns the plugin's settings section of the server config.
func pluginSection(t testing.TB) map[string]any {
	t.Helper()
	cfg, _, err := env.Admin.Client.GetConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg.PluginSettings.Plugins[pluginID]
}

// setPluginSection saves the plugin's settings through PUT /api/v4/config.
func setPluginSection(t testing.TB, section map[string]any) {
	t.Helper()
	ctx := context.Background()
	cfg, _, err := env.Admin.Client.GetConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PluginSettings.Plugins == nil {
		cfg.PluginSettings.Plugins = map[string]map[string]any{}
	}
	cfg.PluginSettings.Plugins[pluginID] = section
	if _, _, err := env.Admin.Client.UpdateConfig(ctx, cfg); err != nil {
		t.Fatalf("PUT /api/v4/config %v: %v", section, err)
	}
}

// pluginProcess finds the plugin's process (its executable is in the
// server's plugin directory) and returns its pid, or 0.
func pluginProcess() int { return pluginProcessOf(pluginID) }

// pluginProcessOf finds the process Mattermost runs for plugin id (0: not running).
func pluginProcessOf(id string) int {
	dir := filepath.Join(env.RunDir, "mm", "plugins", id) + string(filepath.Separator)
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		exe, err := os.Readlink(filepath.Join(p, "exe"))
		if err == nil && strings.HasPrefix(exe, dir) {
			pid, _ := strconv.Atoi(filepath.Base(p))
			return pid
		}
	}
	return 0
}

// cpuTime is the CPU time (user + system) a process has used so far, from /proc/<pid>/stat
// (clock ticks of 10 ms on Linux).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command name (which may hold spaces) start after its ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// The plugin process Mattermost started runs with the Go runtime's monitor thread kept awake
// (server/sysmon.go): it started itself again, in place, with schedtrace in GODEBUG. Every other
// test shows that the process serves afterwards.
func TestThePluginRunsWithItsMonitorAwake(t *testing.T) {
	requirePlugin(t)
	pid := pluginProcess()
	if pid == 0 {
		t.Fatal("plugin process not found")
	}
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range bytes.Split(environ, []byte{0}) {
		if value, ok := bytes.CutPrefix(kv, []byte("GODEBUG=")); ok {
			if !bytes.Contains(value, []byte("schedtrace=2147483647")) {
				t.Fatalf("the plugin runs with GODEBUG=%s, without the monitor's setting", value)
			}
			return
		}
	}
	t.Fatal("the plugin runs without GODEBUG: it did not start itself again")
}

// f: settings changed through PUT /api/v4/config apply at once, without
// restarting the plugin: verification off delivers with proxy.verified=false;
// clicks on ephemeral posts are refused, then delivered unverified when allowed.
func TestSettingsApplyWithoutRestart(t *testing.T) {
	requirePlugin(t)
	bot, alice, admin := env.Bots[0], env.Users[0], env.Admin
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)
	saved := pluginSection(t)
	t.Cleanup(func() { setPluginSection(t, saved) })
	pid := pluginProcess()
	if pid == 0 {
		t.Fatal("plugin process not found")
	}

	// alice's own post whose button names actionbot: refused while verifying.
	bctx := map[string]any{"user_id": bot.ID(), "via": "alice"}
	own := createPost(t, alice, "", "unverified", button("free", "Free", bctx))

	setPluginSection(t, map[string]any{"verifyprovenance": false, "allowunverifiedephemeral": false})
	c := mustClick(t, alice, own.Id, "free", "")
	ev := botWS.mustNext(t, actionEvent, 10*time.Second)
	checkEvent(t, "verification off", ev.GetData(), wantData(alice, own, "button", "", bctx), c, false, time.Now())
	aliceWS.expectNone(t, ephemeralEv, time.Millisecond)
	// Without verification the recipient must still exist.
	status, code, _ := handlerError(t, alice.Token, forgedBody(alice, own.Id, env.Channel.Id, map[string]any{"user_id": model.NewId()}))
	if status != http.StatusNotFound || code != "recipient_not_found" {
		t.Errorf("unknown recipient: HTTP %d %s, want 404 recipient_not_found", status, code)
	}

	setPluginSection(t, map[string]any{"verifyprovenance": true, "allowunverifiedephemeral": false})
	mustClick(t, alice, own.Id, "free", "")
	if p := aliceWS.ephemeralPost(t, 10*time.Second); !strings.Contains(p.Message, "did not post this message") {
		t.Errorf("verification back on: ephemeral %q, want the recipient_not_author text", p.Message)
	}
	botWS.expectNone(t, actionEvent, 1500*time.Millisecond)

	// An ephemeral post (not stored) with a button naming actionbot, shown to
	// alice; the webapp clicks it with the action's cookie.
	ectx := map[string]any{"user_id": bot.ID(), "ephemeral": true}
	status, out, err := call(http.MethodPost, "/api/v4/posts/ephemeral", admin.Token, map[string]any{
		"user_id": alice.ID(),
		"post": map[string]any{"channel_id": env.Channel.Id, "message": "only you can see this",
			"props": map[string]any{"attachments": []any{map[string]any{"actions": []any{button("eph", "Eph", ectx)}}}}},
	})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("ephemeral post: HTTP %d %v %s", status, err, out)
	}
	eph := aliceWS.ephemeralPost(t, 10*time.Second)
	actions := eph.Attachments()
	if len(actions) != 1 || len(actions[0].Actions) != 1 || actions[0].Actions[0].Cookie == "" {
		t.Fatalf("ephemeral post without an action cookie: %s", mustJSON(eph))
	}
	cookieBody := mustJSON(map[string]string{"cookie": actions[0].Actions[0].Cookie})

	if c, err := clickWith(alice, eph.Id, "eph", cookieBody); err != nil || c.Status != http.StatusOK {
		t.Fatalf("click on the ephemeral post: HTTP %d %v %s", c.Status, err, c.Body)
	}
	if p := aliceWS.ephemeralPost(t, 10*time.Second); !strings.Contains(p.Message, "ephemeral message") {
		t.Errorf("ephemeral post refused: %q, want the unverifiable_post text", p.Message)
	}
	botWS.expectNone(t, actionEvent, 1500*time.Millisecond)

	setPluginSection(t, map[string]any{"verifyprovenance": true, "allowunverifiedephemeral": true})
	c, err = clickWith(alice, eph.Id, "eph", cookieBody)
	if err != nil || c.Status != http.StatusOK {
		t.Fatalf("click on the ephemeral post: HTTP %d %v %s", c.Status, err, c.Body)
	}
	ev = botWS.mustNext(t, actionEvent, 10*time.Second)
	checkEvent(t, "ephemeral allowed", ev.GetData(), wantData(alice, eph, "button", "", ectx), c, false, time.Now())

	if now := pluginProcess(); now != pid {
		t.Errorf("the plugin process changed from %d to %d: settings needed a restart", pid, now)
	}
}

// g: the plugin disabled and enabled again in the middle of a run comes back
// and serves clicks.
func TestDisableEnable(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	bot, alice := env.Bots[0], env.Users[0]
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)
	bctx := map[string]any{"user_id": bot.ID(), "n": 1}
	post := createPost(t, bot, "", "still there?", button("ping", "Ping", bctx))

	if _, err := env.Admin.Client.DisablePlugin(ctx, pluginID); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if state, _ := env.PluginState(ctx, pluginID); state == model.PluginStateRunning {
		t.Errorf("plugin still running after disable")
	}
	// While disabled, Mattermost answers the click itself (no JSON from the plugin).
	c, err := click(alice, post.Id, "ping", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != http.StatusBadRequest || jsonObject(c.Body)["id"] != "api.post.do_action.action_integration.app_error" {
		t.Errorf("click while disabled: HTTP %d %s, want 400 api.post.do_action.action_integration.app_error", c.Status, c.Body)
	}
	t.Logf("click while the plugin is disabled: HTTP %d %s", c.Status, c.Body)

	if _, err := env.Admin.Client.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatalf("enable: %v", err)
	}
	if err := env.WaitPluginRunning(ctx, pluginID, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	c = mustClick(t, alice, post.Id, "ping", "")
	ev := botWS.mustNext(t, actionEvent, 10*time.Second)
	checkEvent(t, "after re-enable", ev.GetData(), wantData(alice, post, "button", "", bctx), c, true, time.Now())
	botWS.expectNone(t, actionEvent, 500*time.Millisecond) // nothing from the click while disabled
	aliceWS.expectNone(t, ephemeralEv, time.Millisecond)
}

// h: an action id must be letters and digits: Mattermost's route for clicks
// is /actions/{action_id:[A-Za-z0-9]+}, so a click on "do_it" never reaches
// the plugin.
func TestActionIDWithUnderscore(t *testing.T) {
	requirePlugin(t)
	bot, alice := env.Bots[0], env.Users[0]
	botWS := openSocket(t, bot)
	post := createPost(t, bot, "", "underscore", button("do_it", "Do it", map[string]any{"user_id": bot.ID()}))
	if a := post.Attachments(); len(a) != 1 || len(a[0].Actions) != 1 || a[0].Actions[0].Id != "do_it" {
		t.Fatalf("post stored with actions %s", mustJSON(post.GetProp(model.PostPropsAttachments)))
	}
	c, err := click(alice, post.Id, "do_it", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != http.StatusNotFound {
		t.Errorf("click on action do_it: HTTP %d %s, want 404 (route does not match)", c.Status, c.Body)
	}
	t.Logf("click on action id do_it: HTTP %d %s", c.Status, c.Body)
	botWS.expectNone(t, actionEvent, time.Second)
}

// rawSocket is a websocket read as text (gorilla), to see the exact JSON the
// server sends a bot.
func rawSocket(t testing.TB, token string) <-chan []byte {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(env.WebSocketURL()+"/api/v4/websocket",
		http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	out := make(chan []byte, 1024)
	go func() {
		defer close(out)
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			out <- msg
		}
	}()
	return out
}

// rawEvent waits for an event named name on a raw socket.
func rawEvent(t testing.TB, ch <-chan []byte, name string, timeout time.Duration) []byte {
	t.Helper()
	msg, err := harness.Await(ch, timeout, func(msg []byte) bool {
		var head struct{ Event string }
		return json.Unmarshal(msg, &head) == nil && head.Event == name
	})
	if err != nil {
		t.Fatalf("no %s event on the raw websocket: %v", name, err)
	}
	return msg
}

// Contexts the platform rewrites (see FINDINGS.md). Each value is posted on
// its own button and clicked: the click must be delivered (verification must
// not trip over the platform's rewriting), and the exact JSON text the bot
// receives is compared with what Mattermost 11.4 was observed to send.
func TestContextPlatformLimits(t *testing.T) {
	requirePlugin(t)
	bot, alice := env.Bots[0], env.Users[0]
	raw := rawSocket(t, bot.Token)
	rawEvent(t, raw, "hello", 15*time.Second)
	aliceWS := openSocket(t, alice)

	cases := []struct{ name, posted, arrives, why string }{
		{"empty_list", `[]`, `null`, "gob in the plugin RPC decodes an empty slice as nil"},
		{"nested_empty", `[[],{"a":[]}]`, `[null,{"a":null}]`, "the same, inside arrays and objects"},
		{"empty_obj", `{}`, `{}`, "an empty object survives"},
		{"one_fifty", `1.50`, `1.5`, "numbers become float64 when the post is stored"},
		{"big", `9007199254740993`, `9007199254740992`, "2^53+1 is not a float64"},
		{"exp", `1e21`, `1e+21`, "Go's float formatting"},
		{"tiny", `1e-7`, `1e-7`, ""},
		{"neg_zero", `-0`, `0`, "-0 loses its sign"},
		{"int_float", `3.0`, `3`, "float64 3 is written 3"},
	}
	postOf := map[string]string{}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "lim" + strconv.Itoa(i)
			rawCtx := `{"user_id":"` + bot.ID() + `","v":` + tc.posted + `}`
			body := `{"channel_id":"` + env.Channel.Id + `","message":"limits ` + tc.name + `","props":{"attachments":[{"actions":[` +
				`{"id":"` + id + `","name":"L","type":"button","integration":{"url":"` + handlerPath + `","context":` + rawCtx + `}}]}]}}`
			status, out, err := call(http.MethodPost, "/api/v4/posts", bot.Token, body)
			if err != nil || status != http.StatusCreated {
				t.Fatalf("create post: HTTP %d %v %s", status, err, out)
			}
			postID, _ := jsonObject(out)["id"].(string)
			postOf[tc.name] = postID
			c, err := click(alice, postID, id, "")
			if err != nil || c.Status != http.StatusOK {
				t.Fatalf("click: HTTP %d %v %s", c.Status, err, c.Body)
			}
			msg, refusal := awaitOutcome(t, raw, aliceWS, 10*time.Second)
			if refusal != nil {
				t.Fatalf("context.v = %s: the click was refused (%q); a button with this context can never be clicked",
					tc.posted, refusal.Message)
			}
			var ev struct {
				Data struct {
					Context map[string]json.RawMessage `json:"context"`
				} `json:"data"`
			}
			if err := json.Unmarshal(msg, &ev); err != nil {
				t.Fatal(err)
			}
			got := string(ev.Data.Context["v"])
			t.Logf("context.v posted %s, received %s", tc.posted, got)
			if got != tc.arrives {
				t.Errorf("context.v = %s arrives as %s, want %s as observed (%s)", tc.posted, got, tc.arrives, tc.why)
			}
		})
	}

	// The same empty-array button with verification off is delivered, as
	// null: what refuses it above is the provenance check, which compares
	// the body's [] with the stored post as GetPost returns it over gob (null).
	t.Run("empty_list_unverified", func(t *testing.T) {
		saved := pluginSection(t)
		defer setPluginSection(t, saved)
		setPluginSection(t, map[string]any{"verifyprovenance": false})
		c, err := click(alice, postOf["empty_list"], "lim0", "")
		if err != nil || c.Status != http.StatusOK {
			t.Fatalf("click: HTTP %d %v %s", c.Status, err, c.Body)
		}
		msg, refusal := awaitOutcome(t, raw, aliceWS, 10*time.Second)
		if refusal != nil {
			t.Fatalf("refused with verification off: %q", refusal.Message)
		}
		var ev struct {
			Data struct {
				Context map[string]json.RawMessage `json:"context"`
			} `json:"data"`
		}
		_ = json.Unmarshal(msg, &ev)
		if got := string(ev.Data.Context["v"]); got != "null" {
			t.Errorf("context.v = [] arrives as %s with verification off, observed null before", got)
		}
	})
}

// awaitOutcome waits for either the bot's action event (raw text) or the
// ephemeral post that tells the clicker the click was refused.
func awaitOutcome(t testing.TB, raw <-chan []byte, user *socket, timeout time.Duration) ([]byte, *model.Post) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case msg, ok := <-raw:
			if !ok {
				t.Fatal("raw websocket closed")
			}
			var head struct{ Event string }
			if json.Unmarshal(msg, &head) == nil && head.Event == actionEvent {
				return msg, nil
			}
		case ev, ok := <-user.events:
			if !ok {
				t.Fatal("user websocket closed")
			}
			if string(ev.EventType()) == ephemeralEv {
				var p model.Post
				s, _ := ev.GetData()["post"].(string)
				_ = json.Unmarshal([]byte(s), &p)
				return nil, &p
			}
		case <-deadline:
			t.Fatalf("neither an event nor a refusal within %s", timeout)
		}
	}
}
