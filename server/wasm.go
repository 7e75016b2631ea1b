package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// coreWasm is the Rust core built by `make` (src/ → wasm32-unknown-unknown); never committed.
//
//go:embed core.wasm
var coreWasm []byte

const (
	// maxMemoryPages caps one instance at 64 MiB: enough for the worst 1 MiB body the core
	// accepts (a JSON value costs far more in memory than in text), so no valid request traps.
	maxMemoryPages = 1024
	// keepMemoryBytes is how large an instance may stay in the pool. Wasm memory never shrinks,
	// so an instance that grew past this serving a large request is replaced by a fresh one.
	keepMemoryBytes = 2 << 20
)

// compilationCaches keeps one cache per directory for the life of the process: anything that
// activates the plugin again in the same process (the test suite) skips recompiling, and with
// a directory the compiled code outlives the process (compile.go).
var compilationCaches sync.Map

// errCoreTrapped marks a call that trapped (a panic in the core, or a bug at the boundary).
var errCoreTrapped = errors.New("the core trapped")

// core is the compiled module and two bounded pools of instances, one per lane. A wasm
// instance serves one call at a time (wazero: "Call is not goroutine-safe"), so each call takes
// an instance from its lane's pool and gives it back; callers beyond the pool's size wait. A
// slot holds nil when its instance was discarded and the replacement failed; the next taker
// instantiates one.
//
// Lanes keep clicks from queueing behind heavy work: the core names the inputs that may be
// heavy (lint, opening a dialog), and those get a small pool of their own, so a flood of them
// can occupy at most that pool, never the instances clicks and submissions use.
//
// Every call runs on a budget of fuel the core sets per lane: the module's loops are metered at
// build time (tools/fuel), so a call that would run past its budget traps and its instance is
// replaced like a trapped one. Fuel counts work, not time: the same input costs the same on an
// idle or an overloaded machine, and a valid click is never stopped because the machine was
// busy. It replaced wazero's WithCloseOnContextDone, whose check at every loop header leaves
// native code for Go and whose goroutine per call cost 6-9 times the work of a click's call
// (docs/BENCHMARKS.md, "Bounded work").
type core struct {
	runtime  wazero.Runtime
	compiled wazero.CompiledModule
	pools    [lanes]chan *instance
	// calls counts the calls served: a flow's core calls as the shim makes them (the
	// benchmarks report it per click).
	calls atomic.Int64
	// heavyBytes is the core's size past which an input is heavy (its info); a call that
	// carries more, its answers included (a post of 800,000 characters asked of a click), is
	// heavy work on any lane. 0 until the core said.
	heavyBytes atomic.Int64
}

// The lanes: which pool serves a call.
const (
	laneInteractive = iota // clicks, submissions, hooks: everything a person waits on
	laneBulk               // what the core says may be heavy (lint, opening a dialog)
	lanes
)

// errCoreOutOfFuel marks a call stopped when it spent its lane's budget.
var errCoreOutOfFuel = errors.New("the core ran past its work budget")

// fuelUnbounded is the budget of the calls made before the core said its lanes' budgets (the
// first call asks for them).
const fuelUnbounded = math.MaxInt64

// initialInbox is the inbox an instance starts with: most calls fit (a click is 2-4 KiB), so
// one exported call serves them.
const initialInbox = 64 << 10

// instance is one instantiated module and its exports, looked up once.
type instance struct {
	module      api.Module
	memory      api.Memory
	fuel        api.MutableGlobal
	inbox       api.Function
	handle      api.Function
	inboxPtr    uint32
	inboxLen    uint32
	panicBuffer uint32
	stack       []uint64
}

// newCore compiles the embedded module once and fills each lane's pool (sizes[lane]
// instances), each instance capped at memoryPages pages of 64 KiB (maxMemoryPages in
// production). cacheDir keeps the compiled code on disk for the next process (none when
// empty; a directory that cannot be used only costs a compilation).
func newCore(ctx context.Context, sizes [lanes]int, memoryPages uint32, cacheDir string) (*core, error) {
	config := wazero.NewRuntimeConfig().WithMemoryLimitPages(memoryPages).
		WithCompilationCache(compilationCache(cacheDir))
	runtime := wazero.NewRuntimeWithConfig(ctx, config)
	compiled, err := runtime.CompileModule(ctx, coreWasm)
	if err != nil {
		_ = runtime.Close(ctx)
		return nil, fmt.Errorf("compiling the core: %w", err)
	}
	if n := len(compiled.ImportedFunctions()) + len(compiled.ImportedMemories()); n != 0 {
		_ = runtime.Close(ctx)
		return nil, fmt.Errorf("the core must import nothing, but imports %d items", n)
	}
	c := &core{runtime: runtime, compiled: compiled}
	for lane, size := range sizes {
		c.pools[lane] = make(chan *instance, size)
		for range size {
			inst, err := c.instantiate(ctx)
			if err != nil {
				_ = c.Close(ctx)
				return nil, err
			}
			c.pools[lane] <- inst
		}
	}
	return c, nil
}

