package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// noopAPI answers the facts of the "button" fixture at once and drops what it is given, so the
// benchmarks measure the plugin alone: no RPC, no mock bookkeeping.
type noopAPI struct {
	plugin.API
	bundle  string
	keyring []byte
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
func (a *noopAPI) KVGet(key string) ([]byte, *model.AppError) {
	if key == "signing_key" {
		return a.keyring, nil
	}
	return nil, nil
}
func (a *noopAPI) HasPermissionToChannel(string, string, *model.Permission) bool {
	return true
}
func (a *noopAPI) PublishWebSocketEvent(string, map[string]any, *model.WebsocketBroadcast) {}
func (a *noopAPI) PublishPluginClusterEvent(model.PluginClusterEvent, model.PluginClusterEventSendOptions) error {
	return nil
}
func (a *noopAPI) GetBundlePath() (string, error)  { return a.bundle, nil }
func (a *noopAPI) GetPluginConfig() map[string]any { return nil }
func (a *noopAPI) GetConfig() *model.Config        { return testServerConfig() }
func (a *noopAPI) LogInfo(string, ...any)          {}
func (a *noopAPI) LogWarn(string, ...any)          {}
func (a *noopAPI) LogError(string, ...any)         {}
func (a *noopAPI) LogDebug(string, ...any)         {}

// benchPlugin is an activated plugin whose no-op API answers a warm signed click's facts: the
// shared fixture signing/click_signed_v2 (a button the plugin signed when the bot posted it).
func benchPlugin(b *testing.B) (*Plugin, []byte, string) {
	api, body, user := clickAPI(b)
	return activated(b, api), body, user
}

// clickAPI is a no-op API that answers the facts of signing/click_signed_v2, and that click's
// body and clicker.
func clickAPI(tb testing.TB) (*noopAPI, []byte, string) {
	f := loadFixtures(tb)["sign_click_signed_v2"]
	api := &noopAPI{keyring: f.Facts["keyring"].Found}
	for fact, into := range map[string]any{"post": &api.post, "recipient": &api.user, "clicker": &api.clicker, "channel": &api.channel, "team": &api.team} {
		if err := json.Unmarshal(f.Facts[fact].Found, into); err != nil {
			tb.Fatal(err)
		}
	}
	return api, f.Request.Body, *f.Request.UserID
}

// activated is a plugin on api, activated, deactivated when the test ends. Its timers never
// fire, so that the core is called only for what the test or benchmark does.
func activated(tb testing.TB, api plugin.API) *Plugin {
	p := &Plugin{}
	p.timers.manual = true
	p.SetAPI(api)
	if err := p.OnActivate(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.OnDeactivate() })
	return p
}

