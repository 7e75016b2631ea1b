package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/rpc"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoPlugin answers a request with what it read of the body, as the shim reads and writes:
// a response to Mattermost's own request (X-To-Mattermost) straight to the writer's RPC.
type echoPlugin struct {
	plugin.MattermostPlugin
	commands []string
	bodyAt   time.Time // when the last request's body was read
	asks     int       // the Reads of the last request's body that had to ask for it
	// beforeAnswer, if set, runs once the body is read, before the answer is written.
	beforeAnswer func()
}

func (e *echoPlugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	body, tooLarge, err := readBody(r.Body, declaredLength(r.Header), 1<<20)
	e.bodyAt = time.Now()
	if b, ok := r.Body.(*streamBody); ok {
		e.asks = b.asks
	}
	if e.beforeAnswer != nil {
		e.beforeAnswer()
	}
	if err != nil || tooLarge {
		writeResponse(w, &response{Status: http.StatusBadRequest, Body: `{"error":"unread"}`})
		return
	}
	writeResponse(w, &response{
		Status:       http.StatusOK,
		Body:         r.Method + " " + r.URL.Path + " " + string(body),
		ToMattermost: r.Header.Get("X-To-Mattermost") != "",
	})
}

func (e *echoPlugin) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	e.commands = append(e.commands, args.Command)
	return &model.CommandResponse{Text: "ran " + args.Command}, nil
}

// mattermostHooks is the hooks plugin Mattermost's plugin package makes for impl (what
// plugin.ClientMain serves), caught before it is served.
func mattermostHooks(t testing.TB, impl any) goplugin.Plugin {
	t.Helper()
	var hooks goplugin.Plugin
	caught := errors.New("caught")
	func() {
		defer func() { _ = recover() }() // ClientMain panics on the option's error
		plugin.ClientMain(impl, func(c *goplugin.ServeConfig) error {
			hooks = c.Plugins["hooks"]
			return caught
		})
	}()
	require.NotNil(t, hooks)
	return hooks
}

// servedHooks serves impl's hooks as main does (atOnce) or as Mattermost's package alone does,
// over go-plugin's RPC connection (yamux, a broker for the streams) on loopback, and answers
// the server's side of it: the client Mattermost calls hooks through, with the hooks impl
// implements known, and the broker and RPC client under it.
func servedHooks(t testing.TB, impl httpHandler, atOnce bool) (*serverSide, any) {
	t.Helper()
	hooks := mattermostHooks(t, impl)
	if atOnce {
		config := &goplugin.ServeConfig{Plugins: map[string]goplugin.Plugin{"hooks": hooks}}
		require.NoError(t, servingStreamsAtOnce(impl)(config))
		hooks = config.Plugins["hooks"]
	}
	side := &serverSide{Plugin: hooks}
	client, _ := goplugin.TestPluginRPCConn(t, map[string]goplugin.Plugin{"hooks": side}, nil)
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense("hooks")
	require.NoError(t, err)
	_, err = raw.(interface{ Implemented() ([]string, error) }).Implemented()
	require.NoError(t, err)
	return side, raw
}

// serverSide keeps the broker and RPC client of the server's side of the connection.
type serverSide struct {
	goplugin.Plugin
	broker *goplugin.MuxBroker
	client *rpc.Client
}

func (s *serverSide) Client(b *goplugin.MuxBroker, c *rpc.Client) (any, error) {
	s.broker, s.client = b, c
	return s.Plugin.Client(b, c)
}

// serveHTTP makes Mattermost's Plugin.ServeHTTP call for a POST to the handler, with the
// streams the caller serves.
func (s *serverSide) serveHTTP(writer, body uint32, h http.Header) error {
	u, _ := url.Parse("/api/v1/handler")
	return s.client.Call("Plugin.ServeHTTP", plugin.Z_ServeHTTPArgs{
		ResponseWriterStream: writer,
		Request:              &plugin.HTTPRequestSubset{Method: http.MethodPost, URL: u, Header: h},
		Context:              &plugin.Context{},
		RequestBodyStream:    body,
	}, nil)
}

// getFromNetwork makes Mattermost's Plugin.ServeHTTP call for a GET of path from a client over
// the network (a remote address, no body), with the writer's stream the caller serves.
func (s *serverSide) getFromNetwork(writer uint32, path string) error {
	u, _ := url.Parse(path)
	return s.client.Call("Plugin.ServeHTTP", plugin.Z_ServeHTTPArgs{
		ResponseWriterStream: writer,
		Request:              &plugin.HTTPRequestSubset{Method: http.MethodGet, URL: u, Header: http.Header{}, RemoteAddr: "127.0.0.1:5000"},
		Context:              &plugin.Context{},
	}, nil)
}

