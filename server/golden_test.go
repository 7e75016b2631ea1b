package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

// fixtureNode is the node every fixture runs on (tests/golden.rs names the same).
const fixtureNode = "nodenodenodenodenodenode01"

// TestGoldenFixturesThroughServeHTTP runs every shared fixture through the shim: an HTTP
// request through ServeHTTP, any other input through the hook Mattermost calls for it, with
// the real wasm core and a mock plugin API that answers the fixture's facts. It checks the
// exact API calls, the effects and the response.
func TestGoldenFixturesThroughServeHTTP(t *testing.T) {
	for name, f := range loadFixtures(t) {
		t.Run(name, func(t *testing.T) {
			p, api := newTestPlugin(t)
			// Only the fixture's own calls from here on.
			api.ExpectedCalls = nil
			p.node = fixtureNode
			p.timers.manual = true
			if f.Settings != nil {
				p.setConfiguration(&configuration{settings: f.Settings})
			}
			// The call is made at the fixture's time; a click's wait for its answer sees time
			// already up, so that a fixture with no answer does not wait for real.
			calls := 0
			p.clock = func() time.Time {
				calls++
				if calls == 1 {
					return time.UnixMilli(f.NowMs)
				}
				return time.UnixMilli(f.NowMs).Add(time.Minute)
			}
			p.random = func(b []byte) { _, _ = hex.Decode(b, []byte(f.Entropy)) }
			f.cacheStanding(t, p)
			f.cachePrefetched(t, p, api)
			f.expectFacts(t, api)
			f.handOverAnswers(p)
			published := f.expectEffects(t, api)

			w := &roundTrips{ResponseRecorder: httptest.NewRecorder()}
			coreCalls := p.core.calls.Load()
			f.run(t, p, w)
			if f.Standing != nil || f.Prefetched != nil {
				// The point of a standing or prefetched fact: the round it saves (the mock would
				// also serve a key the shim failed to attach, from the cache, when the core
				// asked; a prefetched fact the core did not take is asked again, and fails the
				// mock).
				assert.Equal(t, f.Expect.Cost.Rounds, p.core.calls.Load()-coreCalls, "core calls")
			}
			p.pending.wg.Wait() // stores off the request's path

			if f.Input == nil {
				assert.Equal(t, f.Expect.Response.Status, w.Code)
				// Mattermost reads its own requests' answers whatever their headers, and setting
				// one is a round trip to the server: none is set (the recorder, like net/http,
				// then sniffs one). Everyone else gets JSON's type.
				if f.Expect.Response.ToMattermost {
					assert.NotContains(t, w.ResponseRecorder.Header().Get("Content-Type"), "json")
				} else {
					assert.Equal(t, "application/json", w.ResponseRecorder.Header().Get("Content-Type"))
				}
				if f.Expect.Response.Body == nil {
					// Nothing to tell Mattermost, which reads no body as `{}`: nothing is
					// written, so the response costs no round trip to the server.
					assert.Zero(t, w.calls, "calls to the response writer")
					assert.Zero(t, w.Body.Len(), "the response's body")
				} else {
					assert.JSONEq(t, string(f.Expect.Response.Body), w.Body.String())
				}
			}
			f.checkHooked(t)
			f.checkEffects(t, p, *published)
			api.AssertExpectations(t)
		})
	}
}

// cacheStanding puts the fixture's standing answers in the shim's cache, as answers this
// node got at the fixture's time.
func (f *fixture) cacheStanding(t *testing.T, p *Plugin) {
	for name, answer := range f.Standing {
		i := slices.IndexFunc(p.info.Standing, func(q query) bool { return q.Name == name })
		require.GreaterOrEqual(t, i, 0, "%s is not a standing query of the core", name)
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, answer))
		p.cache.put(p.info.Standing[i], compact.Bytes(), time.UnixMilli(f.NowMs))
	}
}

