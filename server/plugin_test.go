package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

// fixture is one file of ../tests/fixtures/{actions,dialogs,lint}, shared with `cargo test`.
type fixture struct {
	Description string          `json:"description"`
	NowMs       int64           `json:"now_ms"`
	Entropy     string          `json:"entropy"`
	Settings    json.RawMessage `json:"settings"`
	Request     struct {
		Method       string          `json:"method"`
		Path         string          `json:"path"`
		UserID       *string         `json:"user_id"`
		Body         json.RawMessage `json:"body"`
		BodyText     *string         `json:"body_text"`
		BodyBase64   *string         `json:"body_base64"`
		BodyTooLarge bool            `json:"body_too_large"`
		// Internal: Mattermost made the request inside the server (no remote address).
		Internal bool `json:"internal"`
	} `json:"request"`
	// Facts are keyed by the name the core asks them under.
	Facts map[string]fixtureAnswer `json:"facts"`
	// Standing are answers to the core's standing queries this node has cached: the shim
	// attaches them to the first call, unasked.
	Standing map[string]json.RawMessage `json:"standing"`
	// Prefetched are answers at hand before the first call, to the core's prefetch queries
	// filled from the request: a cached answer is in the shim's cache, a likely one is what
	// the plugin API answers when the shim asks beside the call.
	Prefetched map[string]json.RawMessage `json:"prefetched"`
	// Input is any input but an HTTP request, as the shim writes it (a websocket message, a hook).
	Input json.RawMessage `json:"input"`
	// wakes are the answers bots give to awaited events, handed over before the input runs;
	// waits are the waits this node holds, as the held fact says.
	wakes []fixtureWake
	waits []fixtureWait
	// warm: the fixture runs on a plugin that activated as newTestPlugin does (the signing key
	// is in the shim's cache already).
	warm   bool
	Expect struct {
		Queries  []query         `json:"queries"`
		Effects  []fixtureEffect `json:"effects"`
		Response struct {
			Status int             `json:"status"`
			Body   json.RawMessage `json:"body"`
			// Written without headers: the answer to a request Mattermost itself makes.
			ToMattermost bool `json:"to_mattermost"`
		} `json:"response"`
		// A post hook's answer: the post to save instead, or why it is refused.
		Post      json.RawMessage `json:"post"`
		Rejection string          `json:"rejection"`
		// ExecuteCommand's answer.
		Command json.RawMessage `json:"command"`
		// What the flow costs: its core calls.
		Cost struct {
			Rounds int64 `json:"rounds"`
		} `json:"cost"`
	} `json:"expect"`
	// hooked is what a hook returned, for the check.
	hooked struct {
		post      *model.Post
		rejection string
		command   *model.CommandResponse
		edited    bool        // the post hook was MessageWillBeUpdated
		given     *model.Post // the post it was given
	}
}

// fixtureEffect is one effect a fixture expects, with every field any effect has.
type fixtureEffect struct {
	Type            string            `json:"type"`
	Key             string            `json:"key"`
	Value           json.RawMessage   `json:"value"`
	ExpireInSeconds int64             `json:"expire_in_seconds"`
	Event           string            `json:"event"`
	UserID          string            `json:"user_id"`
	ConnectionID    string            `json:"connection_id"`
	Data            json.RawMessage   `json:"data"`
	Reliable        bool              `json:"reliable"`
	Level           string            `json:"level"`
	Message         json.RawMessage   `json:"message"`
	Fields          map[string]string `json:"fields"`
	EventID         string            `json:"event_id"`
	Answer          json.RawMessage   `json:"answer"`
	Name            string            `json:"name"`
	AtMs            int64             `json:"at_ms"`
	Post            json.RawMessage   `json:"post"`
	Fact            *query            `json:"fact"`
	Trigger         string            `json:"trigger"`
	DisplayName     string            `json:"display_name"`
	Description     string            `json:"description"`
	Hint            string            `json:"hint"`
	Autocomplete    bool              `json:"autocomplete"`
}

// fixtureAnswer is Mattermost's answer to one query: found, or an error.
type fixtureAnswer struct {
	Found  json.RawMessage `json:"found"`
	Failed *factError      `json:"failed"`
}

