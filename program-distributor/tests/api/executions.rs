//! Execution-only mode: one donor executes an input group and uploads the execution, another
//! reserves that execution and proves it.

use chrono::Utc;
use distributor_api::{
    ClientError, ErrorCode, PageQuery, ProgramStatus, Reservation, UploadExecutionData,
};
use program_distributor::storage::keys;
use uuid::Uuid;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    an_execution_goes_from_executor_to_prover_to_proven,
    each_reservation_only_hands_out_groups_of_its_stage,
    a_proving_reservation_is_exclusive_until_its_lock_expires,
    executions_that_are_not_the_run_are_refused_and_free_the_group,
    an_execution_is_accepted_once_and_only_for_an_unproven_group,
    of_racing_executions_for_one_group_exactly_one_is_accepted,
    oversized_executions_are_refused,
    deleting_a_group_or_a_program_deletes_its_execution,
    an_execution_bomb_is_refused_at_its_first_wrong_field,
    a_trace_that_cannot_be_the_run_is_refused_before_the_replay,
);

/// What a prover does with a proving reservation: reads the execution (bound to the program and
/// inputs of the reservation) and proves it.
async fn prove_reservation(reservation: Reservation) -> Vec<u8> {
    tokio::task::spawn_blocking(move || {
        let program = cairo_stark::CompiledProgram::parse(&reservation.program_json).unwrap();
        let inputs = cairo_stark::inputs::parse_csv(&reservation.inputs_csv).unwrap();
        let bytes = reservation
            .execution
            .expect("a proving reservation has the execution");
        let execution = cairo_stark::read_execution(&bytes, &program, &inputs).expect("read");
        cairo_stark::prove(&execution, &cairo_stark::ProofOptions::default())
            .expect("prove")
            .to_bytes()
    })
    .await
    .expect("proving task")
}

/// `(total, uploaded, reserved, executed, proven, confirmed)`.
/// How the owner's listing shows the group: (reserved right now, executed, proven).
async fn listed(org: &Org, program: Uuid, group: Uuid) -> (bool, bool, bool) {
    let page = org
        .client
        .input_groups(program, &PageQuery::new(50, 1))
        .await
        .unwrap();
    let g = page
        .program_input_groups
        .into_iter()
        .find(|g| g.input_group_id == group)
        .expect("listed");
    if let Some(until) = g.reserved_until {
        assert!(until > Utc::now(), "a live lock ends in the future");
    }
    (
        g.reserved_until.is_some(),
        g.executed,
        g.proven_datetime.is_some(),
    )
}

async fn counts(org: &Org, program: Uuid) -> (i64, i64, i64, i64, i64, i64) {
    let s: ProgramStatus = org.client.program_status(program).await.unwrap();
    assert_eq!(
        s.uploaded + s.reserved + s.executed + s.proven + s.confirmed,
        s.total
    );
    (
        s.total,
        s.uploaded,
        s.reserved,
        s.executed,
        s.proven,
        s.confirmed,
    )
}

/// The object key of the group's execution, if it has one.
async fn execution_key(app: &TestApp, program: Uuid, group: Uuid) -> Option<String> {
    let row = app.stored_group(program, group).await?;
    let execution = row.execution_id?;
    Some(keys::execution(
        &program.to_string(),
        &group.to_string(),
        &execution,
    ))
}

async fn object_exists(app: &TestApp, key: &str) -> bool {
    app.object_store().get(key).await.is_ok()
}