// cachePrefetched fills the core's prefetch queries from the fixture's request (or websocket
// message) as the shim does. A cached answer the fixture has at hand goes in the shim's cache;
// a likely question at hand is asked beside the first call, so the plugin API answers it
// once, with the fixture's answer; a question the shim answers from its memory (a wait) is
// set up there, as the input that waits would have.
func (f *fixture) cachePrefetched(t *testing.T, p *Plugin, api *plugintest.API) {
	if f.Prefetched == nil {
		return
	}
	var in input
	var body []byte
	if f.Input == nil {
		r := f.httpRequest(t)
		var err error
		body, _, err = readBody(r.Body, -1, p.info.MaxBodyBytes)
		require.NoError(t, err)
		in.HTTP = &httpInput{Path: f.Request.Path, UserID: r.Header.Get("Mattermost-User-Id")}
	} else {
		require.NoError(t, json.Unmarshal(f.Input, &in))
	}
	key, src, ok := prefetchFor(&in, body)
	plan := p.getConfiguration().prefetch[key]
	require.True(t, ok && plan != nil, "the core prefetches nothing for %s", key)
	values, ok := plan.values(src)
	require.True(t, ok, "the request has no value for a marker it needs")
	filled := map[string]bool{}
	for _, tmpl := range plan.templates {
		_, q, ok := tmpl.fill(plan.markers, values)
		answer, given := f.Prefetched[q.Name]
		if !ok || !given {
			continue
		}
		filled[q.Name] = true
		if atHand(q) {
			var held fixtureAnswer
			require.NoError(t, json.Unmarshal(answer, &held))
			f.expectDeliveryFacts(t, api, q, held)
			continue
		}
		if q.CacheMs > 0 {
			var compact bytes.Buffer
			require.NoError(t, json.Compact(&compact, answer))
			p.cache.put(q, compact.Bytes(), time.UnixMilli(f.NowMs))
			continue
		}
		require.Equal(t, "channel_permission", q.Fact, "a likely question this test does not answer")
		var granted struct{ Found bool }
		require.NoError(t, json.Unmarshal(answer, &granted))
		api.On("HasPermissionToChannel", q.UserID, q.ChannelID, permissionByID(q.Permission)).Return(granted.Found).Once()
	}
	for name := range f.Prefetched {
		require.True(t, filled[name], "%s is not among the core's prefetch queries for this request", name)
	}
}

// run gives the plugin the fixture's input the way Mattermost would.
// roundTrips counts the calls a plugin's response writer would send to the server, one round
// trip or two each.
type roundTrips struct {
	*httptest.ResponseRecorder
	calls int
}

func (w *roundTrips) Header() http.Header {
	w.calls++
	return w.ResponseRecorder.Header()
}

func (w *roundTrips) WriteHeader(status int) {
	w.calls++
	w.ResponseRecorder.WriteHeader(status)
}

func (w *roundTrips) Write(b []byte) (int, error) {
	w.calls++
	return w.ResponseRecorder.Write(b)
}

