//! `template`: download the guest program template.

use serde_json::json;

use super::App;
use crate::cli::Template;
use crate::error::{CliError, CliResult};
use crate::state::write_atomic;

pub async fn template(app: &App, args: Template) -> CliResult<i32> {
    let tar = app
        .anonymous
        .template()
        .await
        .map_err(|e| CliError::api("cannot download the template", e))?;
    write_atomic(&args.out, &tar, false)?;
    let mut extracted = Vec::new();
    if let Some(dir) = &args.extract {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io("create", dir, e))?;
        let mut archive = tar::Archive::new(tar.as_slice());
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
    }
    app.out.data(&json!({
        "tar": args.out,
        "bytes": tar.len(),
        "extracted": extracted,
    }));
    app.out.text(format!(
        "wrote the guest template to {} ({} bytes)",
        args.out.display(),
        tar.len()
    ));
    if let Some(dir) = &args.extract {
        app.out.text(format!(
            "unpacked {} file(s) into {}",
            extracted.len(),
            dir.display()
        ));
    }
    Ok(0)
}
