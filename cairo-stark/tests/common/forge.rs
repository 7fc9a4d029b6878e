//! A malicious prover's trace builder, for soundness tests.
//!
//! The honest builder (`cairo_stark::air::build_main_trace`) only ever writes what cairo-vm
//! executed. A cheating donor is not bound by that: it may choose every hint value (the pointer
//! `alloc()` returns), where segments live (even at address 0 or p − k), what a read returns,
//! which spare memory slots it fills with what, and where its sorted memory starts. [`FreeVm`]
//! runs bytecode with the AIR's own equations (so forbidden flag combinations run too, with the
//! meaning the relaxed equations give them), over field-element addresses, with those choices
//! open; [`forge_trace`] then lays the run out as a main trace the way a cheater would, solving
//! every derived column (sorted memory, sorted offsets, multiplicities, inverses) so that only
//! the constraints that stop the cheat can fail. [`violations`] names every constraint a trace
//! breaks, which is how the tests show that a given constraint is the one doing the work.
#![allow(dead_code)]

use std::collections::HashMap;

use cairo_stark::air::{cols, flags, CairoAir, LIMB_BITS, LIMB_TABLE, MEM_PER_ROW, RC_BLOCK};
use cairo_stark::{Claim, CompiledProgram, Execution, Felt, Statement};
use stark::{Air, AuxTraceBuilder, Frame, TraceTable};

/// The Stark prime minus `k`: a "negative" address.
pub fn minus(k: u64) -> Felt {
    Felt::zero() - Felt::from(k)
}

pub fn felt_u64(x: &Felt) -> Option<u64> {
    let l = x.representative().limbs;
    (l[0] == 0 && l[1] == 0 && l[2] == 0).then_some(l[3])
}

/// One executed step as the forger claims it.
#[derive(Clone, Debug)]
pub struct Step {
    pub pc: Felt,
    pub ap: Felt,
    pub fp: Felt,
    pub word: Felt,
    pub dst_addr: Felt,
    pub dst: Felt,
    pub op0_addr: Felt,
    pub op0: Felt,
    pub op1_addr: Felt,
    pub op1: Felt,
    pub res: Felt,
}

impl Step {
    pub fn flag(&self, i: usize) -> bool {
        (self.flag_bits() >> i) & 1 == 1
    }

    fn flag_bits(&self) -> u16 {
        (felt_u64(&self.word).unwrap_or(0) >> 48) as u16
    }

    fn offsets(&self) -> [u16; 3] {
        let w = felt_u64(&self.word).unwrap_or(0);
        [w as u16, (w >> 16) as u16, (w >> 32) as u16]
    }

    fn accesses(&self) -> [(Felt, Felt); 4] {
        [
            (self.pc, self.word),
            (self.dst_addr, self.dst),
            (self.op0_addr, self.op0),
            (self.op1_addr, self.op1),
        ]
    }
}

/// Chooses the value of a memory cell nothing determines (what a hint would write).
pub type Oracle<'a> = Box<dyn FnMut(&Felt) -> Felt + 'a>;
/// Called before each step, free to change anything (write hint cells, forge reads).
pub type Hook<'a> = Box<dyn FnMut(&mut FreeVm<'a>) + 'a>;

/// A Cairo machine with the AIR's semantics and a cheater's freedoms.
pub struct FreeVm<'a> {
    pub mem: HashMap<Felt, Felt>,
    /// Reads of these cells, once written, return the forged value instead.
    pub forged_reads: HashMap<Felt, Felt>,
    pub pc: Felt,
    pub ap: Felt,
    pub fp: Felt,
    pub steps: Vec<Step>,
    oracle: Oracle<'a>,
    hook: Option<Hook<'a>>,
}

impl<'a> FreeVm<'a> {
    /// Starts where cairo-vm started `exec`: same bytecode, inputs and initial stack. Cells
    /// nothing determines get what cairo-vm had there (so with no hook the run is the honest one).
    pub fn like(exec: &'a Execution) -> Self {
        let n_builtins = exec.builtins.len() as u64;
        let mut mem = HashMap::new();
        for a in 1..exec.initial_ap() + n_builtins {
            if let Some(Some(v)) = exec.memory.get(a as usize) {
                mem.insert(Felt::from(a), *v);
            }
        }
        let oracle = move |a: &Felt| {
            felt_u64(a)
                .and_then(|a| exec.memory.get(a as usize).copied().flatten())
                .unwrap_or_else(Felt::zero)
        };
        Self::with_memory(mem, exec.start_pc, exec.initial_ap(), Box::new(oracle))
    }

