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

use cairo_stark::format::FORMAT_VERSION;
use cairo_stark::inputs::parse_csv;
use cairo_stark::{CompiledProgram, Felt, FormatError, SecurityPolicy, Verified, VerifyError};
use distributor_api::{
    Client, ErrorCode, InputGroup, PageQuery, ProofPolicy, ProofVersionMismatch,
};
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{all_pages, resolve_program, App};
use crate::cli::{ProofsDecide, ProofsList, ProofsVerify};
use crate::error::{exit, CliError, CliResult};
use crate::ledger::{self, Kind, Ledger};
use crate::output::table;
use crate::recheck::{recheck, Mismatch, Sampler};
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
            super::program::print_programs(
                app,
                &page.programs,
                page.total_elements_amount,
                &query,
                "proofs list",
            );
            app.out.next("uploader-client proofs verify [PROGRAM]");
        }
        Some(reference) => {
            let ledger = app.ledger()?;
            let program_id = resolve_program(Some(&mut session), &ledger, &reference).await?;
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
    /// The least security required (the program's policy, or the flags that override it).
    policy: ProofPolicy,
    /// Verified now, result saved and proof confirmed.
    verified: usize,
    verified_groups: Vec<VerifiedGroup>,
    /// Saved by an earlier, interrupted run; confirmed now.
    confirmed_earlier_results: usize,
    rejected: Vec<Rejection>,
    /// Could not be checked here (not in the ledger, or the proof vanished meanwhile).
    skipped: Vec<Skip>,
    /// With `--recheck`: the re-executions.
    #[serde(skip_serializing_if = "Option::is_none")]
    recheck: Option<RecheckSummary>,
}

#[derive(Debug, Serialize)]
struct VerifiedGroup {
    input_group_id: Uuid,
    name: String,
    security_bits: u32,
    provable_security_bits: u32,
    /// Re-executed (`--recheck`) and found to agree.
    rechecked: bool,
}

#[derive(Debug, Default, Serialize)]
struct RecheckSummary {
    fraction: f64,
    /// Verified groups re-executed in cairo-vm.
    rechecked: usize,
    /// Verified proofs a re-execution contradicted (rejected; also listed in `rejected`).
    mismatches: Vec<Rejection>,
}

/// What became of one downloaded proof.
enum Verdict {
    /// Verified (and, when `rechecked`, re-executed with the same result).
    Valid { verified: Verified, rechecked: bool },
    /// To reject: the proof is wrong, or unreadable because it is of an older format.
    Invalid(String),
    /// Verified, but re-executing the program contradicts it: rejected, loudly.
    Contradicted(Mismatch),
    /// Of a newer format than this build reads: left waiting for a newer uploader-client.
    Unreadable(ProofVersionMismatch),
}

#[derive(Debug, Clone, Serialize)]
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

/// `proofs verify`: verifies the waiting proofs of one program or of all, saving each result
/// before confirming its proof; a Ctrl-C stops after the proof in progress.
pub async fn verify(app: &App, args: ProofsVerify) -> CliResult<i32> {
    app.state.ensure()?;
    let _lock = FileLock::try_acquire(&app.state.verify_lock(), "`proofs verify`")?;
    let mut session = app.session()?;
    let ledger = app.ledger()?;
    let interrupted = watch_interrupts();
    let programs = programs_to_verify(&mut session, &ledger, &args).await?;
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
            &args,
            &interrupted,
        )
        .await?;
        summaries.push(summary);
    }
    verify_outcome(app, &summaries, interrupted.load(Ordering::SeqCst))
}

/// The flag a first Ctrl-C raises (the run stops after the proof in progress); a second one
/// exits at once.
fn watch_interrupts() -> Arc<AtomicBool> {
    let interrupted = Arc::new(AtomicBool::new(false));
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
    interrupted
}

