//! `GET /program/program-and-inputs/{program_id}`: hands one input group to a donor.

use actix_web::{web, HttpResponse};
use bytes::Bytes;
use distributor_api::archive::{INPUTS_FILE, METADATA_FILE, PROGRAM_FILE};
use distributor_api::{ErrorCode, ReservationMetadata};

use super::{convert, file};
use crate::db::queries::{input_groups, programs};
use crate::db::{now_millis, Backend};
use crate::domain::archive::build_tar;
use crate::domain::parse_id;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::storage::keys;

/// Reserves an input group and answers a tar with `program.json`, `inputs.csv` and
/// `metadata.json`. The program lookup (cached) and the reservation are one trip to the blocking
/// pool.
pub async fn reserve(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let program_id = parse_id(&path)
        .ok_or_else(ApiError::program_not_found)?
        .to_string();
    let now = now_millis();
    let cached = state.programs.row(&program_id);
    let was_cached = cached.is_some();
    let lookup = program_id.clone();
    let work = move |conn: &mut crate::db::DbConnection| {
        let program = match cached {
            Some(program) => program,
            None => match programs::find(conn, &lookup)? {
                Some(program) => program,
                None => return Ok(None),
            },
        };
        let lock_millis = program.lock_timeout_secs.saturating_mul(1000);
        let reserved = input_groups::reserve(conn, &program.id, now, lock_millis)?;
        Ok(Some((program, reserved)))
    };
    let outcome = match state.db.backend() {
        Backend::Sqlite => state.db.run_serialized(work).await?,
        Backend::Mysql => state.db.run(work).await?,
    };
    let (program, reserved) = outcome.ok_or_else(ApiError::program_not_found)?;
    if !was_cached {
        state.programs.insert_row(program.clone());
    }
    let reserved = reserved.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NoInputGroupAvailable,
            "every input group of this program is proven or reserved; try again later",
        )
    })?;

    let program_json = match state.programs.json(&program.id) {
        Some(json) => json,
        None => {
            let json = state.storage.get(&keys::program_json(&program.id)).await?;
            state.programs.insert_json(&program.id, json.clone());
            json
        }
    };
    let inputs = state
        .storage
        .get(&keys::inputs(&program.id, &reserved.id))
        .await?;
    let lock_millis = program.lock_timeout_secs.saturating_mul(1000);
    let metadata = ReservationMetadata {
        organization_id: convert::stored_id(&program.account_id)?,
        program_id: convert::stored_id(&program.id)?,
        input_group_id: convert::stored_id(&reserved.id)?,
        input_group_name: reserved.name,
        lock_expires_at: convert::time(now.saturating_add(lock_millis)),
    };
    let metadata = serde_json::to_vec_pretty(&metadata)
        .map_err(|e| ApiError::internal("cannot encode the reservation metadata", e))?;
    let tar = build_tar(&[
        (PROGRAM_FILE, &program_json),
        (INPUTS_FILE, &inputs),
        (METADATA_FILE, &metadata),
    ])
    .map_err(|e| ApiError::internal("cannot build the reservation tar", e))?;
    Ok(file(
        Bytes::from(tar),
        "application/x-tar",
        "reservation.tar",
    ))
}
