package e2e_test

// Signed buttons (SPEC §10) on the real server: the plugin signs a bot's buttons as the post is
// saved, the signature is in the stored post and nowhere a client can read it, a valid one
// verifies a click, a copied one does not, posts without one fall back to the full check, and
// with RefuseDeadButtons a post whose buttons cannot work is refused with the reason.

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

const signatureKey = "_socket_mode_signature"

// storedProps is the post's props as PostgreSQL holds them (what Mattermost hands the plugin).
func storedProps(t *testing.T, postID string) string {
	t.Helper()
	return psql(t, "SELECT props FROM posts WHERE id = '"+postID+"'")
}

// signatureOf is the signature of the first action of a stored post.
func signatureOf(t *testing.T, postID string) map[string]any {
	t.Helper()
	props := jsonObject([]byte(storedProps(t, postID)))
	attachments, _ := props["attachments"].([]any)
	if len(attachments) == 0 {
		t.Fatalf("post %s has no attachments: %v", postID, props)
	}
	actions, _ := attachments[0].(map[string]any)["actions"].([]any)
	ctx, _ := actions[0].(map[string]any)["integration"].(map[string]any)["context"].(map[string]any)
	sig, _ := ctx[signatureKey].(map[string]any)
	return sig
}

// noSignature fails if what a client received mentions a signature.
func noSignature(t *testing.T, where string, body []byte) {
	t.Helper()
	if strings.Contains(string(body), signatureKey) {
		t.Errorf("%s shows the signature: %s", where, body)
	}
}

// §10: a signed post's signature is stored and shown to no client, through every route a
// client reads posts by, and the bot never receives it; the click is verified by it.
func TestSignatureStaysSecret(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	bot, alice := newDeliveryBot(t, "signer"), env.Users[0]
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)
	bctx := map[string]any{"user_id": bot.ID(), "action": "deploy", "release": "signed-1.4.2"}
	post := createPost(t, bot, "", "Deploy signed-1.4.2?", button("deploy", "Deploy", bctx),
		staticSelect("region", "Region", map[string]any{"user_id": bot.ID()}, "eu", "us"))

	if sig := signatureOf(t, post.Id); sig["v"] != float64(2) || sig["m"] == nil {
		t.Fatalf("the stored post carries no signature: %s", storedProps(t, post.Id))
	}
	// The websocket events that carried the new post.
	for _, s := range []*socket{aliceWS, botWS} {
		ev := s.mustNext(t, string(model.WebsocketEventPosted), 10*time.Second)
		noSignature(t, s.name+"'s posted event", []byte(mustJSON(ev.GetData())))
	}
	// Every REST route, for alice and for the bot that posted it.
	routes := []string{
		"/api/v4/posts/" + post.Id,
		"/api/v4/posts/" + post.Id + "/thread",
		"/api/v4/channels/" + env.Channel.Id + "/posts?per_page=20",
		"/api/v4/posts/ids",
	}
	for _, who := range []struct {
		name, token, id string
	}{{"alice", alice.Token, alice.ID()}, {"the bot", bot.Token, bot.ID()}} {
		unread := "/api/v4/users/" + who.id + "/channels/" + env.Channel.Id + "/posts/unread?limit_after=5&limit_before=5"
		for _, route := range append(routes, unread) {
			if route == "/api/v4/posts/ids" {
				status, out, err := call(http.MethodPost, route, who.token, []string{post.Id})
				if err != nil || status != http.StatusOK {
					t.Fatalf("POST %s as %s: HTTP %d %v %s", route, who.name, status, err, out)
				}
				noSignature(t, "POST "+route+" as "+who.name, out)
				continue
			}
			status, out, err := call(http.MethodGet, route, who.token, nil)
			if err != nil || status != http.StatusOK {
				t.Fatalf("GET %s as %s: HTTP %d %v %s", route, who.name, status, err, out)
			}
			// (The unread window depends on where the reader stopped: it may not reach the post.)
			if route != unread && !strings.Contains(string(out), post.Id) {
				t.Errorf("GET %s as %s does not show the post", route, who.name)
			}
			noSignature(t, "GET "+route+" as "+who.name, out)
		}
		status, out, err := call(http.MethodPost, "/api/v4/teams/"+env.Team.Id+"/posts/search", who.token,
			map[string]any{"terms": "signed-1.4.2", "is_or_search": false})
		if err != nil || status != http.StatusOK {
			t.Fatalf("search as %s: HTTP %d %v %s", who.name, status, err, out)
		}
		noSignature(t, "search as "+who.name, out)
	}
	// An edit by the bot: the post_edited event, and the post signed again.
	message := "Deploy signed-1.4.2? (edited)"
	if _, _, err := bot.Client.PatchPost(ctx, post.Id, &model.PostPatch{Message: &message}); err != nil {
		t.Fatal(err)
	}
	ev := aliceWS.mustNext(t, string(model.WebsocketEventPostEdited), 10*time.Second)
	noSignature(t, "the post_edited event", []byte(mustJSON(ev.GetData())))
	if sig := signatureOf(t, post.Id); sig["m"] == nil {
		t.Errorf("the edited post lost its signature: %s", storedProps(t, post.Id))
	}

	// The click is verified by the signature; the bot never sees it.
	c := mustClick(t, alice, post.Id, "deploy", "")
	got := botWS.mustNext(t, actionEvent, 10*time.Second)
	checkEvent(t, "signed click", got.GetData(), wantData(alice, post, "button", "", bctx), c, true, time.Now())
	noSignature(t, "the bot's event", []byte(mustJSON(got.GetData())))
	mustClick(t, alice, post.Id, "region", "eu")
	got = botWS.mustNext(t, actionEvent, 10*time.Second)
	if ctx, _ := got.GetData()["context"].(map[string]any); ctx["selected_option"] != "eu" || ctx[signatureKey] != nil {
		t.Errorf("signed menu click: context %s", mustJSON(ctx))
	}
	// A choice the signed menu does not offer is refused.
	status, code, _ := handlerError(t, alice.Token, func() map[string]any {
		body := forgedBody(alice, post.Id, env.Channel.Id, map[string]any{"user_id": bot.ID(), "selected_option": "mars"})
		body["type"] = "select"
		return body
	}())
	if status == http.StatusOK {
		t.Errorf("a made-up menu choice was delivered (%s)", code)
	}
}

