//! The parent's side of the proving worker: starts it at the lowest priority, holds it to the
//! CPU share by pausing and resuming it, pauses it while the machine is busy, and kills it on a
//! deadline or a second Ctrl-C.
//!
//! # The CPU share
//! The worker runs `ceil(cpus)` threads. A token bucket keeps the CPU time of the job (the
//! worker's, read from `/proc/<pid>/stat` for all its threads, plus the client's own) at most
//! `cpus` seconds per wall second: every tick the bucket gains `cpus × elapsed` and loses the
//! CPU time used; while it is empty
//! the worker is stopped (SIGSTOP), when it refills the worker continues (SIGCONT). The bucket
//! holds at most [`BURST_SECS`] of credit, so a worker that idled cannot later run far over its
//! share. With a whole-number share and as many threads, it rarely has to act at all.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdout};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::exit::AppError;
use crate::resources::CpuShare;
use crate::rusage;
use crate::signals::StopLevel;
use crate::worker::{FailureKind, WorkerEvent};

/// How often the share is enforced.
const TICK: Duration = Duration::from_millis(20);
/// Largest CPU credit the bucket holds, in wall seconds at the share.
const BURST_SECS: f64 = 0.1;
/// How often the machine's load is measured for `--pause-when-busy` (sysinfo needs ≥ 200 ms).
const BUSY_SAMPLE: Duration = Duration::from_millis(1000);
/// Scheduling niceness of the worker: the lowest priority.
const NICENESS: i32 = 19;

/// How the worker is held back.
#[derive(Debug, Clone, Copy)]
pub struct Controls {
    pub share: CpuShare,
    /// Pause while the rest of the machine uses more than this percentage of all CPUs.
    pub pause_when_busy: Option<f64>,
}

/// One job for the worker.
#[derive(Debug, Clone, Copy)]
pub struct WorkerJob<'a> {
    pub program: &'a Path,
    pub inputs: &'a Path,
    pub task: WorkerTask<'a>,
    /// The proof, or the execution file with [`WorkerTask::Execute`].
    pub output: &'a Path,
    pub memory_limit: Option<u64>,
    /// The donor key to bind the proof to (a registered donor's), or `None` for anonymous.
    pub prover_key: Option<[u8; 32]>,
}

/// What the worker is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerTask<'a> {
    /// Run the program and prove the run.
    Prove,
    /// Prove the run recorded in this execution file.
    ProveExecution(&'a Path),
    /// Run the program and write the execution file.
    Execute,
}

/// What the supervisor tells its caller as the job goes.
#[derive(Debug, Clone)]
pub enum Progress {
    Worker(WorkerEvent),
    /// Paused because the rest of the machine uses `others_pct` percent of the CPUs.
    Paused {
        others_pct: f64,
    },
    Resumed,
}

/// The caller's answer to a [`Progress`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Kill the worker and give the job up, for this reason.
    Abandon(String),
}

/// How the worker's job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The output file is written; the last event is the worker's `Proved` (or `Recorded`).
    Finished(WorkerEvent),
    /// The worker reported that it cannot do the job.
    Failed { kind: FailureKind, message: String },
    /// Killed on a second Ctrl-C.
    Stopped,
    /// Killed at the deadline.
    DeadlinePassed,
    /// Killed because the caller asked.
    Abandoned(String),
    /// The worker died without saying why.
    Crashed(String),
}

/// Runs the worker on `job` until it finishes, the `deadline` passes or `stop` reaches
/// `kill_at`.
pub async fn run(
    job: WorkerJob<'_>,
    controls: Controls,
    deadline: Option<Instant>,
    stop: &mut watch::Receiver<StopLevel>,
    kill_at: StopLevel,
    on_progress: impl FnMut(Progress) -> Flow,
) -> Result<Outcome, AppError> {
    let mut running = Running::start(job, controls.share.threads())?;
    if *stop.borrow() >= kill_at {
        running.kill().await;
        return Ok(Outcome::Stopped);
    }
    match running
        .watch(controls, deadline, stop, kill_at, on_progress)
        .await
    {
        Watched::Early(outcome) => {
            running.kill().await;
            Ok(outcome)
        }
        Watched::Closed(last) => running.finish(last).await,
    }
}

