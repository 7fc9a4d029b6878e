//! Input groups: upload, listing, download, deletion.

use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use bytes::Bytes;
use distributor_api::{
    ErrorCode, InputGroupsPage, PageQuery, UploadInputsData, UploadInputsResponse,
};
use serde::Deserialize;
use uuid::Uuid;

use super::services::{delete_objects, find_program, group_objects, owned_group, owned_program};
use super::{convert, file, multipart, success};
use crate::auth::Authenticated;
use crate::db::models::NewInputGroup;
use crate::db::now_millis;
use crate::db::queries::input_groups;
use crate::domain::fields::Name;
use crate::domain::pagination::Pagination;
use crate::domain::parse_id;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::storage::keys;

/// Uploads an input group to the caller's program: the CSV must parse to field elements; it is
/// stored in canonical form (one decimal value per line).
pub async fn upload(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: Multipart,
) -> Result<HttpResponse, ApiError> {
    let upload = multipart::read::<UploadInputsData>(
        body,
        state.limits.inputs_bytes,
        state.limits.json_bytes,
    )
    .await?;
    let program = owned_program(&state, &caller, &path).await?;
    let name = Name::parse("name", &upload.data.name)?;
    let csv = upload.file;
    let canonical = web::block(move || cairo_stark::inputs::canonical_csv(&csv))
        .await
        .map_err(|e| ApiError::internal("input parsing task failed", e))?
        .map_err(|e| ApiError::new(ErrorCode::InvalidInputs, e.to_string()))?;

    let id = Uuid::new_v4().to_string();
    let key = keys::inputs(&program.id, &id);
    state.storage.put(&key, Bytes::from(canonical)).await?;
    let row = NewInputGroup {
        id: id.clone(),
        program_id: program.id.clone(),
        name: name.into_inner(),
        created_at: now_millis(),
    };
    if let Err(error) = state
        .db
        .write(move |conn| input_groups::insert(conn, &row))
        .await
    {
        delete_objects(&state, &[key]).await;
        return Err(error.into());
    }
    Ok(success(UploadInputsResponse {
        input_group_id: convert::stored_id(&id)?,
    }))
}

/// The input groups of the caller's program.
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    page_of_groups(&state, &caller, &path, &query, false).await
}

/// One page of the input groups of the caller's program; with `proof_waiting`, only those whose
/// proof waits for verification.
pub(super) async fn page_of_groups(
    state: &AppState,
    caller: &Authenticated,
    program_id: &str,
    query: &PageQuery,
    proof_waiting: bool,
) -> Result<HttpResponse, ApiError> {
    let window = Pagination::parse(query.limit, query.page)?.window();
    let program = owned_program(state, caller, program_id).await?;
    let (rows, total) = state
        .db
        .run(move |conn| input_groups::list(conn, &program.id, proof_waiting, window))
        .await?;
    let now = state.clock.now_millis();
    Ok(success(InputGroupsPage {
        program_input_groups: convert::all(rows, |row| convert::input_group(row, now))?,
        total_elements_amount: total,
    }))
}

#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    input_group_id: Option<String>,
}

/// The CSV of one input group (public, like the reservation that hands it out): the one named by
/// `?input_group_id=`, else the oldest unproven one. The `x-input-group-id` header says which.
pub async fn download(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<DownloadQuery>,
) -> Result<HttpResponse, ApiError> {
    let program = find_program(&state, &path).await?;
    let program_id = program.id.clone();
    let row = match &query.input_group_id {
        Some(group) => {
            let group = parse_id(group)
                .ok_or_else(ApiError::input_group_not_found)?
                .to_string();
            state
                .db
                .run(move |conn| input_groups::find(conn, &program_id, &group))
                .await?
                .ok_or_else(ApiError::input_group_not_found)?
        }
        None => state
            .db
            .run(move |conn| input_groups::first_unproven(conn, &program_id))
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NoInputGroupAvailable,
                    "the program has no unproven input group",
                )
            })?,
    };
    let csv = state
        .storage
        .get(&keys::inputs(&program.id, &row.id))
        .await?;
    let mut response = file(csv, "text/csv", "inputs.csv");
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&row.id) {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-input-group-id"),
            value,
        );
    }
    Ok(response)
}

/// Deletes an input group of the caller's program, with its proof and execution if it has them.
pub async fn delete(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (program, group) = owned_group(&state, &caller, path.into_inner()).await?;
    let pid = program.clone();
    let row = state
        .db
        .write(move |conn| input_groups::delete(conn, &pid, &group))
        .await?
        .ok_or_else(ApiError::input_group_not_found)?;
    delete_objects(&state, &group_objects(&program, &row)).await;
    Ok(success(()))
}