// appError is the error the plugin API returns for a failed answer; nil when found. Its
// Error() renders just the fixture's message, as the fixture names it.
func (a fixtureAnswer) appError() *model.AppError {
	if a.Failed == nil {
		return nil
	}
	return &model.AppError{Id: a.Failed.ID, Message: model.NoTranslation, DetailedError: a.Failed.Message, StatusCode: a.Failed.Status}
}

func loadFixtures(t testing.TB) map[string]*fixture {
	out := map[string]*fixture{}
	for dir, least := range map[string]int{"actions": 30, "commands": 8, "delivery": 30, "dialogs": 10, "ephemeral": 5, "expand": 5, "lint": 5, "signing": 5} {
		files, err := filepath.Glob("../tests/fixtures/" + dir + "/*.json")
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(files), least, "the shared %s fixtures are missing", dir)
		for _, file := range files {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			var f fixture
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			require.NoError(t, dec.Decode(&f), file)
			name := strings.TrimSuffix(filepath.Base(file), ".json")
			if dir != "actions" {
				name = strings.TrimSuffix(strings.TrimSuffix(dir, "s"), "ing") + "_" + name
			}
			out[name] = &f
		}
	}
	return out
}

// newTestPlugin activates a plugin on a mock API with the default settings.
func newTestPlugin(t testing.TB) (*Plugin, *plugintest.API) {
	api := &plugintest.API{}
	api.On("GetPluginConfig").Return(map[string]any{}).Maybe()
	// Activation keeps compiled code beside the bundle; none here (the in-process cache serves).
	api.On("GetBundlePath").Return("", nil).Maybe()
	api.On("GetConfig").Return(testServerConfig()).Maybe()
	// Activation beats and looks for bots to remind to subscribe.
	api.On("KVGet", "bots").Return(nil, nil).Maybe()
	api.On("KVGet", "commands").Return(nil, nil).Maybe()
	// Activation makes sure the signing key exists; here it does (the fixtures' key).
	api.On("KVGet", "signing_key").Return([]byte(`{"id":"8f3a1c2e","secret":"000102030405060708090a0b0c0d0e0f"}`), nil).Maybe()
	api.On("KVSetWithOptions", mock.MatchedBy(func(key string) bool { return strings.HasPrefix(key, "node_") }), mock.Anything, mock.Anything).Return(true, nil).Maybe()
	api.On("LogInfo", "plugin activated", mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Maybe()
	p := &Plugin{}
	p.SetAPI(api)
	require.NoError(t, p.OnActivate())
	p.pending.wg.Wait() // the heartbeat, stored off activation's path
	t.Cleanup(func() { _ = p.OnDeactivate() })
	return p, api
}

func (f *fixture) httpRequest(t testing.TB) *http.Request {
	var body []byte
	switch {
	case f.Request.BodyTooLarge:
		body = bytes.Repeat([]byte("x"), 1<<20+1)
	case f.Request.Body != nil:
		body = f.Request.Body
	case f.Request.BodyText != nil:
		body = []byte(*f.Request.BodyText)
	case f.Request.BodyBase64 != nil:
		var err error
		body, err = base64.StdEncoding.DecodeString(*f.Request.BodyBase64)
		require.NoError(t, err)
	}
	r := httptest.NewRequest(f.Request.Method, f.Request.Path, bytes.NewReader(body))
	if f.Request.UserID != nil {
		r.Header.Set("Mattermost-User-Id", *f.Request.UserID)
	}
	if f.Request.Internal {
		r.RemoteAddr = "" // as doPluginRequest makes it
	}
	return r
}

// allowDelivery lets the plugin keep what it keeps off the request's path (a trigger's place)
// and find that the bots never subscribed, for tests about something else.
func allowDelivery(api *plugintest.API) {
	api.On("KVSetWithOptions", mock.Anything, mock.Anything, mock.Anything).Return(true, nil).Maybe()
	api.On("KVGet", mock.MatchedBy(func(key string) bool { return strings.HasPrefix(key, "subs_") || strings.HasPrefix(key, "expand_") })).Return(nil, nil).Maybe()
}

// jsonEqual matches a []byte argument holding the same JSON document as want.
func jsonEqual(want json.RawMessage) any {
	return mock.MatchedBy(func(got []byte) bool {
		var g, w any
		return json.Unmarshal(got, &g) == nil && json.Unmarshal(want, &w) == nil && assert.ObjectsAreEqual(w, g)
	})
}

// expectFacts makes the mock API answer the fixture's facts the way Mattermost would.
// A fact asked again under another name with a cache allowance (an expansion of the clicker
// the click read already, with one) is served from the shim's cache: Mattermost is asked once.
// expectFactsWarm is expectFacts on a plugin activated by newTestPlugin, its key cached.
func (f *fixture) expectFactsWarm(t testing.TB, api *plugintest.API) {
	f.warm = true
	f.expectFacts(t, api)
}

func (f *fixture) expectFacts(t testing.TB, api *plugintest.API) {
	asked := map[string]bool{}
	for _, q := range f.Expect.Queries {
		answer, ok := f.Facts[q.Name]
		require.True(t, ok, "the fixture does not answer %q", q.Name)
		failed := answer.appError()
		same := q
		same.Name, same.CacheMs = "", 0
		key, err := json.Marshal(same)
		require.NoError(t, err)
		if asked[string(key)] && q.CacheMs > 0 {
			continue
		}
		asked[string(key)] = asked[string(key)] || q.CacheMs > 0
		switch q.Fact {
		case "post":
			var post *model.Post
			if failed == nil {
				require.NoError(t, json.Unmarshal(answer.Found, &post))
			}
			api.On("GetPost", q.PostID).Return(post, failed).Once()
		case "user":
			var user *model.User
			if failed == nil {
				require.NoError(t, json.Unmarshal(answer.Found, &user))
			}
			api.On("GetUser", q.UserID).Return(user, failed).Once()
		case "channel":
			var channel *model.Channel
			if failed == nil {
				require.NoError(t, json.Unmarshal(answer.Found, &channel))
			}
			api.On("GetChannel", q.ChannelID).Return(channel, failed).Once()
		case "team":
			var team *model.Team
			if failed == nil {
				require.NoError(t, json.Unmarshal(answer.Found, &team))
			}
			api.On("GetTeam", q.TeamID).Return(team, failed).Once()
		case "kv_get":
			var value []byte
			if failed == nil && string(answer.Found) != "null" {
				var buf bytes.Buffer
				require.NoError(t, json.Compact(&buf, answer.Found))
				value = buf.Bytes()
			}
			call := api.On("KVGet", q.Key).Return(value, failed)
			if q.Key == "signing_key" && f.warm {
				// Activation read the key, and the shim keeps it a minute.
				call.Maybe()
			} else {
				call.Once()
			}
		case "kv_set":
			api.On("KVSetWithOptions", q.Key, jsonEqual(q.Value), model.PluginKVSetOptions{ExpireInSeconds: q.ExpireInSeconds}).Return(failed == nil, failed).Once()
		case "kv_create":
			api.On("KVSetWithOptions", q.Key, jsonEqual(q.Value), model.PluginKVSetOptions{Atomic: true, ExpireInSeconds: q.ExpireInSeconds}).Return(string(answer.Found) == "true", failed).Once()
		case "mattermost_commands":
			var served struct {
				BuiltIn []string `json:"built_in"`
				Plugins []string `json:"plugins"`
				Custom  []string `json:"custom"`
			}
			require.NoError(t, json.Unmarshal(answer.Found, &served))
			commands := func(triggers []string) []*model.Command {
				out := []*model.Command{}
				for _, t := range triggers {
					out = append(out, &model.Command{Trigger: t})
				}
				return out
			}
			api.On("ListBuiltInCommands").Return(commands(served.BuiltIn), nil).Once()
			api.On("ListPluginCommands", "").Return(commands(served.Plugins), nil).Once()
			api.On("GetTeams").Return([]*model.Team{{Id: "teamteamteamteamteamteam01"}}, nil).Once()
			api.On("ListCustomCommands", "teamteamteamteamteamteam01").Return(commands(served.Custom), nil).Once()
		case "kv_create_any":
			// Every key is taken up to the one the fixture says was free (none: all taken).
			var won *string
			if failed == nil {
				require.NoError(t, json.Unmarshal(answer.Found, &won))
			}
			for _, key := range q.Keys {
				free := won != nil && key == *won
				api.On("KVSetWithOptions", key, jsonEqual(q.Value), model.PluginKVSetOptions{Atomic: true, ExpireInSeconds: q.ExpireInSeconds}).Return(free, failed).Once()
				if free || failed != nil {
					break
				}
			}
		case "team_commands":
			if failed != nil {
				api.On("ListCustomCommands", q.TeamID).Return(nil, failed).Once()
				break
			}
			var triggers []string
			require.NoError(t, json.Unmarshal(answer.Found, &triggers))
			commands := []*model.Command{}
			for _, trigger := range triggers {
				commands = append(commands, &model.Command{Trigger: trigger, TeamId: q.TeamID})
			}
			api.On("ListCustomCommands", q.TeamID).Return(commands, nil).Once()
		case "kv_consume":
			api.On("KVCompareAndDelete", q.Key, []byte(q.Expected)).Return(string(answer.Found) == "true", failed).Once()
		case "open_dialog":
			var request model.OpenDialogRequest
			require.NoError(t, json.Unmarshal(q.Request, &request))
			api.On("OpenInteractiveDialog", request).Return(failed).Once()
		case "channel_permission":
			permission := permissionByID(q.Permission)
			require.NotNil(t, permission, q.Permission)
			api.On("HasPermissionToChannel", q.UserID, q.ChannelID, permission).Return(string(answer.Found) == "true").Once()
		case "channel_permissions":
			permission := permissionByID(q.Permission)
			require.NotNil(t, permission, q.Permission)
			var allowed map[string]bool
			require.NoError(t, json.Unmarshal(answer.Found, &allowed))
			for _, id := range q.ChannelIDs {
				api.On("HasPermissionToChannel", q.UserID, id, permission).Return(allowed[id]).Once()
			}
		case "users":
			var each map[string]fixtureAnswer
			require.NoError(t, json.Unmarshal(answer.Found, &each))
			for _, id := range q.UserIDs {
				var user *model.User
				failed := each[id].appError()
				if failed == nil {
					require.NoError(t, json.Unmarshal(each[id].Found, &user))
				}
				api.On("GetUser", id).Return(user, failed).Once()
			}
		case "team_permission":
			permission := permissionByID(q.Permission)
			require.NotNil(t, permission, q.Permission)
			api.On("HasPermissionToTeam", q.UserID, q.TeamID, permission).Return(string(answer.Found) == "true").Once()
		case "system_permission":
			permission := permissionByID(q.Permission)
			require.NotNil(t, permission, q.Permission)
			api.On("HasPermissionTo", q.UserID, permission).Return(string(answer.Found) == "true").Once()
		case "privacy_settings":
			var settings struct {
				Email  bool   `json:"show_email_address"`
				Names  bool   `json:"show_full_name"`
				Locale string `json:"default_client_locale"`
				Comply bool   `json:"compliance_enabled"`
			}
			require.NoError(t, json.Unmarshal(answer.Found, &settings))
			cfg := &model.Config{}
			cfg.SetDefaults()
			cfg.PrivacySettings.ShowEmailAddress = &settings.Email
			cfg.PrivacySettings.ShowFullName = &settings.Names
			cfg.LocalizationSettings.DefaultClientLocale = &settings.Locale
			cfg.ComplianceSettings.Enable = &settings.Comply
			api.On("GetConfig").Return(cfg).Once()
		default:
			if !f.expectDeliveryFacts(t, api, q, answer) {
				t.Fatalf("unknown fact %q", q.Fact)
			}
		}
	}
}

func logArgs(message string, fields map[string]string) []any {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := []any{message}
	for _, k := range keys {
		args = append(args, k, fields[k])
	}
	return args
}

var logMethods = map[string]string{"debug": "LogDebug", "info": "LogInfo", "warn": "LogWarn", "error": "LogError"}

// TestPublishedDataSurvivesTheGobRPC sends the event data of the richest fixture through gob,
// exactly as the plugin RPC does, and checks the JSON the server would send the bot.
func TestPublishedDataSurvivesTheGobRPC(t *testing.T) {
	f := loadFixtures(t)["nested_context"]
	published := f.Expect.Effects[len(f.Expect.Effects)-1]
	require.Equal(t, "publish", published.Type)
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(published.Data))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&data))
	payload := gobSafe(data).(map[string]any)

	// The RPC argument struct for PublishWebSocketEvent, as server/public/plugin declares it.
	type publishArgs struct {
		A string
		B map[string]any
		C *model.WebsocketBroadcast
	}
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(&publishArgs{A: "action", B: payload, C: &model.WebsocketBroadcast{UserId: "u"}}))
	var received publishArgs
	require.NoError(t, gob.NewDecoder(&buf).Decode(&received))
	got, err := json.Marshal(received.B)
	require.NoError(t, err)

	// gob turns an empty slice into nil, so the one empty array arrives as null.
	want := strings.Replace(string(published.Data), `"empty_list": []`, `"empty_list": null`, 1)
	require.NotEqual(t, want, string(published.Data), "the fixture has an empty list")
	assert.JSONEq(t, want, string(got))
	assert.Contains(t, string(got), `"big":9007199254740992`, "integers keep every digit")
	assert.Contains(t, string(got), `"nothing":null`, "nulls pass")
}

