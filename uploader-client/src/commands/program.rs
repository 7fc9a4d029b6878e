//! `program upload | list | delete | status`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use cairo_stark::CompiledProgram;
use distributor_api::archive::PROGRAM_FILE;
use distributor_api::{Client, PageQuery, Program, ProofPolicy, UploadProgramData};
use serde_json::json;
use uuid::Uuid;

use super::{resolve_program, App};
use crate::cli::{ProgramDelete, ProgramList, ProgramRef, ProgramUpload};
use crate::error::{CliError, CliResult};
use crate::ledger::{self, Entry, Kind};
use crate::output::{stacked_bar, table};

/// Longest lock timeout the server accepts (a week).
const MAX_LOCK_TIMEOUT: i64 = 604_800;

/// What goes into the tar: the compiled program and the Cairo sources found next to it.
struct ProgramFiles {
    json_path: PathBuf,
    sources: Vec<PathBuf>,
    default_name: String,
}

fn find_program(path: &Path) -> CliResult<ProgramFiles> {
    let meta = std::fs::metadata(path).map_err(|e| CliError::io("read", path, e))?;
    if meta.is_file() && path.extension().is_some_and(|e| e == "cairo") {
        return Err(CliError::new(format!(
            "{} is a Cairo source; the server takes the compiled program",
            path.display()
        ))
        .with_hint(
            "compile it first: `cairo-compile x.cairo --output x.json --proof_mode`, then \
             upload x.json (or its folder)",
        ));
    }
    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if meta.is_dir() {
        let entries = list_dir(path)?;
        let jsons: Vec<&PathBuf> = entries
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        let json_path = match entries.iter().find(|p| p.ends_with(PROGRAM_FILE)) {
            Some(p) => p.clone(),
            None => match jsons.as_slice() {
                [one] => (*one).clone(),
                [] => return Err(CliError::new(format!(
                    "{} holds no compiled program (`program.json` or one `.json` file)",
                    path.display()
                ))
                .with_hint(
                    "compile it with `cairo-compile x.cairo --output program.json --proof_mode`",
                )),
                _ => {
                    return Err(CliError::new(format!(
                        "{} holds several `.json` files and no `program.json`",
                        path.display()
                    ))
                    .with_hint("name the compiled program `program.json`, or pass its file"))
                }
            },
        };
        let sources = entries
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "cairo"))
            .cloned()
            .collect();
        let default_name = path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| stem(&json_path));
        Ok(ProgramFiles {
            json_path,
            sources,
            default_name,
        })
    } else {
        let source = path.with_extension("cairo");
        Ok(ProgramFiles {
            json_path: path.to_path_buf(),
            sources: if source.is_file() {
                vec![source]
            } else {
                vec![]
            },
            default_name: stem(path),
        })
    }
}

fn list_dir(path: &Path) -> CliResult<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| CliError::io("list", path, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    Ok(entries)
}

/// The tar the server wants: `program.json` at the root, the sources beside it.
fn build_tar(program_json: &[u8], sources: &[PathBuf]) -> CliResult<Vec<u8>> {
    let mut files = vec![(PROGRAM_FILE.to_string(), program_json.to_vec())];
    for source in sources {
        let bytes = std::fs::read(source).map_err(|e| CliError::io("read", source, e))?;
        let name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == PROGRAM_FILE || name.is_empty() {
            continue;
        }
        files.push((name, bytes));
    }
    distributor_api::archive::write_tar(&files)
        .map_err(|e| CliError::new(format!("cannot build the program tar: {e}")))
}

