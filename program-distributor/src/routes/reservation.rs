//! The reservations: hand one input group to a donor.
//!
//! - `GET /program/program-and-inputs/{program_id}`: any unproven group, to execute and prove;
//! - `GET /program/inputs-to-execute/{program_id}`: a group without an execution, to execute
//!   only (execution-only mode);
//! - `GET /program/execution-to-prove/{program_id}`: an executed group, to prove its execution.
//!
//! All three share one lock per group and one timeout (the program's), and the same atomic pick.
//! Each reservation gets a random id (UUID v4) that only its holder learns, from the tar's
//! metadata: with it the holder gives the group back early
//! (`POST /program/reservation/release`), and only an upload that names it ends the reservation
//! when the file is refused.

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use distributor_api::archive::{EXECUTION_FILE, INPUTS_FILE, METADATA_FILE, PROGRAM_FILE};
use distributor_api::{signing, ErrorCode, ReleaseReservationRequest, ReservationMetadata};
use uuid::Uuid;

use super::services::{end_reservation, program_json};
use super::{convert, file, success};
use crate::db::models::ProgramRow;
use crate::db::queries::input_groups::{self, Reserved, Stage};
use crate::db::queries::programs;
use crate::db::Backend;
use crate::domain::archive::build_tar;
use crate::domain::parse_id;
use crate::error::ApiError;
use crate::signature;
use crate::startup::AppState;
use crate::storage::{keys, StorageError};

/// Reserves any unproven input group: a tar with `program.json`, `inputs.csv` and
/// `metadata.json`.
pub async fn reserve(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    reserve_in(&state, &request, &path, Stage::Whole).await
}

/// Reserves an input group that has no execution yet: the same tar as [`reserve`].
pub async fn reserve_to_execute(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    reserve_in(&state, &request, &path, Stage::Execute).await
}

/// Reserves an executed input group: the tar also holds the execution (`execution.bin`).
pub async fn reserve_to_prove(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    reserve_in(&state, &request, &path, Stage::Prove).await
}

/// Reserves an input group of `stage` (within the per-address reservation rate) and answers the
/// reservation tar.
async fn reserve_in(
    state: &AppState,
    request: &HttpRequest,
    program_id: &str,
    stage: Stage,
) -> Result<HttpResponse, ApiError> {
    state.rates.reservation(request)?;
    // A signed reservation must come from a registered donor (it proves nothing more today, but
    // a bad or replayed signature is refused rather than ignored).
    if let Some(signer) = signature::check(state, request, &signing::body_hash(b"")).await? {
        signer.registered()?;
    }
    let program_id = parse_id(program_id)
        .ok_or_else(ApiError::program_not_found)?
        .to_string();
    let now = state.clock.now_millis();
    let reservation_id = Uuid::new_v4();
    let (program, reserved) = pick(state, program_id, stage, now, reservation_id).await?;
    if reserved.lock_expired {
        state.metrics.lock_expired();
    }
    let files = match ReservedFiles::fetch(state, &program.id, &reserved, stage).await {
        Ok(files) => files,
        Err(StorageError::NotFound(key)) => {
            return Err(vanished(state, &program.id, &reserved.id, &key).await)
        }
        Err(error) => return Err(error.into()),
    };
    let lock_millis = program.lock_timeout_secs.saturating_mul(1000);
    let metadata = ReservationMetadata {
        organization_id: convert::stored_id(&program.account_id)?,
        program_id: convert::stored_id(&program.id)?,
        input_group_id: convert::stored_id(&reserved.id)?,
        input_group_name: reserved.name,
        lock_expires_at: convert::time(now.saturating_add(lock_millis)),
        reservation_id: Some(reservation_id),
    };
    let metadata = serde_json::to_vec_pretty(&metadata)
        .map_err(|e| ApiError::internal("cannot encode the reservation metadata", e))?;
    let tar = files.tar(&metadata)?;
    Ok(file(
        Bytes::from(tar),
        "application/x-tar",
        "reservation.tar",
    ))
}

