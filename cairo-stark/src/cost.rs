//! What proving an execution costs, before proving it: trace rows, peak memory, and time at a
//! measured speed. A pure model (no clock, no machine): callers bring the speed they measured.
//!
//! - **Rows**: at least the steps plus one, rounded up to a power of two, and never under
//!   2^[`MIN_LOG_TRACE_LENGTH`]. The trace may still grow (range-check cells, memory holes need
//!   rows too), so this is a lower bound; the prover reports the real size once the trace is
//!   built.
//! - **Memory**: peak resident memory of a proving process grows linearly with the rows: the
//!   prover keeps each column's coefficients and extends them a coset piece at a time. Measured
//!   with `bench --single K --threads 2` (2026-12-03, at df95c16: default options, the run and
//!   the trace included): 96 MiB at 2^15 (3 072 B a row), 189 MiB at 2^16 (3 024), 366 MiB at
//!   2^17 (2 928); [`memory_bytes`] stays within 20 % above those. The extension pieces grow
//!   with the blowup factor, so other options scale the per-row part. These are
//!   [`crate::MemoryMode::Lean`]'s figures (`Fast` keeps the extensions: more).
//! - **Time**: proving is dominated by FFTs and hashing, `n log n` in the rows. A speed is
//!   measured once as [`Speed::from_run`] (rows and seconds of one real proof) and predicts
//!   other sizes by that law.

use crate::statement::MIN_LOG_TRACE_LENGTH;
use crate::vm::Execution;
use crate::ProofOptions;

/// Memory a proving process needs whatever the trace (code, runtime, buffers), in bytes.
pub const BASE_MEMORY_BYTES: u64 = 12 * 1024 * 1024;
/// Memory per trace row at the default options (blowup 4), in bytes.
pub const MEMORY_BYTES_PER_ROW: u64 = 3072;
/// The blowup factor [`MEMORY_BYTES_PER_ROW`] was measured at.
const MEASURED_BLOWUP: u64 = 4;

/// What proving one execution is expected to cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// Trace rows (a lower bound: see the module's documentation).
    pub rows: usize,
    /// Peak memory of the proving process, in bytes.
    pub memory_bytes: u64,
}

impl Cost {
    /// The cost of proving `execution` with `options`.
    pub fn of(execution: &Execution, options: &ProofOptions) -> Cost {
        let rows = rows_for_steps(execution.steps);
        Cost {
            rows,
            memory_bytes: memory_bytes(rows, options),
        }
    }

    /// Seconds to prove at `speed`.
    pub fn secs_at(&self, speed: Speed) -> f64 {
        speed.secs_for(self.rows)
    }
}

/// Trace rows of a run of `steps` steps: `steps + 1` (the final state has a row) rounded up to a
/// power of two, at least 2^[`MIN_LOG_TRACE_LENGTH`].
pub fn rows_for_steps(steps: usize) -> usize {
    steps
        .saturating_add(1)
        .checked_next_power_of_two()
        .unwrap_or(usize::MAX)
        .max(1 << MIN_LOG_TRACE_LENGTH)
}

/// Peak memory of proving a trace of `rows` rows with `options`, in bytes.
pub fn memory_bytes(rows: usize, options: &ProofOptions) -> u64 {
    let blowup = (options.blowup_factor as u64).max(1);
    // The coefficients (about half the per-row figure) do not grow with the blowup; the
    // extension pieces do.
    let per_row = MEMORY_BYTES_PER_ROW / 2
        + (MEMORY_BYTES_PER_ROW / 2).saturating_mul(blowup) / MEASURED_BLOWUP;
    BASE_MEMORY_BYTES.saturating_add((rows as u64).saturating_mul(per_row))
}

/// A proving speed: `n log n` work units (`rows · log2(rows)`) per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    units_per_sec: f64,
}