// §10, §7: a signature copied from one button into a request about another is refused: it
// does not hold for that context, and the full check finds no such button.
func TestCopiedSignatureRefused(t *testing.T) {
	requirePlugin(t)
	bot, alice := newDeliveryBot(t, "copied"), env.Users[0]
	botWS := openSocket(t, bot)
	a := createPost(t, bot, "", "A", button("go", "Go", map[string]any{"user_id": bot.ID(), "target": "a"}))
	b := createPost(t, bot, "", "B", button("go", "Go", map[string]any{"user_id": bot.ID(), "target": "b"}))
	sig := signatureOf(t, a.Id)
	if sig == nil {
		t.Fatal("post A is not signed")
	}
	// As someone who somehow read A's signed context (only the database has it) would try:
	// all of it in a request about post B, and with a made-up key added on post A.
	for _, tc := range []struct {
		what    string
		postID  string
		channel string
		ctx     map[string]any
	}{
		{"A's signed context on post B", b.Id, env.Channel.Id, map[string]any{"user_id": bot.ID(), "target": "a", signatureKey: sig}},
		{"A's signed context, a made-up key added", a.Id, env.Channel.Id, map[string]any{"user_id": bot.ID(), "target": "a", "admin": true, signatureKey: sig}},
	} {
		status, code, _ := handlerError(t, alice.Token, forgedBody(alice, tc.postID, tc.channel, tc.ctx))
		if status == http.StatusOK || code != "action_not_found" {
			t.Errorf("%s: HTTP %d %s, want action_not_found", tc.what, status, code)
		}
	}
	botWS.expectNone(t, actionEvent, 500*time.Millisecond)
}

