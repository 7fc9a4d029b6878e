//! `POST /program/execution`: execution-only donors hand in the execution (trace + memory file)
//! of an input group, for another donor to prove.

use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use distributor_api::{ErrorCode, UploadKind, EXECUTION_CREDIT_PERCENT};

use super::{success, uploads};
use crate::db::models::{InputGroupRow, ProgramRow};
use crate::db::queries::input_groups;
use crate::error::ApiError;
use crate::metrics::Checked;
use crate::startup::AppState;
use crate::storage::keys;

/// Accepts the execution of an input group, once per group until it is proven.
///
/// The steps mirror a proof upload: check the ids name an unproven, unexecuted input group of
/// that organization's program, [`check_execution`] (a replay against the stored program and
/// input group), store the file under its own id, then record it with a conditional update, so
/// of two racing uploads exactly one wins (the loser's object is deleted). Recording it ends the
/// group's reservation: provers get it at once. An execution that is not exactly the run of the
/// program on the group's inputs is answered `INVALID_EXECUTION` and recorded among the
/// program's refusals; nothing is stored and, when the
/// upload names the group's live reservation, that reservation ends, so the next donor gets the
/// group.
pub async fn upload(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: Multipart,
) -> Result<HttpResponse, ApiError> {
    let (upload, donor) =
        uploads::read(&state, &request, body, state.limits.execution_bytes).await?;
    let (program, group) = uploads::target(&state, &upload.data).await?;
    if group.proven || group.execution_id.is_some() {
        return Err(refusal(&group));
    }
    let checked = check_execution(&state, &program, &group, upload.file.clone()).await;
    let sent = uploads::Sent {
        group: &group,
        reservation_id: upload.data.reservation_id,
        kind: UploadKind::Execution,
        donor: donor.as_ref(),
    };
    let steps =
        uploads::settle_refusal(&state, sent, &[ErrorCode::InvalidExecution], checked).await?;
    let share = steps.saturating_mul(EXECUTION_CREDIT_PERCENT) / 100;
    let now = state.clock.now_millis();

    let execution_id = keys::new_object_id();
    let key = keys::execution(&program.id, &group.id, &execution_id);
    let (pid, gid) = (program.id.clone(), group.id.clone());
    uploads::store_and_record(&state, key, upload.file, move |conn| {
        if input_groups::record_execution(conn, &pid, &gid, &execution_id)? {
            if let Some(donor) = &donor {
                let group = (pid.as_str(), gid.as_str());
                uploads::credit(
                    conn,
                    &donor.id,
                    group,
                    "execution",
                    &execution_id,
                    share,
                    now,
                )?;
            }
            return Ok(Ok(()));
        }
        // A racing proof or execution won, or the group was deleted meanwhile.
        Ok(Err(match input_groups::find(conn, &pid, &gid)? {
            Some(group) => refusal(&group),
            None => ApiError::input_group_not_found(),
        }))
    })
    .await?;
    Ok(success(()))
}

/// Why a group that is proven, or executed already, takes no execution.
fn refusal(group: &InputGroupRow) -> ApiError {
    if group.proven {
        uploads::already_proven()
    } else {
        ApiError::new(
            ErrorCode::ExecutionAlreadyUploaded,
            "this input group has an execution already; it waits for a prover",
        )
    }
}

/// Replays `execution` in cairo-vm with the stored program and the stored input group and
/// accepts it only if it is exactly that run (never trusting what the file says about them).
/// A replay costs a small fraction of a proof, and provers are never handed junk. The file is
/// read within [`Limits::execution_file`](crate::configuration::Limits::execution_file): it is
/// inflated only as far as it decodes, its cheap parts (program hash, inputs, builtins, claimed
/// steps, trace shape, bytecode cells) are checked before anything large is allocated, and the
/// replay runs no more steps than the trace sent holds.
async fn check_execution(
    state: &AppState,
    program: &ProgramRow,
    group: &InputGroupRow,
    execution: Bytes,
) -> Result<i64, ApiError> {
    if execution.is_empty() {
        return Err(ApiError::invalid_request(
            "the `file` part (the execution) is empty",
        ));
    }
    let limits = state.limits.execution_file();
    // Held until the replay is over: at most `execution_replays` replays run at once.
    let _slot = state.rates.replay_slot().await?;
    let (steps, took) =
        uploads::check_against_stored(state, program, group, move |compiled, inputs| {
            cairo_stark::execution_file::check_execution_within(
                &execution, compiled, inputs, &limits,
            )
            .map(|replayed| replayed.steps)
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidExecution,
                    format!("the execution was refused: {e}"),
                )
            })
        })
        .await?;
    state.metrics.checked(Checked::Execution, took);
    tracing::info!(
        program = %program.id,
        input_group = %group.id,
        steps,
        millis = took.as_millis() as u64,
        "execution replayed"
    );
    i64::try_from(steps).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidExecution,
            "the execution claims too many steps",
        )
    })
}