func TestCoreImportsNothing(t *testing.T) {
	c, err := newCore(context.Background(), [lanes]int{1, 1}, maxMemoryPages, "")
	require.NoError(t, err)
	defer c.Close(context.Background())
	assert.Empty(t, c.compiled.ImportedFunctions())
	assert.Empty(t, c.compiled.ImportedMemories())
}

func TestInstanceMemoryStaysSmall(t *testing.T) {
	p, api := newTestPlugin(t)
	f := loadFixtures(t)["button"]
	f.expectFactsWarm(t, api)
	allowDelivery(api)
	api.On("PublishWebSocketEvent", mock.Anything, mock.Anything, mock.Anything)
	w := httptest.NewRecorder()
	p.ServeHTTP(nil, w, f.httpRequest(t))
	require.Equal(t, 200, w.Code)
	for _, pool := range p.core.pools {
		for range cap(pool) {
			inst := <-pool
			assert.LessOrEqual(t, inst.memory.Size(), uint32(keepMemoryBytes))
			defer func() { pool <- inst }()
		}
	}
}

// memoryHog is a body (under the 1 MiB limit) that an instance capped at hogPages cannot even
// take in: copying it into the instance's memory runs it out, a real trap. With the production
// cap it is an ordinary (refused) request.
func memoryHog() []byte {
	return []byte(`{"user_id":"alicealicealicealicealice1","context":"` + strings.Repeat("x", 600_000) + `"}`)
}

