//! Proofs: upload (donors, anonymous), listing, download, confirm (DELETE), reject (PATCH).

use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use cairo_stark::format::FORMAT_VERSION;
use cairo_stark::{FormatError, SecurityPolicy, VerifyError};
use distributor_api::{ErrorCode, PageQuery, ProofVersionMismatch, UploadKind};

use super::services::{delete_objects, list, owned_group};
use super::{file, success, uploads};
use crate::auth::Authenticated;
use crate::db::models::{InputGroupRow, ProgramRow};
use crate::db::queries::input_groups::{self, MarkedProven, ProofLookup};
use crate::db::queries::programs::Listing;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::metrics::Checked;
use crate::startup::AppState;
use crate::storage::keys;

/// Accepts the proof of an input group, once.
///
/// The steps: check the ids name an unproven input group of that organization's program,
/// [`check_proof`] (full STARK verification against the stored program and input group), store
/// the proof under its own id, then mark the group proven with a conditional update, so of two
/// racing uploads exactly one wins (the loser's object is deleted). The group's execution, if an
/// execution-only donor left one, is deleted once the group is proven. A proof that does not
/// verify is answered `INVALID_PROOF` and recorded among the program's refusals; nothing is
/// stored and, when the upload names the group's live reservation, that reservation ends at once, so the next donor gets it (its execution
/// stays: the replay checked it, the prover was at fault).
pub async fn upload(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: Multipart,
) -> Result<HttpResponse, ApiError> {
    let (upload, donor) = uploads::read(&state, &request, body, state.limits.proof_bytes).await?;
    let (program, group) = uploads::target(&state, &upload.data).await?;
    if group.proven {
        return Err(uploads::already_proven());
    }
    let signer = donor.as_ref().map(|d| d.public_key.clone());
    let checked = check_proof(&state, &program, &group, upload.file.clone(), signer).await;
    let sent = uploads::Sent {
        group: &group,
        reservation_id: upload.data.reservation_id,
        kind: UploadKind::Proof,
        donor: donor.as_ref(),
    };
    let steps = uploads::settle_refusal(
        &state,
        sent,
        &[ErrorCode::InvalidProof, ErrorCode::UnsupportedProofVersion],
        checked,
    )
    .await?;

    let proof_id = keys::new_object_id();
    let key = keys::proof(&program.id, &group.id, &proof_id);
    let (pid, gid) = (program.id.clone(), group.id.clone());
    let now = state.clock.now_millis();
    let marked = uploads::store_and_record(&state, key, upload.file, move |conn| {
        Ok(
            match input_groups::mark_proven(conn, &pid, &gid, &proof_id, steps, now)? {
                MarkedProven::Marked { execution_id } => {
                    if let Some(donor) = &donor {
                        uploads::credit(
                            conn,
                            &donor.id,
                            (&pid, &gid),
                            "proof",
                            &proof_id,
                            steps,
                            now,
                        )?;
                    }
                    Ok(execution_id)
                }
                MarkedProven::AlreadyProven => Err(uploads::already_proven()),
            },
        )
    })
    .await?;
    if let Some(execution) = marked {
        delete_objects(
            &state,
            &[keys::execution(&program.id, &group.id, &execution)],
        )
        .await;
    }
    Ok(success(()))
}

/// Verifies `proof` against the stored program and the stored input group (never anything the
/// proof itself claims about them), requiring the program's verification policy, and that it was
/// made for the donor who signed the upload (`signer`, hex key; see [`check_donor_binding`]).
/// Returns the number of Cairo steps it proves.
async fn check_proof(
    state: &AppState,
    program: &ProgramRow,
    group: &InputGroupRow,
    proof: Bytes,
    signer: Option<String>,
) -> Result<i64, ApiError> {
    if proof.is_empty() {
        return Err(ApiError::invalid_request(
            "the `file` part (the proof) is empty",
        ));
    }
    let policy = program.policy();
    let policy = SecurityPolicy {
        min_conjectured_bits: policy.min_conjectured_security_bits,
        min_provable_bits: policy.min_provable_security_bits,
    };
    let (verified, took) =
        uploads::check_against_stored(state, program, group, move |compiled, inputs| {
            let verified =
                cairo_stark::verify(&proof, compiled, inputs, &policy).map_err(refusal)?;
            check_donor_binding(&verified, signer.as_deref())?;
            Ok(verified)
        })
        .await?;
    state.metrics.checked(Checked::Proof, took);
    tracing::info!(
        program = %program.id,
        input_group = %group.id,
        steps = verified.steps,
        security_bits = verified.security_bits,
        millis = took.as_millis() as u64,
        "proof verified"
    );
    i64::try_from(verified.steps)
        .map_err(|_| ApiError::new(ErrorCode::InvalidProof, "the proof claims too many steps"))
}

/// THE place where a proof's donor binding is checked. A proof bound to a donor's key
/// (`Verified::prover_key`, absorbed into its statement) is accepted only when that key signed
/// the upload: nobody can upload, or be credited for, a proof made for another donor, and it
/// cannot be sent anonymously either (`INVALID_PROOF`). A registered executor binds every proof
/// to its key; an unbound proof (an anonymous executor's) is accepted from anyone and credited
/// to the donor who signed the upload (the signature covers its bytes).
fn check_donor_binding(
    verified: &cairo_stark::Verified,
    signer: Option<&str>,
) -> Result<(), ApiError> {
    let Some(bound) = verified.prover_key else {
        return Ok(());
    };
    let bound = distributor_api::signing::hex(&bound);
    if signer == Some(bound.as_str()) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::InvalidProof,
        format!(
            "this proof is bound to the donor key {bound}; only that donor may upload it, signed \
             with that key ({})",
            match signer {
                Some(_) => "this upload is signed with another key",
                None => "this upload is not signed",
            }
        ),
    ))
}

/// The answer to a proof the verifier refused. A proof of another format version gets its own
/// code: the donor's client, not the proof, is what must change.
fn refusal(error: VerifyError) -> ApiError {
    if let VerifyError::Format(FormatError::UnsupportedVersion(found)) = error {
        let mismatch = ProofVersionMismatch {
            found,
            supported: FORMAT_VERSION,
        };
        let todo = if mismatch.is_older() {
            "update executor-client and prove this input group again"
        } else {
            "this server cannot read it yet; prove it with the executor-client version the server's operators publish"
        };
        return ApiError::new(
            ErrorCode::UnsupportedProofVersion,
            format!("{mismatch}: {todo}"),
        );
    }
    ApiError::new(
        ErrorCode::InvalidProof,
        format!("the proof was refused by the verifier: {error}"),
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