/// The programs to verify: the one given, or every program with proofs waiting.
async fn programs_to_verify(
    session: &mut Session,
    ledger: &Ledger,
    args: &ProofsVerify,
) -> CliResult<Vec<Uuid>> {
    Ok(match &args.program {
        Some(reference) => {
            vec![resolve_program(Some(session), ledger, reference).await?]
        }
        None => all_pages(
            session,
            "cannot list the programs with proofs",
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
    })
}

/// Reports the summaries and turns them into the exit status: a recheck mismatch, an
/// interruption and proofs left unverified are errors, rejections an exit code of their own.
fn verify_outcome(app: &App, summaries: &[Summary], stopped: bool) -> CliResult<i32> {
    let verified: usize = summaries.iter().map(|s| s.verified).sum();
    let earlier: usize = summaries.iter().map(|s| s.confirmed_earlier_results).sum();
    let rejected: usize = summaries.iter().map(|s| s.rejected.len()).sum();
    let skipped: usize = summaries.iter().map(|s| s.skipped.len()).sum();
    let contradicted: Vec<&Rejection> = summaries
        .iter()
        .filter_map(|s| s.recheck.as_ref())
        .flat_map(|r| &r.mismatches)
        .collect();
    app.out
        .data(&json!({"programs": summaries, "interrupted": stopped}));
    if !app.out.json {
        summaries.iter().for_each(|s| print_summary(app, s));
    }
    if !contradicted.is_empty() {
        let groups: Vec<String> = contradicted
            .iter()
            .map(|r| format!("{} ({})", r.name, r.input_group_id))
            .collect();
        return Err(CliError::new(format!(
            "RECHECK MISMATCH: re-executing contradicted {} verified proof(s): {}",
            groups.len(),
            groups.join(", ")
        ))
        .with_hint(
            "those proofs were rejected and their groups offered to donors again, and nothing \
             was saved for them; a proof that verifies with wrong outputs means a bug in the \
             prover or the verifier: keep rejected.jsonl and report it",
        )
        .with_code(exit::RECHECK_MISMATCH));
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
        .with_hint(
            "see the warnings above; proofs of input groups missing from this machine's ledger \
             cannot be checked, and proofs of a newer format need a newer uploader-client",
        ));
    }
    Ok(if rejected > 0 { exit::REJECTED } else { 0 })
}