    pub fn with_memory(mem: HashMap<Felt, Felt>, pc: u64, ap: u64, oracle: Oracle<'a>) -> Self {
        FreeVm {
            mem,
            forged_reads: HashMap::new(),
            pc: Felt::from(pc),
            ap: Felt::from(ap),
            fp: Felt::from(ap),
            steps: Vec::new(),
            oracle,
            hook: None,
        }
    }

    pub fn hook(mut self, hook: impl FnMut(&mut FreeVm<'a>) + 'a) -> Self {
        self.hook = Some(Box::new(hook));
        self
    }

    fn get(&self, a: &Felt) -> Option<Felt> {
        let v = self.mem.get(a)?;
        Some(*self.forged_reads.get(a).unwrap_or(v))
    }

    fn choose(&mut self, a: &Felt) -> Felt {
        let v = (self.oracle)(a);
        self.mem.insert(*a, v);
        v
    }

    fn value_or_choose(&mut self, a: &Felt, known: Option<Felt>) -> Felt {
        match known {
            Some(v) => {
                self.mem.entry(*a).or_insert(v);
                v
            }
            None => self.choose(a),
        }
    }

    /// Runs until `pc == end_pc` (at most `max_steps`), then records one more step there: the
    /// final state executing `jmp rel 0`, which fills the rows after the last step.
    pub fn run(&mut self, end_pc: u64, max_steps: usize) -> Result<usize, String> {
        let end = Felt::from(end_pc);
        while self.pc != end {
            if self.steps.len() >= max_steps {
                return Err("the forged run does not reach __end__".into());
            }
            if let Some(mut hook) = self.hook.take() {
                hook(self);
                self.hook = Some(hook);
            }
            self.step()?;
        }
        let steps = self.steps.len();
        self.step()?;
        Ok(steps)
    }

    /// One step with the AIR's equations. Unknown operands are deduced as cairo-vm deduces them
    /// (call pushes, assert_eq solving for the missing side) or else chosen by the oracle.
    pub fn step(&mut self) -> Result<(), String> {
        use flags::*;
        let (pc, ap, fp) = (self.pc, self.ap, self.fp);
        let word = self.get(&pc).ok_or("no instruction at pc")?;
        let w = felt_u64(&word).ok_or("the word at pc is not an instruction")?;
        if w >> 63 != 0 {
            return Err("instruction with bit 63 set".into());
        }
        let fl = (w >> 48) as u16;
        let f = |i: usize| (fl >> i) & 1 == 1;
        let ff = |i: usize| Felt::from(((fl >> i) & 1) as u64);
        let off = |i: u64| Felt::from((w >> (16 * i)) & 0xffff) - Felt::from(1u64 << 15);
        let one = Felt::one();
        let size = one + ff(OP1_IMM);
        let dst_addr = if f(DST_REG) { fp } else { ap } + off(0);
        let op0_addr = if f(OP0_REG) { fp } else { ap } + off(1);
        if f(OPCODE_CALL) {
            self.mem.entry(dst_addr).or_insert(fp);
            self.mem.entry(op0_addr).or_insert(pc + size);
        }
        let mut dst = self.get(&dst_addr);
        let mut op0 = self.get(&op0_addr);
        let op1_base_op0 = one - ff(OP1_IMM) - ff(OP1_FP) - ff(OP1_AP);
        if op0.is_none() && op1_base_op0 != Felt::zero() {
            op0 = Some(self.choose(&op0_addr));
        }
        let op1_addr = ff(OP1_IMM) * pc
            + ff(OP1_AP) * ap
            + ff(OP1_FP) * fp
            + op1_base_op0 * op0.unwrap_or_else(Felt::zero)
            + off(2);
        let mut op1 = self.get(&op1_addr);
        if let (true, Some(d)) = (f(OPCODE_ASSERT_EQ), dst) {
            deduce_operands(fl, &d, &mut op0, &mut op1);
        }
        let op0 = self.value_or_choose(&op0_addr, op0);
        let op1 = self.value_or_choose(&op1_addr, op1);
        let computed = ff(RES_ADD) * (op0 + op1)
            + ff(RES_MUL) * op0 * op1
            + (one - ff(RES_ADD) - ff(RES_MUL)) * op1;
        if dst.is_none() && f(OPCODE_ASSERT_EQ) && !f(PC_JNZ) {
            dst = Some(computed);
        }
        let dst = self.value_or_choose(&dst_addr, dst);
        let (res, next_pc) = if f(PC_JNZ) {
            // res is free on a jnz: pick the value that satisfies the pc-update equation.
            let next_pc = if dst != Felt::zero() {
                pc + op1
            } else {
                pc + size
            };
            let regular = one - ff(PC_JUMP_ABS) - ff(PC_JUMP_REL) - ff(PC_JNZ);
            let jumps = ff(PC_JUMP_ABS) + ff(PC_JUMP_REL);
            let rest = regular * (pc + size) + ff(PC_JUMP_REL) * pc;
            let res = jumps
                .inv()
                .map(|inv| Felt::zero() - rest * inv)
                .unwrap_or_else(|_| Felt::zero());
            (res, next_pc)
        } else {
            let regular = one - ff(PC_JUMP_ABS) - ff(PC_JUMP_REL);
            let next_pc = regular * (pc + size)
                + ff(PC_JUMP_ABS) * computed
                + ff(PC_JUMP_REL) * (pc + computed);
            (computed, next_pc)
        };
        self.steps.push(Step {
            pc,
            ap,
            fp,
            word,
            dst_addr,
            dst,
            op0_addr,
            op0,
            op1_addr,
            op1,
            res,
        });
        self.pc = next_pc;
        self.ap = ap + ff(AP_ADD) * res + ff(AP_ADD1) + Felt::from(2u64) * ff(OPCODE_CALL);
        self.fp = ff(OPCODE_RET) * dst
            + ff(OPCODE_CALL) * (ap + Felt::from(2u64))
            + (one - ff(OPCODE_RET) - ff(OPCODE_CALL)) * fp;
        Ok(())
    }
}

/// assert_eq with a known `dst`: solve `res = dst` for the one unknown operand.
fn deduce_operands(fl: u16, dst: &Felt, op0: &mut Option<Felt>, op1: &mut Option<Felt>) {
    let add = (fl >> flags::RES_ADD) & 1 == 1;
    let mul = (fl >> flags::RES_MUL) & 1 == 1;
    match (add, mul, *op0, *op1) {
        (false, false, _, None) => *op1 = Some(*dst),
        (true, false, Some(a), None) => *op1 = Some(dst - a),
        (true, false, None, Some(b)) => *op0 = Some(dst - b),
        (false, true, Some(a), None) => *op1 = a.inv().ok().map(|i| dst * i),
        (false, true, None, Some(b)) => *op0 = b.inv().ok().map(|i| dst * i),
        _ => {}
    }
}

/// How the forger lays out the memory argument.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// The first address of the sorted memory (default: the smallest address used).
    pub sorted_start: Option<Felt>,
    /// `(0, 0)` placeholders in the extra slots (default: as many as the public memory needs
    /// after the run's own `(0, 0)` accesses).
    pub placeholders: Option<usize>,
    /// What fills the extra slots nothing else needs (default: a copy of the first public cell;
    /// `Some((0, 0))` is what the builder did before address 0 was closed).
    pub spare: Option<(Felt, Felt)>,
    /// Smallest log2 trace length.
    pub min_log_rows: u8,
}

