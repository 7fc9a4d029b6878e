//! How well the client keeps to its CPU share, and what it costs beyond proving.
//!
//! Proves one fixed job offline (`executor-client prove`, the same worker and throttle as the
//! work loop) with `--cpus 0.5`, `1` and `2` (shares above this machine's CPU count are left
//! out), after a baseline: the proving worker run directly, unthrottled, at normal priority.
//! For each run it prints
//! - the CPU time used per wall-clock second (user + system of the client and its worker, from
//!   `getrusage(RUSAGE_CHILDREN)`), next to the share asked for;
//! - the CPU time against the baseline's (the cost of pausing and resuming);
//! - the client's overhead beyond proving: the command's wall time minus the time the worker
//!   spent on the job (its own measure), as a percentage of the command's wall time (goal ≤ 3%).
//!
//! Figures, not assertions: the machine's other load changes them (it is printed too).
//!
//! ```sh
//! cargo bench -p executor-client --bench cpu_share --profile dev
//! BENCH_INPUTS=1,17 BENCH_SHARES=0.5,1 ...   # another job, other shares
//! ```

#[path = "../src/rusage.rs"]
mod rusage;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn main() {
    let exe = env!("CARGO_BIN_EXE_executor-client");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let program = root.join("example-program/collatz.json");
    let inputs_text = std::env::var("BENCH_INPUTS").unwrap_or_else(|_| "1,33".to_string());
    let dir = tempfile::tempdir().expect("temporary directory");
    let inputs = dir.path().join("inputs.csv");
    std::fs::write(&inputs, format!("{inputs_text}\n")).expect("write inputs");
    let proof = dir.path().join("proof.bin");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let shares: Vec<f64> = std::env::var("BENCH_SHARES")
        .unwrap_or_else(|_| "0.5,1,2".to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&s| s <= cpus as f64)
        .collect();

    println!(
        "cpu_share: collatz.json on inputs {inputs_text}, {cpus} CPUs, load average {}",
        load_average()
    );

    // Baseline: the worker alone, as many threads as CPUs, no throttle, normal priority.
    let (wall, base_cpu, stdout) = measure(|| {
        Command::new(exe)
            .args(["prove-worker", "--threads", &cpus.to_string()])
            .arg("--program")
            .arg(&program)
            .arg("--inputs")
            .arg(&inputs)
            .arg("--output")
            .arg(&proof)
            .output()
            .expect("run the worker")
    });
    let base_worker_secs = field(&stdout, "worker_secs");
    println!(
        "baseline (worker alone, {cpus} threads): wall {wall:.2}s, cpu {base_cpu:.2}s, {:.2} cpu-s per wall-s, worker {base_worker_secs:.2}s",
        base_cpu / wall
    );
    println!(
        "{:>6}  {:>8}  {:>8}  {:>14}  {:>12}  {:>13}  {:>9}",
        "--cpus", "wall s", "cpu s", "cpu-s/wall-s", "vs share", "cpu vs base", "overhead"
    );
    for share in shares {
        let (wall, cpu, stdout) = measure(|| {
            Command::new(exe)
                .args(["--json", "prove", "--cpus", &share.to_string(), "-o"])
                .arg(&proof)
                .arg(&program)
                .arg(&inputs)
                .env_remove("EXECUTOR_CPUS")
                // The proofs refresh the kept proving speed: keep it beside the proof.
                .env("XDG_CONFIG_HOME", proof.with_extension("config"))
                .output()
                .expect("run executor-client prove")
        });
        let worker_secs = field(&stdout, "worker_secs");
        let overhead = (wall - worker_secs).max(0.0) / wall * 100.0;
        println!(
            "{share:>6}  {wall:>8.2}  {cpu:>8.2}  {:>14.3}  {:>11.0}%  {:>12.2}x  {:>8.2}%",
            cpu / wall,
            cpu / wall / share * 100.0,
            cpu / base_cpu,
            overhead
        );
    }
}

/// Wall seconds, CPU seconds of the finished children, and stdout of one command.
fn measure(run: impl FnOnce() -> std::process::Output) -> (f64, f64, String) {
    let before = children_cpu();
    let start = Instant::now();
    let output = run();
    let wall = start.elapsed().as_secs_f64();
    let cpu = children_cpu() - before;
    if !output.status.success() {
        panic!(
            "the command failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    (
        wall,
        cpu,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// User + system CPU seconds of every child waited for so far.
fn children_cpu() -> f64 {
    rusage::cpu_seconds(rusage::Who::Children)
}

/// A number field of the last JSON line that has it (the worker's and the client's events both
/// carry `worker_secs`, at different depths).
fn field(stdout: &str, name: &str) -> f64 {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| find(&v, name))
        .next_back()
        .unwrap_or(f64::NAN)
}

fn find(value: &serde_json::Value, name: &str) -> Option<f64> {
    match value {
        serde_json::Value::Object(map) => map
            .get(name)
            .and_then(|v| v.as_f64().or_else(|| v.to_string().parse().ok()))
            .or_else(|| map.values().find_map(|v| find(v, name))),
        _ => None,
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
