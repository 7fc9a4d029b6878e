//! The Cairo AIR: one Cairo step per trace row (Cairo paper, eprint 2021/1063, section 9).
//!
//! # Columns
//! Main trace (53 columns), one row per step; rows after the last step repeat the final state,
//! which executes `__end__: jmp rel 0` and so is itself a valid step:
//! - registers `pc, ap, fp`;
//! - operands `dst_addr, dst, op0_addr, op0, op1_addr, op1`, the result `res`,
//!   `t0 = f_jnz·dst` and `jnz_inv` (the inverse of `dst` on a taken `jnz`, and of
//!   `pc − end_pc` on the last step, see `done`);
//! - the 15 instruction flags `f0..f14` (bits; see `FLAG_BIT`) and the three biased 16-bit offsets. The
//!   instruction word is not a column: it is the linear expression
//!   `off_dst + 2^16·off_op0 + 2^32·off_op1 + 2^48·Σ 2^i f_i`, used directly as the value of the
//!   instruction fetch in the memory argument. Flags being bits and offsets being 16-bit
//!   (range-checked) makes this decoding unique, and forces the 16th flag bit to 0;
//! - `extra_addr, extra_val`: a fifth memory access per row. It carries the range-check
//!   builtin cells (on the first row of a used 16-row block), the `(0,0)` placeholders of the
//!   public memory, and fills memory holes so the sorted addresses are continuous; the honest
//!   builder fills the slots left over with copies of address 1 (the first program word);
//! - `rc_fill`: a free 16-bit value per row, filling gaps of the offsets' sorted chain;
//! - range-check builtin, in blocks of 16 rows: `limb` (one 8-bit limb per row), `acc` (Horner
//!   accumulation of a block's 16 limbs, so `acc` on a block's first row is
//!   `Σ 2^(8i)·limb_i < 2^128`), `rc_addr` (address of the next builtin cell) and `rc_sel`
//!   (block is used). Limbs are 8-bit so that their range check needs no sorted chain with
//!   fillers (128-bit values spread 16-bit limbs over the whole range, which would force
//!   2^16-row traces even for tiny programs): a LogUp argument against the public table
//!   0..255 (a periodic column) with a multiplicity column `mult` proves every limb is a byte;
//! - `done`: 0 before row `steps`, 1 from there on (boundary constraints at rows `steps − 1`
//!   and `steps`; pc sits at `__end__` wherever `done ≠ 0`). On the row where it changes, `pc ≠ end_pc`
//!   (`jnz_inv` holds the inverse; that row executes main's `ret`, never a `jnz`). Since
//!   `__end__` is `jmp rel 0` (public bytecode), a run that reached `__end__` earlier would still
//!   be there: so the run reaches `__end__` for the first time exactly at row `steps`, which
//!   makes the step count unique;
//! - the sorted memory accesses `(a'_k, v'_k)` for k = 0..5 (10 columns, read row-major);
//! - the sorted 16-bit values of the offsets chain: 4 columns (row-major), continuous from
//!   `offset_min` to `offset_max` (public, below 2^16).
//!
//! Auxiliary trace (6 columns, challenges `z, α, z_rc, z_limb`):
//! - running products `c0..c4`. Each row multiplies nine ratios `u/s`: memory accesses
//!   `(z − (a + α·v))` unsorted over sorted (5), and 16-bit values `(z_rc − x)` unsorted
//!   (3 offsets, `rc_fill`) over sorted (4). `c0` is the product of all previous rows
//!   (`c0[0] = 1`), `c1..c4` add two ratios each, and the last ratio (`rc_fill/sorted_off3`)
//!   carries into the next row's `c0`. That ratio is 1 on the final row (boundary constraints pin
//!   both sides to `offset_max`), so `c4` on the last row is the whole product, which must equal
//!   `z^n_pub / Π_public (z − (a + α·v))`: the unsorted side holds `(0,0)` placeholders where
//!   the sorted side holds the public cells, which the verifier rebuilds itself;
//! - `logup`, a running sum of `1/(z_limb − limb) − mult/(z_limb − table)`; the constraint holds
//!   cyclically on every row, so the sum over the trace is zero: every limb is in 0..255.
//!
//! # Constraints
//! Transition constraints of degree at most 3, each declared with its name, degree and
//! exemption where it is evaluated (see `transition` and [`constraint_specs`]), and the
//! boundary constraints of `boundary_constraints`. Among them:
//! - the memory anchor: the first sorted address is 1. With the steps of 0 or 1, the sorted
//!   addresses are then exactly `1..=M` for some `M < 5·rows`, so no access can sit at address 0
//!   or at a "negative" address p − k, and the only unsorted accesses to address 0 are the
//!   `n_pub` placeholders;
//! - the flag rules of cairo-vm's decoder: each flag group is one-hot, a `jnz` neither computes
//!   nor stores `res`, an immediate sits right after its instruction, and `call` and `ret` use
//!   their fixed operands (`call`: `[ap]`, `[ap + 1]`, `ap += 2`; `ret`: `[fp − 2]`, `jmp abs
//!   [fp − 1]`). Only instructions cairo-vm would run can be proven.
//!
//! Why these constraints suffice, argument by argument, is written down in `SOUNDNESS.md`.

