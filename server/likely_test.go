package main

import (
	"bytes"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowPermissionAPI answers a signed click's facts at once except the clicker's permission to
// read the channel, which it gives only once the core has been called the given number of
// times (or after a long while, if it never is): the round trip a click cannot skip.
type slowPermissionAPI struct {
	*noopAPI
	core      func() int64
	waitFor   int64
	granted   bool
	seen      atomic.Int64 // the core's calls when the permission was answered
	published atomic.Int64
}

func (a *slowPermissionAPI) HasPermissionToChannel(string, string, *model.Permission) bool {
	for deadline := time.Now().Add(10 * time.Second); a.core() < a.waitFor && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	a.seen.Store(a.core())
	return a.granted
}

func (a *slowPermissionAPI) PublishWebSocketEvent(string, map[string]any, *model.WebsocketBroadcast) {
	a.published.Add(1)
}

func clickWithSlowPermission(t *testing.T, granted bool) (*slowPermissionAPI, *httptest.ResponseRecorder, int64) {
	noop, body, user := clickAPI(t)
	api := &slowPermissionAPI{noopAPI: noop, granted: granted}
	p := activated(t, api)
	before := p.core.calls.Load()
	// The click's first call reads it and asks the facts; the second decides.
	api.core, api.waitFor = func() int64 { return p.core.calls.Load() - before }, 2
	r := httptest.NewRequest("POST", "/api/v1/handler", bytes.NewReader(body))
	r.Header.Set("Mattermost-User-Id", user)
	w := httptest.NewRecorder()
	p.ServeHTTP(nil, w, r)
	return api, w, p.core.calls.Load() - before
}

// A click's one unavoidable round trip, the clicker's permission to read the channel, runs
// beside the core's decision instead of before it (the core says the answer is almost always
// "yes"): the core has decided by the time Mattermost answers, and the click costs no extra
// call.
func TestAClickAsksThePermissionBesideTheDecision(t *testing.T) {
	api, w, calls := clickWithSlowPermission(t, true)
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.EqualValues(t, 2, api.seen.Load(), "the core decided while the permission was being asked")
	assert.EqualValues(t, 2, calls, "a click whose permission is held costs two core calls, as before")
	assert.EqualValues(t, 1, api.published.Load(), "the bot got the click")
}

// SPEC §7: someone who cannot read the channel (who saw the buttons in a permalink preview)
// clicks a validly signed button. The core's reply made with the permission assumed would
// deliver the click; it is thrown away, and the click is refused as if nothing had been
// assumed: nothing reaches the bot.
func TestAClickWhosePermissionIsRefusedIsNeverDeliveredOnTheGuess(t *testing.T) {
	api, w, calls := clickWithSlowPermission(t, false)
	assert.Equal(t, 403, w.Code, w.Body.String())
	assert.EqualValues(t, 2, api.seen.Load(), "the core's guess ran before the refusal came")
	assert.EqualValues(t, 3, calls, "the guess, then the decision on the real answer")
	assert.Zero(t, api.published.Load(), "nothing is published to the bot")
}

// panickyPost is the no-op API whose GetPost panics.
type panickyPost struct{ *noopAPI }

func (panickyPost) GetPost(string) (*model.Post, *model.AppError) { panic("GetPost exploded") }

// TestAPanicWhileAskingBesideTheCallerFailsTheClickNotThePlugin: the facts of a round are
// asked on goroutines of their own; a panic in one of them (a plugin API bug) reaches no
// recover of the request's, and before would have ended the plugin process, every bot's
// websocket events with it. It is now the failed answer it is: the click gets the core's error
// and the plugin goes on serving.
func TestAPanicWhileAskingBesideTheCallerFailsTheClickNotThePlugin(t *testing.T) {
	api, body, user := clickAPI(t)
	p := activated(t, panickyPost{api})
	r := httptest.NewRequest("POST", "/api/v1/handler", bytes.NewReader(body))
	r.Header.Set("Mattermost-User-Id", user)
	w := httptest.NewRecorder()
	p.ServeHTTP(nil, w, r)
	assert.Equal(t, 503, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"code":"mattermost_unavailable"`)
	assert.NotContains(t, w.Body.String(), "exploded", "what panicked stays inside")

	// Still serving: a request that asks nothing is answered.
	w = httptest.NewRecorder()
	p.ServeHTTP(nil, w, httptest.NewRequest("GET", "/nothing-here", nil))
	assert.Equal(t, 404, w.Code)
}