// serveWriter is the server's side of a response writer's stream: srv answers its calls.
func (s *serverSide) serveWriter(id uint32, srv *writerServer) {
	conn, err := s.broker.Accept(id)
	if err != nil {
		return
	}
	defer conn.Close()
	rs := rpc.NewServer()
	_ = rs.RegisterName("Plugin", srv)
	rs.ServeConn(conn)
}

// mattermostServes is Mattermost's client for a plugin's ServeHTTP hook.
type mattermostServes interface {
	ServeHTTP(c *plugin.Context, w http.ResponseWriter, r *http.Request)
}

// Every hook but ServeHTTP is Mattermost's own server's: the same RPC methods, with the same
// arguments, as the server of the Mattermost version this plugin is built with. Should an
// upgrade add a hook, this fails until hookServer has it.
func TestHooksServerServesEveryHook(t *testing.T) {
	impl := &echoPlugin{}
	hooks := mattermostHooks(t, impl)
	theirs, err := hooks.Server(nil)
	require.NoError(t, err)
	config := &goplugin.ServeConfig{Plugins: map[string]goplugin.Plugin{"hooks": hooks}}
	require.NoError(t, servingStreamsAtOnce(impl)(config))
	ours, err := config.Plugins["hooks"].Server(nil)
	require.NoError(t, err)
	require.IsType(t, &hooksServer{}, ours, "Mattermost's server has the shape hookServer names")

	methods := func(v any) map[string]string {
		out := map[string]string{}
		typ := reflect.TypeOf(v)
		for i := range typ.NumMethod() {
			m := typ.Method(i)
			out[m.Name] = strings.TrimPrefix(m.Type.String(), "func("+typ.String()+", ")
		}
		return out
	}
	assert.Equal(t, methods(theirs), methods(ours))
}

// A request goes through its streams and back, through Mattermost's own client: the body read
// whole (one Read for a click's, many for a large one), the response to Mattermost's request
// written alone with Mattermost's headers left as they are, a REST response as JSON.
func TestARequestGoesThroughItsStreams(t *testing.T) {
	_, raw := servedHooks(t, &echoPlugin{}, true)
	mm := raw.(mattermostServes)
	for _, body := range []string{`{"post_id":"p1","context":{"approve":true}}`, strings.Repeat("x", 3*bodyRead+7), ""} {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/handler", strings.NewReader(body))
		r.Header.Set("X-To-Mattermost", "yes")
		w := httptest.NewRecorder()
		w.Header().Set("X-Request-Id", "from-mattermost")
		mm.ServeHTTP(&plugin.Context{}, w, r)
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "POST /api/v1/handler "+body, w.Body.String())
		assert.Equal(t, "from-mattermost", w.Header().Get("X-Request-Id"))
		assert.NotEqual(t, "application/json", w.Header().Get("Content-Type"), "no headers sent with a response to Mattermost")
	}

	// A request of its own (no body stream), answered through the writer's methods.
	r := httptest.NewRequest(http.MethodGet, "/api/v1/status", nil)
	r.Body = nil
	w := httptest.NewRecorder()
	mm.ServeHTTP(&plugin.Context{}, w, r)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "GET /api/v1/status ", w.Body.String())
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
}

// The body's first bytes are asked for in the write that opens its stream when the shim will
// read them anyway — a request Mattermost made itself (a click: no remote address), or one
// declaring at most 16 KiB — so such a click's body is read without a round trip of its own.
// A body declaring no length over the network is asked for by the shim's Reads alone, and so
// is the rest of a larger one.
func TestTheBodyIsAskedForAsItsStreamOpens(t *testing.T) {
	impl := &echoPlugin{}
	side, raw := servedHooks(t, impl, true)
	require.NotNil(t, brokerSession(side.broker), "go-plugin's broker has the shape dialAsking reaches")
	p, _ := newTestPlugin(t)
	require.GreaterOrEqual(t, p.info.MaxBodyBytes, bodyRead, "what is asked for as the stream opens is read anyway")
	mm := raw.(mattermostServes)
	click := `{"post_id":"p1","context":{"approve":true}}`
	for _, c := range []struct {
		name     string
		remote   string
		declared bool
		body     string
		asks     int
	}{
		{"Mattermost's own click", "", false, click, 0},
		{"a bot's acknowledgement declaring its length", "127.0.0.1:5000", true, click, 0},
		{"a body of unknown length over the network", "127.0.0.1:5000", false, click, 1},
		{"Mattermost's own, larger than the first ask", "", false, strings.Repeat("y", bodyRead+10), 1},
		// Hostile: a body declared past the core's limit is never asked for, so none of it
		// crosses the stream and neither process waits for it.
		{"a body declared over 1 MiB", "127.0.0.1:5000", true, strings.Repeat("z", 1<<20+1), 0},
	} {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/handler", strings.NewReader(c.body))
		r.RemoteAddr = c.remote
		if c.declared {
			r.Header.Set("Content-Length", strconv.Itoa(len(c.body)))
		}
		w := httptest.NewRecorder()
		mm.ServeHTTP(&plugin.Context{}, w, r)
		if len(c.body) > 1<<20 {
			assert.JSONEq(t, `{"error":"unread"}`, w.Body.String(), c.name)
		} else {
			assert.Equal(t, "POST /api/v1/handler "+c.body, w.Body.String(), c.name)
		}
		assert.Equal(t, c.asks, impl.asks, c.name)
	}
}

