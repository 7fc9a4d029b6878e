//! The statement a proof is about, and the public memory the verifier rebuilds from it.
//!
//! A [`Statement`] joins two halves:
//! - what the verifier knows by itself: the program (bytecode, entry and end labels, builtins)
//!   and the input group, both handed in by the caller;
//! - a [`Claim`] the prover makes and the proof file carries: outputs, step count, final `ap`,
//!   builtin segment addresses, trace length and the 16-bit range-check bounds.
//!
//! [`Statement::new`] refuses claims that are malformed or place segments out of order, so the
//! AIR never works with a nonsensical layout. The public memory it derives is what the AIR's
//! memory argument pins: program + `[n, inputs]` from address 1, the proof-mode initial stack,
//! the final builtin pointers below the final `ap`, and the output cells.

use cairo_vm::types::builtin_name::BuiltinName;

use crate::layout::{code_address, PROGRAM_BASE};
use crate::program::CompiledProgram;
use crate::Felt;

/// Smallest and largest supported trace (log2 of rows).
/// The AIR's limb table is a periodic column of 256 rows, hence the minimum.
pub const MIN_LOG_TRACE_LENGTH: u8 = 8;
pub const MAX_LOG_TRACE_LENGTH: u8 = 26;

/// Addresses stay far below the field size; the AIR compares them as integers.
const MAX_ADDRESS: u64 = 1 << 40;

/// What the prover asserts about its run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// Values the program wrote to the output builtin.
    pub outputs: Vec<Felt>,
    /// Number of Cairo steps until the first arrival at `__end__`.
    pub steps: u64,
    /// log2 of the number of trace rows.
    pub log_trace_length: u8,
    /// `ap` when the run reached `__end__`.
    pub final_ap: u64,
    /// Base of the output segment (0 when the program has no output builtin).
    pub output_base: u64,
    /// Range-check segment `[base, stop)` (both 0 when the program has no such builtin).
    pub range_check_base: u64,
    pub range_check_stop: u64,
    /// Bounds of the sorted 16-bit chain of instruction offsets.
    pub offset_min: u16,
    pub offset_max: u16,
    /// The key of the donor the proof is bound to (an Ed25519 public key), if any. It is part of
    /// the statement the transcript absorbs, so every challenge depends on it: the same proof
    /// with another key (or none) does not verify, and nobody can present a donor's proof as
    /// their own.
    pub prover_key: Option<[u8; 32]>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("trace length 2^{0} is outside the supported 2^{MIN_LOG_TRACE_LENGTH}..=2^{MAX_LOG_TRACE_LENGTH}")]
    TraceLength(u8),
    #[error("step count {steps} does not fit a trace of {rows} rows (need 1 <= steps < rows)")]
    Steps { steps: u64, rows: usize },
    #[error("the claimed memory layout is invalid: {0}")]
    Layout(String),
    #[error("the claimed range-check bounds are invalid: {0}")]
    RangeBounds(String),
}

/// A fully determined statement: "running `bytecode` on `inputs` from `__start__` reaches
/// `__end__` for the first time after `steps` steps, with these builtin segments and outputs".
#[derive(Clone, Debug)]
pub struct Statement {
    pub bytecode: Vec<Felt>,
    pub inputs: Vec<Felt>,
    pub builtins: Vec<BuiltinName>,
    pub start_pc: u64,
    pub end_pc: u64,
    pub claim: Claim,
}

impl Statement {
    /// Joins the caller's program and inputs with a claim, checking the claim's layout.
    pub fn new(
        program: &CompiledProgram,
        inputs: &[Felt],
        claim: Claim,
    ) -> Result<Self, StatementError> {
        Self::from_parts(
            program.bytecode(),
            inputs.to_vec(),
            program.builtins(),
            code_address(program.start_offset()),
            code_address(program.end_offset()),
            claim,
        )
    }

    pub(crate) fn from_parts(
        bytecode: Vec<Felt>,
        inputs: Vec<Felt>,
        builtins: Vec<BuiltinName>,
        start_pc: u64,
        end_pc: u64,
        claim: Claim,
    ) -> Result<Self, StatementError> {
        let statement = Self {
            bytecode,
            inputs,
            builtins,
            start_pc,
            end_pc,
            claim,
        };
        statement.check()?;
        Ok(statement)
    }