/// A forged statement and main trace, ready for `stark::prove`.
pub struct Forged {
    pub statement: Statement,
    pub trace: TraceTable,
}

impl Forged {
    pub fn air(&self) -> CairoAir {
        CairoAir::new(self.statement.clone())
    }
}

/// Lays out a finished [`FreeVm`] run (steps + the final padding step) as a main trace for
/// `program` on `inputs`, with builtin segments at the bases of `exec` (the honest run).
pub fn forge_trace(
    vm: &FreeVm<'_>,
    program: &CompiledProgram,
    inputs: &[Felt],
    exec: &Execution,
    layout: &Layout,
) -> Result<Forged, String> {
    let steps = vm.steps.len() - 1;
    let rc = RangeCheck::read(vm, exec);
    let claim = claim_of(vm, exec, &rc, steps);
    let mut forge = Forge::new(vm, rc, layout);
    let mut log_rows = layout.min_log_rows.max(8);
    while (forge.rc.cells.len() + 1) * RC_BLOCK > 1 << log_rows || 1 << log_rows <= steps {
        log_rows += 1;
    }
    loop {
        let mut claim = claim.clone();
        claim.log_trace_length = log_rows;
        (claim.offset_min, claim.offset_max) = forge.offset_bounds();
        let statement = Statement::new(program, inputs, claim)
            .map_err(|e| format!("{STATEMENT_REFUSED}{e}"))?;
        if let Some(trace) = forge.lay_out(&statement, 1 << log_rows)? {
            return Ok(Forged { statement, trace });
        }
        log_rows += 1;
        if log_rows > 22 {
            return Err("the forged run does not fit 2^22 rows".into());
        }
    }
}

/// Prefix of a [`forge_trace`] error that the verifier's statement check would also give: the
/// forged claim is refused before any STARK work.
pub const STATEMENT_REFUSED: &str = "statement refused: ";

/// Longest builtin segment a forged run may claim (longer claims are cut, and then fail).
const MAX_SEGMENT: u64 = 1 << 12;

struct RangeCheck {
    base: u64,
    cells: Vec<(Felt, Felt)>,
}

