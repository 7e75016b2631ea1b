package main

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/rpc"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writerServer plays the server's side of a plugin's response writer: the RPC methods
// Mattermost serves for it (Plugin.Header, SyncHeader, WriteHeader, Write), writing to a
// recorder as Mattermost writes to its own writer, and remembering each round trip.
type writerServer struct {
	mu    sync.Mutex
	calls []string
	rec   *httptest.ResponseRecorder
	// headerTakes delays the answer to Header, which is remembered as it is answered.
	headerTakes time.Duration
}

func (s *writerServer) called(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, name)
}

func (s *writerServer) Header(_ struct{}, reply *http.Header) error {
	time.Sleep(s.headerTakes)
	s.called("Header")
	*reply = s.rec.Header().Clone()
	return nil
}

func (s *writerServer) SyncHeader(h http.Header, _ *struct{}) error {
	s.called("SyncHeader")
	dest := s.rec.Header()
	for k := range dest {
		if _, ok := h[k]; !ok {
			delete(dest, k)
		}
	}
	for k, v := range h {
		dest[k] = v
	}
	return nil
}

func (s *writerServer) WriteHeader(status int, _ *struct{}) error {
	s.called("WriteHeader")
	if status < 100 || status > 999 {
		return errors.New("invalid http status code")
	}
	s.rec.WriteHeader(status)
	return nil
}

func (s *writerServer) Write(b []byte, _ *struct{}) error {
	s.called("Write")
	_, err := s.rec.Write(b)
	return err
}

// remoteWriter connects the plugin's response writer to a writerServer over a pipe. Mattermost
// has set a header of its own on the response before the plugin writes.
func remoteWriter(t testing.TB) (*streamWriter, *writerServer) {
	t.Helper()
	client, srv := remoteClient(t)
	return &streamWriter{client: client}, srv
}

func remoteClient(t testing.TB) (*rpc.Client, *writerServer) {
	t.Helper()
	srv := &writerServer{rec: httptest.NewRecorder()}
	srv.rec.Header().Set("X-Request-Id", "from-mattermost")
	rpcServer := rpc.NewServer()
	require.NoError(t, rpcServer.RegisterName("Plugin", srv))
	ours, theirs := net.Pipe()
	go rpcServer.ServeConn(theirs)
	client := rpc.NewClient(ours)
	t.Cleanup(func() { _ = client.Close() })
	return client, srv
}

func TestAResponseToMattermostIsOneRoundTrip(t *testing.T) {
	w, srv := remoteWriter(t)
	writeResponse(w, &response{Status: http.StatusOK, Body: `{"update":{"message":"done"}}`, ToMattermost: true})
	assert.Equal(t, []string{"Write"}, srv.calls, "a click's answer: the body alone, no headers first")
	assert.Equal(t, http.StatusOK, srv.rec.Code)
	assert.JSONEq(t, `{"update":{"message":"done"}}`, srv.rec.Body.String())
	assert.Equal(t, "from-mattermost", srv.rec.Header().Get("X-Request-Id"), "Mattermost's own headers are left alone")
}

func TestARefusalToMattermostSendsItsStatusAndBody(t *testing.T) {
	w, srv := remoteWriter(t)
	writeResponse(w, &response{Status: http.StatusForbidden, Body: `{"error":"forbidden"}`, ToMattermost: true})
	assert.Equal(t, []string{"WriteHeader", "Write"}, srv.calls, "two round trips, not four")
	assert.Equal(t, http.StatusForbidden, srv.rec.Code)
	assert.JSONEq(t, `{"error":"forbidden"}`, srv.rec.Body.String())
}

func TestAnEmptyAnswerToMattermostWritesNothing(t *testing.T) {
	w, srv := remoteWriter(t)
	writeResponse(w, &response{Status: http.StatusOK, ToMattermost: true})
	assert.Empty(t, srv.calls)
}

// Any other writer (a test's recorder, a wrapper) is written through its own methods.
func TestAnotherWriterIsWrittenThroughItsMethods(t *testing.T) {
	rec := httptest.NewRecorder()
	writeResponse(rec, &response{Status: http.StatusForbidden, Body: `{"error":"forbidden"}`, ToMattermost: true})
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.JSONEq(t, `{"error":"forbidden"}`, rec.Body.String())
}

// A status the server refuses does not keep the body from being written, as with the writer's
// own methods.
func TestARefusedStatusStillWritesTheBody(t *testing.T) {
	w, srv := remoteWriter(t)
	writeResponse(w, &response{Status: 42, Body: `{"error":"odd"}`, ToMattermost: true})
	assert.Equal(t, []string{"WriteHeader", "Write"}, srv.calls)
	assert.JSONEq(t, `{"error":"odd"}`, srv.rec.Body.String())
}

