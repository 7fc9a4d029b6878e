//! `run`: the work loop. Reserve an input group, prove it in the worker, upload the proof,
//! repeat; taking the chosen programs in turn, waiting when there is no work, retrying what the
//! network breaks and reporting (then skipping) what the server refuses.
//!
//! In execution-only mode the worker only runs the program and the loop uploads the execution;
//! with --prove-executions the loop reserves uploaded executions and the worker proves them.
//! Everything else (reservations, deadlines, retries, Ctrl-C) is the same in the three modes.
//!
//! A run that fails because of the job itself (an assertion, a range check, the step limit, an
//! unknown hint) is reported to the server under the job's reservation, which counts it and puts
//! the group behind the program's others; the loop then leaves that program alone for a while,
//! longer after each failure in a row (bounded exponential backoff), so that a program whose
//! groups all fail is never asked in a hot loop.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cairo_stark::cost::Speed;
use distributor_api::archive::EXECUTION_FILE;
use distributor_api::{
    paths, Client, ClientError, ErrorCode, FailureReport, FailureReportResponse, Reservation,
    ReservationMetadata, UploadProofData,
};
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

use crate::cli::RunArgs;
use crate::exit::{AppError, Exit};
use crate::failure::{self, Diagnosis};
use crate::offline::report_progress;
use crate::output::{Artifact, Event, JobResult, Reporter};
use crate::resources::{available_memory, CpuShare};
use crate::server::{self, describe, find_organization, find_program, is_transient, Reserved};
use crate::signals::StopLevel;
use crate::speed::SpeedBook;
use crate::supervisor::{self, Controls, Flow, Outcome, Progress, WorkerJob, WorkerTask};
use crate::worker::{FailureKind, WorkerEvent};

/// What the loop does with each job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Execute, prove, upload the proof.
    Prove,
    /// Execute, upload the execution (`--execute-only`).
    Execute,
    /// Prove an uploaded execution, upload the proof (`--prove-executions`).
    ProveExecution,
}

impl Mode {
    fn of(args: &RunArgs) -> Self {
        if args.execute_only {
            Mode::Execute
        } else if args.prove_executions {
            Mode::ProveExecution
        } else {
            Mode::Prove
        }
    }

    /// The route that reserves a job of this kind.
    fn reservation_route(self) -> &'static str {
        match self {
            Mode::Prove => paths::RESERVATION,
            Mode::Execute => paths::EXECUTION_RESERVATION,
            Mode::ProveExecution => paths::PROVING_RESERVATION,
        }
    }

    fn artifact(self) -> Artifact {
        match self {
            Mode::Execute => Artifact::Execution,
            Mode::Prove | Mode::ProveExecution => Artifact::Proof,
        }
    }
}

/// Time kept free at the end of a reservation to upload the proof.
const UPLOAD_MARGIN: Duration = Duration::from_secs(3);
/// Shortest wait between attempts, whatever --retry-delay says.
const MIN_DELAY_SECS: f64 = 0.01;

/// Which programs to work on.
#[derive(Debug, Clone)]
enum Selection {
    Ids(Vec<Uuid>),
    Organization(Uuid),
    All,
}

#[derive(Debug, Clone)]
struct Target {
    id: Uuid,
    name: Option<String>,
}

/// Waits that double up to a cap.
struct Backoff {
    initial: f64,
    max: f64,
    next: f64,
}

impl Backoff {
    fn new(initial: f64, max: f64) -> Self {
        let initial = initial.max(MIN_DELAY_SECS);
        Backoff {
            initial,
            max: max.max(initial),
            next: initial,
        }
    }

    fn next_delay(&mut self) -> f64 {
        let delay = self.next;
        self.next = (self.next * 2.0).min(self.max);
        delay
    }

    fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// A program left alone after failed jobs: until when, and the waits to come.
struct Cooling {
    backoff: Backoff,
    in_a_row: u32,
    until: Instant,
}

#[derive(Default)]
struct Counts {
    jobs: u64,
    accepted: u64,
    rejected: u64,
    failed: u64,
    dropped: u64,
    skipped: u64,
    interrupted: u64,
}

impl Counts {
    fn add(&mut self, result: JobResult) {
        match result {
            JobResult::Accepted => self.accepted += 1,
            JobResult::Rejected => self.rejected += 1,
            JobResult::Failed => self.failed += 1,
            JobResult::Interrupted => self.interrupted += 1,
            JobResult::Dropped => self.dropped += 1,
            JobResult::Skipped => self.skipped += 1,
        }
    }
}

/// How one turn of the work loop went, for the loop's count of turns without work.
enum Turn {
    /// A job was reserved and done.
    Worked,
    /// The program had no job to give.
    NoWork,
    /// Neither: the request is to be retried later, or the program was left out.
    Other,
    /// Asked to stop while waiting to retry.
    Stop,
}

struct WorkLoop<'a> {
    mode: Mode,
    client: &'a Client,
    args: &'a RunArgs,
    reporter: &'a Reporter,
    stop: &'a mut watch::Receiver<StopLevel>,
    controls: Controls,
    selection: Selection,
    targets: Vec<Target>,
    excluded: HashSet<Uuid>,
    next: usize,
    failures: u32,
    network_backoff: Backoff,
    /// Programs whose last jobs did not succeed, left alone until their wait ends.
    cooling: HashMap<Uuid, Cooling>,
    /// This machine's proving speed (calibrated, refreshed by every proof), to tell early
    /// that a job cannot finish in time.
    speed: SpeedBook,
    counts: Counts,
}

pub async fn run(
    client: &Client,
    args: &RunArgs,
    reporter: &Reporter,
    stop: &mut watch::Receiver<StopLevel>,
) -> Result<Exit, AppError> {
    let controls = Controls {
        share: CpuShare::from_option(args.resources.cpus)?,
        pause_when_busy: args.resources.pause_when_busy,
    };
    let selection = if !args.programs.is_empty() {
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        for given in &args.programs {
            let id = find_program(client, given).await?;
            if seen.insert(id) {
                ids.push(id);
            }
        }
        Selection::Ids(ids)
    } else if let Some(organization) = &args.organization {
        Selection::Organization(find_organization(client, organization).await?)
    } else {
        Selection::All
    };
    let mut work = WorkLoop {
        client,
        args,
        mode: Mode::of(args),
        reporter,
        stop,
        controls,
        selection,
        targets: Vec::new(),
        excluded: HashSet::new(),
        next: 0,
        failures: 0,
        network_backoff: Backoff::new(args.retry_delay, args.max_backoff),
        cooling: HashMap::new(),
        speed: SpeedBook::load(),
        counts: Counts::default(),
    };
    // The deadline estimates need this machine's speed: measured once, before the first job.
    let result = match work.mode {
        Mode::Execute => work.run().await,
        _ => match work
            .speed
            .calibrate_if_needed(work.controls, reporter, work.stop)
            .await
        {
            Ok(()) => work.run().await,
            Err(e) => Err(e),
        },
    };
    let counts = &work.counts;
    if counts.jobs > 0 || result.is_ok() {
        reporter.event(&Event::Summary {
            jobs: counts.jobs,
            accepted: counts.accepted,
            rejected: counts.rejected,
            failed: counts.failed,
            dropped: counts.dropped,
            skipped: counts.skipped,
            interrupted: counts.interrupted,
        });
    }
    result?;
    Ok(if counts.accepted == counts.jobs {
        Exit::Success
    } else {
        Exit::JobsFailed
    })
}

