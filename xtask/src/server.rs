//! The demo's server: program-distributor on its embedded default (SQLite and a local directory)
//! in the demo's directory, on a free port of 127.0.0.1, logging JSON lines to a file.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::process;
use crate::signals;
use crate::{info, step};

/// How long the server may take to answer `/health` (migrations included), in 100 ms polls.
const START_POLLS: u32 = 300;

/// A running server; stopped when dropped, unless [`Server::leave_running`] was called.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub url: String,
    /// Its log: one JSON object a line (`LOG_FORMAT=json`).
    log: PathBuf,
    port: u16,
}

impl Server {
    /// Starts `bin/program-distributor` with its data in `work/server` (then see
    /// [`Server::wait_until_ready`]).
    pub fn start(bin: &Path, work: &Path) -> Result<Server> {
        let dir = work.join("server");
        step(&format!(
            "Starting the server (embedded SQLite + local directory in {}, free port)",
            dir.display()
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        // An empty config file, so that no config file of the user's (CONFIG_FILE or the
        // default one) is read; the settings below come from the environment.
        std::fs::write(dir.join("config.json"), "{}\n").context("cannot write config.json")?;
        let port = free_port()?;
        let log = dir.join("server.log");
        let file =
            File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut cmd = Command::new(bin.join("program-distributor"));
        process::isolate(&mut cmd, work)
            .arg("--config")
            .arg(dir.join("config.json"))
            .current_dir(&dir)
            .env("DATA_DIR", dir.join("data"))
            .env("SERVER_ADDRESS", Ipv4Addr::LOCALHOST.to_string())
            .env("SERVER_PORT", port.to_string())
            .env("RUST_LOG", "info")
            .env("LOG_FORMAT", "json")
            .stdout(file.try_clone()?)
            .stderr(file)
            // Its own process group: Ctrl-C in the terminal reaches the demo, which stops the
            // server itself, in order (and a kept server outlives the terminal's later Ctrl-C).
            .process_group(0);
        let child = cmd.spawn().context("cannot start program-distributor")?;
        let url = format!("http://{}:{port}", Ipv4Addr::LOCALHOST);
        Ok(Server {
            child,
            url,
            log,
            port,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `GET /health` until it answers 200; fails (showing the log) if the server exits.
    pub fn wait_until_ready(&mut self) -> Result<()> {
        for _ in 0..START_POLLS {
            if self.child.try_wait()?.is_some() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                eprint!("{log}");
                bail!("the server did not start (log above)");
            }
            if healthy(self.port) {
                info(&format!(
                    "server {} (pid {}, log {})",
                    self.url,
                    self.pid(),
                    self.log.display()
                ));
                return Ok(());
            }
            signals::check()?;
            thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "the server did not answer GET /health within {} s (see {})",
            START_POLLS / 10,
            self.log.display()
        )
    }

    /// What the server's own verification of each proof upload cost, from its log.
    pub fn verification_times(&self) -> Result<String> {
        let log = std::fs::read_to_string(&self.log)
            .with_context(|| format!("cannot read {}", self.log.display()))?;
        Ok(verification_times(&log))
    }

    /// Leaves the server running after the demo (`--keep`): answers its pid.
    pub fn leave_running(self) -> u32 {
        let pid = self.pid();
        // Not dropped, so not stopped (dropping a `Child` never ends the process).
        std::mem::forget(self);
        pid
    }
}

impl Drop for Server {
    /// Stops the server: SIGTERM (it finishes the requests in flight), a kill after 5 s.
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        step(&format!("Stopping the server (pid {})", self.pid()));
        process::send(&mut self.child, libc::SIGTERM);
        process::stop_within(&mut self.child, 50);
    }
}

/// A port nobody listens on: the one the kernel picks for a listener on port 0, closed again for
/// the server to take through `SERVER_PORT`, the server's documented setting. Should another
/// process take it in between, the server fails to start and the demo shows its log.
fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether `GET /health` on 127.0.0.1:`port` answers 200.
fn healthy(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let timeout = Duration::from_secs(2);
    let Ok(mut stream) = TcpStream::connect_timeout(&address, timeout) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let request = format!("GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut status_line = String::new();
    BufReader::new(stream).read_line(&mut status_line).is_ok() && is_ok_status(&status_line)
}

/// Whether an HTTP status line (`HTTP/1.1 200 OK`) says 200.
fn is_ok_status(line: &str) -> bool {
    let mut words = line.split_whitespace();
    words.next().is_some_and(|v| v.starts_with("HTTP/")) && words.next() == Some("200")
}

/// "N uploads, A ms on average, M ms at most" over the log's `proof verified` lines (their
/// `millis` field), or "none logged".
fn verification_times(log: &str) -> String {
    let millis: Vec<u64> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["fields"]["message"] == "proof verified")
        .filter_map(|entry| entry["fields"]["millis"].as_u64())
        .collect();
    let Some(most) = millis.iter().max() else {
        return "none logged".to_string();
    };
    let average = millis.iter().sum::<u64>() as f64 / millis.len() as f64;
    format!(
        "{} uploads, {average:.0} ms on average, {most} ms at most",
        millis.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_200_status_line_is_healthy() {
        assert!(is_ok_status("HTTP/1.1 200 OK\r\n"));
        assert!(!is_ok_status("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(!is_ok_status("SSH-2.0-OpenSSH 200\r\n"));
        assert!(!is_ok_status(""));
    }

    #[test]
    fn verification_times_come_from_the_proof_verified_lines() {
        let log = concat!(
            r#"{"level":"INFO","fields":{"message":"program-distributor listening","port":1}}"#,
            "\n",
            r#"{"level":"INFO","fields":{"message":"proof verified","millis":4,"steps":9}}"#,
            "\nnot json\n",
            r#"{"level":"INFO","fields":{"message":"proof verified","millis":8}}"#,
            "\n",
        );
        assert_eq!(
            verification_times(log),
            "2 uploads, 6 ms on average, 8 ms at most"
        );
        assert_eq!(verification_times(""), "none logged");
    }
}
