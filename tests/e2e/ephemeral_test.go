package e2e_test

// Verified buttons on ephemeral messages (SPEC §13) on the real server: a bot sends an
// ephemeral message with buttons through the plugin; the person clicks it as the webapp does
// (with the action's cookie, the post being unstored); the bot receives the click verified,
// answers with an update, and the person sees their ephemeral post replaced. A made-up click
// and a cookie handed to somebody else are refused.

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

var ephemeralPath = "/plugins/" + pluginID + "/api/v1/ephemeral"

// sendEphemeral is POST /api/v1/ephemeral with the bot's token.
func sendEphemeral(t *testing.T, bot *harness.Account, body map[string]any) (int, map[string]any) {
	t.Helper()
	status, out, err := call(http.MethodPost, ephemeralPath, bot.Token, body)
	if err != nil {
		t.Fatalf("POST %s: %v", ephemeralPath, err)
	}
	return status, jsonObject(out)
}

// editedPost waits for the post_edited event Mattermost sends for postID.
func (s *socket) editedPost(t testing.TB, postID string, timeout time.Duration) *model.Post {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ev, err := s.next(string(model.WebsocketEventPostEdited), time.Until(deadline))
		if err != nil {
			break
		}
		var p model.Post
		if raw, ok := ev.GetData()["post"].(string); ok && json.Unmarshal([]byte(raw), &p) == nil && p.Id == postID {
			return &p
		}
	}
	t.Fatalf("%s: no post_edited for %s", s.name, postID)
	return nil
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestEphemeralButtonsAreVerified(t *testing.T) {
	requirePlugin(t)
	bot, alice, bob := newDeliveryBot(t, "ephemeral"), env.Users[0], env.Users[1]
	botWS, aliceWS, bobWS := openSocket(t, bot), openSocket(t, alice), openSocket(t, bob)
	botWS.subscribe(t)

	bctx := map[string]any{"user_id": bot.ID(), "action": "drop", "db": "staging"}
	status, out := sendEphemeral(t, bot, map[string]any{
		"user_id": alice.ID(), "channel_id": env.Channel.Id, "message": "Drop the staging database?",
		"props": map[string]any{"attachments": []any{map[string]any{"text": "Only you can see this.", "actions": []any{
			button("drop", "Drop it", bctx),
		}}}},
	})
	postID, _ := out["post_id"].(string)
	if status != http.StatusOK || len(postID) != 26 {
		t.Fatalf("POST %s: HTTP %d %s, want 200 and the post's id", ephemeralPath, status, mustJSON(out))
	}
	shown := aliceWS.ephemeralPost(t, 10*time.Second)
	if shown.Id != postID || shown.UserId != bot.ID() || shown.Message != "Drop the staging database?" {
		t.Fatalf("alice was shown %s, want the bot's ephemeral post %s", mustJSON(shown), postID)
	}
	bobWS.expectNone(t, ephemeralEv, 300*time.Millisecond)
	actions := shown.Attachments()[0].Actions
	if len(actions) != 1 || actions[0].Cookie == "" || actions[0].Integration != nil {
		t.Fatalf("the ephemeral button = %s, want a cookie and no integration shown", mustJSON(actions))
	}
	cookie := mustJSON(map[string]string{"cookie": actions[0].Cookie})

	// The click, as the webapp makes it on an ephemeral post: the cookie carries the action.
	pending := make(chan clickResult, 1)
	go func() { r, _ := clickWith(alice, postID, "drop", cookie); pending <- r }()
	d := botWS.nextAction(t, 10*time.Second)
	proxy, _ := d.Data["proxy"].(map[string]any)
	if proxy["verified"] != true || d.Data["post_id"] != postID || d.Data["user_id"] != alice.ID() {
		t.Errorf("the bot received %s, want alice's verified click on %s", mustJSON(d.Data), postID)
	}
	if ctx, _ := d.Data["context"].(map[string]any); ctx["db"] != "staging" || ctx["_socket_mode_signature"] != nil {
		t.Errorf("context = %s, want the bot's context without the signature", mustJSON(ctx))
	}
	botWS.ack(d.EventID, map[string]any{
		"update":         map[string]any{"message": "The staging database was dropped."},
		"ephemeral_text": "Done.",
	})
	if got := botWS.ackResult(t, d.EventID); got != "applied" {
		t.Errorf("ack_result = %q, want applied", got)
	}
	if c := <-pending; c.Status != http.StatusOK {
		t.Fatalf("alice's click: HTTP %d %s", c.Status, c.Body)
	}
	if p := aliceWS.editedPost(t, postID, 10*time.Second); p.Message != "The staging database was dropped." {
		t.Errorf("alice's ephemeral post now reads %q", p.Message)
	}
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Done." {
		t.Errorf("alice read %q, want the bot's ephemeral_text", p.Message)
	}

	// The cookie handed to bob: Mattermost calls the plugin for bob, whose click the
	// signature does not carry, and there is no stored post to check it against.
	// Mattermost answers the click and shows bob the plugin's refusal.
	if _, err := clickWith(bob, postID, "drop", cookie); err != nil {
		t.Fatal(err)
	}
	if p := bobWS.ephemeralPost(t, 10*time.Second); !strings.Contains(p.Message, "cannot verify where the button came from") {
		t.Errorf("bob, clicking with alice's cookie, read %q; want the unverifiable_post refusal", p.Message)
	}
	// A made-up click straight to the handler, with a made-up signature.
	forged := forgedBody(alice, postID, env.Channel.Id, map[string]any{"user_id": bot.ID(), "action": "drop", "db": "staging",
		"_socket_mode_signature": map[string]any{"v": 1, "k": "00000000", "r": "", "e": alice.ID(), "m": strings.Repeat("0", 64)}})
	if status, code, _ := handlerError(t, alice.Token, forged); status != http.StatusForbidden || code != "unverifiable_post" {
		t.Errorf("a made-up ephemeral click: HTTP %d %s, want 403 unverifiable_post", status, code)
	}
	botWS.expectNone(t, actionEvent, 500*time.Millisecond)
}

