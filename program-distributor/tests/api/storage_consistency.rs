//! Crash safety of the storage: the real server binary is killed (SIGKILL) at random moments of
//! uploads and deletions, many times. After each kill, no database row may refer to a missing
//! object; after each restart, the start-up sweep removes every object no row refers to.

use std::time::{Duration, Instant};

use distributor_api::{Client, ClientError, UploadInputsData};
use program_distributor::storage::keys;
use program_distributor::testing;
use uuid::Uuid;

use crate::for_both_backends;
use crate::helpers::*;
use crate::process::{environment, ServerProcess};

for_both_backends!(
    a_server_killed_mid_write_leaves_no_row_without_its_object,
    the_sweeper_runs_periodically_and_spares_young_objects,
);

/// Kills per backend, unless [`TIME_BUDGET`] runs out first.
const ROUNDS: usize = 25;
/// The test stops starting rounds after this (it always runs at least [`MIN_ROUNDS`]).
const TIME_BUDGET: Duration = Duration::from_secs(60);
const MIN_ROUNDS: usize = 4;
/// Writers running at once when the kill comes.
const WRITERS: usize = 4;
/// Every input group holds this value, so that one real proof fits them all.
const INPUT: &str = "5";

/// A number in `0..n` that differs from run to run.
fn random_below(n: u64) -> u64 {
    (Uuid::new_v4().as_u128() % u128::from(n.max(1))) as u64
}

