//! Settings: the spec's JSON file (`src/config/dev.json`), overridden by environment variables,
//! over defaults that start the embedded server (SQLite + a local directory) with no file at all.
//!
//! Precedence, highest first: environment variable, file, default. The file keeps the spec's shape
//! (including its `arguments_serarator` spelling; `arguments_separator` is accepted too) and adds a
//! few optional fields; unknown fields are refused so a typo does not go unnoticed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cairo_stark::execution_file::ReadLimits;
use serde::Deserialize;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub tokens: TokenSettings,
    pub storage: StorageSettings,
    pub limits: Limits,
    pub rate_limits: RateSettings,
    /// The sweeper and the free-space reserve of the object store.
    pub storage_care: StorageCare,
    /// Where the embedded defaults live (SQLite file, objects, generated secrets).
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub address: String,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// HTTP worker threads (default: one per CPU core).
    pub workers: Option<usize>,
    pub timeouts: ServerTimeouts,
    /// Most open connections per worker; more wait in the listen backlog.
    pub max_connections: usize,
}

/// How long a client may take, so that slow or idle clients cannot hold connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerTimeouts {
    /// To send the request head (line and headers); actix answers 408 and closes after it.
    pub request_head: Duration,
    /// To send the whole body, from the request reaching its handler (`REQUEST_TIMEOUT`).
    pub request_body: Duration,
    /// An idle kept-alive connection is closed after this.
    pub keep_alive: Duration,
    /// To acknowledge the closing of a connection.
    pub disconnect: Duration,
    /// On SIGTERM (or Ctrl-C), how long requests in progress (uploads) may take to finish before
    /// the server stops anyway; no new connection is accepted meanwhile.
    pub shutdown: Duration,
}

impl Default for ServerTimeouts {
    fn default() -> Self {
        ServerTimeouts {
            request_head: Duration::from_secs(5),
            request_body: Duration::from_secs(120),
            keep_alive: Duration::from_secs(5),
            disconnect: Duration::from_secs(1),
            shutdown: Duration::from_secs(30),
        }
    }
}

pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    pub pool_size: u32,
}

/// Which database, from `database_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `mysql://user:password@host:port/database` (`mariadb://` is accepted as a synonym).
    Mysql(String),
    /// `sqlite://path`, `sqlite:path` or a plain file path.
    Sqlite(PathBuf),
}

#[derive(Clone)]
pub struct TokenSettings {
    pub basic_secret: String,
    pub basic_minutes: u64,
    pub refresh_secret: String,
    pub refresh_days: u64,
}

impl std::fmt::Debug for TokenSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSettings")
            .field("basic_minutes", &self.basic_minutes)
            .field("refresh_days", &self.refresh_days)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub enum StorageSettings {
    /// Objects as files under this directory.
    Local(PathBuf),
    S3(S3Settings),
}

#[derive(Clone)]
pub struct S3Settings {
    pub region: String,
    pub bucket: String,
    pub key_id: String,
    pub key_secret: String,
    /// Endpoint of an S3-compatible server (`None`: AWS).
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), what most S3-compatible servers need.
    pub force_path_style: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("force_path_style", &self.force_path_style)
            .finish_non_exhaustive()
    }
}

/// Keeping the object store consistent with the database and writable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageCare {
    /// How often the sweeper removes objects no database row refers to, and temporary files left
    /// by interrupted writes (it also runs once at start-up); `None`: at start-up only.
    pub sweep_interval: Option<Duration>,
    /// An unreferenced object (or temporary file) younger than this is left alone: it may belong
    /// to an upload in flight, whose row is written after its object.
    pub sweep_grace: Duration,
    /// Local directory store: a write that would leave fewer bytes free is refused with `507
    /// INSUFFICIENT_STORAGE`, so that deletions (which need a little room in the database's
    /// journal) and reads keep working on a full disk.
    pub reserve_bytes: u64,
}

impl Default for StorageCare {
    fn default() -> Self {
        StorageCare {
            sweep_interval: Some(Duration::from_secs(3600)),
            sweep_grace: Duration::from_secs(600),
            reserve_bytes: 64 * MIB as u64,
        }
    }
}

/// Request size limits, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `POST /program/upload` (the program tar).
    pub program_bytes: usize,
    /// `POST /program/inputs/{program_id}` (the CSV).
    pub inputs_bytes: usize,
    /// `POST /program/proof`.
    pub proof_bytes: usize,
    /// `POST /program/execution` (execution files hold a whole trace and memory: larger than
    /// proofs).
    pub execution_bytes: usize,
    /// JSON bodies and the multipart `data` field.
    pub json_bytes: usize,
    /// The most steps an uploaded execution may claim (its replay never runs longer).
    pub execution_steps: usize,
    /// The most bytes an uploaded execution may decompress to (each file is also held to what
    /// its claimed step count allows); default derived from `execution_steps`.
    pub execution_decoded_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        let steps = cairo_stark::vm::DEFAULT_MAX_STEPS;
        Limits {
            program_bytes: 16 * MIB,
            inputs_bytes: 8 * MIB,
            proof_bytes: 16 * MIB,
            execution_bytes: 64 * MIB,
            json_bytes: 64 * 1024,
            execution_steps: steps,
            execution_decoded_bytes: ReadLimits::for_steps(steps).max_decoded_bytes,
        }
    }
}