// §10: posts without a valid signature get the full check: one posted while the plugin was
// disabled, and one an administrator edited (signed again, as its author's).
func TestUnsignedPostsFallBack(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	bot, alice := newDeliveryBot(t, "fallback"), env.Users[0]
	botWS := openSocket(t, bot)
	bctx := map[string]any{"user_id": bot.ID(), "when": "disabled"}

	if _, err := env.Admin.Client.DisablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	old := createPost(t, bot, "", "posted while the plugin was off", button("old", "Old", bctx))
	if _, err := env.Admin.Client.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	if err := env.WaitPluginRunning(ctx, pluginID, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if sig := signatureOf(t, old.Id); sig != nil {
		t.Fatalf("a post made while the plugin was disabled is signed: %v", sig)
	}
	c := mustClick(t, alice, old.Id, "old", "")
	ev := botWS.mustNext(t, actionEvent, 10*time.Second)
	checkEvent(t, "unsigned post", ev.GetData(), wantData(alice, old, "button", "", bctx), c, true, time.Now())

	// An administrator edits the bot's post: signed again for its author, and clicks work.
	signed := createPost(t, bot, "", "to be edited", button("go", "Go", map[string]any{"user_id": bot.ID()}))
	message := "edited by an administrator"
	if _, _, err := env.Admin.Client.PatchPost(ctx, signed.Id, &model.PostPatch{Message: &message}); err != nil {
		t.Fatal(err)
	}
	if sig := signatureOf(t, signed.Id); sig == nil {
		t.Errorf("the edited post is not signed: %s", storedProps(t, signed.Id))
	}
	mustClick(t, alice, signed.Id, "go", "")
	botWS.mustNext(t, actionEvent, 10*time.Second)
}

// §10: with RefuseDeadButtons on, a bot's post whose buttons can never work fails with the
// lint's reason; off (the default), it is posted.
func TestDeadButtonsRefused(t *testing.T) {
	requirePlugin(t)
	bot := newDeliveryBot(t, "deadbuttons")
	body := map[string]any{
		"channel_id": env.Channel.Id, "message": "dead button",
		"props": map[string]any{"attachments": []any{map[string]any{"actions": []any{
			button("do_it", "Do it", map[string]any{"user_id": bot.ID()}),
		}}}},
	}
	status, out, _ := call(http.MethodPost, "/api/v4/posts", bot.Token, body)
	if status != http.StatusCreated {
		t.Fatalf("with the setting off the post is made: HTTP %d %s", status, out)
	}

	saved := pluginSection(t)
	section := map[string]any{}
	for k, v := range saved {
		section[k] = v
	}
	section["refusedeadbuttons"] = true
	setPluginSection(t, section)
	t.Cleanup(func() { setPluginSection(t, saved) })
	status, out, _ = call(http.MethodPost, "/api/v4/posts", bot.Token, body)
	if status != http.StatusBadRequest || !strings.Contains(string(out), "action_id_invalid") ||
		!strings.Contains(string(out), "buttons would not work") {
		t.Fatalf("a dead button with the setting on: HTTP %d %s, want 400 with the lint's reason", status, out)
	}
	t.Logf("the bot's POST /api/v4/posts answered HTTP %d: %s", status, out)
	// A working button still posts.
	body["props"] = map[string]any{"attachments": []any{map[string]any{"actions": []any{
		button("doit", "Do it", map[string]any{"user_id": bot.ID()}),
	}}}}
	if status, out, _ := call(http.MethodPost, "/api/v4/posts", bot.Token, body); status != http.StatusCreated {
		t.Errorf("a working button with the setting on: HTTP %d %s", status, out)
	}
}

// §10, §7: Mattermost 11.4 shows a post's action integrations, signatures included, in the
// permalink preview of a post that links to it (FINDINGS.md), so a signature is not a secret
// from people who can read the channel. The plugin therefore checks the clicker's permission
// on every click, signed or not: someone who read a signature and has since lost access to
// the channel is refused.
func TestLeakedSignatureNeedsAccess(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	bot, alice, bob := newDeliveryBot(t, "private"), env.Users[0], env.Users[1]
	botWS := openSocket(t, bot)
	ch, _, err := env.Admin.Client.CreateChannel(ctx, &model.Channel{
		TeamId: env.Team.Id, Name: "private-" + strings.ToLower(model.NewId()[:8]), DisplayName: "Private", Type: model.ChannelTypePrivate,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{bot.ID(), alice.ID(), bob.ID()} {
		if _, _, err := env.Admin.Client.AddChannelMember(ctx, ch.Id, id); err != nil {
			t.Fatal(err)
		}
	}
	bctx := map[string]any{"user_id": bot.ID(), "secret": "release-7"}
	post := createPost(t, bot, ch.Id, "Ship release-7?", button("ship", "Ship", bctx))
	link := env.SiteURL + "/" + env.Team.Name + "/pl/" + post.Id
	linking, _, err := alice.Client.CreatePost(ctx, &model.Post{ChannelId: ch.Id, Message: "see " + link})
	if err != nil {
		t.Fatal(err)
	}
	// What bob, a member, reads of alice's post.
	status, out, _ := call(http.MethodGet, "/api/v4/posts/"+linking.Id, bob.Token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET the linking post as bob: HTTP %d %s", status, out)
	}
	leaked := map[string]any{}
	var preview struct {
		Metadata struct {
			Embeds []struct {
				Type string `json:"type"`
				Data struct {
					Post *model.Post `json:"post"`
				} `json:"data"`
			} `json:"embeds"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(out, &preview)
	for _, e := range preview.Metadata.Embeds {
		if e.Type == "permalink" && e.Data.Post != nil {
			for _, a := range e.Data.Post.Attachments() {
				for _, act := range a.Actions {
					if act.Integration != nil && act.Integration.Context[signatureKey] != nil {
						leaked = act.Integration.Context
					}
				}
			}
		}
	}
	if len(leaked) > 0 {
		t.Logf("finding: the permalink preview shows bob the button's integration, signature included: %s", mustJSON(leaked))
	} else {
		t.Logf("the permalink preview shows no integration (this Mattermost strips them); using the stored signature instead")
		leaked = map[string]any{"user_id": bot.ID(), "secret": "release-7", signatureKey: signatureOf(t, post.Id)}
	}
	// While bob can read the channel, the leaked context gives him nothing a click would not.
	if status, code, _ := handlerError(t, bob.Token, forgedBody(bob, post.Id, ch.Id, leaked)); status != http.StatusOK {
		t.Errorf("bob, a member, with the signed context: HTTP %d %s, want it delivered as a click", status, code)
	}
	botWS.mustNext(t, actionEvent, 10*time.Second)
	// Bob leaves the channel; the signature he kept does not let him click any more.
	if _, err := env.Admin.Client.RemoveUserFromChannel(ctx, ch.Id, bob.ID()); err != nil {
		t.Fatal(err)
	}
	status, code, _ := handlerError(t, bob.Token, forgedBody(bob, post.Id, ch.Id, leaked))
	if status != http.StatusForbidden || code != "channel_not_readable" {
		t.Errorf("bob, removed from the channel, with the signed context: HTTP %d %s, want 403 channel_not_readable", status, code)
	}
	botWS.expectNone(t, actionEvent, 300*time.Millisecond)
}

// Edits of posts the plugin does not sign are Mattermost's as before: a post whose buttons
// point at another integration, and one without buttons, edited by their author and by an
// HTTP integration's click answer. (MessageWillBeUpdated reads a nil post as a rejection: the
// plugin once refused every such edit.)
func TestEditsOfOtherPostsGoThrough(t *testing.T) {
	requirePlugin(t)
	bot, alice := env.Bots[0], env.Users[0]
	elsewhere := createPost(t, bot, "", "Elsewhere", button("ext", "External", map[string]any{"user_id": bot.ID()}))
	patch := func(acc *harness.Account, id string, body map[string]any) (int, []byte) {
		status, out, err := call(http.MethodPut, "/api/v4/posts/"+id+"/patch", acc.Token, body)
		if err != nil {
			t.Fatal(err)
		}
		return status, out
	}
	external := map[string]any{"attachments": []any{map[string]any{"text": "Pick", "actions": []any{map[string]any{
		"id": "ext", "name": "External", "type": "button",
		"integration": map[string]any{"url": "https://hooks.example.com/click", "context": map[string]any{"user_id": bot.ID()}}}}}}}
	if status, out := patch(bot, elsewhere.Id, map[string]any{"message": "Other integration", "props": external}); status != http.StatusOK {
		t.Fatalf("editing a post to another integration's buttons: HTTP %d %s", status, out)
	}
	if status, out := patch(bot, elsewhere.Id, map[string]any{"message": "Edited again"}); status != http.StatusOK {
		t.Errorf("editing a post with another integration's buttons: HTTP %d %s", status, out)
	}
	status, out, err := call(http.MethodPost, "/api/v4/posts", alice.Token, map[string]any{"channel_id": env.Channel.Id, "message": "typo"})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("alice's post: HTTP %d %s %v", status, out, err)
	}
	plain := jsonObject(out)["id"].(string)
	if status, out := patch(alice, plain, map[string]any{"message": "fixed"}); status != http.StatusOK {
		t.Errorf("editing a plain post: HTTP %d %s", status, out)
	}
	waitPostMessage(t, alice, elsewhere.Id, "Edited again")
}
