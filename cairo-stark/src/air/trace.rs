//! The honest prover's witness: the main trace of an [`Execution`] and the auxiliary running
//! products. See the parent module for the layout.

use stark::TraceTable;

use super::{cols, flags, instruction, LIMB_BITS, LIMB_TABLE, MEM_PER_ROW, RC_BLOCK};
use crate::felt::felt_to_u64;
use crate::statement::{
    Claim, Statement, StatementError, MAX_LOG_TRACE_LENGTH, MIN_LOG_TRACE_LENGTH,
};
use crate::vm::Execution;
use crate::Felt;

const OFFSET_VALUES: usize = 1 << 16;
/// How far past the relocated memory an instruction may reach (cells cairo-vm never wrote).
const MAX_ADDRESS_SLACK: u64 = 1 << 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    #[error("step {step}: the word at pc = {pc} is not a valid instruction")]
    BadInstruction { step: usize, pc: u64 },
    #[error("step {step}: an operand address is not a memory address")]
    BadAddress { step: usize },
    #[error("range-check cell {address} is not a value below 2^128")]
    BadRangeCheckCell { address: u64 },
    #[error("the execution needs more than 2^{MAX_LOG_TRACE_LENGTH} trace rows")]
    TooLong,
    #[error("the execution and its statement disagree: {0}")]
    Statement(#[from] StatementError),
    #[error("internal: {0}")]
    Internal(&'static str),
}

/// One decoded step, kept small (a million of them are alive at once); values are read back
/// from memory when the trace is filled.
struct Step {
    addrs: [u64; 4], // pc, dst, op0, op1
    offsets: [u16; 3],
    flags: u16,
}

/// `res` as the AIR defines it (0 on `jnz`, where it is unconstrained).
fn result(flag_bits: u16, op0: &Felt, op1: &Felt) -> Felt {
    let ff = |i: usize| Felt::from(((flag_bits >> i) & 1) as u64);
    if (flag_bits >> flags::PC_JNZ) & 1 == 1 {
        Felt::zero()
    } else {
        ff(flags::RES_ADD) * (op0 + op1)
            + ff(flags::RES_MUL) * op0 * op1
            + (Felt::one() - ff(flags::RES_ADD) - ff(flags::RES_MUL)) * op1
    }
}

struct Memory {
    cells: Vec<Option<Felt>>,
    accessed: Vec<bool>,
    limit: u64,
}

impl Memory {
    /// The relocated memory of `exec`, with nothing accessed yet.
    fn of(exec: &Execution) -> Self {
        Memory {
            accessed: vec![false; exec.memory.len()],
            limit: exec.memory.len() as u64 + MAX_ADDRESS_SLACK,
            cells: exec.memory.clone(),
        }
    }

    /// Reads a cell the trace accesses; a cell cairo-vm never wrote (possible only for operands
    /// the instruction ignores) gets 0, consistently for every later access.
    fn read(&mut self, address: u64) -> Option<Felt> {
        if address == 0 || address > self.limit {
            return None;
        }
        let a = address as usize;
        if a >= self.cells.len() {
            self.cells.resize(a + 1, None);
            self.accessed.resize(a + 1, false);
        }
        self.accessed[a] = true;
        Some(*self.cells[a].get_or_insert_with(Felt::zero))
    }

    fn value(&self, address: u64) -> Felt {
        self.cells
            .get(address as usize)
            .copied()
            .flatten()
            .unwrap_or_else(Felt::zero)
    }
}

fn decode_word(word: &Felt) -> Option<([u16; 3], u16)> {
    let w = felt_to_u64(word)?;
    if w >> 63 != 0 {
        return None;
    }
    Some((
        [w as u16, (w >> 16) as u16, (w >> 32) as u16],
        (w >> 48) as u16,
    ))
}

fn decode_step(
    step: usize,
    pc: u64,
    ap: u64,
    fp: u64,
    mem: &mut Memory,
) -> Result<Step, TraceError> {
    let bad_address = || TraceError::BadAddress { step };
    let word = mem.read(pc).ok_or_else(bad_address)?;
    let (offsets, flag_bits) = decode_word(&word).ok_or(TraceError::BadInstruction { step, pc })?;
    let f = |i: usize| (flag_bits >> i) & 1 == 1;
    let off = |i: usize| offsets[i] as i64 - (1 << 15);
    let add = |base: u64, o: i64| -> Result<u64, TraceError> {
        base.checked_add_signed(o).ok_or_else(bad_address)
    };
    let dst_addr = add(if f(flags::DST_REG) { fp } else { ap }, off(0))?;
    let op0_addr = add(if f(flags::OP0_REG) { fp } else { ap }, off(1))?;
    mem.read(dst_addr).ok_or_else(bad_address)?;
    let op0 = mem.read(op0_addr).ok_or_else(bad_address)?;
    let op1_flags = [flags::OP1_IMM, flags::OP1_FP, flags::OP1_AP]
        .iter()
        .filter(|&&i| f(i))
        .count();
    let op1_addr = if op1_flags <= 1 {
        let base = if f(flags::OP1_IMM) {
            pc
        } else if f(flags::OP1_FP) {
            fp
        } else if f(flags::OP1_AP) {
            ap
        } else {
            felt_to_u64(&op0).ok_or_else(bad_address)?
        };
        add(base, off(2))?
    } else {
        // An invalid flag combination: decode it the way the AIR constrains it.
        let ff = |i: usize| Felt::from(((flag_bits >> i) & 1) as u64);
        let one = Felt::one();
        let address = ff(flags::OP1_IMM) * Felt::from(pc)
            + ff(flags::OP1_AP) * Felt::from(ap)
            + ff(flags::OP1_FP) * Felt::from(fp)
            + (one - ff(flags::OP1_IMM) - ff(flags::OP1_FP) - ff(flags::OP1_AP)) * op0
            + Felt::from(offsets[2] as u64)
            - Felt::from(1u64 << 15);
        felt_to_u64(&address).ok_or_else(bad_address)?
    };
    mem.read(op1_addr).ok_or_else(bad_address)?;
    Ok(Step {
        addrs: [pc, dst_addr, op0_addr, op1_addr],
        offsets,
        flags: flag_bits,
    })
}

/// One range-check builtin cell: its address, its value and that value as an integer below
/// 2^128 (whose 16 byte limbs fill the cell's block).
struct RcCell {
    address: u64,
    value: Felt,
    low: u128,
}

/// The 16-bit chain: offsets with their gaps filled by `rc_fill`.
struct OffsetChain {
    min: u16,
    max: u16,
    gaps: Vec<u16>,
}

/// Everything the rows must hold, gathered before the trace length is chosen.
struct Contents {
    steps: usize,
    /// The steps and the first padding row.
    decoded: Vec<Step>,
    rc_cells: Vec<RcCell>,
    public_memory: Vec<(u64, Felt)>,
    /// Addresses up to `max_address` that no access and no public cell covers.
    holes: Vec<u64>,
    max_address: usize,
    offsets: OffsetChain,
}

impl Contents {
    /// Whether `rows` rows hold it all: the steps and a padding row, one row per 16-bit gap
    /// (the last row's `rc_fill` is pinned to `offset_max`), a block per range-check cell plus
    /// an unused last one (the last row's `rc_addr` is pinned to `range_check_stop`), and an
    /// extra slot, outside the used blocks' first rows, for every placeholder and hole.
    fn fits(&self, rows: usize) -> bool {
        let rc_count = self.rc_cells.len();
        rows > self.steps
            && self.offsets.gaps.len() < rows
            && (rc_count + 1) * RC_BLOCK <= rows
            && self.public_memory.len() + self.holes.len() <= rows - rc_count
    }
}

/// Builds the main trace of `exec` and the statement it proves. The trace has the smallest
/// power-of-two length (at least `2^min_log_rows`) that fits the steps, the range-check cells,
/// the public memory placeholders, the memory holes and the 16-bit fillers.
pub fn build_main_trace(
    exec: &Execution,
    min_log_rows: u8,
) -> Result<(Statement, TraceTable), TraceError> {
    let mut mem = Memory::of(exec);
    let decoded = decode_steps(exec, &mut mem)?;
    let rc_cells = range_check_cells(exec, &mut mem)?;

    // Statement (trace length and 16-bit bounds are settled below).
    let mut claim = provisional_claim(exec);
    let public_memory = statement_for(exec, claim.clone())
        .map_err(|e| match e {
            StatementError::Steps { .. } => TraceError::TooLong,
            e => TraceError::Statement(e),
        })?
        .public_memory();
    let (holes, max_address) = memory_holes(&mem, &public_memory);
    let offsets = offset_chain(&decoded);
    let contents = Contents {
        steps: exec.steps,
        decoded,
        rc_cells,
        public_memory,
        holes,
        max_address,
        offsets,
    };

    let log_rows = trace_log_length(&contents, min_log_rows)?;
    claim.log_trace_length = log_rows;
    claim.offset_min = contents.offsets.min;
    claim.offset_max = contents.offsets.max;
    let statement = statement_for(exec, claim)?;
    let columns = main_columns(exec, &mem, &contents, 1usize << log_rows)?;
    Ok((statement, TraceTable::new(columns)))
}

/// Decodes the steps and the first padding row (the final state, executing `jmp rel 0`),
/// marking every cell they access.
fn decode_steps(exec: &Execution, mem: &mut Memory) -> Result<Vec<Step>, TraceError> {
    let mut decoded = Vec::with_capacity(exec.steps + 1);
    for (t, regs) in exec.trace.iter().enumerate().take(exec.steps + 1) {
        decoded.push(decode_step(t, regs.pc, regs.ap, regs.fp, mem)?);
    }
    Ok(decoded)
}

/// `(range_check_base, range_check_stop)`, both 0 without the builtin.
fn range_check_bounds(exec: &Execution) -> (u64, u64) {
    exec.range_check.map_or((0, 0), |s| (s.base, s.stop))
}

/// The range-check builtin cells, 16 byte limbs each: the AIR proves each value below 2^128
/// by rebuilding it from its limbs, so a larger value cannot be proven at all.
fn range_check_cells(exec: &Execution, mem: &mut Memory) -> Result<Vec<RcCell>, TraceError> {
    let (rc_base, rc_stop) = range_check_bounds(exec);
    let count = rc_stop.checked_sub(rc_base).ok_or(TraceError::Internal(
        "the range-check segment ends before it starts",
    ))?;
    let mut cells = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for address in rc_base..rc_stop {
        let bad = TraceError::BadRangeCheckCell { address };
        let value = mem.read(address).ok_or(bad.clone())?;
        let limbs = value.representative().limbs;
        if limbs[0] != 0 || limbs[1] != 0 {
            return Err(bad);
        }
        let low = ((limbs[2] as u128) << 64) | limbs[3] as u128;
        cells.push(RcCell {
            address,
            value,
            low,
        });
    }
    Ok(cells)
}

/// The claim of `exec` before the trace length and the 16-bit bounds are known.
fn provisional_claim(exec: &Execution) -> Claim {
    let (range_check_base, range_check_stop) = range_check_bounds(exec);
    Claim {
        outputs: exec.outputs.clone(),
        steps: exec.steps as u64,
        log_trace_length: MAX_LOG_TRACE_LENGTH,
        final_ap: exec.final_registers().ap,
        output_base: exec.output.map_or(0, |s| s.base),
        range_check_base,
        range_check_stop,
        offset_min: 0,
        offset_max: 0,
        prover_key: None,
    }
}

/// The statement of `exec`'s program, inputs and builtins with `claim`.
fn statement_for(exec: &Execution, claim: Claim) -> Result<Statement, StatementError> {
    Statement::from_parts(
        exec.bytecode.clone(),
        exec.inputs.clone(),
        exec.builtins.clone(),
        exec.start_pc,
        exec.end_pc,
        claim,
    )
}

/// Memory holes and the highest address used: every address up to the highest one used
/// must occur on the sorted side, whose addresses the AIR requires to be continuous.
fn memory_holes(mem: &Memory, public_memory: &[(u64, Felt)]) -> (Vec<u64>, usize) {
    let mut is_public = vec![false; mem.cells.len()];
    for (a, _) in public_memory {
        let a = *a as usize;
        if a >= is_public.len() {
            is_public.resize(a + 1, false);
        }
        is_public[a] = true;
    }
    let max_address = mem.accessed.len().max(is_public.len()).saturating_sub(1);
    let holes = (1..=max_address)
        .filter(|&a| {
            !mem.accessed.get(a).copied().unwrap_or(false)
                && !is_public.get(a).copied().unwrap_or(false)
        })
        .map(|a| a as u64)
        .collect();
    (holes, max_address)
}

/// The 16-bit chain of the decoded offsets: the AIR requires the sorted chain to run
/// continuously from `offset_min` to `offset_max`, so every gap needs an `rc_fill` value.
fn offset_chain(decoded: &[Step]) -> OffsetChain {
    let mut offset_present = vec![false; OFFSET_VALUES];
    for s in decoded {
        for o in s.offsets {
            offset_present[o as usize] = true;
        }
    }
    let (min, max, gaps) = range_with_gaps(&offset_present);
    OffsetChain { min, max, gaps }
}

/// The smallest log2 of the row count, at least `min_log_rows` and the statement's minimum,
/// that fits `contents`.
fn trace_log_length(contents: &Contents, min_log_rows: u8) -> Result<u8, TraceError> {
    let mut log_rows = min_log_rows.max(MIN_LOG_TRACE_LENGTH);
    while !contents.fits(1usize << log_rows) {
        log_rows += 1;
        if log_rows > MAX_LOG_TRACE_LENGTH {
            return Err(TraceError::TooLong);
        }
    }
    Ok(log_rows)
}

/// Every main-trace column over `n` rows, in the layout of `cols`.
fn main_columns(
    exec: &Execution,
    mem: &Memory,
    contents: &Contents,
    n: usize,
) -> Result<Vec<Vec<Felt>>, TraceError> {
    let mut columns = step_columns(exec, &contents.decoded, mem, n);
    columns[cols::JNZ_INV] = jnz_inverse_column(exec, &columns, n)?;
    let (rc_base, _) = range_check_bounds(exec);
    let rc = RangeCheckColumns::new(&contents.rc_cells, rc_base, n);
    let (extra_addr, extra_val) = extra_memory_slots(contents, mem, n)?;
    let address_count = memory_access_counts(contents, &extra_addr, n);
    let sorted_mem = sorted_memory_columns(&address_count, mem, n)?;
    let rc_fill = rc_fill_column(&contents.offsets, n);
    let sorted_off = sorted_offset_columns(&columns, &rc_fill, n);

    columns[cols::MULT] = limb_multiplicity_column(&rc.limb, n);
    columns[cols::EXTRA_ADDR] = extra_addr.into_iter().map(Felt::from).collect();
    columns[cols::EXTRA_VAL] = extra_val;
    columns[cols::RC_FILL] = rc_fill;
    columns[cols::LIMB] = rc.limb;
    columns[cols::ACC] = rc.acc;
    columns[cols::RC_ADDR] = rc.rc_addr;
    columns[cols::RC_SEL] = rc.sel;
    for (i, c) in sorted_mem.into_iter().enumerate() {
        columns[cols::SORTED_MEM + i] = c;
    }
    for (i, c) in sorted_off.into_iter().enumerate() {
        columns[cols::SORTED_OFF + i] = c;
    }
    if columns.iter().any(|c| c.len() != n) {
        return Err(TraceError::Internal("column length"));
    }
    Ok(columns)
}

/// The columns of one Cairo step per row (registers, operands, `res`, `t0`, the offsets, the
/// flag bits and `done`); rows from `steps` on repeat the final state, whose `jmp rel 0` the
/// AIR checks like any step. The other columns are left empty.
fn step_columns(exec: &Execution, decoded: &[Step], mem: &Memory, n: usize) -> Vec<Vec<Felt>> {
    let steps = exec.steps;
    let mut columns: Vec<Vec<Felt>> = (0..cols::MAIN_WIDTH)
        .map(|_| Vec::with_capacity(n))
        .collect();
    for row in 0..n {
        let t = row.min(steps);
        let regs = exec.trace[t];
        let s = &decoded[t];
        let jnz = (s.flags >> flags::PC_JNZ) & 1 == 1;
        let [dst, op0, op1] = [1, 2, 3].map(|i| mem.value(s.addrs[i]));
        let t0 = if jnz { dst } else { Felt::zero() };
        let row_values = [
            (cols::PC, Felt::from(regs.pc)),
            (cols::AP, Felt::from(regs.ap)),
            (cols::FP, Felt::from(regs.fp)),
            (cols::DST_ADDR, Felt::from(s.addrs[1])),
            (cols::DST, dst),
            (cols::OP0_ADDR, Felt::from(s.addrs[2])),
            (cols::OP0, op0),
            (cols::OP1_ADDR, Felt::from(s.addrs[3])),
            (cols::OP1, op1),
            (cols::RES, result(s.flags, &op0, &op1)),
            (cols::T0, t0),
            (cols::OFF_DST, Felt::from(s.offsets[0] as u64)),
            (cols::OFF_OP0, Felt::from(s.offsets[1] as u64)),
            (cols::OFF_OP1, Felt::from(s.offsets[2] as u64)),
            (cols::DONE, Felt::from((row >= steps) as u64)),
        ];
        for (c, v) in row_values {
            columns[c].push(v);
        }
        for i in 0..15 {
            columns[cols::FLAGS + i].push(Felt::from(((s.flags >> i) & 1) as u64));
        }
    }
    columns
}

/// `jnz_inv`, from the filled step columns: the AIR needs the inverse of `dst` on a taken
/// `jnz` (to prove `dst ≠ 0`) and of `pc − end_pc` on the last step (to prove the run had not
/// reached `__end__` before), and 0 elsewhere.
fn jnz_inverse_column(
    exec: &Execution,
    columns: &[Vec<Felt>],
    n: usize,
) -> Result<Vec<Felt>, TraceError> {
    let jnz_flag = &columns[cols::FLAGS + flags::PC_JNZ];
    let mut jnz_inverses: Vec<(usize, Felt)> = (0..n)
        .map(|row| (row, columns[cols::DST][row]))
        .filter(|(row, dst)| jnz_flag[*row] == Felt::one() && *dst != Felt::zero())
        .collect();
    // Inverses, batched: dst on taken jnz steps, pc − end_pc on the last step.
    let last_step = exec
        .steps
        .checked_sub(1)
        .ok_or(TraceError::Internal("an execution of no steps"))?;
    if jnz_inverses
        .last()
        .is_some_and(|(row, _)| *row == last_step)
    {
        return Err(TraceError::Internal(
            "the last step is a jnz (main must return to __end__)",
        ));
    }
    jnz_inverses.push((
        last_step,
        Felt::from(exec.trace[last_step].pc) - Felt::from(exec.end_pc),
    ));
    let mut column = vec![Felt::zero(); n];
    let mut values: Vec<Felt> = jnz_inverses.iter().map(|(_, v)| *v).collect();
    Felt::inplace_batch_inverse(&mut values)
        .map_err(|_| TraceError::Internal("the run passed through __end__ before its last step"))?;
    for ((row, _), inv) in jnz_inverses.iter().zip(values) {
        column[*row] = inv;
    }
    Ok(column)
}

/// The range-check builtin's columns: cell `k` fills block `k` (rows `16k..16k + 16`).
struct RangeCheckColumns {
    limb: Vec<Felt>,
    sel: Vec<Felt>,
    rc_addr: Vec<Felt>,
    acc: Vec<Felt>,
}

impl RangeCheckColumns {
    /// Byte limbs (least significant first) and `rc_sel` on the used blocks, 0 elsewhere;
    /// `rc_addr` counts the blocks up to `range_check_stop`; `acc` is the Horner accumulation
    /// of each block's limbs, so a used block's first row holds the cell's value.
    fn new(cells: &[RcCell], rc_base: u64, n: usize) -> Self {
        let mut limb = vec![Felt::zero(); n];
        let mut sel = vec![Felt::zero(); n];
        for (k, cell) in cells.iter().enumerate() {
            for i in 0..RC_BLOCK {
                let byte = (cell.low >> (LIMB_BITS as usize * i)) & (LIMB_TABLE as u128 - 1);
                limb[k * RC_BLOCK + i] = Felt::from(byte as u64);
                sel[k * RC_BLOCK + i] = Felt::one();
            }
        }
        let rc_addr = (0..n)
            .map(|row| Felt::from(rc_base + (row / RC_BLOCK).min(cells.len()) as u64))
            .collect();
        let mut acc = vec![Felt::zero(); n];
        let limb_base = Felt::from(1u64 << LIMB_BITS);
        for row in (0..n).rev() {
            acc[row] = if row % RC_BLOCK == RC_BLOCK - 1 {
                limb[row]
            } else {
                limb[row] + limb_base * acc[row + 1]
            };
        }
        RangeCheckColumns {
            limb,
            sel,
            rc_addr,
            acc,
        }
    }
}

/// `extra_addr` (as integers) and `extra_val`: the range-check cells on the first row of their
/// blocks, where the AIR ties the cell to `acc` and `rc_addr`; the free slots hold the
/// public-memory placeholders, then the holes, then copies of the first program word.
fn extra_memory_slots(
    contents: &Contents,
    mem: &Memory,
    n: usize,
) -> Result<(Vec<u64>, Vec<Felt>), TraceError> {
    let mut extra_addr = vec![1u64; n];
    let mut extra_val = vec![Felt::zero(); n];
    let mut used_block_start = vec![false; n];
    for (k, cell) in contents.rc_cells.iter().enumerate() {
        extra_addr[k * RC_BLOCK] = cell.address;
        extra_val[k * RC_BLOCK] = cell.value;
        used_block_start[k * RC_BLOCK] = true;
    }
    // Free extra slots: public-memory placeholders (0, 0), then holes, then copies of the
    // first program word. Nothing else may sit at address 0: the sorted side starts at 1.
    let mut free_rows = (0..n).filter(|r| !used_block_start[*r]);
    for row in free_rows.by_ref().take(contents.public_memory.len()) {
        extra_addr[row] = 0;
        extra_val[row] = Felt::zero();
    }
    for &hole in &contents.holes {
        let row = free_rows
            .next()
            .ok_or(TraceError::Internal("no room for holes"))?;
        extra_addr[row] = hole;
        extra_val[row] = mem.value(hole);
    }
    for row in free_rows {
        extra_addr[row] = 1;
        extra_val[row] = mem.value(1);
    }
    Ok((extra_addr, extra_val))
}

/// How often each address occurs on the sorted side: the unsorted memory accesses (four per
/// step row, as integers, and the extra slot), with the public cells in place of their
/// placeholders.
fn memory_access_counts(contents: &Contents, extra_addr: &[u64], n: usize) -> Vec<u32> {
    let mut address_count = vec![0u32; contents.max_address + 1];
    for row in 0..n {
        for a in &contents.decoded[row.min(contents.steps)].addrs {
            address_count[*a as usize] += 1;
        }
    }
    for a in extra_addr {
        address_count[*a as usize] += 1;
    }
    // The placeholders leave the sorted side; the public cells join it.
    address_count[0] -= contents.public_memory.len() as u32;
    for (a, _) in &contents.public_memory {
        address_count[*a as usize] += 1;
    }
    address_count
}

/// The sorted memory accesses `(a', v')`, five per row read row-major, by counting (addresses
/// are dense); fails unless they fill the `n` rows exactly.
fn sorted_memory_columns(
    address_count: &[u32],
    mem: &Memory,
    n: usize,
) -> Result<Vec<Vec<Felt>>, TraceError> {
    let mut sorted_mem: Vec<Vec<Felt>> = (0..2 * MEM_PER_ROW)
        .map(|_| Vec::with_capacity(n))
        .collect();
    let mut slot = 0usize;
    for (a, count) in address_count.iter().enumerate() {
        let value = if a == 0 {
            Felt::zero()
        } else {
            mem.value(a as u64)
        };
        let address = Felt::from(a as u64);
        for _ in 0..*count {
            sorted_mem[2 * (slot % MEM_PER_ROW)].push(address);
            sorted_mem[2 * (slot % MEM_PER_ROW) + 1].push(value);
            slot += 1;
        }
    }
    if slot != MEM_PER_ROW * n {
        return Err(TraceError::Internal("sorted memory size"));
    }
    Ok(sorted_mem)
}

/// `rc_fill`: the chain's gaps, then `offset_max` (which the AIR pins on the last row).
fn rc_fill_column(offsets: &OffsetChain, n: usize) -> Vec<Felt> {
    let mut fill = offsets.gaps.iter();
    (0..n)
        .map(|row| {
            let v = if row == n - 1 {
                offsets.max
            } else {
                fill.next().copied().unwrap_or(offsets.max)
            };
            Felt::from(v as u64)
        })
        .collect()
}

/// The sorted 16-bit chain (4 columns, row-major) of the offsets and `rc_fill`, by counting.
fn sorted_offset_columns(columns: &[Vec<Felt>], rc_fill: &[Felt], n: usize) -> Vec<Vec<Felt>> {
    let mut offset_count = vec![0u32; OFFSET_VALUES];
    for c in [cols::OFF_DST, cols::OFF_OP0, cols::OFF_OP1] {
        for v in &columns[c] {
            offset_count[small(v)] += 1;
        }
    }
    for v in rc_fill {
        offset_count[small(v)] += 1;
    }
    sorted_by_count(&offset_count, 4, n)
}

/// `mult`, the LogUp multiplicities: the count of each byte value sits on the first row
/// holding that table value (row v).
fn limb_multiplicity_column(limb: &[Felt], n: usize) -> Vec<Felt> {
    let mut mult = vec![Felt::zero(); n];
    let mut limb_count = [0u64; LIMB_TABLE];
    for v in limb {
        limb_count[small(v) % LIMB_TABLE] += 1;
    }
    for (v, count) in limb_count.iter().enumerate() {
        mult[v] = Felt::from(*count);
    }
    mult
}

/// A 16-bit value held in a felt (the trace builder only stores such values there).
fn small(v: &Felt) -> usize {
    (v.representative().limbs[3] & 0xffff) as usize
}

/// Minimum, maximum and the missing values in between.
fn range_with_gaps(present: &[bool]) -> (u16, u16, Vec<u16>) {
    let min = present.iter().position(|p| *p).unwrap_or(0);
    let max = present.iter().rposition(|p| *p).unwrap_or(0);
    let gaps = (min..=max)
        .filter(|v| !present[*v])
        .map(|v| v as u16)
        .collect();
    (min as u16, max as u16, gaps)
}

/// Spreads the sorted multiset given by `count` row-major over `width` columns of `n` rows.
fn sorted_by_count(count: &[u32], width: usize, n: usize) -> Vec<Vec<Felt>> {
    let mut out: Vec<Vec<Felt>> = (0..width).map(|_| Vec::with_capacity(n)).collect();
    let mut slot = 0usize;
    for (v, c) in count.iter().enumerate() {
        let value = Felt::from(v as u64);
        for _ in 0..*c {
            out[slot % width].push(value);
            slot += 1;
        }
    }
    out
}

/// Rows per parallel task of the auxiliary trace builder (one batch inversion each).
const AUX_CHUNK: usize = 4096;

/// One chunk's product ratios (five groups per row) and LogUp increments.
type AuxChunk = (Vec<[Felt; 5]>, Vec<Felt>);

/// The challenges of the auxiliary trace, `z, α, z_rc, z_limb`.
struct AuxChallenges {
    z: Felt,
    alpha: Felt,
    z_rc: Felt,
    z_limb: Felt,
}

impl AuxChallenges {
    /// The four challenges, or `None` for any other count.
    fn from_slice(challenges: &[Felt]) -> Option<Self> {
        match challenges {
            [z, alpha, z_rc, z_limb] => Some(AuxChallenges {
                z: *z,
                alpha: *alpha,
                z_rc: *z_rc,
                z_limb: *z_limb,
            }),
            _ => None,
        }
    }

    /// A memory access's factor `z − (a + α·v)`.
    fn mem(&self, a: &Felt, v: &Felt) -> Felt {
        self.z - (a + self.alpha * v)
    }

    /// One row's five ratio groups as (numerators, denominators): memory accesses and 16-bit
    /// values, unsorted over sorted, grouped two per `c1..c4` as the AIR checks them.
    fn ratio_groups(&self, row: &[Felt]) -> ([Felt; 5], [Felt; 5]) {
        use cols::*;
        let z_rc = self.z_rc;
        let inst = instruction(row);
        let sorted = |j: usize| self.mem(&row[SORTED_MEM + 2 * j], &row[SORTED_MEM + 2 * j + 1]);
        let numerators = [
            self.mem(&row[PC], &inst) * self.mem(&row[DST_ADDR], &row[DST]),
            self.mem(&row[OP0_ADDR], &row[OP0]) * self.mem(&row[OP1_ADDR], &row[OP1]),
            self.mem(&row[EXTRA_ADDR], &row[EXTRA_VAL]) * (z_rc - row[OFF_DST]),
            (z_rc - row[OFF_OP0]) * (z_rc - row[OFF_OP1]),
            z_rc - row[RC_FILL],
        ];
        let denominators = [
            sorted(0) * sorted(1),
            sorted(2) * sorted(3),
            sorted(4) * (z_rc - row[SORTED_OFF]),
            (z_rc - row[SORTED_OFF + 1]) * (z_rc - row[SORTED_OFF + 2]),
            z_rc - row[SORTED_OFF + 3],
        ];
        (numerators, denominators)
    }
}

/// Running products of the memory and 16-bit permutation arguments and the limb LogUp sum
/// (see the parent module). Ratios are computed in parallel chunks; the running product and sum
/// are then a cheap sequential pass.
pub(crate) fn build_aux_trace(main: &TraceTable, challenges: &[Felt]) -> TraceTable {
    use rayon::prelude::*;
    let n = main.length();
    let zero_trace = || TraceTable::new(vec![vec![Felt::zero(); n]; cols::AUX_WIDTH]);
    let Some(challenges) = AuxChallenges::from_slice(challenges) else {
        return zero_trace();
    };
    let Some(byte_inverses) = byte_inverses(challenges.z_limb) else {
        return zero_trace();
    };
    let chunks: Option<Vec<AuxChunk>> = (0..n)
        .into_par_iter()
        .chunks(AUX_CHUNK)
        .map(|rows| aux_chunk(main, &rows, &challenges, &byte_inverses))
        .collect();
    let Some(chunks) = chunks else {
        return zero_trace();
    };
    running_columns(&chunks, n)
}

/// `1/(z_limb − v)` for every byte `v`. LogUp: limbs and table values are bytes, so 256
/// inverses serve every row. `None` if `z_limb` is a byte.
fn byte_inverses(z_limb: Felt) -> Option<Vec<Felt>> {
    let mut inverses: Vec<Felt> = (0..LIMB_TABLE as u64)
        .map(|v| z_limb - Felt::from(v))
        .collect();
    Felt::inplace_batch_inverse(&mut inverses).ok()?;
    Some(inverses)
}

/// Per row of `rows`: the five ratio groups of the running product, and the LogUp increment
/// `1/(z_limb − limb) − mult/(z_limb − table)`. `None` if a denominator is 0.
fn aux_chunk(
    main: &TraceTable,
    rows: &[usize],
    challenges: &AuxChallenges,
    byte_inverses: &[Felt],
) -> Option<AuxChunk> {
    let mut row = vec![Felt::zero(); cols::MAIN_WIDTH];
    let mut numerators = Vec::with_capacity(rows.len());
    let mut denominators = Vec::with_capacity(rows.len() * 5);
    let mut logup = Vec::with_capacity(rows.len());
    for &r in rows {
        for (c, cell) in row.iter_mut().enumerate() {
            *cell = main.columns[c][r];
        }
        let (num, den) = challenges.ratio_groups(&row);
        numerators.push(num);
        denominators.extend(den);
        let limb = small(&row[cols::LIMB]) % LIMB_TABLE;
        logup.push(byte_inverses[limb] - row[cols::MULT] * byte_inverses[r % LIMB_TABLE]);
    }
    Felt::inplace_batch_inverse(&mut denominators).ok()?;
    let ratios = numerators
        .iter()
        .zip(denominators.chunks(5))
        .map(|(num, inv)| std::array::from_fn(|j| num[j] * inv[j]))
        .collect();
    Some((ratios, logup))
}

/// The auxiliary columns from the chunks' ratios, in row order: `c0` is the product of all
/// previous rows' ratios, `c1..c4` add this row's groups one by one (the fifth carries into
/// the next row's `c0`), and `logup` is the sum of the previous rows' increments.
fn running_columns(chunks: &[AuxChunk], n: usize) -> TraceTable {
    let mut columns: Vec<Vec<Felt>> = (0..cols::AUX_WIDTH)
        .map(|_| Vec::with_capacity(n))
        .collect();
    let mut running = Felt::one();
    let mut sum = Felt::zero();
    for (ratios, logup) in chunks {
        for (ratio, increment) in ratios.iter().zip(logup) {
            columns[0].push(running);
            for (j, r) in ratio.iter().enumerate() {
                running *= *r;
                if j < 4 {
                    columns[j + 1].push(running);
                }
            }
            columns[cols::LOGUP - cols::MAIN_WIDTH].push(sum);
            sum += *increment;
        }
    }
    TraceTable::new(columns)
}
