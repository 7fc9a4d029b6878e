use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use distributor_api::{ClientError, ErrorCode, PageQuery};
use futures_util::StreamExt;
use uuid::Uuid;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_reservation_holds_the_program_the_inputs_and_the_metadata,
    reserving_from_an_empty_or_unknown_program_says_so,
    concurrent_reservers_never_share_a_live_input_group,
    reserve_prove_confirm_reject_lifecycle_and_status,
);

async fn a_reservation_holds_the_program_the_inputs_and_the_metadata(app: TestApp) {
    let org = app.org("Reserved").await;
    let program = upload_program(&org, "double", 30).await;
    let group = org
        .client
        .upload_inputs(
            program,
            b"21,0x2".to_vec(),
            &distributor_api::UploadInputsData {
                name: "answer".into(),
            },
        )
        .await
        .unwrap();
    let before = Utc::now();
    let reservation = app.client.reserve(program).await.unwrap();
    assert_eq!(reservation.program_json, fixture("proof_mode.json"));
    assert_eq!(
        cairo_stark::inputs::parse_csv(&reservation.inputs_csv).unwrap(),
        cairo_stark::inputs::parse_csv(b"21,2").unwrap()
    );
    let metadata = reservation.metadata;
    assert_eq!(metadata.organization_id, org.organization_id);
    assert_eq!(metadata.program_id, program);
    assert_eq!(metadata.input_group_id, group);
    assert_eq!(metadata.input_group_name, "answer");
    assert!(metadata.reservation_id.is_some());
    let lock = (metadata.lock_expires_at - before).num_milliseconds();
    assert!((29_000..=31_000).contains(&lock), "lock of {lock} ms");
    let page = org
        .client
        .input_groups(program, &PageQuery::default())
        .await
        .unwrap();
    assert!(page.program_input_groups[0].last_reserved.is_some());

    // The raw tar holds exactly the three documented files.
    org.client.reject_proof(program, group).await.unwrap_err();
    upload_inputs(&org, program, "another", 5).await;
    let raw = app.client.reserve_raw(program).await.unwrap();
    let mut archive = tar::Archive::new(&raw[..]);
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, ["program.json", "inputs.csv", "metadata.json"]);
}

