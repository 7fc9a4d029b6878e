//! Reservation ids: the holder of a reservation (and only it) gives the group back early, with
//! `POST /program/reservation/release` or by a refused upload that names the reservation.

use distributor_api::{ErrorCode, PageQuery, ReservationMetadata};
use uuid::Uuid;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_released_group_is_handed_out_again_at_once_in_every_stage,
    only_a_live_reservation_can_be_released,
    a_released_id_does_not_release_the_next_reservation_of_the_group,
    a_bad_upload_that_does_not_name_the_live_reservation_leaves_it,
    valid_uploads_are_accepted_with_or_without_the_reservation_id,
    release_bodies_are_checked,
);

/// The reservation's id (the server always sends one).
fn id_of(metadata: &ReservationMetadata) -> Uuid {
    metadata.reservation_id.expect("a reservation id")
}

/// Input groups of the program reserved right now, by the status counts and by the listing
/// (which must agree).
async fn reserved(org: &Org, program: Uuid) -> i64 {
    let counted = org.client.program_status(program).await.unwrap().reserved;
    let listed = org
        .client
        .input_groups(program, &PageQuery::new(50, 1))
        .await
        .unwrap()
        .program_input_groups
        .iter()
        .filter(|g| g.reserved_until.is_some())
        .count() as i64;
    assert_eq!(counted, listed, "the status and the listing disagree");
    counted
}

async fn a_released_group_is_handed_out_again_at_once_in_every_stage(app: TestApp) {
    let org = app.org("Releaser").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;

    // Whole: the group comes back at once, under a new reservation id.
    let first = app.client.reserve(program).await.unwrap().metadata;
    assert_eq!(reserved(&org, program).await, 1);
    app.client
        .release_reservation(program, group, id_of(&first))
        .await
        .unwrap();
    assert_eq!(reserved(&org, program).await, 0);
    let second = app.client.reserve(program).await.unwrap().metadata;
    assert_eq!(second.input_group_id, group);
    assert_ne!(id_of(&second), id_of(&first));
    app.client
        .release_reservation(program, group, id_of(&second))
        .await
        .unwrap();

    // Execute.
    let executing = app.client.reserve_for_execution(program).await.unwrap();
    assert_eq!(executing.metadata.input_group_id, group);
    app.client
        .release_reservation(program, group, id_of(&executing.metadata))
        .await
        .unwrap();
    let again = app.client.reserve_for_execution(program).await.unwrap();
    assert_eq!(again.metadata.input_group_id, group);
    app.client
        .release_reservation(program, group, id_of(&again.metadata))
        .await
        .unwrap();

    // Prove: the execution stays with the group.
    let execution = execution_of("3").await;
    app.client
        .upload_execution(execution.clone(), &ids(&org, program, group))
        .await
        .unwrap();
    let proving = app.client.reserve_for_proving(program).await.unwrap();
    app.client
        .release_reservation(program, group, id_of(&proving.metadata))
        .await
        .unwrap();
    assert_eq!(reserved(&org, program).await, 0);
    let again = app.client.reserve_for_proving(program).await.unwrap();
    assert_eq!(again.metadata.input_group_id, group);
    assert_eq!(again.execution, Some(execution));
}

async fn only_a_live_reservation_can_be_released(app: TestApp) {
    let org = app.org("Strict Releaser").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let metadata = app.client.reserve(program).await.unwrap().metadata;
    let live = id_of(&metadata);

    // A wrong id, or the right id on another group or program, ends nothing.
    let not_found = [
        (program, group, Uuid::new_v4()),
        (program, Uuid::new_v4(), live),
        (Uuid::new_v4(), group, live),
    ];
    for (p, g, r) in not_found {
        assert_code(
            app.client.release_reservation(p, g, r).await,
            ErrorCode::ReservationNotFound,
        );
    }
    assert_eq!(reserved(&org, program).await, 1);
    // Released once, then it is gone.
    app.client
        .release_reservation(program, group, live)
        .await
        .unwrap();
    assert_code(
        app.client.release_reservation(program, group, live).await,
        ErrorCode::ReservationNotFound,
    );

    // A proof ends the reservation: its id releases nothing afterwards (with or without the id
    // in the upload).
    let proven = app.client.reserve(program).await.unwrap().metadata;
    app.client
        .upload_proof(proof_of("3").await, &ids(&org, program, group))
        .await
        .unwrap();
    assert_code(
        app.client
            .release_reservation(program, group, id_of(&proven))
            .await,
        ErrorCode::ReservationNotFound,
    );

    // An expired lock is not a reservation any more.
    let short = upload_program(&org, "double quickly", 1).await;
    let short_group = upload_inputs(&org, short, "g", 3).await;
    let expiring = app.client.reserve(short).await.unwrap().metadata;
    app.advance_clock_past(expiring.lock_expires_at);
    assert_code(
        app.client
            .release_reservation(short, short_group, id_of(&expiring))
            .await,
        ErrorCode::ReservationNotFound,
    );
    assert_eq!(reserved(&org, short).await, 0);
}

