//! `executor-client donor …`: the donor's identity. `donor init` creates an Ed25519 key pair,
//! registers it with the server under a display name and saves it (mode 0600) in the client's
//! config directory; from then on `run` signs every reservation and upload with it, so the server
//! credits the donor with the steps it proves. Without a saved key the client donates
//! anonymously. `donor status` shows the donor's standing.
//!
//! The key file is `$EXECUTOR_DONOR_FILE`, else `$XDG_CONFIG_HOME/executor-client/donor.json`,
//! else `~/.config/executor-client/donor.json`. It holds the server it was registered with:
//! against another server the client stays anonymous.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;

use clap::{Args, Subcommand};
use distributor_api::signing::{self, DonorKey};
use distributor_api::Client;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::exit::{AppError, Exit};
use crate::output::{Mode, Reporter};
use crate::server::app_error;

#[derive(Debug, Args)]
pub struct DonorArgs {
    #[command(subcommand)]
    pub command: DonorCommand,
}

#[derive(Debug, Subcommand)]
pub enum DonorCommand {
    /// Create a donor key, register it with the server under NAME and save it (0600)
    Init {
        /// Your public display name (1 to 128 characters, unique on the server)
        #[arg(long)]
        name: String,
        /// Replace an existing key file (the donor it belonged to keeps its credit, but this
        /// client will no longer sign for it)
        #[arg(long)]
        force: bool,
    },
    /// Show the donor's credit, rank and team
    Status,
}

/// The saved key file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    server_url: String,
    donor_id: Uuid,
    name: String,
    /// The Ed25519 secret key, 64 hex digits.
    secret_key: String,
}

/// Where the key file lives.
pub fn key_path() -> Result<PathBuf, AppError> {
    if let Some(path) = std::env::var_os("EXECUTOR_DONOR_FILE") {
        return Ok(PathBuf::from(path));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| {
            AppError::usage("cannot find a config directory for the donor key")
                .with_hint("set EXECUTOR_DONOR_FILE to the file to keep it in")
        })?;
    Ok(base.join("executor-client").join("donor.json"))
}

/// Runs `donor init` or `donor status`.
pub async fn command(
    client: &Client,
    args: &DonorArgs,
    reporter: &Reporter,
) -> Result<(), AppError> {
    let path = key_path()?;
    match &args.command {
        DonorCommand::Init { name, force } => init(client, &path, name, *force, reporter).await,
        DonorCommand::Status => status(client, &path, reporter).await,
    }
}

async fn init(
    client: &Client,
    path: &Path,
    name: &str,
    force: bool,
    reporter: &Reporter,
) -> Result<(), AppError> {
    if path.exists() && !force {
        return Err(
            AppError::usage(format!("a donor key exists already at {}", path.display()))
                .with_hint("`executor-client donor status` shows it; --force replaces it"),
        );
    }
    let key =
        DonorKey::generate().map_err(|e| AppError::local(format!("cannot generate a key: {e}")))?;
    let donor_id = client
        .with_donor(key.clone())
        .register_donor(name)
        .await
        .map_err(|e| app_error(e, client.base_url()))?;
    let file = KeyFile {
        server_url: client.base_url().to_string(),
        donor_id,
        name: name.trim().to_string(),
        secret_key: signing::hex(&key.secret()),
    };
    save(path, &file)?;
    if reporter.mode() == Mode::Json {
        reporter.json_line(&serde_json::json!({
            "event": "donor_registered", "donor_id": donor_id, "name": file.name,
            "public_key": key.public_hex(), "key_file": path,
        }));
    }
    reporter.result_line(&format!(
        "registered donor {:?} ({donor_id}) at {}\nkey saved to {} (keep it secret: it is your identity)",
        file.name,
        file.server_url,
        path.display()
    ));
    Ok(())
}

