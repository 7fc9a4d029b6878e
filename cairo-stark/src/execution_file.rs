//! The execution file: one finished run (register trace, memory, builtin segments, outputs) as
//! bytes, so that a donor who only executes can hand the run to a donor who proves it.
//!
//! # Layout (`CAIROEXE`, version 1)
//! `"CAIROEXE"`, a little-endian `u16` version, then a DEFLATE stream of:
//! program hash (32 bytes), inputs, builtins (by name), steps, the output and range-check
//! segments, the outputs, the register trace (zig-zag deltas between rows) and the relocated
//! memory (one cell per address). What follows from the program and the inputs (the start and
//! end pc, where the execution segment starts) is not in the file: the reader derives it. Integers are LEB128 varints;
//! a felt is a tag byte (`0xFF` = no value, bit 7 = negated, low 6 bits = length) followed by
//! its big-endian bytes without leading zeros, so the small and the small negative values that
//! fill Cairo memory take a few bytes each.
//!
//! # Trust
//! A file is the uploader's claim. [`read_execution`] decodes it with every length bounded and
//! checks that it is a run of the caller's program on the caller's inputs (hash, inputs, the
//! bytecode and `[n, inputs]` cells, builtins, a trace that starts, stays and ends where a run
//! does); a prover may use it, because a run that is wrong anywhere else only yields a proof that
//! does not verify. [`check_execution`] also replays the run in cairo-vm and accepts only exactly
//! that run: what a server does before it stores an execution for others to prove, so no donor
//! spends hours proving junk. Both decompress the body only as they decode it, check the cheap
//! parts first and allocate for a part only once its count fits the claimed step count, within
//! [`ReadLimits`] (the `_within` variants take the caller's).

use std::io::{Read, Write};

use lambdaworks_math::traits::ByteConversion;

use cairo_vm::types::builtin_name::BuiltinName;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use crate::layout::code_address;
use crate::program::CompiledProgram;
use crate::vm::{execute_with_limit, Execution, Registers, Segment, DEFAULT_MAX_STEPS};
use crate::Felt;

const MAGIC: &[u8; 8] = b"CAIROEXE";
const VERSION: u16 = 1;
/// Longest builtin name read.
const MAX_NAME_BYTES: u64 = 64;

const NO_VALUE: u8 = 0xFF;
const NEGATED: u8 = 0x80;

/// Why an execution file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionFileError {
    #[error("not an execution file (it does not start with `CAIROEXE`)")]
    NotAnExecution,
    #[error("execution file version {0} is not supported (this build reads version {VERSION})")]
    Version(u16),
    #[error("the execution file is corrupt: {0}")]
    Corrupt(String),
    #[error("the execution file decompresses to more than {0} bytes (the most a run of the length it claims may take)")]
    TooLarge(u64),
    #[error("the execution is of another program")]
    OtherProgram,
    #[error("the execution is of other inputs")]
    OtherInputs,
    #[error("the execution is not the run of this program on these inputs: {0}")]
    NotTheRun(String),
}

fn corrupt(what: impl Into<String>) -> ExecutionFileError {
    ExecutionFileError::Corrupt(what.into())
}

impl Execution {
    /// The compressed execution file of this run.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.memory.len() * 3 + self.trace.len() * 4);
        body.extend_from_slice(&crate::program_hash(&self.bytecode));
        put_felts(&mut body, &self.inputs);
        put_varint(&mut body, self.builtins.len() as u64);
        for builtin in &self.builtins {
            let name = builtin.to_str().as_bytes();
            put_varint(&mut body, name.len() as u64);
            body.extend_from_slice(name);
        }
        put_varint(&mut body, self.steps as u64);
        for segment in [self.output, self.range_check] {
            match segment {
                None => body.push(0),
                Some(s) => {
                    body.push(1);
                    put_varint(&mut body, s.base);
                    put_varint(&mut body, s.stop);
                }
            }
        }
        put_felts(&mut body, &self.outputs);
        put_varint(&mut body, self.trace.len() as u64);
        let mut previous = Registers {
            pc: 0,
            ap: 0,
            fp: 0,
        };
        for row in &self.trace {
            for (now, before) in [
                (row.pc, previous.pc),
                (row.ap, previous.ap),
                (row.fp, previous.fp),
            ] {
                put_varint(&mut body, zigzag(now.wrapping_sub(before) as i64));
            }
            previous = *row;
        }
        put_varint(&mut body, self.memory.len() as u64);
        for cell in &self.memory {
            put_cell(&mut body, cell.as_ref());
        }

