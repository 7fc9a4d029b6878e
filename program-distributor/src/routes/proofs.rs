//! Proofs: upload (donors, anonymous), listing, download, confirm (DELETE), reject (PATCH).

use std::sync::Arc;

use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use cairo_stark::CompiledProgram;
use distributor_api::{ErrorCode, PageQuery, UploadProofData};

use super::programs::{delete_objects, list, owned_program};
use super::{file, multipart, success};
use crate::auth::Authenticated;
use crate::db::models::{InputGroupRow, ProgramRow};
use crate::db::queries::input_groups::{self, ProofLookup};
use crate::db::queries::programs::{self, Listing};
use crate::db::{now_millis, DbConnection};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::storage::keys;

/// Accepts the proof of an input group, once.
///
/// The steps: check the ids name an unproven input group of that organization's program,
/// [`check_proof`] (full STARK verification against the stored program and input group), store
/// the proof under its own id, then mark the group proven with a conditional update, so of two
/// racing uploads exactly one wins (the loser's object is deleted). A proof that does not verify
/// is answered `INVALID_PROOF`; nothing is stored and the group's reservation ends at once, so
/// the next donor gets it.
pub async fn upload(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: Multipart,
) -> Result<HttpResponse, ApiError> {
    // A body that declares more than the limits allow is refused before any of it is read; a
    // body of unknown length is cut off as soon as its `file` part goes over the limit.
    multipart::check_declared_length(&request, state.limits.proof_bytes + state.limits.json_bytes)?;
    let upload =
        multipart::read::<UploadProofData>(body, state.limits.proof_bytes, state.limits.json_bytes)
            .await?;
    let data = upload.data;
    let program_id = data.program_id.to_string();
    let group_id = data.input_group_id.to_string();
    let (pid, gid) = (program_id.clone(), group_id.clone());
    let (program, group) = state
        .db
        .run(move |conn| {
            let program = programs::find(conn, &pid)?;
            let group = match &program {
                Some(_) => input_groups::find(conn, &pid, &gid)?,
                None => None,
            };
            Ok((program, group))
        })
        .await?;
    let program = program
        .filter(|p| p.account_id == data.organization_id.to_string())
        .ok_or_else(ApiError::program_not_found)?;
    let group = group.ok_or_else(ApiError::input_group_not_found)?;
    if group.proven {
        return Err(already_proven());
    }
    let steps = match check_proof(&state, &program, &group, upload.file.clone()).await {
        Ok(steps) => steps,
        Err(error) => {
            if error.code == ErrorCode::InvalidProof {
                let (pid, gid) = (program_id.clone(), group_id.clone());
                state
                    .db
                    .write(move |conn| input_groups::release(conn, &pid, &gid))
                    .await?;
            }
            return Err(error);
        }
    };

    let proof_id = keys::new_proof_id();
    let key = keys::proof(&program_id, &group_id, &proof_id);
    state.storage.put(&key, upload.file).await?;
    let now = now_millis();
    let pid = proof_id.clone();
    let marked = state
        .db
        .write(move |conn| {
            input_groups::mark_proven(conn, &program_id, &group_id, &pid, steps, now)
        })
        .await;
    match marked {
        Ok(true) => Ok(success(())),
        Ok(false) => {
            delete_objects(&state, &[key]).await;
            Err(already_proven())
        }
        Err(error) => {
            delete_objects(&state, &[key]).await;
            Err(error.into())
        }
    }
}

/// The least conjectured security, in bits, of a proof the server accepts.
pub const MIN_SECURITY_BITS: u32 = 100;

/// Verifies `proof` against the stored program and the stored input group (never anything the
/// proof itself claims about them). Returns the number of Cairo steps it proves. The STARK
/// verification is CPU-bound: it runs on the blocking pool (`web::block`), off the async workers.
async fn check_proof(
    state: &AppState,
    program: &ProgramRow,
    group: &InputGroupRow,
    proof: Bytes,
) -> Result<i64, ApiError> {
    if proof.is_empty() {
        return Err(ApiError::invalid_request(
            "the `file` part (the proof) is empty",
        ));
    }
    let compiled = compiled_program(state, &program.id).await?;
    let csv = state
        .storage
        .get(&keys::inputs(&program.id, &group.id))
        .await?;
    let started = std::time::Instant::now();
    let verified = web::block(move || -> Result<cairo_stark::Verified, ApiError> {
        // Stored input groups were validated on upload; failing to parse one is the server's fault.
        let inputs = cairo_stark::inputs::parse_csv(&csv)
            .map_err(|e| ApiError::internal("a stored input group does not parse", e))?;
        cairo_stark::verify(&proof, &compiled, &inputs, MIN_SECURITY_BITS).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidProof,
                format!("the proof was refused by the verifier: {e}"),
            )
        })
    })
    .await
    .map_err(|e| ApiError::internal("proof verification task failed", e))??;
    tracing::info!(
        program = %program.id,
        input_group = %group.id,
        steps = verified.steps,
        security_bits = verified.security_bits,
        millis = started.elapsed().as_millis() as u64,
        "proof verified"
    );
    i64::try_from(verified.steps)
        .map_err(|_| ApiError::new(ErrorCode::InvalidProof, "the proof claims too many steps"))
}

