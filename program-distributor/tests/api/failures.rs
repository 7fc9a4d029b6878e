//! Failed runs: the holder of a live reservation reports that its run failed; the group goes
//! behind the others, and after the program's maximum it is `failed` (not handed out, shown with
//! its reasons) until its organization retries it.

use distributor_api::{
    ErrorCode, FailureReason, FailureReport, FailureReportResponse, InputGroup, PageQuery,
    UploadProgramData,
};
use uuid::Uuid;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_group_that_keeps_failing_goes_behind_the_others_then_is_failed_with_its_reasons,
    a_retried_group_is_handed_out_again_without_its_failures,
    only_the_live_reservation_can_report_a_failure_and_only_once,
    failure_reports_and_the_maximum_are_bounded,
    only_the_owner_retries_a_group,
);

/// Uploads the valid program allowing `max_failures` failed runs per group.
async fn upload_with_max(org: &Org, name: &str, max_failures: u32) -> Uuid {
    let data = UploadProgramData {
        max_failures,
        ..program_data(name, 600)
    };
    org.client
        .upload_program(program_tar(), &data)
        .await
        .expect("upload program")
}

/// Reserves a group of the program; returns its id and the reservation's id.
async fn reserve(app: &TestApp, program: Uuid) -> (Uuid, Uuid) {
    let metadata = app.client.reserve(program).await.expect("reserve").metadata;
    (
        metadata.input_group_id,
        metadata.reservation_id.expect("a reservation id"),
    )
}

fn report(program: Uuid, group: Uuid, reservation: Uuid, message: &str) -> FailureReport {
    FailureReport {
        program_id: program,
        input_group_id: group,
        reservation_id: reservation,
        reason: FailureReason::AssertFailed,
        message: message.into(),
    }
}

/// Reports that the run of the reservation `reservation` of `group` failed with `message`.
async fn fail(
    app: &TestApp,
    program: Uuid,
    group: Uuid,
    reservation: Uuid,
    message: &str,
) -> FailureReportResponse {
    app.client
        .report_failure(&report(program, group, reservation, message))
        .await
        .expect("failure report")
}

