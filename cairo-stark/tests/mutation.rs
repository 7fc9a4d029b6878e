//! The mutation suite: every constraint of the Cairo AIR is load-bearing.
//!
//! For each transition constraint (by name) and each boundary constraint (by the column and row
//! it pins, see [`boundary_kind`]) a witness is an adversarial trace that breaks that constraint
//! and nothing else ([`violations`] names it alone) and that `stark::prove` turns into a proof
//! the AIR with that one constraint dropped ([`Weakened`]) accepts. Witnesses come from
//! - a seeded, deterministic mutation search over honest traces of six corpus programs
//!   ([`search`]: cell edits, swaps, operand reads moved to equal-valued cells, memory cells
//!   changed at every access, flags re-encoded for the same word, registers shifted, forged
//!   runs with a register changed mid-run, other memory layouts);
//! - targeted attacks ([`targeted`]), each what a cheater does once that constraint is gone:
//!   skipped range checks, limbs out of range, holes and forks in the sorted memory, overclaimed
//!   step counts, a loop exiting early, a call pushing another frame, a forged input read with
//!   the running product patched ([`AuxFix`]: the cheater's auxiliary trace, since the honest
//!   builder always satisfies the product steps), and hand-made bytecode whose words the cheater
//!   decodes with one flag outside {0, 1} ([`FlagAttack`]).
//!
//! The 13 flag-hardening constraints are shown load-bearing by `tests/flags.rs` and the memory
//! anchor (first sorted address = 1) by `tests/forgery.rs` (the search finds the anchor too).
//! The AIR carries no constraint the others imply (SOUNDNESS.md, "The tests that attack this"),
//! so every constraint must have a witness.

mod common;

use std::collections::{BTreeMap, HashMap};

use cairo_stark::air::{
    build_main_trace, cols, constraint_names, flags, CairoAir, FLAG_BIT, RC_BLOCK,
};
use cairo_stark::{execute, Claim, CompiledProgram, Execution, Felt, Statement};
use common::forge::*;
use common::*;
use stark::{Air, AuxTraceBuilder, BoundaryConstraint, Frame, TraceTable, TransitionConstraint};

// ---------------------------------------------------------------------------------------------
// Coverage bookkeeping.

/// Shown load-bearing by `tests/flags.rs` (each forbidden flag combination breaks only these).
const COVERED_BY_FLAGS_RS: [&str; 13] = FLAG_RULES;

/// Boundary constraints shown load-bearing elsewhere: (column, row-kind) as in
/// [`boundary_kind`]. `tests/forgery.rs` shows the memory anchor (first sorted address = 1).
const BOUNDARY_COVERED_BY_FORGERY_RS: [&str; 1] = ["SORTED_MEM@0"];

/// Constraints without a witness yet (must be exactly the set the test finds uncovered).
const UNCOVERED: [&str; 0] = [];

/// A stable name for boundary constraint `b`: its column and which row it pins.
fn boundary_kind(statement: &Statement, b: &BoundaryConstraint) -> String {
    let column = match b.column {
        cols::PC => "PC",
        cols::AP => "AP",
        cols::FP => "FP",
        cols::DONE => "DONE",
        cols::RC_ADDR => "RC_ADDR",
        cols::RC_SEL => "RC_SEL",
        cols::SORTED_MEM => "SORTED_MEM",
        c if c == cols::SORTED_OFF => "SORTED_OFF",
        c if c == cols::SORTED_OFF + 3 => "SORTED_OFF3",
        cols::RC_FILL => "RC_FILL",
        c if c == cols::PROD => "PROD0",
        c if c == cols::PROD + 4 => "PROD4",
        _ => "?",
    };
    let steps = statement.claim.steps as usize;
    let last = statement.trace_length() - 1;
    let row = if b.row == 0 {
        "0".to_string()
    } else if b.row == last {
        "last".to_string()
    } else if b.row == steps {
        "steps".to_string()
    } else if b.row + 1 == steps {
        "steps-1".to_string()
    } else {
        b.row.to_string()
    };
    format!("{column}@{row}")
}

