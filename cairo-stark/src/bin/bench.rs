//! Prover benchmark: proves Fibonacci runs sized to fill 2^k trace rows and prints a table.
//!
//! ```text
//! cargo run --release -p cairo-stark --bin bench -- [--min-log 10] [--max-log 20] [--fast]
//! cargo run --release -p cairo-stark --bin bench -- --program range_checks --steps 305000
//! ```
//!
//! Each size runs in child processes, once on one thread and once on two, so that each peak RSS
//! (VmHWM) is its own and `2t/1t` is the speed-up from a second core. `prove s`, `prove/exec` and
//! `verify ms` are the two-thread run's; `peak MB` and `B/row` the larger of the two. Figures, not
//! assertions. The baseline measured in the same run is cairo-vm executing the same program on
//! the same inputs with its trace (`exec ms`): `prove/exec` is the price of proving over merely
//! running. `exe KB` is the execution file an execution-only donor uploads and `replay ms` the
//! server's check of it (decode + replay in cairo-vm + comparison), against the proving time in
//! `replay/prove`. `conj` and `prov` are the proof's conjectured and provable security bits.
//! `mode` is the prover's memory mode (`--memory lean|fast|both`): `fast` keeps every committed
//! column's extension for fewer transforms, at about three times the memory.
//! The last column compares rows/s with the old lambdaworks Cairo prover's figures
//! quoted in issue 3 (measured on this machine class, not in this run) where one exists.

use std::process::Command;
use std::time::Instant;

use cairo_stark::{
    check_execution, execute, prove_with_progress, verify, CompiledProgram, Felt, MemoryMode,
    ProofOptions, ProvePhase, ProveSettings, SecurityPolicy,
};

const FIBONACCI: &[u8] = include_bytes!("../../tests/programs/fibonacci.json");
/// Sorted inputs, each range-checked and compared with the next: about 20 steps per input,
/// most of them memory reads and range-check cells.
const RANGE_CHECKS: &[u8] = include_bytes!("../../tests/programs/range_checks.json");

/// Old lambdaworks Cairo prover, 100-bit options: (log2 rows, prove seconds).
const REFERENCE: [(u32, f64); 4] = [(16, 11.3), (17, 20.3), (18, 54.2), (19, 135.7)];