async fn a_server_killed_mid_write_leaves_no_row_without_its_object(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (settings, _database) = testing::settings(backend, "crash", dir.path()).await;
    let mut env = environment(&settings);
    env.push(("STORAGE_SWEEP_GRACE_SECS".into(), "0".into()));
    env.push(("STORAGE_SWEEP_INTERVAL_SECS".into(), "0".into()));
    let proof = proof_of(INPUT).await;

    let server = ServerProcess::start(&env, dir.path(), &[]).await;
    let org = org_on(&Client::new(server.address.clone()), "Crashing").await;
    let (token, organization) = (org.login.basic_token.token, org.organization_id);
    let mut server = Some(server);
    let started = Instant::now();
    let (mut rounds, mut orphans_left, mut objects_seen) = (0, 0, 0);
    while rounds < ROUNDS && (rounds < MIN_ROUNDS || started.elapsed() < TIME_BUDGET) {
        let running = server.take().expect("a running server");
        let org = Client::new(running.address.clone()).with_token(&token);
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| tokio::spawn(write_until_killed(org.clone(), organization, proof.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(50 + random_below(700))).await;
        running.kill();
        for writer in writers {
            writer.await.expect("writer task");
        }

        // Down: every row's objects are there; what a write left half-done is an orphan.
        let (stored, referenced) = inventory(&settings).await;
        let missing: Vec<_> = referenced.difference(&stored).collect();
        assert!(
            missing.is_empty(),
            "{backend:?}, round {rounds}: rows refer to missing objects: {missing:?}"
        );
        orphans_left += stored.difference(&referenced).count();
        objects_seen += stored.len();
        // An orphan of a known shape, so that every sweep has something to remove.
        let planted = keys::program_json(&Uuid::new_v4().to_string());
        object_store_of(&settings)
            .put(&planted, bytes::Bytes::from_static(b"{}"))
            .await
            .unwrap();

        // Up again: the start-up sweep removes exactly the orphans.
        let restarted = ServerProcess::start(&env, dir.path(), &[]).await;
        restarted.wait_for_sweep().await;
        let (stored, referenced) = inventory(&settings).await;
        assert_eq!(
            stored, referenced,
            "{backend:?}, round {rounds}: after the sweep the store must hold exactly the \
             objects the rows refer to"
        );
        assert!(!stored.contains(&planted));
        assert!(
            restarted
                .metric(r#"storage_swept_objects_total{kind="orphan"}"#)
                .await
                >= 1.0
        );
        server = Some(restarted);
        rounds += 1;
    }
    eprintln!(
        "{backend:?}: {rounds} kills in {:.1} s; {objects_seen} objects checked, {orphans_left} \
         orphans left by the kills (and swept)",
        started.elapsed().as_secs_f64()
    );
    assert!(objects_seen > 0, "the writers never stored anything");
}

/// Whether a writer goes on after `result`: yes after an answer, no once the server is gone. A
/// 5xx answer fails the test (the kill must be the only fault).
fn goes_on<T>(result: &Result<T, ClientError>) -> bool {
    match result {
        Ok(_) => true,
        Err(ClientError::Api { status, .. }) if *status < 500 => true,
        Err(ClientError::Api {
            status,
            code,
            message,
        }) => panic!("the server answered {status} {code}: {message}"),
        Err(_) => false,
    }
}

/// Uploads programs, input groups and proofs and deletes some of them, until the server dies.
async fn write_until_killed(org: Client, organization: Uuid, proof: Vec<u8>) {
    let csv = || INPUT.as_bytes().to_vec();
    loop {
        let name = format!("p-{}", Uuid::new_v4().simple());
        let program = org
            .upload_program(program_tar(), &program_data(&name, 600))
            .await;
        let Ok(program) = program else {
            assert!(!goes_on(&program));
            return;
        };
        let mut groups = Vec::new();
        for i in 0..3 {
            let data = UploadInputsData {
                name: format!("g{i}"),
            };
            let group = org.upload_inputs(program, csv(), &data).await;
            match group {
                Ok(group) => groups.push(group),
                Err(_) if !goes_on(&group) => return,
                Err(_) => {}
            }
        }
        for (i, group) in groups.iter().enumerate() {
            let ids = distributor_api::UploadProofData {
                organization_id: organization,
                program_id: program,
                input_group_id: *group,
                reservation_id: None,
            };
            let outcome = match i {
                0 => org.upload_proof(proof.clone(), &ids).await,
                1 => org.delete_input_group(program, *group).await,
                _ => continue,
            };
            if !goes_on(&outcome) {
                return;
            }
        }
        if random_below(2) == 0 && !goes_on(&org.delete_program(program).await) {
            return;
        }
    }
}

/// Waits (at most 30 s) until `app` has swept `sweeps` times.
async fn wait_for_sweeps(app: &TestApp, sweeps: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = reqwest::get(format!("{}/metrics", app.address))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let done: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("storage_sweeps_total "))
            .map_or(0.0, |v| v.parse().unwrap());
        if done >= sweeps {
            return;
        }
        assert!(Instant::now() < deadline, "only {done} sweeps in 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An object no row refers to, planted in `app`'s store.
async fn plant_orphan(app: &TestApp) -> String {
    let key = keys::inputs(&Uuid::new_v4().to_string(), &Uuid::new_v4().to_string());
    app.object_store()
        .put(&key, bytes::Bytes::from_static(b"1"))
        .await
        .unwrap();
    key
}

async fn the_sweeper_runs_periodically_and_spares_young_objects(backend: Backend) {
    use program_distributor::configuration::StorageCare;
    let every_second = |grace: Duration| StorageCare {
        sweep_interval: Some(Duration::from_secs(1)),
        sweep_grace: grace,
        ..StorageCare::default()
    };
    // A long grace: an unreferenced object (an upload in flight) survives sweep after sweep.
    let patient = spawn_app_with(backend, |s| {
        s.storage_care = every_second(Duration::from_secs(3600))
    })
    .await;
    let org = patient.org("Patient").await;
    let program = upload_program(&org, "kept", 600).await;
    let young = plant_orphan(&patient).await;
    wait_for_sweeps(&patient, 3.0).await;
    let (stored, referenced) = inventory(&patient.settings).await;
    assert!(stored.contains(&young), "a young object was swept");
    assert!(referenced.contains(&keys::program_json(&program.to_string())));
    assert!(referenced.is_subset(&stored));

    // A short grace: a later sweep (not the start-up one) removes the orphan, and only it.
    let prompt = spawn_app_with(backend, |s| {
        s.storage_care = every_second(Duration::from_secs(1))
    })
    .await;
    let org = prompt.org("Prompt").await;
    upload_program(&org, "kept", 600).await;
    wait_for_sweeps(&prompt, 1.0).await;
    let orphan = plant_orphan(&prompt).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (stored, referenced) = inventory(&prompt.settings).await;
        if !stored.contains(&orphan) {
            assert_eq!(stored, referenced, "the sweep removed a referenced object");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the orphan outlived 30 s of sweeps"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