impl WorkLoop<'_> {
    /// The work loop: one reserved job at a time, taking the programs in turn, until a stop,
    /// the job limit or an error.
    async fn run(&mut self) -> Result<(), AppError> {
        let mut no_work = Backoff::new(self.args.retry_delay, self.args.max_backoff);
        let mut idle_streak = 0usize;
        if !self.load_targets().await? {
            return Ok(());
        }
        loop {
            if self.finished()? {
                return Ok(());
            }
            if idle_streak >= self.targets.len() {
                if self.wait_for_work(&mut no_work).await? {
                    return Ok(());
                }
                idle_streak = 0;
                continue;
            }
            let index = self.next % self.targets.len();
            let target = self.targets[index].clone();
            if self.is_cooling(target.id) {
                idle_streak += 1;
                self.next = index + 1;
                continue;
            }
            match self.take_turn(index, &target).await? {
                Turn::Worked => {
                    no_work.reset();
                    idle_streak = 0;
                }
                Turn::NoWork => idle_streak += 1,
                Turn::Other => {}
                Turn::Stop => return Ok(()),
            }
        }
    }

    /// Whether the loop is done before its next turn: asked to stop, or the job limit reached.
    /// Fails when every program given by id was left out.
    fn finished(&self) -> Result<bool, AppError> {
        if self.stopping(StopLevel::AfterJob) {
            return Ok(true);
        }
        if self.args.jobs.is_some_and(|n| self.counts.jobs >= n) {
            return Ok(true);
        }
        if self.targets.is_empty() {
            if let Selection::Ids(_) = self.selection {
                return Err(AppError::new(
                    Exit::Refused,
                    "none of the programs given can be worked on (see the warnings above)",
                )
                .with_hint("list the programs with `executor-client programs`"));
            }
        }
        Ok(false)
    }

    /// After a whole round without work (or with every program left alone after failures:
    /// then the wait ends no later than the first of them may be asked again): waits, then
    /// reloads the programs unless they were given by id. True if asked to stop meanwhile.
    async fn wait_for_work(&mut self, no_work: &mut Backoff) -> Result<bool, AppError> {
        let delay = no_work.next_delay();
        let delay = self
            .cooling_left()
            .map_or(delay, |left| left.min(delay).max(MIN_DELAY_SECS));
        self.reporter.event(&Event::NoWork {
            programs: self.targets.len(),
            retry_in_secs: delay,
        });
        if self.wait(delay, StopLevel::AfterJob).await {
            return Ok(true);
        }
        Ok(!matches!(self.selection, Selection::Ids(_)) && !self.load_targets().await?)
    }

    /// One turn on the program at `index`: reserve a job of it and do the job, or learn that it
    /// has none, or retry later, or leave it out for good.
    async fn take_turn(&mut self, index: usize, target: &Target) -> Result<Turn, AppError> {
        match server::reserve(self.client, self.mode.reservation_route(), target.id).await {
            Ok(reserved) => {
                self.failures = 0;
                self.network_backoff.reset();
                self.next = index + 1;
                self.reserved_job(target, reserved).await?;
                Ok(Turn::Worked)
            }
            Err(error) if error.code() == Some(ErrorCode::NoInputGroupAvailable) => {
                self.failures = 0;
                self.next = index + 1;
                Ok(Turn::NoWork)
            }
            Err(error) if is_transient(&error) => {
                let what = format!("reserving a job of program {}", target.id);
                if self.retry_later(&what, &error, StopLevel::AfterJob).await? {
                    return Ok(Turn::Stop);
                }
                Ok(Turn::Other)
            }
            Err(error) => {
                self.failures = 0;
                self.reporter.event(&Event::ProgramSkipped {
                    program_id: target.id,
                    error: describe(&error, self.client.base_url()),
                });
                self.excluded.insert(target.id);
                self.targets.remove(index);
                self.next = index;
                Ok(Turn::Other)
            }
        }
    }

    /// Does a reserved job and counts its result; a job stopped at once ends the loop, but
    /// still counts.
    async fn reserved_job(&mut self, target: &Target, reserved: Reserved) -> Result<(), AppError> {
        self.counts.jobs += 1;
        let result = match self.job(target, reserved).await {
            Ok(result) => result,
            Err(error) => {
                if error.exit == Exit::Interrupted {
                    self.counts.add(JobResult::Interrupted);
                }
                return Err(error);
            }
        };
        self.counts.add(result);
        self.after_job(target, result);
        Ok(())
    }

    /// (Re)loads the programs to work on; false if asked to stop meanwhile.
    async fn load_targets(&mut self) -> Result<bool, AppError> {
        let organization = match &self.selection {
            Selection::Ids(ids) => {
                // Names only make the display friendlier: without the listing, ids do.
                let listing = tokio::time::timeout(
                    Duration::from_secs(5),
                    server::programs(self.client, None),
                );
                let names: std::collections::HashMap<Uuid, String> = listing
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| (p.program_id, p.name))
                    .collect();
                self.targets = ids
                    .iter()
                    .filter(|id| !self.excluded.contains(id))
                    .map(|&id| Target {
                        id,
                        name: names.get(&id).cloned(),
                    })
                    .collect();
                return Ok(true);
            }
            Selection::Organization(id) => Some(*id),
            Selection::All => None,
        };
        loop {
            match server::programs(self.client, organization).await {
                Ok(programs) => {
                    self.failures = 0;
                    self.targets = programs
                        .into_iter()
                        .filter(|p| !self.excluded.contains(&p.program_id))
                        .map(|p| Target {
                            id: p.program_id,
                            name: Some(p.name),
                        })
                        .collect();
                    return Ok(true);
                }
                Err(error) if is_transient(&error) => {
                    if self
                        .retry_later("listing the programs", &error, StopLevel::AfterJob)
                        .await?
                    {
                        return Ok(false);
                    }
                }
                Err(error) => return Err(server::app_error(error, self.client.base_url())),
            }
        }
    }

    /// Whether the program is left alone after failed jobs right now.
    fn is_cooling(&self, program: Uuid) -> bool {
        self.cooling
            .get(&program)
            .is_some_and(|c| c.until > Instant::now())
    }

    /// Seconds until the first program left alone may be asked again, if any is.
    fn cooling_left(&self) -> Option<f64> {
        let now = Instant::now();
        self.cooling
            .values()
            .filter(|c| c.until > now)
            .map(|c| (c.until - now).as_secs_f64())
            .min_by(f64::total_cmp)
    }

    /// After a job: a success forgets the program's failures; a job that did not succeed leaves
    /// the program alone for the next wait of its backoff (the first is --retry-delay, doubled
    /// after each failure in a row up to --max-backoff).
    fn after_job(&mut self, target: &Target, result: JobResult) {
        let program = target.id;
        match result {
            JobResult::Accepted => {
                self.cooling.remove(&program);
            }
            JobResult::Interrupted => {}
            JobResult::Rejected | JobResult::Failed | JobResult::Dropped | JobResult::Skipped => {
                let (initial, max) = (self.args.retry_delay, self.args.max_backoff);
                let cooling = self.cooling.entry(program).or_insert_with(|| Cooling {
                    backoff: Backoff::new(initial, max),
                    in_a_row: 0,
                    until: Instant::now(),
                });
                let delay = cooling.backoff.next_delay();
                cooling.in_a_row += 1;
                cooling.until = Instant::now() + Duration::from_secs_f64(delay);
                self.reporter.event(&Event::BackingOff {
                    program_id: program,
                    program_name: target.name.clone(),
                    failed_in_a_row: cooling.in_a_row,
                    retry_in_secs: delay,
                });
            }
        }
    }

    /// Tells the server that the job's run failed, so that it counts the failure and hands the
    /// group out after the program's others. Best effort, within `patience`; `None` when the
    /// server did not take the report (then the caller gives the reservation back).
    async fn report_failure(
        &self,
        meta: &ReservationMetadata,
        diagnosis: &Diagnosis,
        patience: Duration,
    ) -> Option<FailureReportResponse> {
        let report = FailureReport {
            program_id: meta.program_id,
            input_group_id: meta.input_group_id,
            reservation_id: meta.reservation_id?,
            reason: diagnosis.reason,
            message: diagnosis.report_message(),
        };
        let sent = self.client.report_failure(&report);
        tokio::time::timeout(patience, sent).await.ok()?.ok()
    }

    /// Ends a job that could not be done: reports a failure of the job itself to the server, or
    /// else gives the reservation back (before its lock ends). Returns what to add to the job's
    /// message.
    async fn end_reservation(
        &self,
        meta: &ReservationMetadata,
        diagnosis: Option<&Diagnosis>,
        patience: Duration,
        lock_end: Instant,
    ) -> Option<String> {
        if Instant::now() >= lock_end {
            return None;
        }
        if let Some(diagnosis) = diagnosis {
            if let Some(answer) = self.report_failure(meta, diagnosis, patience).await {
                return Some(if answer.failed {
                    format!(
                        "reported; after {} failures the server hands this input group out no \
                         more (its organization sees why)",
                        answer.failures
                    )
                } else {
                    format!(
                        "reported: failure {} of {}; the group goes behind the others",
                        answer.failures, answer.max_failures
                    )
                });
            }
        }
        self.give_back(meta, patience)
            .await
            .then(|| "its input group is given back to the pool".to_string())
    }

    /// Ends the job's reservation so that another donor gets the input group now rather than
    /// when the lock runs out. Best effort, within `patience`: if it fails, the lock runs out.
    async fn give_back(&self, meta: &ReservationMetadata, patience: Duration) -> bool {
        let Some(reservation) = meta.reservation_id else {
            return false; // a server that hands out no reservation ids cannot take one back
        };
        let release =
            self.client
                .release_reservation(meta.program_id, meta.input_group_id, reservation);
        matches!(tokio::time::timeout(patience, release).await, Ok(Ok(())))
    }

    /// Counts a transient failure and waits before the next attempt; gives up (exit code 3)
    /// past --max-retries. True if the stop level reached `level` meanwhile.
    async fn retry_later(
        &mut self,
        what: &str,
        error: &ClientError,
        level: StopLevel,
    ) -> Result<bool, AppError> {
        self.failures += 1;
        let message = describe(error, self.client.base_url());
        if let Some(max) = self.args.max_retries {
            if self.failures > max {
                return Err(AppError::new(
                    Exit::Unreachable,
                    format!(
                        "giving up after {} failure{} in a row: {what}: {message}",
                        self.failures,
                        if self.failures == 1 { "" } else { "s" }
                    ),
                )
                .with_hint(
                    "check that the server is running and that --server / \
                     PROGRAM_DISTRIBUTOR_URL point at it; raise --max-retries to wait longer",
                ));
            }
        }
        let delay = self.network_backoff.next_delay();
        self.reporter.event(&Event::Retrying {
            what: what.to_string(),
            error: message,
            attempt: self.failures,
            retry_in_secs: delay,
        });
        Ok(self.wait(delay, level).await)
    }

    /// Sleeps `secs`; true if the stop level reaches `level` meanwhile.
    async fn wait(&mut self, secs: f64, level: StopLevel) -> bool {
        let sleep = tokio::time::sleep(Duration::from_secs_f64(secs));
        let interrupted = tokio::select! {
            _ = sleep => false,
            Ok(_) = self.stop.wait_for(|l| *l >= level) => true,
        };
        interrupted || self.stopping(level)
    }

    fn stopping(&self, level: StopLevel) -> bool {
        *self.stop.borrow() >= level
    }

    /// One reserved job, start to end: announce it, write its files, run the worker, then upload
    /// what it made or end the reservation with the reason.
    async fn job(&mut self, target: &Target, reserved: Reserved) -> Result<JobResult, AppError> {
        let mut run = self.announce(target, &reserved);
        let dir = tempfile::Builder::new()
            .prefix("executor-job-")
            .tempdir()
            .map_err(|e| AppError::local(format!("cannot create a temporary directory: {e}")))?;
        let Some(files) = self.write_job_files(dir.path(), reserved.reservation)? else {
            self.give_back(&run.meta, Duration::from_secs(3)).await;
            let message = "the server handed out a job to prove without its execution";
            return Ok(self.finish(&run, JobResult::Failed, Some(message.into()), None));
        };
        let outcome = self.run_worker(&mut run, &files).await?;
        match outcome_of(&mut run, outcome) {
            Ok(done) => self.deliver(&run, &files.output, done).await,
            Err(unfinished) => self.abandon(&run, unfinished).await,
        }
    }

    /// Reports the reservation and starts the job's clock.
    fn announce(&self, target: &Target, reserved: &Reserved) -> JobRun {
        let started = Instant::now();
        let lock_end = started + reserved.lock_left;
        let meta = reserved.reservation.metadata.clone();
        self.reporter.event(&Event::Reserved {
            program_id: meta.program_id,
            program_name: target.name.clone(),
            input_group_id: meta.input_group_id,
            input_group_name: meta.input_group_name.clone(),
            lock_expires_at: meta.lock_expires_at,
            download_bytes: reserved.bytes,
            download_secs: reserved.secs,
        });
        JobRun {
            meta,
            started,
            lock_end,
            upload_by: lock_end.checked_sub(UPLOAD_MARGIN).unwrap_or(started),
            steps: None,
        }
    }

    /// Writes the job's program, inputs (and recorded execution) into `dir` for the worker;
    /// `None` when a job to prove came without its execution.
    fn write_job_files(
        &self,
        dir: &Path,
        reservation: Reservation,
    ) -> Result<Option<JobFiles>, AppError> {
        let recorded = match (self.mode, reservation.execution) {
            (Mode::ProveExecution, None) => return Ok(None),
            (Mode::ProveExecution, Some(execution)) => Some((dir.join(EXECUTION_FILE), execution)),
            _ => None,
        };
        let files = JobFiles {
            program: dir.join("program.json"),
            inputs: dir.join("inputs.csv"),
            recorded: recorded.as_ref().map(|(path, _)| path.clone()),
            output: dir.join(match self.mode {
                Mode::Execute => EXECUTION_FILE,
                Mode::Prove | Mode::ProveExecution => "proof.bin",
            }),
        };
        let mut contents = vec![
            (&files.program, reservation.program_json),
            (&files.inputs, reservation.inputs_csv),
        ];
        if let Some((path, execution)) = &recorded {
            contents.push((path, execution.clone()));
        }
        for (path, bytes) in contents {
            std::fs::write(path, bytes)
                .map_err(|e| AppError::local(format!("cannot write {}: {e}", path.display())))?;
        }
        Ok(Some(files))
    }

    /// Runs the worker on the job's files, showing its progress, and gives the job up early
    /// when this machine's speed says the proof cannot be done before the upload deadline.
    async fn run_worker(
        &mut self,
        run: &mut JobRun,
        files: &JobFiles,
    ) -> Result<Outcome, AppError> {
        let task = match (&files.recorded, self.mode) {
            (Some(recorded), _) => WorkerTask::ProveExecution(recorded),
            (None, Mode::Execute) => WorkerTask::Execute,
            (None, _) => WorkerTask::Prove,
        };
        let job = WorkerJob {
            program: &files.program,
            inputs: &files.inputs,
            task,
            output: &files.output,
            memory_limit: available_memory().map(|m| m / 10 * 9),
            // A registered donor's proofs are bound to the key that signs their upload.
            prover_key: self.client.donor_key().map(|key| key.public()),
        };
        // Only a job that proves has proving left after the run.
        let speed = (self.mode != Mode::Execute)
            .then(|| self.speed.speed(self.controls.share.cpus()))
            .flatten();
        let (reporter, upload_by, steps) = (self.reporter, run.upload_by, &mut run.steps);
        supervisor::run(
            job,
            self.controls,
            Some(upload_by),
            self.stop,
            StopLevel::Now,
            |progress| {
                if let Progress::Worker(WorkerEvent::Executed { steps: s, rows, .. }) = &progress {
                    *steps = Some(*s);
                    if let Some(reason) = too_slow(speed, *rows, upload_by) {
                        return Flow::Abandon(reason);
                    }
                }
                report_progress(reporter, progress);
                Flow::Continue
            },
        )
        .await
    }

    /// Ends a job that made nothing to upload: reports a failed run to the server or gives the
    /// reservation back, and says how it ended. A second Ctrl-C ends the loop too.
    async fn abandon(
        &mut self,
        run: &JobRun,
        unfinished: Unfinished,
    ) -> Result<JobResult, AppError> {
        let Unfinished {
            result,
            mut message,
            diagnosis,
        } = unfinished;
        let interrupted = result == JobResult::Interrupted;
        // A second Ctrl-C means now: the server gets one second to take the job back.
        let patience = Duration::from_secs(if interrupted { 1 } else { 3 });
        let ended = self
            .end_reservation(&run.meta, diagnosis.as_ref(), patience, run.lock_end)
            .await;
        let given_back = ended.is_some();
        if let Some(ended) = ended {
            message.push_str("; ");
            message.push_str(&ended);
        }
        self.finish(run, result, Some(message), diagnosis.map(|d| d.cause));
        if !interrupted {
            return Ok(result);
        }
        let whereto = if given_back {
            "is given back to the pool".to_string()
        } else {
            format!(
                "goes back to the pool when its reservation ends at {}",
                run.expiry()
            )
        };
        Err(AppError::new(
            Exit::Interrupted,
            format!(
                "stopped at once; input group {} {whereto}",
                run.meta.input_group_name
            ),
        ))
    }

    /// Uploads what the worker made, unless it came too late; learns the proving speed.
    async fn deliver(
        &mut self,
        run: &JobRun,
        output: &Path,
        done: Done,
    ) -> Result<JobResult, AppError> {
        if let Some((rows, prove_secs)) = done.proved {
            self.speed
                .learn(rows, prove_secs, self.controls.share.cpus());
        }
        let artifact = self.mode.artifact();
        let noun = artifact.noun();
        if Instant::now() >= run.upload_by {
            let message = format!(
                "the {noun} was done too late: the reservation ends at {}; not uploaded",
                run.expiry()
            );
            return Ok(self.finish(run, JobResult::Dropped, Some(message), None));
        }
        let bytes = std::fs::read(output).map_err(|e| {
            AppError::local(format!("cannot read the {noun} {}: {e}", output.display()))
        })?;
        self.reporter.event(&Event::Uploading {
            artifact,
            bytes: done.bytes,
        });
        self.upload(run, artifact, bytes).await
    }

    /// Uploads the proof or execution, retrying network failures while the reservation lasts.
    async fn upload(
        &mut self,
        run: &JobRun,
        artifact: Artifact,
        bytes: Vec<u8>,
    ) -> Result<JobResult, AppError> {
        // The same ids name the job for either upload; the reservation id lets the server end
        // this reservation at once if it refuses the file.
        let data = UploadProofData {
            organization_id: run.meta.organization_id,
            program_id: run.meta.program_id,
            input_group_id: run.meta.input_group_id,
            reservation_id: run.meta.reservation_id,
        };
        loop {
            let uploaded = match artifact {
                Artifact::Proof => self.client.upload_proof(bytes.clone(), &data).await,
                Artifact::Execution => self.client.upload_execution(bytes.clone(), &data).await,
            };
            let error = match uploaded {
                Ok(()) => {
                    self.failures = 0;
                    self.network_backoff.reset();
                    let accepted = self.finish(run, JobResult::Accepted, None, None);
                    crate::donor::report_credit(self.client, self.reporter).await;
                    return Ok(accepted);
                }
                Err(error) if !is_transient(&error) => return self.refused(run, artifact, error),
                Err(error) => error,
            };
            let why = describe(&error, self.client.base_url());
            let next_try = Instant::now() + Duration::from_secs_f64(self.network_backoff.next);
            if next_try >= run.lock_end {
                let message = format!(
                    "could not upload before the reservation ended at {}: {why}",
                    run.expiry()
                );
                return Ok(self.finish(run, JobResult::Dropped, Some(message), None));
            }
            let what = format!(
                "uploading the {} of {}",
                artifact.noun(),
                run.meta.input_group_name
            );
            // A first Ctrl-C does not stop the upload of a finished job; a second does.
            match self.retry_later(&what, &error, StopLevel::Now).await {
                Ok(false) => {}
                Ok(true) => {
                    let message = Some("stopped at once".to_string());
                    self.finish(run, JobResult::Interrupted, message, None);
                    return Err(AppError::new(Exit::Interrupted, "stopped at once"));
                }
                Err(gave_up) => {
                    self.finish(run, JobResult::Failed, Some(why), None);
                    return Err(gave_up);
                }
            }
        }
    }

    /// The server refused the upload: the job ends, and the loop too when every proof of this
    /// build would be refused alike.
    fn refused(
        &self,
        run: &JobRun,
        artifact: Artifact,
        error: ClientError,
    ) -> Result<JobResult, AppError> {
        let noun = artifact.noun();
        let detail = match &error {
            ClientError::Api { code, message, .. } => format!("{code}: {message}"),
            other => describe(other, self.client.base_url()),
        };
        if error.code() == Some(ErrorCode::UnsupportedProofVersion) {
            let message = match &error {
                ClientError::Api { message, .. } => message.clone(),
                _ => detail,
            };
            let message = format!("the server refused the {noun}: {message}");
            self.finish(run, JobResult::Rejected, Some(message.clone()), None);
            return Err(AppError::new(Exit::Refused, message).with_hint(
                "update executor-client (the server reads another proof format version than \
                 this build writes) and run it again; the input group goes back to the pool",
            ));
        }
        let message = format!("the server refused the {noun}: {detail}");
        Ok(self.finish(run, JobResult::Rejected, Some(message), None))
    }

    /// Reports how the job ended (its summary line) and returns `result`.
    fn finish(
        &self,
        run: &JobRun,
        result: JobResult,
        message: Option<String>,
        cause: Option<String>,
    ) -> JobResult {
        let secs = run.started.elapsed().as_secs_f64();
        self.reporter.event(&Event::Job {
            result,
            program_id: run.meta.program_id,
            input_group_id: run.meta.input_group_id,
            input_group_name: run.meta.input_group_name.clone(),
            steps: run.steps,
            secs,
            steps_per_sec: run.steps.filter(|_| secs > 0.0).map(|s| s as f64 / secs),
            message,
            cause,
        });
        result
    }
}

