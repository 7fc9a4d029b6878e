//! `prove` and `verify`: the same proving as the work loop, on local files, without a server.

use std::path::Path;
use std::time::Instant;

use cairo_stark::format::FORMAT_VERSION;
use cairo_stark::{CompiledProgram, FormatError, SecurityPolicy, VerifyError};
use distributor_api::ProofVersionMismatch;
use tokio::sync::watch;

use crate::cli::{ProveArgs, VerifyArgs};
use crate::exit::{AppError, Exit};
use crate::output::{Event, Reporter};
use crate::resources::{available_memory, CpuShare};
use crate::signals::StopLevel;
use crate::supervisor::{self, Controls, Flow, Outcome, Progress, WorkerJob, WorkerTask};
use crate::worker::{FailureKind, WorkerEvent};

pub async fn prove(
    args: &ProveArgs,
    reporter: &Reporter,
    stop: &mut watch::Receiver<StopLevel>,
) -> Result<(), AppError> {
    let started = Instant::now();
    let controls = Controls {
        share: CpuShare::from_option(args.resources.cpus)?,
        pause_when_busy: args.resources.pause_when_busy,
    };
    for (what, path) in [("program", &args.program), ("inputs", &args.inputs)] {
        if !path.is_file() {
            return Err(AppError::local(format!(
                "the {what} file {} does not exist or is not a file",
                path.display()
            )));
        }
    }
    let job = WorkerJob {
        program: &args.program,
        inputs: &args.inputs,
        task: WorkerTask::Prove,
        output: &args.output,
        memory_limit: available_memory().map(|m| m / 10 * 9),
        prover_key: None,
    };
    reporter.start_job(
        args.program.display().to_string(),
        format!("executing on {}", args.inputs.display()),
    );
    // Nothing is reserved offline: the first Ctrl-C stops at once.
    let outcome = supervisor::run(job, controls, None, stop, StopLevel::Now, |progress| {
        report_progress(reporter, progress);
        Flow::Continue
    })
    .await?;
    match outcome {
        Outcome::Finished(WorkerEvent::Proved {
            steps,
            rows,
            prove_secs,
            worker_secs,
            proof_bytes,
            outputs,
        }) => {
            let secs = started.elapsed().as_secs_f64();
            crate::speed::SpeedBook::load().learn(rows, prove_secs, controls.share.cpus());
            reporter.event(&Event::ProofWritten {
                path: args.output.display().to_string(),
                steps,
                rows,
                proof_bytes,
                secs,
                worker_secs,
                prove_secs,
                overhead_pct: overhead_pct(secs, worker_secs),
                outputs,
            });
            Ok(())
        }
        Outcome::Finished(_) => Err(AppError::local("the proving worker reported nonsense")),
        Outcome::Failed { kind, message } => Err(failure(kind, message, &args.inputs)),
        Outcome::Stopped | Outcome::Abandoned(_) => Err(AppError::new(
            Exit::Interrupted,
            "stopped before the proof was done; no proof was written",
        )),
        Outcome::DeadlinePassed => Err(AppError::local("the proving worker ran out of time")),
        Outcome::Crashed(message) => Err(AppError::new(Exit::BadJob, message)),
    }
}

/// Share of `secs` not spent inside the worker, in percent.
pub fn overhead_pct(secs: f64, worker_secs: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    ((secs - worker_secs).max(0.0) / secs * 100.0).min(100.0)
}

/// The exit code and message of a job the worker could not do on `inputs`.
pub fn failure(kind: FailureKind, message: String, inputs: &Path) -> AppError {
    match kind {
        FailureKind::Memory => AppError::new(Exit::NoMemory, message)
            .with_hint("close other programs, or prove a smaller job"),
        FailureKind::Io => AppError::local(message),
        FailureKind::Program => AppError::new(Exit::BadJob, message)
            .with_hint("the program must be the JSON written by `cairo-compile --proof_mode`"),
        FailureKind::Inputs => AppError::new(Exit::BadJob, message),
        // cairo-vm's error in plain words on one line; the whole of it with -v and --json.
        FailureKind::Execution | FailureKind::Prove => {
            let diagnosis = crate::failure::diagnose(kind, &message);
            let summary = format!("on {}: {}", inputs.display(), diagnosis.summary);
            AppError::new(Exit::BadJob, summary)
                .with_cause(diagnosis.cause)
                .with_hint("-v prints cairo-vm's whole error (--json has it as `cause`)")
        }
    }
}