    pub fn trace_length(&self) -> usize {
        1usize << self.claim.log_trace_length
    }

    /// First address after the program and its appended inputs: where cairo-vm's relocation
    /// puts the execution segment.
    pub fn execution_base(&self) -> u64 {
        execution_base(self.bytecode.len(), self.inputs.len())
    }

    /// `ap` and `fp` at the first step (proof mode: two cells above the execution base).
    pub fn initial_ap(&self) -> u64 {
        self.execution_base() + 2
    }

    pub fn has_output(&self) -> bool {
        self.builtins.contains(&BuiltinName::output)
    }

    pub fn has_range_check(&self) -> bool {
        self.builtins.contains(&BuiltinName::range_check)
    }

    pub fn output_stop(&self) -> u64 {
        self.claim.output_base + self.claim.outputs.len() as u64
    }

    /// Number of range-check builtin cells used.
    pub fn range_check_instances(&self) -> u64 {
        self.claim.range_check_stop - self.claim.range_check_base
    }

    /// `(base, stop)` of each declared builtin, in declaration order.
    pub(crate) fn builtin_pointers(&self) -> Vec<(u64, u64)> {
        self.builtins
            .iter()
            .map(|b| match *b {
                BuiltinName::output => (self.claim.output_base, self.output_stop()),
                BuiltinName::range_check => {
                    (self.claim.range_check_base, self.claim.range_check_stop)
                }
                // `check` refuses every other builtin.
                _ => (0, 0),
            })
            .collect()
    }

    /// Number of public memory cells (counted with multiplicity, as the AIR does).
    pub fn public_memory_len(&self) -> usize {
        self.bytecode.len()
            + 1
            + self.inputs.len()
            + 2
            + 2 * self.builtins.len()
            + self.claim.outputs.len()
    }

    /// Every public `(address, value)` pair. Duplicated addresses are allowed (the memory
    /// argument then forces their values to agree).
    pub fn public_memory(&self) -> Vec<(u64, Felt)> {
        public_memory_cells(
            &self.bytecode,
            &self.inputs,
            &self.builtin_pointers(),
            self.claim.final_ap,
            self.claim.output_base,
            &self.claim.outputs,
        )
    }

    fn check(&self) -> Result<(), StatementError> {
        let c = &self.claim;
        if !(MIN_LOG_TRACE_LENGTH..=MAX_LOG_TRACE_LENGTH).contains(&c.log_trace_length) {
            return Err(StatementError::TraceLength(c.log_trace_length));
        }
        let rows = self.trace_length();
        if c.steps == 0 || c.steps >= rows as u64 {
            return Err(StatementError::Steps {
                steps: c.steps,
                rows,
            });
        }
        let layout = |m: &str| Err(StatementError::Layout(m.to_string()));
        if let Some(b) = self
            .builtins
            .iter()
            .find(|b| !crate::program::SUPPORTED_BUILTINS.contains(b))
        {
            return layout(&format!("unsupported builtin {}", b.to_str()));
        }
        for (i, b) in self.builtins.iter().enumerate() {
            if self.builtins[..i].contains(b) {
                return layout("a builtin is declared twice");
            }
        }
        let bytecode_end = code_address(self.bytecode.len());
        if self.start_pc >= bytecode_end || self.end_pc + 1 >= bytecode_end {
            return layout("entry or end label outside the bytecode");
        }
        // The step count is "first arrival at __end__"; it is unique because __end__ never lets
        // the run leave again, which holds for the proof-mode `jmp rel 0`.
        let end = (self.end_pc - PROGRAM_BASE) as usize;
        if self.bytecode[end] != Felt::from(crate::layout::JMP_REL_0)
            || self.bytecode[end + 1] != Felt::zero()
        {
            return layout("the instruction at __end__ is not `jmp rel 0`");
        }
        let n_builtins = self.builtins.len() as u64;
        let initial_ap = self.initial_ap();
        if c.final_ap < initial_ap + n_builtins || c.final_ap > MAX_ADDRESS {
            return layout("final ap is outside the execution segment");
        }
        let mut next_free = c.final_ap;
        if self.has_output() {
            if c.output_base < next_free || c.output_base > MAX_ADDRESS {
                return layout("output segment overlaps the execution segment");
            }
            if c.outputs.len() as u64 > MAX_ADDRESS {
                return layout("too many outputs");
            }
            next_free = self.output_stop();
        } else if c.output_base != 0 || !c.outputs.is_empty() {
            return layout("outputs claimed for a program without the output builtin");
        }
        if self.has_range_check() {
            if c.range_check_base < next_free
                || c.range_check_stop < c.range_check_base
                || c.range_check_stop > MAX_ADDRESS
            {
                return layout("range-check segment out of order");
            }
            // The AIR checks one cell per block and keeps the last block unused.
            if self.range_check_instances() >= (rows / crate::layout::RC_BLOCK) as u64 {
                return layout("more range-check cells than the trace can hold");
            }
        } else if c.range_check_base != 0 || c.range_check_stop != 0 {
            return layout("range-check cells claimed for a program without that builtin");
        }
        if c.offset_min > c.offset_max {
            return Err(StatementError::RangeBounds("min above max".into()));
        }
        Ok(())
    }