async fn a_released_id_does_not_release_the_next_reservation_of_the_group(app: TestApp) {
    let org = app.org("Next Donor").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let first = id_of(&app.client.reserve(program).await.unwrap().metadata);
    app.client
        .release_reservation(program, group, first)
        .await
        .unwrap();
    let next = id_of(&app.client.reserve(program).await.unwrap().metadata);

    // The first donor's id is spent: the next donor keeps the group.
    assert_code(
        app.client.release_reservation(program, group, first).await,
        ErrorCode::ReservationNotFound,
    );
    assert_code(
        app.client.reserve(program).await,
        ErrorCode::NoInputGroupAvailable,
    );
    app.client
        .release_reservation(program, group, next)
        .await
        .unwrap();
    assert_eq!(
        app.client
            .reserve(program)
            .await
            .unwrap()
            .metadata
            .input_group_id,
        group
    );
}

async fn a_bad_upload_that_does_not_name_the_live_reservation_leaves_it(app: TestApp) {
    // Long enough that a loaded machine does not see the lock expire during the uploads, short
    // enough to wait for.
    const LOCK_SECONDS: i64 = 5;
    let org = app.org("Bystander").await;
    let program = upload_program(&org, "double", LOCK_SECONDS).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let spent = id_of(&app.client.reserve(program).await.unwrap().metadata);
    app.client
        .release_reservation(program, group, spent)
        .await
        .unwrap();
    let live = app.client.reserve(program).await.unwrap().metadata;

    let not_the_live_one = [
        ("no id", None),
        ("another id", Some(Uuid::new_v4())),
        ("a spent id of the group", Some(spent)),
    ];
    for (what, reservation_id) in not_the_live_one {
        let data = distributor_api::UploadProofData {
            reservation_id,
            ..ids(&org, program, group)
        };
        assert_code(
            app.client.upload_proof(b"junk".to_vec(), &data).await,
            ErrorCode::InvalidProof,
        );
        assert_code(
            app.client.upload_execution(b"junk".to_vec(), &data).await,
            ErrorCode::InvalidExecution,
        );
        // The donor keeps the group.
        assert_eq!(reserved(&org, program).await, 1, "{what}");
        assert_code(
            app.client.reserve(program).await,
            ErrorCode::NoInputGroupAvailable,
        );
    }

    // The group comes back only when the lock expires; the expired id then ends nothing.
    app.advance_clock_past(live.lock_expires_at);
    let next = app.client.reserve(program).await.unwrap().metadata;
    assert_eq!(next.input_group_id, group);
    let stale = ids_under(&org, program, group, id_of(&live));
    assert_code(
        app.client.upload_proof(b"junk".to_vec(), &stale).await,
        ErrorCode::InvalidProof,
    );
    assert_eq!(reserved(&org, program).await, 1);
    // Its holder's own bad upload does end it.
    let own = ids_under(&org, program, group, id_of(&next));
    assert_code(
        app.client.upload_proof(b"junk".to_vec(), &own).await,
        ErrorCode::InvalidProof,
    );
    assert_eq!(reserved(&org, program).await, 0);
}

async fn valid_uploads_are_accepted_with_or_without_the_reservation_id(app: TestApp) {
    let org = app.org("Honest Donors").await;
    let program = upload_program(&org, "double", 600).await;
    let with_id = upload_inputs(&org, program, "with", 3).await;

    // Execute under the reservation, then prove under the proving reservation.
    let executing = app.client.reserve_for_execution(program).await.unwrap();
    assert_eq!(executing.metadata.input_group_id, with_id);
    let executor = id_of(&executing.metadata);
    app.client
        .upload_execution(
            execution_of("3").await,
            &ids_under(&org, program, with_id, executor),
        )
        .await
        .unwrap();
    // Recording the execution ended the executor's reservation.
    assert_code(
        app.client
            .release_reservation(program, with_id, executor)
            .await,
        ErrorCode::ReservationNotFound,
    );
    let proving = app.client.reserve_for_proving(program).await.unwrap();
    let prover = id_of(&proving.metadata);
    app.client
        .upload_proof(
            proof_of("3").await,
            &ids_under(&org, program, with_id, prover),
        )
        .await
        .unwrap();
    assert_code(
        app.client
            .release_reservation(program, with_id, prover)
            .await,
        ErrorCode::ReservationNotFound,
    );

    // Without an id, reserved or not, and with an id that is not the live one.
    let without = upload_inputs(&org, program, "without", 4).await;
    app.client.reserve(program).await.unwrap();
    app.client
        .upload_execution(execution_of("4").await, &ids(&org, program, without))
        .await
        .unwrap();
    app.client
        .upload_proof(
            proof_of("4").await,
            &ids_under(&org, program, without, Uuid::new_v4()),
        )
        .await
        .unwrap();
    let status = org.client.program_status(program).await.unwrap();
    assert_eq!((status.proven, status.reserved, status.executed), (2, 0, 0));
}

async fn release_bodies_are_checked(app: TestApp) {
    let id = Uuid::new_v4();
    let bodies = [
        serde_json::json!({"program_id": id, "input_group_id": id}),
        serde_json::json!({"program_id": id, "input_group_id": id, "reservation_id": "nope"}),
        serde_json::json!({
            "program_id": id, "input_group_id": id, "reservation_id": id, "extra": 1
        }),
    ];
    for body in bodies {
        let response = app
            .client
            .request(
                reqwest::Method::POST,
                distributor_api::paths::RESERVATION_RELEASE,
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["error_code"], "INVALID_REQUEST", "{body}");
    }
}
