//! What the donor lends: a CPU share checked against the machine (sysinfo), and the memory the
//! machine has free (what a job needs is `cairo_stark::cost`).

use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

use crate::exit::AppError;

/// Smallest share accepted, as in the spec's `EXECUTOR_CPUS`.
pub const MIN_CPUS: f64 = 0.001;
/// Share lent when neither `--cpus` nor `EXECUTOR_CPUS` says.
pub const DEFAULT_CPUS: f64 = 1.0;

/// A validated CPU share: at most `cpus` seconds of CPU time per wall-clock second, spread over
/// `threads = ceil(cpus)` proving threads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuShare {
    cpus: f64,
    threads: usize,
}

impl CpuShare {
    /// Checks `cpus` against the `machine` CPU count.
    pub fn new(cpus: f64, machine: usize) -> Result<Self, AppError> {
        let limit = machine.max(1) as f64;
        if !cpus.is_finite() || cpus < MIN_CPUS || cpus > limit {
            return Err(AppError::usage(format!(
                "--cpus / EXECUTOR_CPUS {cpus} is out of range: this machine has {machine} CPU{s}, \
                 so the share must be between {MIN_CPUS} and {machine}",
                s = if machine == 1 { "" } else { "s" }
            ))
            .with_hint(format!(
                "use a value from {MIN_CPUS} to {machine}, e.g. --cpus {}",
                (limit / 2.0).max(MIN_CPUS)
            )));
        }
        Ok(CpuShare {
            cpus,
            threads: (cpus.ceil() as usize).clamp(1, machine.max(1)),
        })
    }

    /// From the flag or environment value (or the default), against this machine.
    pub fn from_option(cpus: Option<f64>) -> Result<Self, AppError> {
        Self::new(cpus.unwrap_or(DEFAULT_CPUS), machine_cpus()?)
    }

    pub fn cpus(&self) -> f64 {
        self.cpus
    }

    pub fn threads(&self) -> usize {
        self.threads
    }
}

/// Logical CPUs of this machine, as sysinfo counts them.
pub fn machine_cpus() -> Result<usize, AppError> {
    let system =
        System::new_with_specifics(RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing()))
            .map_err(|e| AppError::local(format!("cannot read this machine's CPU count: {e}")))?;
    Ok(system.cpus().len().max(1))
}

/// Memory the machine can give a new process now, in bytes (`None` when it cannot tell).
pub fn available_memory() -> Option<u64> {
    let system = System::new_with_specifics(
        RefreshKind::nothing().with_memory(MemoryRefreshKind::nothing().with_ram()),
    )
    .ok()?;
    Some(system.available_memory()).filter(|&m| m > 0)
}

/// `bytes` as a person reads it.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_from_a_thousandth_to_the_cpu_count_are_accepted() {
        let share = CpuShare::new(0.001, 4).unwrap();
        assert_eq!(share.threads(), 1);
        let share = CpuShare::new(2.5, 4).unwrap();
        assert_eq!(share.threads(), 3);
        let share = CpuShare::new(4.0, 4).unwrap();
        assert_eq!(share.threads(), 4);
    }

    #[test]
    fn shares_out_of_range_name_the_machines_limit() {
        for bad in [0.0, 0.0009, -1.0, 4.01, f64::NAN, f64::INFINITY] {
            let error = CpuShare::new(bad, 4).unwrap_err();
            assert!(
                error.message.contains("this machine has 4 CPUs"),
                "{}",
                error.message
            );
            // Too small a share is answered with the whole range, not only its top.
            let hint = error.hint.unwrap_or_default();
            assert!(hint.contains("from 0.001 to 4"), "{hint}");
        }
    }

    #[test]
    fn this_machine_has_at_least_one_cpu_and_some_memory() {
        assert!(machine_cpus().unwrap() >= 1);
        assert!(available_memory().unwrap_or(1) > 0);
    }

    #[test]
    fn bytes_read_as_people_read_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
