package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/segmentio/encoding/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shim fills a prefetch query twice, as text (what the core compares) and as the decoded
// query (what the cache and the plugin API read): the two must say the same, or a cached
// answer would be looked up under another question than the one the core takes it for.
func TestPrefetchFillsTheQueryAsItsText(t *testing.T) {
	p, _ := newTestPlugin(t)
	for _, path := range []string{"/api/v1/handler", "/api/v1/ack", "websocket:ack", "command"} {
		plan := p.getConfiguration().prefetch[path]
		require.NotNil(t, plan, path)
		require.NotEmpty(t, plan.templates, path)
		values := make([]string, len(plan.markers))
		for i := range values {
			values[i] = "abcdefghijklmnopqrstuvw" + string(rune('a'+i)) + "01"
		}
		for _, tmpl := range plan.templates {
			raw, q, ok := tmpl.fill(plan.markers, values)
			require.True(t, ok)
			var decoded query
			require.NoError(t, json.Unmarshal(raw, &decoded))
			assert.Equal(t, decoded, q, "%s", raw)
			assert.Equal(t, cacheKey(decoded), cacheKey(q))
			for _, m := range plan.markers {
				assert.NotContains(t, string(raw), m.id)
			}
		}
	}
}

// countingPermissions is the no-op API counting the permission checks and the publishes.
type countingPermissions struct {
	*noopAPI
	asked, published atomic.Int64
}

func (a *countingPermissions) HasPermissionToChannel(string, string, *model.Permission) bool {
	a.asked.Add(1)
	return true
}

func (a *countingPermissions) PublishWebSocketEvent(string, map[string]any, *model.WebsocketBroadcast) {
	a.published.Add(1)
}

// SPEC §7, the cost of a hostile request: what the shim asks before the core has read a
// request is bounded by what was clicked lately. A forged click (another user's id in the
// body) naming ids nobody clicked lately costs no round trip before the core refuses it; one
// naming a post clicked a moment ago costs the one permission check a click makes, and is
// refused as before; an id not written plainly (escaped) is prefetched for by nobody.
func TestAForgedClickIsAskedAtMostOnePermissionBeforeTheCore(t *testing.T) {
	noop, body, user := clickAPI(t)
	api := &countingPermissions{noopAPI: noop}
	p := activated(t, api)
	serve := func(body []byte) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/api/v1/handler", bytes.NewReader(body))
		r.Header.Set("Mattermost-User-Id", user)
		w := httptest.NewRecorder()
		p.ServeHTTP(nil, w, r)
		return w
	}
	require.Equal(t, 200, serve(body).Code) // the post, the accounts, the channel: cached
	var click map[string]any
	require.NoError(t, json.Unmarshal(body, &click))
	forged := func(change func(map[string]any)) []byte {
		c := map[string]any{}
		for k, v := range click {
			c[k] = v
		}
		c["user_id"] = "mallorymallorymallorymall1" // not the caller: refused before any fact
		change(c)
		b, err := json.Marshal(c)
		require.NoError(t, err)
		return b
	}

	// The same id, its first letter written as a JSON escape: the same string to a JSON reader.
	escaped := func(body []byte, field string) []byte {
		at := bytes.Index(body, []byte(`"`+field+`":"`)) + len(field) + 4
		return append(append(append([]byte{}, body[:at]...), fmt.Sprintf(`\u%04x`, body[at])...), body[at+1:]...)
	}
	for name, tc := range map[string]struct {
		body  []byte
		asked int64
	}{
		"ids nobody clicked lately": {forged(func(c map[string]any) {
			c["post_id"], c["channel_id"] = "unknownpostunknownpost0001", "unknownchannelunknownchan1"
		}), 0},
		"the post clicked a moment ago": {forged(func(map[string]any) {}), 1},
		"the channel's id escaped":      {escaped(forged(func(map[string]any) {}), "channel_id"), 0},
	} {
		before, published := api.asked.Load(), api.published.Load()
		w := serve(tc.body)
		assert.Equal(t, 403, w.Code, "%s: %s", name, w.Body.String())
		assert.Contains(t, w.Body.String(), "user_mismatch", name)
		assert.Equal(t, tc.asked, api.asked.Load()-before, "%s: permission checks", name)
		assert.Equal(t, published, api.published.Load(), "%s: nothing published", name)
	}
}

