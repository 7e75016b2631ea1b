package socketmode

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A fake Mattermost for the unit tests: the REST calls the library makes, and a websocket
// that speaks Mattermost's framing (authentication_challenge, hello, events) and records
// what the bot sends. The real thing is in tests/e2e (lib_go_test.go).

const (
	testBot   = "bot1bot1bot1bot1bot1bot1b1"
	testToken = "tokentokentokentokentoken1"
	testUser  = "alicealicealicealicealice1"
)

type fakeMM struct {
	t   testing.TB
	srv *httptest.Server

	conns chan *fakeConn // each new websocket, authenticated and greeted
	rest  chan restCall  // each plugin or posts REST call

	// refuseSockets makes websocket upgrades fail (503): the bot cannot reconnect.
	refuseSockets atomic.Bool
	// unanswered is how many subscriptions go unanswered first (a plugin not enabled yet).
	unanswered atomic.Int32
	// subscribeReply is the subscribed event's data (nil: the fake does not answer).
	subscribeReply map[string]any
	// restReply answers a REST call, by "METHOD path"; a missing one answers {} with 200.
	restReply map[string]func(body map[string]any) (int, string)
	mu        sync.Mutex
}

type restCall struct {
	Method, Path string
	Body         map[string]any
}

type fakeConn struct {
	ws     *websocket.Conn
	wmu    sync.Mutex
	seq    int64
	got    chan wsMsg
	pongs  atomic.Int32
	closed chan struct{}
}

type wsMsg struct {
	Seq    int64          `json:"seq"`
	Action string         `json:"action"`
	Data   map[string]any `json:"data"`
}

func newFakeMM(t testing.TB) *fakeMM {
	f := &fakeMM{
		t: t, conns: make(chan *fakeConn, 16), rest: make(chan restCall, 256),
		subscribeReply: map[string]any{"connection_id": "conn1", "answer_window_ms": 2500, "kept": 0, "expand": map[string]any{}},
		restReply:      map[string]func(map[string]any) (int, string){},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMM) reply(route string, h func(map[string]any) (int, string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restReply[route] = h
}

func (f *fakeMM) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Authorization"), "Bearer "+testToken) && r.URL.Path != "/api/v4/websocket" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"id":"api.context.session_expired.app_error","message":"Invalid or expired session","status_code":401}`)
		return
	}
	switch {
	case r.URL.Path == "/api/v4/websocket":
		f.serveSocket(w, r)
		return
	case r.Method == http.MethodGet && r.URL.Path == "/api/v4/users/me":
		_, _ = io.WriteString(w, `{"id":"`+testBot+`","username":"bot","is_bot":true}`)
		return
	}
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(raw, &body)
	route := r.Method + " " + strings.TrimPrefix(r.URL.Path, "/plugins/"+PluginID)
	f.rest <- restCall{r.Method, route[len(r.Method)+1:], body}
	f.mu.Lock()
	h := f.restReply[route]
	f.mu.Unlock()
	status, out := http.StatusOK, "{}"
	switch {
	case h != nil:
		status, out = h(body)
	case route == "POST /api/v4/posts":
		body["id"] = "postpostpostpostpostpost01"
		b, _ := json.Marshal(body)
		status, out = http.StatusCreated, string(b)
	case route == "POST /api/v1/ack":
		out = `{"event_id":"` + body["event_id"].(string) + `","status":"applied"}`
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, out)
}

func (f *fakeMM) serveSocket(w http.ResponseWriter, r *http.Request) {
	if f.refuseSockets.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &fakeConn{ws: ws, got: make(chan wsMsg, 256), closed: make(chan struct{})}
	ws.SetPongHandler(func(string) error { c.pongs.Add(1); return nil })
	// Mattermost's handshake: the token in authentication_challenge, then hello.
	var auth wsMsg
	if err := ws.ReadJSON(&auth); err != nil || auth.Action != "authentication_challenge" || auth.Data["token"] != testToken {
		_ = ws.Close()
		return
	}
	c.write(map[string]any{"status": "OK", "seq_reply": auth.Seq})
	c.event("hello", map[string]any{"connection_id": "conn", "server_version": "11.4.0"})
	f.conns <- c
	go func() {
		defer close(c.closed)
		defer close(c.got)
		for {
			var m wsMsg
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			if m.Action == eventPrefix+"subscribe" && f.subscribeReply != nil && f.unanswered.Add(-1) < 0 {
				c.event(eventPrefix+"subscribed", f.subscribeReply)
			}
			c.got <- m
		}
	}()
}