// serveClick serves one click and answers how many calls it made to the response writer (on a
// real server, each is one or two round trips to it).
func serveClick(b *testing.B, p *Plugin, body []byte, user string) int {
	r := httptest.NewRequest("POST", "/api/v1/handler", bytes.NewReader(body))
	r.Header.Set("Mattermost-User-Id", user)
	r.RemoteAddr = "" // Mattermost's own request, made inside the server
	w := &roundTrips{ResponseRecorder: httptest.NewRecorder()}
	p.ServeHTTP(nil, w, r)
	if w.Code != 200 {
		b.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	return w.calls
}

// BenchmarkServeHTTPClick is the whole shim path for one verified click: request bytes in,
// the pooled wasm core, facts from a no-op API, event published, response out. It reports the
// core calls and the response writer's calls a click makes.
func BenchmarkServeHTTPClick(b *testing.B) {
	p, body, user := benchPlugin(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	before := p.core.calls.Load()
	writes := 0
	for b.Loop() {
		writes += serveClick(b, p, body, user)
	}
	b.ReportMetric(float64(p.core.calls.Load()-before)/float64(b.N), "core-calls/op")
	b.ReportMetric(float64(writes)/float64(b.N), "writer-calls/op")
}

// BenchmarkMessageWillBePosted is a bot's post with the plugin's buttons through the post hook
// (fixture signing/post_signed): its buttons signed, on a node that has the signing key cached,
// as every post but a node's first in a minute. It reports the core calls a post costs: one,
// the key coming with the first call (the core's standing queries).
func BenchmarkMessageWillBePosted(b *testing.B) {
	api, _, _ := clickAPI(b)
	p := activated(b, api)
	var in struct {
		PostToSave postToSave `json:"post_will_be_saved"`
	}
	if err := json.Unmarshal(loadFixtures(b)["sign_post_signed"].Input, &in); err != nil {
		b.Fatal(err)
	}
	post := func() *model.Post {
		var post model.Post
		if err := json.Unmarshal(in.PostToSave.Post, &post); err != nil {
			b.Fatal(err)
		}
		return &post
	}
	if signed, rejection := p.MessageWillBePosted(nil, post()); signed == nil || rejection != "" {
		b.Fatalf("the post was not signed: %q", rejection)
	}
	b.ReportAllocs()
	before := p.core.calls.Load()
	for b.Loop() {
		b.StopTimer()
		unsigned := post()
		b.StartTimer()
		if signed, _ := p.MessageWillBePosted(nil, unsigned); signed == nil {
			b.Fatal("the post was not signed")
		}
	}
	b.ReportMetric(float64(p.core.calls.Load()-before)/float64(b.N), "core-calls/op")
}

// permissionRTT is what HasPermissionToChannel took on the real server (p50, a trace of
// sequential clicks: docs/BENCHMARKS.md): a click's one round trip it cannot skip.
const permissionRTT = 410 * time.Microsecond

// otherCPU stands for the Mattermost server on the machine's other processor: it answers each
// request permissionRTT after it was sent. It spins (Go's timers are too coarse for this), so
// it holds one of the benchmark's processors the whole time, as the server's work would.
type otherCPU struct {
	due  atomic.Int64 // when the request in flight is answered (Unix ns); 0: none
	done chan struct{}
	stop atomic.Bool
}

func newOtherCPU(b *testing.B) *otherCPU {
	if runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs two processors: the plugin's and the server's")
	}
	o := &otherCPU{done: make(chan struct{})}
	go func() {
		for !o.stop.Load() {
			if due := o.due.Load(); due != 0 && time.Now().UnixNano() >= due {
				o.due.Store(0)
				o.done <- struct{}{}
			}
		}
	}()
	b.Cleanup(func() { o.stop.Store(true) })
	return o
}

// roundTrip sends a request and waits for its answer, as an RPC does: the caller's processor
// is free meanwhile.
func (o *otherCPU) roundTrip() {
	o.due.Store(time.Now().Add(permissionRTT).UnixNano())
	<-o.done
}

// slowPermission is the no-op API with the permission's round trip to the other processor.
type slowPermission struct {
	*noopAPI
	server *otherCPU
}

func (a slowPermission) HasPermissionToChannel(string, string, *model.Permission) bool {
	a.server.roundTrip()
	return true
}

// BenchmarkServeHTTPClickPermissionRTT is BenchmarkServeHTTPClick with the permission's round
// trip as long as on the real server, answered by another processor: what a click waits for
// in the shim, with that round trip beside the core's decision (nextRound) rather than before
// it.
func BenchmarkServeHTTPClickPermissionRTT(b *testing.B) {
	api, body, user := clickAPI(b)
	p := activated(b, slowPermission{api, newOtherCPU(b)})
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

// BenchmarkCorePath is the SPEC §8 budget's "core path through the wasm pool": the core work of
// one warm click on a signed post as the shim does it (the key a standing fact, the other
// answers prefetched from the cache, the permission confirmed: one call), on pooled instances,
// replies decoded, with the documents prepared beforehand. No plugin API, no HTTP. It reports
// the fuel a click spends. BENCH_CORE_WASM runs it on another build of the core with the same
// exports (the unmetered floor: `tools/fuel --unmetered`, docs/BENCHMARKS.md).
func BenchmarkCorePath(b *testing.B) { benchCorePath(b, false, false, true) }

// BenchmarkCorePathTwoCalls is the same click without prefetched answers, as before issue 19.3
// was done and as a click the cache cannot answer still goes: what to ask, then the decision.
func BenchmarkCorePathTwoCalls(b *testing.B) { benchCorePath(b, false, false, false) }

// BenchmarkCorePathCold is CorePath with the processor's caches holding other work's data
// before every call (64 MiB written between calls, outside the timing), as on a server where
// Mattermost and PostgreSQL run between a click's calls: the core's code and memory come from
// main memory again. On the real server a call costs about this, not CorePath's figure
// (docs/BENCHMARKS.md, "Cold calls").
func BenchmarkCorePathCold(b *testing.B) { benchCorePath(b, false, true, true) }

// BenchmarkCorePathTwoCallsCold is CorePathTwoCalls with the caches cold, as CorePathCold.
func BenchmarkCorePathTwoCallsCold(b *testing.B) { benchCorePath(b, false, true, false) }

// BenchmarkCorePathGuarded is CorePath with wazero's WithCloseOnContextDone on, the deadline
// guard fuel replaced: the difference is what that guard cost every call.
func BenchmarkCorePathGuarded(b *testing.B) { benchCorePath(b, true, false, true) }

func benchCorePath(b *testing.B, guard, cold, prefetch bool) {
	// otherWork stands for the memory the rest of the machine touches between two core calls:
	// larger than any processor cache. Made only when used: 64 MiB of live heap would make the
	// garbage collector run less often in every other benchmark of the package.
	var otherWork []byte
	if cold {
		otherWork = make([]byte, 64<<20)
	}
	p, body, user := benchPlugin(b)
	ctx := context.Background()
	if module, runtimeConfig := benchModule(b), wazero.NewRuntimeConfig(); guard || module != nil {
		if module == nil {
			module = coreWasm
		}
		runtimeConfig = runtimeConfig.WithMemoryLimitPages(maxMemoryPages).WithCloseOnContextDone(guard)
		rt := wazero.NewRuntimeWithConfig(ctx, runtimeConfig)
		compiled, err := rt.CompileModule(ctx, module)
		if err != nil {
			b.Fatal(err)
		}
		c := &core{runtime: rt, compiled: compiled}
		for lane := range lanes {
			c.pools[lane] = make(chan *instance, 1)
			inst, err := c.instantiate(ctx)
			if err != nil {
				b.Fatal(err)
			}
			c.pools[lane] <- inst
		}
		_ = p.core.Close(ctx)
		p.core = c
	}
	serveClick(b, p, body, user) // what a warm click reads is cached from here on
	call := handleCall{
		Input:    input{HTTP: &httpInput{Method: "POST", Path: "/api/v1/handler", UserID: user, Internal: true}},
		NowMs:    p.now().UnixMilli(),
		Entropy:  p.entropy(),
		Node:     p.node,
		Settings: p.getConfiguration().settings,
	}
	p.attachStanding(&call)
	if prefetch {
		// A click Mattermost made is asked nothing beside the call: no guesses to confirm.
		guess := p.prefetch(&call, p.getConfiguration(), body, time.UnixMilli(call.NowMs))
		if len(call.Prefetched) == 0 || (guess != nil && !guess.confirm(&call)) {
			b.Fatal("the click's answers are not all at hand")
		}
	}
	var docs []encodedCall
	for {
		doc, err := call.encode()
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, doc)
		rep, err := p.callCore(ctx, laneInteractive, &call, body)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Kind == "decision" {
			break
		}
		if call.Facts == nil {
			call.Facts = map[string]json.RawMessage{}
		}
		now := p.now()
		p.startAsking(p.fromCache(rep.Queries, call.Facts, now), call.Facts, now, true)()
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	profile := startProfile(b, p)
	var fuel int64
	spent := make([]time.Duration, len(docs)) // per call, to tell the plan from the decision
	for b.Loop() {
		fuel = 0
		for i, doc := range docs {
			if cold {
				b.StopTimer()
				for i := 0; i < len(otherWork); i += 64 {
					otherWork[i]++
				}
				b.StartTimer()
			}
			// A guarded call needs a deadline for the guard to watch, as it had in production.
			callCtx, cancel := context.WithTimeout(ctx, time.Second)
			start := time.Now()
			out, used, err := p.core.call(callCtx, laneInteractive, p.info.fuel(laneInteractive), doc, body)
			spent[i] += time.Since(start)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			fuel += used
			if _, err := decodeReply(out); err != nil {
				b.Fatal(err)
			}
		}
	}
	profile.report(b)
	b.ReportMetric(float64(len(docs)), "core-calls")
	b.ReportMetric(float64(fuel), "fuel")
	for i, d := range spent {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N)/1000, fmt.Sprintf("call%d-µs", i+1))
	}
}