mod trace;

pub use trace::{build_main_trace, TraceError};

use stark::{Air, AuxTraceBuilder, BoundaryConstraint, Frame, TraceTable, TransitionConstraint};

use crate::statement::Statement;
use crate::Felt;

/// Column indices of the main trace.
pub mod cols {
    pub const PC: usize = 0;
    pub const AP: usize = 1;
    pub const FP: usize = 2;
    pub const DST_ADDR: usize = 3;
    pub const DST: usize = 4;
    pub const OP0_ADDR: usize = 5;
    pub const OP0: usize = 6;
    pub const OP1_ADDR: usize = 7;
    pub const OP1: usize = 8;
    pub const RES: usize = 9;
    pub const T0: usize = 10;
    pub const JNZ_INV: usize = 11;
    /// Flags `f0..f14` occupy `FLAGS..FLAGS + 15`.
    pub const FLAGS: usize = 12;
    pub const OFF_DST: usize = 27;
    pub const OFF_OP0: usize = 28;
    pub const OFF_OP1: usize = 29;
    pub const EXTRA_ADDR: usize = 30;
    pub const EXTRA_VAL: usize = 31;
    pub const RC_FILL: usize = 32;
    pub const LIMB: usize = 33;
    pub const ACC: usize = 34;
    pub const RC_ADDR: usize = 35;
    pub const RC_SEL: usize = 36;
    pub const DONE: usize = 37;
    /// Sorted memory pairs: address `SORTED_MEM + 2k`, value `SORTED_MEM + 2k + 1`, k < 5.
    pub const SORTED_MEM: usize = 38;
    /// Sorted offsets chain: 4 columns.
    pub const SORTED_OFF: usize = 48;
    /// How many limbs equal the row's table value (`row mod 256`).
    pub const MULT: usize = 52;
    pub const MAIN_WIDTH: usize = 53;
    /// Auxiliary running products (indices in the joint main+aux numbering).
    pub const PROD: usize = 53;
    /// Auxiliary LogUp running sum for the limbs.
    pub const LOGUP: usize = 58;
    pub const AUX_WIDTH: usize = 6;
}

/// Flag bit positions (Cairo paper, section 4.5).
pub mod flags {
    pub const DST_REG: usize = 0;
    pub const OP0_REG: usize = 1;
    pub const OP1_IMM: usize = 2;
    pub const OP1_FP: usize = 3;
    pub const OP1_AP: usize = 4;
    pub const RES_ADD: usize = 5;
    pub const RES_MUL: usize = 6;
    pub const PC_JUMP_ABS: usize = 7;
    pub const PC_JUMP_REL: usize = 8;
    pub const PC_JNZ: usize = 9;
    pub const AP_ADD: usize = 10;
    pub const AP_ADD1: usize = 11;
    pub const OPCODE_CALL: usize = 12;
    pub const OPCODE_RET: usize = 13;
    pub const OPCODE_ASSERT_EQ: usize = 14;
}