pub async fn upload(app: &App, args: ProgramUpload) -> CliResult<i32> {
    if !(1..=MAX_LOCK_TIMEOUT).contains(&args.lock_timeout) {
        return Err(CliError::new(format!(
            "--lock-timeout must be between 1 and {MAX_LOCK_TIMEOUT} seconds"
        )));
    }
    let files = find_program(&args.path)?;
    let program_json =
        std::fs::read(&files.json_path).map_err(|e| CliError::io("read", &files.json_path, e))?;
    let program = CompiledProgram::parse(&program_json)
        .map_err(|e| CliError::new(format!("{} is not usable: {e}", files.json_path.display())))?;
    // A program that reads a label but has none at its end is refused by `parse`; one that
    // reads none takes no inputs, which is allowed but rarely meant.
    if program.inputs_label().is_none() {
        app.out.warn(
            "the program reads no input label, so it ignores the values of its input groups \
             (see the guest template: `uploader-client template`)",
        );
    }
    let name = args.name.unwrap_or(files.default_name);
    if name.trim().is_empty() {
        return Err(CliError::new("the program needs a name").with_hint("pass --name NAME"));
    }
    let tar = build_tar(&program_json, &files.sources)?;
    let mut session = app.session()?;
    let mut ledger = app.ledger()?;
    // The copy is kept before the upload, so that no uploaded program lacks one.
    let hash = ledger.store(Kind::Program, &program_json)?;
    let data = UploadProgramData {
        name: name.clone(),
        description: args.description,
        execution_timeout: args.lock_timeout,
        policy: ProofPolicy {
            min_conjectured_security_bits: args.min_security_bits,
            min_provable_security_bits: args.min_provable_bits,
        },
        max_failures: args.max_failures,
    };
    let program_id = session
        .call("cannot upload the program", async |c: &Client| {
            c.upload_program(tar.clone(), &data).await
        })
        .await?;
    ledger.record(Entry::Program {
        program_id,
        name: name.clone(),
        hash: hash.clone(),
        server: ledger.server().to_string(),
        at: ledger::now(),
    })?;
    app.out.data(&json!({
        "program_id": program_id,
        "name": name,
        "program_hash": hash,
        "sources": files.sources,
    }));
    app.out
        .text(format!("uploaded program {name:?}: {program_id}"));
    app.out.next(format!(
        "uploader-client inputs upload {program_id} INPUTS.csv|FOLDER"
    ));
    Ok(0)
}

pub async fn list(app: &App, args: ProgramList) -> CliResult<i32> {
    let mut query = app.page(&args.page)?;
    let page = if args.all {
        if let Some(prefix) = args.name_filter {
            query = query.with_name_filter(prefix);
        }
        app.anonymous
            .all_programs(&query)
            .await
            .map_err(|e| CliError::api("cannot list the programs", e))?
    } else if let Some(organization) = args.organization {
        let id = resolve_organization(app, &organization).await?;
        app.anonymous
            .organization_programs(id, &query)
            .await
            .map_err(|e| CliError::api("cannot list the organization's programs", e))?
    } else {
        let mut session = app.session()?;
        session
            .call("cannot list your programs", async |c: &Client| {
                c.my_programs(&query).await
            })
            .await?
    };
    print_programs(
        app,
        &page.programs,
        page.total_elements_amount,
        &query,
        "program list",
    );
    Ok(0)
}

/// A policy in a few characters: `100c` (conjectured only) or `100c/80p`.
fn policy_text(policy: &ProofPolicy) -> String {
    match policy.min_provable_security_bits {
        0 => format!("{}c", policy.min_conjectured_security_bits),
        provable => format!("{}c/{provable}p", policy.min_conjectured_security_bits),
    }
}

/// A page of programs (`command` is the listing's, for the `next:` hint of the next page).
pub fn print_programs(
    app: &App,
    programs: &[Program],
    total: i64,
    query: &PageQuery,
    command: &str,
) {
    app.out.data(&json!({
        "programs": programs,
        "total_elements_amount": total,
        "page": query.page,
        "limit": query.limit,
    }));
    if total == 0 {
        app.out.text("no programs");
        return;
    }
    let rows: Vec<Vec<String>> = programs
        .iter()
        .map(|p| {
            vec![
                p.program_id.to_string(),
                p.name.clone(),
                format!("{}s", p.input_lock_timeout),
                policy_text(&p.policy),
                p.description.clone(),
            ]
        })
        .collect();
    app.out.text(table(
        &["PROGRAM ID", "NAME", "LOCK", "MIN BITS", "DESCRIPTION"],
        &rows,
    ));
    app.footer("program", query, total, command);
}

/// An organization by id, or by exact name (looked up with the name prefix filter).
async fn resolve_organization(app: &App, reference: &str) -> CliResult<Uuid> {
    if let Some(id) = distributor_api::cli::as_id(reference) {
        return Ok(id);
    }
    let named = distributor_api::cli::walk_pages(async |query: PageQuery| {
        let page = app
            .anonymous
            .organizations(&query.with_name_filter(reference))
            .await?;
        Ok((page.organizations, page.total_elements_amount))
    })
    .await
    .map_err(|e| CliError::api("cannot list the organizations", e))?;
    let candidates = named.iter().map(|o| (o.organization_id, o.name.as_str()));
    distributor_api::cli::pick_by_name("organization", reference, candidates)
        .map_err(|e| CliError::name(e, "list them with `uploader-client program list --all`"))
}

