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

// clickWithSlowPermission serves one signed click whose permission is answered only once the
// core has been called waitFor times during it; warm first serves one click with the
// permission at once, so that the post, the accounts, the channel and the team are cached.
func clickWithSlowPermission(t *testing.T, granted, warm bool, waitFor int64) (*slowPermissionAPI, *httptest.ResponseRecorder, int64) {
	noop, body, user := clickAPI(t)
	api := &slowPermissionAPI{noopAPI: noop, granted: true}
	p := activated(t, api)
	api.core = func() int64 { return 0 }
	click := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/api/v1/handler", bytes.NewReader(body))
		r.Header.Set("Mattermost-User-Id", user)
		w := httptest.NewRecorder()
		p.ServeHTTP(nil, w, r)
		return w
	}
	if warm {
		require.Equal(t, 200, click().Code)
		api.published.Store(0)
	}
	api.granted = granted
	before := p.core.calls.Load()
	api.core, api.waitFor = func() int64 { return p.core.calls.Load() - before }, waitFor
	w := click()
	return api, w, p.core.calls.Load() - before
}

// A click's one unavoidable round trip, the clicker's permission to read the channel, runs
// beside the core's decision instead of before it (the core says the answer is almost always
// "yes"): the core has decided by the time Mattermost answers, and the click costs no extra
// call. Nothing is cached yet, so nothing is asked before the core has read the click.
func TestAClickAsksThePermissionBesideTheDecision(t *testing.T) {
	api, w, calls := clickWithSlowPermission(t, true, false, 2)
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.EqualValues(t, 2, api.seen.Load(), "the core decided while the permission was being asked")
	assert.EqualValues(t, 2, calls, "a first click costs two core calls: what to ask, then the decision")
	assert.EqualValues(t, 1, api.published.Load(), "the bot got the click")
}

// Issue 19.3: a warm click on a signed post — the key, the post, the accounts, the channel
// and the team cached — is decided in one core call, beside the permission's round trip.
func TestAWarmSignedClickIsDecidedInOneCall(t *testing.T) {
	api, w, calls := clickWithSlowPermission(t, true, true, 1)
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.EqualValues(t, 1, api.seen.Load(), "the core decided while the permission was being asked")
	assert.EqualValues(t, 1, calls, "one core call")
	assert.EqualValues(t, 1, api.published.Load(), "the bot got the click")
}

// SPEC §7: someone who cannot read the channel (who saw the buttons in a permalink preview)
// clicks a validly signed button. The core's reply made with the permission assumed would
// deliver the click; it is thrown away, and the click is refused as if nothing had been
// assumed: nothing reaches the bot. Warm or not.
func TestAClickWhosePermissionIsRefusedIsNeverDeliveredOnTheGuess(t *testing.T) {
	for _, warm := range []bool{false, true} {
		// Cold, the guess is the second call's; warm, the first's (and only).
		waitFor, calls := map[bool]int64{false: 2, true: 1}[warm], map[bool]int64{false: 3, true: 2}[warm]
		api, w, made := clickWithSlowPermission(t, false, warm, waitFor)
		assert.Equal(t, 403, w.Code, w.Body.String())
		assert.EqualValues(t, waitFor, api.seen.Load(), "the core's guess ran before the refusal came")
		assert.EqualValues(t, calls, made, "the guess, then the decision on the real answer")
		assert.Zero(t, api.published.Load(), "nothing is published to the bot")
	}
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
