//! What the donors' uploads (proofs, and executions in execution-only mode) share: reading the
//! body within its limit, finding the input group it is about, checking the file against the
//! stored program and input group, ending the uploader's reservation after a bad file, and
//! storing the file so that of racing uploads exactly one is kept.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_multipart::Multipart;
use actix_web::{web, HttpRequest};
use bytes::Bytes;
use cairo_stark::{CompiledProgram, Felt};
use distributor_api::{signing, ErrorCode, UploadKind, UploadProofData};
use uuid::Uuid;

use super::multipart::{self, Upload};

use super::services::{delete_objects, end_reservation, program_json};
use crate::db::models::{CreditEntryRow, DonorRow, InputGroupRow, ProgramRow, RefusalRow};
use crate::db::queries::credit::{self, DAY_MILLIS};
use crate::db::queries::{input_groups, programs, refusals};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::signature;
use crate::startup::AppState;
use crate::storage::keys;

/// Reads a donor's upload, within the per-address upload rate: the `file` part (at most
/// `file_limit` bytes) and the ids in `data`; and checks its donor signature, if it has one
/// (the registered donor who signed it is returned, to be credited).
/// A body that declares more than the limits allow is refused before any of it is read; a body
/// of unknown length is cut off as soon as its `file` part goes over the limit.
pub(super) async fn read(
    state: &AppState,
    request: &HttpRequest,
    body: Multipart,
    file_limit: usize,
) -> Result<(Upload<UploadProofData>, Option<DonorRow>), ApiError> {
    state.rates.upload(request)?;
    let json_limit = state.limits.json_bytes;
    multipart::check_declared_length(request, file_limit + json_limit)?;
    let upload = multipart::read(body, file_limit, json_limit).await?;
    let hash = signing::upload_hash(&upload.raw_data, &upload.file);
    let donor = match signature::check(state, request, &hash).await? {
        Some(signer) => Some(signer.registered()?),
        None => None,
    };
    Ok((upload, donor))
}

/// Credits the donor `donor_id` for the accepted proof or execution `object_id` (`kind`) of an
/// input group. Run it in the transaction that records the file.
pub(super) fn credit(
    conn: &mut DbConnection,
    donor_id: &str,
    group: (&str, &str),
    kind: &str,
    object_id: &str,
    steps: i64,
    now: i64,
) -> diesel::QueryResult<()> {
    let entry = CreditEntryRow {
        id: Uuid::new_v4().to_string(),
        donor_id: donor_id.to_string(),
        program_id: group.0.to_string(),
        input_group_id: group.1.to_string(),
        kind: kind.to_string(),
        object_id: object_id.to_string(),
        day: now.div_euclid(DAY_MILLIS),
        created_at: now,
        steps,
        jobs: 1,
    };
    credit::add(conn, &entry).map(|_| ())
}

/// The program and the input group an upload names: the program must belong to the organization
/// named (`PROGRAM_NOT_FOUND` otherwise, as for a program that does not exist).
pub(super) async fn target(
    state: &AppState,
    data: &UploadProofData,
) -> Result<(ProgramRow, InputGroupRow), ApiError> {
    let (pid, gid) = (data.program_id.to_string(), data.input_group_id.to_string());
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
    Ok((program, group))
}

/// Runs `check` on the stored program and the stored input group (never on anything the
/// uploaded file claims about them). Checks (a STARK verification, a replay) are CPU-bound: they
/// run on the blocking pool (`web::block`), off the async workers. Returns the check's result and
/// how long the check itself took.
pub(super) async fn check_against_stored<T, F>(
    state: &AppState,
    program: &ProgramRow,
    group: &InputGroupRow,
    check: F,
) -> Result<(T, Duration), ApiError>
where
    F: FnOnce(&CompiledProgram, &[Felt]) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let compiled = compiled_program(state, &program.id).await?;
    let csv = state
        .storage
        .get(&keys::inputs(&program.id, &group.id))
        .await?;
    web::block(move || {
        // Stored input groups were validated on upload; failing to parse one is the server's fault.
        let inputs = cairo_stark::inputs::parse_csv(&csv)
            .map_err(|e| ApiError::internal("a stored input group does not parse", e))?;
        let started = Instant::now();
        let value = check(&compiled, &inputs)?;
        Ok((value, started.elapsed()))
    })
    .await
    .map_err(|e| ApiError::internal("checking task failed", e))?
}

