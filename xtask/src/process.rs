//! Running the demo's child processes: a cleared environment, waits that Ctrl-C can cut short,
//! and reading the JSON lines a client prints with `--json`.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::signals::{self, Interrupted};

/// How often a wait looks at the child and at Ctrl-C.
const POLL: Duration = Duration::from_millis(100);

/// The only variables of the user's environment the demo's processes see: how to find programs
/// and how the terminal shows text. Everything else (server settings, client config files and
/// URLs, the donor key's location) would make the demo depend on the user's setup.
const KEPT_VARIABLES: &[&str] = &["PATH", "TERM", "NO_COLOR", "COLUMNS", "LANG", "LC_ALL"];

/// Gives `cmd` a cleared environment whose home, config and temporary directories are in the
/// demo's directory `work`, and no standard input.
pub fn isolate<'a>(cmd: &'a mut Command, work: &Path) -> &'a mut Command {
    cmd.env_clear();
    for name in KEPT_VARIABLES {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.env("HOME", work.join("home"))
        .env("XDG_CONFIG_HOME", work.join("home").join(".config"))
        .env("TMPDIR", work.join("tmp"))
        .stdin(Stdio::null())
}

/// The directories [`isolate`] points at, made once.
pub fn make_isolated_dirs(work: &Path) -> Result<()> {
    for dir in [work.join("home"), work.join("tmp")] {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(())
}

/// Runs `cmd` with its output on the terminal; fails unless it succeeds.
pub fn show(cmd: &mut Command, what: &str) -> Result<()> {
    show_with_input(cmd, what, None)
}

/// [`show`], writing `input` to the command's standard input first.
pub fn show_with_input(cmd: &mut Command, what: &str, input: Option<&str>) -> Result<()> {
    let (status, _) = run(cmd, what, input, false)?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` with its output on the terminal and answers its exit status, whatever it is.
pub fn status(cmd: &mut Command, what: &str) -> Result<ExitStatus> {
    Ok(run(cmd, what, None, false)?.0)
}

/// Runs `cmd` and answers what it printed on stdout (stderr goes to the terminal); fails unless
/// it succeeds.
pub fn capture(cmd: &mut Command, what: &str) -> Result<String> {
    let (status, stdout) = run(cmd, what, None, true)?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(stdout)
}

/// Runs a client with `--json` and reads its last JSON line as a `T` (its answer; the lines are
/// objects, one a line). A failed command's error line says why it failed.
pub fn json<T: DeserializeOwned>(cmd: &mut Command, what: &str) -> Result<T> {
    let (status, stdout) = run(cmd.arg("--json"), what, None, true)?;
    let lines = json_lines(&stdout).with_context(|| format!("{what} printed bad JSON"))?;
    if !status.success() {
        match lines.iter().rev().find(|line| line["event"] == "error") {
            Some(line) => bail!(
                "{what} failed ({status}): {}",
                line["error"].as_str().unwrap_or_default()
            ),
            None => bail!("{what} failed ({status})"),
        }
    }
    let Some(last) = lines.last() else {
        bail!("{what} printed no JSON line");
    };
    serde_json::from_value(last.clone())
        .with_context(|| format!("{what} printed an unexpected answer: {last}"))
}

/// The JSON values of a client's `--json` output, one a line (blank lines skipped).
pub fn json_lines(text: &str) -> Result<Vec<Value>> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).with_context(|| format!("not JSON: {line}")))
        .collect()
}

/// Starts `cmd`, feeds it `input`, waits for it (see [`wait`]) and answers its status and, when
/// `capture`, its stdout.
fn run(
    cmd: &mut Command,
    what: &str,
    input: Option<&str>,
    capture: bool,
) -> Result<(ExitStatus, String)> {
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    if capture {
        cmd.stdout(Stdio::piped());
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {what}"))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(input.as_bytes())
            .with_context(|| format!("cannot write to {what}"))?;
    }
    // Read on a thread, so that a child with much to say never blocks on a full pipe.
    let reader = child.stdout.take().map(|mut stdout| {
        thread::spawn(move || {
            let mut text = String::new();
            stdout.read_to_string(&mut text).map(|_| text)
        })
    });
    let status = wait(&mut child)?;
    let stdout = match reader.map(|r| r.join()) {
        Some(Ok(read)) => read.with_context(|| format!("cannot read the output of {what}"))?,
        Some(Err(_)) => bail!("reading the output of {what} failed"),
        None => String::new(),
    };
    Ok((status, stdout))
}

/// Waits for `child`; on Ctrl-C stops it (see [`interrupt`]) and answers [`Interrupted`]. A child
/// that ended because of the same Ctrl-C counts as interrupted too, not as failed.
pub fn wait(child: &mut Child) -> Result<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait()? {
            signals::check()?;
            return Ok(status);
        }
        if signals::interrupted() {
            interrupt(child);
            return Err(Interrupted.into());
        }
        thread::sleep(POLL);
    }
}

/// Stops a client at once: two interrupts (the executor gives its reservation back on the first
/// and stops without waiting on the second; an unfinished reservation simply times out), then a
/// kill if it still runs after a few seconds.
fn interrupt(child: &mut Child) {
    send(child, libc::SIGINT);
    thread::sleep(Duration::from_millis(200));
    send(child, libc::SIGINT);
    stop_within(child, 50);
}

/// Sends `signal` to `child` unless it has ended already.
pub fn send(child: &mut Child, signal: libc::c_int) {
    if matches!(child.try_wait(), Ok(None)) {
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }
}

/// Waits up to `polls` × 100 ms for `child` to end, then kills it.
pub fn stop_within(child: &mut Child, polls: u32) {
    for _ in 0..polls {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        thread::sleep(POLL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_one_value_a_line() {
        let lines = json_lines("{\"a\": 1}\n\n{\"event\": \"error\"}\n").unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["event"], "error");
        assert!(json_lines("{\"a\": 1}\nnot json\n").is_err());
    }

    #[test]
    fn a_failed_client_is_reported_with_its_error_line() {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "echo '{\"event\":\"error\",\"error\":\"no such program\"}'; exit 4",
        ]);
        let error = json::<Value>(&mut cmd, "the client").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("failed (exit status: 4): no such program"),
            "{error}"
        );
    }
}