impl Speed {
    /// The speed of a proof of `rows` rows that took `secs` seconds (`None` for a run that says
    /// nothing: no rows, no time, or not finite).
    pub fn from_run(rows: usize, secs: f64) -> Option<Speed> {
        let units = work_units(rows);
        (units > 0.0 && secs.is_finite() && secs > 0.0).then(|| Speed {
            units_per_sec: units / secs,
        })
    }

    /// A speed from its stored value (see [`Speed::units_per_sec`]).
    pub fn from_units_per_sec(units_per_sec: f64) -> Option<Speed> {
        (units_per_sec.is_finite() && units_per_sec > 0.0).then_some(Speed { units_per_sec })
    }

    /// The value to store.
    pub fn units_per_sec(self) -> f64 {
        self.units_per_sec
    }

    /// Seconds to prove `rows` rows.
    pub fn secs_for(self, rows: usize) -> f64 {
        work_units(rows) / self.units_per_sec
    }

    /// Rows per second when proving `rows` rows (what people read).
    pub fn rows_per_sec(self, rows: usize) -> f64 {
        let secs = self.secs_for(rows);
        if secs > 0.0 {
            rows as f64 / secs
        } else {
            0.0
        }
    }

    /// This speed moved towards `seen` by `weight` (0..=1): an exponential average.
    pub fn blend(self, seen: Speed, weight: f64) -> Speed {
        let weight = weight.clamp(0.0, 1.0);
        Speed {
            units_per_sec: (1.0 - weight) * self.units_per_sec + weight * seen.units_per_sec,
        }
    }

    /// The same speed with `factor` times the CPU (a different share of the machine).
    pub fn scaled(self, factor: f64) -> Speed {
        Speed {
            units_per_sec: self.units_per_sec * factor.max(f64::MIN_POSITIVE),
        }
    }
}

/// `rows · log2(rows)`, with a row counted as two (log2 of one is zero); none for no rows.
fn work_units(rows: usize) -> f64 {
    if rows == 0 {
        return 0.0;
    }
    let rows = rows.max(2) as f64;
    rows * rows.log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_respect_the_minimum_trace_length() {
        assert_eq!(rows_for_steps(0), 1 << MIN_LOG_TRACE_LENGTH);
        assert_eq!(rows_for_steps(10), 1 << MIN_LOG_TRACE_LENGTH);
        assert_eq!(rows_for_steps(1 << 10), 1 << 11);
        assert_eq!(rows_for_steps((1 << 10) - 1), 1 << 10);
    }

    #[test]
    fn memory_is_within_the_measured_peaks_at_the_default_options() {
        let options = ProofOptions::default();
        for (log, per_row) in [(15u32, 3072u64), (16, 3024), (17, 2928)] {
            let measured = (per_row << log) as f64;
            let ratio = memory_bytes(1 << log, &options) as f64 / measured;
            assert!((1.0..=1.2).contains(&ratio), "2^{log}: {ratio:.2}");
        }
        let wider = ProofOptions {
            blowup_factor: 8,
            ..options
        };
        assert!(memory_bytes(1 << 16, &wider) > memory_bytes(1 << 16, &options));
    }

    #[test]
    fn time_grows_as_n_log_n_from_one_measured_run() {
        let speed = Speed::from_run(1 << 14, 2.0).unwrap();
        assert!((speed.secs_for(1 << 14) - 2.0).abs() < 1e-9);
        // Four times the rows: four times the work, times 16/14 for the log.
        let expected = 2.0 * 4.0 * 16.0 / 14.0;
        assert!((speed.secs_for(1 << 16) - expected).abs() < 1e-9);
        assert!(Speed::from_run(0, 1.0).is_none());
        assert!(Speed::from_run(1 << 10, 0.0).is_none());
        let twice = speed.scaled(2.0);
        assert!((twice.secs_for(1 << 14) - 1.0).abs() < 1e-9);
        let halfway = speed.blend(twice, 0.5);
        assert!((halfway.units_per_sec() - 1.5 * speed.units_per_sec()).abs() < 1e-6);
    }
}
