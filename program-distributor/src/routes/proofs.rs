//! Proofs: upload (donors, anonymous), listing, download, confirm (DELETE), reject (PATCH).

use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use distributor_api::{ErrorCode, InputGroupsPage, PageQuery, UploadProofData};

use super::programs::{delete_objects, list, owned_program};
use super::{convert, file, multipart, success};
use crate::auth::Authenticated;
use crate::db::models::{InputGroupRow, ProgramRow};
use crate::db::now_millis;
use crate::db::queries::input_groups::{self, ProofLookup};
use crate::db::queries::programs::{self, Listing};
use crate::domain::pagination::Pagination;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::storage::keys;

/// Accepts the proof of an input group, once.
///
/// The steps: check the ids name an unproven input group of that organization's program,
/// [`check_proof`], store the proof under its own id, then mark the group proven with a
/// conditional update, so of two racing uploads exactly one wins (the loser's object is deleted).
pub async fn upload(state: web::Data<AppState>, body: Multipart) -> Result<HttpResponse, ApiError> {
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
    check_proof(&state, &program, &group, &upload.file).await?;

    let proof_id = keys::new_proof_id();
    let key = keys::proof(&program_id, &group_id, &proof_id);
    state.storage.put(&key, upload.file).await?;
    let now = now_millis();
    let pid = proof_id.clone();
    let marked = state
        .db
        .write(move |conn| input_groups::mark_proven(conn, &program_id, &group_id, &pid, now))
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

/// What is checked about a proof before it is accepted. Today: that there is one. Server-side
/// verification plugs in here (CPU-bound: run it through `web::block`, off the async workers,
/// and answer `INVALID_PROOF` when it fails).
async fn check_proof(
    _state: &AppState,
    _program: &ProgramRow,
    _group: &InputGroupRow,
    proof: &[u8],
) -> Result<(), ApiError> {
    if proof.is_empty() {
        return Err(ApiError::invalid_request(
            "the `file` part (the proof) is empty",
        ));
    }
    Ok(())
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
    let window = Pagination::parse(query.limit, query.page)?.window();
    let program = owned_program(&state, &caller, &path).await?;
    let (rows, total) = state
        .db
        .run(move |conn| input_groups::list(conn, &program.id, true, window))
        .await?;
    Ok(success(InputGroupsPage {
        program_input_groups: convert::all(rows, convert::input_group)?,
        total_elements_amount: total,
    }))
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
    let (program, group) = owned_group(&state, &caller, path.into_inner()).await?;
    let (p, g) = (program.clone(), group.clone());
    let lookup = state
        .db
        .write(move |conn| input_groups::confirm(conn, &p, &g))
        .await?;
    let proof = proof_of(lookup)?;
    delete_objects(&state, &[keys::proof(&program, &group, &proof)]).await;
    Ok(success(()))
}

/// Rejects the proof: it is deleted and the input group can be reserved again at once.
pub async fn reject(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (program, group) = owned_group(&state, &caller, path.into_inner()).await?;
    let (p, g) = (program.clone(), group.clone());
    let lookup = state
        .db
        .write(move |conn| input_groups::reject(conn, &p, &g))
        .await?;
    let proof = proof_of(lookup)?;
    delete_objects(&state, &[keys::proof(&program, &group, &proof)]).await;
    Ok(success(()))
}