pub use crate::layout::RC_BLOCK;
/// Bits per range-check limb; the LogUp table holds `0..2^LIMB_BITS`.
pub const LIMB_BITS: u32 = 8;
pub const LIMB_TABLE: usize = 1 << LIMB_BITS;
/// Memory accesses per row (instruction, dst, op0, op1, extra).
pub const MEM_PER_ROW: usize = 5;

/// One transition constraint, declared where it is evaluated (see `transition`): its name, its
/// degree in the trace cells and how many final rows it skips. The list the STARK engine sees is
/// recorded from the evaluation itself, so a constraint's shape cannot drift from its expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    pub name: &'static str,
    pub degree: usize,
    pub end_exemptions: usize,
}

const fn spec(name: &'static str, degree: usize, end_exemptions: usize) -> Spec {
    Spec {
        name,
        degree,
        end_exemptions,
    }
}

/// Where [`transition`] delivers each constraint.
trait Sink {
    fn put(&mut self, spec: Spec, value: Felt);
}

/// Writes the values in order, for the prover and the verifier.
struct Values<'a> {
    out: &'a mut [Felt],
    k: usize,
}

impl Sink for Values<'_> {
    #[inline(always)]
    fn put(&mut self, _: Spec, value: Felt) {
        self.out[self.k] = value;
        self.k += 1;
    }
}

/// Records the declarations in order.
struct Specs(Vec<Spec>);

impl Sink for Specs {
    fn put(&mut self, spec: Spec, _: Felt) {
        self.0.push(spec);
    }
}

/// Every transition constraint's declaration, in evaluation order.
pub fn constraint_specs() -> Vec<Spec> {
    let width = cols::MAIN_WIDTH + cols::AUX_WIDTH;
    let zeros = vec![Felt::zero(); width];
    let frame = Frame {
        current: &zeros,
        next: &zeros,
    };
    let mut specs = Specs(Vec::new());
    transition(
        &Constants::new(),
        &Felt::zero(),
        &frame,
        &[Felt::zero(); 3],
        &[Felt::zero(); 4],
        &mut specs,
    );
    specs.0
}

/// The names of the transition constraints, in evaluation order.
pub fn constraint_names() -> Vec<&'static str> {
    constraint_specs().into_iter().map(|s| s.name).collect()
}

/// The Cairo AIR for one [`Statement`].
pub struct CairoAir {
    statement: Statement,
    public_memory: Vec<(u64, Felt)>,
    constraints: Vec<TransitionConstraint>,
    end_pc: Felt,
    k: Constants,
}

/// Field constants of the constraints, converted to Montgomery form once (the prover evaluates
/// the constraints on every point of the low-degree extension).
struct Constants {
    two: Felt,
    bias: Felt,
    two16: Felt,
    two32: Felt,
    two48: Felt,
    limb_base: Felt,
}

impl Constants {
    fn new() -> Self {
        Self {
            two: Felt::from(2u64),
            bias: Felt::from(1u64 << 15),
            two16: Felt::from(1u64 << 16),
            two32: Felt::from(1u64 << 32),
            two48: Felt::from(1u64 << 48),
            limb_base: Felt::from(1u64 << LIMB_BITS),
        }
    }
}

impl CairoAir {
    pub fn new(statement: Statement) -> Self {
        let public_memory = statement.public_memory();
        let constraints = constraint_specs()
            .into_iter()
            .map(|s| TransitionConstraint {
                degree: s.degree,
                end_exemptions: s.end_exemptions,
            })
            .collect();
        let end_pc = Felt::from(statement.end_pc);
        Self {
            statement,
            public_memory,
            constraints,
            end_pc,
            k: Constants::new(),
        }
    }

    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// `z^n_pub / Π (z − (a + α·v))` over the public memory: the value the memory product must
    /// reach. `None` if a factor vanishes (negligible probability for random challenges).
    fn public_memory_product(&self, z: &Felt, alpha: &Felt) -> Option<Felt> {
        let mut denominator = Felt::one();
        for (a, v) in &self.public_memory {
            denominator *= z - (Felt::from(*a) + alpha * v);
        }
        let numerator = z.pow(self.public_memory.len() as u64);
        denominator.inv().ok().map(|inv| numerator * inv)
    }
}

