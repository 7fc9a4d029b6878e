//! The state directory and the durable-write helpers every kept file goes through.
//!
//! Layout (see the README):
//! - `session.json` (0600): the tokens of the logged-in account.
//! - `ledger.jsonl`: what this organization uploaded (see [`crate::ledger`]).
//! - `store/`: content-addressed copies of the uploaded program JSON and canonical input CSVs.
//! - `results/<program_id>.jsonl`: verified outputs (see [`crate::results`]).
//! - `rejected.jsonl`: proofs rejected by `proofs verify`, and why.
//! - `verify.lock`: held while `proofs verify` runs.
//!
//! Guarantees: a file replaced is written to a temporary file, fsynced, then renamed over the old
//! one (readers see the old or the new content, never a mix); a line appended is fsynced before
//! the command goes on.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{CliError, CliResult};

/// Where the client keeps its files.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// `--state-dir`, else `UPLOADER_CLIENT_STATE_DIR`, else `$XDG_CONFIG_HOME/uploader-client`,
    /// else `~/.config/uploader-client`.
    pub fn locate(flag: Option<&Path>) -> CliResult<Self> {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let root = match flag {
            Some(path) => path.to_path_buf(),
            None => match env("UPLOADER_CLIENT_STATE_DIR") {
                Some(dir) => PathBuf::from(dir),
                None => match env("XDG_CONFIG_HOME") {
                    Some(dir) => PathBuf::from(dir).join("uploader-client"),
                    None => match env("HOME") {
                        Some(home) => PathBuf::from(home).join(".config/uploader-client"),
                        None => {
                            return Err(CliError::new("cannot find a place for the state files")
                                .with_hint("set HOME, XDG_CONFIG_HOME or pass --state-dir DIR"))
                        }
                    },
                },
            },
        };
        Ok(StateDir { root })
    }

    /// Creates the directory (0700) if needed.
    pub fn ensure(&self) -> CliResult<()> {
        create_private_dir(&self.root)
    }

    pub fn session_file(&self) -> PathBuf {
        self.root.join("session.json")
    }

    pub fn ledger_file(&self) -> PathBuf {
        self.root.join("ledger.jsonl")
    }

    pub fn store_dir(&self) -> PathBuf {
        self.root.join("store")
    }

    pub fn results_dir(&self) -> PathBuf {
        self.root.join("results")
    }

    pub fn rejected_file(&self) -> PathBuf {
        self.root.join("rejected.jsonl")
    }

    pub fn verify_lock(&self) -> PathBuf {
        self.root.join("verify.lock")
    }
}

pub fn create_private_dir(path: &Path) -> CliResult<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(|e| CliError::io("create the directory", path, e))
}

/// Replaces `path` with `bytes` atomically and durably; `private` makes it 0600.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> CliResult<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io("create the directory", dir, e))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if private { 0o600 } else { 0o644 });
        }
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir);
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CliError::io("write", path, e)
    })
}

/// Appends one line (a `\n` is added) and fsyncs before returning.
pub fn append_line(path: &Path, line: &str) -> CliResult<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io("create the directory", dir, e))?;
    }
    let existed = path.exists();
    let result = (|| -> std::io::Result<()> {
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        // A previous run killed mid-line leaves a partial line: end it so this one stays whole
        // (readers skip the broken line).
        let needs_newline = file.metadata()?.len() > 0 && !ends_with_newline(path)?;
        let mut buffer = Vec::with_capacity(line.len() + 2);
        if needs_newline {
            buffer.push(b'\n');
        }
        buffer.extend_from_slice(line.as_bytes());
        buffer.push(b'\n');
        file.write_all(&buffer)?;
        file.sync_all()
    })();
    result.map_err(|e| CliError::io("append to", path, e))?;
    if !existed {
        if let Some(dir) = path.parent() {
            sync_dir(dir);
        }
    }
    Ok(())
}

fn ends_with_newline(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// Makes a rename or a new file in `dir` durable (best effort: not every filesystem allows it).
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) {
        let _ = handle.sync_all();
    }
}

/// Reads a JSON-lines file: every well-formed line, skipping (and counting) broken ones, as a
/// crash in the middle of an append can leave one at the end.
pub fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> CliResult<(Vec<T>, usize)> {
    // A device or a pipe (say `--results /dev/zero`) would never end: only regular files.
    if path.exists() && !path.is_file() {
        return Err(CliError::new(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(CliError::io("read", path, e)),
    };
    let mut items = Vec::new();
    let mut broken = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str(line) {
            Ok(item) => items.push(item),
            Err(_) => broken += 1,
        }
    }
    Ok((items, broken))
}

/// An exclusive advisory lock on a file, released when dropped.
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Takes the lock or fails at once if another process holds it.
    pub fn try_acquire(path: &Path, what: &str) -> CliResult<Self> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| CliError::io("open the lock file", path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: flock on a file descriptor we own; no memory is shared.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc != 0 {
                return Err(CliError::new(format!("another {what} is running"))
                    .with_hint(format!("wait for it to finish (lock: {})", path.display())));
            }
        }
        Ok(FileLock { _file: file })
    }
}

/// Hex BLAKE3 of `bytes`: the name of a stored copy and the hash kept in the ledger.
pub fn hash_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_after_a_torn_line_keeps_the_new_line_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"a\":").unwrap();
        append_line(&path, "{\"a\":2}").unwrap();
        let (items, broken): (Vec<serde_json::Value>, usize) = read_lines(&path).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(broken, 1);
        assert_eq!(items[1]["a"], 2);
    }

    #[test]
    fn atomic_private_writes_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.json");
        write_atomic(&path, b"{}", true).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
    }

    #[test]
    fn a_second_lock_is_refused_while_the_first_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.lock");
        let first = FileLock::try_acquire(&path, "verify").unwrap();
        assert!(FileLock::try_acquire(&path, "verify").is_err());
        drop(first);
        FileLock::try_acquire(&path, "verify").unwrap();
    }
}
