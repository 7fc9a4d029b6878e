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

/// Builds the main trace of `exec` and the statement it proves. The trace has the smallest
/// power-of-two length (at least `2^min_log_rows`) that fits the steps, the range-check cells,
/// the public memory placeholders, the memory holes and the 16-bit fillers.
pub fn build_main_trace(
    exec: &Execution,
    min_log_rows: u8,
) -> Result<(Statement, TraceTable), TraceError> {
    let steps = exec.steps;
    let end_pc = exec.end_pc;
    let mut mem = Memory {
        accessed: vec![false; exec.memory.len()],
        limit: exec.memory.len() as u64 + MAX_ADDRESS_SLACK,
        cells: exec.memory.clone(),
    };

    // Decode the steps and the first padding row (the final state, executing `jmp rel 0`).
    let mut decoded = Vec::with_capacity(steps + 1);
    for (t, regs) in exec.trace.iter().enumerate().take(steps + 1) {
        decoded.push(decode_step(t, regs.pc, regs.ap, regs.fp, &mut mem)?);
    }
    let final_regs = exec.final_registers();

    // Range-check builtin cells, 16 byte limbs each.
    let (rc_base, rc_stop) = exec.range_check.map_or((0, 0), |s| (s.base, s.stop));
    let rc_count = (rc_stop - rc_base) as usize;
    let mut rc_values = Vec::with_capacity(rc_count);
    for address in rc_base..rc_stop {
        let bad = TraceError::BadRangeCheckCell { address };
        let v = mem.read(address).ok_or(bad.clone())?;
        let limbs = v.representative().limbs;
        if limbs[0] != 0 || limbs[1] != 0 {
            return Err(bad);
        }
        let low = ((limbs[2] as u128) << 64) | limbs[3] as u128;
        rc_values.push((address, v, low));
    }

    // Statement (trace length and 16-bit bounds are settled below).
    let mut claim = Claim {
        outputs: exec.outputs.clone(),
        steps: steps as u64,
        log_trace_length: MAX_LOG_TRACE_LENGTH,
        final_ap: final_regs.ap,
        output_base: exec.output.map_or(0, |s| s.base),
        range_check_base: rc_base,
        range_check_stop: rc_stop,
        offset_min: 0,
        offset_max: 0,
        prover_key: None,
    };
    let provisional = Statement::from_parts(
        exec.bytecode.clone(),
        exec.inputs.clone(),
        exec.builtins.clone(),
        exec.start_pc,
        end_pc,
        claim.clone(),
    )
    .map_err(|e| match e {
        StatementError::Steps { .. } => TraceError::TooLong,
        e => TraceError::Statement(e),
    })?;
    let public_memory = provisional.public_memory();

    // Memory holes: every address up to the highest one used must occur on the sorted side.
    let mut is_public = vec![false; mem.cells.len()];
    for (a, _) in &public_memory {
        let a = *a as usize;
        if a >= is_public.len() {
            is_public.resize(a + 1, false);
        }
        is_public[a] = true;
    }
    let max_address = mem.accessed.len().max(is_public.len()).saturating_sub(1);
    let holes: Vec<u64> = (1..=max_address)
        .filter(|&a| {
            !mem.accessed.get(a).copied().unwrap_or(false)
                && !is_public.get(a).copied().unwrap_or(false)
        })
        .map(|a| a as u64)
        .collect();

    // The 16-bit chain: offsets with their gaps filled by rc_fill.
    let mut offset_present = vec![false; OFFSET_VALUES];
    for s in &decoded {
        for o in s.offsets {
            offset_present[o as usize] = true;
        }
    }
    let (offset_min, offset_max, offset_gaps) = range_with_gaps(&offset_present);

    let n_pub = public_memory.len();
    let fits = |rows: usize| {
        rows > steps
            && offset_gaps.len() < rows
            && (rc_count + 1) * RC_BLOCK <= rows
            && n_pub + holes.len() <= rows - rc_count
    };
    let mut log_rows = min_log_rows.max(MIN_LOG_TRACE_LENGTH);
    while !fits(1usize << log_rows) {
        log_rows += 1;
        if log_rows > MAX_LOG_TRACE_LENGTH {
            return Err(TraceError::TooLong);
        }
    }
    let n = 1usize << log_rows;
    claim.log_trace_length = log_rows;
    claim.offset_min = offset_min;
    claim.offset_max = offset_max;
    let statement = Statement::from_parts(
        exec.bytecode.clone(),
        exec.inputs.clone(),
        exec.builtins.clone(),
        exec.start_pc,
        end_pc,
        claim,
    )?;

    let mut columns: Vec<Vec<Felt>> = (0..cols::MAIN_WIDTH)
        .map(|_| Vec::with_capacity(n))
        .collect();
    // Unsorted memory addresses (as integers) for the sorted side.
    let mut address_count = vec![0u32; max_address + 1];
    let mut jnz_inverses = Vec::new();
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
        if jnz && dst != Felt::zero() {
            jnz_inverses.push((row, dst));
        }
        for a in &s.addrs {
            address_count[*a as usize] += 1;
        }
    }

    // Inverses, batched: dst on taken jnz steps, pc − end_pc on the last step.
    let last_step = steps - 1;
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
        Felt::from(exec.trace[last_step].pc) - Felt::from(end_pc),
    ));
    columns[cols::JNZ_INV] = vec![Felt::zero(); n];
    let mut values: Vec<Felt> = jnz_inverses.iter().map(|(_, v)| *v).collect();
    Felt::inplace_batch_inverse(&mut values)
        .map_err(|_| TraceError::Internal("the run passed through __end__ before its last step"))?;
    for ((row, _), inv) in jnz_inverses.iter().zip(values) {
        columns[cols::JNZ_INV][*row] = inv;
    }

    // Range-check builtin blocks and the extra memory slot.
    let mut limb = vec![Felt::zero(); n];
    let mut sel = vec![Felt::zero(); n];
    let mut rc_addr = vec![Felt::zero(); n];
    let mut extra_addr = vec![1u64; n];
    let mut extra_val = vec![Felt::zero(); n];
    let mut used_block_start = vec![false; n];
    for (k, (address, value, low)) in rc_values.iter().enumerate() {
        for i in 0..RC_BLOCK {
            let byte = (low >> (LIMB_BITS as usize * i)) & (LIMB_TABLE as u128 - 1);
            limb[k * RC_BLOCK + i] = Felt::from(byte as u64);
            sel[k * RC_BLOCK + i] = Felt::one();
        }
        extra_addr[k * RC_BLOCK] = *address;
        extra_val[k * RC_BLOCK] = *value;
        used_block_start[k * RC_BLOCK] = true;
    }
    for (row, a) in rc_addr.iter_mut().enumerate() {
        *a = Felt::from(rc_base + (row / RC_BLOCK).min(rc_count) as u64);
    }
    let mut acc = vec![Felt::zero(); n];
    let limb_base = Felt::from(1u64 << LIMB_BITS);
    for row in (0..n).rev() {
        acc[row] = if row % RC_BLOCK == RC_BLOCK - 1 {
            limb[row]
        } else {
            limb[row] + limb_base * acc[row + 1]
        };
    }
    // Free extra slots: public-memory placeholders (0, 0), then holes, then copies of the
    // first program word. Nothing else may sit at address 0: the sorted side starts at 1.
    let mut free_rows = (0..n).filter(|r| !used_block_start[*r]);
    for row in free_rows.by_ref().take(n_pub) {
        extra_addr[row] = 0;
        extra_val[row] = Felt::zero();
    }
    for &hole in &holes {
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
    for a in &extra_addr {
        address_count[*a as usize] += 1;
    }
    // The placeholders leave the sorted side; the public cells join it.
    address_count[0] -= n_pub as u32;
    for (a, _) in &public_memory {
        address_count[*a as usize] += 1;
    }

    let mut fill = offset_gaps.iter();
    let rc_fill: Vec<Felt> = (0..n)
        .map(|row| {
            let v = if row == n - 1 {
                offset_max
            } else {
                fill.next().copied().unwrap_or(offset_max)
            };
            Felt::from(v as u64)
        })
        .collect();

    // Sorted memory, by counting (addresses are dense).
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

    // Sorted 16-bit chains, by counting.
    let mut offset_count = vec![0u32; OFFSET_VALUES];
    for c in [cols::OFF_DST, cols::OFF_OP0, cols::OFF_OP1] {
        for v in &columns[c] {
            offset_count[small(v)] += 1;
        }
    }
    for v in &rc_fill {
        offset_count[small(v)] += 1;
    }
    let sorted_off = sorted_by_count(&offset_count, 4, n);
    // LogUp multiplicities: the count of each byte value sits on the first row holding that
    // table value (row v).
    let mut mult = vec![Felt::zero(); n];
    let mut limb_count = [0u64; LIMB_TABLE];
    for v in &limb {
        limb_count[small(v) % LIMB_TABLE] += 1;
    }
    for (v, count) in limb_count.iter().enumerate() {
        mult[v] = Felt::from(*count);
    }

    columns[cols::EXTRA_ADDR] = extra_addr.into_iter().map(Felt::from).collect();
    columns[cols::EXTRA_VAL] = extra_val;
    columns[cols::RC_FILL] = rc_fill;
    columns[cols::LIMB] = limb;
    columns[cols::ACC] = acc;
    columns[cols::RC_ADDR] = rc_addr;
    columns[cols::RC_SEL] = sel;
    for (i, c) in sorted_mem.into_iter().enumerate() {
        columns[cols::SORTED_MEM + i] = c;
    }
    for (i, c) in sorted_off.into_iter().enumerate() {
        columns[cols::SORTED_OFF + i] = c;
    }
    columns[cols::MULT] = mult;
    if columns.iter().any(|c| c.len() != n) {
        return Err(TraceError::Internal("column length"));
    }
    Ok((statement, TraceTable::new(columns)))
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

/// Running products of the memory and 16-bit permutation arguments and the limb LogUp sum
/// (see the parent module). Ratios are computed in parallel chunks; the running product and sum
/// are then a cheap sequential pass.
pub(crate) fn build_aux_trace(main: &TraceTable, challenges: &[Felt]) -> TraceTable {
    use cols::*;
    use rayon::prelude::*;
    let n = main.length();
    let zero_trace = || TraceTable::new(vec![vec![Felt::zero(); n]; AUX_WIDTH]);
    let [z, alpha, z_rc, z_limb] = match challenges {
        [a, b, c, d] => [*a, *b, *c, *d],
        _ => return zero_trace(),
    };
    // LogUp: limbs and table values are bytes, so 256 inverses serve every row.
    let mut byte_inverses: Vec<Felt> = (0..LIMB_TABLE as u64)
        .map(|v| z_limb - Felt::from(v))
        .collect();
    if Felt::inplace_batch_inverse(&mut byte_inverses).is_err() {
        return zero_trace();
    }
    let mem = |a: &Felt, v: &Felt| z - (a + alpha * v);

    // Per row: the five ratio groups of the running product, and the LogUp increment.
    let chunks: Option<Vec<AuxChunk>> = (0..n)
        .into_par_iter()
        .chunks(AUX_CHUNK)
        .map(|rows| {
            let mut row = vec![Felt::zero(); MAIN_WIDTH];
            let mut numerators = Vec::with_capacity(rows.len());
            let mut denominators = Vec::with_capacity(rows.len() * 5);
            let mut logup = Vec::with_capacity(rows.len());
            for &r in &rows {
                for (c, cell) in row.iter_mut().enumerate() {
                    *cell = main.columns[c][r];
                }
                let inst = instruction(&row);
                let sorted = |j: usize| mem(&row[SORTED_MEM + 2 * j], &row[SORTED_MEM + 2 * j + 1]);
                let num = [
                    mem(&row[PC], &inst) * mem(&row[DST_ADDR], &row[DST]),
                    mem(&row[OP0_ADDR], &row[OP0]) * mem(&row[OP1_ADDR], &row[OP1]),
                    mem(&row[EXTRA_ADDR], &row[EXTRA_VAL]) * (z_rc - row[OFF_DST]),
                    (z_rc - row[OFF_OP0]) * (z_rc - row[OFF_OP1]),
                    z_rc - row[RC_FILL],
                ];
                denominators.extend([
                    sorted(0) * sorted(1),
                    sorted(2) * sorted(3),
                    sorted(4) * (z_rc - row[SORTED_OFF]),
                    (z_rc - row[SORTED_OFF + 1]) * (z_rc - row[SORTED_OFF + 2]),
                    z_rc - row[SORTED_OFF + 3],
                ]);
                numerators.push(num);
                let limb = small(&row[LIMB]) % LIMB_TABLE;
                logup.push(byte_inverses[limb] - row[MULT] * byte_inverses[r % LIMB_TABLE]);
            }
            Felt::inplace_batch_inverse(&mut denominators).ok()?;
            let ratios = numerators
                .iter()
                .zip(denominators.chunks(5))
                .map(|(num, inv)| std::array::from_fn(|j| num[j] * inv[j]))
                .collect();
            Some((ratios, logup))
        })
        .collect();
    let Some(chunks) = chunks else {
        return zero_trace();
    };

    let mut columns: Vec<Vec<Felt>> = (0..AUX_WIDTH).map(|_| Vec::with_capacity(n)).collect();
    let mut running = Felt::one();
    let mut sum = Felt::zero();
    for (ratios, logup) in &chunks {
        for (ratio, increment) in ratios.iter().zip(logup) {
            columns[0].push(running);
            for (j, r) in ratio.iter().enumerate() {
                running *= *r;
                if j < 4 {
                    columns[j + 1].push(running);
                }
            }
            columns[LOGUP - MAIN_WIDTH].push(sum);
            sum += *increment;
        }
    }
    TraceTable::new(columns)
}
