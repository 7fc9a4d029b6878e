//! Failed runs, as BOINC counts errors per workunit.
//!
//! - `POST /program/failure`: the holder of a live reservation reports that its run failed
//!   (anonymous like the reservation: the reservation's id is the authorization). The reservation
//!   ends, the group goes behind the program's other groups, and at the program's maximum of
//!   failures the group is `failed`: not handed out any more.
//! - `POST /program/input/{program_id}/{input_group_id}/retry`: the organization hands a failed
//!   group out again, its failures forgotten.
//! - `GET /program/refusals/{program_id}`: the organization reads the files its donors sent that
//!   the server's check refused (recorded by the upload routes, see `uploads::settle_refusal`).

use actix_web::{web, HttpRequest, HttpResponse};
use distributor_api::{
    ErrorCode, FailureRecord, FailureReport, FailureReportResponse, PageQuery, Refusal,
    RefusalsPage, UploadKind,
};

use super::services::{owned_group, owned_program};
use super::{convert, success};
use crate::auth::Authenticated;
use crate::db::models::RefusalRow;
use crate::db::queries::{input_groups, programs, refusals};
use crate::domain::fields::FailureMessage;
use crate::domain::pagination::Pagination;
use crate::error::ApiError;
use crate::startup::AppState;

/// Records a failed run under its live reservation (within the per-address upload rate: a report
/// ends a job as an upload does).
pub async fn report(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<FailureReport>,
) -> Result<HttpResponse, ApiError> {
    state.rates.upload(&request)?;
    let report = body.into_inner();
    let record = FailureRecord {
        at: convert::time(state.clock.now_millis()),
        reason: report.reason,
        message: FailureMessage::parse(&report.message)?.into_inner(),
    };
    let program_id = report.program_id.to_string();
    let group_id = report.input_group_id.to_string();
    let reservation_id = report.reservation_id.to_string();
    let recorded = state
        .db
        .write(move |conn| {
            let Some(program) = programs::find(conn, &program_id)? else {
                return Ok(None);
            };
            let max = program.max_failures;
            let failures = input_groups::record_failure(
                conn,
                &program_id,
                &group_id,
                &reservation_id,
                max,
                &record,
            )?;
            Ok(failures.map(|f| (f, max)))
        })
        .await?;
    let (failures, max) = recorded.ok_or_else(|| {
        ApiError::new(
            ErrorCode::ReservationNotFound,
            "this input group has no live reservation with that id (wrong id, or it was \
             released, expired, reported failed already, or ended by a proof or an execution)",
        )
    })?;
    let count = |n: i32| u32::try_from(n).unwrap_or(0);
    Ok(success(FailureReportResponse {
        failures: count(failures.count),
        max_failures: count(max),
        failed: failures.failed,
    }))
}

/// Forgets the failures of an input group of the caller's program, so that a failed group is
/// handed out again; answers the group as it is now.
pub async fn retry(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (program, group) = owned_group(&state, &caller, path.into_inner()).await?;
    let row = state
        .db
        .write(move |conn| input_groups::retry(conn, &program, &group))
        .await?
        .ok_or_else(ApiError::input_group_not_found)?;
    Ok(success(convert::input_group(
        row,
        state.clock.now_millis(),
    )?))
}

/// A page of the uploads of the caller's program that the server refused, newest first.
pub async fn refused(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let window = Pagination::parse(query.limit, query.page)?.window();
    let program = owned_program(&state, &caller, &path).await?;
    let (rows, total) = state
        .db
        .run(move |conn| refusals::page(conn, &program.id, window))
        .await?;
    Ok(success(RefusalsPage {
        refusals: convert::all(rows, refusal)?,
        total_elements_amount: total,
    }))
}

fn refusal((row, input_group_name): (RefusalRow, String)) -> Result<Refusal, ApiError> {
    Ok(Refusal {
        at: convert::time(row.created_at),
        input_group_id: convert::stored_id(&row.input_group_id)?,
        input_group_name,
        kind: match row.kind.as_str() {
            "execution" => UploadKind::Execution,
            _ => UploadKind::Proof,
        },
        code: ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == row.code)
            .unwrap_or(ErrorCode::Unknown),
        message: row.message,
        donor_id: row
            .donor_id
            .as_deref()
            .map(convert::stored_id)
            .transpose()?,
    })
}