/// A started worker: its process, its stdout as event lines, and the task draining its stderr.
struct Running {
    child: Child,
    pid: libc::pid_t,
    lines: Lines<BufReader<ChildStdout>>,
    stderr_task: Option<JoinHandle<String>>,
}

/// How watching the worker ended.
enum Watched {
    /// Before the worker was done (deadline, stop, the caller's abandon): it must be killed.
    Early(Outcome),
    /// The worker closed its stdout, after this last event of its own.
    Closed(Option<WorkerEvent>),
}

impl Running {
    /// Spawns the worker and takes its pipes; its stderr is drained from here on.
    fn start(job: WorkerJob<'_>, threads: usize) -> Result<Self, AppError> {
        let mut child = spawn(job, threads)?;
        let pid = child.id().ok_or_else(|| {
            AppError::local("the proving worker exited before it could be watched")
        })? as libc::pid_t;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| AppError::local("the proving worker has no stdout"))?;
        let stderr_task = child.stderr.take().map(drain_stderr);
        Ok(Running {
            child,
            pid,
            lines: BufReader::new(stdout).lines(),
            stderr_task,
        })
    }

    /// Follows the worker's events while holding it to its share, until it closes its stdout
    /// or something ends the job first.
    async fn watch(
        &mut self,
        controls: Controls,
        deadline: Option<Instant>,
        stop: &mut watch::Receiver<StopLevel>,
        kill_at: StopLevel,
        mut on_progress: impl FnMut(Progress) -> Flow,
    ) -> Watched {
        let mut throttle = Throttle::new(self.pid, controls);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stop_open = true;
        let mut last: Option<WorkerEvent> = None;
        let deadline_sleep = tokio::time::sleep_until(deadline.unwrap_or_else(far_future));
        tokio::pin!(deadline_sleep);
        let early = 'watch: loop {
            tokio::select! {
                line = self.lines.next_line() => match line {
                    Ok(Some(line)) => {
                        let Ok(event) = serde_json::from_str::<WorkerEvent>(&line) else {
                            continue; // not ours (a library printing); ignore
                        };
                        let flow = on_progress(Progress::Worker(event.clone()));
                        last = Some(event);
                        if let Flow::Abandon(reason) = flow {
                            break Outcome::Abandoned(reason);
                        }
                    }
                    Ok(None) | Err(_) => return Watched::Closed(last),
                },
                _ = tick.tick() => {
                    for change in throttle.tick() {
                        if let Flow::Abandon(reason) = on_progress(change) {
                            break 'watch Outcome::Abandoned(reason);
                        }
                    }
                }
                _ = &mut deadline_sleep, if deadline.is_some() => break Outcome::DeadlinePassed,
                changed = stop.changed(), if stop_open => match changed {
                    Ok(()) if *stop.borrow() >= kill_at => break Outcome::Stopped,
                    Ok(()) => {}
                    Err(_) => stop_open = false,
                },
            }
        };
        Watched::Early(early)
    }

    /// After the worker closed its stdout: waits for it to exit and tells how the job ended
    /// from its last event, its exit status and the end of its stderr.
    async fn finish(mut self, last: Option<WorkerEvent>) -> Result<Outcome, AppError> {
        // The worker is exiting. It must not be left stopped.
        signal(self.pid, libc::SIGCONT);
        let status = self
            .child
            .wait()
            .await
            .map_err(|e| AppError::local(format!("cannot wait for the proving worker: {e}")))?;
        let stderr = match self.stderr_task {
            Some(task) => task.await.unwrap_or_default(),
            None => String::new(),
        };
        Ok(match last {
            Some(event @ (WorkerEvent::Proved { .. } | WorkerEvent::Recorded { .. }))
                if status.success() =>
            {
                Outcome::Finished(event)
            }
            Some(WorkerEvent::Failed { kind, message }) => Outcome::Failed { kind, message },
            _ => Outcome::Crashed(crash_message(status, &stderr)),
        })
    }

    /// Kills the worker and reaps it.
    async fn kill(&mut self) {
        kill(&mut self.child, self.pid).await;
    }
}

