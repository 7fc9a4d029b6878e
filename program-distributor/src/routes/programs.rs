//! `/program/...`: upload, listings, download, deletion, status, the guest template.

use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use bytes::Bytes;
use cairo_stark::program::CompiledProgram;
use distributor_api::{
    ErrorCode, PageQuery, ProgramStatus, UploadProgramData, UploadProgramResponse,
};
use uuid::Uuid;

use super::services::{delete_objects, find_program, group_objects, list, owned_program};
use super::{convert, file, multipart, success};
use crate::auth::Authenticated;
use crate::db::models::ProgramRow;
use crate::db::now_millis;
use crate::db::queries::programs::Listing;
use crate::db::queries::{accounts, input_groups, programs};
use crate::domain::archive::ProgramArchive;
use crate::domain::fields::{Description, LockTimeout, MaxFailures, Name, Policy};
use crate::domain::parse_id;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::storage::keys;

pub async fn all(
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let name_prefix = crate::domain::fields::name_prefix(query.name_filter.as_deref())?;
    list(&state, Listing::All { name_prefix }, query).await
}

pub async fn mine(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    list(
        &state,
        Listing::Organization(caller.account_id),
        query.into_inner(),
    )
    .await
}

pub async fn of_organization(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::new(ErrorCode::AccountNotFound, "no such organization");
    let id = parse_id(&path).ok_or_else(not_found)?.to_string();
    let lookup = id.clone();
    if !state
        .db
        .run(move |conn| accounts::exists(conn, &lookup))
        .await?
    {
        return Err(not_found());
    }
    list(&state, Listing::Organization(id), query.into_inner()).await
}

pub async fn template(state: web::Data<AppState>) -> HttpResponse {
    file(
        state.template.clone(),
        "application/x-tar",
        "guest-template.tar",
    )
}

/// Uploads a program: the tar is checked (safety, `program.json` present and a proof-mode Cairo
/// program), then stored as is, with the compiled program next to it.
pub async fn upload(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: Multipart,
) -> Result<HttpResponse, ApiError> {
    let limit = state.limits.program_bytes;
    let upload = multipart::read::<UploadProgramData>(body, limit, state.limits.json_bytes).await?;
    let name = Name::parse("name", &upload.data.name)?;
    let description = Description::parse(&upload.data.description)?;
    let timeout = LockTimeout::parse(upload.data.execution_timeout)?;
    let (min_conjectured_bits, min_provable_bits) = Policy::parse(upload.data.policy)?.columns();
    let max_failures = MaxFailures::parse(upload.data.max_failures)?.column();

    let tar = upload.file.clone();
    let program_json = web::block(move || -> Result<Vec<u8>, ApiError> {
        let archive = ProgramArchive::parse(&tar, limit as u64)
            .map_err(|e| ApiError::new(ErrorCode::InvalidArchive, e.to_string()))?;
        CompiledProgram::parse(&archive.program_json).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidProgram,
                format!("{}: {e}", archive.program_path),
            )
        })?;
        Ok(archive.program_json)
    })
    .await
    .map_err(|_| ApiError::new(ErrorCode::InvalidProgram, "the program could not be read"))??;

    let id = Uuid::new_v4().to_string();
    let (archive_key, json_key) = (keys::program_archive(&id), keys::program_json(&id));
    state.storage.put(&archive_key, upload.file).await?;
    state
        .storage
        .put(&json_key, Bytes::from(program_json))
        .await?;
    let row = ProgramRow {
        id: id.clone(),
        name_key: name.key(),
        account_id: caller.account_id,
        name: name.into_inner(),
        description: description.into_inner(),
        lock_timeout_secs: timeout.seconds(),
        created_at: now_millis(),
        min_conjectured_bits,
        min_provable_bits,
        max_failures,
    };
    let inserted = state
        .db
        .write(move |conn| programs::insert(conn, &row))
        .await;
    if !matches!(inserted, Ok(true)) {
        delete_objects(&state, &[archive_key, json_key]).await;
    }
    if !inserted? {
        return Err(ApiError::new(
            ErrorCode::ProgramNameTaken,
            "your organization already has a program with this name",
        ));
    }
    Ok(success(UploadProgramResponse {
        program_id: convert::stored_id(&id)?,
    }))
}

/// The program's tar as uploaded (public: donors need it).
pub async fn download(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let program = find_program(&state, &path).await?;
    let tar = state
        .storage
        .get(&keys::program_archive(&program.id))
        .await?;
    Ok(file(tar, "application/x-tar", "program.tar"))
}

/// Deletes the caller's program with its input groups, proofs and executions.
pub async fn delete(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let program = owned_program(&state, &caller, &path).await?;
    let id = program.id.clone();
    let groups = state
        .db
        .write(move |conn| programs::delete(conn, &id))
        .await?;
    state.programs.remove(&program.id);
    let mut objects = vec![
        keys::program_archive(&program.id),
        keys::program_json(&program.id),
    ];
    for group in &groups {
        objects.extend(group_objects(&program.id, group));
    }
    delete_objects(&state, &objects).await;
    Ok(success(()))
}

/// Input group counts by state (owner only).
pub async fn status(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let program = owned_program(&state, &caller, &path).await?;
    let id = program.id.clone();
    let now = state.clock.now_millis();
    let counts = state
        .db
        .run(move |conn| input_groups::counts(conn, &id, now))
        .await?;
    Ok(success(ProgramStatus {
        program_id: convert::stored_id(&program.id)?,
        total: counts.total,
        uploaded: counts.uploaded,
        reserved: counts.reserved,
        executed: counts.executed,
        proven: counts.proven,
        confirmed: counts.confirmed,
        failed: counts.failed,
        policy: program.policy(),
    }))
}