func (c *core) instantiate(ctx context.Context) (*instance, error) {
	// An empty name lets any number of instances of the same module coexist.
	module, err := c.runtime.InstantiateModule(ctx, c.compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		return nil, fmt.Errorf("instantiating the core: %w", err)
	}
	inst := &instance{
		module: module,
		memory: module.Memory(),
		inbox:  module.ExportedFunction("inbox"),
		handle: module.ExportedFunction("handle"),
		stack:  make([]uint64, 3),
	}
	fuel, _ := module.ExportedGlobal("fuel").(api.MutableGlobal)
	inst.fuel = fuel
	panicMessage := module.ExportedFunction("panic_message")
	if inst.memory == nil || inst.inbox == nil || inst.handle == nil || inst.fuel == nil || panicMessage == nil {
		_ = module.Close(ctx)
		return nil, errors.New("the core module lacks an export (memory, fuel, inbox, handle, panic_message): was it built with make wasm?")
	}
	// Asked now, while the instance is sound: after a trap it must not be called again.
	inst.fuel.Set(fuelUnbounded)
	res, err := panicMessage.Call(ctx)
	if err != nil {
		_ = module.Close(ctx)
		return nil, fmt.Errorf("asking the core for its panic buffer: %w", err)
	}
	inst.panicBuffer = uint32(res[0])
	if err := inst.reserve(ctx, initialInbox); err != nil {
		_ = module.Close(ctx)
		return nil, err
	}
	return inst, nil
}

// call runs one `handle` call on an instance of lane's pool, on a budget of fuel. A trapped
// instance, or one that spent its budget, is closed and replaced, never reused; so is one whose
// memory grew past keepMemoryBytes. used is the fuel the call spent.
func (c *core) call(ctx context.Context, lane int, fuel int64, input encodedCall, body []byte) (out []byte, used int64, err error) {
	pool := c.pools[lane]
	// Heavy work has every processor while it waits for its lane and while it runs: compiled
	// wasm cannot be interrupted, and on one processor every click would wait behind it.
	if size := int64(len(input.bytes) + len(body)); lane == laneBulk || (c.heavyBytes.Load() > 0 && size > c.heavyBytes.Load()) {
		procs.heavyStarted()
		defer procs.heavyEnded()
	}
	var inst *instance
	select {
	case inst = <-pool:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	if inst == nil {
		if inst, err = c.instantiate(context.Background()); err != nil {
			pool <- nil
			return nil, 0, err
		}
	}
	c.calls.Add(1)
	out, used, err = inst.call(input, body, fuel)
	if err != nil {
		failure := fmt.Errorf("%w: %v%s", errCoreTrapped, err, inst.panicMessage())
		if used > fuel {
			failure = fmt.Errorf("%w (%d)", errCoreOutOfFuel, fuel)
		}
		c.replace(pool, inst)
		return nil, used, failure
	}
	if inst.memory.Size() > keepMemoryBytes {
		c.replace(pool, inst)
	} else {
		pool <- inst
	}
	return out, used, nil
}

// replace closes inst and puts a fresh instance in its slot of pool, off the caller's path.
func (c *core) replace(pool chan *instance, inst *instance) {
	ctx := context.Background()
	_ = inst.module.Close(ctx)
	go func() {
		fresh, err := c.instantiate(ctx)
		if err != nil {
			fresh = nil // the next taker tries again
		}
		pool <- fresh
	}()
}

// Close releases every instance and the compiled module.
func (c *core) Close(ctx context.Context) error {
	return c.runtime.Close(ctx)
}

// call writes the call (its document and the answers beside it) and its body into the inbox
// and runs `handle` once, with fuel to spend.
// The context is not passed down: nothing in the module waits, and fuel bounds its work.
func (i *instance) call(input encodedCall, body []byte, fuel int64) ([]byte, int64, error) {
	ctx := context.Background()
	i.fuel.Set(uint64(fuel))
	spent := func() int64 { return fuel - int64(i.fuel.Get()) }
	n := len(input.bytes) + len(body)
	if uint64(n) > uint64(i.inboxLen) {
		if err := i.reserve(ctx, n); err != nil {
			return nil, spent(), err
		}
	}
	if !i.memory.Write(i.inboxPtr, input.bytes) || !i.memory.Write(i.inboxPtr+uint32(len(input.bytes)), body) {
		return nil, spent(), fmt.Errorf("the core's inbox (%d bytes) does not hold %d", i.inboxLen, n)
	}
	i.stack[0], i.stack[1], i.stack[2] = uint64(input.doc), uint64(len(input.bytes)-input.doc), uint64(len(body))
	if err := i.handle.CallWithStack(ctx, i.stack); err != nil {
		return nil, spent(), err
	}
	ptr, size := uint32(i.stack[0]>>32), uint32(i.stack[0])
	if ptr == 0 {
		return nil, spent(), errors.New("the core found the call outside its inbox")
	}
	view, ok := i.memory.Read(ptr, size)
	if !ok {
		return nil, spent(), fmt.Errorf("the core's reply (%d bytes at %#x) is outside its memory", size, ptr)
	}
	// The reply is the core's until the next call: copied out now.
	return bytes.Clone(view), spent(), nil
}

// reserve makes the inbox hold at least n bytes.
func (i *instance) reserve(ctx context.Context, n int) error {
	i.stack[0] = uint64(n)
	if err := i.inbox.CallWithStack(ctx, i.stack); err != nil {
		return err
	}
	ptr := uint32(i.stack[0])
	if ptr == 0 {
		return fmt.Errorf("the core could not take %d bytes", n)
	}
	i.inboxPtr, i.inboxLen = ptr, uint32(n)
	return nil
}

// panicMessage reads what the core's panic hook left, formatted for appending to an error.
func (i *instance) panicMessage() string {
	header, ok := i.memory.Read(i.panicBuffer, 4)
	if !ok {
		return ""
	}
	n := binary.LittleEndian.Uint32(header)
	if n == 0 || n > 1024 {
		return ""
	}
	text, ok := i.memory.Read(i.panicBuffer+4, n)
	if !ok {
		return ""
	}
	return " (" + string(text) + ")"
}