func (c *fakeConn) write(v any) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.WriteJSON(v)
}

// event sends a websocket event as Mattermost frames it.
func (c *fakeConn) event(name string, data any) {
	c.wmu.Lock()
	c.seq++
	seq := c.seq
	c.wmu.Unlock()
	c.write(map[string]any{"event": name, "data": data, "broadcast": map[string]any{"user_id": testBot}, "seq": seq})
}

// plugin sends one of the plugin's events.
func (c *fakeConn) plugin(name string, data any) { c.event(eventPrefix+name, data) }

// next is the next message the bot sent with this action (others are skipped).
func (c *fakeConn) next(t testing.TB, action string) wsMsg {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-c.got:
			if !ok {
				t.Fatalf("the connection closed before the bot sent %s", action)
			}
			if m.Action == action {
				return m
			}
		case <-timeout:
			t.Fatalf("the bot sent no %s", action)
		}
	}
}

// ack is the next acknowledgement the bot sent.
func (c *fakeConn) ack(t *testing.T) wsMsg { t.Helper(); return c.next(t, eventPrefix+"ack") }

// drop closes the connection abruptly, as a dying server would.
func (c *fakeConn) drop() { _ = c.ws.UnderlyingConn().Close() }

// connection waits for the bot's next websocket, and its subscription.
func (f *fakeMM) connection(t testing.TB) *fakeConn {
	t.Helper()
	select {
	case c := <-f.conns:
		c.next(t, eventPrefix+"subscribe")
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the bot did not connect")
		return nil
	}
}

// call is the next REST call to route ("POST /api/v1/ack").
func (f *fakeMM) call(t *testing.T, route string) restCall {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case c := <-f.rest:
			if c.Method+" "+c.Path == route {
				return c
			}
		case <-timeout:
			t.Fatalf("no %s call", route)
		}
	}
}

// started is an App on f, running until the test ends; done is closed when Run returned.
type started struct {
	*App
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func startApp(t testing.TB, f *fakeMM, opts Options, setup func(a *App)) *started {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = (&logSink{}).logger() // quiet; a test that reads the log passes its own
	}
	a := New(f.srv.URL, testToken, opts)
	a.backoff = backoff{min: time.Millisecond, max: 5 * time.Millisecond, random: func() float64 { return 0 }}
	if setup != nil {
		setup(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{App: a, cancel: cancel, done: make(chan struct{})}
	go func() { s.err = a.Run(ctx); close(s.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context was cancelled")
		}
	})
	return s
}

// flush returns once everything the bot did so far reached c: every handler returned and
// its acknowledgement was written before a marker the fake then reads.
func (s *started) flush(t *testing.T, c *fakeConn) {
	t.Helper()
	s.running.Wait()
	var live *conn
	waitFor(t, "a subscribed connection", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		live = s.live
		return live != nil
	})
	if !live.send("flush", map[string]any{}) {
		t.Fatal("the live connection is closed")
	}
	c.next(t, "flush")
}

// actionEvent is the data of a click event, with proxy.delivery unless noDelivery.
func actionEvent(eventID string, context map[string]any, delivered bool) map[string]any {
	proxy := map[string]any{"event_id": eventID, "received_at": 1700000000123, "verified": true, "version": "1.0.0"}
	if delivered {
		proxy["delivery"] = map[string]any{"attempt": 1, "ack": "required", "answer_within_ms": 2500, "first_sent_at": 1700000000123}
	}
	context["user_id"] = testBot
	return map[string]any{
		"user_id": testUser, "user_name": "alice", "channel_id": "chanchanchanchanchanchan01", "channel_name": "town-square",
		"team_id": "teamteamteamteamteamteam01", "team_domain": "acme", "post_id": "postpostpostpostpostpost01",
		"trigger_id": "trig", "type": "button", "data_source": "", "context": context, "proxy": proxy,
	}
}

// eventID is a made-up proxy.event_id numbered n.
func eventID(n int) string {
	s := "eventeventeventeventevent" + string(rune('a'+n%26))
	return s
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// normalized is v as JSON decodes it (map[string]any, float64): what the fake reads.
func normalized(v any) any {
	var out any
	_ = json.Unmarshal([]byte(mustJSON(v)), &out)
	return out
}

// logSink collects the library's log lines as text.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	return len(p), nil
}

func (l *logSink) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *logSink) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}