// hogPages caps a test core at 512 KiB: room for the module at rest (256 KiB), not for memoryHog.
const hogPages = 8

// TestTrappedInstanceIsClosedAndReplaced runs the core out of memory, a real trap, and checks
// the trapped instance is closed, never handed out again, and the next call is served.
func TestTrappedInstanceIsClosedAndReplaced(t *testing.T) {
	ctx := context.Background()
	c, err := newCore(ctx, [lanes]int{1, 1}, hogPages, "")
	require.NoError(t, err)
	defer c.Close(ctx)
	pool := c.pools[laneInteractive]
	trapped := <-pool
	pool <- trapped

	_, _, err = c.call(ctx, laneInteractive, fuelUnbounded, plainCall([]byte(`{"handle":{"input":{"http":{"method":"POST","path":"/api/v1/handler","user_id":"alicealicealicealicealice1"}},"now_ms":1,"entropy":"00000000000000000000000000000000","node":"nodenodenodenodenodenode01","settings":{"verify_provenance":true,"allow_unverified_ephemeral":false}}}`)), memoryHog())
	require.ErrorIs(t, err, errCoreTrapped)
	assert.True(t, trapped.module.IsClosed(), "a trapped instance is closed")

	for range 3 {
		out, _, err := c.call(ctx, laneInteractive, fuelUnbounded, plainCall([]byte(`"info"`)), nil)
		require.NoError(t, err)
		assert.Contains(t, string(out), `"kind":"info"`)
	}
	next := <-pool
	assert.NotSame(t, trapped, next, "the trapped instance is never reused")
	pool <- next
}

