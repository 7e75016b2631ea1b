package e2e_test

// Helpers shared by plugin_test.go and load_test.go: the plugin under test,
// websockets that collect events, posts with interactive actions, clicks, and
// the exact comparison of the event a bot receives.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

// The plugin under test, named by plugin.json.
var (
	manifest      = harness.PluginManifest()
	pluginID      = manifest.Id
	pluginVersion = manifest.Version
	actionEvent   = "custom_" + pluginID + "_action"
	handlerPath   = "/plugins/" + pluginID + "/api/v1/handler"
)

const ephemeralEv = string(model.WebsocketEventEphemeralMessage)

var (
	pluginOnce sync.Once
	pluginErr  error
)

// requirePlugin skips without a started environment or without E2E_BUNDLE;
// otherwise it uploads the bundle once per test binary and makes sure the
// plugin is running (a test may have disabled it).
func requirePlugin(t testing.TB) {
	t.Helper()
	harness.RequireEnv(t, env)
	bundle := os.Getenv("E2E_BUNDLE")
	if bundle == "" {
		t.Skip("E2E_BUNDLE not set (path of the `make dist` bundle)")
	}
	ctx := context.Background()
	pluginOnce.Do(func() {
		var m *model.Manifest
		m, pluginErr = env.UploadPlugin(ctx, bundle)
		if pluginErr == nil && (m.Id != pluginID || m.Version != pluginVersion) {
			pluginErr = fmt.Errorf("bundle is %s %s, want %s %s", m.Id, m.Version, pluginID, pluginVersion)
		}
	})
	if pluginErr != nil {
		t.Fatalf("uploading %s: %v", bundle, pluginErr)
	}
	if err := env.WaitPluginRunning(ctx, pluginID, 60*time.Second); err != nil {
		t.Fatal(err)
	}
}

// httpClient keeps connections alive for many concurrent clickers.
var httpClient = &http.Client{
	Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute},
	Timeout:   30 * time.Second,
}