/// The program's parsed compiled JSON, from the cache or from storage.
async fn compiled_program(
    state: &AppState,
    program_id: &str,
) -> Result<Arc<CompiledProgram>, ApiError> {
    if let Some(compiled) = state.programs.compiled(program_id) {
        return Ok(compiled);
    }
    let json = match state.programs.json(program_id) {
        Some(json) => json,
        None => {
            let json = state.storage.get(&keys::program_json(program_id)).await?;
            state.programs.insert_json(program_id, json.clone());
            json
        }
    };
    // Stored programs were validated on upload; failing to parse one is the server's fault.
    let compiled = web::block(move || CompiledProgram::parse(&json))
        .await
        .map_err(|e| ApiError::internal("program parsing task failed", e))?
        .map_err(|e| ApiError::internal("a stored program does not parse", e))?;
    let compiled = Arc::new(compiled);
    state.programs.insert_compiled(program_id, compiled.clone());
    Ok(compiled)
}

fn already_proven() -> ApiError {
    ApiError::new(
        ErrorCode::ProofAlreadySubmitted,
        "this input group is proven already; a proof is accepted once",
    )
}

/// The caller's programs that have at least one proof waiting for verification.
pub async fn programs_with_proofs(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    list(
        &state,
        Listing::WithProofs(caller.account_id),
        query.into_inner(),
    )
    .await
}

/// The input groups of the caller's program whose proofs wait for verification.
pub async fn proven_input_groups(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    super::inputs::page_of_groups(&state, &caller, &path, &query, true).await
}

/// The ids of the caller's program and of an input group of it.
async fn owned_group(
    state: &AppState,
    caller: &Authenticated,
    path: (String, String),
) -> Result<(String, String), ApiError> {
    let program = owned_program(state, caller, &path.0).await?;
    let group = crate::domain::parse_id(&path.1)
        .ok_or_else(ApiError::input_group_not_found)?
        .to_string();
    Ok((program.id, group))
}

fn proof_of(lookup: ProofLookup) -> Result<String, ApiError> {
    match lookup {
        ProofLookup::NoGroup => Err(ApiError::input_group_not_found()),
        ProofLookup::NoProof => Err(ApiError::new(
            ErrorCode::ProofNotFound,
            "this input group has no proof waiting for verification",
        )),
        ProofLookup::Proof(id) => Ok(id),
    }
}

/// Downloads the proof waiting for verification (owner only).
pub async fn download(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (program, group) = owned_group(&state, &caller, path.into_inner()).await?;
    let (p, g) = (program.clone(), group.clone());
    let lookup = state
        .db
        .run(move |conn| input_groups::waiting_proof(conn, &p, &g))
        .await?;
    let proof = proof_of(lookup)?;
    let bytes = state
        .storage
        .get(&keys::proof(&program, &group, &proof))
        .await?;
    Ok(file(bytes, "application/octet-stream", "proof.bin"))
}

/// Confirms the proof: it is deleted and the input group stays proven.
pub async fn confirm(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    settle(&state, &caller, path.into_inner(), input_groups::confirm).await
}

/// Rejects the proof: it is deleted and the input group can be reserved again at once.
pub async fn reject(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    settle(&state, &caller, path.into_inner(), input_groups::reject).await
}

/// The organization's verdict on a waiting proof: `verdict` updates the input group (and
/// returns the proof it had), then the proof object is deleted.
async fn settle(
    state: &AppState,
    caller: &Authenticated,
    ids: (String, String),
    verdict: fn(&mut DbConnection, &str, &str) -> diesel::QueryResult<ProofLookup>,
) -> Result<HttpResponse, ApiError> {
    let (program, group) = owned_group(state, caller, ids).await?;
    let (p, g) = (program.clone(), group.clone());
    let lookup = state.db.write(move |conn| verdict(conn, &p, &g)).await?;
    let proof = proof_of(lookup)?;
    delete_objects(state, &[keys::proof(&program, &group, &proof)]).await;
    Ok(success(()))
}
