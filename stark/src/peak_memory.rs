//! The peak resident memory of this process (Linux `VmHWM` in `/proc/self/status`), for the
//! benchmarks and memory tests of every crate: one reader, so every figure is measured alike.

/// The peak resident memory of this process since it started, or since the last
/// [`reset_peak_resident`], in bytes; `None` where `/proc` does not tell (not Linux).
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Starts a new peak measurement: the peak goes back to the current resident memory (Linux
/// `clear_refs`). False where that is not possible; the peaks then only grow.
pub fn reset_peak_resident() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