        let mut out = Vec::with_capacity(body.len() / 3 + 16);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        let mut encoder = DeflateEncoder::new(out, Compression::fast());
        // Writing into a Vec cannot fail.
        encoder
            .write_all(&body)
            .expect("compressing into memory cannot fail");
        encoder
            .finish()
            .expect("compressing into memory cannot fail")
    }
}

/// Decodes an execution file and checks that it is a run of `program` on `inputs`, within the
/// default [`ReadLimits`]. See [`read_execution_within`].
pub fn read_execution(
    bytes: &[u8],
    program: &CompiledProgram,
    inputs: &[Felt],
) -> Result<Execution, ExecutionFileError> {
    read_execution_within(bytes, program, inputs, &ReadLimits::default())
}

/// Decodes an execution file and checks that it is a run of `program` on `inputs`: the program
/// hash, the inputs, the builtins, the shape of the trace, the bytecode and `[n, inputs]` cells
/// of the memory. Does not replay the run (see [`check_execution_within`]).
///
/// The body is decompressed only as far as it is decoded, and each part is checked as soon as
/// it is read, cheapest first: a file of another program is refused after 32 decoded bytes, a
/// claim of more steps than `limits` allow before any of the trace is read, a trace that is not
/// a possible run (see [`ReadLimits`]) at its first impossible row, a memory of another
/// bytecode at its first wrong cell. Nothing is allocated for a part before its count passed
/// the bounds the claimed step count sets.
pub fn read_execution_within(
    bytes: &[u8],
    program: &CompiledProgram,
    inputs: &[Felt],
    limits: &ReadLimits,
) -> Result<Execution, ExecutionFileError> {
    let mut r = Reader::open(bytes, limits.max_decoded_bytes)?;
    let (builtins, steps) = read_header(&mut r, program, inputs, limits)?;
    let shape = Shape::new(program, inputs, steps);
    r.lower_limit(shape.decoded_bytes());
    let output = r.segment()?;
    let range_check = r.segment()?;
    let outputs = r.felts(shape.max_cells())?;
    let trace = read_trace(&mut r, &shape)?;
    let memory = read_memory(&mut r, &shape, program, inputs)?;
    r.finish()?;
    check_trace_fits_memory(&trace, &memory)?;
    Ok(Execution {
        bytecode: program.bytecode(),
        inputs: inputs.to_vec(),
        builtins,
        trace,
        memory,
        steps,
        execution_base: shape.execution_base,
        start_pc: shape.start.pc,
        end_pc: shape.end_pc,
        output,
        range_check,
        outputs,
    })
}

/// What a reader holds an execution file to, on top of the bounds the program and the claimed
/// step count set by themselves:
/// - the trace has one row per step plus the final one; it starts at `__start__` with the
///   proof-mode stack (`ap = fp =` execution base + 2), reaches `__end__` at its last row and
///   never before, keeps `pc` in the program segment and `ap`, `fp` in the memory, and never
///   repeats a row at the next step (a Cairo step that leaves the registers as they were loops
///   forever), so every claimed step is a row of the trace actually sent;
/// - the memory holds at most [`CELLS_PER_STEP`] cells per step beyond the program segment
///   (plus the reach of an instruction offset);
/// - the decoded body takes at most [`DECODED_BYTES_PER_STEP`] bytes per step beyond the
///   bytecode and the inputs at their largest encoding, and never more than `max_decoded_bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// The most steps a file may claim.
    pub max_steps: usize,
    /// The most bytes any file may decompress to.
    pub max_decoded_bytes: u64,
}

/// Decoded bytes allowed per step: a trace row is three deltas (a few bytes each) and a step
/// writes at most three cells, most of them small; this leaves room for runs full of large
/// field elements.
pub const DECODED_BYTES_PER_STEP: u64 = 128;

