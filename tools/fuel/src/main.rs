//! `socket-mode-fuel [--unmetered | --profile] IN OUT`: meters the work of every call into the
//! server wasm.
//!
//! Every `loop` of every function gets, at the top of its body, a charge of its own size
//! against a mutable `i64` global exported as `fuel`: the charge is the number of instructions
//! the body runs once around (nested loops charge for themselves), and when the fuel goes below
//! zero the instance traps with `unreachable`. Straight-line code needs no meter: its length is
//! bounded by the module, and recursion by the 128 KiB stack. So the fuel the shim sets before
//! a call bounds the instructions the call can run, deterministically — the same input costs
//! the same fuel on a fast or an overloaded machine — and the fuzzer reads how much each input
//! used.
//!
//! This replaces wazero's `WithCloseOnContextDone`, which leaves native code for Go at every
//! loop header and starts a goroutine per call: the metered module stays in native code and
//! pays a load, a subtraction, a store and a predicted branch per iteration
//! (docs/ARCHITECTURE.md, "Bounded work").
//!
//! `--unmetered` adds the `fuel` export and nothing else: a module with the same exports and no
//! meter, the floor the benchmarks compare the metered module against (`BENCH_CORE_WASM`).
//!
//! `--profile` meters as usual and also counts, per function, the instructions its own body runs:
//! an `i64` global exported as `profile.N` gets, at the top of every instruction sequence (the
//! body, each block, loop body and `if` arm), the number of instructions directly in it, and
//! `OUT.names` lists `profile.N` and the function's name
//! (from the module's name section: build it unstripped). `make core-profile` builds such a
//! module and runs `CorePath` on it: the core's work per function, deterministic, as wasm runs
//! it (a native profile weighs the same code differently: docs/BENCHMARKS.md, "Where a warm
//! click's core work goes").

use std::collections::HashSet;
use walrus::ir::{
    BinaryOp, Binop, Const, GlobalGet, GlobalSet, Instr, InstrSeqId, Loop, Unreachable, Value,
    Visitor,
};
use walrus::{ConstExpr, FunctionId, GlobalId, LocalFunction, Module, ValType};

/// The export the shim sets before each call and reads after it.
const FUEL_EXPORT: &str = "fuel";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (flag, paths) = match args.split_first() {
        Some((flag, rest)) if flag.starts_with("--") => (flag.as_str(), rest),
        _ => ("", args.as_slice()),
    };
    let ([input, output], "" | "--unmetered" | "--profile") = (paths, flag) else {
        eprintln!("usage: socket-mode-fuel [--unmetered | --profile] IN.wasm OUT.wasm");
        std::process::exit(2);
    };
    let unmetered = flag == "--unmetered";
    let mut module = Module::from_file(input).unwrap_or_else(|e| {
        eprintln!("reading {input}: {e}");
        std::process::exit(1)
    });
    let metered = meter(&mut module, !unmetered);
    if flag == "--profile" {
        let names = profile(&mut module);
        let path = format!("{output}.names");
        std::fs::write(&path, names).unwrap_or_else(|e| {
            eprintln!("writing {path}: {e}");
            std::process::exit(1)
        });
    }
    module.emit_wasm_file(output).unwrap_or_else(|e| {
        eprintln!("writing {output}: {e}");
        std::process::exit(1)
    });
    eprintln!("    {output}: {metered} loops metered, fuel exported as `{FUEL_EXPORT}`");
}

/// Adds the `fuel` global and, when `charging`, a charge at the top of every loop; returns how
/// many loops were metered.
fn meter(module: &mut Module, charging: bool) -> usize {
    if module.exports.iter().any(|e| e.name == FUEL_EXPORT) {
        eprintln!("the module already exports `{FUEL_EXPORT}`: metered twice?");
        std::process::exit(1);
    }
    let fuel = module
        .globals
        .add_local(ValType::I64, true, false, ConstExpr::Value(Value::I64(0)));
    module.exports.add(FUEL_EXPORT, fuel);
    if !charging {
        return 0;
    }
    let ids: Vec<FunctionId> = module.funcs.iter_local().map(|(id, _)| id).collect();
    let mut metered = 0;
    for id in ids {
        let func = module.funcs.get_mut(id).kind.unwrap_local_mut();
        for (seq, cost) in loops(func) {
            charge(func, seq, cost, fuel);
            metered += 1;
        }
    }
    metered
}