async fn an_execution_goes_from_executor_to_prover_to_proven(app: TestApp) {
    let org = app.org("Split Work").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 5).await;
    let other = upload_inputs(&org, program, "h", 6).await;
    assert_eq!(counts(&org, program).await, (2, 2, 0, 0, 0, 0));

    // The executor gets the same work as a full donor, without an execution.
    let work = app.client.reserve_for_execution(program).await.unwrap();
    assert_eq!(work.execution, None);
    assert_eq!(work.program_json, fixture("proof_mode.json"));
    let reserved = work.metadata.input_group_id;
    assert!([group, other].contains(&reserved));
    assert_eq!(counts(&org, program).await, (2, 1, 1, 0, 0, 0));
    assert_eq!(listed(&org, program, reserved).await, (true, false, false));
    let csv = String::from_utf8(work.inputs_csv).unwrap();
    let execution = execution_of(&csv).await;
    app.client
        .upload_execution(execution.clone(), &ids(&org, program, reserved))
        .await
        .unwrap();
    // Recorded and released at once: it waits for a prover.
    assert_eq!(counts(&org, program).await, (2, 1, 0, 1, 0, 0));
    assert_eq!(listed(&org, program, reserved).await, (false, true, false));
    let key = execution_key(&app, program, reserved)
        .await
        .expect("recorded");
    assert!(object_exists(&app, &key).await);

    // The prover gets exactly that execution, with the program and inputs it binds to.
    let proving = app.client.reserve_for_proving(program).await.unwrap();
    assert_eq!(proving.metadata.input_group_id, reserved);
    assert_eq!(proving.execution.as_deref(), Some(&execution[..]));
    assert_eq!(counts(&org, program).await, (2, 1, 1, 0, 0, 0));
    assert_eq!(listed(&org, program, reserved).await, (true, true, false));
    let proof = prove_reservation(proving).await;
    app.client
        .upload_proof(proof, &ids(&org, program, reserved))
        .await
        .unwrap();
    assert_eq!(counts(&org, program).await, (2, 1, 0, 0, 1, 0));
    assert_eq!(listed(&org, program, reserved).await, (false, false, true));
    // Proven: the execution is forgotten and its object deleted.
    assert_eq!(execution_key(&app, program, reserved).await, None);
    assert!(!object_exists(&app, &key).await);
    let proven = app.stored_group(program, reserved).await.unwrap();
    assert!(proven.proven && proven.steps.is_some_and(|s| s > 0));

    // The proving tar holds the four documented files, in this order.
    let remaining = if reserved == group { other } else { group };
    let csv = String::from_utf8(
        app.client
            .reserve_for_execution(program)
            .await
            .unwrap()
            .inputs_csv,
    )
    .unwrap();
    app.client
        .upload_execution(execution_of(&csv).await, &ids(&org, program, remaining))
        .await
        .unwrap();
    let path =
        distributor_api::paths::fill(distributor_api::paths::PROVING_RESERVATION, &[&program]);
    let response = app
        .client
        .request(reqwest::Method::GET, &path)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let tar = response.bytes().await.unwrap();
    let names: Vec<String> = tar::Archive::new(&tar[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "program.json",
            "inputs.csv",
            "execution.bin",
            "metadata.json"
        ]
    );
    assert_eq!(counts(&org, program).await, (2, 0, 1, 0, 1, 0));
}

async fn each_reservation_only_hands_out_groups_of_its_stage(app: TestApp) {
    let org = app.org("Stages").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 7).await;

    // Nothing executed yet: no proving work.
    assert_code(
        app.client.reserve_for_proving(program).await,
        ErrorCode::NoInputGroupAvailable,
    );
    app.client
        .upload_execution(execution_of("7").await, &ids(&org, program, group))
        .await
        .unwrap();
    // Executed: no execution work, proving work yes.
    assert_code(
        app.client.reserve_for_execution(program).await,
        ErrorCode::NoInputGroupAvailable,
    );
    assert_code(
        app.client.reserve_for_proving(Uuid::new_v4()).await,
        ErrorCode::ProgramNotFound,
    );
    // A full donor may take an executed group too (and is not handed the execution).
    let whole = app.client.reserve(program).await.unwrap();
    assert_eq!(whole.metadata.input_group_id, group);
    assert_eq!(whole.execution, None);
    assert_code(
        app.client.reserve_for_proving(program).await,
        ErrorCode::NoInputGroupAvailable,
    );

    // A proof that does not verify, sent under the donor's reservation, frees the group but
    // keeps its execution (the replay checked it; the prover was at fault).
    let reservation = whole.metadata.reservation_id.expect("a reservation id");
    let bad_proof = app
        .client
        .upload_proof(
            b"not a proof".to_vec(),
            &ids_under(&org, program, group, reservation),
        )
        .await;
    assert_code(bad_proof, ErrorCode::InvalidProof);
    assert_eq!(counts(&org, program).await, (1, 0, 0, 1, 0, 0));
    let proving = app.client.reserve_for_proving(program).await.unwrap();
    assert_eq!(proving.metadata.input_group_id, group);
    assert!(proving.execution.is_some());
}