fn boundary_kinds(statement: &Statement) -> Vec<String> {
    let air = CairoAir::new(statement.clone());
    air.boundary_constraints(&some_challenges())
        .iter()
        .map(|b| boundary_kind(statement, b))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Cases, violations with a cheater's auxiliary trace, and the attack itself.

/// How the cheater edits the honest auxiliary trace (running products) on top of what the AIR's
/// builder produces: scale product columns `PROD + from ..= PROD + 4` by the factor that makes
/// `c4[last]` the public product, on the last row only or on every row.
#[derive(Clone, Copy, Debug)]
struct AuxFix {
    from: usize,
    all_rows: bool,
}

fn fix_aux(air: &CairoAir, aux: &mut TraceTable, challenges: &[Felt], fix: AuxFix) {
    let n = aux.length();
    let target = air.boundary_constraints(challenges).last().unwrap().value;
    let c4 = aux.columns[4][n - 1];
    let lambda = target * c4.inv().unwrap();
    let rows = if fix.all_rows { 0..n } else { n - 1..n };
    for c in fix.from..5 {
        for r in rows.clone() {
            aux.columns[c][r] *= lambda;
        }
    }
}

/// A witness: a statement, a main trace, and possibly the cheater's auxiliary edit.
#[derive(Clone)]
struct Case {
    how: String,
    statement: Statement,
    trace: TraceTable,
    aux: Option<AuxFix>,
}

impl Case {
    fn new(how: impl Into<String>, statement: Statement, trace: TraceTable) -> Self {
        Case {
            how: how.into(),
            statement,
            trace,
            aux: None,
        }
    }

    fn air(&self) -> CairoAir {
        CairoAir::new(self.statement.clone())
    }

    fn violations(&self) -> Vec<Violation> {
        let air = self.air();
        match self.aux {
            None => violations(&air, &self.trace, &some_challenges()),
            Some(fix) => violations_with_fix(&air, &self.trace, &some_challenges(), fix),
        }
    }
}

/// [`violations`] with the cheater's auxiliary edit applied.
fn violations_with_fix(
    air: &CairoAir,
    main: &TraceTable,
    challenges: &[Felt],
    fix: AuxFix,
) -> Vec<Violation> {
    let mut aux = air.build_aux_trace(main, challenges);
    fix_aux(air, &mut aux, challenges, fix);
    violations_with_aux(air, main, &aux, challenges)
}

/// The AIR with one constraint dropped, whose prover applies the cheater's auxiliary edit.
struct Cheat {
    air: CairoAir,
    weak: Weakened,
    fix: Option<AuxFix>,
}

impl Air for Cheat {
    fn trace_length(&self) -> usize {
        self.weak.trace_length()
    }
    fn main_width(&self) -> usize {
        self.weak.main_width()
    }
    fn aux_width(&self) -> usize {
        self.weak.aux_width()
    }
    fn num_challenges(&self) -> usize {
        self.weak.num_challenges()
    }
    fn transition_constraints(&self) -> &[TransitionConstraint] {
        self.weak.transition_constraints()
    }
    fn periodic_columns(&self) -> Vec<Vec<Felt>> {
        self.weak.periodic_columns()
    }
    fn evaluate_transition(&self, f: &Frame<'_>, p: &[Felt], c: &[Felt], out: &mut [Felt]) {
        self.weak.evaluate_transition(f, p, c, out)
    }
    fn boundary_constraints(&self, challenges: &[Felt]) -> Vec<BoundaryConstraint> {
        self.weak.boundary_constraints(challenges)
    }
    fn public_input_bytes(&self) -> Vec<u8> {
        self.weak.public_input_bytes()
    }
}

impl AuxTraceBuilder for Cheat {
    fn build_aux_trace(&self, main: &TraceTable, challenges: &[Felt]) -> TraceTable {
        let mut aux = self.weak.build_aux_trace(main, challenges);
        if let Some(fix) = self.fix {
            fix_aux(&self.air, &mut aux, challenges, fix);
        }
        aux
    }
}

/// Proves `case` against the AIR without `target` and verifies it there; also checks the full
/// AIR names exactly `target` (so the proof is of a trace the real verifier rejects).
fn attack(case: &Case, target: &Violation) -> Result<(), String> {
    let v = case.violations();
    if v != [target.clone()] {
        return Err(format!("{}: breaks {v:?}, not just {target:?}", case.how));
    }
    let weak = match target {
        Violation::Transition(name) => {
            let i = constraint_names().iter().position(|n| n == name).unwrap();
            Weakened::dropping_transitions(case.air(), vec![i])
        }
        Violation::Boundary(i) => Weakened::dropping_boundary(case.air(), *i),
    };
    let cheat = Cheat {
        air: case.air(),
        weak,
        fix: case.aux,
    };
    let proof = stark::prove(&cheat, case.trace.clone(), &fast_options())
        .map_err(|e| format!("{}: {e}", case.how))?;
    let policy = stark::VerificationPolicy::with_min_security_bits(0);
    stark::verify(&cheat, &proof, &policy).map_err(|e| format!("{}: {e:?}", case.how))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Honest starting points.

struct Base {
    name: &'static str,
    program: CompiledProgram,
    inputs: Vec<Felt>,
    exec: Execution,
    statement: Statement,
    trace: TraceTable,
}

fn base(name: &'static str, inputs: &[u64]) -> Base {
    let program = program(name);
    let inputs = felts(inputs);
    let exec = execute(&program, &inputs).unwrap();
    let (statement, trace) = build_main_trace(&exec, 8).unwrap();
    Base {
        name,
        program,
        inputs,
        exec,
        statement,
        trace,
    }
}

fn bases() -> Vec<Base> {
    vec![
        base("fibonacci", &[10, 1, 0, 20]),
        base("factorial_recursive", &[10]),
        base("calls_and_asserts", &[1, 2, 3, 4, 5, 6]),
        base("range_checks", &[1, 5, 9, 100, 1 << 40]),
        base("no_builtins", &[50, 25, 25]),
        base("linked_list", &[4, 8, 15, 16, 23, 42]),
    ]
}

impl Base {
    fn case(&self, how: impl Into<String>, trace: TraceTable) -> Case {
        Case::new(
            format!("{}: {}", self.name, how.into()),
            self.statement.clone(),
            trace,
        )
    }

    fn with_claim(&self, f: impl FnOnce(&mut Claim)) -> Statement {
        let mut claim = self.statement.claim.clone();
        f(&mut claim);
        Statement::new(&self.program, &self.inputs, claim).unwrap()
    }

    fn n(&self) -> usize {
        self.trace.length()
    }

    fn steps(&self) -> usize {
        self.statement.claim.steps as usize
    }

    fn forge(&self, vm: &FreeVm<'_>) -> Option<Forged> {
        forge_trace(
            vm,
            &self.program,
            &self.inputs,
            &self.exec,
            &Layout::default(),
        )
        .ok()
    }
}

/// A felt for humans: small integers signed, anything else in hex.
fn show(x: &Felt) -> String {
    if let Some(v) = felt_u64(x).filter(|v| *v < 1 << 32) {
        return v.to_string();
    }
    if let Some(v) = felt_u64(&(Felt::zero() - x)).filter(|v| *v < 1 << 32) {
        return format!("-{v}");
    }
    hex(x)
}

fn cell(t: &TraceTable, c: usize, r: usize) -> Felt {
    t.columns[c][r]
}

fn set(t: &mut TraceTable, c: usize, r: usize, v: Felt) {
    t.columns[c][r] = v;
}

/// Value of every address on the sorted side.
fn memory_of(t: &TraceTable) -> HashMap<Felt, Felt> {
    let mut m = HashMap::new();
    for r in 0..t.length() {
        for j in 0..5 {
            m.insert(
                cell(t, cols::SORTED_MEM + 2 * j, r),
                cell(t, cols::SORTED_MEM + 2 * j + 1, r),
            );
        }
    }
    m
}

fn flag(t: &TraceTable, r: usize, f: usize) -> bool {
    cell(t, cols::FLAGS + f, r) == Felt::one()
}

/// Rows whose extra slot is a spare (a copy of the first program word, the builder's filler).
fn spare_rows(t: &TraceTable) -> Vec<usize> {
    let first = (Felt::one(), cell_value(t, Felt::one()));
    (0..t.length())
        .filter(|&r| (cell(t, cols::EXTRA_ADDR, r), cell(t, cols::EXTRA_VAL, r)) == first)
        .filter(|&r| r % RC_BLOCK != 0 || cell(t, cols::RC_SEL, r) == Felt::zero())
        .collect()
}

fn cell_value(t: &TraceTable, a: Felt) -> Felt {
    memory_of(t)[&a]
}

// ---------------------------------------------------------------------------------------------
// The random search.

/// The search's draws, on top of the shared generator.
trait Draw {
    fn pick(&mut self, n: usize) -> usize;
    fn small(&mut self) -> Felt;
}

impl Draw for Rng {
    fn pick(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
    fn small(&mut self) -> Felt {
        match self.pick(4) {
            0 => Felt::one(),
            1 => minus(1),
            2 => Felt::from(self.below(5)),
            _ => Felt::from(self.next() >> 8),
        }
    }
}

const SEED: u64 = 0x5eed_cafe_f00d_1234;
/// Mutations tried per base trace.
const TRIES: usize = 60;

/// The columns a step mutation may touch.
const STEP_COLUMNS: [usize; 13] = [
    cols::DONE,
    cols::PC,
    cols::AP,
    cols::FP,
    cols::DST_ADDR,
    cols::DST,
    cols::OP0_ADDR,
    cols::OP0,
    cols::OP1_ADDR,
    cols::OP1,
    cols::RES,
    cols::T0,
    cols::JNZ_INV,
];

/// One random mutation of `b`'s honest trace (or a forged run of it), or `None` if it did not
/// produce a trace.
fn mutate(
    b: &Base,
    mem: &HashMap<Felt, Felt>,
    by_value: &BTreeMap<Vec<u64>, Vec<Felt>>,
    honest: &FreeVm<'_>,
    rng: &mut Rng,
) -> Option<Case> {
    let n = b.n();
    let steps = b.steps();
    let mut t = b.trace.clone();
    let r = rng.pick(n);
    let kind = rng.pick(10);
    let how = match kind {
        // A step cell += random.
        0 => {
            let c = STEP_COLUMNS[rng.pick(STEP_COLUMNS.len())];
            let d = rng.small();
            t.columns[c][r] += d;
            format!("cell (column {c}, row {r}) += {}", show(&d))
        }
        // A step cell := small value.
        1 => {
            let c = STEP_COLUMNS[rng.pick(STEP_COLUMNS.len())];
            let v = Felt::from(rng.pick(3) as u64);
            set(&mut t, c, r, v);
            format!("cell (column {c}, row {r}) := {}", show(&v))
        }
        // An operand read from another address holding the same value.
        2 => {
            let k = rng.pick(3);
            let (ac, vc) = [
                (cols::DST_ADDR, cols::DST),
                (cols::OP0_ADDR, cols::OP0),
                (cols::OP1_ADDR, cols::OP1),
            ][k];
            let v = cell(&t, vc, r);
            let key = v.representative().limbs.to_vec();
            let others = by_value.get(&key)?;
            let a = others[rng.pick(others.len())];
            if a == cell(&t, ac, r) {
                return None;
            }
            set(&mut t, ac, r, a);
            resolve(&mut t, &b.statement, None).ok()?;
            format!("row {r}: operand {k} read from {}", show(&a))
        }
        // A memory cell's value changed at every access, optionally res too.
        3 => {
            let k = rng.pick(3);
            let (ac, _) = [
                (cols::DST_ADDR, cols::DST),
                (cols::OP0_ADDR, cols::OP0),
                (cols::OP1_ADDR, cols::OP1),
            ][k];
            let a = cell(&t, ac, r);
            let d = rng.small();
            for row in 0..n {
                for (ac, vc) in [
                    (cols::DST_ADDR, cols::DST),
                    (cols::OP0_ADDR, cols::OP0),
                    (cols::OP1_ADDR, cols::OP1),
                    (cols::EXTRA_ADDR, cols::EXTRA_VAL),
                ] {
                    if cell(&t, ac, row) == a {
                        t.columns[vc][row] += d;
                    }
                }
            }
            let with_res = rng.pick(2) == 0;
            if with_res {
                t.columns[cols::RES][r] += d;
            }
            resolve(&mut t, &b.statement, None).ok()?;
            format!(
                "memory cell {} += {} everywhere (and res at row {r}: {with_res})",
                show(&a),
                show(&d)
            )
        }
        // Re-encode the flags of a row, keeping its instruction word: flip one or two flags and
        // solve a third for the word.
        4 => {
            let i = rng.pick(15);
            let mut word_delta = Felt::zero();
            let mut flipped = Vec::new();
            for _ in 0..1 + rng.pick(2) {
                let j = match rng.pick(3) {
                    0 if i > 0 => i - 1,
                    1 if i < 14 => i + 1,
                    _ => rng.pick(15),
                };
                if j == i || flipped.contains(&j) {
                    continue;
                }
                flipped.push(j);
                let old = cell(&t, cols::FLAGS + j, r);
                let new = Felt::one() - old;
                set(&mut t, cols::FLAGS + j, r, new);
                word_delta += (new - old) * Felt::from(1u64 << j);
            }
            let fi =
                cell(&t, cols::FLAGS + i, r) - word_delta * Felt::from(1u64 << i).inv().unwrap();
            set(&mut t, cols::FLAGS + i, r, fi);
            repair_addresses(&mut t, r, mem);
            format!("row {r}: flag {i} re-encoded against {flipped:?}")
        }
        // Registers shifted on every row from r on.
        5 => {
            let c = [cols::PC, cols::AP, cols::FP][rng.pick(3)];
            let d = rng.small();
            for row in r..n {
                t.columns[c][row] += d;
            }
            for row in r..n {
                repair_addresses(&mut t, row, mem);
            }
            resolve(&mut t, &b.statement, None).ok()?;
            format!("column {c} += {} from row {r} on", show(&d))
        }
        // A forged run: a register changed before step k, the run continued from there.
        6 | 7 => {
            let k = rng.pick(steps);
            let c = rng.pick(3);
            let d = if rng.pick(2) == 0 {
                Felt::one()
            } else {
                minus(1)
            };
            let mut count = 0usize;
            let mut vm = FreeVm::like(&b.exec).hook(move |vm| {
                if count == k {
                    match c {
                        0 => vm.pc += d,
                        1 => vm.ap += d,
                        _ => vm.fp += d,
                    }
                }
                count += 1;
            });
            vm.run(b.exec.end_pc, n - 2).ok()?;
            let forged = b.forge(&vm)?;
            return Some(Case::new(
                format!(
                    "{}: forged run, register {c} += {} before step {k}",
                    b.name,
                    show(&d)
                ),
                forged.statement,
                forged.trace,
            ));
        }
        // Two cells swapped: one column at two rows, or two operand columns of one row.
        8 => {
            let c = STEP_COLUMNS[rng.pick(STEP_COLUMNS.len())];
            let (c2, r2) = if rng.pick(2) == 0 {
                (c, rng.pick(n))
            } else {
                (STEP_COLUMNS[rng.pick(STEP_COLUMNS.len())], r)
            };
            let (x, y) = (cell(&t, c, r), cell(&t, c2, r2));
            set(&mut t, c, r, y);
            set(&mut t, c2, r2, x);
            let resolved = rng.pick(2) == 0;
            if resolved {
                resolve(&mut t, &b.statement, None).ok()?;
            }
            format!("cells (column {c}, row {r}) and (column {c2}, row {r2}) swapped (resolved: {resolved})")
        }
        // The honest run laid out with other choices: spare slots copying another cell, fewer or
        // more placeholders, a sorted side starting elsewhere.
        _ => {
            let mut cells: Vec<(&Felt, &Felt)> = mem.iter().collect();
            cells.sort_by_key(|(a, _)| a.representative());
            let (a, v) = cells[rng.pick(cells.len())];
            let n_pub = b.statement.public_memory().len();
            let layout = Layout {
                spare: Some((*a, *v)),
                placeholders: match rng.pick(3) {
                    0 => Some(n_pub - 1),
                    1 => Some(n_pub + 1),
                    _ => None,
                },
                sorted_start: (rng.pick(4) == 0).then(|| Felt::from(2u64)),
                ..Layout::default()
            };
            let forged = forge_trace(honest, &b.program, &b.inputs, &b.exec, &layout).ok()?;
            return Some(Case::new(
                format!(
                    "{}: honest run laid out with spare ({}, {}), {:?} placeholders (of {n_pub}), sorted from {:?}",
                    b.name,
                    show(a),
                    show(v),
                    layout.placeholders,
                    layout.sorted_start.as_ref().map(show)
                ),
                forged.statement,
                forged.trace,
            ));
        }
    };
    Some(b.case(how, t))
}

/// After a row's flags or registers changed: recompute its operand addresses from the AIR's
/// equations, reading the new cell's value when it exists (left as is otherwise).
fn repair_addresses(t: &mut TraceTable, r: usize, mem: &HashMap<Felt, Felt>) {
    let one = Felt::one();
    let bias = Felt::from(1u64 << 15);
    let f = |t: &TraceTable, i: usize| cell(t, cols::FLAGS + i, r);
    let (pc, ap, fp) = (
        cell(t, cols::PC, r),
        cell(t, cols::AP, r),
        cell(t, cols::FP, r),
    );
    let dst_addr = f(t, flags::DST_REG) * (fp - ap) + ap + cell(t, cols::OFF_DST, r) - bias;
    let op0_addr = f(t, flags::OP0_REG) * (fp - ap) + ap + cell(t, cols::OFF_OP0, r) - bias;
    for (ac, vc, a) in [
        (cols::DST_ADDR, cols::DST, dst_addr),
        (cols::OP0_ADDR, cols::OP0, op0_addr),
    ] {
        if let Some(v) = mem.get(&a) {
            set(t, ac, r, a);
            set(t, vc, r, *v);
        }
    }
    let op0 = cell(t, cols::OP0, r);
    let base_op0 = one - f(t, flags::OP1_IMM) - f(t, flags::OP1_FP) - f(t, flags::OP1_AP);
    let op1_addr = f(t, flags::OP1_IMM) * pc
        + f(t, flags::OP1_AP) * ap
        + f(t, flags::OP1_FP) * fp
        + base_op0 * op0
        + cell(t, cols::OFF_OP1, r)
        - bias;
    if let Some(v) = mem.get(&op1_addr) {
        set(t, cols::OP1_ADDR, r, op1_addr);
        set(t, cols::OP1, r, *v);
    }
}

/// Runs the search: for every constraint, the first mutation after which it is the only one
/// broken.
fn search() -> BTreeMap<Violation, Case> {
    let mut found = BTreeMap::new();
    let mut rng = Rng(SEED);
    for b in bases() {
        let mem = memory_of(&b.trace);
        let mut by_value: BTreeMap<Vec<u64>, Vec<Felt>> = BTreeMap::new();
        for (a, v) in &mem {
            by_value
                .entry(v.representative().limbs.to_vec())
                .or_default()
                .push(*a);
        }
        for list in by_value.values_mut() {
            list.sort_by_key(|a| a.representative());
        }
        let mut honest = FreeVm::like(&b.exec);
        honest.run(b.exec.end_pc, b.n()).unwrap();
        for _ in 0..TRIES {
            let Some(case) = mutate(&b, &mem, &by_value, &honest, &mut rng) else {
                continue;
            };
            if let [v] = case.violations().as_slice() {
                found.entry(v.clone()).or_insert(case);
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Targeted attacks: what dropping each remaining constraint lets a cheater do.

/// What a witness stands for: a transition constraint's name or a boundary constraint's kind.
fn key_of(case: &Case, v: &Violation) -> String {
    match v {
        Violation::Transition(name) => name.to_string(),
        Violation::Boundary(i) => boundary_kinds(&case.statement)[*i].clone(),
    }
}

fn violation_of(case: &Case, key: &str) -> Violation {
    match constraint_names().into_iter().find(|n| *n == key) {
        Some(name) => Violation::Transition(name),
        None => Violation::Boundary(
            boundary_kinds(&case.statement)
                .iter()
                .position(|k| k == key)
                .unwrap_or_else(|| panic!("no boundary constraint {key}")),
        ),
    }
}

fn hand_made_u64(code: &[u64], end: usize) -> (CompiledProgram, Execution) {
    let code: Vec<Felt> = code.iter().map(|w| Felt::from(*w)).collect();
    hand_made(&code, end)
}

/// Two `nop; ap++` then `__end__`, run by a cheater from a chosen initial state.
fn initial_state_case(how: &str, start: impl FnOnce(&mut FreeVm<'_>)) -> Case {
    let nop = ins(0, -1, 0, &[flags::OP1_AP, flags::AP_ADD1]);
    let (program, exec) = hand_made_u64(&[nop, nop, JMP_REL_0, 0], 2);
    let mut vm = FreeVm::like(&exec);
    start(&mut vm);
    vm.run(exec.end_pc, 16).unwrap();
    let forged = forge_trace(&vm, &program, &[], &exec, &Layout::default()).unwrap();
    Case::new(how, forged.statement, forged.trace)
}

/// Recomputes `acc` over the block holding `row` from its limbs.
fn fix_acc(t: &mut TraceTable, row: usize) {
    let start = row - row % RC_BLOCK;
    let base = Felt::from(256u64);
    for r in (start..start + RC_BLOCK).rev() {
        let limb = cell(t, cols::LIMB, r);
        let acc = if r % RC_BLOCK == RC_BLOCK - 1 {
            limb
        } else {
            limb + base * cell(t, cols::ACC, r + 1)
        };
        set(t, cols::ACC, r, acc);
    }
}

/// Writes the byte limbs of `value` (below 2^128) into block `k`.
fn set_limbs(t: &mut TraceTable, k: usize, value: Felt) {
    let limbs = value.representative().limbs;
    assert!(limbs[0] == 0 && limbs[1] == 0);
    let low = ((limbs[2] as u128) << 64) | limbs[3] as u128;
    for i in 0..RC_BLOCK {
        set(
            t,
            cols::LIMB,
            k * RC_BLOCK + i,
            Felt::from(((low >> (8 * i)) & 0xff) as u64),
        );
    }
    fix_acc(t, k * RC_BLOCK);
}

fn set_sel(t: &mut TraceTable, k: usize, v: Felt) {
    for i in 0..RC_BLOCK {
        set(t, cols::RC_SEL, k * RC_BLOCK + i, v);
    }
}

fn set_rc_addr_from(t: &mut TraceTable, row: usize, v: Felt) {
    for r in row..t.length() {
        set(t, cols::RC_ADDR, r, v);
    }
}

fn extra(t: &TraceTable, r: usize) -> (Felt, Felt) {
    (cell(t, cols::EXTRA_ADDR, r), cell(t, cols::EXTRA_VAL, r))
}

fn set_extra(t: &mut TraceTable, r: usize, (a, v): (Felt, Felt)) {
    set(t, cols::EXTRA_ADDR, r, a);
    set(t, cols::EXTRA_VAL, r, v);
}

/// The range-check builtin: blocks skipped, cells unchecked, limbs out of range.
fn range_check_attacks(b: &Base, out: &mut Vec<(String, Case)>) {
    let c = &b.statement.claim;
    let (rc_base, count) = (
        c.range_check_base,
        (c.range_check_stop - c.range_check_base) as usize,
    );
    assert!(count >= 2, "{}: needs two range-check cells", b.name);
    let stop = Felt::from(c.range_check_stop);
    let n = b.n();
    let resolved = |mut t: TraceTable| {
        resolve(&mut t, &b.statement, None).unwrap();
        t
    };
    let mut push = |key: &str, how: &str, t: TraceTable| out.push((key.into(), b.case(how, t)));

    // rc_sel = 2 on the second-to-last block: rc_addr jumps over the last cell, whose block
    // goes unused: that cell is never range-checked.
    let mut t = b.trace.clone();
    set_sel(&mut t, count - 2, Felt::from(2u64));
    set_sel(&mut t, count - 1, Felt::zero());
    set_rc_addr_from(&mut t, (count - 1) * RC_BLOCK, stop);
    push(
        "rc_sel is a bit",
        "rc_sel = 2 skips the last range-check cell",
        t,
    );

    // The first row of block 0 unselected, the rest selected: the address advances but the cell
    // (rc_addr, acc) is never compared.
    let mut t = b.trace.clone();
    set(&mut t, cols::RC_SEL, 0, Felt::zero());
    push(
        "rc_sel is constant in a block",
        "block 0 checks no cell but advances",
        t,
    );

    // rc_addr jumps by 2 after the second-to-last block; the last cell is unchecked.
    let mut t = b.trace.clone();
    set_sel(&mut t, count - 1, Felt::zero());
    set_rc_addr_from(&mut t, (count - 1) * RC_BLOCK, stop);
    push(
        "rc_addr steps per used block",
        "rc_addr skips the last cell",
        t,
    );

    // Block 0 checks another cell (the input count, a small value) instead of rc_base.
    let mut t = b.trace.clone();
    let a = Felt::from(b.statement.bytecode.len() as u64 + 1);
    let v = cell_value(&t, a);
    set_extra(&mut t, 0, (a, v));
    set_limbs(&mut t, 0, v);
    push(
        "range-check cell address",
        "block 0 checks another cell",
        resolved(t),
    );

    // Block 0's limbs say 0 while the cell holds its value.
    let mut t = b.trace.clone();
    set_limbs(&mut t, 0, Felt::zero());
    push(
        "range-check cell value",
        "block 0's limbs decompose 0",
        resolved(t),
    );

    // Unused blocks: acc not the Horner sum, limb not a byte.
    let free = count * RC_BLOCK;
    let mut t = b.trace.clone();
    t.columns[cols::ACC][free + 5] += Felt::one();
    push(
        "acc accumulates limbs",
        "acc off by one in an unused block",
        t,
    );
    let mut t = b.trace.clone();
    t.columns[cols::ACC][free + RC_BLOCK - 1] += Felt::one();
    for r in (free..free + RC_BLOCK - 1).rev() {
        let v = cell(&t, cols::LIMB, r) + Felt::from(256u64) * cell(&t, cols::ACC, r + 1);
        set(&mut t, cols::ACC, r, v);
    }
    push(
        "acc starts at the last limb",
        "acc of a block's last row is not its limb",
        t,
    );
    // In a used block, limbs (x + 256, y − 1) keep the value: with the lookup gone, limbs are
    // any field elements, so a block "decomposes" any value (here: still the honest one).
    let mut t = b.trace.clone();
    let r = (0..count * RC_BLOCK)
        .find(|&r| r % RC_BLOCK < RC_BLOCK - 1 && cell(&t, cols::LIMB, r + 1) != Felt::zero())
        .unwrap();
    t.columns[cols::LIMB][r] += Felt::from(256u64);
    t.columns[cols::LIMB][r + 1] = cell(&t, cols::LIMB, r + 1) - Felt::one();
    fix_acc(&mut t, r);
    assert_eq!(
        cell(&t, cols::ACC, r - r % RC_BLOCK),
        cell(&b.trace, cols::ACC, r - r % RC_BLOCK)
    );
    push("limb LogUp, cyclic", "a limb of 256 + x", resolved(t));

    // rc_addr starts at rc_base + 1: every block checks the next cell, the first is unchecked
    // (its access moves to the now unused last block's slot).
    let mut t = b.trace.clone();
    let cells: Vec<(Felt, Felt)> = (0..count).map(|k| extra(&b.trace, k * RC_BLOCK)).collect();
    for k in 0..count - 1 {
        set_extra(&mut t, k * RC_BLOCK, cells[k + 1]);
        set_limbs(&mut t, k, cells[k + 1].1);
        for i in 0..RC_BLOCK {
            set(
                &mut t,
                cols::RC_ADDR,
                k * RC_BLOCK + i,
                Felt::from(rc_base + 1 + k as u64),
            );
        }
    }
    set_sel(&mut t, count - 1, Felt::zero());
    set_extra(&mut t, (count - 1) * RC_BLOCK, cells[0]);
    set_rc_addr_from(&mut t, (count - 1) * RC_BLOCK, stop);
    push("RC_ADDR@0", "range checks start one cell late", resolved(t));

    // rc_addr stops one cell early: the last cell is unchecked.
    let mut t = b.trace.clone();
    set_sel(&mut t, count - 1, Felt::zero());
    set_rc_addr_from(&mut t, (count - 1) * RC_BLOCK, stop - Felt::one());
    push("RC_ADDR@last", "range checks stop one cell early", t);

    // The final block used: it checks the cell at rc_stop too.
    let mut t = b.trace.clone();
    let last_block = n / RC_BLOCK - 1;
    let v = memory_of(&t).get(&stop).copied().unwrap_or_else(Felt::zero);
    set_sel(&mut t, last_block, Felt::one());
    set_extra(&mut t, last_block * RC_BLOCK, (stop, v));
    set_limbs(&mut t, last_block, v);
    push(
        "RC_SEL@last",
        "the final block checks the cell at rc_stop",
        resolved(t),
    );
}

/// The name of the `j`-th constraint whose name starts with `prefix`.
fn sorted_name(prefix: &str, j: usize) -> &'static str {
    let names: Vec<&'static str> = constraint_names()
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect();
    assert!(
        names[j].starts_with(&format!("{prefix} {j}→")),
        "{}",
        names[j]
    );
    names[j]
}

/// The sorted memory and the sorted 16-bit chain: steps other than 0/1, values that change.
fn sorted_attacks(b: &Base, out: &mut Vec<(String, Case)>) {
    let n = b.n();
    let (max_addr, max_val) = (
        cell(&b.trace, cols::SORTED_MEM + 8, n - 1),
        cell(&b.trace, cols::SORTED_MEM + 9, n - 1),
    );
    let spares = spare_rows(&b.trace);
    // `l` trailing entries after the junction put it at slot (4 − l) mod 5.
    for j in 0..5 {
        let l = (4 + 5 - j) % 5;
        let l = if l == 0 { 5 } else { l };
        let mut t = b.trace.clone();
        for &r in spares.iter().rev().take(l) {
            set_extra(&mut t, r, (max_addr + Felt::from(2u64), max_val));
        }
        resolve(&mut t, &b.statement, None).unwrap();
        let key = sorted_name("sorted address", j);
        out.push((
            key.into(),
            b.case(format!("memory hole below {l} trailing accesses"), t),
        ));
        let mut t = b.trace.clone();
        for &r in spares.iter().rev().take(l) {
            set_extra(&mut t, r, (max_addr, max_val + Felt::one()));
        }
        resolve(&mut t, &b.statement, None).unwrap();
        let key = sorted_name("sorted value", j);
        out.push((
            key.into(),
            b.case(format!("{l} trailing accesses see another value"), t),
        ));
    }
    // The offsets chain: `l` trailing copies of max + 2, claimed as the new maximum.
    let c = &b.statement.claim;
    let max = Felt::from(c.offset_max as u64);
    let fill_spares: Vec<usize> = (0..n - 1)
        .filter(|&r| cell(&b.trace, cols::RC_FILL, r) == max)
        .collect();
    for j in 0..4 {
        let l = (3 + 4 - j) % 4;
        let l = if l == 0 { 4 } else { l };
        let statement = b.with_claim(|c| c.offset_max += 2);
        let mut t = b.trace.clone();
        set(&mut t, cols::RC_FILL, n - 1, max + Felt::from(2u64));
        for &r in fill_spares.iter().rev().take(l - 1) {
            set(&mut t, cols::RC_FILL, r, max + Felt::from(2u64));
        }
        resolve(&mut t, &statement, None).unwrap();
        let key = sorted_name("sorted offset", j);
        out.push((
            key.into(),
            Case::new(
                format!("{}: offsets chain jumps by 2 below {l} entries", b.name),
                statement,
                t,
            ),
        ));
    }
    // offset_min claimed one lower than the chain starts.
    let statement = b.with_claim(|c| c.offset_min -= 1);
    out.push((
        "SORTED_OFF@0".into(),
        Case::new(
            format!("{}: offset_min claimed one lower", b.name),
            statement,
            b.trace.clone(),
        ),
    ));
    // The chain runs past the claimed maximum: max + 1 claimed, the chain ends at max + 2 in the
    // one sorted cell no product covers.
    let statement = b.with_claim(|c| c.offset_max += 1);
    let mut t = b.trace.clone();
    set(&mut t, cols::RC_FILL, n - 1, max + Felt::one());
    set(
        &mut t,
        cols::RC_FILL,
        fill_spares[fill_spares.len() - 1],
        max + Felt::one(),
    );
    resolve(&mut t, &statement, None).unwrap();
    set(&mut t, cols::SORTED_OFF + 3, n - 1, max + Felt::from(2u64));
    out.push((
        "SORTED_OFF3@last".into(),
        Case::new(
            format!("{}: chain ends above offset_max", b.name),
            statement,
            t,
        ),
    ));
    // rc_fill on the last row is outside every product.
    let mut t = b.trace.clone();
    set(&mut t, cols::RC_FILL, n - 1, max + Felt::one());
    out.push((
        "RC_FILL@last".into(),
        b.case("rc_fill on the last row above offset_max", t),
    ));
}

/// The step count: one step more claimed than run, or one fewer.
fn step_count_attacks(b: &Base, out: &mut Vec<(String, Case)>) {
    let s = b.steps();
    // One step fewer: done is set on main's `ret`, which is not at __end__. The row before
    // carries the inverse the switch needs (its jnz_inv is free when it is not a jnz).
    let gap = |r: usize| cell(&b.trace, cols::PC, r) - Felt::from(b.statement.end_pc);
    if let Some(inv) = (s >= 2 && !flag(&b.trace, s - 2, flags::PC_JNZ))
        .then(|| gap(s - 2).inv().ok())
        .flatten()
    {
        let mut t = b.trace.clone();
        set(&mut t, cols::DONE, s - 1, Felt::one());
        set(&mut t, cols::JNZ_INV, s - 2, inv);
        out.push((
            "done rows sit at __end__".into(),
            Case::new(
                format!("{}: steps - 1 claimed, done set on main's ret", b.name),
                b.with_claim(|c| c.steps -= 1),
                t,
            ),
        ));
    }
    let statement = b.with_claim(|c| c.steps += 1);
    let mut t = b.trace.clone();
    set(&mut t, cols::DONE, s, Felt::zero());
    out.push((
        "the last step is not at __end__".into(),
        Case::new(
            format!("{}: one extra step at __end__", b.name),
            statement.clone(),
            t,
        ),
    ));
    out.push((
        "DONE@steps-1".into(),
        Case::new(
            format!("{}: steps + 1 claimed, done switches at steps", b.name),
            statement.clone(),
            b.trace.clone(),
        ),
    ));
    let mut t = b.trace.clone();
    for r in 0..b.n() {
        set(&mut t, cols::DONE, r, Felt::zero());
    }
    out.push((
        "DONE@steps".into(),
        Case::new(
            format!("{}: steps + 1 claimed, done never set", b.name),
            statement,
            t,
        ),
    ));
}

/// Register updates and operand reads.
fn step_attacks(b: &Base, out: &mut Vec<(String, Case)>) {
    let n = b.n();
    let s = b.steps();
    let mem = memory_of(&b.trace);
    // t0 set on a padding row (jmp rel 0: op1 = 0, so the jump target is the same).
    let mut t = b.trace.clone();
    set(&mut t, cols::T0, s + 1, Felt::one());
    out.push((
        "t0 = jnz · dst".into(),
        b.case("t0 = 1 on a padding row", t),
    ));
    // A taken jnz whose inverse is wrong.
    if let Some(r) = (0..s - 1)
        .find(|&r| flag(&b.trace, r, flags::PC_JNZ) && cell(&b.trace, cols::DST, r) != Felt::zero())
    {
        let mut t = b.trace.clone();
        set(&mut t, cols::JNZ_INV, r, Felt::zero());
        out.push((
            "jnz fall-through".into(),
            b.case(format!("taken jnz at row {r} without its inverse"), t),
        ));
    }
    // ap moves on the padding rows (jmp rel 0 reads nothing through ap).
    let mut t = b.trace.clone();
    for r in s + 1..n {
        t.columns[cols::AP][r] += Felt::one();
    }
    out.push(("ap update".into(), b.case("ap += 1 after the last step", t)));
    // fp moves on the padding rows; its reads follow.
    let mut t = b.trace.clone();
    for r in s + 1..n {
        t.columns[cols::FP][r] = cell(&t, cols::FP, r) - Felt::one();
        repair_addresses(&mut t, r, &mem);
    }
    resolve(&mut t, &b.statement, None).unwrap();
    out.push(("fp update".into(), b.case("fp -= 1 after the last step", t)));
    // A taken jnz falls through instead: the loop exits early (a wrong output).
    for k in 0..4 {
        let mut seen = 0usize;
        let mut vm = FreeVm::like(&b.exec).hook(move |vm| {
            let Some(last) = vm.steps.last() else { return };
            if last.flag(flags::PC_JNZ) && last.dst != Felt::zero() && vm.pc == last.pc + last.op1 {
                if seen == k {
                    vm.pc = last.pc + Felt::from(1 + last.flag(flags::OP1_IMM) as u64);
                }
                seen += 1;
            }
        });
        if vm.run(b.exec.end_pc, n - 2).is_err() {
            continue;
        }
        if let Some(f) = b.forge(&vm) {
            out.push((
                "pc update".into(),
                Case::new(
                    format!("{}: taken jnz #{k} falls through", b.name),
                    f.statement,
                    f.trace,
                ),
            ));
        }
    }
    // The first call pushes another fp (restored by the callee's ret).
    {
        let mut done = false;
        let mut vm = FreeVm::like(&b.exec).hook(move |vm| {
            let word = vm.mem.get(&vm.pc).and_then(felt_u64).unwrap_or(0);
            if !done && (word >> (48 + flags::OPCODE_CALL)) & 1 == 1 {
                let (ap, fp) = (vm.ap, vm.fp);
                vm.mem.insert(ap, fp + Felt::one());
                done = true;
            }
        });
        if vm.run(b.exec.end_pc, n - 2).is_ok() {
            if let Some(f) = b.forge(&vm) {
                out.push((
                    "call pushes fp".into(),
                    Case::new(
                        format!("{}: call pushes fp + 1", b.name),
                        f.statement,
                        f.trace,
                    ),
                ));
            }
        }
    }
    // A call pushes another return address (k-th call, skipping `d` words on return).
    for k in 0..3 {
        for d in 1..5u64 {
            let mut calls = 0usize;
            let mut vm = FreeVm::like(&b.exec).hook(move |vm| {
                let word = vm.mem.get(&vm.pc).and_then(felt_u64).unwrap_or(0);
                if (word >> (48 + flags::OPCODE_CALL)) & 1 == 1 {
                    if calls == k {
                        let size = 1 + ((word >> (48 + flags::OP1_IMM)) & 1);
                        let (ap, pc) = (vm.ap, vm.pc);
                        vm.mem.insert(ap + Felt::one(), pc + Felt::from(size + d));
                    }
                    calls += 1;
                }
            });
            if vm.run(b.exec.end_pc, n - 2).is_err() {
                continue;
            }
            if let Some(f) = b.forge(&vm) {
                out.push((
                    "call pushes the return pc".into(),
                    Case::new(
                        format!("{}: call #{k} returns {d} words late", b.name),
                        f.statement,
                        f.trace,
                    ),
                ));
            }
        }
    }
    // Operands read from another address holding the same value.
    let mut by_value: HashMap<Felt, Vec<Felt>> = HashMap::new();
    for (a, v) in &mem {
        by_value.entry(*v).or_default().push(*a);
    }
    for list in by_value.values_mut() {
        list.sort_by_key(|a| a.representative());
    }
    for (key, ac, vc) in [
        ("dst address", cols::DST_ADDR, cols::DST),
        ("op0 address", cols::OP0_ADDR, cols::OP0),
        ("op1 address", cols::OP1_ADDR, cols::OP1),
    ] {
        let mut tries = 0;
        'rows: for r in 0..s {
            for a in &by_value[&cell(&b.trace, vc, r)] {
                if *a == cell(&b.trace, ac, r) || tries > 20 {
                    continue;
                }
                tries += 1;
                let mut t = b.trace.clone();
                set(&mut t, ac, r, *a);
                resolve(&mut t, &b.statement, None).unwrap();
                let case = b.case(format!("row {r}: {key} moved to {}", show(a)), t);
                if case.violations().len() == 1 {
                    out.push((key.into(), case));
                    break 'rows;
                }
            }
        }
    }
    // assert_eq / res on a cell nothing else reads: the value written differs from res, or res
    // differs from what the operands give.
    let mut accesses: HashMap<Felt, usize> = HashMap::new();
    for r in 0..n {
        for ac in [
            cols::DST_ADDR,
            cols::OP0_ADDR,
            cols::OP1_ADDR,
            cols::EXTRA_ADDR,
            cols::PC,
        ] {
            *accesses.entry(cell(&b.trace, ac, r)).or_default() += 1;
        }
    }
    let public: Vec<Felt> = b
        .statement
        .public_memory()
        .iter()
        .map(|(a, _)| Felt::from(*a))
        .collect();
    for r in 0..s {
        let a = cell(&b.trace, cols::DST_ADDR, r);
        if !flag(&b.trace, r, flags::OPCODE_ASSERT_EQ) || accesses[&a] != 1 || public.contains(&a) {
            continue;
        }
        let mut t = b.trace.clone();
        t.columns[cols::DST][r] += Felt::one();
        resolve(&mut t, &b.statement, None).unwrap();
        out.push((
            "assert_eq".into(),
            b.case(format!("row {r}: assert_eq writes res + 1"), t.clone()),
        ));
        t.columns[cols::RES][r] += Felt::one();
        out.push(("res".into(), b.case(format!("row {r}: res is op + 1"), t)));
    }
}

/// The memory argument: a forged read of an input (fibonacci of n + 1 proven for input n).
fn product_attacks(b: &Base, out: &mut Vec<(String, Case)>) {
    let a = Felt::from(b.statement.bytecode.len() as u64 + 2);
    let honest = cell_value(&b.trace, a);
    let mut vm = FreeVm::like(&b.exec);
    vm.forged_reads.insert(a, honest - Felt::one());
    vm.run(b.exec.end_pc, 100_000).unwrap();
    let mut f = forge_trace(&vm, &b.program, &b.inputs, &b.exec, &Layout::default()).unwrap();
    let n = f.trace.length();
    for r in 0..n {
        for j in 0..5 {
            if cell(&f.trace, cols::SORTED_MEM + 2 * j, r) == a {
                set(&mut f.trace, cols::SORTED_MEM + 2 * j + 1, r, honest);
            }
        }
    }
    let how = format!("{}: input read as n - 1", b.name);
    out.push((
        "PROD4@last".into(),
        Case::new(how.clone(), f.statement.clone(), f.trace.clone()),
    ));
    let names = constraint_names();
    let products = names.len() - 6;
    for j in 0..4 {
        let mut case = Case::new(
            format!("{how}, product column {} fixed up", j + 1),
            f.statement.clone(),
            f.trace.clone(),
        );
        case.aux = Some(AuxFix {
            from: j + 1,
            all_rows: false,
        });
        out.push((names[products + j].into(), case));
    }
    let mut case = Case::new(
        format!("{how}, last row's products fixed up"),
        f.statement.clone(),
        f.trace.clone(),
    );
    case.aux = Some(AuxFix {
        from: 0,
        all_rows: false,
    });
    out.push((names[products + 4].into(), case));
    let mut case = Case::new(
        format!("{how}, products scaled from row 0"),
        f.statement.clone(),
        f.trace.clone(),
    );
    case.aux = Some(AuxFix {
        from: 0,
        all_rows: true,
    });
    out.push(("PROD0@0".into(), case));
}

/// "Flag i is a bit": one word, two decodings. The bytecode holds `w'`, the encoding of the flags
/// `cheat` (bits except flag `i`) with the offsets `offs`; the cheater's run executes the bits
/// `honest` (same offsets) on the seeded cells, which on these values has the same effect as
/// `cheat` under the AIR's equations; the row then claims the flags `cheat`, so the fetch reads
/// `w'`. Every flag-hardening rule holds for `cheat`, so only flag `i`'s bit constraint stops it.
struct FlagAttack {
    honest: &'static [usize],
    offs: (i32, i32, i32),
    cheat: &'static [(usize, i64)],
    seeds: &'static [(u64, i64)],
    /// Words between the instruction and `__end__`.
    gap: usize,
    res: Option<i64>,
}

fn signed(x: i64) -> Felt {
    if x < 0 {
        minus(x.unsigned_abs())
    } else {
        Felt::from(x as u64)
    }
}

fn flag_attack(a: &FlagAttack) -> Case {
    let mut f = [Felt::zero(); 15];
    for &i in a.honest {
        f[i] = Felt::one();
    }
    let w0 = Felt::from(ins(a.offs.0, a.offs.1, a.offs.2, a.honest));
    for &(i, x) in a.cheat {
        f[i] = signed(x);
    }
    let mut flags_word = Felt::zero();
    for i in (0..15).rev() {
        flags_word = flags_word + flags_word + f[i];
    }
    let offsets = ins(a.offs.0, a.offs.1, a.offs.2, &[]);
    let w = Felt::from(offsets) + Felt::from(1u64 << 48) * flags_word;
    let mut code: Vec<Felt> = vec![w];
    code.extend(std::iter::repeat_n(Felt::zero(), a.gap));
    let end = code.len();
    code.extend([Felt::from(JMP_REL_0), Felt::zero()]);
    let (program, exec) = hand_made(&code, end);
    let ap = exec.initial_ap();
    let mut vm = FreeVm::like(&exec);
    vm.mem.insert(Felt::one(), w0);
    for &(k, v) in a.seeds {
        vm.mem.insert(
            Felt::from(ap + k),
            if v == i64::MIN {
                Felt::from(ap)
            } else {
                signed(v)
            },
        );
    }
    vm.run(exec.end_pc, 16).unwrap();
    let mut forged = forge_trace(&vm, &program, &[], &exec, &Layout::default()).unwrap();
    for (i, v) in f.iter().enumerate() {
        set(&mut forged.trace, cols::FLAGS + i, 0, *v);
    }
    if let Some(r) = a.res {
        set(&mut forged.trace, cols::RES, 0, signed(r));
    }
    resolve(&mut forged.trace, &forged.statement, None).unwrap();
    Case::new(
        format!("hand-made: {:?} run, claimed as {:?}", a.honest, a.cheat),
        forged.statement,
        forged.trace,
    )
}

/// "opcode_call is a bit": call = −1 with assert_eq, a "reverse call" (ap −= 2, fp −= 2 from
/// ap = fp), claimed for a word whose honest decoding is call + ret. The cheater lays the first
/// step out by hand (no bit decoding has its effect), then runs `ap += 2` and `__end__`.
fn reverse_call_attack() -> Case {
    use flags::*;
    let offs = (0, 1, 0);
    let mut f = [Felt::zero(); 15];
    f[OP1_AP] = Felt::one();
    f[OPCODE_CALL] = minus(1);
    f[OPCODE_ASSERT_EQ] = Felt::one();
    let mut flags_word = Felt::zero();
    for i in (0..15).rev() {
        flags_word = flags_word + flags_word + f[i];
    }
    let w = Felt::from(ins(offs.0, offs.1, offs.2, &[])) + Felt::from(1u64 << 48) * flags_word;
    let ap_add_2 = ins(0, 0, 1, &[OP1_IMM, AP_ADD]);
    let code = [
        w,
        Felt::from(ap_add_2),
        Felt::from(2u64),
        Felt::from(JMP_REL_0),
        Felt::zero(),
    ];
    let (program, exec) = hand_made(&code, 3);
    let a = Felt::from(exec.initial_ap());
    let one = Felt::one();
    let two = Felt::from(2u64);
    let mut vm = FreeVm::like(&exec);
    // The first step: [ap] = fp, [ap + 1] = pc + 1, res = op1 = [ap] = fp = dst.
    vm.mem.insert(a, a);
    vm.mem.insert(a + one, two);
    vm.pc = two;
    vm.ap = a - two;
    vm.fp = a - two;
    vm.run(exec.end_pc, 16).unwrap();
    vm.steps.insert(
        0,
        Step {
            pc: one,
            ap: a,
            fp: a,
            // Any bit word: the flag columns are overwritten below.
            word: Felt::from(ins(offs.0, offs.1, offs.2, &[OP1_AP, OPCODE_CALL])),
            dst_addr: a,
            dst: a,
            op0_addr: a + one,
            op0: two,
            op1_addr: a,
            op1: a,
            res: a,
        },
    );
    vm.mem.insert(one, w);
    let mut forged = forge_trace(&vm, &program, &[], &exec, &Layout::default()).unwrap();
    for (i, v) in f.iter().enumerate() {
        set(&mut forged.trace, cols::FLAGS + i, 0, *v);
    }
    resolve(&mut forged.trace, &forged.statement, None).unwrap();
    Case::new(
        "hand-made: a call + ret word run as call = −1, assert_eq (ap −= 2)",
        forged.statement,
        forged.trace,
    )
}

/// The value `initial ap` as a seed.
const AP: i64 = i64::MIN;

fn flag_attacks(out: &mut Vec<(String, Case)>) {
    use flags::*;
    let nop = &[OP1_AP, AP_ADD1];
    let attacks: [(usize, FlagAttack); 13] = [
        // ap = fp: dst_reg and op0_reg do not matter.
        (
            DST_REG,
            FlagAttack {
                honest: nop,
                offs: (0, -1, 0),
                cheat: &[(DST_REG, 2)],
                seeds: &[],
                gap: 0,
                res: None,
            },
        ),
        (
            OP0_REG,
            FlagAttack {
                honest: nop,
                offs: (0, -1, 0),
                cheat: &[(OP0_REG, 2)],
                seeds: &[],
                gap: 0,
                res: None,
            },
        ),
        // op1_imm = −1, op1_ap = 1: op1 at −pc + ap + op0 + 1 = ap + 1 when op0 = pc = 1; the
        // instruction has size 0 but jumps (abs) to [ap + 1] = __end__.
        (
            OP1_IMM,
            FlagAttack {
                honest: &[OP1_AP, PC_JUMP_ABS],
                offs: (0, 0, 1),
                cheat: &[(OP1_IMM, -1)],
                seeds: &[(0, 1), (1, 2)],
                gap: 0,
                res: None,
            },
        ),
        // op1_fp = −1 with op1_ap: op1 at op0 (= [ap] = ap).
        (
            OP1_FP,
            FlagAttack {
                honest: nop,
                offs: (0, 0, 0),
                cheat: &[(OP1_FP, -1)],
                seeds: &[(0, AP)],
                gap: 0,
                res: None,
            },
        ),
        (
            OP1_AP,
            FlagAttack {
                honest: &[OP1_FP, AP_ADD1],
                offs: (0, 0, 0),
                cheat: &[(OP1_AP, -1), (OP1_FP, 1)],
                seeds: &[(0, AP)],
                gap: 0,
                res: None,
            },
        ),
        // res_add = −1 with res_mul: res = op0·(op1 − 1) = op0·op1 when op0 = 0. The word is an
        // honest `add` (0 + 7), proven to give 0.
        (
            RES_ADD,
            FlagAttack {
                honest: &[OP1_AP, RES_MUL, AP_ADD1],
                offs: (0, 0, 1),
                cheat: &[(RES_ADD, -1)],
                seeds: &[(1, 7)],
                gap: 0,
                res: None,
            },
        ),
        // res_mul = −1 with res_add: res = op0 + 2·op1 − op0·op1 = op0 + op1 when op1 = 0.
        (
            RES_MUL,
            FlagAttack {
                honest: &[OP1_AP, RES_ADD, AP_ADD1],
                offs: (0, 0, 1),
                cheat: &[(RES_MUL, -1)],
                seeds: &[(0, 5)],
                gap: 0,
                res: None,
            },
        ),
        // pc_jump_abs = −1 with pc_jump_rel: pc' = 2·pc + 1 = pc + res for res = 2 at pc 1.
        (
            PC_JUMP_ABS,
            FlagAttack {
                honest: &[OP1_AP, PC_JUMP_REL],
                offs: (0, 0, 0),
                cheat: &[(PC_JUMP_ABS, -1)],
                seeds: &[(0, 2)],
                gap: 1,
                res: None,
            },
        ),
        // pc_jump_rel = −1 with pc_jnz: the word is an honest `jmp rel [ap + 1]` (by 5); claimed as
        // a jnz on [ap] = 0 with res = 1, it falls through.
        (
            PC_JUMP_REL,
            FlagAttack {
                honest: &[OP1_AP, PC_JNZ],
                offs: (0, 0, 1),
                cheat: &[(PC_JUMP_REL, -1)],
                seeds: &[(1, 5)],
                gap: 0,
                res: Some(1),
            },
        ),
        // pc_jnz = −1 with pc_jump_rel, dst = 0: pc' = pc + (size + res)/2 = pc + 1 for res = 1.
        (
            PC_JNZ,
            FlagAttack {
                honest: nop,
                offs: (0, 0, 1),
                cheat: &[(PC_JNZ, -1), (PC_JUMP_REL, 1)],
                seeds: &[(1, 1)],
                gap: 0,
                res: None,
            },
        ),
        // ap_add = −1 with ap_add1: ap' = ap − res + 1 = ap + 1 for res = 0.
        (
            AP_ADD,
            FlagAttack {
                honest: nop,
                offs: (0, 0, 0),
                cheat: &[(AP_ADD, -1)],
                seeds: &[],
                gap: 0,
                res: None,
            },
        ),
        // ap_add1 = −1 with ap_add: ap' = ap + res − 1 = ap for res = 1.
        (
            AP_ADD1,
            FlagAttack {
                honest: &[OP1_AP],
                offs: (0, 0, 0),
                cheat: &[(AP_ADD1, -1), (AP_ADD, 1)],
                seeds: &[(0, 1)],
                gap: 0,
                res: None,
            },
        ),
        // assert_eq = −1 with call (a call that does not jump): res = op1 = [ap] = fp = dst. The
        // word is a field element above 2^63, which cairo-vm refuses to decode.
        (
            OPCODE_ASSERT_EQ,
            FlagAttack {
                honest: &[OP1_AP, OPCODE_CALL],
                offs: (0, 1, 0),
                cheat: &[(OPCODE_ASSERT_EQ, -1)],
                seeds: &[],
                gap: 0,
                res: None,
            },
        ),
    ];
    let bit_rule = |flag: usize| FLAG_BIT.iter().find(|(f, _)| *f == flag).unwrap().1;
    for (i, a) in attacks {
        out.push((bit_rule(i).into(), flag_attack(&a)));
    }
    out.push((bit_rule(OPCODE_CALL).into(), reverse_call_attack()));
}

/// Every targeted attack, as (what it witnesses, case); several candidates may witness the same
/// constraint (the first that breaks it alone is used).
fn targeted() -> Vec<(String, Case)> {
    let mut out = Vec::new();
    flag_attacks(&mut out);
    out.push((
        "PC@0".into(),
        initial_state_case("hand-made: starts at the second instruction", |vm| {
            vm.pc += Felt::one()
        }),
    ));
    out.push((
        "AP@0".into(),
        initial_state_case("hand-made: starts with ap + 1", |vm| vm.ap += Felt::one()),
    ));
    out.push((
        "FP@0".into(),
        initial_state_case("hand-made: starts with fp + 1", |vm| vm.fp += Felt::one()),
    ));
    let fib = base("fibonacci", &[10, 1, 0, 20]);
    let rc = base("range_checks", &[1, 5, 9, 100, 1 << 40]);
    let nob = base("no_builtins", &[50, 25, 25]);
    let calls = base("calls_and_asserts", &[1, 2, 3, 4, 5, 6]);
    let fact = base("factorial_recursive", &[10]);
    // Final ap claimed one higher (no builtin pointer sits below it in this program).
    let statement = nob.with_claim(|c| c.final_ap += 1);
    out.push((
        "AP@steps".into(),
        Case::new(
            "no_builtins: final ap claimed + 1",
            statement,
            nob.trace.clone(),
        ),
    ));
    range_check_attacks(&rc, &mut out);
    sorted_attacks(&fib, &mut out);
    step_count_attacks(&fib, &mut out);
    for b in [&fib, &calls, &fact, &nob] {
        step_attacks(b, &mut out);
    }
    product_attacks(&fib, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// The coverage test.

#[test]
fn every_constraint_is_load_bearing() {
    let names = constraint_names();
    let reference = base("fibonacci", &[10, 1, 0, 20]);
    let kinds = boundary_kinds(&reference.statement);
    let mut all: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    all.extend(kinds.iter().cloned());
    // Every constraint is named once, and the lists below name real constraints.
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        all.len(),
        "constraint names or boundary kinds repeat"
    );
    for k in COVERED_BY_FLAGS_RS
        .iter()
        .chain(&BOUNDARY_COVERED_BY_FORGERY_RS)
        .chain(&UNCOVERED)
    {
        assert!(all.iter().any(|a| a == k), "{k} is not a constraint");
    }

    // Witnesses: the search first, then the targeted attacks.
    let mut witnesses: BTreeMap<String, Case> = BTreeMap::new();
    let mut from_search = 0;
    for (v, case) in search() {
        witnesses.insert(key_of(&case, &v), case);
        from_search += 1;
    }
    let mut rejected = Vec::new();
    for (key, case) in targeted() {
        if witnesses.contains_key(&key) {
            continue;
        }
        let target = violation_of(&case, &key);
        if case.violations() == [target] {
            witnesses.insert(key, case);
        } else {
            rejected.push(format!(
                "{key}: {} breaks {:?}",
                case.how,
                case.violations()
            ));
        }
    }

    let elsewhere: Vec<&str> = COVERED_BY_FLAGS_RS
        .iter()
        .chain(&BOUNDARY_COVERED_BY_FORGERY_RS)
        .copied()
        .collect();
    let uncovered: Vec<&String> = all
        .iter()
        .filter(|k| !witnesses.contains_key(*k) && !elsewhere.contains(&k.as_str()))
        .collect();
    let expected: Vec<String> = UNCOVERED.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        uncovered,
        expected.iter().collect::<Vec<_>>(),
        "uncovered constraints changed; rejected candidates:\n{}",
        rejected.join("\n")
    );

    // Each witness breaks its constraint alone, and is a real proof without that constraint.
    let mut failures = Vec::new();
    for (key, case) in &witnesses {
        let target = violation_of(case, key);
        if let Err(e) = attack(case, &target) {
            failures.push(e);
        }
        println!("{key:50} {}", case.how);
    }
    println!(
        "{from_search} witnesses from the search, {} in all",
        witnesses.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