/// Reads all of the worker's stderr (a full pipe would block the worker) and keeps the end: a
/// panic message, for the error report.
fn drain_stderr(mut stderr: ChildStderr) -> JoinHandle<String> {
    tokio::spawn(async move {
        const KEEP: usize = 8 * 1024;
        let mut tail: Vec<u8> = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            tail.extend_from_slice(&chunk[..n]);
            if tail.len() > 2 * KEEP {
                tail.drain(..tail.len() - KEEP);
            }
        }
        String::from_utf8_lossy(&tail).into_owned()
    })
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 3600)
}

fn crash_message(status: std::process::ExitStatus, stderr: &str) -> String {
    use std::os::unix::process::ExitStatusExt;
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(libc::SIGKILL)) => "was killed (SIGKILL; out of memory?)".to_string(),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended".to_string(),
    };
    let said: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = said[said.len().saturating_sub(3)..].join(" / ");
    if tail.is_empty() {
        format!("the proving worker {how} without a report")
    } else {
        format!("the proving worker {how}: {tail}")
    }
}

fn spawn(job: WorkerJob<'_>, threads: usize) -> Result<Child, AppError> {
    let exe = std::env::current_exe()
        .map_err(|e| AppError::local(format!("cannot find this program's own executable: {e}")))?;
    let mut command = tokio::process::Command::new(exe);
    command
        .arg("prove-worker")
        .arg("--program")
        .arg(job.program)
        .arg("--inputs")
        .arg(job.inputs)
        .arg("--output")
        .arg(job.output)
        .arg("--threads")
        .arg(threads.to_string())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Its own process group: a Ctrl-C at the terminal reaches only the client, which decides.
        .process_group(0);
    if let Some(limit) = job.memory_limit {
        command.arg("--memory-limit").arg(limit.to_string());
    }
    if let Some(key) = job.prover_key {
        command
            .arg("--prover-key")
            .arg(distributor_api::signing::hex(&key));
    }
    match job.task {
        WorkerTask::Prove => {}
        WorkerTask::ProveExecution(execution) => {
            command.arg("--execution").arg(execution);
        }
        WorkerTask::Execute => {
            command.arg("--execute-only");
        }
    }
    // SAFETY: between fork and exec only async-signal-safe calls are made (setpriority, prctl),
    // touching no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            // Lowest priority; failing to lower it is not worth failing the job.
            libc::setpriority(libc::PRIO_PROCESS, 0, NICENESS);
            // If the client dies (even by SIGKILL), the worker goes with it.
            #[cfg(target_os = "linux")]
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command
        .spawn()
        .map_err(|e| AppError::local(format!("cannot start the proving worker: {e}")))
}

async fn kill(child: &mut Child, pid: libc::pid_t) {
    signal(pid, libc::SIGKILL);
    let _ = child.wait().await;
}

fn signal(pid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill(2) on our own child, which is not reaped before we stop signalling it, so the
    // pid cannot belong to another process.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// CPU time (user + system, all threads) the process has used, in seconds.
pub fn cpu_seconds(pid: libc::pid_t) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of the full line are 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / clock_ticks_per_second())
}

