//! Prove that a compiled Cairo 0 program, run on exactly these inputs, produced exactly these
//! outputs; and check such proofs.
//!
//! # The statement
//! A verified proof establishes: *there is a Cairo execution (Cairo paper, eprint 2021/1063) of
//! the caller's bytecode, with `[n, x1..xn]` (the caller's input group) stored right after it,
//! that starts at `__start__` with the proof-mode initial stack `[fp, 0, builtin bases]`, reaches
//! `__end__` for the first time after exactly `steps` steps with the claimed final `ap`, whose
//! `main` returned the claimed final builtin pointers, and whose output segment holds exactly
//! the returned outputs; every range-check builtin cell it used holds a value below 2^128.*
//! The program and inputs come from the verifier's caller, never from the proof: the verifier
//! rebuilds the public memory (bytecode, inputs, initial stack, final pointers, outputs) itself
//! and the memory argument of the AIR pins those cells.
//!
//! # Rooms
//! - [`program`] and [`inputs`]: validation of what organizations upload (a compiled proof-mode
//!   program, a CSV of field elements). Used by the server at its edge and by both CLIs.
//! - [`vm`]: runs the program in cairo-vm (proof mode) with the inputs appended to its bytecode.
//! - [`statement`]: the claim a proof makes and the public memory derived from it.
//! - [`air`]: the Cairo AIR (one step per row, 59 columns, degree 3).
//! - [`format`](mod@format): the versioned proof file.
//! - [`execution_file`]: a finished run as bytes, for execution-only donors to hand to provers.
//! - [`guest_template`]: the template organizations start their programs from.
//!
//! The generic STARK machinery lives in the `stark` crate and knows nothing about Cairo.
//! No I/O beyond the bytes the caller hands in.

pub mod air;
pub mod cost;
pub mod execution_file;
mod felt;
pub mod format;
pub mod guest_template;
pub mod inputs;
mod layout;
pub mod program;
pub mod statement;
pub mod vm;

pub use execution_file::{check_execution, read_execution, ExecutionFileError};
pub use format::{FormatError, ProofFile};
pub use layout::JMP_REL_0;
pub use program::{CompiledProgram, ProgramError};
pub use stark::{Felt, HashFunction, MemoryMode, ProofOptions, SecurityLevel};
pub use statement::{Claim, Statement, StatementError};
pub use vm::{execute, execute_with_limit, Execution, ExecutionError};

use air::CairoAir;

/// The phases of a proof, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProvePhase {
    /// Building the main trace (decoding, sorting the memory and range checks).
    Trace,
    /// Committing the trace columns.
    Commit,
    /// The composition polynomial.
    Composition,
    /// Out-of-domain values and the DEEP composition.
    Deep,
    /// FRI folding.
    Fri,
    /// Proof of work and query openings.
    Queries,
    /// The proof is complete.
    Done,
}

impl ProvePhase {
    /// A short lower-case name, for progress bars and logs.
    pub fn label(self) -> &'static str {
        match self {
            ProvePhase::Trace => "trace",
            ProvePhase::Commit => "commit",
            ProvePhase::Composition => "composition",
            ProvePhase::Deep => "deep",
            ProvePhase::Fri => "fri",
            ProvePhase::Queries => "queries",
            ProvePhase::Done => "done",
        }
    }
}

impl From<stark::Stage> for ProvePhase {
    fn from(stage: stark::Stage) -> Self {
        match stage {
            stark::Stage::Commit => ProvePhase::Commit,
            stark::Stage::Composition => ProvePhase::Composition,
            stark::Stage::Deep => ProvePhase::Deep,
            stark::Stage::Fri => ProvePhase::Fri,
            stark::Stage::Queries => ProvePhase::Queries,
        }
    }
}

/// Where a proof stands, as reported to [`prove_with_progress`]'s callback.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProveProgress {
    pub phase: ProvePhase,
    /// Fraction of the whole proof done, `0..=1`, never decreasing: each phase is weighted by
    /// its measured share of a proof's time, so it suits an ETA.
    pub fraction: f64,
    /// Trace rows being proven (an estimate during [`ProvePhase::Trace`]: the trace may grow to
    /// fit range-check cells or memory holes).
    pub rows: usize,
}