// benchModule is the module BENCH_CORE_WASM names, if any.
// coreProfile is the work per function of a module built with `socket-mode-fuel --profile`
// (`make core-profile`): BENCH_CORE_PROFILE names the file the report goes to, and
// BENCH_CORE_WASM the module, its function names beside it in MODULE.names.
type coreProfile struct {
	counters []api.MutableGlobal
	names    []string
}

// startProfile zeroes the counters of the instance CorePath calls (its lane holds one when
// BENCH_CORE_WASM is set), so that the report counts the timed calls only; nil without
// BENCH_CORE_PROFILE.
func startProfile(b *testing.B, p *Plugin) *coreProfile {
	if os.Getenv("BENCH_CORE_PROFILE") == "" {
		return nil
	}
	list, err := os.ReadFile(os.Getenv("BENCH_CORE_WASM") + ".names")
	if err != nil {
		b.Fatalf("BENCH_CORE_PROFILE needs a module built by `socket-mode-fuel --profile`: %v", err)
	}
	inst := <-p.core.pools[laneInteractive]
	defer func() { p.core.pools[laneInteractive] <- inst }()
	profile := &coreProfile{}
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		export, name, _ := strings.Cut(line, "\t")
		counter, ok := inst.module.ExportedGlobal(export).(api.MutableGlobal)
		if !ok {
			b.Fatalf("the module has no counter %q", export)
		}
		counter.Set(0)
		profile.counters = append(profile.counters, counter)
		profile.names = append(profile.names, name)
	}
	return profile
}

