//! Deleting a program while donors reserve from it: every reservation either succeeds or gets a
//! clean 404 (the program or the group is gone), never a 500.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use distributor_api::{ClientError, ErrorCode};
use uuid::Uuid;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(deleting_a_program_while_donors_reserve_never_answers_500);

const ROUNDS: usize = 30;
const RESERVERS: usize = 16;
const GROUPS: usize = 4;
/// How long a reserver goes on at most in a round (the loop ends earlier, at the deletion). A
/// time rather than a number of attempts: on a loaded machine the deletion may wait a while for a
/// database connection while the reservers' "none available" answers come fast.
const ROUND_LIMIT: Duration = Duration::from_secs(30);

/// How a reserver's round went.
#[derive(Default)]
struct Tally {
    reserved: usize,
    gone: usize,
}

/// Reserves and gives the group back at once, until the program is gone; panics on any answer
/// other than a reservation, "none available" or "deleted".
async fn reserve_until_deleted(
    client: distributor_api::Client,
    program: Uuid,
    started: Arc<AtomicUsize>,
) -> Tally {
    let mut tally = Tally::default();
    let deadline = std::time::Instant::now() + ROUND_LIMIT;
    while std::time::Instant::now() < deadline {
        match client.reserve(program).await {
            Ok(reservation) => {
                tally.reserved += 1;
                started.fetch_add(1, Ordering::SeqCst);
                let m = &reservation.metadata;
                let id = m
                    .reservation_id
                    .expect("this server names its reservations");
                let released = client
                    .release_reservation(m.program_id, m.input_group_id, id)
                    .await;
                if let Err(e) = released {
                    assert_code_in(e, &[ErrorCode::ReservationNotFound]);
                }
            }
            Err(e) => {
                let code = assert_code_in(
                    e,
                    &[
                        ErrorCode::NoInputGroupAvailable,
                        ErrorCode::ProgramNotFound,
                        ErrorCode::InputGroupNotFound,
                    ],
                );
                if code != ErrorCode::NoInputGroupAvailable {
                    tally.gone += 1;
                    break;
                }
            }
        }
    }
    tally
}

/// The error's code, which must be one of `allowed` (a 500 or a transport error fails the test).
fn assert_code_in(error: ClientError, allowed: &[ErrorCode]) -> ErrorCode {
    match error {
        ClientError::Api { code, .. } if allowed.contains(&code) => code,
        other => panic!("unexpected answer during the deletion race: {other}"),
    }
}

async fn deleting_a_program_while_donors_reserve_never_answers_500(app: TestApp) {
    let org = app.org("Racing").await;
    let mut reservations = 0;
    for round in 0..ROUNDS {
        let program = upload_program(&org, &format!("racing {round}"), 30).await;
        for group in 0..GROUPS {
            upload_inputs(&org, program, &format!("group {group}"), group as u64).await;
        }
        let started = Arc::new(AtomicUsize::new(0));
        let reservers: Vec<_> = (0..RESERVERS)
            .map(|_| {
                let client = app.client.clone();
                tokio::spawn(reserve_until_deleted(client, program, started.clone()))
            })
            .collect();
        // Delete once the reservers are busy (not a timing assertion: only when to delete).
        while started.load(Ordering::SeqCst) < RESERVERS {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        org.client.delete_program(program).await.expect("delete");
        let mut gone = 0;
        for reserver in reservers {
            let tally = reserver.await.expect("reserver");
            reservations += tally.reserved;
            gone += tally.gone;
        }
        assert_eq!(gone, RESERVERS, "every reserver saw the program go");
        match app.client.reserve(program).await {
            Err(ClientError::Api {
                code: ErrorCode::ProgramNotFound,
                ..
            }) => {}
            other => panic!("a deleted program still answers: {other:?}"),
        }
    }
    assert!(reservations >= ROUNDS * RESERVERS);
}
