//! What the client says, for people and for scripts.
//!
//! Everything the client reports is an [`Event`]. With `--json` each event is one JSON object
//! on stdout. Otherwise results (one summary line per job, listings) go to stdout, and progress
//! (a spinner with the stage, elapsed time and steps/s, drawn only on a terminal), waits and
//! warnings to stderr; `-q` keeps only warnings and errors.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use uuid::Uuid;

use crate::resources::human_bytes;

/// How a job of the work loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobResult {
    /// The server took the proof.
    Accepted,
    /// The server refused the proof.
    Rejected,
    /// The job could not be done (bad program or inputs, the run or the prover failed).
    Failed,
    /// Given up because its reservation would expire first.
    Dropped,
    /// Not attempted: not enough memory.
    Skipped,
    /// Given up on a second Ctrl-C.
    Interrupted,
}

impl JobResult {
    fn as_str(self) -> &'static str {
        match self {
            JobResult::Accepted => "accepted",
            JobResult::Rejected => "rejected",
            JobResult::Failed => "failed",
            JobResult::Dropped => "dropped",
            JobResult::Skipped => "skipped",
            JobResult::Interrupted => "interrupted",
        }
    }
}

/// What a job uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Artifact {
    Proof,
    /// The recorded run, for another donor to prove (`run --execute-only`).
    Execution,
}

impl Artifact {
    pub fn noun(self) -> &'static str {
        match self {
            Artifact::Proof => "proof",
            Artifact::Execution => "execution",
        }
    }
}

/// Everything the client reports.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An input group is reserved and downloaded.
    Reserved {
        program_id: Uuid,
        program_name: Option<String>,
        input_group_id: Uuid,
        input_group_name: String,
        lock_expires_at: DateTime<Utc>,
        /// Size of the downloaded job (program, inputs, metadata) and how long it took.
        download_bytes: u64,
        download_secs: f64,
    },
    /// The program ran.
    Executed {
        steps: u64,
        rows: u64,
        secs: f64,
    },
    /// Proving advanced: the prover's phase, the fraction of the proof done (0..=1), the trace
    /// rows, and from the speed so far the seconds left and the rows proven per second.
    Proving {
        phase: String,
        fraction: f64,
        rows: u64,
        eta_secs: Option<f64>,
        rows_per_sec: Option<f64>,
    },
    /// Proving is paused because the rest of the machine is busy.
    Paused {
        others_cpu_pct: f64,
    },
    Resumed,
    /// The proof (or the execution) is being sent.
    Uploading {
        artifact: Artifact,
        bytes: u64,
    },
    /// One job of the work loop is over.
    Job {
        result: JobResult,
        program_id: Uuid,
        input_group_id: Uuid,
        input_group_name: String,
        steps: Option<u64>,
        secs: f64,
        steps_per_sec: Option<f64>,
        /// One line: what happened.
        message: Option<String>,
        /// The full cause of a failed run (cairo-vm's error as it was); shown in text with -v.
        #[serde(skip_serializing_if = "Option::is_none")]
        cause: Option<String>,
    },
    /// After a job that did not succeed, the program is left alone for a while (longer after
    /// each such job in a row).
    BackingOff {
        program_id: Uuid,
        /// Its name, when the listing gave it.
        #[serde(skip_serializing_if = "Option::is_none")]
        program_name: Option<String>,
        failed_in_a_row: u32,
        retry_in_secs: f64,
    },
    /// No program has work; asking again later.
    NoWork {
        programs: usize,
        retry_in_secs: f64,
    },
    /// A request failed in a way that may pass; trying again later.
    Retrying {
        what: String,
        error: String,
        attempt: u32,
        retry_in_secs: f64,
    },
    /// A program is left out of the rotation (it was refused or is gone).
    ProgramSkipped {
        program_id: Uuid,
        error: String,
    },
    /// Ctrl-C (or SIGTERM) was received.
    Stopping {
        now: bool,
    },
    /// The work loop ended.
    Summary {
        jobs: u64,
        accepted: u64,
        rejected: u64,
        failed: u64,
        dropped: u64,
        skipped: u64,
        /// Stopped at once by a second Ctrl-C.
        interrupted: u64,
    },
    /// This machine's proving speed was measured (once, before the first job).
    Calibrated {
        rows: u64,
        secs: f64,
        rows_per_sec: f64,
    },
    /// `prove` wrote a proof.
    ProofWritten {
        path: String,
        steps: u64,
        rows: u64,
        proof_bytes: u64,
        secs: f64,
        worker_secs: f64,
        prove_secs: f64,
        /// Share of the command's wall time spent outside the worker's own work, in percent.
        overhead_pct: f64,
        outputs: Vec<String>,
    },
    /// `verify` accepted a proof.
    Verified {
        steps: u64,
        trace_rows: u64,
        security_bits: u32,
        provable_security_bits: u32,
        outputs: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Human,
    Json,
    Quiet,
}