/// The instruction word as a linear expression of the decoded columns.
#[inline]
fn instruction_with(row: &[Felt], k: &Constants) -> Felt {
    let mut flags_word = row[cols::FLAGS + 14];
    for i in (0..14).rev() {
        flags_word = flags_word.double() + row[cols::FLAGS + i];
    }
    row[cols::OFF_DST]
        + k.two16 * row[cols::OFF_OP0]
        + k.two32 * row[cols::OFF_OP1]
        + k.two48 * flags_word
}

pub(crate) fn instruction(row: &[Felt]) -> Felt {
    instruction_with(row, &Constants::new())
}

impl Air for CairoAir {
    fn trace_length(&self) -> usize {
        self.statement.trace_length()
    }

    fn main_width(&self) -> usize {
        cols::MAIN_WIDTH
    }

    fn aux_width(&self) -> usize {
        cols::AUX_WIDTH
    }

    fn num_challenges(&self) -> usize {
        4
    }

    fn transition_constraints(&self) -> &[TransitionConstraint] {
        &self.constraints
    }

    /// `[is_first_in_block, is_last_in_block]` for the range-check blocks, and the limb table
    /// `0..256`.
    fn periodic_columns(&self) -> Vec<Vec<Felt>> {
        let mut first = vec![Felt::zero(); RC_BLOCK];
        let mut last = vec![Felt::zero(); RC_BLOCK];
        first[0] = Felt::one();
        last[RC_BLOCK - 1] = Felt::one();
        let table = (0..LIMB_TABLE as u64).map(Felt::from).collect();
        vec![first, last, table]
    }

    fn evaluate_transition(
        &self,
        frame: &Frame<'_>,
        periodic: &[Felt],
        challenges: &[Felt],
        out: &mut [Felt],
    ) {
        let mut values = Values { out, k: 0 };
        transition(
            &self.k,
            &self.end_pc,
            frame,
            periodic,
            challenges,
            &mut values,
        );
        debug_assert_eq!(values.k, self.constraints.len());
    }

    fn boundary_constraints(&self, challenges: &[Felt]) -> Vec<BoundaryConstraint> {
        use cols::*;
        let s = &self.statement;
        let c = &s.claim;
        let last = self.trace_length() - 1;
        let steps = c.steps as usize;
        let b = |column: usize, row: usize, value: Felt| BoundaryConstraint { column, row, value };
        let initial_ap = Felt::from(s.initial_ap());
        let a_max = Felt::from(c.offset_max as u64);
        // With challenges that make a public factor vanish no proof can be made; pin the product
        // to a value no honest trace reaches rather than panic.
        let product = challenges
            .get(0..2)
            .and_then(|zc| self.public_memory_product(&zc[0], &zc[1]))
            .unwrap_or_else(Felt::zero);
        vec![
            b(PC, 0, Felt::from(s.start_pc)),
            b(AP, 0, initial_ap),
            b(FP, 0, initial_ap),
            b(AP, steps, Felt::from(c.final_ap)),
            b(DONE, steps - 1, Felt::zero()),
            b(DONE, steps, Felt::one()),
            b(RC_ADDR, 0, Felt::from(c.range_check_base)),
            b(RC_ADDR, last, Felt::from(c.range_check_stop)),
            b(RC_SEL, last, Felt::zero()),
            b(SORTED_MEM, 0, Felt::one()),
            b(SORTED_OFF, 0, Felt::from(c.offset_min as u64)),
            b(SORTED_OFF + 3, last, a_max),
            b(RC_FILL, last, a_max),
            b(PROD, 0, Felt::one()),
            b(PROD + 4, last, product),
        ]
    }

    fn public_input_bytes(&self) -> Vec<u8> {
        self.statement.to_bytes()
    }
}

impl AuxTraceBuilder for CairoAir {
    fn build_aux_trace(&self, main: &TraceTable, challenges: &[Felt]) -> TraceTable {
        trace::build_aux_trace(main, challenges)
    }
}