// report writes each function's work per timed iteration, largest first.
func (c *coreProfile) report(b *testing.B) {
	if c == nil {
		return
	}
	type row struct {
		work float64
		name string
	}
	var rows []row
	var total float64
	for i, counter := range c.counters {
		work := float64(counter.Get()) / float64(b.N)
		total += work
		if work > 0 {
			rows = append(rows, row{work, c.names[i]})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].work > rows[j].work })
	var out strings.Builder
	fmt.Fprintf(&out, "# work per call (instructions, about), %d calls; total %.0f\n", b.N, total)
	for _, r := range rows {
		fmt.Fprintf(&out, "%10.0f %5.1f%%  %s\n", r.work, 100*r.work/total, r.name)
	}
	if err := os.WriteFile(os.Getenv("BENCH_CORE_PROFILE"), []byte(out.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}

func benchModule(b *testing.B) []byte {
	path := os.Getenv("BENCH_CORE_WASM")
	if path == "" {
		return nil
	}
	module, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("core: %s (%d bytes)", path, len(module))
	return module
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

// BenchmarkActivate is OnActivate in a new process after a first one ran: the compiled code
// comes from the cache on disk beside the bundle (the in-process caches are dropped, as a new
// process starts without them). SPEC §8: at most 300 ms. A first activation adds
// BenchmarkCompile.
func BenchmarkActivate(b *testing.B) {
	bundle := b.TempDir()
	first := &Plugin{}
	first.SetAPI(&noopAPI{bundle: bundle})
	if err := first.OnActivate(); err != nil {
		b.Fatal(err)
	}
	_ = first.OnDeactivate()
	for b.Loop() {
		compilationCaches.Clear()
		p := &Plugin{}
		p.SetAPI(&noopAPI{bundle: bundle})
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
