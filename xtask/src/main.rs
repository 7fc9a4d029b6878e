//! `demo`: the whole system once, end to end (`make demo`, `scripts/demo.sh [--keep]`).
//!
//! Builds the server and both clients (release), starts the server on its embedded default
//! (SQLite and a local directory) in a fresh temporary directory on a free port, registers an
//! organization, uploads the Collatz example program and its input groups, registers a donor
//! (`executor-client donor init`) and lends this machine's CPUs to prove every group, verifies
//! every proof locally with the organization's client, aggregates the results, checks the answer
//! and prints a summary with the donor's credit and rank.
//!
//! It drives the real binaries as a user would: what it needs to know it reads from their
//! `--json` output (JSON lines), the rest they print as usual. Nothing outside the temporary
//! directory is read or written: the server and the clients run with a cleared environment and
//! their settings, state and keys in that directory. The server is stopped on exit, also on
//! Ctrl-C, unless `--keep` is given: then it keeps running (with its data in the temporary
//! directory) and the demo prints the dashboard's URL and how to stop it.
//!
//! Exit status: 0 when the answer is the expected one, 1 with `DEMO FAILED: ...` otherwise, 2 on
//! bad usage, 130 on Ctrl-C.

mod answer;
mod clients;
mod demo;
mod process;
mod server;
mod signals;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

const USAGE: &str =
    "usage: scripts/demo.sh [--keep]   (--keep: leave the server running at the end)";

/// Prints the title of a step.
fn step(title: &str) {
    println!("\n==> {title}");
}

/// Prints a detail under a step.
fn info(text: &str) {
    println!("    {text}");
}

fn main() -> ExitCode {
    let mut keep = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--keep" => keep = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("unknown argument: {arg} (usage: scripts/demo.sh [--keep])");
                return ExitCode::from(2);
            }
        }
    }
    signals::install();
    let work = match work_dir() {
        Ok(work) => work,
        Err(error) => return report(&Err(error)),
    };
    let mut demo = demo::Demo::new(work.clone(), keep);
    let outcome = demo.run();
    let code = report(&outcome);
    // The server stops after the outcome is told (so a failure is the last thing read before it).
    demo.stop();
    match outcome {
        Ok(()) if keep => {} // the kept server's data stays in `work`
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&work);
        }
        Err(_) => eprintln!(
            "The demo's files (server log, client state) are kept in {}",
            work.display()
        ),
    }
    code
}

/// Says how the demo ended, and with which exit status.
fn report(outcome: &Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.is::<signals::Interrupted>() => {
            eprintln!("\ninterrupted");
            ExitCode::from(130)
        }
        Err(error) => {
            eprintln!("\nDEMO FAILED: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A fresh directory of the user's temporary directory (`TMPDIR`), readable by the user only.
fn work_dir() -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut attempt = 0u32;
    loop {
        let name = format!(
            "cairo-demo.{}-{}",
            std::process::id(),
            nanos.wrapping_add(attempt)
        );
        let path = std::env::temp_dir().join(name);
        // A name taken already (even by a symlink) fails `create`: then the next one is tried.
        match std::fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }
}