// Every other hook is Mattermost's server's, and reaches the plugin.
func TestOtherHooksGoThroughMattermostsServer(t *testing.T) {
	impl := &echoPlugin{}
	_, raw := servedHooks(t, impl, true)
	res, appErr := raw.(interface {
		ExecuteCommand(*plugin.Context, *model.CommandArgs) (*model.CommandResponse, *model.AppError)
	}).ExecuteCommand(&plugin.Context{}, &model.CommandArgs{Command: "/deploy prod"})
	require.Nil(t, appErr)
	assert.Equal(t, "ran /deploy prod", res.Text)
	assert.Equal(t, []string{"/deploy prod"}, impl.commands)
}

// The body is asked for while the writer's stream opens: here Mattermost's side opens the
// writer's stream only once the body's first size has come (or after a second). Mattermost's
// package alone opens the writer's stream first, and asks for the body only after that second.
// Either way the plugin handles the request once both are open, and answers.
func TestTheBodyIsAskedForWhileTheWritersStreamOpens(t *testing.T) {
	for _, atOnce := range []bool{true, false} {
		side, _ := servedHooks(t, &echoPlugin{}, atOnce)
		body := `{"post_id":"p1"}`
		writer, bodyStream := side.broker.NextId(), side.broker.NextId()
		asked := make(chan struct{})
		go serveBody(side.broker, bodyStream, body, asked)
		srv := &writerServer{rec: httptest.NewRecorder()}
		askedFirst := make(chan bool, 1)
		go func() {
			select {
			case <-asked:
				askedFirst <- true
			case <-time.After(time.Second): // far longer than a round trip; under the broker's 5 s
				askedFirst <- false
			}
			side.serveWriter(writer, srv)
		}()
		require.NoError(t, side.serveHTTP(writer, bodyStream, http.Header{"X-To-Mattermost": {"yes"}}))
		assert.Equal(t, atOnce, <-askedFirst, "at once %v: the body asked for before the writer's stream was open", atOnce)
		// The answer to Mattermost's request in one round trip: the plugin's own writer is
		// written straight; Mattermost's sends the headers first.
		want := []string{"Write"}
		if !atOnce {
			want = []string{"SyncHeader", "Write"}
		}
		srv.mu.Lock()
		assert.Equal(t, want, srv.calls)
		srv.mu.Unlock()
		assert.Equal(t, "POST /api/v1/handler "+body, srv.rec.Body.String())
	}
}

// A request from the network is answered in JSON beside the headers Mattermost set: they are
// fetched as the writer's stream opens, before the handler answers, so the answer takes two
// round trips after the decision (SyncHeader, Write). Mattermost's server fetches them when
// the handler first asks, after its decision: never before it (a 1 s wait, as a control).
func TestARequestFromTheNetworkHasItsHeadersFetchedBeforeItIsAnswered(t *testing.T) {
	for _, atOnce := range []bool{true, false} {
		impl := &echoPlugin{}
		side, _ := servedHooks(t, impl, atOnce)
		writer := side.broker.NextId()
		srv := &writerServer{rec: httptest.NewRecorder()}
		srv.rec.Header().Set("X-Request-Id", "from-mattermost")
		go side.serveWriter(writer, srv)
		var fetchedFirst bool
		impl.beforeAnswer = func() {
			for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && !fetchedFirst; time.Sleep(time.Millisecond) {
				srv.mu.Lock()
				fetchedFirst = slices.Contains(srv.calls, "Header")
				srv.mu.Unlock()
			}
		}
		require.NoError(t, side.getFromNetwork(writer, "/api/v1/ack"))
		assert.Equal(t, atOnce, fetchedFirst, "at once %v: the headers fetched before the answer", atOnce)
		srv.mu.Lock()
		assert.Equal(t, []string{"Header", "SyncHeader", "Write"}, srv.calls)
		srv.mu.Unlock()
		assert.Equal(t, "application/json", srv.rec.Header().Get("Content-Type"))
		assert.Equal(t, "from-mattermost", srv.rec.Header().Get("X-Request-Id"))
		assert.Equal(t, "GET /api/v1/ack ", srv.rec.Body.String())
	}
}