impl RangeCheck {
    fn read(vm: &FreeVm<'_>, exec: &Execution) -> Self {
        let Some(segment) = exec.range_check else {
            return RangeCheck {
                base: 0,
                cells: Vec::new(),
            };
        };
        let final_ap = vm.ap;
        let index = exec
            .builtins
            .iter()
            .position(|b| b.to_str() == "range_check");
        let n = exec.builtins.len() as u64;
        let stop = index
            .and_then(|i| vm.mem.get(&(final_ap - Felt::from(n - i as u64))))
            .and_then(felt_u64)
            .unwrap_or(segment.base);
        let stop = stop.clamp(segment.base, segment.base + MAX_SEGMENT);
        let cells = (segment.base..stop)
            .map(|a| {
                let a = Felt::from(a);
                (a, vm.mem.get(&a).copied().unwrap_or_else(Felt::zero))
            })
            .collect();
        RangeCheck {
            base: segment.base,
            cells,
        }
    }
}

fn claim_of(vm: &FreeVm<'_>, exec: &Execution, rc: &RangeCheck, steps: usize) -> Claim {
    let final_ap = felt_u64(&vm.ap).unwrap_or(u64::MAX);
    let n = exec.builtins.len() as u64;
    let output_base = exec.output.map_or(0, |s| s.base);
    let outputs = match exec.builtins.iter().position(|b| b.to_str() == "output") {
        Some(i) => {
            let stop = vm
                .mem
                .get(&Felt::from(final_ap - (n - i as u64)))
                .and_then(felt_u64)
                .unwrap_or(output_base)
                .clamp(output_base, output_base + MAX_SEGMENT);
            (output_base..stop)
                .map(|a| vm.mem.get(&Felt::from(a)).copied().unwrap_or_default())
                .collect()
        }
        None => Vec::new(),
    };
    Claim {
        outputs,
        steps: steps as u64,
        log_trace_length: 0,
        final_ap,
        output_base,
        range_check_base: rc.base,
        range_check_stop: rc.base + rc.cells.len() as u64,
        offset_min: 0,
        offset_max: 0,
        prover_key: None,
    }
}

struct Forge<'v, 'a> {
    vm: &'v FreeVm<'a>,
    rc: RangeCheck,
    layout: Layout,
    steps: usize,
}

impl<'v, 'a> Forge<'v, 'a> {
    fn new(vm: &'v FreeVm<'a>, rc: RangeCheck, layout: &Layout) -> Self {
        Forge {
            vm,
            rc,
            layout: layout.clone(),
            steps: vm.steps.len() - 1,
        }
    }

    fn step_at(&self, row: usize) -> &Step {
        &self.vm.steps[row.min(self.steps)]
    }

    fn offset_bounds(&self) -> (u16, u16) {
        let all = self.vm.steps.iter().flat_map(|s| s.offsets());
        let min = all.clone().min().unwrap_or(0);
        (min, all.max().unwrap_or(0))
    }

    /// The main trace over `n` rows, or `None` if the run does not fit.
    fn lay_out(&mut self, statement: &Statement, n: usize) -> Result<Option<TraceTable>, String> {
        let rc_count = self.rc.cells.len();
        if n <= self.steps || (rc_count + 1) * RC_BLOCK > n {
            return Ok(None);
        }
        let mut columns = vec![vec![Felt::zero(); n]; cols::MAIN_WIDTH];
        self.fill_steps(&mut columns, n)?;
        self.fill_range_check(&mut columns, n);
        let public = statement.public_memory();
        let Some(extra) = self.extra_slots(&public, n) else {
            return Ok(None);
        };
        for (row, (a, v)) in extra.into_iter().enumerate() {
            columns[cols::EXTRA_ADDR][row] = a;
            columns[cols::EXTRA_VAL][row] = v;
        }
        if !self.fill_offsets(&mut columns, n) {
            return Ok(None);
        }
        fill_sorted_memory(&mut columns, &public, n, self.layout.sorted_start)?;
        Ok(Some(TraceTable::new(columns)))
    }