/// The bit rule of every flag but `opcode_ret`. A ret flag outside {0, 1} is already impossible:
/// with the other flags bits, "one opcode" and the call/ret rules leave only `ret = −1` with
/// `assert_eq`, which needs `[fp − 2] = [fp − 1]` in a frame no run can build (SOUNDNESS.md, "The
/// flag rules"). Public so that the attack on each rule can name it.
pub const FLAG_BIT: [(usize, &str); 14] = [
    (flags::DST_REG, "flag dst_reg is a bit"),
    (flags::OP0_REG, "flag op0_reg is a bit"),
    (flags::OP1_IMM, "flag op1_imm is a bit"),
    (flags::OP1_FP, "flag op1_fp is a bit"),
    (flags::OP1_AP, "flag op1_ap is a bit"),
    (flags::RES_ADD, "flag res_add is a bit"),
    (flags::RES_MUL, "flag res_mul is a bit"),
    (flags::PC_JUMP_ABS, "flag pc_jump_abs is a bit"),
    (flags::PC_JUMP_REL, "flag pc_jump_rel is a bit"),
    (flags::PC_JNZ, "flag pc_jnz is a bit"),
    (flags::AP_ADD, "flag ap_add is a bit"),
    (flags::AP_ADD1, "flag ap_add1 is a bit"),
    (flags::OPCODE_CALL, "flag opcode_call is a bit"),
    (flags::OPCODE_ASSERT_EQ, "flag opcode_assert_eq is a bit"),
];

/// Every transition constraint, in order (the order is the STARK's constraint numbering).
#[inline(always)]
fn transition<S: Sink>(
    k: &Constants,
    end_pc: &Felt,
    frame: &Frame<'_>,
    periodic: &[Felt],
    challenges: &[Felt],
    sink: &mut S,
) {
    let (c, n) = (frame.current, frame.next);
    flag_constraints(k, c, sink);
    step_constraints(k, c, n, sink);
    sorted_constraints(c, n, sink);
    range_check_constraints(k, c, n, periodic, sink);
    done_constraints(end_pc, c, n, sink);
    argument_constraints(k, c, n, periodic, challenges, sink);
}

/// Flags are bits; each flag group is one-hot (at most one set); and only the combinations
/// cairo-vm's decoder accepts are possible (`jnz` never computes or stores `res`, `call` and
/// `ret` have their fixed operands, an immediate follows its instruction).
#[inline(always)]
fn flag_constraints<S: Sink>(k: &Constants, c: &[Felt], sink: &mut S) {
    use cols::*;
    use flags::*;
    let one = Felt::one();
    let f = |i: usize| c[FLAGS + i];
    for (i, name) in FLAG_BIT {
        sink.put(spec(name, 2, 0), f(i) * (f(i) - one));
    }
    let at_most_one = |s: Felt| s * (s - one);
    sink.put(
        spec("one op1 source", 2, 0),
        at_most_one(f(OP1_IMM) + f(OP1_FP) + f(OP1_AP)),
    );
    sink.put(
        spec("one res logic", 2, 0),
        at_most_one(f(RES_ADD) + f(RES_MUL)),
    );
    sink.put(
        spec("one pc update", 2, 0),
        at_most_one(f(PC_JUMP_ABS) + f(PC_JUMP_REL) + f(PC_JNZ)),
    );
    sink.put(
        spec("one ap update", 2, 0),
        at_most_one(f(AP_ADD) + f(AP_ADD1)),
    );
    sink.put(
        spec("one opcode", 2, 0),
        at_most_one(f(OPCODE_CALL) + f(OPCODE_RET) + f(OPCODE_ASSERT_EQ)),
    );
    // Flags are bits, so a sum of them vanishes only when each does.
    sink.put(
        spec("jnz uses no res", 2, 0),
        f(PC_JNZ) * (f(RES_ADD) + f(RES_MUL) + f(AP_ADD) + f(OPCODE_ASSERT_EQ)),
    );
    let off = |col: usize| c[col] - k.bias;
    sink.put(
        spec("immediate follows its instruction", 2, 0),
        f(OP1_IMM) * (off(OFF_OP1) - one),
    );
    sink.put(
        spec("call writes [ap]", 2, 0),
        f(OPCODE_CALL) * off(OFF_DST),
    );
    sink.put(
        spec("call writes [ap + 1]", 2, 0),
        f(OPCODE_CALL) * (off(OFF_OP0) - one),
    );
    sink.put(
        spec("call flags", 2, 0),
        f(OPCODE_CALL) * (f(DST_REG) + f(OP0_REG) + f(AP_ADD) + f(AP_ADD1)),
    );
    sink.put(
        spec("ret reads [fp - 2]", 2, 0),
        f(OPCODE_RET) * (off(OFF_DST) + k.two),
    );
    sink.put(
        spec("ret jumps to [fp - 1]", 2, 0),
        f(OPCODE_RET) * (off(OFF_OP1) + one),
    );
    // All four flags set and no res logic: each term is a bit, so the sum is 4 only then.
    sink.put(
        spec("ret flags", 2, 0),
        f(OPCODE_RET)
            * (f(PC_JUMP_ABS) + f(DST_REG) + f(OP1_FP)
                - f(RES_ADD)
                - f(RES_MUL)
                - Felt::from(3u64)),
    );
}

