//! Settings, the same way the executor reads them: a JSON file (`src/config/dev.json`, with a
//! checked-in `qa.json` sample), overridden by the environment, overridden by flags.
//!
//! Where the file is looked for, first match wins: `--config PATH`, `UPLOADER_CLIENT_CONFIG`,
//! `src/config/dev.json` under the working directory, `src/config/dev.json` under this crate's
//! source directory. No file at all is fine: the defaults talk to a local server.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{CliError, CliResult};

pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// The config file, every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    program_distributor_url: Option<String>,
    default_page_size: Option<i64>,
    max_page_size: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub program_distributor_url: String,
    pub default_page_size: i64,
    pub max_page_size: i64,
}

impl Settings {
    /// Reads file, then environment, then the `--server` flag.
    pub fn load(config: Option<&Path>, server_flag: Option<&str>) -> CliResult<Self> {
        let path = config
            .map(Path::to_path_buf)
            .or_else(|| env_nonempty("UPLOADER_CLIENT_CONFIG").map(PathBuf::from));
        let file = match path {
            Some(path) => read(&path)?,
            None => match default_file() {
                Some(path) => read(&path)?,
                None => FileConfig::default(),
            },
        };
        let url = server_flag
            .map(str::to_string)
            .or_else(|| env_nonempty("PROGRAM_DISTRIBUTOR_URL"))
            .or(file.program_distributor_url)
            .unwrap_or_else(|| DEFAULT_URL.to_string());
        let url = url.trim().trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(CliError::new(format!(
                "the server URL {url:?} must start with http:// or https://"
            )));
        }
        let (default_page_size, max_page_size) =
            distributor_api::cli::configured_page_sizes(file.default_page_size, file.max_page_size)
                .map_err(|e| {
                    CliError::new(format!("the config file: {e}"))
                        .with_code(crate::error::exit::USAGE)
                        .with_hint("see src/config/qa.json for the expected shape")
                })?;
        Ok(Settings {
            program_distributor_url: url,
            default_page_size,
            max_page_size,
        })
    }

    /// The page size to ask for: `--page-size`, else the default; above the configured maximum
    /// it is an error that says the maximum.
    pub fn page_size(&self, asked: Option<i64>) -> CliResult<i64> {
        let size = asked.unwrap_or(self.default_page_size);
        distributor_api::cli::check_page_size(size, self.max_page_size).map_err(|e| {
            CliError::new(format!("--page-size: {e}")).with_code(crate::error::exit::USAGE)
        })
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn default_file() -> Option<PathBuf> {
    [
        PathBuf::from("src/config/dev.json"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/dev.json"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn read(path: &Path) -> CliResult<FileConfig> {
    let bytes = std::fs::read(path).map_err(|e| CliError::io("read the config file", path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        CliError::new(format!(
            "the config file {} is not valid: {e}",
            path.display()
        ))
        .with_hint("see src/config/qa.json for the expected shape")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_sample_parses() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/qa.json");
        let file = read(&sample).unwrap();
        assert!(file.program_distributor_url.is_some());
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<FileConfig>(r#"{"program_distributor_uri": "x"}"#).is_err());
    }
}
