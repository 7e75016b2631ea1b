package main

import (
	"encoding/json"
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
