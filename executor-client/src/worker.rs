//! The proving worker: the same binary started with the hidden `prove-worker` subcommand.
//!
//! Proving runs in its own process so that the client can hold it to the donor's CPU share
//! (pausing and resuming it with SIGSTOP/SIGCONT), run it at the lowest scheduling priority
//! without slowing its own network work, and kill it at once on a second Ctrl-C. The worker
//! reads the program and inputs from files, runs the program (or reads a run another donor
//! recorded), writes the proof file (or, in execution-only mode, the execution file), and
//! reports on stdout, one [`WorkerEvent`] JSON object per line. It knows nothing about the
//! server.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use cairo_stark::cost;
use cairo_stark::{CompiledProgram, Execution, ProofOptions, ProvePhase, ProveProgress};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::resources::human_bytes;

/// Arguments of `executor-client prove-worker` (internal).
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    #[arg(long)]
    pub program: PathBuf,
    #[arg(long)]
    pub inputs: PathBuf,
    /// Where to write the proof, or the execution file with --execute-only (written to a
    /// temporary name, then renamed).
    #[arg(long)]
    pub output: PathBuf,
    /// Prove the run recorded in this execution file instead of running the program.
    #[arg(long, conflicts_with = "execute_only")]
    pub execution: Option<PathBuf>,
    /// Only run the program and write the execution file; no proof.
    #[arg(long)]
    pub execute_only: bool,
    /// Proving threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Refuse (with a `memory` failure) a job estimated to need more bytes than this.
    #[arg(long)]
    pub memory_limit: Option<u64>,
    /// Bind the proof to this donor key (64 hex digits, the Ed25519 public key that signs the
    /// upload): a proof bound to one donor is refused under any other.
    #[arg(long, value_parser = parse_prover_key)]
    pub prover_key: Option<[u8; 32]>,
}

fn parse_prover_key(text: &str) -> Result<[u8; 32], String> {
    distributor_api::signing::parse_key(text)
        .map_err(|e| format!("not a donor public key (64 hex digits): {e}"))
}

/// What the worker reports, one JSON object per line on stdout.
///
/// Externally tagged (`{"executed":{...}}`): cairo-vm turns on serde_json's
/// `arbitrary_precision`, with which numbers inside internally tagged enums do not deserialize.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerEvent {
    /// The program ran to `__end__`.
    Executed {
        steps: u64,
        /// Rows of the trace the prover will build (a power of two).
        rows: u64,
        execute_secs: f64,
        estimated_memory: u64,
    },
    /// Proving advanced: the prover's phase (its label), the fraction of the whole proof done
    /// (0..=1, never decreasing) and the trace rows.
    Progress {
        phase: String,
        fraction: f64,
        rows: u64,
    },
    /// The proof file is written.
    Proved {
        steps: u64,
        rows: u64,
        /// Wall time spent proving (after execution), including time the worker was paused.
        prove_secs: f64,
        /// Wall time from the worker's start to the proof file written.
        worker_secs: f64,
        proof_bytes: u64,
        /// The program's outputs, as decimal strings.
        outputs: Vec<String>,
    },
    /// The execution file is written (execution-only mode).
    Recorded {
        steps: u64,
        /// Wall time from the worker's start to the execution file written.
        worker_secs: f64,
        execution_bytes: u64,
        /// The program's outputs, as decimal strings.
        outputs: Vec<String>,
    },
    /// The job cannot be done; the worker exits with a non-zero status after this.
    Failed { kind: FailureKind, message: String },
}

/// Why a job could not be proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The program is not a compiled proof-mode program this prover supports.
    Program,
    /// The input CSV does not parse.
    Inputs,
    /// The program failed or did not finish in cairo-vm, or a recorded execution is unusable.
    Execution,
    /// The job needs more memory than the machine has free.
    Memory,
    /// The prover failed.
    Prove,
    /// Reading or writing a file failed.
    Io,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Program => "program",
            FailureKind::Inputs => "inputs",
            FailureKind::Execution => "execution",
            FailureKind::Memory => "memory",
            FailureKind::Prove => "prove",
            FailureKind::Io => "io",
        }
    }
}