// silentPlugin answers nothing.
type silentPlugin struct{ plugin.MattermostPlugin }

func (silentPlugin) ServeHTTP(*plugin.Context, http.ResponseWriter, *http.Request) {}

// The headers fetched for a request from the network are answered before the call returns,
// also when the handler wrote nothing: then Mattermost's side finishes the response, and its
// writer may change the header map the answer is read from.
func TestTheCallReturnsOnlyOnceTheHeadersAreFetched(t *testing.T) {
	side, _ := servedHooks(t, &silentPlugin{}, true)
	writer := side.broker.NextId()
	srv := &writerServer{rec: httptest.NewRecorder(), headerTakes: 50 * time.Millisecond}
	go side.serveWriter(writer, srv)
	require.NoError(t, side.getFromNetwork(writer, "/api/v1/status"))
	srv.mu.Lock()
	defer srv.mu.Unlock()
	assert.Equal(t, []string{"Header"}, srv.calls)
}

// A stream that fails to open fails the call before the plugin sees the request, as with
// Mattermost's server: here the writer's stream is never accepted (go-plugin's broker gives up
// after 5 s).
func TestNoRequestIsHandledWithoutItsWritersStream(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the broker's 5 s")
	}
	impl := &echoPlugin{}
	side, _ := servedHooks(t, impl, true)
	writer, bodyStream := side.broker.NextId(), side.broker.NextId()
	go serveBody(side.broker, bodyStream, `{}`, nil)
	require.Error(t, side.serveHTTP(writer, bodyStream, http.Header{}))
	assert.True(t, impl.bodyAt.IsZero(), "the plugin never saw the request")
}

// serveBody is Mattermost's side of a request body's stream (plugin.serveIOReader): each Read's
// size comes in, at most that many bytes go out. asked (if not nil) is closed when the first
// size has come.
func serveBody(b *goplugin.MuxBroker, id uint32, body string, asked chan struct{}) {
	conn, err := b.Accept(id)
	if err != nil {
		return
	}
	defer conn.Close()
	in := bufio.NewReader(conn)
	src := bytes.NewReader([]byte(body))
	for {
		n, err := binary.ReadVarint(in)
		if err != nil {
			return
		}
		if asked != nil {
			close(asked)
			asked = nil
		}
		if written, err := io.CopyN(conn, src, n); err != nil || written < n {
			return
		}
	}
}

// BenchmarkServeHTTPStreams is a request through Mattermost's client and the plugin's server
// over go-plugin's connection on loopback, the handler reading the body and writing the answer:
// "at_once" as main serves, "mattermost" with Mattermost's server alone; "click" is
// Mattermost's own request (answered through the writer's Write alone), "rest" a bot's request
// over the network declaring its length (answered in JSON through the writer's methods).
// µs-to-body is from Mattermost's call to the plugin holding the body: the time a click waits
// before the plugin can decide it; µs-to-answer from then to Mattermost's call returning.
func BenchmarkServeHTTPStreams(b *testing.B) {
	body := `{"user_id":"u1","post_id":"p1","channel_id":"c1","team_id":"t1","context":{"approve":true}}`
	for _, request := range []string{"click", "rest"} {
		for _, side := range []struct {
			name   string
			atOnce bool
		}{{"at_once", true}, {"mattermost", false}} {
			b.Run(request+"/"+side.name, func(b *testing.B) {
				impl := &echoPlugin{}
				_, raw := servedHooks(b, impl, side.atOnce)
				mm := raw.(mattermostServes)
				var toBody, toAnswer time.Duration
				for b.Loop() {
					r := httptest.NewRequest(http.MethodPost, "/api/v1/handler", strings.NewReader(body))
					if request == "rest" {
						r.RemoteAddr = "127.0.0.1:5000"
						r.Header.Set("Content-Length", strconv.Itoa(len(body)))
					} else {
						r.RemoteAddr = ""
						r.Header.Set("X-To-Mattermost", "yes")
					}
					w := httptest.NewRecorder()
					start := time.Now()
					mm.ServeHTTP(&plugin.Context{}, w, r)
					end := time.Now()
					toBody += impl.bodyAt.Sub(start)
					toAnswer += end.Sub(impl.bodyAt)
					if w.Code != http.StatusOK {
						b.Fatal(w.Code)
					}
				}
				b.ReportMetric(float64(toBody.Microseconds())/float64(b.N), "µs-to-body")
				b.ReportMetric(float64(toAnswer.Microseconds())/float64(b.N), "µs-to-answer")
			})
		}
	}
}