func (f *fixture) run(t *testing.T, p *Plugin, w http.ResponseWriter) {
	if f.Input == nil {
		p.ServeHTTP(nil, w, f.httpRequest(t))
		return
	}
	var in struct {
		WebSocket    *socketMessage  `json:"web_socket"`
		Disconnected *connectionEnd  `json:"disconnected"`
		Timer        *timerDue       `json:"timer"`
		Cluster      *clusterMessage `json:"cluster"`
		Activated    *struct{}       `json:"activated"`
		PostToSave   *postToSave     `json:"post_will_be_saved"`
		PostSaved    *postSaved      `json:"post_saved"`
		PostDeleted  *postDeleted    `json:"post_deleted"`
		Command      *commandInput   `json:"command"`
	}
	require.NoError(t, json.Unmarshal(f.Input, &in))
	switch {
	case in.WebSocket != nil:
		var data map[string]any
		require.NoError(t, json.Unmarshal(in.WebSocket.Data, &data))
		p.WebSocketMessageHasBeenPosted(in.WebSocket.ConnectionID, in.WebSocket.UserID, &model.WebSocketRequest{
			Seq: in.WebSocket.Seq, Action: "custom_" + p.info.PluginID + "_" + in.WebSocket.Action, Data: data,
		})
	case in.Disconnected != nil:
		p.watched.Store(in.Disconnected.ConnectionID, true)
		p.OnWebSocketDisconnect(in.Disconnected.ConnectionID, in.Disconnected.UserID)
	case in.Timer != nil:
		p.hook(input{Timer: in.Timer})
	case in.Cluster != nil:
		p.OnPluginClusterEvent(nil, model.PluginClusterEvent{Id: clusterEventID, Data: in.Cluster.Message})
	case in.Activated != nil:
		p.hook(input{Activated: in.Activated})
	case in.PostSaved != nil:
		var post model.Post
		require.NoError(t, json.Unmarshal(in.PostSaved.Post, &post))
		if in.PostSaved.Edited {
			// The post as it was had attachments (the fixture's post may have none left).
			p.MessageHasBeenUpdated(nil, &post, &model.Post{Id: post.Id, Props: model.StringInterface{"attachments": []any{}}})
		} else {
			p.MessageHasBeenPosted(nil, &post)
		}
	case in.PostDeleted != nil:
		p.MessageHasBeenDeleted(nil, &model.Post{Id: in.PostDeleted.PostID, Props: model.StringInterface{"attachments": []any{}}})
	case in.PostToSave != nil:
		var post model.Post
		require.NoError(t, json.Unmarshal(in.PostToSave.Post, &post))
		if in.PostToSave.Edited {
			f.hooked.edited, f.hooked.given = true, &post
			f.hooked.post, f.hooked.rejection = p.MessageWillBeUpdated(nil, &post, &post)
		} else {
			f.hooked.post, f.hooked.rejection = p.MessageWillBePosted(nil, &post)
		}
	case in.Command != nil:
		response, appErr := p.ExecuteCommand(nil, in.Command.Args)
		require.Nil(t, appErr)
		f.hooked.command = response
	default:
		t.Fatalf("unknown input %s", f.Input)
	}
}

// expectEffects makes the mock API expect the fixture's effects that are plugin API calls; it
// returns where the published events are collected.
func (f *fixture) expectEffects(t *testing.T, api *plugintest.API) *[]map[string]any {
	var published []map[string]any
	for _, e := range f.Expect.Effects {
		switch e.Type {
		case "publish":
			api.On("PublishWebSocketEvent", e.Event, mock.Anything, &model.WebsocketBroadcast{UserId: e.UserID, ConnectionId: e.ConnectionID, ReliableClusterSend: e.Reliable}).
				Run(func(args mock.Arguments) { published = append(published, args.Get(1).(map[string]any)) }).Once()
		case "store":
			api.On("KVSetWithOptions", e.Key, jsonEqual(e.Value), model.PluginKVSetOptions{ExpireInSeconds: e.ExpireInSeconds}).Return(true, nil).Once()
		case "delete":
			api.On("KVDelete", e.Key).Return(nil).Once()
		case "count":
			// A count changed off the request's path: from nothing, in the fixture's store.
			api.On("KVGet", e.Key).Return(nil, nil).Once()
			api.On("KVSetWithOptions", e.Key, mock.Anything, mock.MatchedBy(func(o model.PluginKVSetOptions) bool {
				return o.Atomic && o.OldValue == nil && o.ExpireInSeconds == e.ExpireInSeconds
			})).Return(true, nil).Once()
		case "log":
			var message string
			require.NoError(t, json.Unmarshal(e.Message, &message))
			api.On(logMethods[e.Level], logArgs(message, e.Fields)...).Once()
		case "cluster":
			api.On("PublishPluginClusterEvent", mock.MatchedBy(func(ev model.PluginClusterEvent) bool {
				return ev.Id == clusterEventID && jsonSame(ev.Data, e.Message)
			}), model.PluginClusterEventSendOptions{SendType: model.PluginClusterEventSendTypeReliable}).Return(nil).Once()
		case "create_post":
			api.On("CreatePost", mock.MatchedBy(func(post *model.Post) bool {
				var want model.Post
				_ = json.Unmarshal(e.Post, &want)
				return post.UserId == want.UserId && post.ChannelId == want.ChannelId && post.RootId == want.RootId && post.Message == want.Message &&
					jsonSame(mustMarshal(post.GetProps()), mustMarshal(want.GetProps()))
			})).Return(&model.Post{}, nil).Once()
		case "register_command":
			api.On("RegisterCommand", &model.Command{Trigger: e.Trigger, DisplayName: e.DisplayName, Description: e.Description,
				AutoComplete: e.Autocomplete, AutoCompleteDesc: e.Description, AutoCompleteHint: e.Hint}).Return(nil).Once()
		case "unregister_command":
			api.On("UnregisterCommand", "", e.Trigger).Return(nil).Once()
		case "send_ephemeral":
			api.On("SendEphemeralPost", e.UserID, mock.MatchedBy(func(post *model.Post) bool {
				var want model.Post
				_ = json.Unmarshal(e.Post, &want)
				return post.Id == want.Id && post.ChannelId == want.ChannelId && post.RootId == want.RootId && post.Message == want.Message && post.UserId == want.UserId && want.UserId != "" &&
					jsonSame(mustMarshal(post.GetProps()), mustMarshal(want.GetProps()))
			})).Return(&model.Post{}).Once()
		case "update_ephemeral":
			api.On("UpdateEphemeralPost", e.UserID, mock.MatchedBy(func(post *model.Post) bool {
				var want model.Post
				_ = json.Unmarshal(e.Post, &want)
				return post.Id == want.Id && post.UserId == want.UserId && post.ChannelId == want.ChannelId && post.Message == want.Message &&
					jsonSame(mustMarshal(post.GetProps()), mustMarshal(want.GetProps()))
			})).Return(&model.Post{}).Once()
		}
	}
	return &published
}

