//! The two clients as the demo runs them: each in its own folder of the demo's directory, with a
//! config file naming the demo's server and nothing of the user's (see [`process::isolate`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::process;

pub struct Clients {
    bin: PathBuf,
    work: PathBuf,
}

impl Clients {
    /// Writes each client's config file (the server's URL) in `work/uploader` and
    /// `work/executor`.
    pub fn new(bin: &Path, work: &Path, url: &str) -> Result<Clients> {
        let config = serde_json::json!({ "program_distributor_url": url }).to_string();
        for client in ["uploader", "executor"] {
            let dir = work.join(client);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            std::fs::write(dir.join("config.json"), format!("{config}\n"))
                .with_context(|| format!("cannot write {client}/config.json"))?;
        }
        Ok(Clients {
            bin: bin.to_path_buf(),
            work: work.to_path_buf(),
        })
    }

    /// `uploader-client` with the demo's config file and state directory (session, ledger,
    /// results); the caller adds the command.
    pub fn uploader(&self) -> Command {
        let dir = self.work.join("uploader");
        let mut cmd = self.client("uploader-client", &dir);
        cmd.arg("--state-dir").arg(dir.join("state"));
        cmd
    }

    /// `executor-client` with the demo's config file and donor key file; its measured proving
    /// speed goes to the demo's config directory.
    pub fn executor(&self) -> Command {
        let dir = self.work.join("executor");
        let mut cmd = self.client("executor-client", &dir);
        cmd.env("EXECUTOR_DONOR_FILE", dir.join("donor.json"));
        cmd
    }

    fn client(&self, name: &str, dir: &Path) -> Command {
        let mut cmd = Command::new(self.bin.join(name));
        process::isolate(&mut cmd, &self.work)
            .current_dir(dir)
            .arg("--config")
            .arg(dir.join("config.json"));
        cmd
    }
}