/// Memory cells allowed per step beyond the program segment: a step writes at most three cells
/// (`dst`, `op0`, `op1`), and one more is room for the holes `ap +=` leaves.
pub const CELLS_PER_STEP: usize = 4;

/// How far from `ap` or `fp` an instruction reaches (a signed 16-bit offset).
const OFFSET_REACH: usize = 1 << 16;

/// Decoded bytes allowed for the bytecode and the inputs, per cell (the inputs come twice: in
/// the header and in the memory), and for the fixed fields.
const MAX_CELL_BYTES: u64 = 33;
const FIXED_BYTES: u64 = 1024;

/// Room [`ReadLimits::for_steps`] leaves for the bytecode and the inputs (a program and an input
/// group at the server's default upload limits).
const PROGRAM_ROOM: u64 = 64 << 20;

impl ReadLimits {
    /// The limits for runs of at most `max_steps` steps: the decoded body may take
    /// [`DECODED_BYTES_PER_STEP`] per step, plus room for a large program and input group.
    pub fn for_steps(max_steps: usize) -> Self {
        ReadLimits {
            max_steps,
            max_decoded_bytes: (max_steps as u64 + 1)
                .saturating_mul(DECODED_BYTES_PER_STEP)
                .saturating_add(PROGRAM_ROOM),
        }
    }
}

impl Default for ReadLimits {
    /// Runs of up to [`DEFAULT_MAX_STEPS`] (see [`ReadLimits::for_steps`]).
    fn default() -> Self {
        ReadLimits::for_steps(DEFAULT_MAX_STEPS)
    }
}

/// What the program, the inputs and the claimed step count fix about a run.
struct Shape {
    steps: usize,
    start: Registers,
    end_pc: u64,
    execution_base: u64,
    bytecode_len: usize,
    inputs: usize,
}

impl Shape {
    fn new(program: &CompiledProgram, inputs: &[Felt], steps: usize) -> Self {
        let execution_base = crate::statement::execution_base(program.bytecode_len(), inputs.len());
        Shape {
            steps,
            start: Registers {
                pc: code_address(program.start_offset()),
                ap: execution_base + 2,
                fp: execution_base + 2,
            },
            end_pc: code_address(program.end_offset()),
            execution_base,
            bytecode_len: program.bytecode_len(),
            inputs: inputs.len(),
        }
    }

    fn max_cells(&self) -> usize {
        (self.execution_base as usize)
            .saturating_add(self.steps.saturating_add(1).saturating_mul(CELLS_PER_STEP))
            .saturating_add(OFFSET_REACH)
    }

    fn decoded_bytes(&self) -> u64 {
        let program_cells = self.bytecode_len as u64 + 2 * (self.inputs as u64 + 1);
        (self.steps as u64 + 1)
            .saturating_mul(DECODED_BYTES_PER_STEP)
            .saturating_add(program_cells.saturating_mul(MAX_CELL_BYTES))
            .saturating_add(FIXED_BYTES)
    }
}

/// Reads the program hash, the inputs, the builtins and the step count, refusing at the first
/// one that is not the caller's (or over the limit). Returns the builtins and the steps.
fn read_header<R: Read>(
    r: &mut Reader<R>,
    program: &CompiledProgram,
    inputs: &[Felt],
    limits: &ReadLimits,
) -> Result<(Vec<BuiltinName>, usize), ExecutionFileError> {
    if r.array::<32>()? != program.hash() {
        return Err(ExecutionFileError::OtherProgram);
    }
    if r.varint()? != inputs.len() as u64 {
        return Err(ExecutionFileError::OtherInputs);
    }
    for expected in inputs {
        if r.cell()? != Some(*expected) {
            return Err(ExecutionFileError::OtherInputs);
        }
    }
    let expected = program.builtins();
    if r.varint()? != expected.len() as u64 {
        return Err(not_the_run("its builtins are not the program's"));
    }
    let mut builtins = Vec::with_capacity(expected.len());
    for _ in 0..expected.len() {
        let name = r.name()?;
        builtins.push(
            BuiltinName::from_str(&name)
                .ok_or_else(|| corrupt(format!("unknown builtin `{name}`")))?,
        );
    }
    if builtins != expected {
        return Err(not_the_run("its builtins are not the program's"));
    }
    let steps = usize::try_from(r.varint()?).map_err(|_| corrupt("the step count"))?;
    if steps == 0 || steps > limits.max_steps {
        return Err(not_the_run(format!(
            "{steps} steps (a run has 1 to {})",
            limits.max_steps
        )));
    }
    Ok((builtins, steps))
}