/// Verifies the waiting proofs of one program against the ledger's copies of it and its
/// inputs, under its policy, saving the results to `results_path`.
async fn verify_program(
    app: &App,
    session: &mut Session,
    ledger: &Ledger,
    program_id: Uuid,
    results_path: &std::path::Path,
    args: &ProofsVerify,
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
    let program = stored_program(ledger, program_id, &record.hash)?;
    let results = open_results(app, results_path)?;
    summary.policy = program_policy(session, program_id, args).await?;
    let policy = SecurityPolicy {
        min_conjectured_bits: summary.policy.min_conjectured_security_bits,
        min_provable_bits: summary.policy.min_provable_security_bits,
    };
    let sampler = args.recheck.map(Sampler::new);
    summary.recheck = args.recheck.map(|f| RecheckSummary {
        fraction: f.value(),
        ..RecheckSummary::default()
    });
    let groups = waiting_groups(session, program_id, sampler.is_some()).await?;
    let mut run = ProgramRun {
        program,
        policy,
        sampler,
        results,
        summary,
    };
    let bar = app.out.progress(groups.len() as u64, "verifying");
    for group in groups {
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
        bar.set_message(group.name.clone());
        run.verify_group(app, session, ledger, &bar, group).await?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(run.summary)
}

/// The ledger's copy of the program, parsed.
fn stored_program(
    ledger: &Ledger,
    program_id: Uuid,
    hash: &str,
) -> CliResult<Arc<CompiledProgram>> {
    let program_json = ledger.load_stored(Kind::Program, hash)?;
    Ok(Arc::new(CompiledProgram::parse(&program_json).map_err(
        |e| {
            CliError::new(format!(
                "the local copy of program {program_id} does not parse: {e}"
            ))
        },
    )?))
}

/// Opens the results file, warning about lines it could not read.
fn open_results(app: &App, results_path: &std::path::Path) -> CliResult<ResultsFile> {
    let results = ResultsFile::open(results_path)?;
    if results.broken_lines > 0 {
        app.out.warn(format!(
            "{} unreadable line(s) in {} were skipped",
            results.broken_lines,
            results_path.display()
        ));
    }
    Ok(results)
}

/// A snapshot of the waiting proofs: confirming shrinks the listing while we page through it.
/// Shuffled when rechecking: the sample is random because the order is (see `recheck`).
async fn waiting_groups(
    session: &mut Session,
    program_id: Uuid,
    shuffle: bool,
) -> CliResult<Vec<InputGroup>> {
    let mut groups: Vec<InputGroup> = all_pages(
        session,
        "cannot list the proven input groups",
        async |c: &Client, q: PageQuery| {
            c.proven_input_groups(program_id, &q)
                .await
                .map(|p| (p.program_input_groups, p.total_elements_amount))
        },
    )
    .await?;
    if shuffle {
        fastrand::shuffle(&mut groups);
    }
    Ok(groups)
}

/// What verifying one program's proofs works with, and its tally.
struct ProgramRun {
    program: Arc<CompiledProgram>,
    policy: SecurityPolicy,
    sampler: Option<Sampler>,
    results: ResultsFile,
    summary: Summary,
}

impl ProgramRun {
    /// One waiting proof: confirmed at once if an earlier run saved its result, else
    /// downloaded, judged and settled; skipped when this machine cannot check it.
    async fn verify_group(
        &mut self,
        app: &App,
        session: &mut Session,
        ledger: &Ledger,
        bar: &ProgressBar,
        group: InputGroup,
    ) -> CliResult<()> {
        let program_id = self.summary.program_id;
        let group_id = group.input_group_id;
        if self.results.contains(group_id) {
            confirm(session, program_id, group_id).await?;
            self.summary.confirmed_earlier_results += 1;
            return Ok(());
        }
        let Some((name, inputs)) = self.local_inputs(app, ledger, &group, bar)? else {
            return Ok(());
        };
        let Some(proof) = self.download_proof(session, group_id).await? else {
            return Ok(());
        };
        let verdict = judge(
            proof,
            &self.program,
            inputs,
            self.policy,
            self.sampler.as_mut(),
        )
        .await?;
        self.settle(app, session, bar, (group_id, name), verdict)
            .await
    }

    /// The group's name and inputs from the ledger; `None`, with a warning and a skip, when
    /// the ledger does not have the group.
    fn local_inputs(
        &mut self,
        app: &App,
        ledger: &Ledger,
        group: &InputGroup,
        bar: &ProgressBar,
    ) -> CliResult<Option<(String, Vec<Felt>)>> {
        let group_id = group.input_group_id;
        let Some(inputs_record) = ledger.input_group(self.summary.program_id, group_id) else {
            bar.suspend(|| {
                app.out.warn(format!(
                    "input group {group_id} ({:?}) is not in this machine's ledger: left waiting",
                    group.name
                ))
            });
            self.summary.skipped.push(Skip {
                input_group_id: Some(group_id),
                reason: "input group not in the ledger".into(),
            });
            return Ok(None);
        };
        let inputs_csv = ledger.load_stored(Kind::Inputs, &inputs_record.hash)?;
        let inputs = parse_csv(&inputs_csv).map_err(|e| {
            CliError::new(format!(
                "the local copy of input group {group_id} does not parse: {e}"
            ))
        })?;
        Ok(Some((inputs_record.name.clone(), inputs)))
    }

    /// The group's proof; `None`, with a skip, when it was confirmed or rejected meanwhile.
    async fn download_proof(
        &mut self,
        session: &mut Session,
        group_id: Uuid,
    ) -> CliResult<Option<Vec<u8>>> {
        let program_id = self.summary.program_id;
        match session
            .try_call(async |c: &Client| c.proof(program_id, group_id).await)
            .await?
        {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.code() == Some(ErrorCode::ProofNotFound) => {
                self.summary.skipped.push(Skip {
                    input_group_id: Some(group_id),
                    reason: "the proof was confirmed or rejected meanwhile".into(),
                });
                Ok(None)
            }
            Err(e) => Err(CliError::api("cannot download a proof", e)),
        }
    }

    /// Acts on the verdict on one proof: saves the result and confirms, or rejects and logs, or
    /// leaves the proof waiting; and records what it did in the summary.
    async fn settle(
        &mut self,
        app: &App,
        session: &mut Session,
        bar: &ProgressBar,
        (group_id, name): (Uuid, String),
        verdict: Verdict,
    ) -> CliResult<()> {
        let program_id = self.summary.program_id;
        match verdict {
            Verdict::Valid {
                verified,
                rechecked,
            } => {
                self.keep(app, session, bar, (group_id, name), verified, rechecked)
                    .await?
            }
            Verdict::Invalid(reason) => {
                let rejection =
                    reject_and_log(app, session, program_id, group_id, name, reason).await?;
                bar.suspend(|| {
                    app.out.warn(format!(
                        "rejected {} ({group_id}): {}",
                        rejection.name, rejection.reason
                    ))
                });
                self.summary.rejected.push(rejection);
            }
            Verdict::Contradicted(mismatch) => {
                let reason = format!("RECHECK MISMATCH: {mismatch}");
                let rejection =
                    reject_and_log(app, session, program_id, group_id, name, reason).await?;
                bar.suspend(|| {
                    app.out.warn(format!(
                        "RECHECK MISMATCH in {} ({group_id}): {mismatch}; the proof is rejected \
                         and nothing is saved for it",
                        rejection.name
                    ))
                });
                if let Some(recheck) = self.summary.recheck.as_mut() {
                    recheck.rechecked += 1;
                    recheck.mismatches.push(rejection.clone());
                }
                self.summary.rejected.push(rejection);
            }
            Verdict::Unreadable(mismatch) => {
                bar.suspend(|| {
                    app.out.warn(format!(
                        "input group {group_id} ({name}): {mismatch}: left waiting; update \
                         uploader-client to verify it"
                    ))
                });
                self.summary.skipped.push(Skip {
                    input_group_id: Some(group_id),
                    reason: format!("{mismatch}"),
                });
            }
        }
        Ok(())
    }

    /// A valid proof: its result is saved (and fsynced) first, only then is the proof
    /// confirmed, so the server never forgets a proof whose result is not kept.
    async fn keep(
        &mut self,
        app: &App,
        session: &mut Session,
        bar: &ProgressBar,
        (group_id, name): (Uuid, String),
        verified: Verified,
        rechecked: bool,
    ) -> CliResult<()> {
        let program_id = self.summary.program_id;
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
            provable_security_bits: verified.provable_security_bits,
            rechecked,
            verified_at: ledger::now(),
        };
        self.results.append(line)?;
        confirm(session, program_id, group_id).await?;
        self.summary.verified += 1;
        if let Some(recheck) = self.summary.recheck.as_mut().filter(|_| rechecked) {
            recheck.rechecked += 1;
        }
        let again = if rechecked {
            ", re-executed: same outputs"
        } else {
            ""
        };
        bar.suspend(|| {
            app.out.note(format!(
                "verified  {name}  {group_id}  ({} bits conjectured, {} bits provable{again})",
                verified.security_bits, verified.provable_security_bits
            ))
        });
        self.summary.verified_groups.push(VerifiedGroup {
            input_group_id: group_id,
            name,
            security_bits: verified.security_bits,
            provable_security_bits: verified.provable_security_bits,
            rechecked,
        });
        Ok(())
    }
}