// checkEffects checks what the effects that are not plugin API calls left behind.
func (f *fixture) checkEffects(t *testing.T, p *Plugin, published []map[string]any) {
	i := 0
	for _, e := range f.Expect.Effects {
		switch e.Type {
		case "publish":
			require.Less(t, i, len(published))
			got, err := json.Marshal(published[i])
			require.NoError(t, err)
			assert.JSONEq(t, string(e.Data), string(got), "the event data")
			i++
		case "wake":
			// No click waited in the test: the answer is kept for the one about to wait.
			p.waiters.mu.Lock()
			early, ok := p.waiters.early[e.EventID]
			p.waiters.mu.Unlock()
			if assert.True(t, ok, "woke %s", e.EventID) {
				assert.JSONEq(t, string(e.Answer), string(early.answer))
			}
		case "wake_at":
			p.timers.mu.Lock()
			_, set := p.timers.pending[e.Name]
			p.timers.mu.Unlock()
			assert.True(t, set, "timer %s set", e.Name)
		case "watch":
			_, ok := p.watched.Load(e.ConnectionID)
			assert.True(t, ok, "watching %s", e.ConnectionID)
		case "unwatch":
			_, ok := p.watched.Load(e.ConnectionID)
			assert.False(t, ok, "no longer watching %s", e.ConnectionID)
		}
	}
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func jsonSame(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && assert.ObjectsAreEqual(x, y)
}

// expectDeliveryFacts makes the mock API answer the delivery layer's storage facts: many keys,
// compare-and-set, and the capped lists, whose compare-and-set loop is fed a stored list from
// which the fixture's answer follows.
func (f *fixture) expectDeliveryFacts(t testing.TB, api *plugintest.API, q query, answer fixtureAnswer) bool {
	failed := answer.appError()
	switch q.Fact {
	case "kv_get_many":
		var values map[string]json.RawMessage
		if failed == nil {
			require.NoError(t, json.Unmarshal(answer.Found, &values))
		}
		for _, key := range q.Keys {
			var value []byte
			if v := values[key]; failed == nil && string(v) != "null" && v != nil {
				var buf bytes.Buffer
				require.NoError(t, json.Compact(&buf, v))
				value = buf.Bytes()
			}
			api.On("KVGet", key).Return(value, failed).Once()
		}
	case "kv_cas":
		api.On("KVSetWithOptions", q.Key, jsonEqual(q.New), model.PluginKVSetOptions{Atomic: true, OldValue: []byte(q.Old), ExpireInSeconds: q.ExpireInSeconds}).
			Return(string(answer.Found) == "true", failed).Once()
	case "list_push", "list_remove":
		var want struct {
			Dropped []json.RawMessage `json:"dropped"`
			Removed int               `json:"removed"`
			Len     int               `json:"len"`
		}
		if failed == nil {
			require.NoError(t, json.Unmarshal(answer.Found, &want))
		}
		items := append([]json.RawMessage{}, want.Dropped...)
		field := q.Unique
		if q.Fact == "list_remove" {
			field = q.Field
			for range want.Removed {
				items = append(items, json.RawMessage(fmt.Sprintf(`{%q:%s}`, field, q.Value)))
			}
		}
		fillers := want.Len
		if q.Fact == "list_push" {
			fillers--
		}
		for n := range max(fillers, 0) {
			items = append(items, json.RawMessage(fmt.Sprintf(`{%q:"filler%d"}`, field, n)))
		}
		var stored []byte
		if len(items) > 0 || q.Fact == "list_remove" {
			stored, _ = json.Marshal(listDoc{Items: items})
		}
		// Read once by the compare-and-set that succeeds, and once before by a removal (which
		// leaves a list that does not exist alone).
		reads := 1
		if q.Fact == "list_remove" {
			reads = 2
		}
		api.On("KVGet", q.Key).Return(stored, nil).Times(reads)
		api.On("KVSetWithOptions", q.Key, mock.Anything, mock.MatchedBy(func(o model.PluginKVSetOptions) bool {
			return o.Atomic && bytes.Equal(o.OldValue, stored) && o.ExpireInSeconds == q.ExpireInSeconds
		})).Return(failed == nil, failed).Once()
	case "await":
		// The answer the bot gives, handed over before the input waits: a claim for a wait
		// with what it holds, a wake for one without (a relayed acknowledgement's result).
		if failed == nil && string(answer.Found) != "null" {
			f.wakes = append(f.wakes, fixtureWake{eventID: q.EventID, answer: answer.Found, held: q.Held})
		}
	case "held":
		// What this node knows of the wait: registered as the click's await would have.
		var held struct {
			State string `json:"state"`
			Bot   string `json:"bot"`
			Event string `json:"event"`
		}
		if failed == nil && string(answer.Found) != "null" {
			require.NoError(t, json.Unmarshal(answer.Found, &held))
			f.waits = append(f.waits, fixtureWait{eventID: q.EventID, state: held.State,
				held: mustMarshal(map[string]string{"bot": held.Bot, "event": held.Event})})
		}
	case "claim":
		// Follows from the wait registered for "held".
	case "queue_push":
		var want struct {
			Seq     uint64    `json:"seq"`
			Dropped [2]uint64 `json:"dropped"`
		}
		if failed == nil {
			require.NoError(t, json.Unmarshal(answer.Found, &want))
		}
		count := uint64(max(q.Count, 1))
		before := queueRange{First: want.Dropped[0], Next: want.Seq}
		after := queueRange{First: max(want.Dropped[0], want.Dropped[1]), Next: want.Seq + count, Dropped: want.Dropped[1] - want.Dropped[0]}
		var stored []byte
		if before != (queueRange{}) {
			stored = mustMarshal(before)
		}
		api.On("KVGet", q.Key).Return(stored, nil).Once()
		api.On("KVSetWithOptions", q.Key, jsonEqual(mustMarshal(after)), model.PluginKVSetOptions{Atomic: true, OldValue: stored, ExpireInSeconds: q.ExpireInSeconds}).
			Return(failed == nil, failed).Once()
	case "count":
		var want struct {
			Value     *uint64 `json:"value"`
			AtCeiling *uint64 `json:"at_ceiling"`
		}
		if failed == nil {
			require.NoError(t, json.Unmarshal(answer.Found, &want))
		}
		var before uint64
		switch {
		case want.AtCeiling != nil:
			before = *want.AtCeiling
		case want.Value != nil:
			before = uint64(int64(*want.Value) - q.By)
		}
		var stored []byte
		if before > 0 {
			stored = mustMarshal(before)
		}
		api.On("KVGet", q.Key).Return(stored, nil).Once()
		if want.AtCeiling == nil {
			api.On("KVSetWithOptions", q.Key, mock.Anything, model.PluginKVSetOptions{Atomic: true, OldValue: stored, ExpireInSeconds: q.ExpireInSeconds}).
				Return(failed == nil, failed).Once()
		}
	case "kv_set_many":
		for key, value := range q.Entries {
			api.On("KVSetWithOptions", key, jsonEqual(value), model.PluginKVSetOptions{ExpireInSeconds: q.ExpireInSeconds}).Return(failed == nil, failed).Once()
		}
	case "update_post":
		api.On("UpdatePost", mock.MatchedBy(func(post *model.Post) bool {
			var want model.Post
			_ = json.Unmarshal(q.Post, &want)
			return post.Id == want.Id && post.Message == want.Message
		})).Return(&model.Post{}, failed).Once()
	default:
		return false
	}
	return true
}

// fixtureWait is a wait the fixture says this node holds (the held fact's answer).
type fixtureWait struct {
	eventID, state string
	held           json.RawMessage
}

// handOverAnswers sets up the fixture's waits and hands over its awaited answers, as
// acknowledgements would.
func (f *fixture) handOverAnswers(p *Plugin) {
	for _, w := range f.waits {
		p.waiters.expect(w.eventID, w.held)
		p.waiters.mu.Lock()
		wt := p.waiters.waiting[w.eventID]
		wt.state = w.state
		p.waiters.mu.Unlock()
		if w.state != "waiting" {
			p.waiters.decided([]string{w.eventID})
		}
	}
	for _, w := range f.wakes {
		if w.held != nil {
			p.waiters.expect(w.eventID, w.held)
			p.waiters.claim(w.eventID, w.answer, nil)
			continue
		}
		p.waiters.wake(w.eventID, w.answer)
	}
}

// fixtureWake is an answer the fixture's await is answered with.
type fixtureWake struct {
	eventID string
	answer  json.RawMessage
	held    json.RawMessage
}

// checkHooked compares a post hook's answer with the fixture's: the rejection, and the props of
// the post to save instead (the rest of the post is Mattermost's, passed through).
func (f *fixture) checkHooked(t *testing.T) {
	if string(f.Expect.Command) == "null" {
		// Handed back: no response and no error, and Mattermost runs what it would have run.
		assert.Nil(t, f.hooked.command, "ExecuteCommand hands the command back")
		return
	}
	if len(f.Expect.Command) > 0 {
		require.NotNil(t, f.hooked.command, "ExecuteCommand answers")
		var want model.CommandResponse
		require.NoError(t, json.Unmarshal(f.Expect.Command, &want))
		assert.Equal(t, &want, f.hooked.command, "the command's response")
		return
	}
	assert.Equal(t, f.Expect.Rejection, f.hooked.rejection)
	if len(f.Expect.Post) == 0 {
		if f.hooked.edited {
			// MessageWillBeUpdated hands the post back: nil would reject the edit.
			assert.Same(t, f.hooked.given, f.hooked.post, "the edit is saved as it is")
		} else {
			assert.Nil(t, f.hooked.post, "the post is saved as it is")
		}
		return
	}
	require.NotNil(t, f.hooked.post, "the hook changes the post")
	var want struct {
		Props json.RawMessage `json:"props"`
	}
	require.NoError(t, json.Unmarshal(f.Expect.Post, &want))
	got, err := json.Marshal(f.hooked.post.GetProps())
	require.NoError(t, err)
	assert.JSONEq(t, string(want.Props), string(got))
}
