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
// is gone at once, and the other nodes are told to forget theirs. Before, an edit without
// attachments never reached the core, and the removed buttons kept working against the copy
// for up to a minute.
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

	api.On("PublishPluginClusterEvent", mock.MatchedBy(func(ev model.PluginClusterEvent) bool {
		return ev.Id == clusterEventID && jsonSame(ev.Data, []byte(`{"post_changed":"`+signed.Id+`"}`))
	}), model.PluginClusterEventSendOptions{SendType: model.PluginClusterEventSendTypeReliable}).Return(nil).Once()
	edited := signed.Clone()
	edited.SetProps(model.StringInterface{})
	edited.Message = "Deployed."
	p.MessageHasBeenUpdated(nil, edited, &signed)
	_, cached = p.cache.get(copyOf, p.now())
	assert.False(t, cached, "the copy with the removed buttons is forgotten")
	api.AssertExpectations(t)

	// A post that never had attachments is none of the plugin's business: no core call.
	api.ExpectedCalls = nil
	plain := &model.Post{Id: model.NewId(), Message: "hello"}
	p.MessageHasBeenUpdated(nil, plain, plain)
	api.AssertExpectations(t)
}