/// Shows the worker's progress on the current job's display.
pub fn report_progress(reporter: &Reporter, progress: Progress) {
    let event = match progress {
        Progress::Worker(WorkerEvent::Executed {
            steps,
            rows,
            execute_secs,
            ..
        }) => Event::Executed {
            steps,
            rows,
            secs: execute_secs,
        },
        Progress::Worker(WorkerEvent::Progress {
            phase,
            fraction,
            rows,
        }) => {
            reporter.proving(phase, fraction, rows);
            return;
        }
        Progress::Paused { others_pct } => Event::Paused {
            others_cpu_pct: others_pct,
        },
        Progress::Resumed => Event::Resumed,
        Progress::Worker(_) => return,
    };
    reporter.event(&event);
}

pub fn verify(args: &VerifyArgs, reporter: &Reporter) -> Result<(), AppError> {
    let proof = read(&args.proof, "proof")?;
    let program = CompiledProgram::parse(&read(&args.program, "program")?)
        .map_err(|e| AppError::new(Exit::BadJob, format!("{}: {e}", args.program.display())))?;
    let inputs = cairo_stark::inputs::parse_csv(&read(&args.inputs, "inputs")?).map_err(|e| {
        AppError::new(
            Exit::BadJob,
            format!("{} is not a valid input CSV: {e}", args.inputs.display()),
        )
    })?;
    let policy = SecurityPolicy {
        min_conjectured_bits: args.min_security_bits,
        min_provable_bits: args.min_provable_bits,
    };
    let verified = cairo_stark::verify(&proof, &program, &inputs, &policy)
        .map_err(|e| not_verified(&args.proof, e))?;
    reporter.event(&Event::Verified {
        steps: verified.steps,
        trace_rows: verified.trace_length as u64,
        security_bits: verified.security_bits,
        provable_security_bits: verified.provable_security_bits,
        outputs: verified
            .outputs
            .iter()
            .map(cairo_stark::inputs::to_decimal)
            .collect(),
    });
    Ok(())
}

/// Why `proof` was refused, and what to do about it.
fn not_verified(proof: &Path, error: VerifyError) -> AppError {
    if let VerifyError::Format(FormatError::UnsupportedVersion(found)) = error {
        let mismatch = ProofVersionMismatch {
            found,
            supported: FORMAT_VERSION,
        };
        let hint = if mismatch.is_older() {
            "update executor-client and prove the job again: this build cannot check it"
        } else {
            "update executor-client to a version that reads it, then verify again"
        };
        return AppError::new(
            Exit::NotVerified,
            format!("{} is not checked: {mismatch}", proof.display()),
        )
        .with_hint(hint);
    }
    // A sound proof with options weaker than asked: proving it again gives the same options.
    if let VerifyError::Stark(stark::VerificationError::InsecureOptions { bits, .. }) = &error {
        return AppError::new(
            Exit::NotVerified,
            format!("{} is not accepted: {error}", proof.display()),
        )
        .with_hint(format!(
            "the proof was made with options giving {bits} bits; accept it with a lower \
             --min-security-bits / --min-provable-bits if that is enough for you, or have it \
             proven with stronger options (a plain `prove` gives the default options again)"
        ));
    }
    AppError::new(
        Exit::NotVerified,
        format!("{} does not verify: {error}", proof.display()),
    )
    .with_hint("do not trust its outputs; prove the job again")
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, AppError> {
    std::fs::read(path).map_err(|e| {
        AppError::local(format!(
            "cannot read the {what} file {}: {e}",
            path.display()
        ))
    })
}
