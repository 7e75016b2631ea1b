package main

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"

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

// core is the compiled module and a bounded pool of instances. A wasm instance serves one call
// at a time (wazero: "Call is not goroutine-safe"), so each call takes an instance from the
// pool and gives it back; callers beyond the pool's size wait. A slot holds nil when its
// instance was discarded and the replacement failed; the next taker instantiates one.
//
// No timeout guard (wazero's WithCloseOnContextDone) is used: the core's work is linear in
// its input, which is capped at 1 MiB, so a call cannot run away, and the guard would add a
// check to every loop iteration of every call.
type core struct {
	runtime  wazero.Runtime
	compiled wazero.CompiledModule
	pool     chan *instance
}

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

// newCore compiles the embedded module once and fills a pool of `size` instances, each capped
// at memoryPages pages of 64 KiB (maxMemoryPages in production).
func newCore(ctx context.Context, size int, memoryPages uint32) (*core, error) {
	config := wazero.NewRuntimeConfig().WithMemoryLimitPages(memoryPages).WithCompilationCache(compilationCache)
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
	c := &core{runtime: runtime, compiled: compiled, pool: make(chan *instance, size)}
	for range size {
		inst, err := c.instantiate(ctx)
		if err != nil {
			_ = c.Close(ctx)
			return nil, err
		}
		c.pool <- inst
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

// call runs one `handle` call on a pooled instance. A trapped instance is closed and replaced,
// never reused; so is one whose memory grew past keepMemoryBytes.
func (c *core) call(ctx context.Context, input, body []byte) ([]byte, error) {
	var inst *instance
	select {
	case inst = <-c.pool:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if inst == nil {
		var err error
		if inst, err = c.instantiate(ctx); err != nil {
			c.pool <- nil
			return nil, err
		}
	}
	out, err := inst.call(ctx, input, body)
	if err != nil {
		trap := fmt.Errorf("%w: %v%s", errCoreTrapped, err, inst.panicMessage())
		c.replace(inst)
		return nil, trap
	}
	if inst.memory.Size() > keepMemoryBytes {
		c.replace(inst)
	} else {
		c.pool <- inst
	}
	return out, nil
}

// replace closes inst and puts a fresh instance in its slot, off the caller's path.
func (c *core) replace(inst *instance) {
	ctx := context.Background()
	_ = inst.module.Close(ctx)
	go func() {
		fresh, err := c.instantiate(ctx)
		if err != nil {
			fresh = nil // the next taker tries again
		}
		c.pool <- fresh
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
