//! Ctrl-C (and SIGTERM): the first asks to stop after the current job, the second to stop now.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::output::{Event, Reporter};

/// How far the person at the terminal has asked us to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StopLevel {
    Running,
    /// Finish (or give up) the current job cleanly, then exit.
    AfterJob,
    /// Exit now: kill the worker.
    Now,
}

/// Listens for SIGINT and SIGTERM for the rest of the process's life. With `finish_first` the
/// first one asks to finish the current job and the second to stop now; without, the first
/// stops now.
pub fn install(
    reporter: Reporter,
    finish_first: bool,
) -> Result<watch::Receiver<StopLevel>, std::io::Error> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let (sender, receiver) = watch::channel(StopLevel::Running);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            let level = match *sender.borrow() {
                StopLevel::Running if finish_first => StopLevel::AfterJob,
                _ => StopLevel::Now,
            };
            reporter.event(&Event::Stopping {
                now: level == StopLevel::Now,
            });
            if sender.send(level).is_err() {
                return;
            }
        }
    });
    Ok(receiver)
}
