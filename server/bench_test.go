package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/tetratelabs/wazero"
)

// noopAPI answers the facts of the "button" fixture at once and drops what it is given, so the
// benchmarks measure the plugin alone: no RPC, no mock bookkeeping.
type noopAPI struct {
	plugin.API
	post    *model.Post
	user    *model.User
	clicker *model.User
	channel *model.Channel
	team    *model.Team
}

func (a *noopAPI) GetPost(string) (*model.Post, *model.AppError) { return a.post, nil }
func (a *noopAPI) GetUser(id string) (*model.User, *model.AppError) {
	if id == a.clicker.Id {
		return a.clicker, nil
	}
	return a.user, nil
}
func (a *noopAPI) GetChannel(string) (*model.Channel, *model.AppError) { return a.channel, nil }
func (a *noopAPI) GetTeam(string) (*model.Team, *model.AppError)       { return a.team, nil }
func (a *noopAPI) KVSetWithOptions(string, []byte, model.PluginKVSetOptions) (bool, *model.AppError) {
	return true, nil
}
func (a *noopAPI) KVGet(string) ([]byte, *model.AppError) { return nil, nil }
func (a *noopAPI) HasPermissionToChannel(string, string, *model.Permission) bool {
	return true
}
func (a *noopAPI) PublishWebSocketEvent(string, map[string]any, *model.WebsocketBroadcast) {}
func (a *noopAPI) GetPluginConfig() map[string]any                                         { return nil }
func (a *noopAPI) GetConfig() *model.Config                                                { return testServerConfig() }
func (a *noopAPI) LogInfo(string, ...any)                                                  {}
func (a *noopAPI) LogWarn(string, ...any)                                                  {}
func (a *noopAPI) LogError(string, ...any)                                                 {}
func (a *noopAPI) LogDebug(string, ...any)                                                 {}

func benchPlugin(b *testing.B) (*Plugin, []byte, string) {
	f := loadFixtures(b)["button"]
	api := &noopAPI{}
	if err := json.Unmarshal(f.Facts["post"].Found, &api.post); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(f.Facts["recipient"].Found, &api.user); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(f.Facts["clicker"].Found, &api.clicker); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(f.Facts["channel"].Found, &api.channel); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(f.Facts["team"].Found, &api.team); err != nil {
		b.Fatal(err)
	}
	p := &Plugin{}
	p.SetAPI(api)
	if err := p.OnActivate(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.OnDeactivate() })
	return p, f.Request.Body, *f.Request.UserID
}

func serveClick(b *testing.B, p *Plugin, body []byte, user string) {
	r := httptest.NewRequest("POST", "/api/v1/handler", bytes.NewReader(body))
	r.Header.Set("Mattermost-User-Id", user)
	w := httptest.NewRecorder()
	p.ServeHTTP(nil, w, r)
	if w.Code != 200 {
		b.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
}

// BenchmarkServeHTTPClick is the whole shim path for one verified click: request bytes in,
// two calls into the pooled wasm core, facts from a no-op API, event published, response out.
func BenchmarkServeHTTPClick(b *testing.B) {
	p, body, user := benchPlugin(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		serveClick(b, p, body, user)
	}
}

// BenchmarkServeHTTPClickParallel is the same under concurrency: throughput should grow with
// cores, as no global lock sits on the path.
func BenchmarkServeHTTPClickParallel(b *testing.B) {
	p, body, user := benchPlugin(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveClick(b, p, body, user)
		}
	})
}

// BenchmarkCorePath is the SPEC §8 budget's "core path through the wasm pool": both calls of
// one click (plan, then decide with the facts) on pooled instances, replies decoded, with the
// documents prepared beforehand. No plugin API, no HTTP.
func BenchmarkCorePath(b *testing.B) { benchCorePath(b, true) }

// BenchmarkCorePathUnguarded is the same without the deadline guard (WithCloseOnContextDone):
// the difference is what stopping a call at its deadline costs every call.
func BenchmarkCorePathUnguarded(b *testing.B) { benchCorePath(b, false) }

func benchCorePath(b *testing.B, guard bool) {
	p, body, user := benchPlugin(b)
	if !guard {
		c, err := newCore(context.Background(), poolSizes(), maxMemoryPages, false)
		if err != nil {
			b.Fatal(err)
		}
		_ = p.core.Close(context.Background())
		p.core = c
	}
	ctx := context.Background()
	call := handleCall{
		Input:    input{HTTP: &httpInput{Method: "POST", Path: "/api/v1/handler", UserID: user}},
		NowMs:    1700000000000,
		Entropy:  p.entropy(),
		Node:     p.node,
		Settings: p.getConfiguration().settings,
	}
	plan, err := call.encode()
	if err != nil {
		b.Fatal(err)
	}
	rep, err := p.callCore(ctx, laneInteractive, &call, body)
	if err != nil || rep.Kind != "need_facts" {
		b.Fatal(err, rep)
	}
	call.Facts = map[string]json.RawMessage{}
	p.gatherFacts(rep.Queries, call.Facts)
	decide, err := call.encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		for _, doc := range [][]byte{plan, decide} {
			out, err := p.core.call(ctx, laneInteractive, p.info.deadline(laneInteractive), doc, body)
			if err != nil {
				b.Fatal(err)
			}
			var r reply
			if err := json.Unmarshal(out, &r); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCompile is the activation cost: compiling the embedded module.
func BenchmarkCompile(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		rt := wazero.NewRuntime(ctx)
		if _, err := rt.CompileModule(ctx, coreWasm); err != nil {
			b.Fatal(err)
		}
		_ = rt.Close(ctx)
	}
	b.ReportMetric(float64(len(coreWasm))/1024, "wasm-KiB")
}

// BenchmarkActivate is OnActivate run again in the same process: the compiled code comes from
// the process-wide compilation cache, so this is the pool and settings part; a first activation
// adds BenchmarkCompile.
func BenchmarkActivate(b *testing.B) {
	for b.Loop() {
		p := &Plugin{}
		p.SetAPI(&noopAPI{})
		if err := p.OnActivate(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = p.OnDeactivate()
		b.StartTimer()
	}
	b.ReportMetric(float64(poolSizes()[laneInteractive]), "instances")
}

// BenchmarkInstanceMemory reports one instance's linear memory after serving clicks.
func BenchmarkInstanceMemory(b *testing.B) {
	p, body, user := benchPlugin(b)
	for b.Loop() {
		serveClick(b, p, body, user)
	}
	var largest uint32
	for _, pool := range p.core.pools {
		for range cap(pool) {
			inst := <-pool
			largest = max(largest, inst.memory.Size())
			defer func() { pool <- inst }()
		}
	}
	b.ReportMetric(float64(largest)/1024, "instance-KiB")
}