/// One Cairo step: operand addresses, `res`, and the register updates (Cairo paper, 4.5).
#[inline(always)]
fn step_constraints<S: Sink>(k: &Constants, c: &[Felt], n: &[Felt], sink: &mut S) {
    use cols::*;
    use flags::*;
    let one = Felt::one();
    let two = k.two;
    let f = |i: usize| &c[FLAGS + i];
    let (pc, ap, fp) = (&c[PC], &c[AP], &c[FP]);
    let (dst, op0, op1, res) = (&c[DST], &c[OP0], &c[OP1], &c[RES]);
    let off_dst = c[OFF_DST] - k.bias;
    let off_op0 = c[OFF_OP0] - k.bias;
    let off_op1 = c[OFF_OP1] - k.bias;
    // dst = (fp or ap) + off_dst; op0 likewise; op1 from pc (immediate), fp, ap or op0.
    sink.put(
        spec("dst address", 2, 0),
        f(DST_REG) * (fp - ap) + ap + off_dst - c[DST_ADDR],
    );
    sink.put(
        spec("op0 address", 2, 0),
        f(OP0_REG) * (fp - ap) + ap + off_op0 - c[OP0_ADDR],
    );
    let op1_base_op0 = one - f(OP1_IMM) - f(OP1_FP) - f(OP1_AP);
    sink.put(
        spec("op1 address", 2, 0),
        f(OP1_IMM) * pc + f(OP1_AP) * ap + f(OP1_FP) * fp + op1_base_op0 * op0 + off_op1
            - c[OP1_ADDR],
    );
    // res = op1, op0 + op1 or op0·op1 (unconstrained on jnz, where res is unused).
    let res_op1 = one - f(RES_ADD) - f(RES_MUL) - f(PC_JNZ);
    sink.put(
        spec("res", 3, 0),
        (one - f(PC_JNZ)) * res
            - (f(RES_ADD) * (op0 + op1) + f(RES_MUL) * op0 * op1 + res_op1 * op1),
    );
    let t0 = &c[T0];
    sink.put(spec("t0 = jnz · dst", 2, 0), t0 - f(PC_JNZ) * dst);
    // A jnz with dst ≠ 0 (t0·jnz_inv = 1) jumps by op1, otherwise falls through; other
    // instructions go to pc + size, res, or pc + res.
    let size = one + f(OP1_IMM);
    let next_pc = &n[PC];
    sink.put(
        spec("jnz fall-through", 3, 1),
        (t0 * c[JNZ_INV] - f(PC_JNZ)) * (next_pc - (pc + size)),
    );
    let regular = one - f(PC_JUMP_ABS) - f(PC_JUMP_REL) - f(PC_JNZ);
    sink.put(
        spec("pc update", 2, 1),
        t0 * (next_pc - (pc + op1)) + (one - f(PC_JNZ)) * next_pc
            - (regular * (pc + size) + f(PC_JUMP_ABS) * res + f(PC_JUMP_REL) * (pc + res)),
    );
    sink.put(
        spec("ap update", 2, 1),
        n[AP] - (ap + f(AP_ADD) * res + f(AP_ADD1) + two * f(OPCODE_CALL)),
    );
    sink.put(
        spec("fp update", 2, 1),
        n[FP]
            - (f(OPCODE_RET) * dst
                + f(OPCODE_CALL) * (ap + two)
                + (one - f(OPCODE_RET) - f(OPCODE_CALL)) * fp),
    );
    // call pushes [ap] = fp, [ap + 1] = return pc; assert_eq checks res = dst.
    sink.put(spec("call pushes fp", 2, 0), f(OPCODE_CALL) * (dst - fp));
    sink.put(
        spec("call pushes the return pc", 2, 0),
        f(OPCODE_CALL) * (op0 - (pc + size)),
    );
    sink.put(spec("assert_eq", 2, 0), f(OPCODE_ASSERT_EQ) * (res - dst));
}

