package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

// heavyLint is the largest lint the limits allow: 200 actions with big contexts, about 1 MiB.
func heavyLint() []byte {
	actions := make([]any, 200)
	for i := range actions {
		actions[i] = map[string]any{"id": "a_" + strings.Repeat("x", 10), "name": "A", "type": "button",
			"integration": map[string]any{"url": "/plugins/x", "context": map[string]any{"user_id": "bot", "pad": strings.Repeat("é", 2000)}}}
	}
	b, _ := json.Marshal(map[string]any{"props": map[string]any{"attachments": []any{map[string]any{"actions": actions}}}})
	return b
}

// TestACallPastItsBudgetIsStoppedAndItsInstanceReplaced runs the heaviest lint with less fuel
// than it needs: the call traps when the fuel runs out, the caller learns it was the budget,
// and the next call is served by a fresh instance.
func TestACallPastItsBudgetIsStoppedAndItsInstanceReplaced(t *testing.T) {
	ctx := context.Background()
	c, err := newCore(ctx, [lanes]int{1, 1}, maxMemoryPages, "")
	require.NoError(t, err)
	defer c.Close(ctx)
	pool := c.pools[laneBulk]
	stopped := <-pool
	pool <- stopped

	call := []byte(`{"handle":{"input":{"http":{"method":"POST","path":"/api/v1/lint","user_id":"alicealicealicealicealice1"}},"now_ms":1,"entropy":"00000000000000000000000000000000","node":"nodenodenodenodenodenode01","settings":{"verify_provenance":true,"allow_unverified_ephemeral":false,"dialog_session_minutes":30}}}`)
	_, used, err := c.call(ctx, laneBulk, 100_000, plainCall(call), heavyLint())
	require.ErrorIs(t, err, errCoreOutOfFuel)
	assert.Greater(t, used, int64(100_000), "it stopped once the budget was spent")
	assert.True(t, stopped.module.IsClosed(), "a stopped instance is closed")

	out, used, err := c.call(ctx, laneBulk, fuelUnbounded, plainCall(call), heavyLint())
	require.NoError(t, err, "with fuel enough the same call is answered")
	assert.Contains(t, string(out), `"kind":"decision"`)
	t.Logf("the heaviest lint spends %d fuel", used)
	next := <-pool
	assert.NotSame(t, stopped, next, "the stopped instance is never reused")
	pool <- next
}

// TestLintCannotOccupyTheInstancesClicksUse holds every bulk instance (as a flood of lint
// requests would) and shows a click is served at once, while a lint waits for its lane.
func TestLintCannotOccupyTheInstancesClicksUse(t *testing.T) {
	p, api := newTestPlugin(t)
	require.Equal(t, laneBulk, p.info.lane("/api/v1/lint", 0))
	require.Equal(t, laneBulk, p.info.lane("/api/v1/dialogs/open", 0))
	require.Equal(t, laneInteractive, p.info.lane("/api/v1/handler", 0))

	defer holdLane(p.core, laneBulk)()

	f := loadFixtures(t)["button"]
	f.expectFactsWarm(t, api)
	allowDelivery(api)
	api.On("PublishWebSocketEvent", "action", mock.Anything, mock.Anything).Once()
	w := httptest.NewRecorder()
	p.ServeHTTP(nil, w, f.httpRequest(t))
	assert.Equal(t, 200, w.Code, "the click is served while the bulk lane is full")

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r := httptest.NewRequest("POST", "/api/v1/lint", bytes.NewReader([]byte(`{"props":{}}`))).WithContext(ctx)
	r.Header.Set("Mattermost-User-Id", "alicealicealicealicealice1")
	api.On("LogError", "request refused", "error_code", "internal_error", "reason", mock.MatchedBy(func(s string) bool {
		return strings.Contains(s, "context deadline exceeded")
	})).Once()
	w = httptest.NewRecorder()
	p.ServeHTTP(nil, w, r)
	assert.Equal(t, 500, w.Code, "the lint waited for its own lane until its request gave up")
	api.AssertExpectations(t)
}