/// CPU time (user + system) this process has used, in seconds.
fn own_cpu_seconds() -> f64 {
    rusage::cpu_seconds(rusage::Who::Me)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// The share and busy-machine logic, apart from the event loop.
struct Throttle {
    pid: libc::pid_t,
    controls: Controls,
    bucket: f64,
    last_tick: std::time::Instant,
    last_cpu: f64,
    last_own_cpu: f64,
    share_stopped: bool,
    busy: Option<BusyMonitor>,
    busy_stopped: bool,
    stopped: bool,
}

impl Throttle {
    fn new(pid: libc::pid_t, controls: Controls) -> Self {
        Throttle {
            pid,
            controls,
            bucket: controls.share.cpus() * BURST_SECS,
            last_tick: std::time::Instant::now(),
            last_cpu: 0.0,
            last_own_cpu: own_cpu_seconds(),
            share_stopped: false,
            busy: controls
                .pause_when_busy
                .and_then(|pct| BusyMonitor::new(pct, pid)),
            busy_stopped: false,
            stopped: false,
        }
    }

    /// Updates the bucket and the busy check; returns the pause/resume changes to report.
    fn tick(&mut self) -> Vec<Progress> {
        let mut changes = Vec::new();
        let now = std::time::Instant::now();
        let elapsed = now.duration_since(self.last_tick).as_secs_f64();
        self.last_tick = now;
        let Some(cpu) = cpu_seconds(self.pid) else {
            return changes; // exiting; the reader sees the end
        };
        let own = own_cpu_seconds();
        let used = (cpu - self.last_cpu).max(0.0) + (own - self.last_own_cpu).max(0.0);
        self.last_cpu = cpu;
        self.last_own_cpu = own;
        let share = self.controls.share.cpus();
        if !self.busy_stopped {
            self.bucket += share * elapsed;
        }
        self.bucket = (self.bucket - used).min(share * BURST_SECS);
        self.share_stopped = self.bucket < 0.0;

        if let Some(busy) = self.busy.as_mut() {
            if let Some(others) = busy.sample(cpu) {
                if !self.busy_stopped && others > busy.threshold {
                    self.busy_stopped = true;
                    changes.push(Progress::Paused { others_pct: others });
                } else if self.busy_stopped && others <= busy.threshold {
                    self.busy_stopped = false;
                    changes.push(Progress::Resumed);
                }
            }
        }

        let stop = self.share_stopped || self.busy_stopped;
        if stop != self.stopped {
            signal(self.pid, if stop { libc::SIGSTOP } else { libc::SIGCONT });
            self.stopped = stop;
        }
        changes
    }
}

/// Measures how much of the machine's CPU everything but the worker uses.
struct BusyMonitor {
    threshold: f64,
    system: sysinfo::System,
    cpus: f64,
    last_sample: std::time::Instant,
    last_worker_cpu: f64,
}

impl BusyMonitor {
    fn new(threshold: f64, pid: libc::pid_t) -> Option<Self> {
        use sysinfo::{CpuRefreshKind, RefreshKind};
        let system = sysinfo::System::new_with_specifics(
            RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing().with_usage()),
        )
        .ok()?;
        let cpus = system.cpus().len().max(1) as f64;
        Some(BusyMonitor {
            threshold,
            system,
            cpus,
            last_sample: std::time::Instant::now(),
            last_worker_cpu: cpu_seconds(pid).unwrap_or(0.0),
        })
    }

    /// Every [`BUSY_SAMPLE`]: the percentage of all CPUs used by other processes.
    fn sample(&mut self, worker_cpu: f64) -> Option<f64> {
        let now = std::time::Instant::now();
        let elapsed = now.duration_since(self.last_sample);
        if elapsed < BUSY_SAMPLE {
            return None;
        }
        self.system.refresh_cpu_usage();
        let total = f64::from(self.system.global_cpu_usage());
        let worker =
            (worker_cpu - self.last_worker_cpu).max(0.0) / elapsed.as_secs_f64() / self.cpus
                * 100.0;
        self.last_sample = now;
        self.last_worker_cpu = worker_cpu;
        Some((total - worker).clamp(0.0, 100.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/PID/stat` (what the supervisor reads of its worker) and `getrusage` (the kernel's
    /// own count for this process) agree on CPU time spent between two readings.
    #[test]
    fn cpu_time_of_this_process_is_readable() {
        let pid = std::process::id() as libc::pid_t;
        let (proc_before, own_before) = (cpu_seconds(pid).unwrap(), own_cpu_seconds());
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut x = 0u64;
        while own_cpu_seconds() - own_before < 0.3 {
            assert!(std::time::Instant::now() < deadline, "no CPU time in 60 s");
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        let spent_proc = cpu_seconds(pid).unwrap() - proc_before;
        let spent_own = own_cpu_seconds() - own_before;
        // /proc counts in clock ticks (10 ms here); allow a few either side, for other threads.
        let tick = 1.0 / clock_ticks_per_second();
        assert!(
            (spent_proc - spent_own).abs() <= 5.0 * tick,
            "/proc says {spent_proc:.3} s, getrusage {spent_own:.3} s"
        );
    }

    #[test]
    fn crash_messages_say_how_and_the_last_words() {
        use std::os::unix::process::ExitStatusExt;
        let message = crash_message(
            std::process::ExitStatus::from_raw(101 << 8),
            "\n\nthread main panicked at x\n",
        );
        assert!(message.contains("status 101"), "{message}");
        assert!(message.contains("panicked"), "{message}");
    }
}
