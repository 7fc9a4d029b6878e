//! Three replicas of the server binary on one MariaDB and one S3 bucket, started at once (they
//! migrate the fresh database one after the other), with 32 donors spread over them. Locks are
//! one second long and some donors give up silently or come back late, so locks expire and groups
//! are handed out again. Every group must end up proven exactly once, with its proof stored; no
//! proof is accepted twice, no answer is a 5xx.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use distributor_api::{Client, ClientError, ErrorCode, UploadProofData};
use program_distributor::testing;
use uuid::Uuid;

use crate::helpers::*;
use crate::process::{environment, ServerProcess};

const REPLICAS: usize = 3;
const DONORS: usize = 32;
const GROUPS: usize = 48;
/// The program's lock, in seconds (the shortest there is).
const LOCK_SECONDS: i64 = 1;
/// The whole run must be over by then.
const DEADLINE: Duration = Duration::from_secs(60);
/// Every group holds this value, so one real proof fits them all.
const INPUT: &str = "7";

/// What a donor does with a reservation.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    /// Proves it in time.
    Prompt,
    /// Lets its lock expire and never comes back.
    Vanishes,
    /// Comes back after its lock expired (the group may be someone else's by then).
    Late,
}

fn behaviour(donor: usize, round: usize) -> Behaviour {
    match (donor + round) % 8 {
        0 => Behaviour::Vanishes,
        1 => Behaviour::Late,
        _ => Behaviour::Prompt,
    }
}

/// What the donors saw.
#[derive(Default)]
struct Record {
    /// The group of every accepted proof.
    accepted: Vec<Uuid>,
    /// Proofs refused because the group was proven already.
    refused_as_proven: usize,
    reservations: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_prove_every_group_exactly_once_with_expiring_locks() {
    let dir = tempfile::tempdir().unwrap();
    let (settings, _database) = testing::settings(Backend::MariaDbS3, "replicas", dir.path()).await;
    let env = environment(&settings);
    let proof = proof_of(INPUT).await;
    let starts = (0..REPLICAS).map(|i| {
        let config_dir = dir.path().join(format!("replica-{i}"));
        std::fs::create_dir_all(&config_dir).unwrap();
        let env = env.clone();
        async move { ServerProcess::start(&env, &config_dir, &[]).await }
    });
    let replicas = futures_util::future::join_all(starts).await;
    let started = Instant::now();

    let org = org_on(&Client::new(replicas[0].address.clone()), "Replicated").await;
    let program = upload_program(&org, "replicated", LOCK_SECONDS).await;
    for i in 0..GROUPS {
        let owner = Client::new(replicas[i % REPLICAS].address.clone())
            .with_token(&org.login.basic_token.token);
        let data = distributor_api::UploadInputsData {
            name: format!("g{i}"),
        };
        owner
            .upload_inputs(program, INPUT.into(), &data)
            .await
            .unwrap();
    }

    let record = Arc::new(Mutex::new(Record::default()));
    let done = Arc::new(AtomicBool::new(false));
    let donors: Vec<_> = (0..DONORS)
        .map(|donor| {
            let client = Client::new(replicas[donor % REPLICAS].address.clone());
            let ids = ids(&org, program, Uuid::nil());
            let (proof, record, done) = (proof.clone(), record.clone(), done.clone());
            tokio::spawn(donate(donor, client, ids, proof, record, done))
        })
        .collect();
    // The owner watches (through any replica) until every group is proven.
    let proven = loop {
        let status = org.client.program_status(program).await.unwrap();
        if status.proven as usize == GROUPS || started.elapsed() > DEADLINE {
            break status.proven;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    done.store(true, Ordering::SeqCst);
    for donor in donors {
        donor.await.expect("a donor panicked");
    }

    let record = std::mem::take(&mut *record.lock().unwrap());
    let distinct: HashSet<_> = record.accepted.iter().collect();
    assert_eq!(
        distinct.len(),
        record.accepted.len(),
        "a group's proof was accepted twice"
    );
    assert_eq!(
        proven as usize, GROUPS,
        "not every group was proven in time"
    );
    assert_eq!(record.accepted.len(), GROUPS);
    let (stored, referenced) = inventory(&settings).await;
    assert_eq!(stored, referenced, "objects and rows differ");
    let mut expiries = 0.0;
    for replica in &replicas {
        expiries += replica.metric("reservation_lock_expiries_total").await;
    }
    assert!(expiries >= 1.0, "no lock expired: the test lost its point");
    eprintln!(
        "{REPLICAS} replicas, {DONORS} donors, {GROUPS} groups: {} reservations, {expiries} lock \
         expiries, {} late proofs refused, all proven in {:.1} s",
        record.reservations,
        record.refused_as_proven,
        started.elapsed().as_secs_f64()
    );
}

/// One donor: reserves, then proves, vanishes or comes back late, until told to stop.
async fn donate(
    donor: usize,
    client: Client,
    ids: UploadProofData,
    proof: Vec<u8>,
    record: Arc<Mutex<Record>>,
    done: Arc<AtomicBool>,
) {
    let mut round = 0;
    while !done.load(Ordering::SeqCst) {
        let reservation = match client.reserve(ids.program_id).await {
            Ok(reservation) => reservation.metadata,
            Err(ClientError::Api {
                code: ErrorCode::NoInputGroupAvailable,
                ..
            }) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(e) => panic!("donor {donor}: reservation failed: {e}"),
        };
        record.lock().unwrap().reservations += 1;
        round += 1;
        let wait = match behaviour(donor, round) {
            Behaviour::Vanishes => continue,
            Behaviour::Late => Duration::from_millis(1300),
            Behaviour::Prompt => Duration::from_millis(20 * (donor as u64 % 5)),
        };
        tokio::time::sleep(wait).await;
        let ids = UploadProofData {
            input_group_id: reservation.input_group_id,
            reservation_id: reservation.reservation_id,
            ..ids
        };
        match client.upload_proof(proof.clone(), &ids).await {
            Ok(()) => record
                .lock()
                .unwrap()
                .accepted
                .push(reservation.input_group_id),
            Err(ClientError::Api {
                code: ErrorCode::ProofAlreadySubmitted,
                ..
            }) => record.lock().unwrap().refused_as_proven += 1,
            Err(e) => panic!("donor {donor}: proof upload failed: {e}"),
        }
    }
}
