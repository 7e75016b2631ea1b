package main

import (
	"net/http"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
)

// A dialog's chosen users and channels are asked of Mattermost one by one, and answered
// together: each user with its own answer (found, or Mattermost's error, so that the core tells
// a user that does not exist from a store that failed), each channel with the permission.
func TestChosenUsersAndChannelsAreEachAsked(t *testing.T) {
	api := &plugintest.API{}
	api.On("GetUser", "bob").Return(&model.User{Id: "bob", Username: "bob"}, nil)
	api.On("GetUser", "ghost").Return(nil, model.NewAppError("GetUser", "app.user.missing_account.const", nil, "", http.StatusNotFound))
	api.On("HasPermissionToChannel", "alice", "town", mock.MatchedBy(func(p *model.Permission) bool { return p.Id == "read_channel" })).Return(true)
	api.On("HasPermissionToChannel", "alice", "secret", mock.Anything).Return(false)
	p := &Plugin{}
	p.SetAPI(api)

	users := string(p.ask(query{Fact: "users", UserIDs: []string{"bob", "ghost"}}).answer())
	assert.Contains(t, users, `"bob":{"found":{"id":"bob"`)
	assert.Contains(t, users, `"ghost":{"failed":{"status":404,"id":"app.user.missing_account.const"`)

	channels := p.ask(query{Fact: "channel_permissions", UserID: "alice", ChannelIDs: []string{"town", "secret"}, Permission: "read_channel"})
	assert.JSONEq(t, `{"found":{"town":true,"secret":false}}`, string(channels.answer()))

	unknown := p.ask(query{Fact: "channel_permissions", UserID: "alice", ChannelIDs: []string{"town"}, Permission: "no_such"})
	assert.Contains(t, string(unknown.answer()), "failed")
}

// Two queries that differ only in their lists are two cache entries.
func TestListsAreInTheCacheKey(t *testing.T) {
	a := query{Fact: "users", UserIDs: []string{"a", "b"}}
	b := query{Fact: "users", UserIDs: []string{"ab"}}
	c := query{Fact: "channel_permissions", ChannelIDs: []string{"a", "b"}}
	d := query{Fact: "channel_permissions", Keys: []string{"a", "b"}}
	assert.NotEqual(t, cacheKey(a), cacheKey(b))
	assert.NotEqual(t, cacheKey(c), cacheKey(d))
}