/// Reads the register trace, refusing at its first row that a run cannot have.
fn read_trace<R: Read>(
    r: &mut Reader<R>,
    shape: &Shape,
) -> Result<Vec<Registers>, ExecutionFileError> {
    let rows = r.varint()?;
    if rows != shape.steps as u64 + 1 {
        return Err(corrupt(format!(
            "{rows} trace rows for {} steps (expected one more row than steps)",
            shape.steps
        )));
    }
    let mut trace = Vec::with_capacity(shape.steps + 1);
    let mut previous = Registers {
        pc: 0,
        ap: 0,
        fp: 0,
    };
    for t in 0..=shape.steps {
        let pc = previous.pc.wrapping_add(unzigzag(r.varint()?) as u64);
        let ap = previous.ap.wrapping_add(unzigzag(r.varint()?) as u64);
        let fp = previous.fp.wrapping_add(unzigzag(r.varint()?) as u64);
        let row = Registers { pc, ap, fp };
        check_row(shape, t, row, previous)?;
        trace.push(row);
        previous = row;
    }
    Ok(trace)
}

/// Refuses row `t` of the trace if no run of the program can have it (see [`ReadLimits`]).
fn check_row(
    shape: &Shape,
    t: usize,
    row: Registers,
    previous: Registers,
) -> Result<(), ExecutionFileError> {
    let problem = if t == 0 && row != shape.start {
        "does not start at `__start__` with the proof-mode stack"
    } else if t > 0 && row == previous {
        "repeats the registers of the step before (a run that does never ends)"
    } else if (t == shape.steps) != (row.pc == shape.end_pc) {
        "does not reach `__end__` exactly at its last row"
    } else if row.pc == 0 || row.pc >= shape.execution_base {
        "has a pc outside the program"
    } else if row.ap < shape.execution_base || row.fp < shape.execution_base {
        "has an ap or fp below the execution segment"
    } else {
        return Ok(());
    };
    Err(not_the_run(format!("its trace {problem} (row {t})")))
}

/// Reads the relocated memory, refusing at its first cell that is not the program's bytecode or
/// `[n, inputs]`, and before allocating for the rest.
fn read_memory<R: Read>(
    r: &mut Reader<R>,
    shape: &Shape,
    program: &CompiledProgram,
    inputs: &[Felt],
) -> Result<Vec<Option<Felt>>, ExecutionFileError> {
    let cells = usize::try_from(r.varint()?).map_err(|_| corrupt("the memory size"))?;
    if cells > shape.max_cells() {
        return Err(not_the_run(format!(
            "{cells} memory cells for {} steps (at most {} beyond the program)",
            shape.steps,
            CELLS_PER_STEP * (shape.steps + 1) + OFFSET_REACH
        )));
    }
    let bound = std::iter::once(None)
        .chain(program.bytecode().into_iter().map(Some))
        .chain(std::iter::once(Some(Felt::from(inputs.len() as u64))))
        .chain(inputs.iter().copied().map(Some));
    let mut memory = Vec::new();
    for (address, expected) in bound.enumerate() {
        // Address 0 is never used; the program segment starts at address 1.
        let cell = if address < cells { r.cell()? } else { None };
        if address > 0 && cell != expected {
            return Err(not_the_run(format!(
                "memory cell {address} is not the program's bytecode or inputs"
            )));
        }
        memory.push(cell);
    }
    memory.reserve(cells.saturating_sub(memory.len()));
    while memory.len() < cells {
        memory.push(r.cell()?);
    }
    Ok(memory)
}

