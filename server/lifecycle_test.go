package main

import (
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

// TestNothingReachesTheCoreAfterDeactivation calls every hook and ServeHTTP after
// OnDeactivate: none reaches the closed core (which would trap and log "module closed"), and
// none calls the plugin API (the mock refuses any call it was not told of).
func TestNothingReachesTheCoreAfterDeactivation(t *testing.T) {
	p, api := newTestPlugin(t)
	require.NoError(t, p.OnDeactivate())
	api.ExpectedCalls = nil

	attachments := model.StringInterface{"attachments": []any{map[string]any{"text": "x"}}}
	post := &model.Post{Id: model.NewId(), UserId: model.NewId(), ChannelId: model.NewId(), Props: attachments}
	p.watched.Store("conn1", true)
	p.OnWebSocketDisconnect("conn1", model.NewId())
	p.WebSocketMessageHasBeenPosted("conn1", model.NewId(), &model.WebSocketRequest{Action: "custom_" + p.info.PluginID + "_subscribe"})
	p.OnPluginClusterEvent(nil, model.PluginClusterEvent{Id: clusterEventID, Data: []byte(`{"forget":{"key":"x"}}`)})
	p.UserHasBeenDeactivated(nil, &model.User{Id: model.NewId()})
	got, rejection := p.MessageWillBePosted(nil, post)
	assert.Nil(t, got)
	assert.Empty(t, rejection)
	p.MessageHasBeenPosted(nil, post)
	p.MessageHasBeenUpdated(nil, post, post)
	p.MessageHasBeenDeleted(nil, post)
	_, appErr := p.ExecuteCommand(nil, &model.CommandArgs{Command: "/deploy", UserId: model.NewId(), ChannelId: model.NewId()})
	assert.NotNil(t, appErr, "a command the plugin cannot serve is an error, not a silent nothing")
	assert.NoError(t, p.OnConfigurationChange())

	w := httptest.NewRecorder()
	p.ServeHTTP(nil, w, httptest.NewRequest("POST", "/api/v1/handler", strings.NewReader("{}")))
	assert.Equal(t, 500, w.Code)
	assert.Contains(t, w.Body.String(), "internal_error", "the last-resort answer the core gave at activation")
	api.AssertExpectations(t)
}

// TestDeactivationWaitsForTheCallsUnderWay sends cluster messages from many goroutines while
// the plugin deactivates: each is either decided whole or not started, never cut off by the
// core closing under it.
func TestDeactivationWaitsForTheCallsUnderWay(t *testing.T) {
	p, api := newTestPlugin(t)
	var failures atomic.Int64
	for _, n := range []int{1, 3, 5} {
		args := make([]any, n)
		for i := range args {
			args[i] = mock.Anything
		}
		api.On("LogError", args...).Run(func(mock.Arguments) { failures.Add(1) }).Maybe()
	}
	message := model.PluginClusterEvent{Id: clusterEventID, Data: []byte(`{"forget":{"key":"subs_x"}}`)}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 200 {
				p.OnPluginClusterEvent(nil, message)
			}
		}()
	}
	close(start)
	require.NoError(t, p.OnDeactivate())
	wg.Wait()
	assert.Zero(t, failures.Load(), "a call reached the core after it was closed")
}