/// Writes the key file readable by its owner only.
fn save(path: &Path, file: &KeyFile) -> Result<(), AppError> {
    let failed = |e: std::io::Error| {
        AppError::local(format!("cannot save the donor key to {}: {e}", path.display()))
            .with_hint("the donor is registered but this client cannot sign for it; run `donor init --force` with a writable EXECUTOR_DONOR_FILE")
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let text = serde_json::to_vec_pretty(file).map_err(|e| AppError::local(e.to_string()))?;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    // An existing file keeps its mode on open: make it 0600 too.
    out.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(failed)?;
    out.write_all(&text).map_err(failed)?;
    out.sync_all().map_err(failed)
}

/// The saved key and donor id, if there is a key file.
fn load(path: &Path) -> Result<Option<(KeyFile, DonorKey)>, AppError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(AppError::local(format!(
                "cannot read the donor key {}: {e}",
                path.display()
            )))
        }
    };
    let bad = |detail: String| {
        AppError::usage(format!(
            "the donor key file {} is not valid: {detail}",
            path.display()
        ))
        .with_hint("replace it with `executor-client donor init --force --name NAME`")
    };
    let file: KeyFile = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
    let secret: [u8; 32] = signing::unhex(&file.secret_key)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("`secret_key` is not 64 hex digits".into()))?;
    Ok(Some((file, DonorKey::from_secret(&secret))))
}

/// The donor's all-time steps as last seen (`-1`: not known), so that after each accepted job
/// the client can say what it earned.
static LAST_TOTAL: AtomicI64 = AtomicI64::new(-1);

/// `client`, signing with the saved donor key when there is one for its server (the hook of
/// `run`). Says on stderr which way the client donates.
pub async fn attach(client: Client, reporter: &Reporter) -> Result<Client, AppError> {
    let Some((file, key)) = load(&key_path()?)? else {
        return Ok(client);
    };
    if file.server_url.trim_end_matches('/') != client.base_url() {
        if reporter.mode() != Mode::Quiet {
            eprintln!(
                "note: the donor key is registered with {}, not {}: donating anonymously",
                file.server_url,
                client.base_url()
            );
        }
        return Ok(client);
    }
    if let Ok(profile) = client.donor(file.donor_id).await {
        LAST_TOTAL.store(profile.total.steps, Ordering::Relaxed);
    }
    DONOR_ID.get_or_init(|| file.donor_id);
    Ok(client.with_donor(key))
}

/// The donor `run` signs for.
static DONOR_ID: OnceLock<Uuid> = OnceLock::new();

/// After an accepted job of a registered donor: prints the credit it earned and the running
/// total (best effort: a failure to ask is ignored, the work goes on).
pub async fn report_credit(client: &Client, reporter: &Reporter) {
    let Some(id) = DONOR_ID
        .get()
        .copied()
        .filter(|_| client.donor_key().is_some())
    else {
        return;
    };
    let Ok(profile) = client.donor(id).await else {
        return;
    };
    let total = profile.total.steps;
    let before = LAST_TOTAL.swap(total, Ordering::Relaxed);
    let earned = (before >= 0).then(|| total - before);
    if reporter.mode() == Mode::Json {
        reporter.json_line(&serde_json::json!({
            "event": "credit", "earned_steps": earned, "total_steps": total,
            "total_jobs": profile.total.jobs, "rank": profile.rank,
        }));
        return;
    }
    let earned = earned.map_or_else(String::new, |e| format!("+{e} steps; "));
    let rank = profile
        .rank
        .map_or_else(String::new, |r| format!(", rank #{r}"));
    let jobs = profile.total.jobs;
    let plural = if jobs == 1 { "" } else { "s" };
    reporter.result_line(&format!(
        "credit: {earned}{total} steps in {jobs} job{plural}{rank}"
    ));
}

async fn status(client: &Client, path: &Path, reporter: &Reporter) -> Result<(), AppError> {
    let (file, _) = load(path)?.ok_or_else(|| {
        AppError::new(Exit::Usage, format!("no donor key at {}", path.display()))
            .with_hint("create one with `executor-client donor init --name NAME`")
    })?;
    let profile = client
        .donor(file.donor_id)
        .await
        .map_err(|e| app_error(e, client.base_url()))?;
    if reporter.mode() == Mode::Json {
        reporter.json_line(&profile);
        return Ok(());
    }
    let rank = profile.rank.map_or_else(
        || "unranked (no credit yet)".to_string(),
        |r| format!("#{r}"),
    );
    reporter.result_line(&format!(
        "donor {:?} ({})\n  credit: {} steps in {} jobs ({} steps in the last 24 h)\n  rank: {rank}\n  team: {}",
        profile.name,
        profile.donor_id,
        profile.total.steps,
        profile.total.jobs,
        profile.last_day.steps,
        profile.team_name.as_deref().unwrap_or("none"),
    ));
    for program in &profile.programs {
        reporter.result_line(&format!(
            "  {}: {} steps, {} jobs",
            program
                .program_name
                .as_deref()
                .unwrap_or("(deleted program)"),
            program.credit.steps,
            program.credit.jobs
        ));
    }
    Ok(())
}