/// The program's parsed compiled JSON, from the cache or from storage.
async fn compiled_program(
    state: &AppState,
    program_id: &str,
) -> Result<Arc<CompiledProgram>, ApiError> {
    if let Some(compiled) = state.programs.compiled(program_id) {
        return Ok(compiled);
    }
    let json = program_json(state, program_id).await?;
    // Stored programs were validated on upload; failing to parse one is the server's fault.
    let compiled = web::block(move || CompiledProgram::parse(&json))
        .await
        .map_err(|e| ApiError::internal("program parsing task failed", e))?
        .map_err(|e| ApiError::internal("a stored program does not parse", e))?;
    let compiled = Arc::new(compiled);
    state.programs.insert_compiled(program_id, compiled.clone());
    Ok(compiled)
}

/// A donor's file as the server's check of it saw it: which input group it is about, the
/// reservation it named, what kind of file it is and who signed it.
pub(super) struct Sent<'a> {
    pub group: &'a InputGroupRow,
    pub reservation_id: Option<Uuid>,
    pub kind: UploadKind,
    pub donor: Option<&'a DonorRow>,
}

/// The longest refusal message kept, in characters.
const REFUSAL_MESSAGE_CHARS: usize = 500;

/// Passes `outcome`, the server's check of the file `sent`, through. When it is one of the
/// refusals `refused` (the donor sent a bad file), the refusal is recorded for the organization
/// to see, and if the upload names the group's live reservation, that reservation ends first, so
/// the next donor gets the group at once instead of waiting for the lock of a donor who failed.
/// An upload that does not name it leaves the lock alone: a bad file from anyone else must not
/// take the group away from the donor working on it.
pub(super) async fn settle_refusal<T>(
    state: &AppState,
    sent: Sent<'_>,
    refused: &[ErrorCode],
    outcome: Result<T, ApiError>,
) -> Result<T, ApiError> {
    let Err(error) = &outcome else {
        return outcome;
    };
    if !refused.contains(&error.code) {
        return outcome;
    }
    if let Some(reservation_id) = sent.reservation_id {
        end_reservation(
            state,
            &sent.group.program_id,
            &sent.group.id,
            reservation_id,
        )
        .await?;
    }
    let row = RefusalRow {
        id: Uuid::new_v4().to_string(),
        program_id: sent.group.program_id.clone(),
        input_group_id: sent.group.id.clone(),
        kind: sent.kind.as_str().into(),
        code: error.code.as_str().into(),
        message: error.message.chars().take(REFUSAL_MESSAGE_CHARS).collect(),
        donor_id: sent.donor.map(|d| d.id.clone()),
        created_at: state.clock.now_millis(),
    };
    // The donor's answer does not wait on, or depend on, the organization's log.
    if let Err(e) = state
        .db
        .write(move |conn| refusals::record(conn, &row))
        .await
    {
        tracing::warn!(error = %e, "could not record a refused upload");
    }
    outcome
}

/// Stores `file` under `key` (a key with its own id, so racing uploads never overwrite each
/// other), then runs `record` in a write transaction: it records the object in the database, or
/// answers why it cannot (a racing upload won). The object is deleted unless it was recorded.
pub(super) async fn store_and_record<T, F>(
    state: &AppState,
    key: String,
    file: Bytes,
    record: F,
) -> Result<T, ApiError>
where
    F: FnMut(&mut DbConnection) -> diesel::QueryResult<Result<T, ApiError>> + Send + 'static,
    T: Send + 'static,
{
    state.storage.put(&key, file).await?;
    let outcome = match state.db.write(record).await {
        Ok(outcome) => outcome,
        Err(error) => Err(error.into()),
    };
    if outcome.is_err() {
        delete_objects(state, &[key]).await;
    }
    outcome
}

/// The answer to a file about an input group that is proven already.
pub(super) fn already_proven() -> ApiError {
    ApiError::new(
        ErrorCode::ProofAlreadySubmitted,
        "this input group is proven already; a proof is accepted once",
    )
}
