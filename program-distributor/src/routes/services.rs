//! Helpers the route modules share: finding a program (and checking its owner), its compiled
//! JSON, a page of programs, and deleting objects whose rows are gone. Routes import these from
//! here rather than from each other.

use actix_web::HttpResponse;
use bytes::Bytes;
use distributor_api::{PageQuery, ProgramsPage};
use uuid::Uuid;

use super::{convert, success};
use crate::auth::Authenticated;
use crate::db::models::{InputGroupRow, ProgramRow};
use crate::db::queries::input_groups;
use crate::db::queries::programs::{self, Listing};
use crate::domain::pagination::Pagination;
use crate::domain::parse_id;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::storage::keys;

/// The program, if it exists (any owner).
pub(super) async fn find_program(
    state: &AppState,
    program_id: &str,
) -> Result<ProgramRow, ApiError> {
    let id = parse_id(program_id)
        .ok_or_else(ApiError::program_not_found)?
        .to_string();
    state
        .db
        .run(move |conn| programs::find(conn, &id))
        .await?
        .ok_or_else(ApiError::program_not_found)
}

/// The program, if it exists and belongs to the caller; another organization's program is
/// answered exactly like a missing one, so ids of others' programs reveal nothing.
pub(super) async fn owned_program(
    state: &AppState,
    caller: &Authenticated,
    program_id: &str,
) -> Result<ProgramRow, ApiError> {
    let program = find_program(state, program_id).await?;
    if program.account_id != caller.account_id {
        return Err(ApiError::program_not_found());
    }
    Ok(program)
}

/// The ids of the caller's program and of an input group of it.
pub(super) async fn owned_group(
    state: &AppState,
    caller: &Authenticated,
    path: (String, String),
) -> Result<(String, String), ApiError> {
    let program = owned_program(state, caller, &path.0).await?;
    let group = parse_id(&path.1)
        .ok_or_else(ApiError::input_group_not_found)?
        .to_string();
    Ok((program.id, group))
}

/// The program's compiled JSON, from the cache or from storage.
pub(super) async fn program_json(
    state: &AppState,
    program_id: &str,
) -> Result<Bytes, crate::storage::StorageError> {
    if let Some(json) = state.programs.json(program_id) {
        return Ok(json);
    }
    let json = state.storage.get(&keys::program_json(program_id)).await?;
    state.programs.insert_json(program_id, json.clone());
    Ok(json)
}

/// A page of programs of `listing`.
pub(super) async fn list(
    state: &AppState,
    listing: Listing,
    query: PageQuery,
) -> Result<HttpResponse, ApiError> {
    let window = Pagination::parse(query.limit, query.page)?.window();
    let (rows, total) = state
        .db
        .run(move |conn| programs::list(conn, &listing, window))
        .await?;
    Ok(success(ProgramsPage {
        programs: convert::all(rows, convert::program)?,
        total_elements_amount: total,
    }))
}

/// The objects of an input group: its inputs, and its proof and execution if it has them.
pub(super) fn group_objects(program_id: &str, group: &InputGroupRow) -> Vec<String> {
    keys::of_group(
        program_id,
        &group.id,
        group.proof_id.as_deref(),
        group.execution_id.as_deref(),
    )
}

/// Deletes objects whose rows are gone; a failure (or a crash) leaves an orphan blob (logged),
/// never a row pointing at nothing, and the sweeper (`crate::sweeper`) removes it later.
pub(super) async fn delete_objects(state: &AppState, keys: &[String]) {
    for key in keys {
        if let Err(error) = state.storage.delete(key).await {
            tracing::warn!(%key, %error, "could not delete an object; it is left orphaned");
        }
    }
}

/// Ends the reservation `reservation_id` of the input group if it is the group's live one (see
/// [`input_groups::release`]). Returns whether it did.
pub(super) async fn end_reservation(
    state: &AppState,
    program_id: &str,
    input_group_id: &str,
    reservation_id: Uuid,
) -> Result<bool, ApiError> {
    let (pid, gid) = (program_id.to_string(), input_group_id.to_string());
    let rid = reservation_id.to_string();
    let now = state.clock.now_millis();
    Ok(state
        .db
        .write(move |conn| input_groups::release(conn, &pid, &gid, &rid, now))
        .await?)
}