// A REST response is JSON beside the headers Mattermost set, which go once: Mattermost's writer
// sends them before the WriteHeader and again before the Write (five round trips).
func TestARestResponseIsJSONBesideMattermostsHeaders(t *testing.T) {
	w, srv := remoteWriter(t)
	writeResponse(w, &response{Status: http.StatusConflict, Body: `{"code":"answered"}`})
	assert.Equal(t, []string{"Header", "SyncHeader", "WriteHeader", "Write"}, srv.calls)
	assert.Equal(t, http.StatusConflict, srv.rec.Code)
	assert.Equal(t, "application/json", srv.rec.Header().Get("Content-Type"))
	assert.Equal(t, "from-mattermost", srv.rec.Header().Get("X-Request-Id"))
	assert.JSONEq(t, `{"code":"answered"}`, srv.rec.Body.String())
}

// Nothing is written while the headers fetched for a request from the network are on their
// way (the server's side reads its header map to answer, and its writer may change it as the
// response starts): here a response to Mattermost's own kind of request, posted from the
// network, which needs no headers.
func TestNothingIsWrittenWhileTheHeadersAreFetched(t *testing.T) {
	w, srv := remoteWriter(t)
	srv.headerTakes = 50 * time.Millisecond
	w.fetchHeader()
	writeResponse(w, &response{Status: http.StatusForbidden, Body: `{"error":"forbidden"}`, ToMattermost: true})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	assert.Equal(t, []string{"Header", "WriteHeader", "Write"}, srv.calls)
}

// So is a status written without the headers asked for (the shim's last resort, a 503), and
// the headers Mattermost set stay.
func TestNoStatusIsWrittenWhileTheHeadersAreFetched(t *testing.T) {
	w, srv := remoteWriter(t)
	srv.headerTakes = 50 * time.Millisecond
	w.fetchHeader()
	w.WriteHeader(http.StatusServiceUnavailable)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	assert.Equal(t, []string{"Header", "WriteHeader"}, srv.calls)
	assert.Equal(t, "from-mattermost", srv.rec.Header().Get("X-Request-Id"))
}

// A 200 leaves the status to the Write: the headers, then the body.
func TestARestAnswerIsThreeRoundTrips(t *testing.T) {
	w, srv := remoteWriter(t)
	writeResponse(w, &response{Status: http.StatusOK, Body: `{"ok":true}`})
	assert.Equal(t, []string{"Header", "SyncHeader", "Write"}, srv.calls)
	assert.Equal(t, "application/json", srv.rec.Header().Get("Content-Type"))
}

// A handler that never asks for the headers changes none: they are not sent, and Mattermost's
// stay (its own writer would send back an empty set, wiping them).
func TestUntouchedHeadersAreNotSent(t *testing.T) {
	w, srv := remoteWriter(t)
	_, err := w.Write([]byte("a"))
	require.NoError(t, err)
	_, err = w.Write([]byte("b"))
	require.NoError(t, err)
	assert.Equal(t, []string{"Write", "Write"}, srv.calls)
	assert.Equal(t, "from-mattermost", srv.rec.Header().Get("X-Request-Id"))
	assert.Equal(t, "ab", srv.rec.Body.String())
}

// Headers go with the first WriteHeader or Write; a change after it does nothing, as with
// net/http, so nothing more is sent.
func TestHeadersGoOnceTheResponseStarts(t *testing.T) {
	w, srv := remoteWriter(t)
	w.Header().Set("X-One", "1")
	w.WriteHeader(http.StatusAccepted)
	w.Header().Set("X-Two", "2")
	_, err := w.Write([]byte("{}"))
	require.NoError(t, err)
	assert.Equal(t, []string{"Header", "SyncHeader", "WriteHeader", "Write"}, srv.calls)
	assert.Equal(t, "1", srv.rec.Header().Get("X-One"))
	assert.Empty(t, srv.rec.Header().Get("X-Two"))
	assert.Equal(t, http.StatusAccepted, srv.rec.Code)
}

// BenchmarkWriteResponse writes a click's answer to a writer like Mattermost's over a pipe:
// "direct" as the plugin does (one round trip), "writer" through the writer's own Write (the
// headers first, then the body: two).
func BenchmarkWriteResponse(b *testing.B) {
	answer := &response{Status: http.StatusOK, Body: `{"update":{"message":"Approved by @alice"},"ephemeral_text":"Done."}`, ToMattermost: true}
	for _, side := range []string{"direct", "writer"} {
		b.Run(side, func(b *testing.B) {
			w, srv := remoteWriter(b)
			for b.Loop() {
				srv.rec.Body.Reset()
				srv.calls = srv.calls[:0]
				if side == "direct" {
					writeResponse(w, answer)
				} else {
					_, _ = w.Write([]byte(answer.Body))
				}
			}
		})
	}
}