/// Share of a proof's time spent building the main trace, before the STARK prover runs
/// (measured with `bench --single 16`, which prints each phase's share).
const TRACE_SHARE: f64 = 0.01;

#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("cannot build the trace: {0}")]
    Trace(#[from] air::TraceError),
    #[error("invalid proof options: {0}")]
    Options(#[from] stark::InvalidOptions),
    #[error("the STARK prover failed: {0}")]
    Stark(#[from] stark::ProvingError),
    #[error("proving {rows} trace rows needs about {needed} bytes, more than the {limit} allowed")]
    TooLarge {
        rows: usize,
        needed: u64,
        limit: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Format(#[from] FormatError),
    #[error("the proof is for another program (program hash differs)")]
    OtherProgram,
    #[error("the proof is for another input group")]
    OtherInputs,
    #[error("the proof's claim is invalid: {0}")]
    Claim(#[from] StatementError),
    #[error("the proof does not verify: {0}")]
    Stark(#[from] stark::VerificationError),
}

/// A proof, ready to be written out with [`Proof::to_bytes`].
#[derive(Clone, Debug)]
pub struct Proof {
    pub file: ProofFile,
}

impl Proof {
    pub fn to_bytes(&self) -> Vec<u8> {
        self.file.to_bytes()
    }

    pub fn outputs(&self) -> &[Felt] {
        &self.file.claim.outputs
    }

    pub fn steps(&self) -> u64 {
        self.file.claim.steps
    }

    pub fn trace_length(&self) -> usize {
        1 << self.file.claim.log_trace_length
    }
}

/// What a successful verification establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The values the program wrote to its output builtin.
    pub outputs: Vec<Felt>,
    pub steps: u64,
    pub trace_length: usize,
    pub options: ProofOptions,
    /// Conjectured security of the proof, in bits.
    pub security_bits: u32,
    /// Provable security of the proof, in bits (see [`SecurityPolicy::min_provable_bits`]).
    pub provable_security_bits: u32,
    /// The donor key the proof is bound to ([`Claim::prover_key`]), if any.
    pub prover_key: Option<[u8; 32]>,
}

/// The least security a verifier accepts. Both bounds must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecurityPolicy {
    /// Bits of conjectured security (the usual estimate from blowup, queries and grinding).
    pub min_conjectured_bits: u32,
    /// Bits of provable security (a bound that holds without the conjecture; lower).
    pub min_provable_bits: u32,
}

impl Default for SecurityPolicy {
    /// [`stark::DEFAULT_MIN_CONJECTURED_BITS`] conjectured bits, no provable requirement.
    fn default() -> Self {
        SecurityPolicy {
            min_conjectured_bits: stark::DEFAULT_MIN_CONJECTURED_BITS,
            min_provable_bits: 0,
        }
    }
}

impl SecurityPolicy {
    /// At least `bits` conjectured bits, no provable requirement.
    pub fn conjectured(bits: u32) -> Self {
        SecurityPolicy {
            min_conjectured_bits: bits,
            min_provable_bits: 0,
        }
    }
}

/// How one proof is made, beyond the [`ProofOptions`] a verifier sees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProveSettings {
    /// What the prover keeps in memory; the proof is the same either way.
    pub memory: MemoryMode,
    /// The donor's public key (Ed25519, 32 bytes) to bind the proof to (see
    /// [`Claim::prover_key`]); `None` for an anonymous proof.
    pub prover_key: Option<[u8; 32]>,
    /// The most memory the proof may take, in bytes. Once the trace is built (it can need more
    /// rows than the steps: memory holes, range checks) and before the prover's large
    /// allocations, a proof whose lean-mode estimate ([`cost::memory_bytes`]) is larger ends
    /// with [`ProveError::TooLarge`].
    pub memory_limit: Option<u64>,
}

/// Proves `execution` with `options`: an anonymous proof, made in the lean memory mode.
pub fn prove(execution: &Execution, options: &ProofOptions) -> Result<Proof, ProveError> {
    prove_with_progress(execution, options, &ProveSettings::default(), |_| {})
}

/// Like [`prove`], with `settings`, reporting the phase and the fraction done as the proof
/// advances (dozens of times a proof, on the calling thread).
pub fn prove_with_progress(
    execution: &Execution,
    options: &ProofOptions,
    settings: &ProveSettings,
    mut progress: impl FnMut(ProveProgress),
) -> Result<Proof, ProveError> {
    options.validate()?;
    let mut rows = cost::rows_for_steps(execution.steps);
    progress(ProveProgress {
        phase: ProvePhase::Trace,
        fraction: 0.0,
        rows,
    });
    let (mut statement, trace) = air::build_main_trace(execution, 0)?;
    statement.claim.prover_key = settings.prover_key;
    rows = statement.trace_length();
    if let Some(limit) = settings.memory_limit {
        let needed = cost::memory_bytes(rows, options);
        if needed > limit {
            return Err(ProveError::TooLarge {
                rows,
                needed,
                limit,
            });
        }
    }
    let claim = statement.claim.clone();
    let air = CairoAir::new(statement);
    let memory = settings.memory;
    let stark = stark::prove_with_progress(&air, trace, options, memory, &mut |stage, done| {
        progress(ProveProgress {
            phase: stage.into(),
            fraction: TRACE_SHARE + (1.0 - TRACE_SHARE) * done,
            rows,
        })
    })?;
    progress(ProveProgress {
        phase: ProvePhase::Done,
        fraction: 1.0,
        rows,
    });
    Ok(Proof {
        file: ProofFile {
            options: *options,
            program_hash: program_hash(&execution.bytecode),
            inputs: execution.inputs.clone(),
            claim,
            stark,
        },
    })
}

/// Verifies `proof_bytes` for the caller's `program` and `inputs`, accepting only proofs that
/// meet `policy`. Returns the outputs the proof establishes.
pub fn verify(
    proof_bytes: &[u8],
    program: &CompiledProgram,
    inputs: &[Felt],
    policy: &SecurityPolicy,
) -> Result<Verified, VerifyError> {
    let file = ProofFile::from_bytes(proof_bytes)?;
    if file.program_hash != program.hash() {
        return Err(VerifyError::OtherProgram);
    }
    if file.inputs != inputs {
        return Err(VerifyError::OtherInputs);
    }
    let statement = Statement::new(program, inputs, file.claim.clone())?;
    let trace_length = statement.trace_length();
    let air = CairoAir::new(statement);
    let stark_policy = stark::VerificationPolicy {
        min_conjectured_bits: policy.min_conjectured_bits,
        min_provable_bits: policy.min_provable_bits,
        required_options: None,
    };
    let level = stark::verify(&air, &file.stark, &stark_policy)?;
    Ok(Verified {
        outputs: file.claim.outputs,
        steps: file.claim.steps,
        trace_length,
        options: file.options,
        security_bits: level.conjectured,
        provable_security_bits: level.provable,
        prover_key: file.claim.prover_key,
    })
}

/// Both security figures of proofs made with `options` of a `trace_length`-row Cairo trace
/// (what [`verify`] reports for such a proof).
pub fn security_level(options: &ProofOptions, trace_length: usize) -> SecurityLevel {
    let shape = stark::AirShape {
        trace_length,
        columns: air::cols::MAIN_WIDTH + air::cols::AUX_WIDTH,
        max_constraint_degree: air::constraint_specs()
            .iter()
            .map(|s| s.degree)
            .max()
            .unwrap_or(1),
    };
    SecurityLevel::of(options, &shape)
}

/// Keccak-256 over the bytecode words (32 bytes big-endian each).
pub(crate) fn program_hash(bytecode: &[Felt]) -> [u8; 32] {
    use sha3::Digest;
    let mut hasher = sha3::Keccak256::new();
    for word in bytecode {
        hasher.update(word.to_bytes_be());
    }
    hasher.finalize().into()
}