impl Limits {
    /// What an uploaded execution file is read within.
    pub fn execution_file(&self) -> ReadLimits {
        ReadLimits {
            max_steps: self.execution_steps,
            max_decoded_bytes: self.execution_decoded_bytes,
        }
    }
}

/// Requests a minute per client address (or username) and the password-hashing pool. A rate of
/// 0 turns that limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSettings {
    pub login_per_ip: u32,
    pub login_per_username: u32,
    pub register_per_ip: u32,
    /// Proof and execution uploads.
    pub uploads_per_ip: u32,
    /// The three reservation routes.
    pub reservations_per_ip: u32,
    /// Password hashes (register, login) computed at once.
    pub password_hashing: usize,
    /// How long a login or registration waits for a hashing slot before `TOO_MANY_REQUESTS`.
    pub password_hashing_wait: Duration,
    /// Execution uploads replayed at once.
    pub execution_replays: usize,
    /// How long an execution upload waits for a replay slot before `TOO_MANY_REQUESTS`.
    pub execution_replays_wait: Duration,
    /// Behind a reverse proxy: tell clients apart by the last address of `X-Forwarded-For` (the
    /// one the proxy added), not by the connection's peer (the proxy). Only for a server that
    /// nothing but the proxy can reach: anyone else could name any address.
    pub trust_forwarded_for: bool,
}

