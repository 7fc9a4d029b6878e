//! `/program/progress/{program_id}`: a program's public progress (input groups by state, steps
//! proven, the donors who contributed), and its organization's switch to hide it.

use actix_web::{web, HttpResponse};
use distributor_api::{Credit, ErrorCode, ProgramProgress, ProgressVisibility, TOP_DONORS};

use super::convert::{days, history_start, stored_id};
use super::services::{find_program, owned_program};
use super::success;
use crate::auth::Authenticated;
use crate::db::queries::credit::{self, Scope};
use crate::db::queries::{donors, input_groups, Window};
use crate::error::ApiError;
use crate::startup::AppState;

/// `GET`: the program's progress, unless its organization hid it (`PROGRESS_NOT_PUBLIC`).
pub async fn progress(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let program = find_program(&state, &path).await?;
    let (id, account) = (program.id.clone(), program.account_id.clone());
    let now = state.clock.now_millis();
    let found = state
        .db
        .run(move |conn| {
            if credit::progress_public(conn, &id)? != Some(true) {
                return Ok(None);
            }
            let counts = input_groups::counts(conn, &id, now)?;
            let steps = credit::steps_proven(conn, &id)?;
            let (top, contributing) = credit::program_donors(conn, &id, TOP_DONORS)?;
            let ids: Vec<String> = top.iter().map(|t| t.0.clone()).collect();
            let rows = donors::find_all(conn, &ids)?;
            let organization = credit::organization_name(conn, &account)?;
            let history = credit::per_day(conn, Scope::Program(&id), history_start(now))?;
            Ok(Some((
                counts,
                steps,
                top,
                contributing,
                rows,
                organization,
                history,
            )))
        })
        .await?;
    let Some((counts, steps_proven, top, contributing, rows, organization, history)) = found else {
        return Err(ApiError::new(
            ErrorCode::ProgressNotPublic,
            "the organization of this program does not publish its progress",
        ));
    };
    let top = top
        .into_iter()
        .filter_map(|(id, steps, jobs)| {
            let row = rows.iter().find(|r| r.id == id)?.clone();
            Some((row, Credit { steps, jobs }))
        })
        .collect();
    let first = Window {
        limit: TOP_DONORS,
        offset: 0,
    };
    Ok(success(ProgramProgress {
        program_id: stored_id(&program.id)?,
        organization_id: stored_id(&program.account_id)?,
        organization_name: organization.unwrap_or_default(),
        name: program.name,
        total: counts.total,
        uploaded: counts.uploaded,
        reserved: counts.reserved,
        executed: counts.executed,
        proven: counts.proven,
        confirmed: counts.confirmed,
        failed: counts.failed,
        steps_proven,
        donors_contributing: contributing,
        top_donors: super::donors::ranked(top, first)?,
        days: days(history),
    }))
}

/// `PUT` (owner): publishes or hides the program's progress.
pub async fn set_visibility(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: web::Json<ProgressVisibility>,
) -> Result<HttpResponse, ApiError> {
    let program = owned_program(&state, &caller, &path).await?;
    let public = body.public;
    state
        .db
        .write(move |conn| credit::set_progress_public(conn, &program.id, public))
        .await?;
    Ok(success(()))
}