async fn a_proving_reservation_is_exclusive_until_its_lock_expires(app: TestApp) {
    // Outlives every step however slow the machine; the test moves the clock past it.
    const LOCK_SECONDS: i64 = 600;
    let org = app.org("Exclusive").await;
    let program = upload_program(&org, "double", LOCK_SECONDS).await;
    let group = upload_inputs(&org, program, "g", 8).await;
    app.client
        .upload_execution(execution_of("8").await, &ids(&org, program, group))
        .await
        .unwrap();
    let first = app.client.reserve_for_proving(program).await.unwrap();
    assert_eq!(first.metadata.input_group_id, group);
    let lock = (first.metadata.lock_expires_at - Utc::now()).num_milliseconds();
    assert!(lock <= LOCK_SECONDS * 1000 && lock > 0, "lock of {lock} ms");
    // While the lock lives, no reservation of any stage hands the group out.
    assert_code(
        app.client.reserve_for_proving(program).await,
        ErrorCode::NoInputGroupAvailable,
    );
    assert_code(
        app.client.reserve(program).await,
        ErrorCode::NoInputGroupAvailable,
    );
    assert_code(
        app.client.reserve_for_execution(program).await,
        ErrorCode::NoInputGroupAvailable,
    );
    assert_eq!(counts(&org, program).await, (1, 0, 1, 0, 0, 0));

    app.advance_clock_past(first.metadata.lock_expires_at);
    assert_eq!(counts(&org, program).await, (1, 0, 0, 1, 0, 0));
    let again = app.client.reserve_for_proving(program).await.unwrap();
    assert_eq!(again.metadata.input_group_id, group);
    assert_eq!(again.execution, first.execution);
}

async fn executions_that_are_not_the_run_are_refused_and_free_the_group(app: TestApp) {
    let org = app.org("Replayer").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let valid = execution_of("3").await;
    let refused: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"not an execution at all".to_vec()),
        ("truncated", valid[..valid.len() / 2].to_vec()),
        ("another input group", execution_of("4").await),
        (
            "another program",
            execution_of_program(example_program_json(), "1,3").await,
        ),
    ];
    for (what, bytes) in refused {
        // The group is reserved (for 10 minutes) by an executor; its refused execution frees it.
        let reserved = app.client.reserve_for_execution(program).await.unwrap();
        assert_eq!(reserved.metadata.input_group_id, group);
        assert_eq!(counts(&org, program).await, (1, 0, 1, 0, 0, 0), "{what}");
        let reservation = reserved.metadata.reservation_id.expect("a reservation id");
        match app
            .client
            .upload_execution(bytes, &ids_under(&org, program, group, reservation))
            .await
        {
            Err(ClientError::Api { code, message, .. }) => {
                assert_eq!(code, ErrorCode::InvalidExecution, "{what}: {message}");
                assert!(message.len() > 30, "{what}: no reason in {message:?}");
            }
            other => panic!("{what}: expected INVALID_EXECUTION, got {other:?}"),
        }
        // Nothing stored, and the group is free for the next donor at once.
        assert_eq!(counts(&org, program).await, (1, 1, 0, 0, 0, 0), "{what}");
        assert_eq!(execution_key(&app, program, group).await, None, "{what}");
        assert_code(
            app.client.reserve_for_proving(program).await,
            ErrorCode::NoInputGroupAvailable,
        );
    }
    // The valid execution is still accepted afterwards.
    app.client
        .upload_execution(valid, &ids(&org, program, group))
        .await
        .unwrap();
    assert_eq!(counts(&org, program).await, (1, 0, 0, 1, 0, 0));
    // The organization reads the four refusals, newest first: the garbage came first.
    let page = org
        .client
        .refusals(program, &distributor_api::PageQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total_elements_amount, 4);
    assert!(page
        .refusals
        .iter()
        .all(|r| r.kind == distributor_api::UploadKind::Execution
            && r.code == ErrorCode::InvalidExecution
            && r.input_group_id == group));
    let oldest = &page.refusals[3].message;
    assert!(oldest.len() > 30, "the reason the donor was told: {oldest}");
}