/// Refuses a trace whose instructions or registers lie outside the memory sent.
fn check_trace_fits_memory(
    trace: &[Registers],
    memory: &[Option<Felt>],
) -> Result<(), ExecutionFileError> {
    let cells = memory.len() as u64;
    let outside = trace.iter().position(|row| {
        row.ap > cells || row.fp > cells || memory.get(row.pc as usize).is_none_or(Option::is_none)
    });
    match outside {
        Some(t) => Err(not_the_run(format!(
            "its trace row {t} points outside the memory sent"
        ))),
        None => Ok(()),
    }
}

/// Decodes an execution file and replays it, within the default [`ReadLimits`]. See
/// [`check_execution_within`].
pub fn check_execution(
    bytes: &[u8],
    program: &CompiledProgram,
    inputs: &[Felt],
) -> Result<Execution, ExecutionFileError> {
    check_execution_within(bytes, program, inputs, &ReadLimits::default())
}

/// Decodes an execution file ([`read_execution_within`]) and replays the run in cairo-vm:
/// accepted only if the file holds exactly the run of `program` on `inputs`, cell for cell and
/// step for step. The replay is bounded by the claimed step count, so it never runs longer than
/// the claim, and the claim was checked against the trace sent before the replay starts.
pub fn check_execution_within(
    bytes: &[u8],
    program: &CompiledProgram,
    inputs: &[Felt],
    limits: &ReadLimits,
) -> Result<Execution, ExecutionFileError> {
    let claimed = read_execution_within(bytes, program, inputs, limits)?;
    let replayed = execute_with_limit(program, inputs, claimed.steps)
        .map_err(|e| not_the_run(format!("replaying it in cairo-vm: {e}")))?;
    let differs = if replayed.steps != claimed.steps {
        Some(format!(
            "it claims {} steps, the program takes {}",
            claimed.steps, replayed.steps
        ))
    } else if replayed.trace != claimed.trace {
        let row = first_difference(&replayed.trace, &claimed.trace);
        Some(format!("the registers differ at step {row}"))
    } else if replayed.memory != claimed.memory {
        let address = first_difference(&replayed.memory, &claimed.memory);
        Some(format!("memory cell {address} differs"))
    } else if replayed.outputs != claimed.outputs {
        Some("the outputs differ".to_string())
    } else if (
        replayed.execution_base,
        replayed.start_pc,
        replayed.end_pc,
        replayed.output,
        replayed.range_check,
    ) != (
        claimed.execution_base,
        claimed.start_pc,
        claimed.end_pc,
        claimed.output,
        claimed.range_check,
    ) {
        Some("the segments or the start and end pc differ".to_string())
    } else {
        None
    };
    match differs {
        Some(reason) => Err(not_the_run(reason)),
        None => Ok(claimed),
    }
}

fn not_the_run(reason: impl Into<String>) -> ExecutionFileError {
    ExecutionFileError::NotTheRun(reason.into())
}

/// The first index where `a` and `b` differ (or the shorter length).
fn first_difference<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