// What the shim reads of a click for prefetching: the header's caller, then each id where
// the core says, as a JSON reader would read it (the last of a key written twice), and
// nothing it could not read the same way (an escaped key, a value in an array, a marker).
func TestPrefetchReadsTheIdsWhereTheCoreSays(t *testing.T) {
	p, _ := newTestPlugin(t)
	plan := p.getConfiguration().prefetch["/api/v1/handler"]
	require.NotNil(t, plan)
	const (
		alice = "alicealicealicealicealice1"
		post  = "postpostpostpostpostpost01"
		other = "otherpostotherpostotherp01"
		chann = "chanchanchanchanchanchan01"
		bot   = "bot1bot1bot1bot1bot1bot1b1"
		team  = "teamteamteamteamteamteam01"
	)
	read := func(user, body string) map[string]string {
		values, ok := plan.values(prefetchSource{user: user, body: []byte(body)})
		if !ok {
			return nil
		}
		got := map[string]string{}
		for i, m := range plan.markers {
			if values[i] != "" {
				got[strings.Join(append([]string{map[bool]string{true: "user", false: "body"}[m.source == fromUser]}, m.bodyPath...), ".")] = values[i]
			}
		}
		return got
	}
	click := `{"post_id":"` + post + `","channel_id":"` + chann + `","team_id":"` + team + `","context":{"user_id":"` + bot + `"}}`
	assert.Equal(t, map[string]string{"user": alice, "body.post_id": post, "body.channel_id": chann, "body.team_id": team, "body.context.user_id": bot}, read(alice, click))

	// A direct message has no team: the rest is still read.
	dm := strings.Replace(click, team, "", 1)
	assert.Equal(t, map[string]string{"user": alice, "body.post_id": post, "body.channel_id": chann, "body.context.user_id": bot}, read(alice, dm))

	for name, tc := range map[string]struct{ user, body string }{
		"no caller":               {"", click},
		"a caller that is no id":  {"Alice", click},
		"no recipient":            {alice, strings.Replace(click, `"context":{"user_id":"`+bot+`"}`, `"context":{}`, 1)},
		"the recipient in a list": {alice, strings.Replace(click, `{"user_id":"`+bot+`"}`, `[{"user_id":"`+bot+`"}]`, 1)},
		"an escaped key":          {alice, strings.Replace(click, `"post_id"`, `"post\u005fid"`, 1)},
		"a marker for an id":      {alice, strings.Replace(click, post, plan.markers[len(plan.markers)-1].id, 1)},
		"not JSON":                {alice, "post_id=" + post},
	} {
		assert.Nil(t, read(tc.user, tc.body), name)
	}

	// A key written twice counts as a JSON reader counts it: the last.
	twice := strings.Replace(click, `{"post_id"`, `{"post_id":"`+other+`","post_id"`, 1)
	assert.Equal(t, post, read(alice, twice)["body.post_id"])
}

// BenchmarkPrefetchValues is what reading a click's ids costs the shim before the first call:
// a click as Mattermost sends it, and a hostile body at the size the core lets the shim read,
// thousands of keys.
func BenchmarkPrefetchValues(b *testing.B) {
	p, body, user := benchPlugin(b)
	plan := p.getConfiguration().prefetch["/api/v1/handler"]
	var hostile bytes.Buffer
	hostile.WriteString(`{"context":{`)
	for i := 0; hostile.Len() < plan.maxBodyBytes-16; i++ {
		fmt.Fprintf(&hostile, `"k%d":1,`, i)
	}
	hostile.WriteString(`"user_id":"x"}}`)
	for name, body := range map[string][]byte{"click": body, "hostile": hostile.Bytes()} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				plan.values(prefetchSource{user: user, body: body})
			}
		})
	}
}

// Issue 20: an acknowledgement, on a websocket or over REST, comes with what this node knows
// of the wait it names, read before its first call: the core hands the answer to the waiting
// click after that one call, and the acknowledgement is decided in two instead of three. One
// too large to read twice, or naming no event, is decided in the usual rounds; every one hands
// its answer over.
func TestAnAcknowledgementComesWithItsWait(t *testing.T) {
	api, _, _ := clickAPI(t)
	p := activated(t, api)
	const bot = "bot1bot1bot1bot1bot1bot1b1"
	held := json.RawMessage(`{"bot":"` + bot + `","event":"action"}`)
	answer := `{"ephemeral_text":"Approved."}`
	websocket := func(data map[string]any) {
		p.WebSocketMessageHasBeenPosted("conn1", bot, &model.WebSocketRequest{Seq: 1, Action: "custom_" + p.info.PluginID + "_ack", Data: data})
	}
	rest := func(body string) {
		r := httptest.NewRequest("POST", "/api/v1/ack", strings.NewReader(body))
		r.Header.Set("Mattermost-User-Id", bot)
		r.RemoteAddr = "127.0.0.1:1"
		w := httptest.NewRecorder()
		p.ServeHTTP(nil, w, r)
		require.Equal(t, 200, w.Code, w.Body.String())
	}
	padding := strings.Repeat("x", 20<<10) // past what the core reads an acknowledgement for
	for _, c := range []struct {
		name  string
		calls int64
		ack   func(id string)
	}{
		{"websocket", 2, func(id string) {
			websocket(map[string]any{"event_id": id, "answer": json.RawMessage(answer)})
		}},
		{"REST", 2, func(id string) { rest(`{"event_id":"` + id + `","answer":` + answer + `}`) }},
		{"websocket, too large to read twice", 3, func(id string) {
			websocket(map[string]any{"event_id": id, "answer": json.RawMessage(answer), "note": padding})
		}},
		{"REST, too large to read twice", 3, func(id string) {
			rest(`{"note":"` + padding + `","event_id":"` + id + `","answer":` + answer + `}`)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("waitingevent%014d", len(c.name))
			got := make(chan json.RawMessage, 1)
			p.waiters.expect(id, held)
			go func() { got <- p.waiters.await(id, held, 10*time.Second).answer }()
			before := p.core.calls.Load()
			c.ack(id)
			assert.Equal(t, c.calls, p.core.calls.Load()-before, "core calls for the acknowledgement")
			assert.JSONEq(t, answer, string(<-got), "the click has the bot's answer")
			p.waiters.decided([]string{id})
		})
	}
}