/// The program (looked up in the database every time: a cached row could outlive a deletion
/// made through another replica) and the group reserved from it, in one trip to the blocking
/// pool.
async fn pick(
    state: &AppState,
    program_id: String,
    stage: Stage,
    now: i64,
    reservation_id: Uuid,
) -> Result<(ProgramRow, Reserved), ApiError> {
    let stored_reservation_id = reservation_id.to_string();
    let work = move |conn: &mut crate::db::DbConnection| {
        let Some(program) = programs::find(conn, &program_id)? else {
            return Ok(None);
        };
        let lock_millis = program.lock_timeout_secs.saturating_mul(1000);
        let reserved = input_groups::reserve(
            conn,
            &program.id,
            stage,
            now,
            lock_millis,
            &stored_reservation_id,
        )?;
        Ok(Some((program, reserved)))
    };
    let outcome = match state.db.backend() {
        Backend::Sqlite => state.db.run_serialized(work).await?,
        Backend::Mysql => state.db.run(work).await?,
    };
    let (program, reserved) = outcome.ok_or_else(ApiError::program_not_found)?;
    Ok((program, reserved.ok_or_else(|| nothing_available(stage))?))
}

/// The objects a reservation tar carries.
struct ReservedFiles {
    program_json: Bytes,
    inputs: Bytes,
    execution: Option<Bytes>,
}

impl ReservedFiles {
    async fn fetch(
        state: &AppState,
        program_id: &str,
        reserved: &Reserved,
        stage: Stage,
    ) -> Result<Self, StorageError> {
        let program_json = program_json(state, program_id).await?;
        let inputs = state
            .storage
            .get(&keys::inputs(program_id, &reserved.id))
            .await?;
        let execution = match (stage, &reserved.execution_id) {
            (Stage::Prove, Some(execution)) => Some(
                state
                    .storage
                    .get(&keys::execution(program_id, &reserved.id, execution))
                    .await?,
            ),
            _ => None,
        };
        Ok(ReservedFiles {
            program_json,
            inputs,
            execution,
        })
    }

    /// The reservation tar: these files and `metadata`.
    fn tar(&self, metadata: &[u8]) -> Result<Vec<u8>, ApiError> {
        let mut files: Vec<(&str, &[u8])> = vec![
            (PROGRAM_FILE, &self.program_json),
            (INPUTS_FILE, &self.inputs),
        ];
        if let Some(execution) = &self.execution {
            files.push((EXECUTION_FILE, execution));
        }
        files.push((METADATA_FILE, metadata));
        build_tar(&files).map_err(|e| ApiError::internal("cannot build the reservation tar", e))
    }
}

/// The error for a reserved group whose object `key` is missing. A deletion of the program (or
/// of the group) that committed after the reservation removes the objects before the tar is
/// built: that is answered like the deletion, a 404. An object missing under a group that still
/// exists is a fault of the server.
async fn vanished(state: &AppState, program_id: &str, group_id: &str, key: &str) -> ApiError {
    let (pid, gid) = (program_id.to_string(), group_id.to_string());
    let lookup = state
        .db
        .run(move |conn| {
            let group = input_groups::find(conn, &pid, &gid)?.is_some();
            let program = programs::find(conn, &pid)?.is_some();
            Ok((program, group))
        })
        .await;
    match lookup {
        Ok((false, _)) => ApiError::new(
            ErrorCode::ProgramNotFound,
            "the program was deleted while this reservation was being made",
        ),
        Ok((true, false)) => ApiError::new(
            ErrorCode::InputGroupNotFound,
            "the input group was deleted while it was being reserved; reserve again",
        ),
        Ok((true, true)) => ApiError::internal(
            "a reserved input group's object is missing",
            format!("object `{key}` not found"),
        ),
        Err(error) => error.into(),
    }
}

/// Gives a live reservation back on behalf of its holder (a donor that stops, or cannot finish
/// the work in time), so that the next donor gets the group at once instead of after the lock.
/// Anonymous like the reservation: knowing the reservation's id is the authorization.
pub async fn release(
    state: web::Data<AppState>,
    body: web::Json<ReleaseReservationRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let released = end_reservation(
        &state,
        &request.program_id.to_string(),
        &request.input_group_id.to_string(),
        request.reservation_id,
    )
    .await?;
    if !released {
        return Err(ApiError::new(
            ErrorCode::ReservationNotFound,
            "this input group has no live reservation with that id (wrong id, or it was \
             released, expired, or ended by a proof or an execution)",
        ));
    }
    Ok(success(()))
}

/// `NO_INPUT_GROUP_AVAILABLE`, saying what the program lacks for `stage`.
fn nothing_available(stage: Stage) -> ApiError {
    let message = match stage {
        Stage::Whole => "every input group of this program is proven or reserved",
        Stage::Execute => {
            "every input group of this program is proven, executed already or reserved"
        }
        Stage::Prove => "no input group of this program has an execution waiting for a prover",
    };
    ApiError::new(
        ErrorCode::NoInputGroupAvailable,
        format!("{message}; try again later"),
    )
}