// call makes a JSON request to the server with token (none when empty).
func call(method, path, token string, body any) (int, []byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, env.SiteURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// jsonObject decodes b as a JSON object (nil if it is not one).
func jsonObject(b []byte) map[string]any {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// normalize returns v as encoding/json decodes it (numbers float64, []any,
// map[string]any): the form events are compared in.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// Websockets

// socket is a Go bot (or user) websocket (model.WebSocketClient) whose
// events are collected without ever blocking the client's reader.
type socket struct {
	name   string
	ws     *model.WebSocketClient
	events chan *model.WebSocketEvent
}

// openSocket connects acc's websocket and waits for the hello event (the
// connection is authenticated and registered for broadcasts).
func openSocket(t testing.TB, acc *harness.Account) *socket {
	t.Helper()
	ws, err := env.WebSocket(acc)
	if err != nil {
		t.Fatalf("websocket for %s: %v", acc.User.Username, err)
	}
	s := &socket{name: acc.User.Username, ws: ws, events: make(chan *model.WebSocketEvent, 1<<16)}
	ws.Listen()
	go func() {
		for ev := range ws.EventChannel {
			s.events <- ev
		}
		close(s.events)
	}()
	go func() {
		for range ws.ResponseChannel { //nolint:revive // drained so the reader never blocks
		}
	}()
	t.Cleanup(ws.Close)
	if _, err := s.next(string(model.WebsocketEventHello), 15*time.Second); err != nil {
		t.Fatalf("websocket for %s: %v", s.name, err)
	}
	return s
}

// next returns the next event of type typ, skipping others.
func (s *socket) next(typ string, timeout time.Duration) (*model.WebSocketEvent, error) {
	ev, err := harness.Await(s.events, timeout, func(ev *model.WebSocketEvent) bool { return string(ev.EventType()) == typ })
	switch {
	case errors.Is(err, harness.ErrClosed):
		return nil, fmt.Errorf("%s: websocket closed (%v)", s.name, s.ws.ListenError)
	case err != nil:
		return nil, fmt.Errorf("%s: no %q event: %w", s.name, typ, err)
	}
	// Every plugin event a test receives is also held to docs/schemas.
	if err := checkSchema(ev); err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	return ev, nil
}

// mustNext is next that fails the test.
func (s *socket) mustNext(t testing.TB, typ string, timeout time.Duration) *model.WebSocketEvent {
	t.Helper()
	ev, err := s.next(typ, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// expectNone fails if an event of type typ arrives within d.
func (s *socket) expectNone(t testing.TB, typ string, d time.Duration) {
	t.Helper()
	if ev, err := s.next(typ, d); err == nil {
		t.Errorf("%s received an unexpected %s event: %s", s.name, typ, mustJSON(ev.GetData()))
	}
}

// expectNoneAll waits d once and checks that none of the sockets received an
// event of type typ meanwhile.
func expectNoneAll(t testing.TB, typ string, d time.Duration, sockets ...*socket) {
	t.Helper()
	time.Sleep(d)
	for _, s := range sockets {
		s.expectNone(t, typ, time.Millisecond)
	}
}

// ephemeralPost waits for the ephemeral post Mattermost shows the clicker.
func (s *socket) ephemeralPost(t testing.TB, timeout time.Duration) *model.Post {
	t.Helper()
	ev := s.mustNext(t, ephemeralEv, timeout)
	raw, ok := ev.GetData()["post"].(string)
	if !ok {
		t.Fatalf("%s: ephemeral_message without a post: %s", s.name, mustJSON(ev.GetData()))
	}
	var p model.Post
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatalf("%s: ephemeral post %q: %v", s.name, raw, err)
	}
	return &p
}

// ---------------------------------------------------------------------------
// Posts and clicks

// button is a button action pointing at the plugin's handler.
func button(id, name string, ctx map[string]any) map[string]any {
	return map[string]any{
		"id": id, "name": name, "type": "button",
		"integration": map[string]any{"url": handlerPath, "context": ctx},
	}
}

// staticSelect is a menu with fixed options (value = text).
func staticSelect(id, name string, ctx map[string]any, values ...string) map[string]any {
	opts := make([]map[string]any, len(values))
	for i, v := range values {
		opts[i] = map[string]any{"text": "Option " + v, "value": v}
	}
	return map[string]any{
		"id": id, "name": name, "type": "select", "options": opts,
		"integration": map[string]any{"url": handlerPath, "context": ctx},
	}
}

// createPost posts message with one attachment holding actions, as acc, in
// channelID (the e2e channel when empty).
func createPost(t testing.TB, acc *harness.Account, channelID, message string, actions ...map[string]any) *model.Post {
	t.Helper()
	if channelID == "" {
		channelID = env.Channel.Id
	}
	body := map[string]any{
		"channel_id": channelID,
		"message":    message,
		"props": map[string]any{"attachments": []any{map[string]any{
			"fallback": message, "text": "Pick one", "actions": actions,
		}}},
	}
	status, out, err := call(http.MethodPost, "/api/v4/posts", acc.Token, body)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create post as %s: HTTP %d %v: %s", acc.User.Username, status, err, out)
	}
	var p model.Post
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

type clickResult struct {
	Status     int
	Body       []byte
	Sent, Done time.Time
}

// TriggerID is the trigger id Mattermost answered the click with.
func (c clickResult) TriggerID() string {
	s, _ := jsonObject(c.Body)["trigger_id"].(string)
	return s
}

// click is what the webapp does on a click: POST
// /api/v4/posts/{post}/actions/{action} with the user's session; body
// {"selected_option": ...} for a menu, {} for a button.
func click(acc *harness.Account, postID, actionID, selected string) (clickResult, error) {
	body := "{}"
	if selected != "" {
		body = mustJSON(map[string]string{"selected_option": selected})
	}
	return clickWith(acc, postID, actionID, body)
}

// clickWith clicks with a given request body (e.g. {"cookie": ...} for an
// ephemeral post, as the webapp sends).
func clickWith(acc *harness.Account, postID, actionID, body string) (clickResult, error) {
	r := clickResult{Sent: time.Now()}
	var err error
	r.Status, r.Body, err = call(http.MethodPost, "/api/v4/posts/"+postID+"/actions/"+actionID, acc.Token, body)
	r.Done = time.Now()
	return r, err
}

func mustClick(t testing.TB, acc *harness.Account, postID, actionID, selected string) clickResult {
	t.Helper()
	r, err := click(acc, postID, actionID, selected)
	if err != nil {
		t.Fatalf("click %s/%s as %s: %v", postID, actionID, acc.User.Username, err)
	}
	if r.Status != http.StatusOK {
		t.Fatalf("click %s/%s as %s: HTTP %d: %s", postID, actionID, acc.User.Username, r.Status, r.Body)
	}
	return r
}

// ---------------------------------------------------------------------------
// The event a bot receives

// wantData is the exact event data for a click by clicker on post, except
// trigger_id and proxy (checked by checkEvent).
func wantData(clicker *harness.Account, post *model.Post, typ, dataSource string, ctx map[string]any) map[string]any {
	return map[string]any{
		"user_id":      clicker.ID(),
		"user_name":    clicker.User.Username,
		"channel_id":   env.Channel.Id,
		"channel_name": env.Channel.Name,
		"team_id":      env.Team.Id,
		"team_domain":  env.Team.Name,
		"post_id":      post.Id,
		"type":         typ,
		"data_source":  dataSource,
		"context":      normalize(ctx),
	}
}

// checkEvent compares every key of an action event's data with want (plus
// trigger_id and proxy) and returns proxy.event_id. click is the click that
// caused it (its trigger id and time window), verified the expected
// proxy.verified; received is when the event arrived.
func checkEvent(t testing.TB, who string, data, want map[string]any, c clickResult, verified bool, received time.Time) string {
	t.Helper()
	var keys, wantKeys []string
	for k := range data {
		keys = append(keys, k)
	}
	for k := range want {
		wantKeys = append(wantKeys, k)
	}
	wantKeys = append(wantKeys, "trigger_id", "proxy")
	sort.Strings(keys)
	sort.Strings(wantKeys)
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("%s: event keys %v, want %v", who, keys, wantKeys)
	}
	for k, w := range want {
		if got := data[k]; !reflect.DeepEqual(got, w) {
			t.Errorf("%s: event %s = %s, want %s", who, k, mustJSON(got), mustJSON(w))
		}
	}
	// trigger_id: Mattermost's signed trigger, base64("client_trigger:user:millis:signature").
	trig, _ := data["trigger_id"].(string)
	dec, err := base64.StdEncoding.DecodeString(trig)
	parts := strings.Split(string(dec), ":")
	if err != nil || len(parts) != 4 {
		t.Errorf("%s: trigger_id %q is not a Mattermost trigger id", who, trig)
	} else {
		if ct := c.TriggerID(); ct != "" && parts[0] != ct {
			t.Errorf("%s: trigger_id is for client trigger %q, the click answered %q", who, parts[0], ct)
		}
		if parts[1] != data["user_id"] {
			t.Errorf("%s: trigger_id is for user %q, want %v", who, parts[1], data["user_id"])
		}
	}
	proxy, ok := data["proxy"].(map[string]any)
	if !ok {
		t.Fatalf("%s: proxy = %s, want an object", who, mustJSON(data["proxy"]))
	}
	// A click's trigger opens a dialog: the event says until when, and carries its token.
	if len(proxy) != 6 {
		t.Errorf("%s: proxy has keys %v, want event_id, received_at, verified, version, trigger_token, trigger_expires_at", who, mustJSON(proxy))
	}
	if len(parts) == 4 {
		issued, _ := strconv.ParseInt(parts[2], 10, 64)
		lifetime := integrationTimeout(t)
		if expires, _ := proxy["trigger_expires_at"].(float64); int64(expires) != issued+lifetime.Milliseconds() {
			t.Errorf("%s: proxy.trigger_expires_at = %v, want the trigger's time %d plus %s (OutgoingIntegrationRequestsTimeout)", who, proxy["trigger_expires_at"], issued, lifetime)
		}
	}
	if tok, _ := proxy["trigger_token"].(string); !strings.Contains(tok, ".") {
		t.Errorf("%s: proxy.trigger_token = %v, want a signed token", who, proxy["trigger_token"])
	}
	id, _ := proxy["event_id"].(string)
	if len(id) != 26 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Errorf("%s: proxy.event_id %q is not a 26-char id", who, id)
	}
	at, _ := proxy["received_at"].(float64)
	if lo, hi := c.Sent.UnixMilli(), received.UnixMilli(); int64(at) < lo || int64(at) > hi || at != float64(int64(at)) {
		t.Errorf("%s: proxy.received_at %v outside the click's window [%d, %d]", who, proxy["received_at"], lo, hi)
	}
	if proxy["verified"] != verified {
		t.Errorf("%s: proxy.verified = %v, want %v", who, proxy["verified"], verified)
	}
	if proxy["version"] != pluginVersion {
		t.Errorf("%s: proxy.version = %v, want %q", who, proxy["version"], pluginVersion)
	}
	return id
}

// integrationTimeout is the server's OutgoingIntegrationRequestsTimeout: how long a trigger id
// opens a dialog (Mattermost's OpenInteractiveDialog refuses an older one).
func integrationTimeout(t testing.TB) time.Duration {
	t.Helper()
	cfg, _, err := env.Admin.Client.GetConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.ServiceSettings.OutgoingIntegrationRequestsTimeout; s != nil && *s > 0 {
		return time.Duration(*s) * time.Second
	}
	return 30 * time.Second
}

// forgedBody is a request body as Mattermost sends it to the handler, made
// up by hand as well as a forger can: the clicker's name, the named
// channel's name and team, and a trigger id of Mattermost's shape issued to
// the clicker (unsigned: the plugin does not check the signature, Mattermost
// does when a dialog is opened).
func forgedBody(clicker *harness.Account, postID, channelID string, ctx map[string]any) map[string]any {
	ch, _, err := env.Admin.Client.GetChannel(context.Background(), channelID, "")
	name, teamID, teamName := env.Channel.Name, env.Team.Id, env.Team.Name
	if err == nil {
		name, teamID = ch.Name, ch.TeamId
		if teamID == "" {
			teamName = ""
		}
	}
	return map[string]any{
		"user_id": clicker.ID(), "user_name": clicker.User.Username,
		"channel_id": channelID, "channel_name": name,
		"team_id": teamID, "team_domain": teamName,
		"post_id": postID, "trigger_id": madeUpTrigger(clicker.ID()), "type": "button", "data_source": "",
		"context": ctx,
	}
}

// madeUpTrigger is a trigger id of Mattermost's shape for user, with no valid signature.
func madeUpTrigger(user string) string {
	return base64.StdEncoding.EncodeToString([]byte(model.NewId() + ":" + user + ":" +
		strconv.FormatInt(time.Now().UnixMilli(), 10) + ":" + base64.StdEncoding.EncodeToString([]byte("not a signature"))))
}

// handlerError posts body straight to the plugin's handler with token and
// returns the status, the error code and the ephemeral text.
func handlerError(t testing.TB, token string, body any) (int, string, string) {
	t.Helper()
	status, out, err := call(http.MethodPost, handlerPath, token, body)
	if err != nil {
		t.Fatal(err)
	}
	m := jsonObject(out)
	if m == nil {
		t.Fatalf("handler answered HTTP %d with a body that is not a JSON object: %q", status, out)
	}
	errObj, _ := m["error"].(map[string]any)
	code, _ := errObj["code"].(string)
	text, _ := m["ephemeral_text"].(string)
	return status, code, text
}
