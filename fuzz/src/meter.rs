//! The fuzzer's second runner: the server wasm itself (`server/core.wasm`, its loops metered by
//! `tools/fuel`), run by wasmi, a WebAssembly interpreter. A sample of the inputs goes through
//! it as well as through the native core, which checks two things the native run cannot:
//! - **cost**: the fuel each call spends, against a bound linear in what the call carries and
//!   answers, so
//!   that a path whose work grows faster than its input (quadratic rules, a parser gone wrong)
//!   is a finding before it ships;
//! - **sameness**: the wasm build answers byte for byte what the native build answers.

use wasmi::{Engine, Instance, Linker, Memory, Module, Store, TypedFunc, Val};

/// A call may spend this much fuel whatever it carries: the fixed work of any call (a lint
/// starts at about 9 million).
pub(crate) const FUEL_BASE: i64 = 10_000_000;

/// And this much per byte of its call document, its body and its reply: about twice what the
/// costliest hostile shapes spend per byte of a 1 MiB body (`server/fuel_test.go`).
pub(crate) const FUEL_PER_BYTE: i64 = 1_000;

/// The most fuel a call carrying `bytes` may spend.
pub(crate) fn fuel_limit(bytes: usize) -> i64 {
    FUEL_BASE.saturating_add(FUEL_PER_BYTE.saturating_mul(bytes as i64))
}

/// One instance of the metered core, for one thread.
pub(crate) struct Meter {
    store: Store<()>,
    instance: Instance,
    module: Module,
    memory: Memory,
    handle: TypedFunc<(u32, u32, u32), u64>,
    inbox: TypedFunc<u32, u32>,
    fuel: wasmi::Global,
}

impl Meter {
    /// An instance of `wasm`, which must export what the shim uses.
    pub(crate) fn new(engine: &Engine, module: &Module) -> Result<Meter, String> {
        let mut store = Store::new(engine, ());
        let instance = Linker::<()>::new(engine)
            .instantiate_and_start(&mut store, module)
            .map_err(|e| format!("instantiating the core: {e}"))?;
        let export = |what: &str| format!("the core has no `{what}` export: built with make wasm?");
        let memory = instance
            .get_memory(&store, "memory")
            .ok_or_else(|| export("memory"))?;
        let handle = instance
            .get_typed_func::<(u32, u32, u32), u64>(&store, "handle")
            .map_err(|_| export("handle"))?;
        let inbox = instance
            .get_typed_func::<u32, u32>(&store, "inbox")
            .map_err(|_| export("inbox"))?;
        let fuel = instance
            .get_global(&store, "fuel")
            .ok_or_else(|| export("fuel"))?;
        Ok(Meter {
            store,
            instance,
            module: module.clone(),
            memory,
            handle,
            inbox,
            fuel,
        })
    }

    /// Runs one call as the shim does: the call, the answers beside it and the body in the
    /// inbox, one `handle`. Answers the reply and the fuel spent; `Err` for a trap (after which
    /// a fresh instance serves, as in the shim).
    pub(crate) fn call(
        &mut self,
        call: &[u8],
        attached: &[u8],
        body: &[u8],
    ) -> Result<(Vec<u8>, i64), String> {
        let outcome = self.try_call(call, attached, body);
        if outcome.is_err() {
            let engine = self.store.engine().clone();
            *self = Meter::new(&engine, &self.module.clone())?;
        }
        outcome
    }

    fn try_call(
        &mut self,
        call: &[u8],
        attached: &[u8],
        body: &[u8],
    ) -> Result<(Vec<u8>, i64), String> {
        const BUDGET: i64 = i64::MAX / 2;
        self.fuel
            .set(&mut self.store, Val::I64(BUDGET))
            .map_err(|e| e.to_string())?;
        let n =
            u32::try_from(call.len() + attached.len() + body.len()).map_err(|e| e.to_string())?;
        let at = self
            .inbox
            .call(&mut self.store, n)
            .map_err(|e| format!("inbox: {e}"))?;
        let mut offset = at as usize;
        for part in [call, attached, body] {
            self.memory
                .write(&mut self.store, offset, part)
                .map_err(|e| format!("writing the inbox: {e}"))?;
            offset += part.len();
        }
        let lengths = (call.len() as u32, attached.len() as u32, body.len() as u32);
        let packed = self
            .handle
            .call(&mut self.store, lengths)
            .map_err(|e| format!("the core trapped: {e}"))?;
        let spent = match self.fuel.get(&self.store) {
            Val::I64(left) => BUDGET - left,
            _ => return Err("`fuel` is not an i64".into()),
        };
        let (ptr, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
        let reply = self
            .memory
            .data(&self.store)
            .get(ptr..ptr + len)
            .ok_or("the reply is outside the memory")?
            .to_vec();
        let _ = &self.instance;
        Ok((reply, spent))
    }
}

/// The compiled module, shared by every thread's instance.
pub(crate) fn load(path: &std::path::Path) -> Result<(Engine, Module), String> {
    let wasm = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm).map_err(|e| format!("compiling the core: {e}"))?;
    Ok((engine, module))
}