/// Gives every function a counter of its own work (see `--profile` above); returns the list of
/// counters and function names, one `profile.N<TAB>name` a line.
fn profile(module: &mut Module) -> String {
    let ids: Vec<FunctionId> = module.funcs.iter_local().map(|(id, _)| id).collect();
    let mut names = String::new();
    for (n, id) in ids.into_iter().enumerate() {
        let counter =
            module
                .globals
                .add_local(ValType::I64, true, false, ConstExpr::Value(Value::I64(0)));
        let export = format!("profile.{n}");
        module.exports.add(&export, counter);
        let name = module.funcs.get(id).name.as_deref().unwrap_or("?");
        names.push_str(&format!("{export}\t{name}\n"));
        let func = module.funcs.get_mut(id).kind.unwrap_local_mut();
        for (seq, own) in sequences(func) {
            count(func, seq, own, counter);
        }
    }
    names
}

/// Every instruction sequence of `func` (its body, each block, loop body and `if` arm) with the
/// number of instructions directly in it: counting each at its top counts the instructions the
/// function runs, give or take those after a branch out of the middle of a sequence.
fn sequences(func: &LocalFunction) -> Vec<(InstrSeqId, i64)> {
    #[derive(Default)]
    struct Seqs(Vec<InstrSeqId>);
    impl<'i> Visitor<'i> for Seqs {
        fn start_instr_seq(&mut self, seq: &'i walrus::ir::InstrSeq) {
            self.0.push(seq.id());
        }
    }
    let mut found = Seqs::default();
    walrus::ir::dfs_in_order(&mut found, func, func.entry_block());
    found
        .0
        .into_iter()
        .map(|seq| (seq, func.block(seq).instrs.len() as i64))
        .filter(|&(_, own)| own > 0)
        .collect()
}

/// Puts `counter += cost` at the top of `seq`.
fn count(func: &mut LocalFunction, seq: InstrSeqId, cost: i64, counter: GlobalId) {
    let mut body = func.builder_mut().instr_seq(seq);
    for (at, instr) in update(counter, BinaryOp::I64Add, cost)
        .into_iter()
        .enumerate()
    {
        body.instr_at(at, instr);
    }
}

/// `global = global <op> operand`: what the meter and the profile put at a sequence's top.
fn update(global: GlobalId, op: BinaryOp, operand: i64) -> [Instr; 4] {
    [
        GlobalGet { global }.into(),
        Const {
            value: Value::I64(operand),
        }
        .into(),
        Binop { op }.into(),
        GlobalSet { global }.into(),
    ]
}

/// Every loop body of `func` and what one iteration of it costs.
fn loops(func: &LocalFunction) -> Vec<(InstrSeqId, i64)> {
    #[derive(Default)]
    struct Loops(Vec<InstrSeqId>);
    impl<'i> Visitor<'i> for Loops {
        fn visit_loop(&mut self, instr: &Loop) {
            self.0.push(instr.seq);
        }
    }
    let mut found = Loops::default();
    walrus::ir::dfs_in_order(&mut found, func, func.entry_block());
    let loops: HashSet<InstrSeqId> = found.0.iter().copied().collect();
    found
        .0
        .into_iter()
        .map(|seq| (seq, cost(func, seq, &loops).max(1)))
        .collect()
}

/// What one pass through `seq` costs, about: its own instructions, plus the longer branch of
/// each `if` and the costliest of the blocks inside it (a loop body's blocks are mostly the
/// arms of a `br_table`, of which one runs). Loops inside it charge for themselves.
fn cost(func: &LocalFunction, seq: InstrSeqId, loops: &HashSet<InstrSeqId>) -> i64 {
    let mut own = 0;
    let mut costliest_block = 0;
    for (instr, _) in &func.block(seq).instrs {
        own += 1;
        match instr {
            Instr::Block(b) => costliest_block = costliest_block.max(cost(func, b.seq, loops)),
            Instr::IfElse(i) => {
                own += cost(func, i.consequent, loops).max(cost(func, i.alternative, loops));
            }
            Instr::Loop(l) if loops.contains(&l.seq) => {}
            _ => {}
        }
    }
    own + costliest_block
}

/// Puts `fuel -= cost; if fuel < 0 { unreachable }` at the top of the loop body `seq`.
fn charge(func: &mut LocalFunction, seq: InstrSeqId, cost: i64, fuel: GlobalId) {
    let mut body = func.builder_mut().instr_seq(seq);
    let below_zero: [Instr; 3] = [
        GlobalGet { global: fuel }.into(),
        Const {
            value: Value::I64(0),
        }
        .into(),
        Binop {
            op: BinaryOp::I64LtS,
        }
        .into(),
    ];
    let prelude = update(fuel, BinaryOp::I64Sub, cost)
        .into_iter()
        .chain(below_zero);
    for (at, instr) in prelude.enumerate() {
        body.instr_at(at, instr);
    }
    body.if_else_at(
        7,
        None,
        |then| {
            then.instr(Unreachable {});
        },
        |_| {},
    );
}