const SORTED_MEMORY: [[&str; 2]; MEM_PER_ROW] = [
    [
        "sorted address 0→1 steps by 0 or 1",
        "sorted value 0→1 is a function",
    ],
    [
        "sorted address 1→2 steps by 0 or 1",
        "sorted value 1→2 is a function",
    ],
    [
        "sorted address 2→3 steps by 0 or 1",
        "sorted value 2→3 is a function",
    ],
    [
        "sorted address 3→4 steps by 0 or 1",
        "sorted value 3→4 is a function",
    ],
    [
        "sorted address 4→next row steps by 0 or 1",
        "sorted value 4→next row is a function",
    ],
];

const SORTED_OFFSETS: [&str; 4] = [
    "sorted offset 0→1 steps by 0 or 1",
    "sorted offset 1→2 steps by 0 or 1",
    "sorted offset 2→3 steps by 0 or 1",
    "sorted offset 3→next row steps by 0 or 1",
];

/// The sorted sides: memory addresses and the 16-bit chain step by 0 or 1 (row-major, the last
/// column carrying into the next row, so exempt on the last row); equal addresses carry equal
/// values.
#[inline(always)]
fn sorted_constraints<S: Sink>(c: &[Felt], n: &[Felt], sink: &mut S) {
    use cols::*;
    let one = Felt::one();
    for (j, [address, value]) in SORTED_MEMORY.iter().enumerate() {
        let here = SORTED_MEM + 2 * j;
        let (next_row, next) = if j + 1 < MEM_PER_ROW {
            (c, here + 2)
        } else {
            (n, SORTED_MEM)
        };
        let exempt = usize::from(j + 1 == MEM_PER_ROW);
        let da = next_row[next] - c[here];
        let dv = next_row[next + 1] - c[here + 1];
        sink.put(spec(address, 2, exempt), da * (da - one));
        sink.put(spec(value, 2, exempt), dv * (da - one));
    }
    for (j, name) in SORTED_OFFSETS.iter().enumerate() {
        let d = if j < 3 {
            c[SORTED_OFF + j + 1] - c[SORTED_OFF + j]
        } else {
            n[SORTED_OFF] - c[SORTED_OFF + 3]
        };
        sink.put(spec(name, 2, usize::from(j == 3)), d * (d - one));
    }
}

/// Range-check builtin: `acc` accumulates a block's limbs from its last row up; a used block's
/// first row reads the cell `(rc_addr, acc)` through the extra memory slot.
#[inline(always)]
fn range_check_constraints<S: Sink>(
    k: &Constants,
    c: &[Felt],
    n: &[Felt],
    periodic: &[Felt],
    sink: &mut S,
) {
    use cols::*;
    let one = Felt::one();
    let (is_first, is_last) = (&periodic[0], &periodic[1]);
    let (acc, limb, sel, rc_addr) = (&c[ACC], &c[LIMB], &c[RC_SEL], &c[RC_ADDR]);
    sink.put(
        spec("acc accumulates limbs", 2, 0),
        (one - is_last) * (acc - k.limb_base * n[ACC] - limb),
    );
    sink.put(
        spec("acc starts at the last limb", 2, 0),
        is_last * (acc - limb),
    );
    sink.put(spec("rc_sel is a bit", 2, 0), sel * (sel - one));
    sink.put(
        spec("rc_sel is constant in a block", 2, 0),
        (one - is_last) * (n[RC_SEL] - sel),
    );
    sink.put(
        spec("rc_addr steps per used block", 2, 1),
        n[RC_ADDR] - rc_addr - is_last * sel,
    );
    let first_used = is_first * sel;
    sink.put(
        spec("range-check cell address", 3, 0),
        first_used * (c[EXTRA_ADDR] - rc_addr),
    );
    sink.put(
        spec("range-check cell value", 3, 0),
        first_used * (c[EXTRA_VAL] - acc),
    );
}