async fn reserving_from_an_empty_or_unknown_program_says_so(app: TestApp) {
    let org = app.org("Empty").await;
    let program = upload_program(&org, "double", 30).await;
    assert_code(
        app.client.reserve(program).await,
        ErrorCode::NoInputGroupAvailable,
    );
    upload_inputs(&org, program, "only", 1).await;
    app.client.reserve(program).await.unwrap();
    assert_code(
        app.client.reserve(program).await,
        ErrorCode::NoInputGroupAvailable,
    );
    assert_code(
        app.client.reserve(Uuid::new_v4()).await,
        ErrorCode::ProgramNotFound,
    );
    // A deleted program is gone for reservations at once (no stale cache).
    org.client.delete_program(program).await.unwrap();
    assert_code(
        app.client.reserve(program).await,
        ErrorCode::ProgramNotFound,
    );
    let response = app
        .client
        .request(reqwest::Method::GET, "/program/program-and-inputs/42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// Locks no step outlives however slow the machine; they expire when the test moves the clock.
const LIFECYCLE_LOCK_SECONDS: i64 = 600;
const GROUPS: usize = 200;
const RESERVERS: usize = 32;
/// Longer than any round of reservations: the locks expire only when the test moves the server's
/// clock past them, so "each group exactly once" holds however slow the machine.
const LOCK_SECONDS: i64 = 3600;

/// One reservation: which group, until when.
type Handout = (Uuid, DateTime<Utc>);

/// `RESERVERS` clients reserve until the server says none is available.
async fn reserve_until_dry(app: &TestApp, program: Uuid) -> Vec<Handout> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(RESERVERS)
        .build()
        .unwrap();
    let client = distributor_api::Client::with_http_client(http, app.address.clone());
    let tasks: Vec<_> = (0..RESERVERS)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                // Bounded in case the machine is so slow that locks expire during the round.
                while got.len() < 4 * GROUPS {
                    match client.reserve(program).await {
                        Ok(r) => got.push((r.metadata.input_group_id, r.metadata.lock_expires_at)),
                        Err(ClientError::Api {
                            code: ErrorCode::NoInputGroupAvailable,
                            ..
                        }) => break,
                        Err(e) => panic!("reservation failed: {e}"),
                    }
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

/// No group was handed out again before its previous reservation expired.
fn assert_no_live_overlap(handouts: &[Handout]) {
    let mut by_group: HashMap<Uuid, Vec<DateTime<Utc>>> = HashMap::new();
    for (group, until) in handouts {
        by_group.entry(*group).or_default().push(*until);
    }
    for (group, mut untils) in by_group {
        untils.sort();
        for pair in untils.windows(2) {
            let next_reserved_at = pair[1] - chrono::Duration::seconds(LOCK_SECONDS);
            assert!(
                next_reserved_at >= pair[0],
                "group {group} was handed out at {next_reserved_at} while reserved until {}",
                pair[0]
            );
        }
    }
}

async fn concurrent_reservers_never_share_a_live_input_group(app: TestApp) {
    let org = app.org("Busy").await;
    let program = upload_program(&org, "double", LOCK_SECONDS).await;
    // Input `i % 20`: the ten groups of input 0 are proven below by one real proof.
    let uploaded: HashMap<Uuid, u64> = futures_util::stream::iter(0..GROUPS)
        .map(|i| {
            let org = &org;
            async move {
                let value = (i % 20) as u64;
                let id = upload_inputs(org, program, &format!("group {i}"), value).await;
                (id, value)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let zero_proof = proof_of("0").await;
    let proven: Vec<Uuid> = uploaded
        .iter()
        .filter(|(_, value)| **value == 0)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(proven.len(), 10);
    let uploaded: HashSet<Uuid> = uploaded.into_keys().collect();
    assert_eq!(uploaded.len(), GROUPS);

    let first = reserve_until_dry(&app, program).await;
    assert_no_live_overlap(&first);
    let distinct: HashSet<Uuid> = first.iter().map(|(g, _)| *g).collect();
    assert_eq!(distinct, uploaded, "every group was handed out");
    assert_eq!(
        first.len(),
        GROUPS,
        "each group exactly once while locks are live"
    );
    let status = org.client.program_status(program).await.unwrap();
    assert_eq!(status.total, GROUPS as i64);

    // Prove ten of them; the rest must come back once their locks expire.
    for group in &proven {
        app.client
            .upload_proof(zero_proof.clone(), &ids(&org, program, *group))
            .await
            .unwrap();
    }
    let status = org.client.program_status(program).await.unwrap();
    assert_eq!(
        (status.uploaded, status.reserved, status.proven),
        (0, 190, 10)
    );
    app.advance_clock(Duration::from_secs(LOCK_SECONDS as u64 + 1));
    let status = org.client.program_status(program).await.unwrap();
    assert_eq!(
        (status.uploaded, status.reserved, status.proven),
        (190, 0, 10)
    );

    let second = reserve_until_dry(&app, program).await;
    assert_no_live_overlap(&second);
    let distinct: HashSet<Uuid> = second.iter().map(|(g, _)| *g).collect();
    let expected: HashSet<Uuid> = uploaded
        .difference(&proven.iter().copied().collect())
        .copied()
        .collect();
    assert_eq!(
        distinct, expected,
        "the unproven groups came back, the proven ones did not"
    );
    assert_eq!(second.len(), GROUPS - 10, "each group exactly once again");
}

async fn reserve_prove_confirm_reject_lifecycle_and_status(app: TestApp) {
    let org = app.org("Lifecycle").await;
    let program = upload_program(&org, "double", LIFECYCLE_LOCK_SECONDS).await;
    let mut groups = HashSet::new();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        groups.insert(upload_inputs(&org, program, name, i as u64).await);
    }
    let counts = |s: distributor_api::ProgramStatus| {
        (s.total, s.uploaded, s.reserved, s.proven, s.confirmed)
    };
    let status = || async { counts(org.client.program_status(program).await.unwrap()) };
    assert_eq!(status().await, (3, 3, 0, 0, 0));
    // Prove the three inputs now (cached).
    for value in ["0", "1", "2"] {
        crate::helpers::proof_of(value).await;
    }

    let x = app
        .client
        .reserve(program)
        .await
        .unwrap()
        .metadata
        .input_group_id;
    assert_eq!(status().await, (3, 2, 1, 0, 0));
    let proof_of = |group: Uuid| ids(&org, program, group);
    // Group `i` holds input `i`.
    let inputs = org
        .client
        .input_groups(program, &PageQuery::default())
        .await
        .unwrap();
    let value_of = |group: Uuid| {
        let name = &inputs
            .program_input_groups
            .iter()
            .find(|g| g.input_group_id == group)
            .unwrap()
            .name;
        ["a", "b", "c"].iter().position(|n| n == name).unwrap()
    };
    let proof = crate::helpers::proof_of(&value_of(x).to_string()).await;
    app.client
        .upload_proof(proof.clone(), &proof_of(x))
        .await
        .unwrap();
    assert_eq!(status().await, (3, 2, 0, 1, 0));
    assert_code(
        app.client.upload_proof(proof.clone(), &proof_of(x)).await,
        ErrorCode::ProofAlreadySubmitted,
    );

    let with_proofs = org
        .client
        .programs_with_proofs(&PageQuery::default())
        .await
        .unwrap();
    assert_eq!(with_proofs.total_elements_amount, 1);
    assert_eq!(with_proofs.programs[0].program_id, program);
    let proven = org
        .client
        .proven_input_groups(program, &PageQuery::default())
        .await
        .unwrap();
    assert_eq!(proven.total_elements_amount, 1);
    assert_eq!(proven.program_input_groups[0].input_group_id, x);
    assert!(proven.program_input_groups[0].proven_datetime.is_some());
    assert!(proven.program_input_groups[0].steps.is_some_and(|s| s > 0));
    assert_eq!(org.client.proof(program, x).await.unwrap(), proof);

    // Confirm: the proof goes, the group stays proven.
    org.client.confirm_proof(program, x).await.unwrap();
    assert_eq!(status().await, (3, 2, 0, 0, 1));
    assert_code(org.client.proof(program, x).await, ErrorCode::ProofNotFound);
    assert_code(
        org.client.confirm_proof(program, x).await,
        ErrorCode::ProofNotFound,
    );
    assert_code(
        org.client.reject_proof(program, x).await,
        ErrorCode::ProofNotFound,
    );
    assert_code(
        app.client.upload_proof(proof.clone(), &proof_of(x)).await,
        ErrorCode::ProofAlreadySubmitted,
    );
    let with_proofs = org
        .client
        .programs_with_proofs(&PageQuery::default())
        .await
        .unwrap();
    assert_eq!(with_proofs.total_elements_amount, 0);

    // Reject: the proof goes, the group is offered again at once.
    let y = app
        .client
        .reserve(program)
        .await
        .unwrap()
        .metadata
        .input_group_id;
    let proof_y = crate::helpers::proof_of(&value_of(y).to_string()).await;
    app.client
        .upload_proof(proof_y, &proof_of(y))
        .await
        .unwrap();
    assert_eq!(status().await, (3, 1, 0, 1, 1));
    org.client.reject_proof(program, y).await.unwrap();
    assert_eq!(status().await, (3, 2, 0, 0, 1));
    let page = org
        .client
        .input_groups(program, &PageQuery::default())
        .await
        .unwrap();
    let y_row = page
        .program_input_groups
        .iter()
        .find(|g| g.input_group_id == y)
        .unwrap();
    assert_eq!((y_row.last_reserved, y_row.proven_datetime), (None, None));
    assert_eq!(y_row.steps, None);
    let again: Vec<_> = vec![
        app.client.reserve(program).await.unwrap().metadata,
        app.client.reserve(program).await.unwrap().metadata,
    ];
    let again: HashSet<Uuid> = again.iter().map(|m| m.input_group_id).collect();
    groups.remove(&x);
    assert_eq!(again, groups, "the rejected group and the untouched one");
    assert_code(
        app.client.reserve(program).await,
        ErrorCode::NoInputGroupAvailable,
    );
    assert_eq!(status().await, (3, 0, 2, 0, 1));

    // The locks expire by themselves.
    app.advance_clock(Duration::from_secs(LIFECYCLE_LOCK_SECONDS as u64 + 1));
    assert_eq!(status().await, (3, 2, 0, 0, 1));
    app.client.reserve(program).await.unwrap();
}
