//! Settings: the spec's JSON file (`src/config/dev.json`), overridden by environment variables,
//! over defaults that start the embedded server (SQLite + a local directory) with no file at all.
//!
//! Every setting is declared once, in [`SETTINGS`] (file key, environment variable, default,
//! meaning). Precedence, highest first: environment variable, file, declared default; `figment`
//! merges the three layers, the result is read into the file's shape and then checked into
//! [`Settings`]. The file keeps the spec's shape (including its `arguments_serarator` spelling;
//! `arguments_separator` is accepted too) and adds a few optional fields; unknown fields are
//! refused so a typo does not go unnoticed.

mod layers;

use std::path::{Path, PathBuf};
use std::time::Duration;

use cairo_stark::execution_file::ReadLimits;
use figment::value::{Dict, Value};
use figment::Figment;
use secrecy::SecretString;
use serde::Deserialize;

pub use layers::help;

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
    /// The declared defaults.
    fn default() -> Self {
        from_declared(|layered| server(layered.server).map(|s| s.timeouts))
    }
}

pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_POOL_SIZE: u32 = 16;

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    pub pool_size: u32,
}

/// Which database, from `database_url`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `mysql://user:password@host:port/database` (`mariadb://` is accepted as a synonym).
    Mysql(String),
    /// `sqlite://path`, `sqlite:path` or a plain file path.
    Sqlite(PathBuf),
}

impl std::fmt::Debug for DatabaseUrl {
    /// The URL with its password hidden, as in the logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub basic_secret: SecretString,
    pub basic_minutes: u64,
    pub refresh_secret: SecretString,
    pub refresh_days: u64,
}

#[derive(Debug, Clone)]
pub enum StorageSettings {
    /// Objects as files under this directory.
    Local(PathBuf),
    S3(S3Settings),
}