/// The least security proofs of `program_id` must have: its policy on the server, each bound
/// overridden by its flag when given.
async fn program_policy(
    session: &mut Session,
    program_id: Uuid,
    args: &ProofsVerify,
) -> CliResult<ProofPolicy> {
    let status = session
        .call(
            "cannot read the program's verification policy",
            async |c: &Client| c.program_status(program_id).await,
        )
        .await?;
    Ok(ProofPolicy {
        min_conjectured_security_bits: args
            .min_security_bits
            .unwrap_or(status.policy.min_conjectured_security_bits),
        min_provable_security_bits: args
            .min_provable_bits
            .unwrap_or(status.policy.min_provable_security_bits),
    })
}

/// Verifies `proof` (off the async workers) and, when the sampler picks this verified group,
/// re-executes the program on the same inputs to compare.
async fn judge(
    proof: Vec<u8>,
    program: &Arc<CompiledProgram>,
    inputs: Vec<Felt>,
    policy: SecurityPolicy,
    sampler: Option<&mut Sampler>,
) -> CliResult<Verdict> {
    let checked = program.clone();
    let (verdict, inputs) = blocking(move || {
        let verdict = cairo_stark::verify(&proof, &checked, &inputs, &policy);
        (verdict, inputs)
    })
    .await?;
    let verified = match verdict {
        Ok(verified) => verified,
        Err(error) => return Ok(refused(error)),
    };
    if !sampler.is_some_and(Sampler::take) {
        return Ok(Verdict::Valid {
            verified,
            rechecked: false,
        });
    }
    let program = program.clone();
    blocking(move || match recheck(&program, &inputs, &verified) {
        Ok(()) => Verdict::Valid {
            verified,
            rechecked: true,
        },
        Err(mismatch) => Verdict::Contradicted(mismatch),
    })
    .await
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> CliResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CliError::new(format!("the verifier or the re-execution crashed: {e}")))
}