impl Default for RateSettings {
    fn default() -> Self {
        RateSettings {
            login_per_ip: 30,
            login_per_username: 10,
            register_per_ip: 10,
            uploads_per_ip: 120,
            reservations_per_ip: 120,
            password_hashing: std::thread::available_parallelism().map_or(2, |n| n.get()),
            password_hashing_wait: Duration::from_secs(5),
            execution_replays: std::thread::available_parallelism().map_or(2, |n| n.get()),
            execution_replays_wait: Duration::from_secs(10),
            trust_forwarded_for: false,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRates {
    pub login_per_ip: Option<u32>,
    pub login_per_username: Option<u32>,
    pub register_per_ip: Option<u32>,
    pub uploads_per_ip: Option<u32>,
    pub reservations_per_ip: Option<u32>,
    pub password_hashing: Option<usize>,
    pub password_hashing_wait_secs: Option<u64>,
    pub execution_replays: Option<usize>,
    pub execution_replays_wait_secs: Option<u64>,
    pub trust_x_forwarded_for: Option<bool>,
}

fn rate_settings(
    var: &dyn Fn(&'static str) -> Option<String>,
    file: FileRates,
) -> Result<RateSettings, ConfigError> {
    let d = RateSettings::default();
    let rate = |name, from_file: Option<u32>, default| {
        Ok::<_, ConfigError>(parse_env(var, name)?.or(from_file).unwrap_or(default))
    };
    let settings = RateSettings {
        login_per_ip: rate("RATE_LOGIN_PER_IP", file.login_per_ip, d.login_per_ip)?,
        login_per_username: rate(
            "RATE_LOGIN_PER_USERNAME",
            file.login_per_username,
            d.login_per_username,
        )?,
        register_per_ip: rate(
            "RATE_REGISTER_PER_IP",
            file.register_per_ip,
            d.register_per_ip,
        )?,
        uploads_per_ip: rate("RATE_UPLOADS_PER_IP", file.uploads_per_ip, d.uploads_per_ip)?,
        reservations_per_ip: rate(
            "RATE_RESERVATIONS_PER_IP",
            file.reservations_per_ip,
            d.reservations_per_ip,
        )?,
        password_hashing: parse_env(var, "PASSWORD_HASHING_CONCURRENCY")?
            .or(file.password_hashing)
            .unwrap_or(d.password_hashing),
        password_hashing_wait: parse_env(var, "PASSWORD_HASHING_WAIT_SECS")?
            .or(file.password_hashing_wait_secs)
            .map_or(d.password_hashing_wait, Duration::from_secs),
        execution_replays: parse_env(var, "EXECUTION_REPLAY_CONCURRENCY")?
            .or(file.execution_replays)
            .unwrap_or(d.execution_replays),
        execution_replays_wait: parse_env(var, "EXECUTION_REPLAY_WAIT_SECS")?
            .or(file.execution_replays_wait_secs)
            .map_or(d.execution_replays_wait, Duration::from_secs),
        trust_forwarded_for: parse_env(var, "TRUST_X_FORWARDED_FOR")?
            .or(file.trust_x_forwarded_for)
            .unwrap_or(d.trust_forwarded_for),
    };
    for (value, name) in [
        (settings.password_hashing, "password_hashing"),
        (settings.execution_replays, "execution_replays"),
    ] {
        if value == 0 {
            return Err(ConfigError::Invalid(format!(
                "rate_limits.{name} must be at least 1"
            )));
        }
    }
    Ok(settings)
}

const MIB: usize = 1024 * 1024;
pub const DEFAULT_ADDRESS: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 8080;
pub const DEFAULT_DATA_DIR: &str = ".data/distributor";
pub const DEFAULT_BASIC_MINUTES: u64 = 15;
pub const DEFAULT_REFRESH_DAYS: u64 = 7;
pub const DEFAULT_POOL_SIZE: u32 = 16;
const SECRETS_FILE: &str = "token-secrets.json";

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("environment variable {name}: {problem}")]
    Env { name: &'static str, problem: String },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot keep the generated token secrets in {path}: {source}")]
    Secrets {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The config file as written (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub database_pool_size: Option<u32>,
    pub token: Option<FileTokens>,
    pub files_storage: Option<FileStorage>,
    pub server: Option<FileServer>,
    pub data_dir: Option<PathBuf>,
    pub limits: Option<FileLimits>,
    pub rate_limits: Option<FileRates>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTokens {
    pub basic_token_secret: Option<String>,
    pub basic_token_minutes_duration: Option<u64>,
    pub refresh_token_secret: Option<String>,
    pub refresh_token_days_duration: Option<u64>,
    /// Development only: start with sample or short secrets (with a warning).
    pub allow_weak_secrets: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStorage {
    /// `region{sep}bucket{sep}key_id{sep}key_secret`; empty or absent: local directory.
    pub connection_string: Option<String>,
    /// The spec's spelling, kept for compatibility.
    #[serde(alias = "arguments_separator")]
    pub arguments_serarator: Option<String>,
    /// Endpoint URL of an S3-compatible server.
    pub endpoint: Option<String>,
    pub force_path_style: Option<bool>,
    /// Directory of the local store (when there is no connection string).
    pub directory: Option<PathBuf>,
    /// Bytes the local store keeps free (see [`StorageCare::reserve_bytes`]).
    pub reserve_bytes: Option<u64>,
    /// Seconds between sweeps of orphan objects; 0: at start-up only.
    pub sweep_interval_secs: Option<u64>,
    /// Seconds an unreferenced object is left alone.
    pub sweep_grace_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileServer {
    pub address: Option<String>,
    pub port: Option<u16>,
    pub workers: Option<usize>,
    pub request_head_timeout_secs: Option<u64>,
    pub request_body_timeout_secs: Option<u64>,
    pub keep_alive_secs: Option<u64>,
    pub disconnect_timeout_secs: Option<u64>,
    pub shutdown_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    pub program_bytes: Option<usize>,
    pub inputs_bytes: Option<usize>,
    pub proof_bytes: Option<usize>,
    pub execution_bytes: Option<usize>,
    pub json_bytes: Option<usize>,
    pub execution_steps: Option<usize>,
    pub execution_decoded_bytes: Option<u64>,
}

/// Environment variables the server reads (documented in API.md).
pub const ENV_VARS: &[&str] = &[
    "CONFIG_FILE",
    "DOCKERIZED_DATABASE_URL",
    "DATABASE_URL",
    "DATABASE_POOL_SIZE",
    "BASIC_TOKEN_SECRET",
    "BASIC_TOKEN_MINUTES_DURATION",
    "REFRESH_TOKEN_SECRET",
    "REFRESH_TOKEN_DAYS_DURATION",
    "ALLOW_WEAK_TOKEN_SECRETS",
    "FILES_STORAGE_CONNECTION_STRING",
    "FILES_STORAGE_ARGUMENTS_SEPARATOR",
    "FILES_STORAGE_DIRECTORY",
    "S3_ENDPOINT",
    "S3_FORCE_PATH_STYLE",
    "FILES_STORAGE_RESERVE_BYTES",
    "STORAGE_SWEEP_INTERVAL_SECS",
    "STORAGE_SWEEP_GRACE_SECS",
    "SERVER_ADDRESS",
    "SERVER_PORT",
    "SERVER_WORKERS",
    "SERVER_REQUEST_HEAD_TIMEOUT_SECS",
    "SERVER_REQUEST_BODY_TIMEOUT_SECS",
    "SERVER_KEEP_ALIVE_SECS",
    "SERVER_DISCONNECT_TIMEOUT_SECS",
    "SERVER_SHUTDOWN_TIMEOUT_SECS",
    "SERVER_MAX_CONNECTIONS",
    "DATA_DIR",
    "MAX_PROGRAM_BYTES",
    "MAX_INPUTS_BYTES",
    "MAX_PROOF_BYTES",
    "MAX_EXECUTION_BYTES",
    "MAX_EXECUTION_STEPS",
    "MAX_EXECUTION_DECODED_BYTES",
    "RATE_LOGIN_PER_IP",
    "RATE_LOGIN_PER_USERNAME",
    "RATE_REGISTER_PER_IP",
    "RATE_UPLOADS_PER_IP",
    "RATE_RESERVATIONS_PER_IP",
    "PASSWORD_HASHING_CONCURRENCY",
    "PASSWORD_HASHING_WAIT_SECS",
    "EXECUTION_REPLAY_CONCURRENCY",
    "EXECUTION_REPLAY_WAIT_SECS",
    "TRUST_X_FORWARDED_FOR",
];

/// `path` made absolute against the working directory (as given if that cannot be read).
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

/// Finds the config file: `--config PATH`, else `CONFIG_FILE`, else `src/config/dev.json` in the
/// working directory or in this crate's directory, else none.
pub fn config_path(cli: Option<PathBuf>, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(path) = cli {
        return Some(path);
    }
    if let Some(path) = env("CONFIG_FILE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let candidates = [
        PathBuf::from("src/config/dev.json"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/dev.json"),
    ];
    candidates.into_iter().find(|p| p.is_file())
}

/// Reads the file (if any) and the environment into settings.
pub fn load(
    path: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let file = match path {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    resolve(file, env)
}

pub fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Applies the environment over the file, then the defaults. Generates and persists the token
/// secrets in the data directory when neither gives them.
pub fn resolve(
    file: FileConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let var = |name: &'static str| env(name).filter(|v| !v.trim().is_empty());
    // Resolved once, against the working directory at start-up: every path derived from it
    // (the SQLite file, the local objects, the generated secrets) is then absolute, and the
    // server prints it.
    let data_dir = absolute(
        var("DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
    );

    let server_file = file.server.unwrap_or_default();
    let timeouts = server_timeouts(&var, &server_file)?;
    let server = ServerSettings {
        address: var("SERVER_ADDRESS")
            .or(server_file.address)
            .unwrap_or_else(|| DEFAULT_ADDRESS.to_string()),
        port: parse_env(&var, "SERVER_PORT")?
            .or(server_file.port)
            .unwrap_or(DEFAULT_PORT),
        workers: parse_env(&var, "SERVER_WORKERS")?.or(server_file.workers),
        timeouts,
        max_connections: parse_env(&var, "SERVER_MAX_CONNECTIONS")?
            .or(server_file.max_connections)
            .unwrap_or(DEFAULT_MAX_CONNECTIONS),
    };
    if server.max_connections == 0 {
        return Err(ConfigError::Invalid(
            "server.max_connections must be at least 1".into(),
        ));
    }

    let database_url = var("DOCKERIZED_DATABASE_URL")
        .or_else(|| var("DATABASE_URL"))
        .or(file.database_url.filter(|u| !u.trim().is_empty()));
    let database = DatabaseSettings {
        url: match database_url {
            Some(url) => DatabaseUrl::parse(&url)?,
            None => DatabaseUrl::Sqlite(data_dir.join("distributor.sqlite3")),
        },
        pool_size: parse_env(&var, "DATABASE_POOL_SIZE")?
            .or(file.database_pool_size)
            .unwrap_or(DEFAULT_POOL_SIZE),
    };

    let token_file = file.token.unwrap_or_default();
    let basic_secret = var("BASIC_TOKEN_SECRET").or(token_file.basic_token_secret);
    let refresh_secret = var("REFRESH_TOKEN_SECRET").or(token_file.refresh_token_secret);
    let (basic_secret, refresh_secret) = match (basic_secret, refresh_secret) {
        (Some(b), Some(r)) if !b.is_empty() && !r.is_empty() => (b, r),
        (b, r) => {
            let generated = generated_secrets(&data_dir)?;
            (
                b.filter(|s| !s.is_empty()).unwrap_or(generated.0),
                r.filter(|s| !s.is_empty()).unwrap_or(generated.1),
            )
        }
    };
    if basic_secret == refresh_secret {
        return Err(ConfigError::Invalid(
            "basic_token_secret and refresh_token_secret must differ".into(),
        ));
    }
    let allow_weak = parse_env::<bool>(&var, "ALLOW_WEAK_TOKEN_SECRETS")?
        .or(token_file.allow_weak_secrets)
        .unwrap_or(false);
    check_secret_strength("basic_token_secret", &basic_secret, allow_weak)?;
    check_secret_strength("refresh_token_secret", &refresh_secret, allow_weak)?;
    let tokens = TokenSettings {
        basic_secret,
        basic_minutes: parse_env(&var, "BASIC_TOKEN_MINUTES_DURATION")?
            .or(token_file.basic_token_minutes_duration)
            .unwrap_or(DEFAULT_BASIC_MINUTES),
        refresh_secret,
        refresh_days: parse_env(&var, "REFRESH_TOKEN_DAYS_DURATION")?
            .or(token_file.refresh_token_days_duration)
            .unwrap_or(DEFAULT_REFRESH_DAYS),
    };
    if tokens.basic_minutes == 0 || tokens.refresh_days == 0 {
        return Err(ConfigError::Invalid(
            "token durations must be at least 1 (minute, day)".into(),
        ));
    }

    let storage_file = file.files_storage.unwrap_or_default();
    let storage_care = storage_care(&var, &storage_file)?;
    let connection_string = var("FILES_STORAGE_CONNECTION_STRING").or(storage_file
        .connection_string
        .filter(|s| !s.trim().is_empty()));
    let storage = match connection_string {
        Some(connection) => {
            let separator = var("FILES_STORAGE_ARGUMENTS_SEPARATOR")
                .or(storage_file.arguments_serarator)
                .unwrap_or_else(|| ":".to_string());
            let endpoint = var("S3_ENDPOINT").or(storage_file.endpoint);
            let force_path_style = parse_env::<bool>(&var, "S3_FORCE_PATH_STYLE")?
                .or(storage_file.force_path_style)
                .unwrap_or(endpoint.is_some());
            let (region, bucket, key_id, key_secret) =
                parse_connection_string(&connection, &separator)?;
            StorageSettings::S3(S3Settings {
                region,
                bucket,
                key_id,
                key_secret,
                endpoint,
                force_path_style,
            })
        }
        None => StorageSettings::Local(
            var("FILES_STORAGE_DIRECTORY")
                .map(PathBuf::from)
                .or(storage_file.directory)
                .unwrap_or_else(|| data_dir.join("objects")),
        ),
    };

    let limits_file = file.limits.unwrap_or_default();
    let defaults = Limits::default();
    let execution_steps = parse_env(&var, "MAX_EXECUTION_STEPS")?
        .or(limits_file.execution_steps)
        .unwrap_or(defaults.execution_steps);
    if execution_steps == 0 {
        return Err(ConfigError::Invalid(
            "limits.execution_steps must be at least 1".into(),
        ));
    }
    let limits = Limits {
        program_bytes: parse_env(&var, "MAX_PROGRAM_BYTES")?
            .or(limits_file.program_bytes)
            .unwrap_or(defaults.program_bytes),
        inputs_bytes: parse_env(&var, "MAX_INPUTS_BYTES")?
            .or(limits_file.inputs_bytes)
            .unwrap_or(defaults.inputs_bytes),
        proof_bytes: parse_env(&var, "MAX_PROOF_BYTES")?
            .or(limits_file.proof_bytes)
            .unwrap_or(defaults.proof_bytes),
        execution_bytes: parse_env(&var, "MAX_EXECUTION_BYTES")?
            .or(limits_file.execution_bytes)
            .unwrap_or(defaults.execution_bytes),
        json_bytes: limits_file.json_bytes.unwrap_or(defaults.json_bytes),
        execution_steps,
        execution_decoded_bytes: parse_env(&var, "MAX_EXECUTION_DECODED_BYTES")?
            .or(limits_file.execution_decoded_bytes)
            .unwrap_or(ReadLimits::for_steps(execution_steps).max_decoded_bytes),
    };

    let rate_limits = rate_settings(&var, file.rate_limits.unwrap_or_default())?;
    Ok(Settings {
        server,
        database,
        tokens,
        storage,
        limits,
        rate_limits,
        storage_care,
        data_dir,
    })
}

fn storage_care(
    var: &dyn Fn(&'static str) -> Option<String>,
    file: &FileStorage,
) -> Result<StorageCare, ConfigError> {
    let d = StorageCare::default();
    let interval = parse_env::<u64>(var, "STORAGE_SWEEP_INTERVAL_SECS")?
        .or(file.sweep_interval_secs)
        .map_or(d.sweep_interval, |secs| {
            (secs > 0).then(|| Duration::from_secs(secs))
        });
    Ok(StorageCare {
        sweep_interval: interval,
        sweep_grace: parse_env::<u64>(var, "STORAGE_SWEEP_GRACE_SECS")?
            .or(file.sweep_grace_secs)
            .map_or(d.sweep_grace, Duration::from_secs),
        reserve_bytes: parse_env(var, "FILES_STORAGE_RESERVE_BYTES")?
            .or(file.reserve_bytes)
            .unwrap_or(d.reserve_bytes),
    })
}

/// Token secrets that are public: the samples checked in (`src/config/qa.json`, `.env.example`).
pub const SAMPLE_SECRETS: &[&str] = &[
    "change-me-basic-token-secret",
    "change-me-refresh-token-secret",
];
/// Shortest token secret accepted (HS256 keys should be at least as long as the hash).
pub const MIN_SECRET_BYTES: usize = 32;

/// Refuses a sample or short secret, unless `allow_weak` (development), which only warns.
fn check_secret_strength(name: &str, secret: &str, allow_weak: bool) -> Result<(), ConfigError> {
    let problem = if SAMPLE_SECRETS.contains(&secret.trim()) {
        "is a sample published with the source"
    } else if secret.len() < MIN_SECRET_BYTES {
        "is shorter than 32 bytes"
    } else {
        return Ok(());
    };
    if allow_weak {
        tracing::warn!(
            "token.{name} {problem}: accepted because ALLOW_WEAK_TOKEN_SECRETS is set; \
             anyone who knows it can forge tokens, never run like this in production"
        );
        return Ok(());
    }
    Err(ConfigError::Invalid(format!(
        "token.{name} {problem}; set a random one of at least {MIN_SECRET_BYTES} bytes \
         (`openssl rand -hex 32`), or leave both secrets unset to have them generated, or set \
         ALLOW_WEAK_TOKEN_SECRETS=true for development"
    )))
}

fn server_timeouts(
    var: &dyn Fn(&'static str) -> Option<String>,
    file: &FileServer,
) -> Result<ServerTimeouts, ConfigError> {
    let defaults = ServerTimeouts::default();
    let seconds = |name: &'static str, from_file: Option<u64>, default: Duration| {
        let secs = parse_env::<u64>(var, name)?.or(from_file);
        match secs {
            Some(0) => Err(ConfigError::Env {
                name,
                problem: "a timeout must be at least 1 second".into(),
            }),
            Some(secs) => Ok(Duration::from_secs(secs)),
            None => Ok(default),
        }
    };
    Ok(ServerTimeouts {
        request_head: seconds(
            "SERVER_REQUEST_HEAD_TIMEOUT_SECS",
            file.request_head_timeout_secs,
            defaults.request_head,
        )?,
        request_body: seconds(
            "SERVER_REQUEST_BODY_TIMEOUT_SECS",
            file.request_body_timeout_secs,
            defaults.request_body,
        )?,
        keep_alive: seconds(
            "SERVER_KEEP_ALIVE_SECS",
            file.keep_alive_secs,
            defaults.keep_alive,
        )?,
        disconnect: seconds(
            "SERVER_DISCONNECT_TIMEOUT_SECS",
            file.disconnect_timeout_secs,
            defaults.disconnect,
        )?,
        shutdown: seconds(
            "SERVER_SHUTDOWN_TIMEOUT_SECS",
            file.shutdown_timeout_secs,
            defaults.shutdown,
        )?,
    })
}

fn parse_env<T: std::str::FromStr>(
    var: &dyn Fn(&'static str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(None),
        Some(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|e: T::Err| ConfigError::Env {
                name,
                problem: format!("{value:?} is not valid: {e}"),
            }),
    }
}

/// Splits the spec's `region{sep}bucket{sep}key_id{sep}key_secret` (the secret may itself contain
/// the separator: everything after the third one is the secret).
pub fn parse_connection_string(
    connection: &str,
    separator: &str,
) -> Result<(String, String, String, String), ConfigError> {
    if separator.is_empty() {
        return Err(ConfigError::Invalid(
            "files_storage.arguments_serarator must not be empty".into(),
        ));
    }
    let parts: Vec<&str> = connection.splitn(4, separator).collect();
    match parts.as_slice() {
        [region, bucket, key_id, secret] if parts.iter().all(|p| !p.is_empty()) => Ok((
            region.to_string(),
            bucket.to_string(),
            key_id.to_string(),
            secret.to_string(),
        )),
        _ => Err(ConfigError::Invalid(format!(
            "files_storage.connection_string must be region{separator}bucket{separator}key_id{separator}key_secret with no empty part"
        ))),
    }
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("mariadb://") {
            return Ok(DatabaseUrl::Mysql(format!("mysql://{rest}")));
        }
        if url.starts_with("mysql://") {
            return Ok(DatabaseUrl::Mysql(url.to_string()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() || path == ":memory:" {
                return Err(ConfigError::Invalid(
                    "database_url: the SQLite database must be a file".into(),
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.contains("://") {
            return Err(ConfigError::Invalid(format!(
                "database_url: unsupported scheme in {:?} (use mysql:// or sqlite://)",
                redact(url)
            )));
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(url)))
    }

    /// The URL with its password hidden, for logs and errors.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Mysql(url) => redact(url),
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }
}

fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Loads the token secrets kept in the data directory, generating them the first time.
fn generated_secrets(data_dir: &Path) -> Result<(String, String), ConfigError> {
    #[derive(serde::Serialize, Deserialize)]
    struct Kept {
        basic_token_secret: String,
        refresh_token_secret: String,
    }
    let path = data_dir.join(SECRETS_FILE);
    let io = |source| ConfigError::Secrets {
        path: path.clone(),
        source,
    };
    if let Ok(text) = std::fs::read(&path) {
        if let Ok(kept) = serde_json::from_slice::<Kept>(&text) {
            return Ok((kept.basic_token_secret, kept.refresh_token_secret));
        }
    }
    tracing::warn!(
        path = %path.display(),
        "no token secrets configured: generated random ones and kept them in the data directory; \
         set BASIC_TOKEN_SECRET and REFRESH_TOKEN_SECRET (or the config file's `token`) in production"
    );
    let kept = Kept {
        basic_token_secret: random_secret().map_err(io)?,
        refresh_token_secret: random_secret().map_err(io)?,
    };
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let text = serde_json::to_vec_pretty(&kept).map_err(|e| io(std::io::Error::other(e)))?;
    write_private(&path, &text).map_err(io)?;
    Ok((kept.basic_token_secret, kept.refresh_token_secret))
}

fn random_secret() -> Result<String, std::io::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex::encode(bytes))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn file(json: &str) -> FileConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_relative_data_dir_is_resolved_once_against_the_working_directory() {
        let basic = "b".repeat(40);
        let refresh = "r".repeat(40);
        let env = env_of(&[
            ("DATA_DIR", "relative/data"),
            ("BASIC_TOKEN_SECRET", &basic),
            ("REFRESH_TOKEN_SECRET", &refresh),
        ]);
        let settings = resolve(FileConfig::default(), &env).unwrap();
        let expected = std::env::current_dir().unwrap().join("relative/data");
        assert_eq!(settings.data_dir, expected);
        assert_eq!(
            settings.database.url,
            DatabaseUrl::Sqlite(expected.join("distributor.sqlite3"))
        );
    }

    #[test]
    fn no_file_no_env_gives_the_embedded_default_with_persisted_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let env = env_of(&[("DATA_DIR", &data)]);
        let settings = resolve(FileConfig::default(), &env).unwrap();
        assert_eq!(settings.server.address, "127.0.0.1");
        assert_eq!(settings.server.port, 8080);
        assert_eq!(
            settings.database.url,
            DatabaseUrl::Sqlite(dir.path().join("distributor.sqlite3"))
        );
        assert!(
            matches!(&settings.storage, StorageSettings::Local(p) if p == &dir.path().join("objects"))
        );
        assert_ne!(settings.tokens.basic_secret, settings.tokens.refresh_secret);
        let again = resolve(FileConfig::default(), &env).unwrap();
        assert_eq!(again.tokens.basic_secret, settings.tokens.basic_secret);
        assert_eq!(again.tokens.refresh_secret, settings.tokens.refresh_secret);
    }

    #[test]
    fn the_specs_file_shape_is_read() {
        let config = file(
            r#"{
                "database_url": "mysql://root:example@db:3306/my_database",
                "token": {
                    "basic_token_secret": "a", "basic_token_minutes_duration": 5,
                    "refresh_token_secret": "b", "refresh_token_days_duration": 2
                },
                "files_storage": {
                    "connection_string": "eu-west-1:bucket:id:sec:ret",
                    "arguments_serarator": ":"
                }
            }"#,
        );
        let weak_ok = env_of(&[("ALLOW_WEAK_TOKEN_SECRETS", "true")]);
        let settings = resolve(config, &weak_ok).unwrap();
        assert_eq!(
            settings.database.url,
            DatabaseUrl::Mysql("mysql://root:example@db:3306/my_database".into())
        );
        assert_eq!(settings.tokens.basic_minutes, 5);
        assert_eq!(settings.tokens.refresh_days, 2);
        let StorageSettings::S3(s3) = settings.storage else {
            panic!("expected S3")
        };
        assert_eq!(
            (
                s3.region.as_str(),
                s3.bucket.as_str(),
                s3.key_id.as_str(),
                s3.key_secret.as_str()
            ),
            ("eu-west-1", "bucket", "id", "sec:ret")
        );
        assert_eq!(s3.endpoint, None);
        assert!(!s3.force_path_style);
    }

    #[test]
    fn environment_overrides_the_file_and_dockerized_url_wins() {
        let config = file(
            r#"{"database_url": "mysql://file@h/db",
                "token": {"basic_token_secret": "a", "refresh_token_secret": "b"},
                "files_storage": {"connection_string": "r;b;k;s", "arguments_separator": ";"},
                "server": {"port": 9000}}"#,
        );
        let env = env_of(&[
            ("ALLOW_WEAK_TOKEN_SECRETS", "true"),
            ("DATABASE_URL", "mysql://env@h/db"),
            ("DOCKERIZED_DATABASE_URL", "mysql://docker@db/db"),
            ("SERVER_PORT", "9100"),
            ("BASIC_TOKEN_SECRET", "c"),
            ("S3_ENDPOINT", "http://127.0.0.1:9000"),
        ]);
        let settings = resolve(config, &env).unwrap();
        assert_eq!(
            settings.database.url,
            DatabaseUrl::Mysql("mysql://docker@db/db".into())
        );
        assert_eq!(settings.server.port, 9100);
        assert_eq!(settings.tokens.basic_secret, "c");
        assert_eq!(settings.tokens.refresh_secret, "b");
        let StorageSettings::S3(s3) = settings.storage else {
            panic!("expected S3")
        };
        assert_eq!(s3.bucket, "b");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(
            s3.force_path_style,
            "an explicit endpoint defaults to path style"
        );
    }

    #[test]
    fn bad_values_are_refused_with_their_name() {
        let env = env_of(&[
            ("SERVER_PORT", "eighty"),
            ("BASIC_TOKEN_SECRET", "a"),
            ("REFRESH_TOKEN_SECRET", "b"),
        ]);
        let error = resolve(FileConfig::default(), &env).unwrap_err();
        assert!(error.to_string().contains("SERVER_PORT"), "{error}");
        assert!(serde_json::from_str::<FileConfig>(r#"{"databse_url": "x"}"#).is_err());
        assert!(parse_connection_string("r:b:k", ":").is_err());
        assert!(parse_connection_string("r::k:s", ":").is_err());
        assert!(DatabaseUrl::parse("postgres://x").is_err());
        assert!(DatabaseUrl::parse("sqlite::memory:").is_err());
    }

    #[test]
    fn the_execution_decoded_size_limit_follows_the_step_cap_unless_set() {
        let secrets = [
            ("BASIC_TOKEN_SECRET", "a"),
            ("REFRESH_TOKEN_SECRET", "b"),
            ("ALLOW_WEAK_TOKEN_SECRETS", "true"),
        ];
        let capped = [secrets.as_slice(), &[("MAX_EXECUTION_STEPS", "1000")]].concat();
        let limits = resolve(FileConfig::default(), &env_of(&capped))
            .unwrap()
            .limits;
        assert_eq!(limits.execution_steps, 1000);
        assert_eq!(
            limits.execution_decoded_bytes,
            ReadLimits::for_steps(1000).max_decoded_bytes
        );
        let set = [
            capped.as_slice(),
            &[("MAX_EXECUTION_DECODED_BYTES", "4096")],
        ]
        .concat();
        let limits = resolve(FileConfig::default(), &env_of(&set))
            .unwrap()
            .limits;
        assert_eq!(limits.execution_file().max_decoded_bytes, 4096);
        let zero = [secrets.as_slice(), &[("MAX_EXECUTION_STEPS", "0")]].concat();
        assert!(resolve(FileConfig::default(), &env_of(&zero)).is_err());
    }

    #[test]
    fn sample_or_short_token_secrets_are_refused_unless_allowed_for_development() {
        let strong = "0123456789abcdef0123456789abcdef";
        let refused = |basic: &str, refresh: &str| {
            let env = env_of(&[
                ("BASIC_TOKEN_SECRET", basic),
                ("REFRESH_TOKEN_SECRET", refresh),
            ]);
            resolve(FileConfig::default(), &env)
                .unwrap_err()
                .to_string()
        };
        let short = refused("too short", strong);
        assert!(
            short.contains("basic_token_secret") && short.contains("32 bytes"),
            "{short}"
        );
        // The samples checked in are refused, from the file and from the environment.
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/qa.json");
        let error = resolve(read_file(&sample).unwrap(), &env_of(&[])).unwrap_err();
        assert!(error.to_string().contains("sample"), "{error}");
        let dotenv =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.env.example"))
                .unwrap();
        let from_dotenv = |name: &str| {
            let line = dotenv.lines().find(|l| l.starts_with(&format!("{name}=")));
            line.unwrap().split_once('=').unwrap().1.to_string()
        };
        let basic = from_dotenv("BASIC_TOKEN_SECRET");
        assert!(SAMPLE_SECRETS.contains(&basic.as_str()));
        assert!(refused(&basic, strong).contains("sample"));
        assert!(refused(strong, &from_dotenv("REFRESH_TOKEN_SECRET")).contains("sample"));
        // Strong ones start; the development flag lets weak ones through.
        let env = env_of(&[
            ("BASIC_TOKEN_SECRET", strong),
            ("REFRESH_TOKEN_SECRET", "fedcba9876543210fedcba9876543210"),
        ]);
        resolve(FileConfig::default(), &env).unwrap();
        let env = env_of(&[
            ("BASIC_TOKEN_SECRET", &basic),
            ("REFRESH_TOKEN_SECRET", "b"),
            ("ALLOW_WEAK_TOKEN_SECRETS", "true"),
        ]);
        resolve(FileConfig::default(), &env).unwrap();
    }

    #[test]
    fn database_urls_pick_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("mariadb://u:p@h/d").unwrap(),
            DatabaseUrl::Mysql("mysql://u:p@h/d".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://x/y.db").unwrap(),
            DatabaseUrl::Sqlite("x/y.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("y.db").unwrap(),
            DatabaseUrl::Sqlite("y.db".into())
        );
        assert_eq!(
            DatabaseUrl::Mysql("mysql://root:secret@h:3306/d".into()).redacted(),
            "mysql://root:***@h:3306/d"
        );
    }

    #[test]
    fn the_checked_in_sample_parses() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/qa.json");
        read_file(&sample).unwrap();
    }
}