/// The status code of a failure report sent as the raw JSON `body`.
async fn post_report(app: &TestApp, body: &serde_json::Value) -> u16 {
    app.client
        .request(
            reqwest::Method::POST,
            distributor_api::paths::FAILURE_REPORT,
        )
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The listed input group `group`.
async fn listed(org: &Org, program: Uuid, group: Uuid) -> InputGroup {
    org.client
        .input_groups(program, &PageQuery::new(50, 1))
        .await
        .expect("input groups")
        .program_input_groups
        .into_iter()
        .find(|g| g.input_group_id == group)
        .expect("the group is listed")
}

async fn a_group_that_keeps_failing_goes_behind_the_others_then_is_failed_with_its_reasons(
    app: TestApp,
) {
    let org = app.org("Failing Lab").await;
    let program = upload_with_max(&org, "double", 2).await;
    let a = upload_inputs(&org, program, "a", 50).await;
    let b = upload_inputs(&org, program, "b", 3).await;

    // Whichever group comes first (both may carry the same creation time) is the one that
    // fails; its failure puts it behind the other one.
    let (bad, reservation) = reserve(&app, program).await;
    assert!(bad == a || bad == b);
    let good = if bad == a { b } else { a };
    let answer = fail(
        &app,
        program,
        bad,
        reservation,
        "assert_le(x, 10) failed\nat line 7",
    )
    .await;
    assert_eq!(
        answer,
        FailureReportResponse {
            failures: 1,
            max_failures: 2,
            failed: false
        }
    );
    let (second, good_reservation) = reserve(&app, program).await;
    assert_eq!(second, good, "the failed group must not come first again");

    // The second failure reaches the maximum: the group is failed and handed out no more.
    let (third, reservation) = reserve(&app, program).await;
    assert_eq!(third, bad);
    let answer = fail(&app, program, bad, reservation, "assert_le(x, 10) failed").await;
    assert!(answer.failed, "{answer:?}");
    app.client
        .release_reservation(program, good, good_reservation)
        .await
        .unwrap();
    let (fourth, _) = reserve(&app, program).await;
    assert_eq!(fourth, good);
    assert_code(
        app.client.reserve(program).await,
        ErrorCode::NoInputGroupAvailable,
    );
    let oldest_unproven = app.client.input_group_csv(program, None).await.unwrap();
    let good_csv = app
        .client
        .input_group_csv(program, Some(good))
        .await
        .unwrap();
    assert_eq!(
        oldest_unproven, good_csv,
        "a failed group is not served for download"
    );

    // The organization sees it, with the reasons, and the status counts it.
    let shown = listed(&org, program, bad).await;
    assert!(shown.failed);
    assert_eq!(shown.failures, 2);
    let messages: Vec<&str> = shown
        .failure_reasons
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(
        messages,
        vec![
            "assert_le(x, 10) failed\nat line 7",
            "assert_le(x, 10) failed"
        ]
    );
    assert!(shown
        .failure_reasons
        .iter()
        .all(|f| f.reason == FailureReason::AssertFailed));
    assert!(!listed(&org, program, good).await.failed);
    let status = org.client.program_status(program).await.unwrap();
    assert_eq!(
        (
            status.total,
            status.failed,
            status.reserved,
            status.uploaded,
            status.proven
        ),
        (2, 1, 1, 0, 0)
    );
    let programs = org
        .client
        .my_programs(&PageQuery::new(50, 1))
        .await
        .unwrap();
    assert_eq!(programs.programs[0].max_failures, 2);
}

async fn a_retried_group_is_handed_out_again_without_its_failures(app: TestApp) {
    let org = app.org("Retrying Lab").await;
    let program = upload_with_max(&org, "double", 1).await;
    let group = upload_inputs(&org, program, "only", 3).await;
    let (_, reservation) = reserve(&app, program).await;
    assert!(fail(&app, program, group, reservation, "boom").await.failed);
    assert_code(
        app.client.reserve(program).await,
        ErrorCode::NoInputGroupAvailable,
    );

    let retried = org.client.retry_input_group(program, group).await.unwrap();
    assert_eq!(retried.input_group_id, group);
    assert!(!retried.failed);
    assert_eq!(retried.failures, 0);
    assert!(retried.failure_reasons.is_empty());
    let status = org.client.program_status(program).await.unwrap();
    assert_eq!((status.failed, status.uploaded), (0, 1));
    let (again, reservation) = reserve(&app, program).await;
    assert_eq!(again, group);

    // Once proven, a retry leaves the group as it is.
    app.client
        .upload_proof(
            proof_of("3").await,
            &ids_under(&org, program, group, reservation),
        )
        .await
        .unwrap();
    let proven = org.client.retry_input_group(program, group).await.unwrap();
    assert!(proven.proven_datetime.is_some());
    assert!(!proven.failed);
    assert_code(
        org.client.retry_input_group(program, Uuid::new_v4()).await,
        ErrorCode::InputGroupNotFound,
    );
}

async fn only_the_live_reservation_can_report_a_failure_and_only_once(app: TestApp) {
    let org = app.org("Careful Lab").await;
    let program = upload_with_max(&org, "double", 3).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let (_, live) = reserve(&app, program).await;

    // A wrong id, or the right id on another group or program, counts nothing.
    let strangers = [
        (program, group, Uuid::new_v4()),
        (program, Uuid::new_v4(), live),
        (Uuid::new_v4(), group, live),
    ];
    for (p, g, r) in strangers {
        assert_code(
            app.client.report_failure(&report(p, g, r, "no")).await,
            ErrorCode::ReservationNotFound,
        );
    }
    let shown = listed(&org, program, group).await;
    assert_eq!(shown.failures, 0);
    assert!(shown.reserved_until.is_some(), "the holder keeps its lock");

    // The holder's report counts once: it ends the reservation.
    assert_eq!(fail(&app, program, group, live, "once").await.failures, 1);
    assert_code(
        app.client
            .report_failure(&report(program, group, live, "twice"))
            .await,
        ErrorCode::ReservationNotFound,
    );
    let shown = listed(&org, program, group).await;
    assert_eq!(shown.failures, 1);
    assert!(shown.reserved_until.is_none());

    // A released reservation cannot report either.
    let (_, released) = reserve(&app, program).await;
    app.client
        .release_reservation(program, group, released)
        .await
        .unwrap();
    assert_code(
        app.client
            .report_failure(&report(program, group, released, "late"))
            .await,
        ErrorCode::ReservationNotFound,
    );
    assert_eq!(listed(&org, program, group).await.failures, 1);
}

async fn failure_reports_and_the_maximum_are_bounded(app: TestApp) {
    let org = app.org("Bounded Lab").await;
    for max_failures in [0, distributor_api::MAX_MAX_FAILURES + 1] {
        assert_code(
            org.client
                .upload_program(
                    program_tar(),
                    &UploadProgramData {
                        max_failures,
                        ..program_data("bounded", 600)
                    },
                )
                .await,
            ErrorCode::InvalidRequest,
        );
    }
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let (_, live) = reserve(&app, program).await;

    let too_long = "x".repeat(distributor_api::MAX_FAILURE_MESSAGE_CHARS + 1);
    assert_code(
        app.client
            .report_failure(&report(program, group, live, &too_long))
            .await,
        ErrorCode::InvalidRequest,
    );
    // Unknown fields are refused; an unknown reason reads as `other`.
    let mut body = serde_json::to_value(report(program, group, live, "m")).unwrap();
    body["extra"] = 1.into();
    assert_eq!(post_report(&app, &body).await, 400);
    assert_eq!(listed(&org, program, group).await.failures, 0);

    let mut body = serde_json::to_value(report(program, group, live, "m")).unwrap();
    body["reason"] = "a_reason_of_the_future".into();
    assert_eq!(post_report(&app, &body).await, 200);
    let shown = listed(&org, program, group).await;
    assert_eq!(shown.failures, 1);
    assert_eq!(shown.failure_reasons[0].reason, FailureReason::Other);
    // The default maximum is 3.
    let status = org
        .client
        .my_programs(&PageQuery::new(50, 1))
        .await
        .unwrap();
    assert_eq!(
        status.programs[0].max_failures,
        distributor_api::DEFAULT_MAX_FAILURES
    );
}

async fn only_the_owner_retries_a_group(app: TestApp) {
    let org = app.org("Owner Lab").await;
    let program = upload_with_max(&org, "double", 1).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let (_, live) = reserve(&app, program).await;
    assert!(fail(&app, program, group, live, "boom").await.failed);

    let other = app.org("Other Lab").await;
    assert_code(
        other.client.retry_input_group(program, group).await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        app.client.retry_input_group(program, group).await,
        ErrorCode::InvalidToken,
    );
    assert!(listed(&org, program, group).await.failed);
}