/// Step count: pc sits at `__end__` wherever `done ≠ 0`, and is not there where `done` changes.
/// Together they make a non-zero `done` constant from there on, so the boundaries `done = 0` at
/// row `steps − 1` and `done = 1` at row `steps` pin the whole column to `0…0 1…1` (no bit or
/// monotonicity rule is needed) and put pc at `__end__` on row `steps` (no `pc` boundary there).
#[inline(always)]
fn done_constraints<S: Sink>(end_pc: &Felt, c: &[Felt], n: &[Felt], sink: &mut S) {
    use cols::*;
    let one = Felt::one();
    let done = &c[DONE];
    let pc_minus_end = c[PC] - end_pc;
    sink.put(spec("done rows sit at __end__", 2, 0), done * pc_minus_end);
    sink.put(
        spec("the last step is not at __end__", 3, 1),
        (n[DONE] - done) * (pc_minus_end * c[JNZ_INV] - one),
    );
}

const PRODUCT_STEPS: [&str; 4] = [
    "memory product: instruction and dst",
    "memory product: op0 and op1",
    "memory product: extra slot and off_dst",
    "offsets product: off_op0 and off_op1",
];

/// The permutation running products (unsorted over sorted) and the limb LogUp sum.
#[inline(always)]
fn argument_constraints<S: Sink>(
    k: &Constants,
    c: &[Felt],
    n: &[Felt],
    periodic: &[Felt],
    challenges: &[Felt],
    sink: &mut S,
) {
    use cols::*;
    let (z, alpha, z_rc, z_limb) = (
        &challenges[0],
        &challenges[1],
        &challenges[2],
        &challenges[3],
    );
    let mem = |a: &Felt, v: &Felt| z - (a + alpha * v);
    let inst = instruction_with(c, k);
    let sorted_mem = |j: usize| mem(&c[SORTED_MEM + 2 * j], &c[SORTED_MEM + 2 * j + 1]);
    let num = [
        mem(&c[PC], &inst),
        mem(&c[DST_ADDR], &c[DST]),
        mem(&c[OP0_ADDR], &c[OP0]),
        mem(&c[OP1_ADDR], &c[OP1]),
        mem(&c[EXTRA_ADDR], &c[EXTRA_VAL]),
        z_rc - c[OFF_DST],
        z_rc - c[OFF_OP0],
        z_rc - c[OFF_OP1],
        z_rc - c[RC_FILL],
    ];
    let den = [
        sorted_mem(0),
        sorted_mem(1),
        sorted_mem(2),
        sorted_mem(3),
        sorted_mem(4),
        z_rc - c[SORTED_OFF],
        z_rc - c[SORTED_OFF + 1],
        z_rc - c[SORTED_OFF + 2],
        z_rc - c[SORTED_OFF + 3],
    ];
    for (j, name) in PRODUCT_STEPS.iter().enumerate() {
        let before = &c[PROD + j];
        let after = &c[PROD + j + 1];
        sink.put(
            spec(name, 3, 0),
            after * den[2 * j] * den[2 * j + 1] - before * num[2 * j] * num[2 * j + 1],
        );
    }
    sink.put(
        spec("offsets product: rc_fill, into the next row", 2, 1),
        n[PROD] * den[8] - c[PROD + 4] * num[8],
    );
    // logup' − logup = 1/(z_limb − limb) − mult/(z_limb − table), denominators cleared.
    let limb_den = z_limb - c[LIMB];
    let table_den = z_limb - periodic[2];
    sink.put(
        spec("limb LogUp, cyclic", 3, 0),
        (n[LOGUP] - c[LOGUP]) * limb_den * table_den - table_den + c[MULT] * limb_den,
    );
}