    // A row writes several columns at once: index loops read best.
    #[allow(clippy::needless_range_loop)]
    fn fill_steps(&self, columns: &mut [Vec<Felt>], n: usize) -> Result<(), String> {
        let end_pc = self.vm.steps[self.steps].pc;
        for row in 0..n {
            let s = self.step_at(row);
            let offsets = s.offsets();
            let jnz = s.flag(flags::PC_JNZ);
            for (c, v) in [
                (cols::PC, s.pc),
                (cols::AP, s.ap),
                (cols::FP, s.fp),
                (cols::DST_ADDR, s.dst_addr),
                (cols::DST, s.dst),
                (cols::OP0_ADDR, s.op0_addr),
                (cols::OP0, s.op0),
                (cols::OP1_ADDR, s.op1_addr),
                (cols::OP1, s.op1),
                (cols::RES, s.res),
                (cols::T0, if jnz { s.dst } else { Felt::zero() }),
                (cols::OFF_DST, Felt::from(offsets[0] as u64)),
                (cols::OFF_OP0, Felt::from(offsets[1] as u64)),
                (cols::OFF_OP1, Felt::from(offsets[2] as u64)),
                (cols::DONE, Felt::from((row >= self.steps) as u64)),
            ] {
                columns[c][row] = v;
            }
            for i in 0..15 {
                columns[cols::FLAGS + i][row] = Felt::from(s.flag(i) as u64);
            }
            let taken = jnz && s.dst != Felt::zero();
            if taken {
                columns[cols::JNZ_INV][row] = s.dst.inv().unwrap_or_default();
            }
            if row + 1 == self.steps {
                if taken {
                    return Err("the last step is a taken jnz".into());
                }
                columns[cols::JNZ_INV][row] = (s.pc - end_pc).inv().unwrap_or_default();
            }
        }
        Ok(())
    }

    // A row writes several columns at once: index loops read best.
    #[allow(clippy::needless_range_loop)]
    fn fill_range_check(&self, columns: &mut [Vec<Felt>], n: usize) {
        let rc_count = self.rc.cells.len();
        for (k, (_, value)) in self.rc.cells.iter().enumerate() {
            let limbs = value.representative().limbs;
            let low = ((limbs[2] as u128) << 64) | limbs[3] as u128;
            for i in 0..RC_BLOCK {
                let byte = (low >> (LIMB_BITS as usize * i)) & (LIMB_TABLE as u128 - 1);
                columns[cols::LIMB][k * RC_BLOCK + i] = Felt::from(byte as u64);
                columns[cols::RC_SEL][k * RC_BLOCK + i] = Felt::one();
            }
        }
        for row in 0..n {
            columns[cols::RC_ADDR][row] =
                Felt::from(self.rc.base + (row / RC_BLOCK).min(rc_count) as u64);
        }
        let base = Felt::from(1u64 << LIMB_BITS);
        for row in (0..n).rev() {
            let limb = columns[cols::LIMB][row];
            columns[cols::ACC][row] = if row % RC_BLOCK == RC_BLOCK - 1 {
                limb
            } else {
                limb + base * columns[cols::ACC][row + 1]
            };
        }
        count_limbs(columns);
    }

    /// Extra slot of every row: range-check cells, placeholders, holes, spares.
    fn extra_slots(&self, public: &[(u64, Felt)], n: usize) -> Option<Vec<(Felt, Felt)>> {
        let zero = (Felt::zero(), Felt::zero());
        let mut used: Vec<(Felt, Felt)> = (0..n).flat_map(|r| self.step_at(r).accesses()).collect();
        let own_zeros = used.iter().filter(|c| **c == zero).count();
        let placeholders = self
            .layout
            .placeholders
            .unwrap_or(public.len().saturating_sub(own_zeros));
        let rc_rows: Vec<usize> = (0..self.rc.cells.len()).map(|k| k * RC_BLOCK).collect();
        used.extend(self.rc.cells.iter().copied());
        used.extend(public.iter().map(|(a, v)| (Felt::from(*a), *v)));
        // The run's own (0, 0) accesses count as placeholders: they leave the sorted side.
        used.retain(|c| *c != zero);
        let holes = holes(&used, self.vm, self.layout.sorted_start);
        let spare = self
            .layout
            .spare
            .unwrap_or((Felt::from(public[0].0), public[0].1));
        let mut fillers = std::iter::repeat_n(zero, placeholders).chain(holes);
        let mut extra = vec![spare; n];
        let mut rc = self.rc.cells.iter();
        for (row, slot) in extra.iter_mut().enumerate() {
            if rc_rows.contains(&row) {
                *slot = *rc.next()?;
            } else if let Some(f) = fillers.next() {
                *slot = f;
            }
        }
        fillers.next().is_none().then_some(extra)
    }

    // A row writes several columns at once: index loops read best.
    #[allow(clippy::needless_range_loop)]
    fn fill_offsets(&self, columns: &mut [Vec<Felt>], n: usize) -> bool {
        let mut present = vec![false; 1 << 16];
        for s in &self.vm.steps {
            for o in s.offsets() {
                present[o as usize] = true;
            }
        }
        let (min, max) = self.offset_bounds();
        let gaps: Vec<u64> = (min..=max)
            .filter(|v| !present[*v as usize])
            .map(|v| v as u64)
            .collect();
        if gaps.len() >= n {
            return false;
        }
        let mut fill = gaps.iter();
        for row in 0..n {
            let v = if row == n - 1 {
                max as u64
            } else {
                fill.next().copied().unwrap_or(max as u64)
            };
            columns[cols::RC_FILL][row] = Felt::from(v);
        }
        sort_offsets(columns);
        true
    }
}