    /// Canonical bytes of the whole statement, for the transcript.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 * (self.public_memory_len() + 8));
        out.extend_from_slice(b"cairo-stark statement v3");
        let felts = |out: &mut Vec<u8>, xs: &[Felt]| {
            out.extend_from_slice(&(xs.len() as u64).to_le_bytes());
            for x in xs {
                out.extend_from_slice(&x.to_bytes_be());
            }
        };
        felts(&mut out, &self.bytecode);
        felts(&mut out, &self.inputs);
        out.extend_from_slice(&(self.builtins.len() as u64).to_le_bytes());
        for b in &self.builtins {
            let name = b.to_str().as_bytes();
            out.push(name.len() as u8);
            out.extend_from_slice(name);
        }
        let c = &self.claim;
        for v in [
            self.start_pc,
            self.end_pc,
            c.steps,
            c.log_trace_length as u64,
            c.final_ap,
            c.output_base,
            c.range_check_base,
            c.range_check_stop,
            c.offset_min as u64,
            c.offset_max as u64,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        felts(&mut out, &c.outputs);
        push_prover_key(&mut out, c.prover_key.as_ref());
        out
    }
}

/// A claim's optional donor key as the statement and the proof file both write it: a byte 0, or
/// a byte 1 followed by the 32-byte key.
pub(crate) fn push_prover_key(out: &mut Vec<u8>, key: Option<&[u8; 32]>) {
    match key {
        Some(key) => {
            out.push(1);
            out.extend_from_slice(key);
        }
        None => out.push(0),
    }
}

/// The public memory of a run: bytecode and `[n, inputs]` from address 1, the proof-mode initial
/// stack `[initial fp, 0, builtin bases]` at the execution base, the final builtin pointers
/// (`pointers[i] = (base, stop)`, declaration order) right below `final_ap`, and the outputs.
/// Where the execution segment starts: the program segment starts at address 1 and holds the
/// bytecode, then `[n, inputs]`; the execution segment follows it.
pub fn execution_base(bytecode_len: usize, inputs: usize) -> u64 {
    code_address(bytecode_len) + 1 + inputs as u64
}

pub(crate) fn public_memory_cells(
    bytecode: &[Felt],
    inputs: &[Felt],
    pointers: &[(u64, u64)],
    final_ap: u64,
    output_base: u64,
    outputs: &[Felt],
) -> Vec<(u64, Felt)> {
    let mut cells =
        Vec::with_capacity(bytecode.len() + inputs.len() + 3 + 2 * pointers.len() + outputs.len());
    let mut address = 1u64;
    for word in bytecode {
        cells.push((address, *word));
        address += 1;
    }
    cells.push((address, Felt::from(inputs.len() as u64)));
    address += 1;
    for x in inputs {
        cells.push((address, *x));
        address += 1;
    }
    let exec = address;
    cells.push((exec, Felt::from(exec + 2)));
    cells.push((exec + 1, Felt::zero()));
    for (i, (base, _)) in pointers.iter().enumerate() {
        cells.push((exec + 2 + i as u64, Felt::from(*base)));
    }
    let first_stop = final_ap.saturating_sub(pointers.len() as u64);
    for (i, (_, stop)) in pointers.iter().enumerate() {
        cells.push((first_stop + i as u64, Felt::from(*stop)));
    }
    for (i, value) in outputs.iter().enumerate() {
        cells.push((output_base + i as u64, *value));
    }
    cells
}
