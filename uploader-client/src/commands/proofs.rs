//! `proofs list | verify`.
//!
//! `verify` trusts only the ledger: the program and each input group are read back from the
//! stored copies made at upload time (checked against their hashes), never from the proof or the
//! server. For each waiting proof, in this order:
//! 1. result already in the results file (an earlier run stopped before confirming): confirm;
//! 2. download, verify locally;
//! 3. valid: append the outputs to the results file and fsync, *then* confirm (`DELETE`);
//!    invalid: reject (`PATCH`, the job is offered again) and log why in `rejected.jsonl`.
//!
//! Killing the process at any point loses nothing: a result is on disk before the server forgets
//! the proof, and a rerun confirms what was saved without writing it twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use cairo_stark::inputs::parse_csv;
use cairo_stark::CompiledProgram;
use distributor_api::{Client, ErrorCode, InputGroup, PageQuery};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{all_pages, resolve_program, App};
use crate::cli::{ProofsList, ProofsVerify};
use crate::error::{exit, CliError, CliResult};
use crate::ledger::{self, Kind, Ledger};
use crate::output::table;
use crate::results::{default_path, ResultLine, ResultsFile};
use crate::session::Session;
use crate::state::{append_line, FileLock};

pub async fn list(app: &App, args: ProofsList) -> CliResult<i32> {
    let mut session = app.session()?;
    let query = app.page(&args.page)?;
    match args.program {
        None => {
            let page = session
                .call(
                    "cannot list the programs with proofs",
                    async |c: &Client| c.programs_with_proofs(&query).await,
                )
                .await?;
            if page.programs.is_empty() && !app.out.json {
                app.out.text("no proofs waiting");
                return Ok(0);
            }
            super::program::print_programs(app, &page.programs, page.total_elements_amount, &query);
            app.out
                .note("verify them with `uploader-client proofs verify [PROGRAM]`");
        }
        Some(reference) => {
            let ledger = app.ledger()?;
            let program_id = resolve_program(app, Some(&mut session), &ledger, &reference).await?;
            let page = session
                .call("cannot list the proven input groups", async |c: &Client| {
                    c.proven_input_groups(program_id, &query).await
                })
                .await?;
            app.out.data(&page);
            if page.program_input_groups.is_empty() {
                app.out.text("no proofs waiting");
                return Ok(0);
            }
            let rows: Vec<Vec<String>> = page
                .program_input_groups
                .iter()
                .map(|g| {
                    vec![
                        g.input_group_id.to_string(),
                        g.name.clone(),
                        g.proven_datetime
                            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            app.out
                .text(table(&["INPUT GROUP ID", "NAME", "PROVEN AT"], &rows));
            app.out
                .text(format!("{} proof(s) waiting", page.total_elements_amount));
        }
    }
    Ok(0)
}

/// What happened to the proofs of one program.
#[derive(Debug, Default, Serialize)]
struct Summary {
    program_id: Uuid,
    results_file: String,
    /// Verified now, result saved and proof confirmed.
    verified: usize,
    /// Saved by an earlier, interrupted run; confirmed now.
    confirmed_earlier_results: usize,
    rejected: Vec<Rejection>,
    /// Could not be checked here (not in the ledger, or the proof vanished meanwhile).
    skipped: Vec<Skip>,
}

#[derive(Debug, Serialize)]
struct Rejection {
    input_group_id: Uuid,
    name: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct Skip {
    input_group_id: Option<Uuid>,
    reason: String,
}

pub async fn verify(app: &App, args: ProofsVerify) -> CliResult<i32> {
    app.state.ensure()?;
    let _lock = FileLock::try_acquire(&app.state.verify_lock(), "`proofs verify`")?;
    let mut session = app.session()?;
    let ledger = app.ledger()?;

    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, Ordering::SeqCst);
                eprintln!(
                    "\ninterrupted: finishing the proof in progress, then stopping \
                     (Ctrl-C again to stop at once: nothing saved is lost)"
                );
                // Stopping at once is safe too: a result is fsynced before its proof is
                // confirmed, and a rerun confirms what was saved.
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(exit::INTERRUPTED);
                }
            }
        });
    }

    let programs = match &args.program {
        Some(reference) => {
            vec![resolve_program(app, Some(&mut session), &ledger, reference).await?]
        }
        None => all_pages(
            &mut session,
            "cannot list the programs with proofs",
            app.settings.max_page_size as i64,
            async |c: &Client, q: PageQuery| {
                c.programs_with_proofs(&q)
                    .await
                    .map(|p| (p.programs, p.total_elements_amount))
            },
        )
        .await?
        .into_iter()
        .map(|p| p.program_id)
        .collect(),
    };
    if programs.is_empty() {
        app.out.data(&json!({"programs": []}));
        app.out.text("no proofs waiting");
        return Ok(0);
    }

    let mut summaries = Vec::new();
    for program_id in programs {
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
        let results_path = args
            .results
            .clone()
            .unwrap_or_else(|| default_path(&app.state, program_id));
        let summary = verify_program(
            app,
            &mut session,
            &ledger,
            program_id,
            &results_path,
            args.min_security_bits,
            &interrupted,
        )
        .await?;
        summaries.push(summary);
    }

    let verified: usize = summaries.iter().map(|s| s.verified).sum();
    let earlier: usize = summaries.iter().map(|s| s.confirmed_earlier_results).sum();
    let rejected: usize = summaries.iter().map(|s| s.rejected.len()).sum();
    let skipped: usize = summaries.iter().map(|s| s.skipped.len()).sum();
    let stopped = interrupted.load(Ordering::SeqCst);
    app.out
        .data(&json!({"programs": summaries, "interrupted": stopped}));
    if !app.out.json {
        for s in &summaries {
            app.out.text(format!(
                "program {}: {} verified and confirmed, {} confirmed from earlier results, \
                 {} rejected, {} skipped; results in {}",
                s.program_id,
                s.verified,
                s.confirmed_earlier_results,
                s.rejected.len(),
                s.skipped.len(),
                s.results_file
            ));
        }
    }
    if stopped {
        return Err(CliError::new(format!(
            "interrupted after {verified} verified and {earlier} earlier results confirmed"
        ))
        .with_hint("run the same command again to go on: nothing saved is lost or duplicated")
        .with_code(exit::INTERRUPTED));
    }
    if skipped > 0 {
        return Err(CliError::new(format!(
            "{skipped} proof(s) could not be verified here and were left waiting"
        ))
        .with_hint("see the warnings above; proofs of input groups missing from this machine's ledger cannot be checked"));
    }
    Ok(if rejected > 0 { exit::REJECTED } else { 0 })
}