/// The sorted 16-bit chain: the three offsets and `rc_fill` of every row, sorted row-major.
fn sort_offsets(columns: &mut [Vec<Felt>]) {
    let mut values: Vec<Felt> = [cols::OFF_DST, cols::OFF_OP0, cols::OFF_OP1, cols::RC_FILL]
        .iter()
        .flat_map(|c| columns[*c].iter().copied())
        .collect();
    values.sort_by_cached_key(|v| v.representative());
    for (k, v) in values.into_iter().enumerate() {
        columns[cols::SORTED_OFF + k % 4][k / 4] = v;
    }
}

/// Multiplicity of each byte among the limbs, on the row holding that table value.
fn count_limbs(columns: &mut [Vec<Felt>]) {
    let mut count = [0u64; LIMB_TABLE];
    for v in &columns[cols::LIMB] {
        if let Some(b) = felt_u64(v).filter(|b| *b < LIMB_TABLE as u64) {
            count[b as usize] += 1;
        }
    }
    for (v, c) in count.iter().enumerate() {
        columns[cols::MULT][v] = Felt::from(*c);
    }
}

/// Re-solves what a cheater derives after changing cells of a trace: the sorted memory (from
/// `start`, see [`Layout::sorted_start`]), the sorted offsets and the limb multiplicities. The
/// result satisfies every permutation and lookup argument the changed cells still allow.
pub fn resolve(
    trace: &mut TraceTable,
    statement: &Statement,
    start: Option<Felt>,
) -> Result<(), String> {
    let n = trace.length();
    let columns = &mut trace.columns;
    fill_sorted_memory(columns, &statement.public_memory(), n, start)?;
    sort_offsets(columns);
    count_limbs(columns);
    Ok(())
}

/// Position of `a` in the forger's address order (the sorted side starts at `start`).
fn key(a: &Felt, start: &Felt) -> u64 {
    felt_u64(&(a - start)).unwrap_or(u64::MAX)
}

fn smallest_address(cells: &[(Felt, Felt)]) -> Felt {
    cells
        .iter()
        .map(|(a, _)| *a)
        .min_by_key(|a| felt_u64(a).unwrap_or(u64::MAX))
        .unwrap_or_else(Felt::one)
}

/// Addresses between the first and the last one used (in the forger's order) that nothing
/// accesses, with the value the forger's memory has there.
fn holes(used: &[(Felt, Felt)], vm: &FreeVm<'_>, start: Option<Felt>) -> Vec<(Felt, Felt)> {
    let start = start.unwrap_or_else(|| smallest_address(used));
    let keys: std::collections::HashSet<u64> = used.iter().map(|(a, _)| key(a, &start)).collect();
    // Addresses far from the rest cannot be joined by holes; the sorted side then jumps there.
    let max = keys
        .iter()
        .copied()
        .filter(|k| *k < 1 << 16)
        .max()
        .unwrap_or(0);
    (0..=max)
        .filter(|k| !keys.contains(k))
        .map(|k| {
            let a = start + Felt::from(k);
            (a, vm.mem.get(&a).copied().unwrap_or_default())
        })
        .collect()
}

/// The sorted memory: every access of the trace plus the public cells, minus `n_pub`
/// placeholders `(0, 0)`, in the forger's address order.
fn fill_sorted_memory(
    columns: &mut [Vec<Felt>],
    public: &[(u64, Felt)],
    n: usize,
    start: Option<Felt>,
) -> Result<(), String> {
    let slot_columns = [
        (cols::PC, None),
        (cols::DST_ADDR, Some(cols::DST)),
        (cols::OP0_ADDR, Some(cols::OP0)),
        (cols::OP1_ADDR, Some(cols::OP1)),
        (cols::EXTRA_ADDR, Some(cols::EXTRA_VAL)),
    ];
    let mut cells: Vec<(Felt, Felt)> = Vec::with_capacity(MEM_PER_ROW * n + public.len());
    for row in 0..n {
        for (a, v) in slot_columns {
            let value = match v {
                Some(v) => columns[v][row],
                None => instruction_word(columns, row),
            };
            cells.push((columns[a][row], value));
        }
    }
    cells.extend(public.iter().map(|(a, v)| (Felt::from(*a), *v)));
    // The placeholders leave the sorted side. If the cheater put too few, the sides cannot
    // balance; drop the highest cells instead, so a trace still exists for the verifier to judge.
    for _ in 0..public.len() {
        let zero = (Felt::zero(), Felt::zero());
        match cells.iter().position(|c| *c == zero) {
            Some(i) => cells.swap_remove(i),
            None => cells.pop().ok_or("no memory cells")?,
        };
    }
    let start = start.unwrap_or_else(|| smallest_address(&cells));
    cells.sort_by_cached_key(|(a, v)| (key(a, &start), v.representative()));
    for (k, (a, v)) in cells.into_iter().enumerate() {
        let (row, j) = (k / MEM_PER_ROW, k % MEM_PER_ROW);
        columns[cols::SORTED_MEM + 2 * j][row] = a;
        columns[cols::SORTED_MEM + 2 * j + 1][row] = v;
    }
    Ok(())
}