/// The verdict on a proof the verifier refused. A proof of an older format is rejected so the
/// group goes back to donors (whose current clients prove it in the format this build reads); a
/// proof of a newer format is left waiting for a newer uploader-client.
fn refused(error: VerifyError) -> Verdict {
    let VerifyError::Format(FormatError::UnsupportedVersion(found)) = error else {
        return Verdict::Invalid(error.to_string());
    };
    let mismatch = ProofVersionMismatch {
        found,
        supported: FORMAT_VERSION,
    };
    if !mismatch.is_older() {
        return Verdict::Unreadable(mismatch);
    }
    Verdict::Invalid(format!(
        "{mismatch}: rejected, so the input group is offered to donors again (a current \
         executor-client proves it in the format this build reads)"
    ))
}

/// `proofs accept|reject`: the manual path, for proofs an organization decides on itself.
/// Accepting confirms without verifying here (the server verified the proof on upload) and saves
/// nothing; rejecting offers the group again and logs the reason.
pub async fn decide(app: &App, args: ProofsDecide, accept: bool) -> CliResult<i32> {
    let mut session = app.session()?;
    let ledger = app.ledger()?;
    let program_id = resolve_program(Some(&mut session), &ledger, &args.program).await?;
    let ids = super::resolve_groups(&mut session, program_id, &args.input_groups).await?;
    for id in &ids {
        let name = ledger
            .input_group(program_id, *id)
            .map(|g| g.name.clone())
            .unwrap_or_default();
        // Unlike `verify`'s confirm and reject, a proof that is not there is an error here.
        let id = *id;
        if accept {
            session
                .call("cannot accept the proof", async |c: &Client| {
                    c.confirm_proof(program_id, id).await
                })
                .await?;
            app.out
                .summary(format!("accepted the proof of {id} {name}"));
        } else {
            session
                .call("cannot reject the proof", async |c: &Client| {
                    c.reject_proof(program_id, id).await
                })
                .await?;
            log_rejection(app, program_id, id, &name, &args.reason)?;
            app.out.summary(format!(
                "rejected the proof of {id} {name}: offered to donors again"
            ));
        }
    }
    let verb = if accept { "accepted" } else { "rejected" };
    app.out.data(&json!({"program_id": program_id, verb: ids}));
    if accept {
        app.out.next(format!(
            "nothing was saved to the results file; `uploader-client proofs verify {program_id}` \
             verifies and saves instead"
        ));
    }
    Ok(0)
}

/// Rejects a proof and logs why in `rejected.jsonl`.
async fn reject_and_log(
    app: &App,
    session: &mut Session,
    program_id: Uuid,
    group_id: Uuid,
    name: String,
    reason: String,
) -> CliResult<Rejection> {
    reject(session, program_id, group_id).await?;
    log_rejection(app, program_id, group_id, &name, &reason)?;
    Ok(Rejection {
        input_group_id: group_id,
        name,
        reason,
    })
}

/// Appends why a proof was rejected to `rejected.jsonl`.
fn log_rejection(
    app: &App,
    program_id: Uuid,
    group_id: Uuid,
    name: &str,
    reason: &str,
) -> CliResult<()> {
    let entry = json!({
        "program_id": program_id,
        "input_group_id": group_id,
        "name": name,
        "reason": reason,
        "at": ledger::now(),
    });
    append_line(&app.state.rejected_file(), &entry.to_string())
}

fn print_summary(app: &App, s: &Summary) {
    app.out.summary(format!(
        "program {}: {} verified and confirmed, {} confirmed from earlier results, \
         {} rejected, {} skipped; results in {}",
        s.program_id,
        s.verified,
        s.confirmed_earlier_results,
        s.rejected.len(),
        s.skipped.len(),
        s.results_file
    ));
    if let Some(r) = &s.recheck {
        let verdict = match r.mismatches.len() {
            0 => "all agree with their proofs".to_string(),
            n => format!("{n} CONTRADICT their proofs (rejected)"),
        };
        app.out.summary(format!(
            "  recheck: {} verified group(s) re-executed in cairo-vm ({}% asked): {verdict}",
            r.rechecked,
            r.fraction * 100.0
        ));
    }
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
