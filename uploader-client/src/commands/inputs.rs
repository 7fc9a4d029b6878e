//! `inputs upload | list | delete | retry`.

use std::path::{Path, PathBuf};

use cairo_stark::inputs::{parse_csv, to_csv};
use distributor_api::{Client, InputGroup, UploadInputsData};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{resolve_groups, resolve_program, App};
use crate::cli::{InputsDelete, InputsList, InputsRetry, InputsUpload};
use crate::error::{exit, CliError, CliResult};
use crate::ledger::{self, Entry, Kind};
use crate::output::table;
use crate::results::{default_path, ResultsFile};

#[derive(Debug, Serialize)]
struct Uploaded {
    file: PathBuf,
    name: String,
    /// `uploaded`, `already uploaded` or `failed`.
    outcome: &'static str,
    input_group_id: Option<Uuid>,
    error: Option<String>,
}

/// The CSV files named: files as given, folders by their `.csv` entries in name order.
fn collect_csvs(paths: &[PathBuf]) -> CliResult<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| CliError::io("read", path, e))?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| CliError::io("list", path, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "csv"))
                .collect();
            if found.is_empty() {
                return Err(CliError::new(format!(
                    "{} holds no .csv file",
                    path.display()
                )));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `inputs upload`: uploads CSV files as input groups of a program this machine's ledger
/// holds; a file that fails is reported and the others go on.
pub async fn upload(app: &App, args: InputsUpload) -> CliResult<i32> {
    let files = collect_csvs(&args.paths)?;
    if args.name.is_some() && files.len() != 1 {
        return Err(CliError::new("--name needs exactly one CSV file"));
    }
    let mut session = app.session()?;
    let mut ledger = app.ledger()?;
    let program_id = resolve_program(Some(&mut session), &ledger, &args.program).await?;
    if ledger.program(program_id).is_none() {
        return Err(CliError::new(format!(
            "program {program_id} is not in this machine's ledger, so its proofs could not be \
             verified here"
        ))
        .with_hint("upload input groups from the state directory the program was uploaded from"));
    }
    let bar = app.out.progress(files.len() as u64, "uploading");
    let mut report = Vec::new();
    for file in &files {
        let name = args.name.clone().unwrap_or_else(|| stem(file));
        bar.set_message(name.clone());
        let outcome = upload_one(
            app,
            &mut session,
            &mut ledger,
            program_id,
            file,
            &name,
            args.force,
        )
        .await;
        let entry = match upload_entry(file, name, outcome) {
            Ok(entry) => entry,
            Err(e) => {
                bar.finish_and_clear();
                return Err(e);
            }
        };
        bar.suspend(|| show_entry(app, &entry));
        bar.inc(1);
        report.push(entry);
    }
    bar.finish_and_clear();
    upload_summary(app, program_id, &report)
}

/// The report entry of one file's upload; an error that stops the batch is passed on.
fn upload_entry(
    file: &Path,
    name: String,
    outcome: CliResult<(Uuid, bool)>,
) -> CliResult<Uploaded> {
    Ok(match outcome {
        Ok((id, fresh)) => Uploaded {
            file: file.to_path_buf(),
            name,
            outcome: if fresh {
                "uploaded"
            } else {
                "already uploaded"
            },
            input_group_id: Some(id),
            error: None,
        },
        // Losing the server or the session stops the batch: the rest would fail the same way.
        Err(e) if [exit::AUTH, exit::UNREACHABLE].contains(&e.code) => return Err(e),
        Err(e) => Uploaded {
            file: file.to_path_buf(),
            name,
            outcome: "failed",
            input_group_id: None,
            error: Some(e.message),
        },
    })
}

/// One file's line: its outcome and group id, or a warning with its error.
fn show_entry(app: &App, entry: &Uploaded) {
    match (&entry.input_group_id, &entry.error) {
        (Some(id), _) => app.out.note(format!(
            "{:>16}  {}  {id}",
            entry.outcome,
            entry.file.display()
        )),
        (None, Some(error)) => app.out.warn(format!("{}: {error}", entry.file.display())),
        _ => {}
    }
}

/// The batch's counts and entries; an error when any file failed.
fn upload_summary(app: &App, program_id: Uuid, report: &[Uploaded]) -> CliResult<i32> {
    let count = |o: &str| report.iter().filter(|r| r.outcome == o).count();
    let (uploaded, skipped, failed) = (
        count("uploaded"),
        count("already uploaded"),
        count("failed"),
    );
    app.out.data(&json!({
        "program_id": program_id,
        "uploaded": uploaded,
        "already_uploaded": skipped,
        "failed": failed,
        "files": report,
    }));
    app.out.summary(format!(
        "{uploaded} input group(s) uploaded, {skipped} already uploaded, {failed} failed \
         (program {program_id})"
    ));
    if failed > 0 {
        return Err(
            CliError::new(format!("{failed} file(s) could not be uploaded"))
                .with_hint("fix them and run the same command again: what was uploaded is skipped"),
        );
    }
    Ok(0)
}

/// Uploads one CSV unless the ledger has it already. Returns the id and whether it is new.
async fn upload_one(
    app: &App,
    session: &mut crate::session::Session,
    ledger: &mut ledger::Ledger,
    program_id: Uuid,
    file: &Path,
    name: &str,
    force: bool,
) -> CliResult<(Uuid, bool)> {
    let raw = std::fs::read(file).map_err(|e| CliError::io("read", file, e))?;
    let values = parse_csv(&raw).map_err(|e| CliError::new(format!("not an input CSV: {e}")))?;
    // What is uploaded, kept and later verified against is the canonical form.
    let canonical = to_csv(&values).into_bytes();
    let hash = ledger.store(Kind::Inputs, &canonical)?;
    if !force {
        if let Some(existing) = ledger.find_inputs(program_id, name, &hash) {
            return Ok((existing.input_group_id, false));
        }
    }
    let data = UploadInputsData {
        name: name.to_string(),
    };
    let id = session
        .call("cannot upload the input group", async |c: &Client| {
            c.upload_inputs(program_id, canonical.clone(), &data).await
        })
        .await?;
    ledger.record(Entry::Inputs {
        program_id,
        input_group_id: id,
        name: name.to_string(),
        hash,
        server: app.settings.program_distributor_url.clone(),
        at: ledger::now(),
    })?;
    Ok((id, true))
}

pub async fn list(app: &App, args: InputsList) -> CliResult<i32> {
    let mut session = app.session()?;
    let ledger = app.ledger()?;
    let program_id = resolve_program(Some(&mut session), &ledger, &args.program).await?;
    let query = app.page(&args.page)?;
    let page = session
        .call("cannot list the input groups", async |c: &Client| {
            c.input_groups(program_id, &query).await
        })
        .await?;
    app.out.data(&page);
    if page.total_elements_amount == 0 {
        app.out.text("no input groups");
        return Ok(0);
    }
    // The server says which groups are reserved or executed right now; the local results file
    // tells which proven groups this machine has verified.
    let results = ResultsFile::open(&default_path(&app.state, program_id))?;
    let rows: Vec<Vec<String>> = page
        .program_input_groups
        .iter()
        .map(|g| {
            let state = if g.proven_datetime.is_some() {
                if results.contains(g.input_group_id) {
                    "verified"
                } else {
                    "proven"
                }
            } else if g.failed {
                "failed"
            } else if g.reserved_until.is_some() {
                "reserved"
            } else if g.executed {
                "executed"
            } else {
                "waiting"
            };
            let known = if ledger.input_group(program_id, g.input_group_id).is_some() {
                "yes"
            } else {
                "no"
            };
            vec![
                g.input_group_id.to_string(),
                g.name.clone(),
                state.to_string(),
                g.failures.to_string(),
                known.to_string(),
                last_failure(g),
            ]
        })
        .collect();
    app.out.text(table(
        &[
            "INPUT GROUP ID",
            "NAME",
            "STATE",
            "FAILURES",
            "IN LEDGER",
            "LAST FAILURE",
        ],
        &rows,
    ));
    if page.program_input_groups.iter().any(|g| g.failed) {
        app.out.next(format!(
            "failed groups are not handed out; fix the cause, then \
             `uploader-client inputs retry {program_id} GROUP…` (full reasons: --json)"
        ));
    }
    app.footer(
        "input group",
        &query,
        page.total_elements_amount,
        &format!("inputs list {}", args.program),
    );
    Ok(0)
}

/// The latest failure report of a group as one short line: its reason and the first line of
/// its message (empty when it has none).
fn last_failure(group: &InputGroup) -> String {
    group
        .failure_reasons
        .last()
        .map(|f| {
            let first = f.message.lines().next().unwrap_or_default();
            let short: String = first.chars().take(60).collect();
            let cut = if short.len() < first.len() { "…" } else { "" };
            format!("{}: {short}{cut}", f.reason)
        })
        .unwrap_or_default()
}

pub async fn delete(app: &App, args: InputsDelete) -> CliResult<i32> {
    let mut session = app.session()?;
    let mut ledger = app.ledger()?;
    let program_id = resolve_program(Some(&mut session), &ledger, &args.program).await?;
    let ids = resolve_groups(&mut session, program_id, &args.input_groups).await?;
    for id in &ids {
        let id = *id;
        session
            .call("cannot delete the input group", async |c: &Client| {
                c.delete_input_group(program_id, id).await
            })
            .await?;
        if ledger.input_group(program_id, id).is_some() {
            ledger.record(Entry::InputsDeleted {
                program_id,
                input_group_id: id,
                at: ledger::now(),
            })?;
        }
        app.out.summary(format!("deleted input group {id}"));
    }
    app.out
        .data(&json!({"program_id": program_id, "deleted": ids}));
    Ok(0)
}

pub async fn retry(app: &App, args: InputsRetry) -> CliResult<i32> {
    let mut session = app.session()?;
    let ledger = app.ledger()?;
    let program_id = resolve_program(Some(&mut session), &ledger, &args.program).await?;
    let ids = resolve_groups(&mut session, program_id, &args.input_groups).await?;
    let mut groups = Vec::new();
    for id in ids {
        let group = session
            .call("cannot retry the input group", async |c: &Client| {
                c.retry_input_group(program_id, id).await
            })
            .await?;
        app.out.summary(if group.proven_datetime.is_some() {
            format!("input group {id} ({}) is proven already", group.name)
        } else {
            format!("input group {id} ({}) is handed out again", group.name)
        });
        groups.push(group);
    }
    app.out
        .data(&json!({"program_id": program_id, "retried": groups}));
    Ok(0)
}