// TestHeavyInputsRunOnTheBulkLane: the endpoints that check a large document (lint, opening a
// dialog, an ephemeral message) and any input past the core's heavy_bytes (an ack over REST
// whose answer is linted, a made-up click, a large post the hooks sign) run on the bulk lane;
// what people send every moment stays interactive. With the bulk lane full, an ephemeral
// message waits for it (and gives up with its request) while a click is served.
func TestHeavyInputsRunOnTheBulkLane(t *testing.T) {
	p, api := newTestPlugin(t)
	heavy := p.info.Lanes[laneNames[laneBulk]].HeavyBytes
	require.Equal(t, 32<<10, heavy, "the core says what is heavy")
	for path, size := range map[string]int{"/api/v1/ephemeral": 100, "/api/v1/status": 0, "/api/v1/admin/status": 0, "/api/v1/ack": heavy + 1, "/api/v1/handler": heavy + 1} {
		assert.Equal(t, laneBulk, p.info.lane(path, size), "%s with %d bytes", path, size)
	}
	for path, size := range map[string]int{"/api/v1/ack": 4 << 10, "/api/v1/handler": heavy} {
		assert.Equal(t, laneInteractive, p.info.lane(path, size), "%s with %d bytes", path, size)
	}
	bigPost := input{PostWillBeSaved: &postToSave{Post: bytes.Repeat([]byte("x"), heavy+1)}}
	assert.Equal(t, laneBulk, p.info.lane("", bigPost.size()), "a large post the hooks sign")
	smallPost := input{PostSaved: &postSaved{Post: []byte(`{"id":"p"}`)}}
	assert.Equal(t, laneInteractive, p.info.lane("", smallPost.size()))

	defer holdLane(p.core, laneBulk)()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r := httptest.NewRequest("POST", "/api/v1/ephemeral", strings.NewReader(`{}`)).WithContext(ctx)
	r.Header.Set("Mattermost-User-Id", "bot1bot1bot1bot1bot1bot1b1")
	api.On("LogError", "request refused", "error_code", "internal_error", "reason", mock.MatchedBy(func(s string) bool {
		return strings.Contains(s, "context deadline exceeded")
	})).Once()
	w := httptest.NewRecorder()
	p.ServeHTTP(nil, w, r)
	assert.Equal(t, 500, w.Code, "the ephemeral message waited for the bulk lane until its request gave up")
	api.AssertExpectations(t)
}

// TestFactsThatRarelyChangeAreCachedBriefly clicks twice: the accounts, the channel and the
// team are asked once, the post and the permission every time. A deactivation forgets the
// account at once.
func TestFactsThatRarelyChangeAreCachedBriefly(t *testing.T) {
	p, api := newTestPlugin(t)
	now := time.UnixMilli(1_700_000_000_000)
	p.clock = func() time.Time { return now }
	f := loadFixtures(t)["button"]
	decode := func(name string, v any) { require.NoError(t, json.Unmarshal(f.Facts[name].Found, v)) }
	var post *model.Post
	var recipient, clicker *model.User
	var channel *model.Channel
	var team *model.Team
	decode("post", &post)
	decode("recipient", &recipient)
	decode("clicker", &clicker)
	decode("channel", &channel)
	decode("team", &team)
	api.On("GetPost", post.Id).Return(post, nil).Times(3)
	api.On("HasPermissionToChannel", clicker.Id, channel.Id, model.PermissionReadChannel).Return(true).Times(3)
	api.On("GetUser", clicker.Id).Return(clicker, nil).Once()
	api.On("GetChannel", channel.Id).Return(channel, nil).Once()
	api.On("GetTeam", team.Id).Return(team, nil).Once()
	api.On("GetUser", recipient.Id).Return(recipient, nil).Twice()
	api.On("KVGet", "subs_"+recipient.Id).Return(nil, nil).Once()
	api.On("KVGet", "expand_"+recipient.Id).Return(nil, nil).Once()
	api.On("KVSetWithOptions", mock.Anything, mock.Anything, mock.Anything).Return(true, nil).Maybe()
	var published atomic.Int32
	api.On("PublishWebSocketEvent", "action", mock.Anything, mock.Anything).Run(func(mock.Arguments) { published.Add(1) })

	click := func() int {
		w := httptest.NewRecorder()
		p.ServeHTTP(nil, w, f.httpRequest(t))
		return w.Code
	}
	require.Equal(t, 200, click())
	now = now.Add(4 * time.Second)
	require.Equal(t, 200, click(), "served with the cached account, channel and team")

	p.UserHasBeenDeactivated(nil, recipient)
	require.Equal(t, 200, click(), "the bot's account is asked again after a deactivation")
	assert.EqualValues(t, 3, published.Load())
	api.AssertExpectations(t)
}

