//! Prover benchmark: proves Fibonacci runs sized to fill 2^k trace rows and prints a table.
//!
//! ```text
//! cargo run --release -p cairo-stark --bin bench -- [--min-log 10] [--max-log 20] [--fast]
//! ```
//!
//! Each size runs in a child process so that its peak RSS (VmHWM) is its own. Figures, not
//! assertions. The baseline measured in the same run is cairo-vm executing the same program on
//! the same inputs with its trace (`exec ms`): `prove/exec` is the price of proving over merely
//! running. `exe KB` is the execution file an execution-only donor uploads and `replay ms` the
//! server's check of it (decode + replay in cairo-vm + comparison), against the proving time in
//! `replay/prove`. `conj` and `prov` are the proof's conjectured and provable security bits.
//! The last column compares rows/s with the old lambdaworks Cairo prover's figures
//! quoted in issue 3 (measured on this machine class, not in this run) where one exists.

use std::process::Command;
use std::time::Instant;

use cairo_stark::{
    check_execution, execute, prove, verify, CompiledProgram, Felt, ProofOptions, SecurityPolicy,
};

const FIBONACCI: &[u8] = include_bytes!("../../tests/programs/fibonacci.json");

/// Old lambdaworks Cairo prover, 100-bit options: (log2 rows, prove seconds).
const REFERENCE: [(u32, f64); 4] = [(16, 11.3), (17, 20.3), (18, 54.2), (19, 135.7)];

struct Args {
    min_log: u32,
    max_log: u32,
    fast: bool,
    single: Option<u32>,
    /// Rayon threads for proving (0: rayon's default, one per core).
    threads: usize,
    /// Overrides of the default options' blowup and query count (0: keep the default).
    blowup: u32,
    queries: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        min_log: 10,
        max_log: 20,
        fast: false,
        single: None,
        threads: 0,
        blowup: 0,
        queries: 0,
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
            "--fast" => args.fast = true,
            "-h" | "--help" => {
                println!(
                    "usage: bench [--min-log K] [--max-log K] [--fast] [--threads N] [--blowup B --queries Q]\n\
                     Proves Fibonacci runs of 2^K trace rows for K in min..=max (default 10..=20).\n\
                     --fast uses insecure test options instead of the default 100-bit ones.\n\
                     --threads N proves on N rayon threads (default: one per core).\n\
                     --blowup B, --queries Q override the default options (e.g. blowup 2, 82 queries)."
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
    if args.queries > 0 {
        options.num_queries = args.queries as _;
    }
    options
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The Fibonacci input that makes a run of just under `2^log_rows` steps.
fn input_for(program: &CompiledProgram, log_rows: u32) -> Result<u64, String> {
    let steps = |n: u64| -> Result<u64, String> {
        execute(program, &[Felt::from(1u64), Felt::from(n)])
            .map(|e| e.steps as u64)
            .map_err(|e| e.to_string())
    };
    let (s1, s2) = (steps(10)?, steps(20)?);
    let per_iteration = (s2 - s1) / 10;
    let fixed = s1 - 10 * per_iteration;
    let target = (1u64 << log_rows) * 15 / 16;
    Ok(target.saturating_sub(fixed) / per_iteration)
}

fn run_single(log_rows: u32, options: ProofOptions) -> Result<(), String> {
    let program = CompiledProgram::parse(FIBONACCI).map_err(|e| e.to_string())?;
    let n = input_for(&program, log_rows)?;
    let inputs = [Felt::from(1u64), Felt::from(n)];
    let start = Instant::now();
    let execution = execute(&program, &inputs).map_err(|e| e.to_string())?;
    let execute_ms = start.elapsed().as_secs_f64() * 1e3;
    let start = Instant::now();
    let proof = prove(&execution, &options).map_err(|e| e.to_string())?;
    let prove_s = start.elapsed().as_secs_f64();
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
        peak_rss_mb(),
        verified.security_bits,
        execute_ms,
        execution_file.len(),
        replay_ms,
        verified.provable_security_bits
    );
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    if let Some(k) = args.single {
        if args.threads > 0 {
            if let Err(e) = rayon::ThreadPoolBuilder::new()
                .num_threads(args.threads)
                .build_global()
            {
                eprintln!("bench: cannot set up {} threads: {e}", args.threads);
                std::process::exit(1);
            }
        }
        if let Err(e) = run_single(k, options(&args)) {
            eprintln!("bench: size 2^{k}: {e}");
            std::process::exit(1);
        }
        return;
    }
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bench: cannot find own executable: {e}");
            std::process::exit(1);
        }
    };
    let opts = options(&args);
    println!(
        "options: blowup {}, {} queries, {} grinding bits, folding {}, {:?}; {} threads",
        opts.blowup_factor,
        opts.num_queries,
        opts.grinding_bits,
        opts.fri_folding_factor,
        opts.hash,
        if args.threads > 0 {
            args.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    );
    println!(
        "{:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>11} {:>10} {:>5} {:>5} {:>9} {:>10} {:>9} {:>9} {:>12}",
        "steps",
        "rows",
        "exec ms",
        "prove s",
        "prove/exec",
        "rows/s",
        "verify ms",
        "proof bytes",
        "peak MB",
        "conj",
        "prov",
        "B/row",
        "vs old",
        "exe KB",
        "replay ms",
        "replay/prove"
    );
    for k in args.min_log..=args.max_log {
        let mut cmd = Command::new(&exe);
        cmd.args(["--single", &k.to_string()]);
        if args.fast {
            cmd.arg("--fast");
        }
        for (flag, v) in [
            ("--threads", args.threads as u32),
            ("--blowup", args.blowup),
            ("--queries", args.queries),
        ] {
            if v > 0 {
                cmd.args([flag, &v.to_string()]);
            }
        }
        let output = match cmd.output() {
            Ok(o) => o,
            Err(e) => {
                eprintln!("bench: cannot run size 2^{k}: {e}");
                continue;
            }
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")) else {
            eprintln!(
                "bench: size 2^{k} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            continue;
        };
        let f: Vec<f64> = line
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if f.len() != 11 {
            eprintln!("bench: size 2^{k}: unreadable result {line:?}");
            continue;
        }
        let (steps, rows, prove_s, verify_ms, bytes, rss, bits, execute_ms) =
            (f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
        let (execution_bytes, replay_ms, provable) = (f[8], f[9], f[10]);
        let rows_per_s = rows / prove_s;
        let log_rows = rows.log2().round() as u32;
        let versus = REFERENCE
            .iter()
            .find(|(l, _)| *l == log_rows)
            .map_or("-".to_string(), |(_, s)| {
                format!("{:.2}x", rows_per_s / (rows / s))
            });
        println!(
            "{:>9} {:>9} {:>9.1} {:>9.2} {:>9.0}x {:>10.0} {:>10.1} {:>11} {:>10.0} {:>5} {:>5} {:>9.0} {:>10} {:>9.0} {:>9.1} {:>11.2}%",
            steps,
            rows,
            execute_ms,
            prove_s,
            prove_s * 1e3 / execute_ms,
            rows_per_s,
            verify_ms,
            bytes,
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
}