// TestTrapDuringARequestAnswersTheUser checks what the clicker sees when the core traps: the
// core's own internal-error body from a fresh instance, a log line, and service goes on.
func TestTrapDuringARequestAnswersTheUser(t *testing.T) {
	p, api := newTestPlugin(t)
	small, err := newCore(context.Background(), [lanes]int{1, 1}, hogPages, "")
	require.NoError(t, err)
	_ = p.core.Close(context.Background())
	p.core = small

	api.On("LogError", "request refused", "error_code", "internal_error", "reason", mock.MatchedBy(func(s string) bool {
		return strings.Contains(s, "the core trapped")
	})).Once()
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/api/v1/handler", bytes.NewReader(memoryHog()))
	r.Header.Set("Mattermost-User-Id", "alicealicealicealicealice1")
	p.ServeHTTP(nil, w, r)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Contains(t, w.Body.String(), `"code":"internal_error"`)
	assert.Contains(t, w.Body.String(), `"ephemeral_text":"Your click was not delivered because the plugin ran into an internal error.`)

	f := loadFixtures(t)["button"]
	f.expectFactsWarm(t, api)
	allowDelivery(api)
	api.On("PublishWebSocketEvent", "action", mock.Anything, mock.Anything).Once()
	w = httptest.NewRecorder()
	p.ServeHTTP(nil, w, f.httpRequest(t))
	assert.Equal(t, 200, w.Code, "the next click is served")
	api.AssertExpectations(t)
}