async fn verify_program(
    app: &App,
    session: &mut Session,
    ledger: &Ledger,
    program_id: Uuid,
    results_path: &std::path::Path,
    min_security_bits: u32,
    interrupted: &AtomicBool,
) -> CliResult<Summary> {
    let mut summary = Summary {
        program_id,
        results_file: results_path.display().to_string(),
        ..Summary::default()
    };
    let Some(record) = ledger.program(program_id) else {
        app.out.warn(format!(
            "program {program_id} is not in this machine's ledger: its proofs cannot be \
             verified here and were left waiting"
        ));
        summary.skipped.push(Skip {
            input_group_id: None,
            reason: "program not in the ledger".into(),
        });
        return Ok(summary);
    };
    let program_json = ledger.load_stored(Kind::Program, &record.hash)?;
    let program = Arc::new(CompiledProgram::parse(&program_json).map_err(|e| {
        CliError::new(format!(
            "the local copy of program {program_id} does not parse: {e}"
        ))
    })?);
    let mut results = ResultsFile::open(results_path)?;
    if results.broken_lines > 0 {
        app.out.warn(format!(
            "{} unreadable line(s) in {} were skipped",
            results.broken_lines,
            results_path.display()
        ));
    }

    // A snapshot of the waiting proofs: confirming shrinks the listing while we page through it.
    let groups: Vec<InputGroup> = all_pages(
        session,
        "cannot list the proven input groups",
        app.settings.max_page_size as i64,
        async |c: &Client, q: PageQuery| {
            c.proven_input_groups(program_id, &q)
                .await
                .map(|p| (p.program_input_groups, p.total_elements_amount))
        },
    )
    .await?;
    let bar = app.out.progress(groups.len() as u64, "verifying");
    for group in groups {
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
        bar.set_message(group.name.clone());
        let group_id = group.input_group_id;

        if results.contains(group_id) {
            confirm(session, program_id, group_id).await?;
            summary.confirmed_earlier_results += 1;
            bar.inc(1);
            continue;
        }

        let Some(inputs_record) = ledger.input_group(program_id, group_id) else {
            bar.suspend(|| {
                app.out.warn(format!(
                    "input group {group_id} ({:?}) is not in this machine's ledger: left waiting",
                    group.name
                ))
            });
            summary.skipped.push(Skip {
                input_group_id: Some(group_id),
                reason: "input group not in the ledger".into(),
            });
            bar.inc(1);
            continue;
        };
        let name = inputs_record.name.clone();
        let inputs_csv = ledger.load_stored(Kind::Inputs, &inputs_record.hash)?;
        let inputs = parse_csv(&inputs_csv).map_err(|e| {
            CliError::new(format!(
                "the local copy of input group {group_id} does not parse: {e}"
            ))
        })?;

        let proof = match session
            .try_call(async |c: &Client| c.proof(program_id, group_id).await)
            .await?
        {
            Ok(bytes) => bytes,
            Err(e) if e.code() == Some(ErrorCode::ProofNotFound) => {
                summary.skipped.push(Skip {
                    input_group_id: Some(group_id),
                    reason: "the proof was confirmed or rejected meanwhile".into(),
                });
                bar.inc(1);
                continue;
            }
            Err(e) => return Err(CliError::api("cannot download a proof", e)),
        };

        let checked_program = program.clone();
        let verdict = tokio::task::spawn_blocking(move || {
            cairo_stark::verify(&proof, &checked_program, &inputs, min_security_bits)
        })
        .await
        .map_err(|e| CliError::new(format!("the verifier crashed: {e}")))?;

        match verdict {
            Ok(verified) => {
                let line = ResultLine {
                    program_id,
                    input_group_id: group_id,
                    name: name.clone(),
                    outputs: verified
                        .outputs
                        .iter()
                        .map(cairo_stark::inputs::to_decimal)
                        .collect(),
                    steps: verified.steps,
                    security_bits: verified.security_bits,
                    verified_at: ledger::now(),
                };
                // Saved and fsynced first: only then may the server forget the proof.
                results.append(line)?;
                confirm(session, program_id, group_id).await?;
                summary.verified += 1;
                bar.suspend(|| app.out.note(format!("verified  {name}  {group_id}")));
            }
            Err(reason) => {
                let reason = reason.to_string();
                reject(session, program_id, group_id).await?;
                let entry = json!({
                    "program_id": program_id,
                    "input_group_id": group_id,
                    "name": name,
                    "reason": reason,
                    "at": ledger::now(),
                });
                append_line(&app.state.rejected_file(), &entry.to_string())?;
                bar.suspend(|| {
                    app.out
                        .warn(format!("rejected {name} ({group_id}): {reason}"))
                });
                summary.rejected.push(Rejection {
                    input_group_id: group_id,
                    name,
                    reason,
                });
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// Confirms a proof; one that is gone already (confirmed by an earlier run) is fine.
async fn confirm(session: &mut Session, program_id: Uuid, group_id: Uuid) -> CliResult<()> {
    match session
        .try_call(async |c: &Client| c.confirm_proof(program_id, group_id).await)
        .await?
    {
        Ok(()) => Ok(()),
        Err(e) if e.code() == Some(ErrorCode::ProofNotFound) => Ok(()),
        Err(e) => Err(CliError::api("cannot confirm a proof", e)),
    }
}

/// Rejects a proof; one that is gone already is fine.
async fn reject(session: &mut Session, program_id: Uuid, group_id: Uuid) -> CliResult<()> {
    match session
        .try_call(async |c: &Client| c.reject_proof(program_id, group_id).await)
        .await?
    {
        Ok(()) => Ok(()),
        Err(e) if e.code() == Some(ErrorCode::ProofNotFound) => Ok(()),
        Err(e) => Err(CliError::api("cannot reject a proof", e)),
    }
}