/// The proof options every proof of this client uses (the prover's secure default).
pub fn proof_options() -> ProofOptions {
    ProofOptions::default()
}

/// Runs the worker; returns the process exit code.
pub fn main(args: &WorkerArgs) -> i32 {
    match work(args) {
        Ok(()) => 0,
        Err((kind, message)) => {
            emit(&WorkerEvent::Failed { kind, message });
            1
        }
    }
}

type Failure = (FailureKind, String);

/// The worker's job: the run (or the recorded one), then the execution file or the proof.
fn work(args: &WorkerArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let execution = load_execution(args)?;
    let steps = execution.steps as u64;
    let estimate = cost::Cost::of(&execution, &proof_options());
    let rows = estimate.rows as u64;
    let estimated_memory = estimate.memory_bytes;
    emit(&WorkerEvent::Executed {
        steps,
        rows,
        execute_secs: started.elapsed().as_secs_f64(),
        estimated_memory,
    });
    if args.execute_only {
        return record(args, &execution, started);
    }
    if let Some(failure) = too_big(steps, rows, args.memory_limit) {
        return Err((FailureKind::Memory, failure));
    }
    prove(args, execution, started)
}

/// Reads the program and inputs and runs the program, or reads the run recorded for them.
fn load_execution(args: &WorkerArgs) -> Result<Execution, Failure> {
    let program = CompiledProgram::parse(&read_input(&args.program)?)
        .map_err(|e| (FailureKind::Program, e.to_string()))?;
    let inputs = cairo_stark::inputs::parse_csv(&read_input(&args.inputs)?).map_err(|e| {
        (
            FailureKind::Inputs,
            format!("the input CSV is not valid: {e}"),
        )
    })?;
    match &args.execution {
        // The file's binding to this program and these inputs is checked; a run that is wrong
        // anywhere else yields a proof the server refuses (it replayed the run on upload).
        Some(path) => {
            cairo_stark::read_execution(&read_input(path)?, &program, &inputs).map_err(|e| {
                (
                    FailureKind::Execution,
                    format!("the recorded execution cannot be used: {e}"),
                )
            })
        }
        None => cairo_stark::execute(&program, &inputs)
            .map_err(|e| (FailureKind::Execution, e.to_string())),
    }
}

/// One of the worker's input files, whole.
fn read_input(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        (
            FailureKind::Io,
            format!("cannot read {}: {e}", path.display()),
        )
    })
}

/// Execution-only mode: writes the execution file and reports it.
fn record(args: &WorkerArgs, execution: &Execution, started: Instant) -> Result<(), Failure> {
    let bytes = execution.to_file_bytes();
    write_output(&args.output, &bytes)?;
    emit(&WorkerEvent::Recorded {
        steps: execution.steps as u64,
        worker_secs: started.elapsed().as_secs_f64(),
        execution_bytes: bytes.len() as u64,
        outputs: decimal(&execution.outputs),
    });
    Ok(())
}

/// Proves the run on the asked threads, reporting progress, then writes the proof file and
/// reports it. The run is dropped before the proof is serialized, to free its memory.
fn prove(args: &WorkerArgs, execution: Execution, started: Instant) -> Result<(), Failure> {
    let steps = execution.steps as u64;
    // The pool must exist before the prover's first parallel call; failing to size it (a pool
    // already built) only loses the thread limit, which the parent's duty cycle still enforces.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.max(1))
        .build_global();
    let prove_started = Instant::now();
    let mut reporter = ProgressReporter::default();
    // In the lean memory mode: the memory figures of `cairo_stark::cost` are its. The trace may
    // need more rows than the steps (memory holes, range checks): with its real size, before
    // the large allocations, a job too big for the memory ends as a memory failure.
    let settings = cairo_stark::ProveSettings {
        prover_key: args.prover_key,
        memory_limit: args.memory_limit,
        ..cairo_stark::ProveSettings::default()
    };
    let proof =
        cairo_stark::prove_with_progress(&execution, &proof_options(), &settings, |progress| {
            reporter.report(progress)
        })
        .map_err(|e| match e {
            cairo_stark::ProveError::TooLarge {
                rows,
                needed,
                limit,
            } => (
                FailureKind::Memory,
                memory_failure(steps, rows as u64, needed, limit),
            ),
            e => (FailureKind::Prove, e.to_string()),
        })?;
    let prove_secs = prove_started.elapsed().as_secs_f64();
    drop(execution);

    let bytes = proof.to_bytes();
    write_output(&args.output, &bytes)?;
    emit(&WorkerEvent::Proved {
        steps,
        rows: proof.trace_length() as u64,
        prove_secs,
        worker_secs: started.elapsed().as_secs_f64(),
        proof_bytes: bytes.len() as u64,
        outputs: decimal(proof.outputs()),
    });
    Ok(())
}