fn instruction_word(columns: &[Vec<Felt>], row: usize) -> Felt {
    let mut word = Felt::zero();
    for i in (0..15).rev() {
        word = word.double() + columns[cols::FLAGS + i][row];
    }
    columns[cols::OFF_DST][row]
        + Felt::from(1u64 << 16) * columns[cols::OFF_OP0][row]
        + Felt::from(1u64 << 32) * columns[cols::OFF_OP1][row]
        + Felt::from(1u64 << 48) * word
}

/// A constraint a trace breaks, by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Violation {
    Transition(&'static str),
    Boundary(usize),
}

/// Every constraint `trace` breaks for `air` under `challenges` (the auxiliary columns are
/// built from the main trace as the prover builds them).
pub fn violations(air: &CairoAir, main: &TraceTable, challenges: &[Felt]) -> Vec<Violation> {
    violations_with_aux(
        air,
        main,
        &air.build_aux_trace(main, challenges),
        challenges,
    )
}

/// Every constraint the main and auxiliary traces break, by name.
pub fn violations_with_aux(
    air: &CairoAir,
    main: &TraceTable,
    aux: &TraceTable,
    challenges: &[Felt],
) -> Vec<Violation> {
    let columns: Vec<&Vec<Felt>> = main.columns.iter().chain(&aux.columns).collect();
    let n = air.trace_length();
    let constraints = air.transition_constraints();
    let names = cairo_stark::air::constraint_names();
    let periodic = air.periodic_columns();
    let mut out = vec![Felt::zero(); constraints.len()];
    let mut found = std::collections::BTreeSet::new();
    for row in 0..n {
        let current: Vec<Felt> = columns.iter().map(|c| c[row]).collect();
        let next: Vec<Felt> = columns.iter().map(|c| c[(row + 1) % n]).collect();
        let p: Vec<Felt> = periodic.iter().map(|c| c[row % c.len()]).collect();
        let frame = Frame {
            current: &current,
            next: &next,
        };
        air.evaluate_transition(&frame, &p, challenges, &mut out);
        for (j, v) in out.iter().enumerate() {
            if row + constraints[j].end_exemptions < n && *v != Felt::zero() {
                found.insert(Violation::Transition(names[j]));
            }
        }
    }
    for (i, b) in air.boundary_constraints(challenges).iter().enumerate() {
        if columns[b.column][b.row] != b.value {
            found.insert(Violation::Boundary(i));
        }
    }
    found.into_iter().collect()
}

/// The constraints the flag rules of cairo-vm's decoder added (`tests/flags.rs` shows each).
pub const FLAG_RULES: [&str; 13] = [
    "one op1 source",
    "one res logic",
    "one pc update",
    "one ap update",
    "one opcode",
    "jnz uses no res",
    "immediate follows its instruction",
    "call writes [ap]",
    "call writes [ap + 1]",
    "call flags",
    "ret reads [fp - 2]",
    "ret jumps to [fp - 1]",
    "ret flags",
];

/// xorshift64*: tiny, seeded, reproducible randomness for the search and the fuzzer.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-enough below `n` (at least 1).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Fixed pseudo-random challenges for [`violations`].
pub fn some_challenges() -> Vec<Felt> {
    [
        0x1234_5678_9abc_u64,
        0x0fed_cba9_8765,
        0x1357_9bdf_2468,
        0x2468_ace0_1357,
    ]
    .iter()
    .map(|&x| Felt::from(x).pow(5u64) + Felt::from(x))
    .collect()
}

/// The Cairo AIR with one constraint dropped: what a verifier missing that constraint accepts.
pub struct Weakened {
    inner: CairoAir,
    transitions: Vec<usize>,
    boundary: Option<(usize, BoundaryEdit)>,
}

/// What a weakened verifier believes about one boundary constraint.
#[derive(Clone, Copy)]
enum BoundaryEdit {
    /// It does not check it.
    Drop,
    /// It checks the value plus one.
    Shift,
}

impl Weakened {
    pub fn dropping_transitions(inner: CairoAir, indices: Vec<usize>) -> Self {
        Weakened {
            inner,
            transitions: indices,
            boundary: None,
        }
    }