/// One reserved job as it goes: what it is, its time limits, and the steps once known.
struct JobRun {
    meta: ReservationMetadata,
    started: Instant,
    /// When the reservation ends (on the server's clock, seen from here).
    lock_end: Instant,
    /// The last moment to start an upload.
    upload_by: Instant,
    steps: Option<u64>,
}

impl JobRun {
    fn expiry(&self) -> String {
        self.meta.lock_expires_at.format("%H:%M:%S UTC").to_string()
    }
}

/// Where a job's files are, for the worker.
struct JobFiles {
    program: PathBuf,
    inputs: PathBuf,
    /// The execution another donor recorded (`--prove-executions`).
    recorded: Option<PathBuf>,
    /// What the worker writes: the proof, or the execution file.
    output: PathBuf,
}

/// What the worker made: its size, and a proof's rows and proving seconds.
struct Done {
    bytes: u64,
    proved: Option<(u64, f64)>,
}

/// A job that ended without anything to upload.
struct Unfinished {
    result: JobResult,
    message: String,
    diagnosis: Option<Diagnosis>,
}

impl Unfinished {
    fn new(result: JobResult, message: impl Into<String>) -> Self {
        Unfinished {
            result,
            message: message.into(),
            diagnosis: None,
        }
    }
}

/// Why a proof of `rows` rows cannot be done before `upload_by` at `speed`, if it cannot.
fn too_slow(speed: Option<Speed>, rows: u64, upload_by: Instant) -> Option<String> {
    let needed = speed?.secs_for(rows as usize);
    let left = upload_by
        .saturating_duration_since(Instant::now())
        .as_secs_f64();
    (needed > left).then(|| {
        format!(
            "proving {rows} rows takes about {needed:.0}s at this CPU share, but the reservation \
             leaves {left:.0}s"
        )
    })
}

