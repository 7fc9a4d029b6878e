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
//! bytecode and `[n, inputs]` cells, builtins); a prover may use it, because a run that is wrong
//! anywhere else only yields a proof that does not verify. [`check_execution`] also replays the
//! run in cairo-vm and accepts only exactly that run: what a server does before it stores an
//! execution for others to prove, so no donor spends hours proving junk.

use std::io::{Read, Write};

use lambdaworks_math::traits::ByteConversion;

use cairo_vm::types::builtin_name::BuiltinName;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use crate::program::CompiledProgram;
use crate::vm::{execute_with_limit, Execution, Registers, Segment, DEFAULT_MAX_STEPS};
use crate::Felt;

const MAGIC: &[u8; 8] = b"CAIROEXE";
const VERSION: u16 = 1;
/// Largest decompressed body read (a run of [`DEFAULT_MAX_STEPS`] takes a few tens of MB).
pub const MAX_DECODED_BYTES: u64 = 256 << 20;

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
    #[error("the execution file decompresses to more than {} MiB", MAX_DECODED_BYTES >> 20)]
    TooLarge,
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

/// Decodes an execution file and checks that it is a run of `program` on `inputs`: the program
/// hash, the inputs, the bytecode and `[n, inputs]` cells of the memory, the builtins and the
/// shape of the trace. Does not replay the run (see [`check_execution`]).
pub fn read_execution(
    bytes: &[u8],
    program: &CompiledProgram,
    inputs: &[Felt],
) -> Result<Execution, ExecutionFileError> {
    let body = decompress(bytes)?;
    let mut r = Reader { bytes: &body };
    if r.array::<32>()? != program.hash() {
        return Err(ExecutionFileError::OtherProgram);
    }
    if r.felts()? != inputs {
        return Err(ExecutionFileError::OtherInputs);
    }
    let builtin_count = r.length()?;
    let mut builtins = Vec::new();
    for _ in 0..builtin_count {
        let len = r.length()?;
        let name = std::str::from_utf8(r.take(len)?).map_err(|_| corrupt("a builtin name"))?;
        builtins.push(
            BuiltinName::from_str(name)
                .ok_or_else(|| corrupt(format!("unknown builtin `{name}`")))?,
        );
    }
    if builtins != program.builtins() {
        return Err(not_the_run("its builtins are not the program's"));
    }
    let steps = usize::try_from(r.varint()?).map_err(|_| corrupt("the step count"))?;
    if steps == 0 || steps > DEFAULT_MAX_STEPS {
        return Err(not_the_run(format!(
            "{steps} steps (a run has 1 to {DEFAULT_MAX_STEPS})"
        )));
    }
    let output = r.segment()?;
    let range_check = r.segment()?;
    let outputs = r.felts()?;
    let rows = r.length()?;
    if rows != steps + 1 {
        return Err(corrupt(format!(
            "{rows} trace rows for {steps} steps (expected one more row than steps)"
        )));
    }
    let mut trace = Vec::with_capacity(rows);
    let mut previous = Registers {
        pc: 0,
        ap: 0,
        fp: 0,
    };
    for _ in 0..rows {
        let pc = previous.pc.wrapping_add(unzigzag(r.varint()?) as u64);
        let ap = previous.ap.wrapping_add(unzigzag(r.varint()?) as u64);
        let fp = previous.fp.wrapping_add(unzigzag(r.varint()?) as u64);
        previous = Registers { pc, ap, fp };
        trace.push(previous);
    }
    let cells = r.length()?;
    let mut memory = Vec::with_capacity(cells);
    for _ in 0..cells {
        memory.push(r.cell()?);
    }
    if !r.bytes.is_empty() {
        return Err(corrupt(format!("{} bytes after the memory", r.bytes.len())));
    }

    let bytecode = program.bytecode();
    let bound = bytecode
        .iter()
        .copied()
        .chain(std::iter::once(Felt::from(inputs.len() as u64)))
        .chain(inputs.iter().copied());
    for (offset, expected) in bound.enumerate() {
        // The program segment starts at address 1.
        if memory.get(1 + offset).copied().flatten() != Some(expected) {
            return Err(not_the_run(format!(
                "memory cell {} is not the program's bytecode or inputs",
                1 + offset
            )));
        }
    }
    let execution_base = crate::statement::execution_base(bytecode.len(), inputs.len());
    Ok(Execution {
        bytecode,
        inputs: inputs.to_vec(),
        builtins,
        trace,
        memory,
        steps,
        execution_base,
        start_pc: 1 + program.start_offset() as u64,
        end_pc: 1 + program.end_offset() as u64,
        output,
        range_check,
        outputs,
    })
}

/// Decodes an execution file ([`read_execution`]) and replays the run in cairo-vm: accepted only
/// if the file holds exactly the run of `program` on `inputs`, cell for cell and step for step.
/// The replay is bounded by the claimed step count, so it never runs longer than the claim.
pub fn check_execution(
    bytes: &[u8],
    program: &CompiledProgram,
    inputs: &[Felt],
) -> Result<Execution, ExecutionFileError> {
    let claimed = read_execution(bytes, program, inputs)?;
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

fn decompress(bytes: &[u8]) -> Result<Vec<u8>, ExecutionFileError> {
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
    let mut body = Vec::new();
    DeflateDecoder::new(compressed)
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| corrupt(format!("the compressed body: {e}")))?;
    if body.len() as u64 > MAX_DECODED_BYTES {
        return Err(ExecutionFileError::TooLarge);
    }
    Ok(body)
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

/// A bounds-checked cursor over the decompressed body.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], ExecutionFileError> {
        if len > self.bytes.len() {
            return Err(corrupt("it ends early"));
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ExecutionFileError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn varint(&mut self) -> Result<u64, ExecutionFileError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
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

    /// A count of items that take at least one byte each: never more than the bytes left, so
    /// a hostile count cannot make the decoder allocate more than the body it holds.
    fn length(&mut self) -> Result<usize, ExecutionFileError> {
        let n = self.varint()?;
        if n > self.bytes.len() as u64 {
            return Err(corrupt(format!(
                "a count of {n} with {} bytes left",
                self.bytes.len()
            )));
        }
        Ok(n as usize)
    }

    fn cell(&mut self) -> Result<Option<Felt>, ExecutionFileError> {
        let tag = self.take(1)?[0];
        if tag == NO_VALUE {
            return Ok(None);
        }
        let len = usize::from(tag & !NEGATED);
        if len > 32 || tag & 0x40 != 0 {
            return Err(corrupt(format!("a felt tag {tag:#04x}")));
        }
        let mut padded = [0u8; 32];
        padded[32 - len..].copy_from_slice(self.take(len)?);
        let felt = Felt::from_bytes_be(&padded).map_err(|_| corrupt("a felt"))?;
        if felt.to_bytes_be() != padded {
            return Err(corrupt("a felt that is not below the field's modulus"));
        }
        Ok(Some(if tag & NEGATED != 0 { -felt } else { felt }))
    }

    fn felts(&mut self) -> Result<Vec<Felt>, ExecutionFileError> {
        let n = self.length()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.cell()?.ok_or_else(|| corrupt("a missing felt"))?);
        }
        Ok(out)
    }

    fn segment(&mut self) -> Result<Option<Segment>, ExecutionFileError> {
        match self.take(1)?[0] {
            0 => Ok(None),
            1 => Ok(Some(Segment {
                base: self.varint()?,
                stop: self.varint()?,
            })),
            other => Err(corrupt(format!("a segment flag {other}"))),
        }
    }
}
