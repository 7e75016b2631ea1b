package main

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

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

// compilationCache keeps compiled code for the life of the process: the plugin process
// activates once, so this costs nothing there, while anything that activates the plugin again
// in the same process (a re-enable handled in-process, the test suite) skips recompiling.
var compilationCache = wazero.NewCompilationCache()

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
// Every call runs under a deadline the core sets per lane. wazero's WithCloseOnContextDone
// makes a call past it stop and close its instance (which is then replaced like a trapped
// one); its cost is a check in every loop of the compiled code, measured in
// docs/BENCHMARKS.md.
type core struct {
	runtime  wazero.Runtime
	compiled wazero.CompiledModule
	pools    [lanes]chan *instance
}

// The lanes: which pool serves a call.
const (
	laneInteractive = iota // clicks, submissions, hooks: everything a person waits on
	laneBulk               // what the core says may be heavy (lint, opening a dialog)
	lanes
)

// errCoreDeadline marks a call stopped at its deadline.
var errCoreDeadline = errors.New("the core ran past its deadline")

// instance is one instantiated module and its exports, looked up once.
type instance struct {
	module      api.Module
	memory      api.Memory
	alloc       api.Function
	dealloc     api.Function
	handle      api.Function
	panicBuffer uint32
	stack       []uint64
}

// newCore compiles the embedded module once and fills each lane's pool (sizes[lane]
// instances), each instance capped at memoryPages pages of 64 KiB (maxMemoryPages in
// production). With guard, a call stops at its context's deadline.
func newCore(ctx context.Context, sizes [lanes]int, memoryPages uint32, guard bool) (*core, error) {
	config := wazero.NewRuntimeConfig().WithMemoryLimitPages(memoryPages).
		WithCompilationCache(compilationCache).WithCloseOnContextDone(guard)
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
		module:  module,
		memory:  module.Memory(),
		alloc:   module.ExportedFunction("alloc"),
		dealloc: module.ExportedFunction("dealloc"),
		handle:  module.ExportedFunction("handle"),
		stack:   make([]uint64, 4),
	}
	panicMessage := module.ExportedFunction("panic_message")
	if inst.memory == nil || inst.alloc == nil || inst.dealloc == nil || inst.handle == nil || panicMessage == nil {
		_ = module.Close(ctx)
		return nil, errors.New("the core module lacks an export (memory, alloc, dealloc, handle, panic_message)")
	}
	// Asked now, while the instance is sound: after a trap it must not be called again.
	res, err := panicMessage.Call(ctx)
	if err != nil {
		_ = module.Close(ctx)
		return nil, fmt.Errorf("asking the core for its panic buffer: %w", err)
	}
	inst.panicBuffer = uint32(res[0])
	return inst, nil
}

// call runs one `handle` call on an instance of lane's pool, stopped after deadline (none when
// 0). A trapped or stopped instance is closed and replaced, never reused; so is one whose
// memory grew past keepMemoryBytes.
func (c *core) call(ctx context.Context, lane int, deadline time.Duration, input, body []byte) ([]byte, error) {
	pool := c.pools[lane]
	var inst *instance
	select {
	case inst = <-pool:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if inst == nil {
		var err error
		if inst, err = c.instantiate(context.Background()); err != nil {
			pool <- nil
			return nil, err
		}
	}
	callCtx := ctx
	if deadline > 0 {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, deadline)
		defer cancel()
	}
	out, err := inst.call(callCtx, input, body)
	if err != nil {
		failure := fmt.Errorf("%w: %v%s", errCoreTrapped, err, inst.panicMessage())
		if errors.Is(callCtx.Err(), context.DeadlineExceeded) {
			failure = fmt.Errorf("%w (%s)", errCoreDeadline, deadline)
		}
		c.replace(pool, inst)
		return nil, failure
	}
	if inst.memory.Size() > keepMemoryBytes {
		c.replace(pool, inst)
	} else {
		pool <- inst
	}
	return out, nil
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

func (i *instance) call(ctx context.Context, input, body []byte) ([]byte, error) {
	inputPtr, err := i.write(ctx, input)
	if err != nil {
		return nil, err
	}
	bodyPtr, err := i.write(ctx, body)
	if err != nil {
		return nil, err
	}
	i.stack[0], i.stack[1], i.stack[2], i.stack[3] = inputPtr, uint64(len(input)), bodyPtr, uint64(len(body))
	if err := i.handle.CallWithStack(ctx, i.stack); err != nil {
		return nil, err
	}
	ptr, n := uint32(i.stack[0]>>32), uint32(i.stack[0])
	view, ok := i.memory.Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("the core's reply (%d bytes at %#x) is outside its memory", n, ptr)
	}
	out := make([]byte, n)
	copy(out, view)
	i.stack[0], i.stack[1] = uint64(ptr), uint64(n)
	if err := i.dealloc.CallWithStack(ctx, i.stack); err != nil {
		return nil, err
	}
	return out, nil
}

// write copies data into a buffer the core allocates; the core takes ownership of it.
func (i *instance) write(ctx context.Context, data []byte) (uint64, error) {
	if len(data) == 0 {
		return 0, nil
	}
	i.stack[0] = uint64(len(data))
	if err := i.alloc.CallWithStack(ctx, i.stack); err != nil {
		return 0, err
	}
	ptr := uint32(i.stack[0])
	if ptr == 0 || !i.memory.Write(ptr, data) {
		return 0, fmt.Errorf("the core could not take %d bytes", len(data))
	}
	return uint64(ptr), nil
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