/// Prints events in the chosen mode; cheap to clone (the signal handler holds one).
#[derive(Clone)]
pub struct Reporter {
    mode: Mode,
    /// Text mode also prints the full cause of failed runs.
    verbose: bool,
    job: Arc<Mutex<Option<JobDisplay>>>,
    /// When the current proof started (its first progress report).
    proving_started: Arc<Mutex<Option<Instant>>>,
}

struct JobDisplay {
    bar: ProgressBar,
    label: String,
    steps: Option<u64>,
    /// Whether the bar shows proving progress yet (until then it is a spinner).
    proving: bool,
}

/// Bar positions of a whole proof (the fraction done, in thousandths).
const BAR_LENGTH: u64 = 1000;

impl Reporter {
    pub fn new(json: bool, quiet: bool, verbose: bool) -> Self {
        let mode = if json {
            Mode::Json
        } else if quiet {
            Mode::Quiet
        } else {
            Mode::Human
        };
        Reporter {
            mode,
            verbose,
            job: Arc::new(Mutex::new(None)),
            proving_started: Arc::new(Mutex::new(None)),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether `-v` asked for full causes.
    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// Prints any serializable value as one JSON line (listings in `--json` mode).
    pub fn json_line<T: Serialize>(&self, value: &T) {
        self.out(&distributor_api::cli::json_line(value));
    }

    /// Starts the display of one job (`label`: what it is), a spinner showing `message` on a
    /// terminal, until its proving progress turns it into a bar.
    pub fn start_job(&self, label: String, message: String) {
        *self
            .proving_started
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        if self.mode != Mode::Human {
            return;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {prefix:.bold} [{elapsed}] {wide_msg}")
        {
            bar.set_style(style);
        }
        bar.set_prefix(label.clone());
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(120));
        self.set_job(Some(JobDisplay {
            bar,
            label,
            steps: None,
            proving: false,
        }));
    }

    /// Reports the calibration proof: `rows` rows in `secs`.
    pub fn calibrated(&self, rows: u64, secs: f64) {
        self.event(&Event::Calibrated {
            rows,
            secs,
            rows_per_sec: if secs > 0.0 { rows as f64 / secs } else { 0.0 },
        });
    }

    /// Clears the job's display, if one is drawn (before an error is printed).
    pub fn end_job(&self) {
        if let Some(job) = self.take_job() {
            job.bar.finish_and_clear();
        }
    }

    /// Reports the prover's progress, with the time left and the speed measured since the
    /// proof's first report.
    pub fn proving(&self, phase: String, fraction: f64, rows: u64) {
        let elapsed = {
            let mut started = self
                .proving_started
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            started
                .get_or_insert_with(Instant::now)
                .elapsed()
                .as_secs_f64()
        };
        let fraction = fraction.clamp(0.0, 1.0);
        // Too early to tell: the first percent says little about the rest.
        let measured = fraction >= 0.01 && elapsed > 0.0;
        self.event(&Event::Proving {
            phase,
            fraction,
            rows,
            eta_secs: measured.then(|| elapsed * (1.0 - fraction) / fraction),
            rows_per_sec: measured.then(|| rows as f64 * fraction / elapsed),
        });
    }

    /// A `next:` hint (what to run next) on stderr; only in text mode (not `--json`, `-q`).
    pub fn next(&self, hint: &str) {
        if self.mode == Mode::Human {
            eprintln!("next: {hint}");
        }
    }

    /// A line of results on stdout (not in quiet mode).
    pub fn result_line(&self, line: &str) {
        if self.mode == Mode::Human {
            self.out(line);
        }
    }

    pub fn event(&self, event: &Event) {
        match self.mode {
            Mode::Json => self.json_line(event),
            Mode::Quiet => self.quiet(event),
            Mode::Human => self.human(event),
        }
    }

    fn quiet(&self, event: &Event) {
        match event {
            Event::Retrying { .. } | Event::ProgramSkipped { .. } => self.human(event),
            _ => {}
        }
    }

    /// Text mode: each family of events has its own step, listed here so that a new kind of
    /// event must be given one.
    fn human(&self, event: &Event) {
        match event {
            Event::Reserved { .. }
            | Event::Executed { .. }
            | Event::Proving { .. }
            | Event::Uploading { .. } => self.job_progress(event),
            Event::Paused { .. } | Event::Resumed => self.pause_state(event),
            Event::Job { .. } => self.job_line(event),
            Event::ProofWritten { .. } | Event::Verified { .. } => self.proof_lines(event),
            Event::BackingOff { .. }
            | Event::NoWork { .. }
            | Event::Retrying { .. }
            | Event::ProgramSkipped { .. }
            | Event::Stopping { .. }
            | Event::Summary { .. }
            | Event::Calibrated { .. } => {
                if let Some(line) = notice(event) {
                    self.err(&line);
                }
            }
        }
    }

    /// A job's stages before it ends: the spinner starts at the reservation and its message
    /// follows the run, the proof and the upload.
    fn job_progress(&self, event: &Event) {
        match event {
            Event::Reserved {
                program_id,
                program_name,
                input_group_name,
                lock_expires_at,
                download_bytes,
                download_secs,
                ..
            } => {
                let program = program_name.clone().unwrap_or_else(|| short_id(program_id));
                self.start_job(
                    format!("{program}/{input_group_name}"),
                    format!(
                        "downloaded {} in {download_secs:.1}s, reserved until {}; executing",
                        human_bytes(*download_bytes),
                        lock_expires_at.format("%H:%M:%S UTC")
                    ),
                );
            }
            Event::Executed { steps, secs, .. } => {
                self.with_job(|job| {
                    job.steps = Some(*steps);
                    job.bar
                        .set_message(format!("executed {steps} steps in {secs:.2}s"));
                });
            }
            Event::Proving {
                phase,
                fraction,
                rows,
                eta_secs,
                rows_per_sec,
            } => {
                self.with_job(|job| {
                    show_proving(job, phase, *fraction, *rows, *eta_secs, *rows_per_sec)
                });
            }
            Event::Uploading { artifact, bytes } => {
                self.with_job(|job| {
                    job.bar.set_message(format!(
                        "uploading the {} ({})",
                        artifact.noun(),
                        human_bytes(*bytes)
                    ));
                });
            }
            _ => {}
        }
    }

    /// Pausing and resuming for a busy machine: on the spinner during a job, else on stderr.
    fn pause_state(&self, event: &Event) {
        let message = match event {
            Event::Paused { others_cpu_pct } => {
                format!("paused: the rest of the machine uses {others_cpu_pct:.0}% of the CPU")
            }
            Event::Resumed => "resumed proving".to_string(),
            _ => return,
        };
        if !self.with_job(|job| job.bar.set_message(message.clone())) {
            self.err(&message);
        }
    }

    /// The one stdout line of an ended job (it clears the spinner), and with -v the full cause
    /// of a failure under it.
    fn job_line(&self, event: &Event) {
        let Event::Job {
            result,
            input_group_name,
            program_id,
            steps,
            secs,
            steps_per_sec,
            message,
            cause,
            ..
        } = event
        else {
            return;
        };
        let label = self
            .take_job()
            .map(|job| {
                job.bar.finish_and_clear();
                job.label
            })
            .unwrap_or_else(|| format!("{}/{input_group_name}", short_id(program_id)));
        let mut line = format!("{:<9} {label}  {secs:.1}s", result.as_str());
        if let Some(steps) = steps {
            line.push_str(&format!("  {steps} steps"));
        }
        if let Some(speed) = steps_per_sec {
            line.push_str(&format!("  {speed:.0} steps/s"));
        }
        if let Some(message) = message {
            line.push_str(&format!("  ({message})"));
        }
        self.out(&line);
        if let Some(cause) = cause.as_ref().filter(|_| self.verbose) {
            for cause_line in cause.lines() {
                self.out(&format!("    {cause_line}"));
            }
        }
    }

    /// What `prove` and `verify` report on stdout: the proof's figures and its outputs.
    fn proof_lines(&self, event: &Event) {
        match event {
            Event::ProofWritten {
                path,
                steps,
                rows,
                proof_bytes,
                secs,
                prove_secs,
                overhead_pct,
                outputs,
                ..
            } => {
                if let Some(job) = self.take_job() {
                    job.bar.finish_and_clear();
                }
                self.out(&format!(
                    "proved {steps} steps ({rows} rows) in {secs:.2}s ({}; proving {prove_secs:.2}s, \
                     client overhead {overhead_pct:.1}%): {path} ({})",
                    rate(*steps, *secs),
                    human_bytes(*proof_bytes)
                ));
                self.out(&format!("outputs: {}", outputs.join(", ")));
            }
            Event::Verified {
                steps,
                trace_rows,
                security_bits,
                provable_security_bits,
                outputs,
            } => {
                self.out(&format!(
                    "valid proof: {steps} steps ({trace_rows} rows), {security_bits} bits \
                     conjectured, {provable_security_bits} bits provable"
                ));
                self.out(&format!("outputs: {}", outputs.join(", ")));
            }
            _ => {}
        }
    }

    fn set_job(&self, job: Option<JobDisplay>) {
        let mut slot = self.job.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = slot.take() {
            old.bar.finish_and_clear();
        }
        *slot = job;
    }

    fn take_job(&self) -> Option<JobDisplay> {
        self.job.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Runs `f` on the current job's display; false when there is none.
    fn with_job(&self, f: impl FnOnce(&mut JobDisplay)) -> bool {
        let mut slot = self.job.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_mut() {
            Some(job) => {
                f(job);
                true
            }
            None => false,
        }
    }

    fn out(&self, line: &str) {
        self.suspended(|| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        });
    }

    fn err(&self, line: &str) {
        self.suspended(|| eprintln!("{line}"));
    }

    /// Prints around the spinner so that the two do not garble each other.
    fn suspended(&self, f: impl FnOnce()) {
        let slot = self.job.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_ref() {
            Some(job) => job.bar.suspend(f),
            None => f(),
        }
    }
}

/// The stderr line of an event about the loop rather than one job (waits, retries, stopping,
/// the summary, the calibration); `None` for the other events.
fn notice(event: &Event) -> Option<String> {
    let line = match event {
        Event::BackingOff {
            program_id,
            program_name,
            failed_in_a_row,
            retry_in_secs,
        } => format!(
            "leaving program {} alone for {} after {failed_in_a_row} unsuccessful job{} in a \
             row",
            program_name.clone().unwrap_or_else(|| short_id(program_id)),
            secs(*retry_in_secs),
            if *failed_in_a_row == 1 { "" } else { "s" }
        ),
        Event::NoWork {
            programs,
            retry_in_secs,
        } => format!(
            "no work available on {programs} program{}; asking again in {}",
            if *programs == 1 { "" } else { "s" },
            secs(*retry_in_secs)
        ),
        Event::Retrying {
            what,
            error,
            attempt,
            retry_in_secs,
        } => format!(
            "warning: {what} failed (attempt {attempt}): {error}; retrying in {}",
            secs(*retry_in_secs)
        ),
        Event::ProgramSkipped { program_id, error } => {
            format!("warning: leaving program {program_id} out: {error}")
        }
        Event::Stopping { now: false } => {
            "stopping after the current job (press Ctrl-C again to stop at once)".to_string()
        }
        Event::Stopping { now: true } => "stopping now".to_string(),
        Event::Summary { .. } => summary_line(event)?,
        Event::Calibrated {
            rows,
            secs,
            rows_per_sec,
        } => format!(
            "this machine proves about {rows_per_sec:.0} rows/s at this CPU share ({rows} \
             rows in {secs:.1}s); kept for the deadline estimates"
        ),
        _ => return None,
    };
    Some(line)
}

/// The work loop's closing tally of its jobs by result.
fn summary_line(event: &Event) -> Option<String> {
    let Event::Summary {
        jobs,
        accepted,
        rejected,
        failed,
        dropped,
        skipped,
        interrupted,
    } = event
    else {
        return None;
    };
    Some(format!(
        "{jobs} job{}: {accepted} accepted, {rejected} rejected, {failed} failed, \
         {dropped} dropped, {skipped} skipped{}",
        if *jobs == 1 { "" } else { "s" },
        if *interrupted > 0 {
            format!(", {interrupted} interrupted")
        } else {
            String::new()
        }
    ))
}

/// The job's display as a bar of the proof done: phase, percentage, time left, rows/s.
fn show_proving(
    job: &mut JobDisplay,
    phase: &str,
    fraction: f64,
    rows: u64,
    eta_secs: Option<f64>,
    rows_per_sec: Option<f64>,
) {
    if !job.proving {
        job.proving = true;
        job.bar.set_length(BAR_LENGTH);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {prefix:.bold} [{elapsed}] [{bar:24}] {percent:>3}% {wide_msg}",
        ) {
            job.bar.set_style(style.progress_chars("=> "));
        }
    }
    job.bar.set_position((fraction * BAR_LENGTH as f64) as u64);
    let eta = eta_secs.map_or("ETA -".to_string(), |s| format!("ETA {}", secs(s)));
    let speed = rows_per_sec.map_or("- rows/s".to_string(), |r| format!("{r:.0} rows/s"));
    job.bar
        .set_message(format!("proving: {phase}, {eta}, {speed} ({rows} rows)"));
}

fn rate(steps: u64, secs: f64) -> String {
    if secs <= 0.0 {
        return "- steps/s".to_string();
    }
    format!("{:.0} steps/s", steps as f64 / secs)
}

fn secs(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.1}s")
    } else {
        format!("{value:.0}s")
    }
}

/// The first block of a UUID, enough to tell programs apart on screen.
pub fn short_id(id: &Uuid) -> String {
    id.to_string().chars().take(8).collect()
}