func TestConcurrentRequestsAllSucceed(t *testing.T) {
	p, api := newTestPlugin(t)
	f := loadFixtures(t)["button"]
	var post *model.Post
	require.NoError(t, json.Unmarshal(f.Facts["post"].Found, &post))
	var recipient, clicker *model.User
	require.NoError(t, json.Unmarshal(f.Facts["recipient"].Found, &recipient))
	require.NoError(t, json.Unmarshal(f.Facts["clicker"].Found, &clicker))
	api.On("GetPost", mock.Anything).Return(post, nil)
	api.On("GetUser", recipient.Id).Return(recipient, nil)
	api.On("GetUser", clicker.Id).Return(clicker, nil)
	api.On("HasPermissionToChannel", mock.Anything, mock.Anything, mock.Anything).Return(true)
	var channel *model.Channel
	require.NoError(t, json.Unmarshal(f.Facts["channel"].Found, &channel))
	var team *model.Team
	require.NoError(t, json.Unmarshal(f.Facts["team"].Found, &team))
	api.On("GetChannel", mock.Anything).Return(channel, nil)
	api.On("GetTeam", mock.Anything).Return(team, nil)
	allowDelivery(api)
	var mu sync.Mutex
	ids := map[string]bool{}
	api.On("PublishWebSocketEvent", "action", mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		mu.Lock()
		defer mu.Unlock()
		ids[args.Get(1).(map[string]any)["proxy"].(map[string]any)["event_id"].(string)] = true
	})

	const n = 200
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := httptest.NewRecorder()
			p.ServeHTTP(nil, w, f.httpRequest(t))
			codes[i] = w.Code
		}()
	}
	wg.Wait()
	for i, code := range codes {
		assert.Equal(t, 200, code, "request %d", i)
	}
	assert.Len(t, ids, n, "every click is published once, each with its own event id")
}

// testServerConfig is the server's configuration the tests' plugins read: its Site URL.
func testServerConfig() *model.Config {
	cfg := &model.Config{}
	cfg.ServiceSettings.SiteURL = model.NewPointer("https://chat.example.com")
	return cfg
}