fn decimal(felts: &[cairo_stark::Felt]) -> Vec<String> {
    felts.iter().map(cairo_stark::inputs::to_decimal).collect()
}

fn write_output(path: &std::path::Path, bytes: &[u8]) -> Result<(), Failure> {
    write_atomically(path, bytes).map_err(|e| {
        (
            FailureKind::Io,
            format!("cannot write {}: {e}", path.display()),
        )
    })
}

/// Passes the prover's progress on to the parent: at each new phase and every hundredth of the
/// proof (the prover calls far more often).
#[derive(Default)]
struct ProgressReporter {
    phase: Option<ProvePhase>,
    fraction: f64,
}

impl ProgressReporter {
    /// Least advance of the fraction worth a line to the parent.
    const STEP: f64 = 0.01;

    fn report(&mut self, progress: ProveProgress) {
        let new_phase = self.phase != Some(progress.phase);
        if progress.phase == ProvePhase::Done
            || (!new_phase && progress.fraction < self.fraction + Self::STEP)
        {
            return;
        }
        self.phase = Some(progress.phase);
        self.fraction = progress.fraction;
        emit(&WorkerEvent::Progress {
            phase: progress.phase.label().to_string(),
            fraction: progress.fraction,
            rows: progress.rows as u64,
        });
    }
}

/// Why a trace of `rows` rows cannot be proven within `limit` bytes, if it cannot.
fn too_big(steps: u64, rows: u64, limit: Option<u64>) -> Option<String> {
    let needed = cost::memory_bytes(rows as usize, &proof_options());
    let limit = limit?;
    (needed > limit).then(|| memory_failure(steps, rows, needed, limit))
}

/// The memory failure of a job whose proof needs `needed` bytes where `limit` are available.
fn memory_failure(steps: u64, rows: u64, needed: u64, limit: u64) -> String {
    format!(
        "proving {steps} steps ({rows} trace rows) needs about {}, but only {} is available",
        human_bytes(needed),
        human_bytes(limit)
    )
}

/// Writes `bytes` next to `path` and renames it into place, so that a killed worker never leaves
/// a truncated proof under the final name.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn emit(event: &WorkerEvent) {
    // The parent reads line by line; if it is gone there is no one left to tell.
    if let Ok(line) = serde_json::to_string(event) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_travel_as_tagged_json_lines() {
        let events = [
            WorkerEvent::Progress {
                phase: "fri".into(),
                fraction: 0.5,
                rows: 64,
            },
            WorkerEvent::Executed {
                steps: 3,
                rows: 4,
                execute_secs: 0.25,
                estimated_memory: 1 << 40,
            },
            WorkerEvent::Failed {
                kind: FailureKind::Memory,
                message: "too big".into(),
            },
        ];
        let line = serde_json::to_string(&events[0]).unwrap();
        assert_eq!(
            line,
            r#"{"progress":{"phase":"fri","fraction":0.5,"rows":64}}"#
        );
        for event in events {
            let line = serde_json::to_string(&event).unwrap();
            assert_eq!(
                serde_json::from_str::<WorkerEvent>(&line).unwrap(),
                event,
                "{line}"
            );
        }
    }
}