struct Args {
    min_log: u32,
    max_log: u32,
    fast: bool,
    single: Option<u32>,
    /// Rayon threads for proving (0: a run on one thread and a run on two).
    threads: usize,
    /// The program proven: `fibonacci` or `range_checks`.
    program: String,
    /// Run one job of about this many steps instead of the 2^k table (0: the table).
    steps: u64,
    /// Overrides of the default options' blowup and query count (0: keep the default).
    blowup: u32,
    queries: u32,
    /// Overrides of the default FRI folding factor and remainder degree (0: keep the default).
    folding: u32,
    remainder: u32,
    /// The prover's memory modes to run (`--memory lean|fast|both`).
    modes: Vec<MemoryMode>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        min_log: 10,
        max_log: 20,
        fast: false,
        single: None,
        threads: 0,
        program: "fibonacci".into(),
        steps: 0,
        blowup: 0,
        queries: 0,
        folding: 0,
        remainder: 0,
        modes: vec![MemoryMode::Lean],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> Result<u32, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--min-log" => args.min_log = value("--min-log")?,
            "--max-log" => args.max_log = value("--max-log")?,
            "--single" => args.single = Some(value("--single")?),
            "--threads" => args.threads = value("--threads")? as usize,
            "--blowup" => args.blowup = value("--blowup")?,
            "--queries" => args.queries = value("--queries")?,
            "--folding" => args.folding = value("--folding")?,
            "--remainder" => args.remainder = value("--remainder")?,
            "--memory" => {
                args.modes = match it.next().as_deref() {
                    Some("lean") => vec![MemoryMode::Lean],
                    Some("fast") => vec![MemoryMode::Fast],
                    Some("both") => vec![MemoryMode::Lean, MemoryMode::Fast],
                    _ => return Err("--memory needs lean, fast or both".into()),
                }
            }
            "--steps" => args.steps = u64::from(value("--steps")?),
            "--program" => {
                args.program = it
                    .next()
                    .filter(|p| p == "fibonacci" || p == "range_checks")
                    .ok_or("--program needs fibonacci or range_checks")?
            }
            "--fast" => args.fast = true,
            "-h" | "--help" => {
                println!(
                    "usage: bench [--min-log K] [--max-log K] [--fast] [--threads N] [--blowup B --queries Q]\n\
                     \x20            [--program fibonacci|range_checks] [--steps S]\n\
                     Proves runs of 2^K trace rows for K in min..=max (default 10..=20).\n\
                     --program range_checks proves a memory- and range-check-heavy program instead of Fibonacci.\n\
                     --steps S proves one run of about S steps instead of the 2^K table.\n\
                     --fast uses insecure test options instead of the default 100-bit ones.\n\
                     --threads N proves on N rayon threads only (default: once on 1, once on 2).\n\
                     --blowup B, --queries Q override the default options (e.g. blowup 2, 82 queries).\n\
                     --folding K, --remainder D override the FRI folding factor and remainder degree.\n\
                     --memory lean|fast|both picks the prover's memory mode (fast keeps the extension).\n\
                     --single K proves one run of 2^K rows and also prints each phase's share of the time."
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if args.min_log < 8 || args.max_log > 24 || args.min_log > args.max_log {
        return Err("sizes must satisfy 8 <= min-log <= max-log <= 24".into());
    }
    Ok(args)
}

fn options(args: &Args) -> ProofOptions {
    let mut options = if args.fast {
        ProofOptions::insecure_for_tests()
    } else {
        ProofOptions::default()
    };
    if args.blowup > 0 {
        options.blowup_factor = args.blowup as _;
    }
    if args.folding > 0 {
        options.fri_folding_factor = args.folding as _;
    }
    if args.remainder > 0 {
        options.fri_remainder_max_degree = args.remainder as _;
    }
    if args.queries > 0 {
        options.num_queries = args.queries as _;
    }
    options
}

fn peak_rss_mb() -> f64 {
    stark::peak_memory::peak_resident_bytes().map_or(f64::NAN, |b| b as f64 / (1 << 20) as f64)
}

/// The program and the inputs that make a run of about `target` steps.
fn job(name: &str, target: u64) -> Result<(CompiledProgram, Vec<Felt>), String> {
    let bytes = if name == "range_checks" {
        RANGE_CHECKS
    } else {
        FIBONACCI
    };
    let program = CompiledProgram::parse(bytes).map_err(|e| e.to_string())?;
    // Fibonacci takes (1, k) and runs k iterations; range_checks takes k sorted values.
    let inputs = |k: u64| -> Vec<Felt> {
        if name == "range_checks" {
            (0..k.max(1)).map(|i| Felt::from(3 * i + 1)).collect()
        } else {
            vec![Felt::from(1u64), Felt::from(k)]
        }
    };
    let steps = |k: u64| -> Result<u64, String> {
        execute(&program, &inputs(k))
            .map(|e| e.steps as u64)
            .map_err(|e| e.to_string())
    };
    let (s1, s2) = (steps(10)?, steps(20)?);
    let per_iteration = (s2 - s1) / 10;
    let fixed = s1 - 10 * per_iteration;
    let k = target.saturating_sub(fixed) / per_iteration;
    Ok((program, inputs(k)))
}

fn run_single(
    target_steps: u64,
    program: &str,
    options: ProofOptions,
    memory: MemoryMode,
) -> Result<(), String> {
    let (program, inputs) = job(program, target_steps)?;
    let start = Instant::now();
    let execution = execute(&program, &inputs).map_err(|e| e.to_string())?;
    let execute_ms = start.elapsed().as_secs_f64() * 1e3;
    let start = Instant::now();
    // Each phase with when it started and the peak memory while it ran (the peak is reset at
    // each phase, so the whole run's is the largest of them).
    let mut phases: Vec<(ProvePhase, Instant, f64)> = Vec::new();
    let mut peak_before = peak_rss_mb();
    let settings = ProveSettings {
        memory,
        ..ProveSettings::default()
    };
    let proof = prove_with_progress(&execution, &options, &settings, |p| {
        if phases.last().map(|(phase, ..)| *phase) != Some(p.phase) {
            match phases.last_mut() {
                Some(last) => last.2 = peak_rss_mb(),
                None => peak_before = peak_rss_mb(),
            }
            reset_peak();
            phases.push((p.phase, Instant::now(), 0.0));
        }
    })
    .map_err(|e| e.to_string())?;
    let prove_s = start.elapsed().as_secs_f64();
    print_phases(&phases, start);
    let phase_peak = phases.iter().map(|p| p.2).fold(peak_before, f64::max);
    let bytes = proof.to_bytes();
    let start = Instant::now();
    let rows = proof.trace_length();
    let verified = verify(
        &bytes,
        &program,
        &inputs,
        &SecurityPolicy::conjectured(options.conjectured_security_bits(rows)),
    )
    .map_err(|e| e.to_string())?;
    let verify_ms = start.elapsed().as_secs_f64() * 1e3;
    let execution_file = execution.to_file_bytes();
    drop(execution);
    let start = Instant::now();
    check_execution(&execution_file, &program, &inputs).map_err(|e| e.to_string())?;
    let replay_ms = start.elapsed().as_secs_f64() * 1e3;
    // steps rows prove_s verify_ms bytes rss_mb bits execute_ms execution_bytes replay_ms
    // provable_bits
    println!(
        "RESULT {} {} {:.3} {:.2} {} {:.0} {} {:.2} {} {:.2} {}",
        verified.steps,
        rows,
        prove_s,
        verify_ms,
        bytes.len(),
        peak_rss_mb().max(phase_peak),
        verified.security_bits,
        execute_ms,
        execution_file.len(),
        replay_ms,
        verified.provable_security_bits
    );
    Ok(())
}

/// Each phase's share of the proving time, from the instants the phases started, and the peak
/// memory while each ran.
fn print_phases(phases: &[(ProvePhase, Instant, f64)], start: Instant) {
    let total = phases
        .last()
        .map_or(0.0, |(_, t, _)| t.duration_since(start).as_secs_f64());
    let shares: Vec<String> = phases
        .windows(2)
        .map(|w| {
            let secs = w[1].1.duration_since(w[0].1).as_secs_f64();
            let (phase, peak) = (w[0].0.label(), w[0].2);
            format!("{phase} {:.1}% {peak:.0} MB", secs / total * 100.0)
        })
        .collect();
    println!("PHASES {}", shares.join(", "));
}

/// Starts a new peak-memory measurement. Without it (not Linux) the peaks only grow: each phase
/// shows the peak so far.
fn reset_peak() {
    stark::peak_memory::reset_peak_resident();
}

fn mode_name(memory: MemoryMode) -> &'static str {
    match memory {
        MemoryMode::Lean => "lean",
        MemoryMode::Fast => "fast",
    }
}

/// One child run's `RESULT` figures (see `run_single`), or why there are none.
fn run_child(
    exe: &std::path::Path,
    args: &Args,
    target: u64,
    threads: usize,
    memory: MemoryMode,
) -> Result<Vec<f64>, String> {
    let mut cmd = Command::new(exe);
    cmd.args([
        "--single",
        "0",
        "--steps",
        &target.to_string(),
        "--program",
        &args.program,
        "--memory",
        mode_name(memory),
    ]);
    if args.fast {
        cmd.arg("--fast");
    }
    for (flag, v) in [
        ("--threads", threads as u32),
        ("--blowup", args.blowup),
        ("--queries", args.queries),
        ("--folding", args.folding),
        ("--remainder", args.remainder),
    ] {
        if v > 0 {
            cmd.args([flag, &v.to_string()]);
        }
    }
    let output = cmd.output().map_err(|e| format!("cannot run: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| format!("failed: {}", String::from_utf8_lossy(&output.stderr).trim()))?;
    let f: Vec<f64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    if f.len() != 11 {
        return Err(format!("unreadable result {line:?}"));
    }
    Ok(f)
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| exit_with(2, e));
    match args.single {
        Some(k) => prove_single(&args, k),
        None => print_table(&args),
    }
}

/// Prints `bench: {message}` and exits with `code`.
fn exit_with(code: i32, message: impl std::fmt::Display) -> ! {
    eprintln!("bench: {message}");
    std::process::exit(code)
}

/// The child's part (`--single K`): proves a run sized to fill 2^K rows, or of `--steps` steps
/// when given, on `--threads` threads, and prints its `RESULT` line.
fn prove_single(args: &Args, k: u32) {
    if args.threads > 0 {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build_global()
        {
            exit_with(1, format!("cannot set up {} threads: {e}", args.threads));
        }
    }
    let target = if args.steps > 0 {
        args.steps
    } else {
        (1u64 << k) * 15 / 16
    };
    let memory = args.modes.first().copied().unwrap_or_default();
    if let Err(e) = run_single(target, &args.program, options(args), memory) {
        exit_with(1, format!("{target} steps: {e}"));
    }
}

/// The parent's part: one table line per size and memory mode, each from child runs on one
/// and two threads (or on `--threads`).
fn print_table(args: &Args) {
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| exit_with(1, format!("cannot find own executable: {e}")));
    let thread_runs: Vec<usize> = if args.threads > 0 {
        vec![args.threads]
    } else {
        vec![1, 2]
    };
    print_header(args, &thread_runs);
    for target in table_targets(args) {
        for &memory in &args.modes {
            let mut runs = Vec::new();
            for &threads in &thread_runs {
                match run_child(&exe, args, target, threads, memory) {
                    Ok(f) => runs.push((threads, f)),
                    Err(e) => eprintln!("bench: {target} steps on {threads} thread(s): {e}"),
                }
            }
            print_row(memory, &runs);
        }
    }
}

/// The step counts of the table: `--steps` alone, or runs filling 2^k rows for each size.
fn table_targets(args: &Args) -> Vec<u64> {
    if args.steps > 0 {
        vec![args.steps]
    } else {
        (args.min_log..=args.max_log)
            .map(|k| (1u64 << k) * 15 / 16)
            .collect()
    }
}

/// The options line and the column titles of the table.
fn print_header(args: &Args, thread_runs: &[usize]) {
    let opts = options(args);
    println!(
        "{}: options: blowup {}, {} queries, {} grinding bits, folding {}, {:?}; threads {:?}",
        args.program,
        opts.blowup_factor,
        opts.num_queries,
        opts.grinding_bits,
        opts.fri_folding_factor,
        opts.hash,
        thread_runs
    );
    println!(
        "{:>9} {:>9} {:>5} {:>9} {:>9} {:>10} {:>10} {:>10} {:>6} {:>10} {:>9} {:>9} {:>5} {:>5} {:>9} {:>10} {:>9} {:>9} {:>12}",
        "steps",
        "rows",
        "mode",
        "exec ms",
        "prove s",
        "prove/exec",
        "rows/s 1t",
        "rows/s 2t",
        "2t/1t",
        "verify ms",
        "proof KB",
        "peak MB",
        "conj",
        "prov",
        "B/row",
        "vs old",
        "exe KB",
        "replay ms",
        "replay/prove"
    );
}

/// One table line from the child runs of one size (`(threads, RESULT figures)`); the figures
/// other than speed and memory come from the run with the most threads.
fn print_row(memory: MemoryMode, runs: &[(usize, Vec<f64>)]) {
    let Some((_, f)) = runs.last() else {
        return;
    };
    let (steps, rows, prove_s, verify_ms, bytes, bits, execute_ms) =
        (f[0], f[1], f[2], f[3], f[4], f[6], f[7]);
    let (execution_bytes, replay_ms, provable) = (f[8], f[9], f[10]);
    let rss = runs.iter().map(|(_, f)| f[5]).fold(0.0, f64::max);
    let rate = |t: usize| runs.iter().find(|(n, _)| *n == t).map(|(_, f)| rows / f[2]);
    let show = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.0}"));
    let speedup = match (rate(1), rate(2)) {
        (Some(one), Some(two)) => format!("{:.2}", two / one),
        _ => "-".to_string(),
    };
    let log_rows = rows.log2().round() as u32;
    let versus = REFERENCE
        .iter()
        .find(|(l, _)| *l == log_rows)
        .map_or("-".to_string(), |(_, s)| format!("{:.2}x", s / prove_s));
    println!(
        "{:>9} {:>9} {:>5} {:>9.1} {:>9.2} {:>9.0}x {:>10} {:>10} {:>6} {:>10.1} {:>9.1} {:>9.0} {:>5} {:>5} {:>9.0} {:>10} {:>9.0} {:>9.1} {:>11.2}%",
        steps,
        rows,
        mode_name(memory),
        execute_ms,
        prove_s,
        prove_s * 1e3 / execute_ms,
        show(rate(1)),
        show(rate(2)),
        speedup,
        verify_ms,
        bytes / 1024.0,
        rss,
        bits,
        provable,
        rss * 1024.0 * 1024.0 / rows,
        versus,
        execution_bytes / 1024.0,
        replay_ms,
        replay_ms / (prove_s * 1e3) * 100.0
    );
}