async fn an_execution_is_accepted_once_and_only_for_an_unproven_group(app: TestApp) {
    let org = app.org("Executor").await;
    let other = app.org("Not The Executor").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let proven = upload_inputs(&org, program, "p", 4).await;
    let execution = execution_of("3").await;

    // The ids must name one organization's program and one of its input groups.
    let wrong_org = UploadExecutionData {
        organization_id: other.organization_id,
        ..ids(&org, program, group)
    };
    assert_code(
        app.client
            .upload_execution(execution.clone(), &wrong_org)
            .await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        app.client
            .upload_execution(execution.clone(), &ids(&org, Uuid::new_v4(), group))
            .await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        app.client
            .upload_execution(execution.clone(), &ids(&org, program, Uuid::new_v4()))
            .await,
        ErrorCode::InputGroupNotFound,
    );
    assert_code(
        app.client
            .upload_execution(Vec::new(), &ids(&org, program, group))
            .await,
        ErrorCode::InvalidRequest,
    );

    // Accepted once.
    app.client
        .upload_execution(execution.clone(), &ids(&org, program, group))
        .await
        .unwrap();
    let key = execution_key(&app, program, group).await.unwrap();
    assert_code(
        app.client
            .upload_execution(execution.clone(), &ids(&org, program, group))
            .await,
        ErrorCode::ExecutionAlreadyUploaded,
    );
    assert_eq!(execution_key(&app, program, group).await, Some(key));

    // Never for a proven group.
    app.client
        .upload_proof(proof_of("4").await, &ids(&org, program, proven))
        .await
        .unwrap();
    assert_code(
        app.client
            .upload_execution(execution_of("4").await, &ids(&org, program, proven))
            .await,
        ErrorCode::ProofAlreadySubmitted,
    );
    assert_eq!(counts(&org, program).await, (2, 0, 0, 1, 1, 0));
}

async fn of_racing_executions_for_one_group_exactly_one_is_accepted(app: TestApp) {
    let org = app.org("Racing Executors").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let execution = execution_of("3").await;
    let uploads: Vec<_> = (0..6)
        .map(|_| {
            let client = app.client.clone();
            let (execution, data) = (execution.clone(), ids(&org, program, group));
            tokio::spawn(async move { client.upload_execution(execution, &data).await })
        })
        .collect();
    let mut accepted = 0;
    for upload in uploads {
        match upload.await.unwrap() {
            Ok(()) => accepted += 1,
            Err(e) => assert_eq!(e.code(), Some(ErrorCode::ExecutionAlreadyUploaded), "{e}"),
        }
    }
    assert_eq!(accepted, 1);
    assert_eq!(counts(&org, program).await, (1, 0, 0, 1, 0, 0));
    let proving = app.client.reserve_for_proving(program).await.unwrap();
    assert_eq!(proving.execution, Some(execution));
}

async fn oversized_executions_are_refused(app: TestApp) {
    let org = app.org("Big Executor").await;
    let program = upload_program(&org, "double", 30).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let huge = vec![7u8; app.settings.limits.execution_bytes + 1];
    assert_code(
        app.client
            .upload_execution(huge, &ids(&org, program, group))
            .await,
        ErrorCode::PayloadTooLarge,
    );
    assert_eq!(counts(&org, program).await, (1, 1, 0, 0, 0, 0));
}

async fn deleting_a_group_or_a_program_deletes_its_execution(app: TestApp) {
    let org = app.org("Tidy").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let kept = upload_inputs(&org, program, "h", 4).await;
    let data = |g| ids(&org, program, g);
    app.client
        .upload_execution(execution_of("3").await, &data(group))
        .await
        .unwrap();
    app.client
        .upload_execution(execution_of("4").await, &data(kept))
        .await
        .unwrap();
    let group_key = execution_key(&app, program, group).await.unwrap();
    let kept_key = execution_key(&app, program, kept).await.unwrap();

    org.client.delete_input_group(program, group).await.unwrap();
    assert!(!object_exists(&app, &group_key).await);
    assert!(object_exists(&app, &kept_key).await);

    org.client.delete_program(program).await.unwrap();
    assert!(!object_exists(&app, &kept_key).await);
}