#[derive(Debug, Clone)]
pub struct S3Settings {
    pub region: String,
    pub bucket: String,
    pub key_id: SecretString,
    pub key_secret: SecretString,
    /// Endpoint of an S3-compatible server (`None`: AWS).
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), what most S3-compatible servers need.
    pub force_path_style: bool,
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
    /// The declared defaults.
    fn default() -> Self {
        from_declared(|layered| Ok(storage_care(&layered.files_storage)))
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
    /// The declared defaults.
    fn default() -> Self {
        from_declared(|layered| limits(layered.limits))
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
    /// The declared defaults.
    fn default() -> Self {
        from_declared(|layered| rate_settings(layered.rate_limits))
    }
}

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
    /// A value of the wrong type, or an unknown key; it names the variable or the file key.
    #[error("{0}")]
    Value(Box<figment::Error>),
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

/// The config file's values (none without a file).
#[derive(Default)]
pub struct FileConfig {
    path: Option<PathBuf>,
    values: Dict,
}

impl FileConfig {
    /// `text` as the config file at `path`: a JSON object. A `null` is an absent value, and the
    /// spec's `arguments_serarator` may be spelt `arguments_separator`.
    pub fn parse(path: &Path, text: &[u8]) -> Result<Self, ConfigError> {
        let mut values: Dict =
            serde_json::from_slice(text).map_err(|source| ConfigError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        drop_nulls(&mut values);
        if let Some(Value::Dict(_, storage)) = values.get_mut("files_storage") {
            if !storage.contains_key("arguments_serarator") {
                if let Some(separator) = storage.remove("arguments_separator") {
                    storage.insert("arguments_serarator".into(), separator);
                }
            }
        }
        Ok(FileConfig {
            path: Some(path.to_path_buf()),
            values,
        })
    }
}

fn drop_nulls(dict: &mut Dict) {
    dict.retain(|_, value| !matches!(value, Value::Empty(..)));
    for value in dict.values_mut() {
        if let Value::Dict(_, inner) = value {
            drop_nulls(inner);
        }
    }
}

/// The merged layers, in the config file's shape: a setting with a declared default is always
/// there; the others are worked out from the rest.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
struct Layered {
    database_url: Option<String>,
    database_pool_size: u32,
    data_dir: PathBuf,
    token: TokenLayer,
    files_storage: StorageLayer,
    server: ServerLayer,
    limits: LimitsLayer,
    rate_limits: RateLayer,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
struct TokenLayer {
    basic_token_secret: Option<String>,
    basic_token_minutes_duration: u64,
    refresh_token_secret: Option<String>,
    refresh_token_days_duration: u64,
    allow_weak_secrets: bool,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
struct StorageLayer {
    connection_string: Option<String>,
    arguments_serarator: String,
    endpoint: Option<String>,
    force_path_style: Option<bool>,
    directory: Option<PathBuf>,
    reserve_bytes: u64,
    sweep_interval_secs: u64,
    sweep_grace_secs: u64,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
struct ServerLayer {
    address: String,
    port: u16,
    workers: Option<usize>,
    request_head_timeout_secs: u64,
    request_body_timeout_secs: u64,
    keep_alive_secs: u64,
    disconnect_timeout_secs: u64,
    shutdown_timeout_secs: u64,
    max_connections: usize,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
struct LimitsLayer {
    program_bytes: usize,
    inputs_bytes: usize,
    proof_bytes: usize,
    execution_bytes: usize,
    json_bytes: usize,
    execution_steps: usize,
    execution_decoded_bytes: Option<u64>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
struct RateLayer {
    login_per_ip: u32,
    login_per_username: u32,
    register_per_ip: u32,
    uploads_per_ip: u32,
    reservations_per_ip: u32,
    password_hashing: Option<usize>,
    password_hashing_wait_secs: u64,
    execution_replays: Option<usize>,
    execution_replays_wait_secs: u64,
    trust_x_forwarded_for: bool,
}

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
    FileConfig::parse(path, &text)
}

/// Applies the environment over the file, over the declared defaults. Generates and persists
/// the token secrets in the data directory when neither gives them.
pub fn resolve(
    file: FileConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let layered: Layered = Figment::from(layers::defaults())
        .merge(layers::file(file.values, file.path))
        .merge(layers::environment(env))
        .extract()
        .map_err(|e| ConfigError::Value(Box::new(e)))?;
    // Resolved once, against the working directory at start-up: every path derived from it
    // (the SQLite file, the local objects, the generated secrets) is then absolute, and the
    // server prints it.
    let data_dir = absolute(layered.data_dir);
    let server = server(layered.server)?;
    let database = DatabaseSettings {
        url: match layered.database_url.filter(|u| !u.trim().is_empty()) {
            Some(url) => DatabaseUrl::parse(&url)?,
            None => DatabaseUrl::Sqlite(data_dir.join("distributor.sqlite3")),
        },
        pool_size: layered.database_pool_size,
    };
    let tokens = token_settings(layered.token, &data_dir)?;
    let storage_care = storage_care(&layered.files_storage);
    let storage = storage_settings(layered.files_storage, &data_dir)?;
    let limits = limits(layered.limits)?;
    let rate_limits = rate_settings(layered.rate_limits)?;
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

/// The part `part` reads from the declared defaults alone. Those are checked by this module's
/// tests, so this cannot fail unless [`SETTINGS`] is broken.
fn from_declared<T>(part: impl FnOnce(Layered) -> Result<T, ConfigError>) -> T {
    Figment::from(layers::defaults())
        .extract()
        .map_err(|e| ConfigError::Value(Box::new(e)))
        .and_then(part)
        .unwrap_or_else(|e| panic!("the declared defaults are not valid settings: {e}"))
}

fn server(layer: ServerLayer) -> Result<ServerSettings, ConfigError> {
    let timeouts = ServerTimeouts {
        request_head: timeout(
            "server.request_head_timeout_secs",
            layer.request_head_timeout_secs,
        )?,
        request_body: timeout(
            "server.request_body_timeout_secs",
            layer.request_body_timeout_secs,
        )?,
        keep_alive: timeout("server.keep_alive_secs", layer.keep_alive_secs)?,
        disconnect: timeout(
            "server.disconnect_timeout_secs",
            layer.disconnect_timeout_secs,
        )?,
        shutdown: timeout("server.shutdown_timeout_secs", layer.shutdown_timeout_secs)?,
    };
    if layer.max_connections == 0 {
        return Err(ConfigError::Invalid(
            "server.max_connections must be at least 1".into(),
        ));
    }
    Ok(ServerSettings {
        address: layer.address,
        port: layer.port,
        workers: layer.workers,
        timeouts,
        max_connections: layer.max_connections,
    })
}

/// `secs` of the timeout at `key`, which must be at least one.
fn timeout(key: &'static str, secs: u64) -> Result<Duration, ConfigError> {
    if secs == 0 {
        return Err(ConfigError::Env {
            name: variable(key).unwrap_or(key),
            problem: "a timeout must be at least 1 second".into(),
        });
    }
    Ok(Duration::from_secs(secs))
}

fn token_settings(layer: TokenLayer, data_dir: &Path) -> Result<TokenSettings, ConfigError> {
    let given = |secret: Option<String>| secret.filter(|s| !s.is_empty());
    let (basic_secret, refresh_secret) = match (
        given(layer.basic_token_secret),
        given(layer.refresh_token_secret),
    ) {
        (Some(b), Some(r)) => (b, r),
        (b, r) => {
            let generated = generated_secrets(data_dir)?;
            (b.unwrap_or(generated.0), r.unwrap_or(generated.1))
        }
    };
    if basic_secret == refresh_secret {
        return Err(ConfigError::Invalid(
            "basic_token_secret and refresh_token_secret must differ".into(),
        ));
    }
    let allow_weak = layer.allow_weak_secrets;
    check_secret_strength("basic_token_secret", &basic_secret, allow_weak)?;
    check_secret_strength("refresh_token_secret", &refresh_secret, allow_weak)?;
    if layer.basic_token_minutes_duration == 0 || layer.refresh_token_days_duration == 0 {
        return Err(ConfigError::Invalid(
            "token durations must be at least 1 (minute, day)".into(),
        ));
    }
    Ok(TokenSettings {
        basic_secret: basic_secret.into(),
        basic_minutes: layer.basic_token_minutes_duration,
        refresh_secret: refresh_secret.into(),
        refresh_days: layer.refresh_token_days_duration,
    })
}

fn storage_care(layer: &StorageLayer) -> StorageCare {
    StorageCare {
        sweep_interval: (layer.sweep_interval_secs > 0)
            .then(|| Duration::from_secs(layer.sweep_interval_secs)),
        sweep_grace: Duration::from_secs(layer.sweep_grace_secs),
        reserve_bytes: layer.reserve_bytes,
    }
}

/// S3 when there is a connection string, else the local directory.
fn storage_settings(layer: StorageLayer, data_dir: &Path) -> Result<StorageSettings, ConfigError> {
    let connection = layer.connection_string.filter(|s| !s.trim().is_empty());
    let Some(connection) = connection else {
        let directory = layer.directory.unwrap_or_else(|| data_dir.join("objects"));
        return Ok(StorageSettings::Local(directory));
    };
    let (region, bucket, key_id, key_secret) =
        parse_connection_string(&connection, &layer.arguments_serarator)?;
    Ok(StorageSettings::S3(S3Settings {
        region,
        bucket,
        key_id: key_id.into(),
        key_secret: key_secret.into(),
        force_path_style: layer.force_path_style.unwrap_or(layer.endpoint.is_some()),
        endpoint: layer.endpoint,
    }))
}

fn limits(layer: LimitsLayer) -> Result<Limits, ConfigError> {
    if layer.execution_steps == 0 {
        return Err(ConfigError::Invalid(
            "limits.execution_steps must be at least 1".into(),
        ));
    }
    let decoded = ReadLimits::for_steps(layer.execution_steps).max_decoded_bytes;
    Ok(Limits {
        program_bytes: layer.program_bytes,
        inputs_bytes: layer.inputs_bytes,
        proof_bytes: layer.proof_bytes,
        execution_bytes: layer.execution_bytes,
        json_bytes: layer.json_bytes,
        execution_steps: layer.execution_steps,
        execution_decoded_bytes: layer.execution_decoded_bytes.unwrap_or(decoded),
    })
}

fn rate_settings(layer: RateLayer) -> Result<RateSettings, ConfigError> {
    let cores = || std::thread::available_parallelism().map_or(2, |n| n.get());
    let settings = RateSettings {
        login_per_ip: layer.login_per_ip,
        login_per_username: layer.login_per_username,
        register_per_ip: layer.register_per_ip,
        uploads_per_ip: layer.uploads_per_ip,
        reservations_per_ip: layer.reservations_per_ip,
        password_hashing: layer.password_hashing.unwrap_or_else(cores),
        password_hashing_wait: Duration::from_secs(layer.password_hashing_wait_secs),
        execution_replays: layer.execution_replays.unwrap_or_else(cores),
        execution_replays_wait: Duration::from_secs(layer.execution_replays_wait_secs),
        trust_forwarded_for: layer.trust_x_forwarded_for,
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

// ---- The declarations ----

const MIB: u64 = 1024 * 1024;

/// A setting's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    Number(u64),
    Flag(bool),
    Text(&'static str),
    /// Worked out at start-up (from other settings, the machine or the data directory), as
    /// described.
    Derived(&'static str),
}

impl std::fmt::Display for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fallback::Number(n) => write!(f, "{n}"),
            Fallback::Flag(b) => write!(f, "{b}"),
            Fallback::Text(text) | Fallback::Derived(text) => f.write_str(text),
        }
    }
}

/// How an environment variable's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// As is: paths, URLs and secrets stay text even when they look like numbers.
    Text,
    /// A number or `true`/`false` (surrounding spaces ignored); anything else is refused when the
    /// value is read into the setting's type.
    Scalar,
}

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// Its place in the config file: `section.field`, or `field` at the top level.
    pub key: &'static str,
    /// The environment variable that overrides the file (`None`: the file only).
    pub env: Option<&'static str>,
    pub default: Fallback,
    /// What it does.
    pub doc: &'static str,
    kind: Kind,
}

impl Setting {
    const fn text(
        key: &'static str,
        env: &'static str,
        default: Fallback,
        doc: &'static str,
    ) -> Self {
        Setting {
            key,
            env: Some(env),
            default,
            doc,
            kind: Kind::Text,
        }
    }

    const fn scalar(
        key: &'static str,
        env: Option<&'static str>,
        default: Fallback,
        doc: &'static str,
    ) -> Self {
        Setting {
            key,
            env,
            default,
            doc,
            kind: Kind::Scalar,
        }
    }

    /// `text` (an environment variable's value) as a configuration value.
    fn value(&self, text: &str) -> Value {
        match self.kind {
            Kind::Text => Value::from(text.to_string()),
            Kind::Scalar => text.parse().unwrap_or_else(|never| match never {}),
        }
    }
}

use Fallback::{Derived, Flag, Number, Text};

const ONE_PER_CORE: Fallback = Derived("one per CPU core");
const GENERATED: Fallback = Derived("generated, kept in data_dir");
const IN_DATA_DIR: Fallback = Derived("SQLite file distributor.sqlite3 in data_dir");

/// Every setting, in the order the docs list them. When two variables set the same key, the
/// first one listed that is set wins.
#[rustfmt::skip]
pub const SETTINGS: &[Setting] = &[
    Setting::text("database_url", "DOCKERIZED_DATABASE_URL", IN_DATA_DIR,
        "the database: `mysql://user:password@host:port/database` (`mariadb://` too), `sqlite://path` or a file path; wins over `DATABASE_URL`, as in the spec's docker-compose note"),
    Setting::text("database_url", "DATABASE_URL", IN_DATA_DIR,
        "the database, when `DOCKERIZED_DATABASE_URL` is not set"),
    Setting::scalar("database_pool_size", Some("DATABASE_POOL_SIZE"), Number(DEFAULT_POOL_SIZE as u64),
        "database connections kept open"),
    Setting::text("data_dir", "DATA_DIR", Text(".data/distributor"),
        "where the embedded defaults live (SQLite file, local objects, generated token secrets); made absolute at start-up and printed"),
    Setting::text("token.basic_token_secret", "BASIC_TOKEN_SECRET", GENERATED,
        "JWT secret of the basic (access) token: at least 32 bytes, not a published sample"),
    Setting::scalar("token.basic_token_minutes_duration", Some("BASIC_TOKEN_MINUTES_DURATION"), Number(15),
        "minutes a basic token lasts"),
    Setting::text("token.refresh_token_secret", "REFRESH_TOKEN_SECRET", GENERATED,
        "JWT secret of the refresh token: the same rules, and it must differ from the basic one"),
    Setting::scalar("token.refresh_token_days_duration", Some("REFRESH_TOKEN_DAYS_DURATION"), Number(7),
        "days until the user must log in again"),
    Setting::scalar("token.allow_weak_secrets", Some("ALLOW_WEAK_TOKEN_SECRETS"), Flag(false),
        "development only: start, with a warning, on a sample secret (those of `qa.json` and `.env.example`) or one under 32 bytes, which is otherwise refused"),
    Setting::text("files_storage.connection_string", "FILES_STORAGE_CONNECTION_STRING", Derived("none: the local directory store"),
        "S3 `region:bucket:key_id:key_secret`, split at the first three separators (the secret may contain it); the bucket must exist (the start-up checks it with `HeadBucket`)"),
    Setting::text("files_storage.arguments_serarator", "FILES_STORAGE_ARGUMENTS_SEPARATOR", Text(":"),
        "separator of the connection string (the spec's spelling; `arguments_separator` is accepted in the file too)"),
    Setting::text("files_storage.endpoint", "S3_ENDPOINT", Derived("none: AWS"),
        "endpoint URL of an S3-compatible server"),
    Setting::scalar("files_storage.force_path_style", Some("S3_FORCE_PATH_STYLE"), Derived("true when an endpoint is set"),
        "path-style addressing (`endpoint/bucket/key`), what most S3-compatible servers need"),
    Setting::text("files_storage.directory", "FILES_STORAGE_DIRECTORY", Derived("objects/ in data_dir"),
        "directory of the local store (used without a connection string)"),
    Setting::scalar("files_storage.reserve_bytes", Some("FILES_STORAGE_RESERVE_BYTES"), Number(64 * MIB),
        "local store: a write that would leave fewer bytes free on its file system is refused `507 INSUFFICIENT_STORAGE`, so that deletions (SQLite needs room in its journal to delete) and reads keep working on a full disk; 0 turns it off"),
    Setting::scalar("files_storage.sweep_interval_secs", Some("STORAGE_SWEEP_INTERVAL_SECS"), Number(3600),
        "seconds between sweeps of orphan objects (one also runs at start-up); 0: at start-up only; see [Storage consistency](#storage-consistency)"),
    Setting::scalar("files_storage.sweep_grace_secs", Some("STORAGE_SWEEP_GRACE_SECS"), Number(600),
        "unreferenced objects younger than this (seconds) are kept: they may belong to an upload in flight"),
    Setting::text("server.address", "SERVER_ADDRESS", Text("127.0.0.1"),
        "address to listen on"),
    Setting::scalar("server.port", Some("SERVER_PORT"), Number(8080),
        "port to listen on; 0 picks a free one"),
    Setting::scalar("server.workers", Some("SERVER_WORKERS"), ONE_PER_CORE,
        "HTTP worker threads"),
    Setting::scalar("server.request_head_timeout_secs", Some("SERVER_REQUEST_HEAD_TIMEOUT_SECS"), Number(5),
        "seconds a client has to send the request line and headers"),
    Setting::scalar("server.request_body_timeout_secs", Some("SERVER_REQUEST_BODY_TIMEOUT_SECS"), Number(120),
        "seconds a client has to send the whole body (`REQUEST_TIMEOUT`)"),
    Setting::scalar("server.keep_alive_secs", Some("SERVER_KEEP_ALIVE_SECS"), Number(5),
        "seconds after which an idle kept-alive connection is closed"),
    Setting::scalar("server.disconnect_timeout_secs", Some("SERVER_DISCONNECT_TIMEOUT_SECS"), Number(1),
        "seconds a client has to acknowledge the closing of a connection"),
    Setting::scalar("server.shutdown_timeout_secs", Some("SERVER_SHUTDOWN_TIMEOUT_SECS"), Number(30),
        "on SIGTERM or Ctrl-C the server stops accepting connections and gives the requests in progress (uploads) this many seconds to finish, then exits"),
    Setting::scalar("server.max_connections", Some("SERVER_MAX_CONNECTIONS"), Number(DEFAULT_MAX_CONNECTIONS as u64),
        "open connections per worker; more wait in the listen backlog"),
    Setting::scalar("limits.program_bytes", Some("MAX_PROGRAM_BYTES"), Number(16 * MIB),
        "largest program tar (`POST /program/upload`)"),
    Setting::scalar("limits.inputs_bytes", Some("MAX_INPUTS_BYTES"), Number(8 * MIB),
        "largest inputs CSV"),
    Setting::scalar("limits.proof_bytes", Some("MAX_PROOF_BYTES"), Number(16 * MIB),
        "largest proof upload"),
    Setting::scalar("limits.execution_bytes", Some("MAX_EXECUTION_BYTES"), Number(64 * MIB),
        "largest execution upload"),
    Setting::scalar("limits.json_bytes", None, Number(64 * 1024),
        "largest JSON body or multipart `data` field"),
    Setting::scalar("limits.execution_steps", Some("MAX_EXECUTION_STEPS"), Number(cairo_stark::vm::DEFAULT_MAX_STEPS as u64),
        "most steps an uploaded execution may claim"),
    Setting::scalar("limits.execution_decoded_bytes", Some("MAX_EXECUTION_DECODED_BYTES"), Derived("128 bytes a step + 64 MiB"),
        "most bytes an uploaded execution may inflate to"),
    Setting::scalar("rate_limits.login_per_ip", Some("RATE_LOGIN_PER_IP"), Number(30),
        "logins a minute per client address"),
    Setting::scalar("rate_limits.login_per_username", Some("RATE_LOGIN_PER_USERNAME"), Number(10),
        "logins a minute per username"),
    Setting::scalar("rate_limits.register_per_ip", Some("RATE_REGISTER_PER_IP"), Number(10),
        "registrations a minute per client address"),
    Setting::scalar("rate_limits.uploads_per_ip", Some("RATE_UPLOADS_PER_IP"), Number(120),
        "proof and execution uploads a minute per client address"),
    Setting::scalar("rate_limits.reservations_per_ip", Some("RATE_RESERVATIONS_PER_IP"), Number(120),
        "reservation requests a minute per client address"),
    Setting::scalar("rate_limits.password_hashing", Some("PASSWORD_HASHING_CONCURRENCY"), ONE_PER_CORE,
        "argon2 password hashes (register, login) computed at once"),
    Setting::scalar("rate_limits.password_hashing_wait_secs", Some("PASSWORD_HASHING_WAIT_SECS"), Number(5),
        "seconds a login or registration waits for a hashing slot, then `429`"),
    Setting::scalar("rate_limits.execution_replays", Some("EXECUTION_REPLAY_CONCURRENCY"), ONE_PER_CORE,
        "execution uploads replayed at once"),
    Setting::scalar("rate_limits.execution_replays_wait_secs", Some("EXECUTION_REPLAY_WAIT_SECS"), Number(10),
        "seconds an execution upload waits for a replay slot, then `429`"),
    Setting::scalar("rate_limits.trust_x_forwarded_for", Some("TRUST_X_FORWARDED_FOR"), Flag(false),
        "behind a reverse proxy, rate limits go by the last address of `X-Forwarded-For` (the one the proxy added) instead of the connection's peer (the proxy); set it only when nothing but the proxy can reach the server, as in `docker-compose.yml`"),
];

/// The environment variable of `key` (the first listed), for messages.
fn variable(key: &str) -> Option<&'static str> {
    SETTINGS.iter().find(|s| s.key == key).and_then(|s| s.env)
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
        "a token secret is not configured: random ones are generated and kept in the data \
         directory for what is missing; set BASIC_TOKEN_SECRET and REFRESH_TOKEN_SECRET (or the \
         config file's `token`) in production"
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
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn file(json: &str) -> FileConfig {
        FileConfig::parse(Path::new("test.json"), json.as_bytes()).unwrap()
    }

    fn exposed(secret: &SecretString) -> &str {
        secret.expose_secret()
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
        let tokens = &settings.tokens;
        assert_ne!(
            exposed(&tokens.basic_secret),
            exposed(&tokens.refresh_secret)
        );
        let again = resolve(FileConfig::default(), &env).unwrap();
        assert_eq!(
            exposed(&again.tokens.basic_secret),
            exposed(&tokens.basic_secret)
        );
        assert_eq!(
            exposed(&again.tokens.refresh_secret),
            exposed(&tokens.refresh_secret)
        );
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
                exposed(&s3.key_id),
                exposed(&s3.key_secret)
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
        assert_eq!(exposed(&settings.tokens.basic_secret), "c");
        assert_eq!(exposed(&settings.tokens.refresh_secret), "b");
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
        let typo = resolve(file(r#"{"databse_url": "x"}"#), &env_of(&[])).unwrap_err();
        assert!(typo.to_string().contains("databse_url"), "{typo}");
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

    /// API.md's settings table, as the declarations make it.
    fn markdown_table() -> String {
        let mut table = String::from(
            "| variable | file key | default | meaning |\n| --- | --- | --- | --- |\n",
        );
        for setting in SETTINGS {
            let variable = setting.env.map_or("–".to_string(), |v| format!("`{v}`"));
            let default = match setting.default {
                Fallback::Derived(how) => how.to_string(),
                value => format!("`{value}`"),
            };
            table.push_str(&format!(
                "| {variable} | `{}` | {default} | {} |\n",
                setting.key, setting.doc
            ));
        }
        table
    }

    fn api_md() -> String {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("API.md")).unwrap()
    }

    #[test]
    fn api_md_lists_every_setting_as_declared_and_nothing_else() {
        let api = api_md();
        let start =
            "<!-- settings table: made from SETTINGS (src/configuration.rs), a test checks it -->";
        let (_, rest) = api
            .split_once(start)
            .expect("API.md marks its settings table");
        let (table, _) = rest
            .split_once("<!-- end of the settings table -->")
            .expect("API.md marks the end of its settings table");
        let expected = markdown_table();
        assert_eq!(
            table.trim(),
            expected.trim(),
            "API.md's settings table differs from SETTINGS; it should read:\n{expected}"
        );
    }

    /// The keys of `value`'s leaves, dotted.
    fn leaf_keys(value: &serde_json::Value, prefix: &str, keys: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(fields) => {
                for (name, inner) in fields {
                    let key = match prefix {
                        "" => name.clone(),
                        _ => format!("{prefix}.{name}"),
                    };
                    leaf_keys(inner, &key, keys);
                }
            }
            _ => keys.push(prefix.to_string()),
        }
    }

    #[test]
    fn the_declarations_name_every_key_of_the_file_and_no_other() {
        let layered: Layered = Figment::from(layers::defaults()).extract().unwrap();
        let mut shape = Vec::new();
        leaf_keys(&serde_json::to_value(&layered).unwrap(), "", &mut shape);
        let mut declared: Vec<String> = SETTINGS.iter().map(|s| s.key.to_string()).collect();
        declared.dedup();
        shape.sort();
        declared.sort();
        assert_eq!(shape, declared);
        let mut variables: Vec<_> = SETTINGS.iter().filter_map(|s| s.env).collect();
        let count = variables.len();
        variables.sort();
        variables.dedup();
        assert_eq!(variables.len(), count, "a variable is declared twice");
    }

    #[test]
    fn the_example_in_api_md_is_a_valid_file_with_every_key() {
        let api = api_md();
        let (_, rest) = api
            .split_once("## Configuration")
            .and_then(|(_, rest)| rest.split_once("```json\n"))
            .expect("API.md's configuration has a JSON example");
        let (example, _) = rest.split_once("```").unwrap();
        let mut keys = Vec::new();
        leaf_keys(&serde_json::from_str(example).unwrap(), "", &mut keys);
        keys.sort();
        let mut declared: Vec<String> = SETTINGS.iter().map(|s| s.key.to_string()).collect();
        declared.sort();
        declared.dedup();
        assert_eq!(keys, declared);
        let settings = resolve(file(example), &env_of(&[])).unwrap();
        assert!(matches!(settings.storage, StorageSettings::S3(_)));
    }

    #[test]
    fn the_declared_defaults_are_the_documented_values() {
        let timeouts = ServerTimeouts::default();
        assert_eq!(
            [
                timeouts.request_head,
                timeouts.request_body,
                timeouts.keep_alive,
                timeouts.disconnect,
                timeouts.shutdown
            ],
            [5, 120, 5, 1, 30].map(Duration::from_secs)
        );
        let care = StorageCare::default();
        assert_eq!(care.sweep_interval, Some(Duration::from_secs(3600)));
        assert_eq!(care.sweep_grace, Duration::from_secs(600));
        assert_eq!(care.reserve_bytes, 64 << 20);
        let limits = Limits::default();
        assert_eq!(
            (limits.program_bytes, limits.inputs_bytes, limits.json_bytes),
            (16 << 20, 8 << 20, 64 << 10)
        );
        assert_eq!(limits.execution_file(), ReadLimits::default());
        let rates = RateSettings::default();
        assert_eq!((rates.login_per_ip, rates.login_per_username), (30, 10));
        assert!(!rates.trust_forwarded_for);
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let env = env_of(&[
            (
                "BASIC_TOKEN_SECRET",
                "basic-0123456789abcdef0123456789abcdef",
            ),
            (
                "REFRESH_TOKEN_SECRET",
                "refresh-0123456789abcdef0123456789abcdef",
            ),
            ("DATABASE_URL", "mysql://root:db-password@h/d"),
            (
                "FILES_STORAGE_CONNECTION_STRING",
                "r:bucket:key-id:key-secret",
            ),
        ]);
        let shown = format!("{:?}", resolve(FileConfig::default(), &env).unwrap());
        for secret in [
            "basic-0123",
            "refresh-0123",
            "db-password",
            "key-id",
            "key-secret",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("bucket"), "{shown}");
    }

    #[test]
    fn variables_are_read_as_their_settings_type() {
        // A secret of digits stays text; a number takes spaces around it; a flag is true/false.
        let digits = "01234567890123456789012345678901234";
        let env = env_of(&[
            ("BASIC_TOKEN_SECRET", digits),
            ("REFRESH_TOKEN_SECRET", "fedcba9876543210fedcba9876543210"),
            ("SERVER_PORT", " 9000 "),
            ("TRUST_X_FORWARDED_FOR", "true"),
            ("SERVER_ADDRESS", "   "),
        ]);
        let settings = resolve(FileConfig::default(), &env).unwrap();
        assert_eq!(exposed(&settings.tokens.basic_secret), digits);
        assert_eq!(settings.server.port, 9000);
        assert_eq!(settings.server.address, "127.0.0.1", "blanks are ignored");
        assert!(settings.rate_limits.trust_forwarded_for);
        let yes = [("TRUST_X_FORWARDED_FOR", "yes")];
        let error = resolve(FileConfig::default(), &env_of(&yes)).unwrap_err();
        assert!(
            error.to_string().contains("TRUST_X_FORWARDED_FOR"),
            "{error}"
        );
        // The file's type errors name the key and the file.
        let error = resolve(file(r#"{"server": {"port": "x"}}"#), &env_of(&[])).unwrap_err();
        let error = error.to_string();
        assert!(
            error.contains("server.port") && error.contains("test.json"),
            "{error}"
        );
    }

    #[test]
    fn either_spelling_of_the_separator_yields_to_the_environment() {
        let env = env_of(&[
            ("ALLOW_WEAK_TOKEN_SECRETS", "true"),
            ("BASIC_TOKEN_SECRET", "a"),
            ("REFRESH_TOKEN_SECRET", "b"),
            ("FILES_STORAGE_ARGUMENTS_SEPARATOR", "|"),
        ]);
        let config = file(
            r#"{"files_storage": {"connection_string": "r|b|k|s", "arguments_separator": ";"}}"#,
        );
        let StorageSettings::S3(s3) = resolve(config, &env).unwrap().storage else {
            panic!("expected S3")
        };
        assert_eq!(s3.bucket, "b");
        let nulls = file(r#"{"server": {"port": null}, "database_url": null}"#);
        assert_eq!(resolve(nulls, &env).unwrap().server.port, 8080);
    }
}
