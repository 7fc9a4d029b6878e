//! CPU time from the kernel's accounting (`getrusage`): the supervisor's own (its share of the
//! job's CPU), and the benchmark's children. Shared with `benches/cpu_share.rs` by path.

/// Whose CPU time [`cpu_seconds`] reads. The client reads only its own and the benchmark only
/// its children's, hence the `allow`s: each of the two builds of this file uses one variant.
#[derive(Debug, Clone, Copy)]
pub enum Who {
    /// This process.
    #[allow(dead_code)]
    Me,
    /// Every child of this process waited for so far.
    #[allow(dead_code)]
    Children,
}

/// User + system CPU seconds of `who`.
pub fn cpu_seconds(who: Who) -> f64 {
    let who = match who {
        Who::Me => libc::RUSAGE_SELF,
        Who::Children => libc::RUSAGE_CHILDREN,
    };
    // SAFETY: getrusage fills the struct it is given, and `who` is a valid selector.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}