fn unzigzag(x: u64) -> i64 {
    ((x >> 1) as i64) ^ -((x & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn put_felts(out: &mut Vec<u8>, xs: &[Felt]) {
    put_varint(out, xs.len() as u64);
    for x in xs {
        put_cell(out, Some(x));
    }
}

fn put_cell(out: &mut Vec<u8>, cell: Option<&Felt>) {
    let Some(x) = cell else {
        out.push(NO_VALUE);
        return;
    };
    let plain = x.to_bytes_be();
    let negated = (-x).to_bytes_be();
    let significant = |b: &[u8; 32]| b.iter().position(|&v| v != 0).unwrap_or(32);
    let (tag, bytes) = if significant(&negated) > significant(&plain) {
        (NEGATED, negated)
    } else {
        (0, plain)
    };
    let start = significant(&bytes);
    out.push(tag | (32 - start) as u8);
    out.extend_from_slice(&bytes[start..]);
}

/// A cursor over the body, decompressed as it is read and never beyond its limit.
struct Reader<R> {
    source: R,
    decoded: u64,
    limit: u64,
}

impl<'a> Reader<std::io::BufReader<DeflateDecoder<&'a [u8]>>> {
    /// Checks the magic and the version, and starts decompressing what follows.
    fn open(bytes: &'a [u8], limit: u64) -> Result<Self, ExecutionFileError> {
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(ExecutionFileError::NotAnExecution)?;
        let (version, compressed) = rest
            .split_first_chunk::<2>()
            .ok_or_else(|| corrupt("no version"))?;
        let version = u16::from_le_bytes(*version);
        if version != VERSION {
            return Err(ExecutionFileError::Version(version));
        }
        Ok(Reader {
            source: std::io::BufReader::new(DeflateDecoder::new(compressed)),
            decoded: 0,
            limit,
        })
    }
}

impl<R: Read> Reader<R> {
    /// Lowers the limit (never raises it).
    fn lower_limit(&mut self, limit: u64) {
        self.limit = self.limit.min(limit);
    }

    fn fill(&mut self, out: &mut [u8]) -> Result<(), ExecutionFileError> {
        self.decoded += out.len() as u64;
        if self.decoded > self.limit {
            return Err(ExecutionFileError::TooLarge(self.limit));
        }
        self.source.read_exact(out).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => corrupt("it ends early"),
            _ => corrupt(format!("the compressed body: {e}")),
        })
    }

    fn byte(&mut self) -> Result<u8, ExecutionFileError> {
        let mut out = [0; 1];
        self.fill(&mut out)?;
        Ok(out[0])
    }

    /// Refuses anything after the last field.
    fn finish(mut self) -> Result<(), ExecutionFileError> {
        let mut probe = [0; 1];
        match self.source.read(&mut probe) {
            Ok(0) => Ok(()),
            Ok(_) => Err(corrupt("bytes after the memory")),
            Err(e) => Err(corrupt(format!("the compressed body: {e}"))),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ExecutionFileError> {
        let mut out = [0; N];
        self.fill(&mut out)?;
        Ok(out)
    }

    fn varint(&mut self) -> Result<u64, ExecutionFileError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7F);
            if shift == 63 && bits > 1 {
                return Err(corrupt("a number over 64 bits"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(corrupt("a number over 64 bits"))
    }

    /// A builtin name (short ASCII).
    fn name(&mut self) -> Result<String, ExecutionFileError> {
        let len = self.varint()?;
        if len > MAX_NAME_BYTES {
            return Err(corrupt("a builtin name"));
        }
        let mut name = vec![0; len as usize];
        self.fill(&mut name)?;
        String::from_utf8(name).map_err(|_| corrupt("a builtin name"))
    }

    fn cell(&mut self) -> Result<Option<Felt>, ExecutionFileError> {
        let tag = self.byte()?;
        if tag == NO_VALUE {
            return Ok(None);
        }
        let len = usize::from(tag & !NEGATED);
        if len > 32 || tag & 0x40 != 0 {
            return Err(corrupt(format!("a felt tag {tag:#04x}")));
        }
        let mut padded = [0u8; 32];
        self.fill(&mut padded[32 - len..])?;
        let felt = Felt::from_bytes_be(&padded).map_err(|_| corrupt("a felt"))?;
        if felt.to_bytes_be() != padded {
            return Err(corrupt("a felt that is not below the field's modulus"));
        }
        Ok(Some(if tag & NEGATED != 0 { -felt } else { felt }))
    }

    /// A list of at most `max` felts.
    fn felts(&mut self, max: usize) -> Result<Vec<Felt>, ExecutionFileError> {
        let n = self.varint()?;
        if n > max as u64 {
            return Err(corrupt(format!("a list of {n} values (at most {max})")));
        }
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.cell()?.ok_or_else(|| corrupt("a missing felt"))?);
        }
        Ok(out)
    }

    fn segment(&mut self) -> Result<Option<Segment>, ExecutionFileError> {
        match self.byte()? {
            0 => Ok(None),
            1 => Ok(Some(Segment {
                base: self.varint()?,
                stop: self.varint()?,
            })),
            other => Err(corrupt(format!("a segment flag {other}"))),
        }
    }
}