// A slash command's trigger is read as the core reads it, and filled only when a bot could
// have registered it: the table the core's reading is tested against too
// (tests/command_triggers.json, src/command/execute.rs). Read otherwise, the core would not use
// what the shim prefetched.
func TestACommandsTriggerIsReadAsTheCoreReadsIt(t *testing.T) {
	raw, err := os.ReadFile("../tests/command_triggers.json")
	require.NoError(t, err)
	var table struct {
		Cases []struct {
			Command, Trigger string
			Registrable      bool
		}
	}
	require.NoError(t, json.Unmarshal(raw, &table))
	require.GreaterOrEqual(t, len(table.Cases), 10)
	for _, c := range table.Cases {
		assert.Equal(t, c.Trigger, commandTrigger(c.Command), "%q", c.Command)
		assert.Equal(t, c.Registrable, isRegistrableTrigger(c.Trigger), "%q", c.Trigger)
	}
}

// What the shim prefetches for a slash command, as it arrives: the trigger's owner and the
// person from the cache, and the team's own commands of that trigger asked beside the first
// call — filled with the command's own values, the trigger written into the text at its own
// length. In a direct message (no team) the team's commands are left out; a trigger no bot
// could register gets nothing; with custom slash commands off the core asks no team's commands,
// and the shim asks none either.
func TestACommandsFirstRoundIsFilledFromItsArguments(t *testing.T) {
	p, _ := newTestPlugin(t)
	const alice, team = "alicealicealicealicealice1", "teamteamteamteamteamteam01"
	filled := func(command, teamID string) map[string]string {
		plan := p.getConfiguration().prefetch["command"]
		require.NotNil(t, plan)
		key, src, ok := prefetchFor(&input{Command: &commandInput{Args: &model.CommandArgs{UserId: alice, TeamId: teamID, Command: command}}}, nil)
		require.True(t, ok)
		require.Equal(t, "command", key)
		values, ok := plan.values(src)
		if !ok {
			return nil
		}
		out := map[string]string{}
		for _, tmpl := range plan.templates {
			raw, q, ok := tmpl.fill(plan.markers, values)
			if !ok {
				continue
			}
			var decoded query
			require.NoError(t, json.Unmarshal(raw, &decoded), "%s", raw)
			assert.Equal(t, decoded, q, "the text and the query say the same: %s", raw)
			out[q.Name] = string(raw)
		}
		return out
	}
	assert.Equal(t, map[string]string{
		"owner":         `{"name":"owner","fact":"kv_get","key":"cmd_deploy","cache_ms":60000}`,
		"issuer":        `{"name":"issuer","fact":"user","user_id":"` + alice + `","cache_ms":5000}`,
		"team_commands": `{"name":"team_commands","fact":"team_commands","team_id":"` + team + `","trigger":"deploy","likely":{"found":[]}}`,
	}, filled("/Deploy prod", team))
	dm := filled("/deploy prod", "")
	assert.Contains(t, dm, "owner")
	assert.NotContains(t, dm, "team_commands", "a direct message names no team")
	assert.Nil(t, filled("/dép prod", team), "no bot could have registered it")

	// The lists the core gives with custom slash commands off (what a configuration change
	// to it keeps beside the settings).
	rep, err := p.callCore(context.Background(), laneInteractive, newConfigureCall(map[string]any{}, nil, "change", serverFacts{CustomCommandsOff: true}), nil)
	require.NoError(t, err)
	p.setConfiguration(&configuration{settings: rep.Settings, prefetch: newPrefetchPlans(rep.Prefetch)})
	off := filled("/deploy prod", team)
	assert.Contains(t, off, "owner")
	assert.NotContains(t, off, "team_commands", "custom slash commands off: Mattermost runs no team's command")
}
