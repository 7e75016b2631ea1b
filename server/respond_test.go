package main

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/http"
	"net/http/httptest"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/mattermost/mattermost/server/public/plugin"
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
}

func (s *writerServer) called(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, name)
}

func (s *writerServer) Header(_ struct{}, reply *http.Header) error {
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

// httpResponseWriterRPCClient behaves as the writer Mattermost hands a plugin: the headers are
// fetched once, and sent before every WriteHeader and Write.
type httpResponseWriterRPCClient struct {
	client *rpc.Client
	header http.Header
}

func (w *httpResponseWriterRPCClient) Header() http.Header {
	if w.header == nil {
		_ = w.client.Call("Plugin.Header", struct{}{}, &w.header)
	}
	return w.header
}

func (w *httpResponseWriterRPCClient) Write(b []byte) (int, error) {
	if err := w.client.Call("Plugin.SyncHeader", w.header, nil); err != nil {
		return 0, err
	}
	if err := w.client.Call("Plugin.Write", b, nil); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (w *httpResponseWriterRPCClient) WriteHeader(status int) {
	if err := w.client.Call("Plugin.SyncHeader", w.header, nil); err == nil {
		_ = w.client.Call("Plugin.WriteHeader", status, nil)
	}
}

// The stand-in is the writer the shim looks into in these tests.
func init() {
	stand := reflect.TypeFor[httpResponseWriterRPCClient]()
	mattermostWriter.pkg, mattermostWriter.name = stand.PkgPath(), stand.Name()
}

// remoteWriter connects a writer like Mattermost's to a writerServer over a pipe. Mattermost
// has set a header of its own on the response before the plugin writes.
func remoteWriter(t testing.TB) (*httpResponseWriterRPCClient, *writerServer) {
	t.Helper()
	client, srv := remoteClient(t)
	return &httpResponseWriterRPCClient{client: client}, srv
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

// otherWriter is not Mattermost's writer, though it holds an RPC client by the same name; it
// writes through its own methods (here: Write alone, headers and all).
type otherWriter struct {
	*httptest.ResponseRecorder
	client *rpc.Client
}

// wrapped embeds a writer through a nil pointer, which following its fields would panic on.
type wrapped struct {
	*otherWriter
	http.ResponseWriter
}

func TestOnlyMattermostsWriterIsLookedInto(t *testing.T) {
	client, srv := remoteClient(t)
	other := &otherWriter{ResponseRecorder: httptest.NewRecorder(), client: client}
	writeResponse(other, &response{Status: http.StatusForbidden, Body: `{"error":"forbidden"}`, ToMattermost: true})
	assert.Empty(t, srv.calls, "another writer's client is not called")
	assert.Equal(t, http.StatusForbidden, other.Code)
	assert.JSONEq(t, `{"error":"forbidden"}`, other.Body.String())

	rec := httptest.NewRecorder()
	assert.NotPanics(t, func() {
		writeResponse(&wrapped{ResponseWriter: rec}, &response{Status: http.StatusOK, Body: `{}`, ToMattermost: true})
	})
	assert.Equal(t, `{}`, rec.Body.String())
}

// A status the server refuses does not keep the body from being written, as with the writer's
// own methods.
func TestARefusedStatusStillWritesTheBody(t *testing.T) {
	w, srv := remoteWriter(t)
	writeResponse(w, &response{Status: 42, Body: `{"error":"odd"}`, ToMattermost: true})
	assert.Equal(t, []string{"WriteHeader", "Write"}, srv.calls)
	assert.JSONEq(t, `{"error":"odd"}`, srv.rec.Body.String())
}

func TestARestResponseIsJSONBesideMattermostsHeaders(t *testing.T) {
	w, srv := remoteWriter(t)
	writeResponse(w, &response{Status: http.StatusConflict, Body: `{"code":"answered"}`})
	assert.Equal(t, http.StatusConflict, srv.rec.Code)
	assert.Equal(t, "application/json", srv.rec.Header().Get("Content-Type"))
	assert.Equal(t, "from-mattermost", srv.rec.Header().Get("X-Request-Id"))
	assert.JSONEq(t, `{"code":"answered"}`, srv.rec.Body.String())
}

// The writer writeResponse reaches into is Mattermost's, in the version this plugin is built
// with: if an upgrade changes its shape, this fails (the plugin would still answer, through the
// writer's methods, a round trip slower).
func TestMattermostsResponseWriterHasTheShapeWeReach(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/mattermost/mattermost/server/public").Output()
	require.NoError(t, err)
	dir := filepath.Join(strings.TrimSpace(string(out)), "plugin")
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, filepath.Join(dir, "http.go"), nil, 0)
	require.NoError(t, err)
	fields := map[string]string{}
	params := map[string]string{}
	returned := ""
	for _, decl := range file.Decls {
		switch d := decl.(type) {
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				ts, ok := spec.(*ast.TypeSpec)
				if !ok || ts.Name.Name != mattermostWriterName {
					continue
				}
				for _, f := range ts.Type.(*ast.StructType).Fields.List {
					for _, n := range f.Names {
						fields[n.Name] = exprText(f.Type)
					}
				}
			}
		case *ast.FuncDecl:
			if d.Recv != nil && exprText(d.Recv.List[0].Type) == "*httpResponseWriterRPCServer" {
				params[d.Name.Name] = exprText(d.Type.Params.List[0].Type)
			}
			if d.Recv == nil && d.Name.Name == "connectHTTPResponseWriter" {
				returned = exprText(d.Type.Results.List[0].Type)
			}
		}
	}
	assert.Equal(t, mattermostWriterPkg, reflect.TypeFor[plugin.Context]().PkgPath(), "the plugin package's path")
	assert.Equal(t, "*rpc.Client", fields["client"], "the writer's RPC client")
	assert.Equal(t, "[]byte", params["Write"], "Plugin.Write takes the body")
	assert.Equal(t, "int", params["WriteHeader"], "Plugin.WriteHeader takes the status")
	assert.Equal(t, "*"+mattermostWriterName, returned, "the writer ServeHTTP is given")

	// The server's side of the writer answers under the name the shim calls.
	served, err := os.ReadFile(filepath.Join(dir, "client_rpc.go"))
	require.NoError(t, err)
	assert.Contains(t, string(served), `RegisterName("Plugin", &httpResponseWriterRPCServer{`)
	// And the writer a plugin's ServeHTTP is given is the one connectHTTPResponseWriter makes.
	assert.Contains(t, string(served), `w := connectHTTPResponseWriter(connection)`)
}

func exprText(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return "*" + exprText(e.X)
	case *ast.SelectorExpr:
		return exprText(e.X) + "." + e.Sel.Name
	case *ast.ArrayType:
		return "[]" + exprText(e.Elt)
	}
	return "?"
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