pub async fn delete(app: &App, args: ProgramDelete) -> CliResult<i32> {
    let mut session = app.session()?;
    let mut ledger = app.ledger()?;
    let id = resolve_program(Some(&mut session), &ledger, &args.program).await?;
    if !args.yes {
        confirm(&format!(
            "delete program {id} with all its input groups and proofs?"
        ))?;
    }
    session
        .call("cannot delete the program", async |c: &Client| {
            c.delete_program(id).await
        })
        .await?;
    if ledger.program(id).is_some() {
        ledger.record(Entry::ProgramDeleted {
            program_id: id,
            at: ledger::now(),
        })?;
    }
    app.out.data(&json!({"deleted": id}));
    app.out.summary(format!("deleted program {id}"));
    Ok(0)
}

/// Asks on the terminal; without one, refuses (scripts pass `--yes`).
fn confirm(question: &str) -> CliResult<()> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new("refusing to delete without confirmation")
            .with_hint("pass --yes to confirm"));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::new(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(CliError::new("cancelled"))
    }
}

pub async fn status(app: &App, args: ProgramRef) -> CliResult<i32> {
    let mut session = app.session()?;
    let ledger = app.ledger()?;
    let id = resolve_program(Some(&mut session), &ledger, &args.program).await?;
    let status = session
        .call("cannot read the program's status", async |c: &Client| {
            c.program_status(id).await
        })
        .await?;
    app.out.data(&status);
    let name = ledger
        .program(id)
        .map(|p| format!("{:?} ", p.name))
        .unwrap_or_default();
    let bar = stacked_bar(
        &[
            (status.confirmed, '#'),
            (status.proven, '+'),
            (status.executed, '*'),
            (status.reserved, '~'),
            (status.uploaded, ' '),
            (status.failed, '!'),
        ],
        40,
    );
    let done = if status.total > 0 {
        100 * status.confirmed / status.total
    } else {
        0
    };
    // Executions only exist when donors run in execution-only mode.
    let executed = if status.executed > 0 {
        format!("   * executed (to prove) {}", status.executed)
    } else {
        String::new()
    };
    // Failed groups need the organization's attention, so they show whenever there are any.
    let failed = if status.failed > 0 {
        format!("   ! failed {}", status.failed)
    } else {
        String::new()
    };
    app.out.text(format!(
        "program {name}{id}: {} input group(s)\n[{bar}] {done}% confirmed\n\
         # confirmed {}   + proven (to verify) {}{executed}   ~ reserved {}   (blank) waiting {}\
         {failed}\n\
         proofs need at least {} bits conjectured, {} bits provable",
        status.total,
        status.confirmed,
        status.proven,
        status.reserved,
        status.uploaded,
        status.policy.min_conjectured_security_bits,
        status.policy.min_provable_security_bits
    ));
    if status.proven > 0 {
        app.out.next(format!("uploader-client proofs verify {id}"));
    }
    if status.failed > 0 {
        app.out.next(format!(
            "see why with `uploader-client inputs list {id}`, fix the program or the \
             inputs, then `uploader-client inputs retry {id} GROUP…`"
        ));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_tar_has_program_json_at_its_root_and_the_sources() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("guest.cairo");
        std::fs::write(&source, "func main() {}").unwrap();
        let tar = build_tar(b"{}", &[source]).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut content = String::new();
            entry.read_to_string(&mut content).unwrap();
            names.push((name, content));
        }
        assert_eq!(
            names,
            vec![
                ("program.json".into(), "{}".into()),
                ("guest.cairo".into(), "func main() {}".into())
            ]
        );
    }

    #[test]
    fn a_folder_with_one_json_and_a_source_is_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("job.json"), "{}").unwrap();
        std::fs::write(dir.path().join("job.cairo"), "").unwrap();
        let files = find_program(dir.path()).unwrap();
        assert!(files.json_path.ends_with("job.json"));
        assert_eq!(files.sources.len(), 1);
        std::fs::write(dir.path().join("other.json"), "{}").unwrap();
        assert!(find_program(dir.path()).is_err());
    }
}