// §13, §7: the endpoint's hostile cases, each a clear JSON error and nothing sent.
func TestEphemeralRefusals(t *testing.T) {
	requirePlugin(t)
	bot, alice := newDeliveryBot(t, "ephemeral-no"), env.Users[0]
	aliceWS := openSocket(t, alice)
	good := func() map[string]any {
		return map[string]any{"user_id": alice.ID(), "channel_id": env.Channel.Id, "message": "hi",
			"props": map[string]any{"attachments": []any{map[string]any{"actions": []any{
				button("ok", "OK", map[string]any{"user_id": bot.ID()}),
			}}}}}
	}
	dead := good()
	dead["props"] = map[string]any{"attachments": []any{map[string]any{"actions": []any{
		button("ok", "OK", map[string]any{"user_id": env.Bots[0].ID()}),
	}}}}
	unknown := good()
	unknown["channel"] = "town-square"
	posing := good()
	posing["props"].(map[string]any)["override_username"] = "System"
	// A private channel with the bot in it and alice not, and one without the bot.
	ctx := context.Background()
	newPrivate := func(members ...string) string {
		ch, _, err := env.Admin.Client.CreateChannel(ctx, &model.Channel{TeamId: env.Team.Id, Type: model.ChannelTypePrivate,
			Name: "eph-" + strings.ToLower(model.NewId()[:8]), DisplayName: "Ephemeral"})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if _, _, err := env.Admin.Client.AddChannelMember(ctx, ch.Id, m); err != nil {
				t.Fatal(err)
			}
		}
		return ch.Id
	}
	notAlices := good()
	notAlices["channel_id"] = newPrivate(bot.ID())
	notTheBots := good()
	notTheBots["channel_id"] = newPrivate(alice.ID())
	for _, tc := range []struct {
		what   string
		as     *harness.Account
		body   map[string]any
		status int
		code   string
	}{
		{"a person's token", alice, map[string]any{"user_id": alice.ID(), "channel_id": env.Channel.Id, "message": "hi"}, 403, "not_a_bot"},
		{"a dead button", bot, dead, 400, "bad_ephemeral"},
		{"an unknown field", bot, unknown, 400, "bad_ephemeral"},
		{"a prop reserved for integrations", bot, posing, 400, "bad_ephemeral"},
		{"a user who cannot read the channel", bot, notAlices, 403, "ephemeral_not_allowed"},
		{"a channel the bot may not post in", bot, notTheBots, 403, "ephemeral_not_allowed"},
	} {
		status, out := sendEphemeral(t, tc.as, tc.body)
		if status != tc.status || errorCode(out) != tc.code {
			t.Errorf("%s: HTTP %d %s, want %d %s", tc.what, status, mustJSON(out), tc.status, tc.code)
		}
		if msg, _ := out["error"].(map[string]any)["message"].(string); msg == "" {
			t.Errorf("%s: no message says why", tc.what)
		}
	}
	aliceWS.expectNone(t, ephemeralEv, 500*time.Millisecond)
}

// §12, §13: a slash command answered ephemerally with a button: the plugin sends the answer as
// the bot's ephemeral message, signed for the person who typed the command, whose click is then
// delivered verified.
func TestEphemeralCommandAnswerButtons(t *testing.T) {
	requirePlugin(t)
	bot, alice := newDeliveryBot(t, "ephemeral-cmd"), env.Users[0]
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)
	botWS.subscribe(t)
	trigger := uniqueTrigger("confirm")
	if status, out := registerCommand(t, bot, trigger); status != http.StatusOK {
		t.Fatalf("register /%s: HTTP %d %s", trigger, status, mustJSON(out))
	}
	pending := executeAsync(alice, "/"+trigger+" prod")
	d := deliveryOf(t, botWS.mustNext(t, commandEvent, 10*time.Second))
	botWS.ackQuiet(d.EventID, map[string]any{"text": "Deploy prod?", "attachments": []any{map[string]any{
		"actions": []any{button("go", "Deploy", map[string]any{"user_id": bot.ID(), "env": "prod"})},
	}}})
	<-pending
	shown := aliceWS.ephemeralPost(t, 10*time.Second)
	if shown.UserId != bot.ID() || shown.Message != "Deploy prod?" || len(shown.Attachments()) != 1 {
		t.Fatalf("alice was shown %s, want the bot's ephemeral answer with its button", mustJSON(shown))
	}
	cookie := mustJSON(map[string]string{"cookie": shown.Attachments()[0].Actions[0].Cookie})
	res := make(chan clickResult, 1)
	go func() { r, _ := clickWith(alice, shown.Id, "go", cookie); res <- r }()
	c := botWS.nextAction(t, 10*time.Second)
	if proxy, _ := c.Data["proxy"].(map[string]any); proxy["verified"] != true || c.Data["post_id"] != shown.Id {
		t.Errorf("the bot received %s, want alice's verified click", mustJSON(c.Data))
	}
	botWS.ackQuiet(c.EventID, map[string]any{"ephemeral_text": "Deploying."})
	if r := <-res; r.Status != http.StatusOK {
		t.Errorf("alice's click: HTTP %d %s", r.Status, r.Body)
	}
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Deploying." {
		t.Errorf("alice read %q", p.Message)
	}
}
