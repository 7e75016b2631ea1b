package main

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

// TestAnEditThatRemovesSignedButtonsForgetsTheCopy saves a post with signed buttons (this node
// remembers it for the signed clicks that follow), then edits every attachment away: the copy
// is gone at once. Before, an edit without attachments never reached the core, and the removed
// buttons kept working against the copy for up to a minute. The other nodes of a cluster are
// told to forget theirs (fixture signing/edit_signed_in_a_cluster_is_forgotten_elsewhere); on
// a single server, as here, no cluster message goes: it would reach no one (the mock refuses
// a call it does not expect).
func TestAnEditThatRemovesSignedButtonsForgetsTheCopy(t *testing.T) {
	p, api := newTestPlugin(t)
	f := loadFixtures(t)["sign_post_saved_is_remembered"]
	var in struct {
		PostSaved postSaved `json:"post_saved"`
	}
	require.NoError(t, json.Unmarshal(f.Input, &in))
	var signed model.Post
	require.NoError(t, json.Unmarshal(in.PostSaved.Post, &signed))
	p.MessageHasBeenPosted(nil, &signed)
	copyOf := query{Fact: "post", PostID: signed.Id, CacheMs: 60_000}
	_, cached := p.cache.get(copyOf, p.now())
	require.True(t, cached, "the signed post is remembered as saved")

	edited := signed.Clone()
	edited.SetProps(model.StringInterface{})
	edited.Message = "Deployed."
	p.MessageHasBeenUpdated(nil, edited, &signed)
	_, cached = p.cache.get(copyOf, p.now())
	assert.False(t, cached, "the copy with the removed buttons is forgotten")
	api.AssertNotCalled(t, "PublishPluginClusterEvent", mock.Anything, mock.Anything)

	// A post that never had attachments is none of the plugin's business: no core call.
	api.ExpectedCalls = nil
	plain := &model.Post{Id: model.NewId(), Message: "hello"}
	p.MessageHasBeenUpdated(nil, plain, plain)
	api.AssertExpectations(t)
}

// TestAPostHookSignsInOneCallOnceTheKeyIsCached: the first post with the plugin's buttons asks
// for the signing key (two core calls: what to ask, then the signing); the node keeps the key a
// minute, and from then on the shim hands it to the first call (the core's standing queries),
// so every later post, and every edit on an answer's path, is signed in one call and reads
// nothing from the store.
func TestAPostHookSignsInOneCallOnceTheKeyIsCached(t *testing.T) {
	p, api := newTestPlugin(t)
	f := loadFixtures(t)["sign_post_signed"]
	var in struct {
		PostToSave postToSave `json:"post_will_be_saved"`
	}
	require.NoError(t, json.Unmarshal(f.Input, &in))
	sign := func() (*model.Post, int64) {
		var post model.Post
		require.NoError(t, json.Unmarshal(in.PostToSave.Post, &post))
		before := p.core.calls.Load()
		signed, rejection := p.MessageWillBePosted(nil, &post)
		require.Empty(t, rejection)
		require.NotNil(t, signed)
		return signed, p.core.calls.Load() - before
	}
	keyReads := func() int {
		n := 0
		for _, c := range api.Calls {
			if c.Method == "KVGet" && c.Arguments.String(0) == "signing_key" {
				n++
			}
		}
		return n
	}
	first, calls := sign()
	assert.Equal(t, int64(2), calls, "the first post asks for the key")
	assert.Equal(t, 2, keyReads(), "activation's read, and this one")

	second, calls := sign()
	assert.Equal(t, int64(1), calls, "the key came with the first call")
	assert.Equal(t, 2, keyReads(), "no read of the key")
	assert.Equal(t, first.GetProps(), second.GetProps(), "signed alike")
}

// TestAnAnswersUpdateKeepsItsSignedPostAsItCame: a click answered with an `update` of the
// message alone makes Mattermost save the post with its own props again (DoPostActionWithCookie
// restores them), so MessageWillBeUpdated gets the buttons the post was signed with. The core
// finds every signature already what it would make and says so: the hook hands Mattermost's
// post back as it came, with no signed post to read back (fixture
// signing/edit_keeping_its_signed_buttons_goes_back_as_it_came). Before, the core signed the
// same buttons again and the shim decoded a new post, on the click's path. An edit that brings
// a signature signing would not make (a forged one) still gets a new post.
func TestAnAnswersUpdateKeepsItsSignedPostAsItCame(t *testing.T) {
	p, _ := newTestPlugin(t)
	signed := signedMenuPost(t, p, 40)

	update := signed.Clone()
	update.Message = "Deployed eu"
	update.SetProps(gobSafe(map[string]any(signed.GetProps())).(map[string]any))
	before := p.core.calls.Load()
	got, rejection := p.MessageWillBeUpdated(nil, update, signed)
	require.Empty(t, rejection)
	assert.Same(t, update, got, "the post goes back as it came")
	assert.Equal(t, int64(1), p.core.calls.Load()-before, "one core call")

	forged := update.Clone()
	forged.SetProps(gobSafe(map[string]any(signed.GetProps())).(map[string]any))
	attachments := forged.Attachments() // a copy of the props'
	attachments[0].Actions[0].Integration.Context["_socket_mode_signature"].(map[string]any)["m"] = "forged"
	forged.AddProp(model.PostPropsAttachments, attachments)
	resigned, rejection := p.MessageWillBeUpdated(nil, forged, signed)
	require.Empty(t, rejection)
	require.NotSame(t, forged, resigned, "a forged signature is replaced")
	assert.Equal(t, signed.Attachments()[0].Actions[0].Integration.Context["_socket_mode_signature"],
		resigned.Attachments()[0].Actions[0].Integration.Context["_socket_mode_signature"], "signed as at first")
}

// signedMenuPost is a bot's post with a menu of n options aimed at the plugin, as
// MessageWillBePosted signed it (the bot's post in the benchmarks' click rounds).
func signedMenuPost(tb testing.TB, p *Plugin, n int) *model.Post {
	tb.Helper()
	post := menuPost("/plugins/"+p.info.PluginID+"/api/v1/handler", n)
	signed, rejection := p.MessageWillBePosted(nil, post)
	require.Empty(tb, rejection)
	require.NotNil(tb, signed, "signed")
	return signed
}

// menuPost is a bot's post with one menu of n options whose clicks go to url.
func menuPost(url string, n int) *model.Post {
	options := make([]*model.PostActionOptions, n)
	for i := range options {
		v := strconv.Itoa(i)
		options[i] = &model.PostActionOptions{Text: v, Value: v}
	}
	post := &model.Post{Id: "postpostpostpostpostpost01", ChannelId: "chanchanchanchanchanchan01",
		UserId: "bot1bot1bot1bot1bot1bot1b1", Message: "Pick one"}
	post.AddProp(model.PostPropsAttachments, []*model.SlackAttachment{{Actions: []*model.PostAction{{
		Id: "pick", Name: "Pick", Type: model.PostActionTypeSelect, Options: options,
		Integration: &model.PostActionIntegration{URL: url,
			Context: map[string]any{"user_id": "bot1bot1bot1bot1bot1bot1b1", "action_id": "pick"}},
	}}}})
	return post
}
