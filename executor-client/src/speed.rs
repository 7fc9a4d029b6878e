//! How fast this machine proves, for deadline estimates: measured once by a calibration (a small
//! real proof through the same worker and CPU share as a job), kept in the config directory, and
//! refreshed from every proof this client makes (an exponential average).
//!
//! The speed is kept per CPU of share (`cairo_stark::cost::Speed` units per second, divided by
//! `--cpus`), so that a donor who lends another share gets a fitting estimate at once; the time
//! a proof of a given size takes follows `cairo_stark::cost` (n log n in the rows).

use std::path::{Path, PathBuf};

use cairo_stark::cost::Speed;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::exit::AppError;
use crate::output::Reporter;
use crate::signals::StopLevel;
use crate::supervisor::{self, Controls, Flow, Outcome, WorkerJob, WorkerTask};
use crate::worker::WorkerEvent;

/// Weight of a new measurement in the average.
const WEIGHT: f64 = 0.3;
/// Values given to the guest template in the calibration proof: about 2^14 trace rows, a second
/// or two of proving on one CPU of a small machine.
const CALIBRATION_VALUES: u64 = 1000;

/// The speed file, as stored.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
struct Stored {
    /// `cairo_stark::cost::Speed` units per second, per CPU of share.
    units_per_cpu_sec: f64,
    /// Proofs measured so far (the calibration included).
    proofs: u64,
}

/// The speed of this machine, where it is kept.
#[derive(Debug, Clone)]
pub struct SpeedBook {
    path: Option<PathBuf>,
    stored: Option<Stored>,
}

impl SpeedBook {
    /// The speed kept in `$XDG_CONFIG_HOME/executor-client/speed.json` (else
    /// `~/.config/...`); none kept (or unreadable) is a book without a speed.
    pub fn load() -> SpeedBook {
        let path = default_path();
        let stored = path.as_deref().and_then(read);
        SpeedBook { path, stored }
    }

    /// A book kept at `path` (tests).
    #[cfg(test)]
    fn at(path: PathBuf) -> SpeedBook {
        let stored = read(&path);
        SpeedBook {
            path: Some(path),
            stored,
        }
    }

    /// The expected speed at a share of `cpus`, if this machine was ever measured.
    pub fn speed(&self, cpus: f64) -> Option<Speed> {
        let stored = self.stored?;
        Speed::from_units_per_sec(stored.units_per_cpu_sec * cpus)
    }

    /// Learns from a proof of `rows` rows that took `secs` at a share of `cpus`, and keeps it.
    pub fn learn(&mut self, rows: u64, secs: f64, cpus: f64) {
        let Some(seen) = Speed::from_run(rows as usize, secs) else {
            return;
        };
        let per_cpu = seen.scaled(1.0 / cpus.max(0.001));
        let stored = match self
            .stored
            .and_then(|s| Some((s, Speed::from_units_per_sec(s.units_per_cpu_sec)?)))
        {
            Some((old, speed)) => Stored {
                units_per_cpu_sec: speed.blend(per_cpu, WEIGHT).units_per_sec(),
                proofs: old.proofs + 1,
            },
            None => Stored {
                units_per_cpu_sec: per_cpu.units_per_sec(),
                proofs: 1,
            },
        };
        self.stored = Some(stored);
        // Not keeping it only costs a calibration next time.
        if let Some(path) = &self.path {
            let _ = write(path, &stored);
        }
    }

    /// Measures the speed with a small real proof (the guest template summing
    /// [`CALIBRATION_VALUES`] values) through the worker, at the share `controls` gives, unless
    /// it is known already.
    pub async fn calibrate_if_needed(
        &mut self,
        controls: Controls,
        reporter: &Reporter,
        stop: &mut watch::Receiver<StopLevel>,
    ) -> Result<(), AppError> {
        if self.stored.is_some() {
            return Ok(());
        }
        let dir = tempfile::Builder::new()
            .prefix("executor-calibration-")
            .tempdir()
            .map_err(|e| AppError::local(format!("cannot create a temporary directory: {e}")))?;
        let program = dir.path().join("guest.json");
        let inputs = dir.path().join("inputs.csv");
        let output = dir.path().join("proof.bin");
        let csv: String = (1..=CALIBRATION_VALUES).map(|v| format!("{v}\n")).collect();
        for (path, bytes) in [
            (&program, cairo_stark::guest_template::COMPILED),
            (&inputs, csv.as_bytes()),
        ] {
            std::fs::write(path, bytes)
                .map_err(|e| AppError::local(format!("cannot write {}: {e}", path.display())))?;
        }
        reporter.start_job(
            "calibration".to_string(),
            "measuring this machine's proving speed with a small proof (once)".to_string(),
        );
        let job = WorkerJob {
            program: &program,
            inputs: &inputs,
            task: WorkerTask::Prove,
            output: &output,
            memory_limit: None,
            prover_key: None,
        };
        let outcome = supervisor::run(job, controls, None, stop, StopLevel::AfterJob, |p| {
            crate::offline::report_progress(reporter, p);
            Flow::Continue
        })
        .await?;
        reporter.end_job();
        // A calibration that did not finish (Ctrl-C, a failure) leaves the speed unknown: the
        // first job then learns it.
        if let Outcome::Finished(WorkerEvent::Proved {
            rows, prove_secs, ..
        }) = outcome
        {
            self.learn(rows, prove_secs, controls.share.cpus());
            reporter.calibrated(rows, prove_secs);
        }
        Ok(())
    }
}

fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("executor-client").join("speed.json"))
}

fn read(path: &Path) -> Option<Stored> {
    let stored: Stored = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    Speed::from_units_per_sec(stored.units_per_cpu_sec).map(|_| stored)
}

fn write(path: &Path, stored: &Stored) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(stored).map_err(std::io::Error::other)?;
    crate::worker::write_atomically(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_speed_is_kept_per_cpu_and_averaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/speed.json");
        let mut book = SpeedBook::at(path.clone());
        assert!(book.speed(1.0).is_none());
        // 2^14 rows in 2 s at half a CPU: 1 s per CPU.
        book.learn(1 << 14, 2.0, 0.5);
        let at_one = book.speed(1.0).unwrap();
        assert!((at_one.secs_for(1 << 14) - 1.0).abs() < 1e-9);
        let at_two = book.speed(2.0).unwrap();
        assert!((at_two.secs_for(1 << 14) - 0.5).abs() < 1e-9);

        // Kept on disk, and a slower proof pulls the average down by its weight.
        let mut again = SpeedBook::at(path.clone());
        assert_eq!(again.speed(1.0), Some(at_one));
        again.learn(1 << 14, 2.0, 1.0);
        let blended = again.speed(1.0).unwrap().units_per_sec();
        let expected = 0.7 * at_one.units_per_sec() + 0.3 * at_one.units_per_sec() / 2.0;
        assert!((blended - expected).abs() < 1e-6, "{blended} {expected}");
        assert_eq!(read(&path).unwrap().proofs, 2);

        // Nonsense is ignored.
        again.learn(0, 1.0, 1.0);
        std::fs::write(&path, "{\"units_per_cpu_sec\": -1, \"proofs\": 1}").unwrap();
        assert!(SpeedBook::at(path).speed(1.0).is_none());
    }
}