/// What the worker's outcome means for the job: something to upload, or how it ended.
fn outcome_of(run: &mut JobRun, outcome: Outcome) -> Result<Done, Unfinished> {
    match outcome {
        Outcome::Finished(WorkerEvent::Proved {
            steps,
            rows,
            prove_secs,
            proof_bytes,
            ..
        }) => {
            run.steps = Some(steps);
            Ok(Done {
                bytes: proof_bytes,
                proved: Some((rows, prove_secs)),
            })
        }
        Outcome::Finished(WorkerEvent::Recorded {
            steps,
            execution_bytes,
            ..
        }) => {
            run.steps = Some(steps);
            Ok(Done {
                bytes: execution_bytes,
                proved: None,
            })
        }
        Outcome::Finished(_) => Err(Unfinished::new(
            JobResult::Failed,
            "the worker reported nonsense",
        )),
        Outcome::Failed {
            kind: FailureKind::Memory,
            message,
        } => Err(Unfinished::new(JobResult::Skipped, message)),
        Outcome::Failed { kind, message } if failure::is_the_jobs(kind) => {
            let diagnosis = failure::diagnose(kind, &message);
            Err(Unfinished {
                result: JobResult::Failed,
                message: diagnosis.summary.clone(),
                diagnosis: Some(diagnosis),
            })
        }
        Outcome::Failed { kind, message } => Err(Unfinished::new(
            JobResult::Failed,
            format!("{} failed: {message}", kind.as_str()),
        )),
        Outcome::Crashed(message) => Err(Unfinished::new(JobResult::Failed, message)),
        Outcome::DeadlinePassed => Err(Unfinished::new(
            JobResult::Dropped,
            format!(
                "its reservation ends at {}, before the job could be done and uploaded; not \
                 uploaded late",
                run.expiry()
            ),
        )),
        Outcome::Abandoned(reason) => Err(Unfinished::new(JobResult::Dropped, reason)),
        Outcome::Stopped => Err(Unfinished::new(JobResult::Interrupted, "stopped at once")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::new(1.0, 5.0);
        let delays: Vec<f64> = (0..5).map(|_| backoff.next_delay()).collect();
        assert_eq!(delays, vec![1.0, 2.0, 4.0, 5.0, 5.0]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), 1.0);
        let mut zero = Backoff::new(0.0, 0.0);
        assert!(zero.next_delay() > 0.0, "a zero delay would spin");
    }
}
