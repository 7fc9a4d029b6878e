//! `template`: download the guest program template.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::App;
use crate::cli::Template;
use crate::error::{CliError, CliResult};
use crate::state::write_atomic;

/// Where the tar goes when neither --out nor --extract says otherwise.
const DEFAULT_TAR: &str = "guest-template.tar";

pub async fn template(app: &App, args: Template) -> CliResult<i32> {
    let tar = app
        .anonymous
        .template()
        .await
        .map_err(|e| CliError::api("cannot download the template", e))?;
    // The tar is written when asked for, or when it is all there is (no --extract).
    let out = match (&args.out, &args.extract) {
        (Some(out), _) => Some(out.clone()),
        (None, None) => Some(PathBuf::from(DEFAULT_TAR)),
        (None, Some(_)) => None,
    };
    if let Some(out) = &out {
        write_atomic(out, &tar, false)?;
    }
    let extracted = match &args.extract {
        Some(dir) => extract(app, &tar, dir)?,
        None => Vec::new(),
    };
    app.out.data(&json!({
        "tar": out,
        "bytes": tar.len(),
        "extracted": extracted,
    }));
    if let Some(out) = &out {
        app.out.summary(format!(
            "wrote the guest template to {} ({} bytes)",
            out.display(),
            tar.len()
        ));
    }
    if let Some(dir) = &args.extract {
        app.out.summary(format!(
            "unpacked {} file(s) into {}",
            extracted.len(),
            dir.display()
        ));
    }
    Ok(0)
}

/// Unpacks the template tar into `dir`; answers the files written.
fn extract(app: &App, tar: &[u8], dir: &Path) -> CliResult<Vec<PathBuf>> {
    let mut extracted = Vec::new();
    std::fs::create_dir_all(dir).map_err(|e| CliError::io("create", dir, e))?;
    let mut archive = tar::Archive::new(tar);
    let entries = archive
        .entries()
        .map_err(|e| CliError::new(format!("the template is not a readable tar: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| CliError::new(format!("the template tar is damaged: {e}")))?;
        // `unpack_in` refuses paths that would leave `dir` (absolute, `..`).
        let path = entry
            .path()
            .map(|p| p.to_path_buf())
            .map_err(|e| CliError::new(format!("the template tar is damaged: {e}")))?;
        let inside = entry
            .unpack_in(dir)
            .map_err(|e| CliError::io("unpack into", dir, e))?;
        if inside {
            extracted.push(dir.join(path));
        } else {
            app.out.warn(format!(
                "skipped {} (it would land outside {})",
                path.display(),
                dir.display()
            ));
        }
    }
    Ok(extracted)
}