// TestTwoPermissionsOfOneUserAreTwoCacheEntries: a cached answer is the answer to exactly that
// question. (The bot's manage_system must never be answered with its view_members.)
func TestTwoPermissionsOfOneUserAreTwoCacheEntries(t *testing.T) {
	var c factCache
	now := time.UnixMilli(1_700_000_000_000)
	ask := func(permission string) query {
		return query{Name: "x_" + permission, Fact: "system_permission", UserID: "bot1bot1bot1bot1bot1bot1b1", Permission: permission, CacheMs: 5000}
	}
	c.put(ask("view_members"), json.RawMessage(`{"found":true}`), now)
	c.put(ask("manage_system"), json.RawMessage(`{"found":false}`), now)
	got, ok := c.get(ask("manage_system"), now)
	require.True(t, ok)
	assert.JSONEq(t, `{"found":false}`, string(got))
	got, ok = c.get(ask("view_members"), now)
	require.True(t, ok)
	assert.JSONEq(t, `{"found":true}`, string(got))
	_, ok = c.get(ask("list_public_teams"), now)
	assert.False(t, ok, "a permission never asked is not answered from the cache")
	team := query{Fact: "team_permission", UserID: "bot1bot1bot1bot1bot1bot1b1", TeamID: "teamteamteamteamteamteam01", Permission: "invite_user", CacheMs: 5000}
	c.put(team, json.RawMessage(`{"found":true}`), now)
	team.Permission = "manage_team"
	_, ok = c.get(team, now)
	assert.False(t, ok, "manage_team is not invite_user")
}

// TestAStoreOffTheRequestsPathIsSeenByTheNextRead: a read of a key on this node waits for
// the background store of it.
func TestAStoreOffTheRequestsPathIsSeenByTheNextRead(t *testing.T) {
	p, api := newTestPlugin(t)
	release := make(chan struct{})
	var stored atomic.Bool
	api.On("KVSetWithOptions", "k", []byte(`{"a":1}`), model.PluginKVSetOptions{ExpireInSeconds: 60}).
		Run(func(mock.Arguments) { <-release; stored.Store(true) }).Return(true, nil).Once()
	api.On("KVGet", "k").Return(func(string) []byte {
		if !stored.Load() {
			t.Error("read before the store finished")
		}
		return []byte(`{"a":1}`)
	}, nil).Once()

	p.carryOut([]effect{{Type: "store", Key: "k", Value: json.RawMessage(`{"a":1}`), ExpireInSeconds: 60}})
	go func() { time.Sleep(50 * time.Millisecond); close(release) }()
	got := p.ask(query{Fact: "kv_get", Key: "k"})
	assert.Equal(t, json.RawMessage(`{"a":1}`), got.value)
	api.AssertExpectations(t)
}

// holdLane takes every instance of lane's pool, as a flood of its work would, and returns what
// gives them back.
func holdLane(c *core, lane int) (release func()) {
	pool := c.pools[lane]
	held := make([]*instance, 0, cap(pool))
	for range cap(pool) {
		held = append(held, <-pool)
	}
	return func() {
		for _, inst := range held {
			pool <- inst
		}
	}
}
