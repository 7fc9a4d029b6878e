//! Settings: the spec's JSON file (`src/config/dev.json`), overridden by the environment
//! (`PROGRAM_DISTRIBUTOR_URL`, `EXECUTOR_CPUS`), overridden by the command-line flags.
//!
//! clap already merges the flags over the environment (each flag names its variable); this
//! module puts the result over the file and the defaults and validates it, so that nothing
//! invalid reaches the rest of the client.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::exit::AppError;

/// Where the server runs when nothing says otherwise (the server's own default).
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";
/// Where the spec puts the config file, relative to the working directory.
pub const CONFIG_FILE: &str = "src/config/dev.json";

/// The config file as written; every field is optional, unknown fields are refused so that a
/// typo does not go unnoticed.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub program_distributor_url: Option<String>,
    pub default_page_size: Option<i64>,
    pub max_page_size: Option<i64>,
}

/// Validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Base URL without a trailing slash.
    pub server_url: String,
    pub default_page_size: i64,
    pub max_page_size: i64,
}

/// The config file to read: the one named (flag or `EXECUTOR_CONFIG`), else `src/config/dev.json`
/// in the working directory, else the one in this crate's source tree (for `cargo run` from
/// elsewhere in the workspace), else none.
pub fn config_path(named: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = named {
        return Some(path.to_path_buf());
    }
    [
        PathBuf::from(CONFIG_FILE),
        Path::new(env!("CARGO_MANIFEST_DIR")).join(CONFIG_FILE),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

pub fn read_file(path: &Path) -> Result<FileConfig, AppError> {
    let text = std::fs::read(path).map_err(|e| {
        AppError::usage(format!(
            "cannot read the config file {}: {e}",
            path.display()
        ))
        .with_hint("check the path given with --config or EXECUTOR_CONFIG")
    })?;
    serde_json::from_slice(&text).map_err(|e| {
        AppError::usage(format!(
            "the config file {} is not valid: {e}",
            path.display()
        ))
        .with_hint("see src/config/qa.json for the expected fields")
    })
}

/// Loads the file (if any) and puts `server_flag` (flag or environment) over it.
pub fn load(named: Option<&Path>, server_flag: Option<&str>) -> Result<Settings, AppError> {
    let file = match config_path(named) {
        Some(path) => read_file(&path)?,
        None => FileConfig::default(),
    };
    resolve(file, server_flag)
}

pub fn resolve(file: FileConfig, server_flag: Option<&str>) -> Result<Settings, AppError> {
    let url = server_flag
        .map(str::to_string)
        .filter(|u| !u.trim().is_empty())
        .or(file.program_distributor_url)
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    let server_url = check_url(&url)?;
    let (default_page_size, max_page_size) =
        distributor_api::cli::configured_page_sizes(file.default_page_size, file.max_page_size)
            .map_err(AppError::usage)?;
    Ok(Settings {
        server_url,
        default_page_size,
        max_page_size,
    })
}

fn check_url(url: &str) -> Result<String, AppError> {
    let trimmed = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed).map_err(|e| {
        AppError::usage(format!("the server URL {url:?} is not valid: {e}"))
            .with_hint("give it as http://HOST:PORT with --server or PROGRAM_DISTRIBUTOR_URL")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(AppError::usage(format!(
            "the server URL {url:?} must start with http:// or https:// and name a host"
        )));
    }
    Ok(trimmed.to_string())
}

impl Settings {
    /// The page size to ask for: the flag's, else the default; above the configured maximum
    /// it is an error that says the maximum.
    pub fn page_size(&self, flag: Option<i64>) -> Result<i64, AppError> {
        let size = flag.unwrap_or(self.default_page_size);
        distributor_api::cli::check_page_size(size, self.max_page_size)
            .map_err(|e| AppError::usage(format!("--page-size: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(json: &str) -> FileConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn no_file_gives_the_defaults() {
        let settings = resolve(FileConfig::default(), None).unwrap();
        assert_eq!(settings.server_url, DEFAULT_URL);
        assert_eq!(settings.default_page_size, 10);
        assert_eq!(settings.max_page_size, 50);
    }

    #[test]
    fn the_flag_or_environment_overrides_the_file() {
        let config = file(r#"{"program_distributor_url": "http://file:1/"}"#);
        assert_eq!(resolve(config, None).unwrap().server_url, "http://file:1");
        let config = file(r#"{"program_distributor_url": "http://file:1/"}"#);
        let settings = resolve(config, Some("https://flag.example:9")).unwrap();
        assert_eq!(settings.server_url, "https://flag.example:9");
    }

    #[test]
    fn bad_values_are_refused_with_their_name() {
        let error = resolve(file(r#"{"max_page_size": 80}"#), None).unwrap_err();
        assert!(error.message.contains("max_page_size"), "{}", error.message);
        let error = resolve(
            file(r#"{"default_page_size": 20, "max_page_size": 5}"#),
            None,
        )
        .unwrap_err();
        assert!(
            error.message.contains("default_page_size"),
            "{}",
            error.message
        );
        assert!(resolve(FileConfig::default(), Some("ftp://x")).is_err());
        assert!(resolve(FileConfig::default(), Some("not a url")).is_err());
        assert!(serde_json::from_str::<FileConfig>(r#"{"program_distributer_url": "x"}"#).is_err());
    }

    #[test]
    fn page_sizes_stay_within_the_maximum() {
        let settings = resolve(
            file(r#"{"default_page_size": 3, "max_page_size": 7}"#),
            None,
        )
        .unwrap();
        assert_eq!(settings.page_size(None).unwrap(), 3);
        assert_eq!(settings.page_size(Some(7)).unwrap(), 7);
        assert!(settings.page_size(Some(8)).is_err());
    }

    #[test]
    fn the_checked_in_sample_parses() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/qa.json");
        let config = read_file(&sample).unwrap();
        resolve(config, None).unwrap();
    }
}