/// Uploads `file` as the execution of `group` and returns why it was refused
/// (`INVALID_EXECUTION`); checks that nothing was stored.
async fn refusal_of(app: &TestApp, org: &Org, program: Uuid, group: Uuid, file: Vec<u8>) -> String {
    let message = refused_message(
        app.client
            .upload_execution(file, &ids(org, program, group))
            .await,
    );
    assert_eq!(execution_key(app, program, group).await, None, "{message}");
    message
}

async fn an_execution_bomb_is_refused_at_its_first_wrong_field(app: TestApp) {
    let org = app.org("Bomber").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    // 257 MiB of zeros (more than any limit) behind 32 bytes that are not the program's hash:
    // refused at the hash, before the zeros are inflated (not after, as too large).
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let bomb = BOMB.get_or_init(|| execution_bomb(&[7u8; 32], 257)).clone();
    assert!(bomb.len() < 512 * 1024, "a bomb of {} bytes", bomb.len());
    let message = refusal_of(&app, &org, program, group, bomb).await;
    assert!(message.contains("another program"), "{message}");
    // The honest run followed by zeros: refused at the first byte after its memory.
    let honest = execution_of("3").await;
    let padded = execution_bomb(&execution_body(&honest), 8);
    let message = refusal_of(&app, &org, program, group, padded).await;
    assert!(message.contains("after the memory"), "{message}");
    app.client
        .upload_execution(honest, &ids(&org, program, group))
        .await
        .unwrap();
}

async fn a_trace_that_cannot_be_the_run_is_refused_before_the_replay(app: TestApp) {
    let org = app.org("Claimer").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let honest = run_of("3").await;
    // The reported attack: a few KB claiming the most steps allowed, with an all-zero trace.
    let mut claim = honest.clone();
    claim.steps = app.settings.limits.execution_steps;
    let zero = cairo_stark::vm::Registers {
        pc: 0,
        ap: 0,
        fp: 0,
    };
    claim.trace = vec![zero; claim.steps + 1];
    let file = claim.to_file_bytes();
    // A few dozen KB for the 2^22 - 1 steps allowed (the all-zero trace compresses well).
    assert!(file.len() < 64 * 1024, "{} bytes", file.len());
    let message = refusal_of(&app, &org, program, group, file).await;
    assert!(
        message.contains("trace") && message.contains("row 0"),
        "{message}"
    );
    // A trace that starts right and then stays put, claiming as many steps.
    let mut stalled = honest.clone();
    stalled.steps = app.settings.limits.execution_steps;
    let (first, last) = (honest.trace[0], honest.trace[honest.steps]);
    stalled.trace = vec![first; stalled.steps];
    stalled.trace.push(last);
    let message = refusal_of(&app, &org, program, group, stalled.to_file_bytes()).await;
    assert!(
        message.contains("repeats") && message.contains("row 1"),
        "{message}"
    );
}

/// Why an upload was refused (`INVALID_EXECUTION`).
fn refused_message(result: Result<(), ClientError>) -> String {
    match result {
        Err(ClientError::Api { code, message, .. }) => {
            assert_eq!(code, ErrorCode::InvalidExecution, "{message}");
            message
        }
        other => panic!("expected INVALID_EXECUTION, got {other:?}"),
    }
}

async fn the_step_cap_is_the_configured_one(backend: Backend) {
    let honest = run_of("3").await;
    let cap = honest.steps - 1;
    let app = spawn_app_with(backend, |s| s.limits.execution_steps = cap).await;
    let org = app.org("Capped").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let result = app
        .client
        .upload_execution(honest.to_file_bytes(), &ids(&org, program, group))
        .await;
    let message = refused_message(result);
    assert!(message.contains(&format!("1 to {cap}")), "{message}");
}

async fn the_decoded_size_limit_is_the_configured_one(backend: Backend) {
    let honest = execution_of("3").await;
    let body = execution_body(&honest).len() as u64;
    let app = spawn_app_with(backend, |s| s.limits.execution_decoded_bytes = body - 1).await;
    let org = app.org("Small").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let result = app
        .client
        .upload_execution(honest, &ids(&org, program, group))
        .await;
    let message = refused_message(result);
    assert!(
        message.contains(&format!("{} bytes", body - 1)),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_limits_are_configurable() {
    for backend in [Backend::MariaDbS3, Backend::Embedded] {
        the_step_cap_is_the_configured_one(backend).await;
        the_decoded_size_limit_is_the_configured_one(backend).await;
    }
}