    pub fn dropping_boundary(inner: CairoAir, index: usize) -> Self {
        Weakened {
            inner,
            transitions: Vec::new(),
            boundary: Some((index, BoundaryEdit::Drop)),
        }
    }

    /// A verifier that believes the boundary value at (`column`, `row`) is one more.
    pub fn shifting_boundary(inner: CairoAir, column: usize, row: usize) -> Self {
        let index = inner
            .boundary_constraints(&some_challenges())
            .iter()
            .position(|b| b.column == column && b.row == row)
            .expect("no such boundary constraint");
        Weakened {
            inner,
            transitions: Vec::new(),
            boundary: Some((index, BoundaryEdit::Shift)),
        }
    }
}

impl Air for Weakened {
    fn trace_length(&self) -> usize {
        self.inner.trace_length()
    }
    fn main_width(&self) -> usize {
        self.inner.main_width()
    }
    fn aux_width(&self) -> usize {
        self.inner.aux_width()
    }
    fn num_challenges(&self) -> usize {
        self.inner.num_challenges()
    }
    fn transition_constraints(&self) -> &[stark::TransitionConstraint] {
        self.inner.transition_constraints()
    }
    fn periodic_columns(&self) -> Vec<Vec<Felt>> {
        self.inner.periodic_columns()
    }
    fn evaluate_transition(
        &self,
        frame: &Frame<'_>,
        periodic: &[Felt],
        challenges: &[Felt],
        out: &mut [Felt],
    ) {
        self.inner
            .evaluate_transition(frame, periodic, challenges, out);
        for &i in &self.transitions {
            out[i] = Felt::zero();
        }
    }
    fn boundary_constraints(&self, challenges: &[Felt]) -> Vec<stark::BoundaryConstraint> {
        let mut all = self.inner.boundary_constraints(challenges);
        match self.boundary {
            Some((i, BoundaryEdit::Drop)) => {
                all.remove(i);
            }
            Some((i, BoundaryEdit::Shift)) => all[i].value += Felt::one(),
            None => {}
        }
        all
    }
    fn public_input_bytes(&self) -> Vec<u8> {
        self.inner.public_input_bytes()
    }
}

impl AuxTraceBuilder for Weakened {
    fn build_aux_trace(&self, main: &TraceTable, challenges: &[Felt]) -> TraceTable {
        self.inner.build_aux_trace(main, challenges)
    }
}

/// Encoding of `jmp rel 0`, what proof mode puts at `__end__` (the library's own constant).
#[allow(unused_imports)] // not every test binary that includes this module uses it
pub use cairo_stark::JMP_REL_0;

/// An instruction word from signed offsets and flag positions.
pub fn ins(off0: i32, off1: i32, off2: i32, set: &[usize]) -> u64 {
    let biased = |o: i32| (o + (1 << 15)) as u64;
    let flags: u64 = set.iter().map(|f| 1u64 << f).sum();
    biased(off0) | biased(off1) << 16 | biased(off2) << 32 | flags << 48
}

/// Hand-made bytecode (`__start__` at offset 0, `__end__` at `end`, which must hold `jmp rel 0`)
/// as a compiled program without builtins or inputs, and the state cairo-vm would start it from:
/// the bytecode, `[n = 0]` and the proof-mode initial stack.
pub fn hand_made(code: &[Felt], end: usize) -> (CompiledProgram, Execution) {
    let path = format!(
        "{}/tests/programs/no_inputs.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    json["data"] = code.iter().map(hex).collect();
    json["builtins"] = serde_json::json!([]);
    json["hints"] = serde_json::json!({});
    let ids = &mut json["identifiers"];
    ids["__main__.__start__"]["pc"] = 0.into();
    ids["__main__.__end__"]["pc"] = end.into();
    ids["__main__.main"]["pc"] = 0.into();
    let program = CompiledProgram::parse(&serde_json::to_vec(&json).unwrap()).unwrap();
    let bytecode = program.bytecode();
    let execution_base = bytecode.len() as u64 + 2;
    let mut memory = vec![None];
    memory.extend(bytecode.iter().map(|w| Some(*w)));
    memory.extend([
        Some(Felt::zero()),
        Some(Felt::from(execution_base + 2)),
        Some(Felt::zero()),
    ]);
    let exec = Execution {
        bytecode,
        inputs: Vec::new(),
        builtins: Vec::new(),
        trace: Vec::new(),
        memory,
        steps: 0,
        execution_base,
        start_pc: 1,
        end_pc: 1 + end as u64,
        output: None,
        range_check: None,
        outputs: Vec::new(),
    };
    (program, exec)
}

/// Hex of a field element, as compiled programs write their `data`.
pub fn hex(x: &Felt) -> String {
    let l = x.representative().limbs;
    format!("0x{:016x}{:016x}{:016x}{:016x}", l[0], l[1], l[2], l[3])
}
