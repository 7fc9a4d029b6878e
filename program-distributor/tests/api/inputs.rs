use distributor_api::{ErrorCode, PageQuery, UploadInputsData};
use uuid::Uuid;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    input_groups_are_uploaded_listed_downloaded_and_deleted,
    bad_csv_values_are_refused,
    input_groups_of_another_organizations_program_are_not_found,
    an_oversized_input_group_is_refused,
    unknown_input_groups_are_not_found,
);

fn felts(csv: &[u8]) -> Vec<cairo_stark::Felt> {
    cairo_stark::inputs::parse_csv(csv).expect("a valid CSV")
}

fn named(name: &str) -> UploadInputsData {
    UploadInputsData { name: name.into() }
}

async fn input_groups_are_uploaded_listed_downloaded_and_deleted(app: TestApp) {
    let org = app.org("Inputs Org").await;
    let program = upload_program(&org, "double", 10).await;
    let first = org
        .client
        .upload_inputs(program, b"1, 0x10\n\n 3,\n".to_vec(), &named("first"))
        .await
        .unwrap();
    let second = upload_inputs(&org, program, "second", 7).await;
    let third = upload_inputs(&org, program, "third", 8).await;

    let page = org
        .client
        .input_groups(program, &PageQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total_elements_amount, 3);
    let ids: Vec<Uuid> = page
        .program_input_groups
        .iter()
        .map(|g| g.input_group_id)
        .collect();
    assert_eq!(ids, [first, second, third]);
    let group = &page.program_input_groups[0];
    assert_eq!(group.name, "first");
    assert_eq!(group.program_id, program);
    assert_eq!(group.last_reserved, None);
    assert_eq!(group.proven_datetime, None);
    let page2 = org
        .client
        .input_groups(program, &PageQuery::new(2, 2))
        .await
        .unwrap();
    assert_eq!(page2.program_input_groups.len(), 1);
    assert_eq!(page2.program_input_groups[0].input_group_id, third);

    // Stored in canonical form (cairo_stark::inputs::to_csv): the same values.
    let csv = app
        .client
        .input_group_csv(program, Some(first))
        .await
        .unwrap();
    assert_eq!(felts(&csv), felts(b"1\n16\n3"));
    // Without an id: the oldest unproven group, named in a header.
    let response = app
        .client
        .request(reqwest::Method::GET, &format!("/program/inputs/{program}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-input-group-id"],
        first.to_string().as_str()
    );

    org.client
        .delete_input_group(program, second)
        .await
        .unwrap();
    assert_code(
        org.client.delete_input_group(program, second).await,
        ErrorCode::InputGroupNotFound,
    );
    assert_code(
        app.client.input_group_csv(program, Some(second)).await,
        ErrorCode::InputGroupNotFound,
    );
    let page = org
        .client
        .input_groups(program, &PageQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total_elements_amount, 2);

    // Deleting the program takes its input groups along.
    org.client.delete_program(program).await.unwrap();
    assert_code(
        app.client.input_group_csv(program, Some(first)).await,
        ErrorCode::ProgramNotFound,
    );
}

async fn bad_csv_values_are_refused(app: TestApp) {
    let org = app.org("Bad Inputs").await;
    let program = upload_program(&org, "double", 10).await;
    let prime = "3618502788666131213697322783095070105623107215331596699973092056135872020481";
    for csv in [
        b"1,x".to_vec(),
        b"-1".to_vec(),
        b"1,,2".to_vec(),
        b"0x".to_vec(),
        b"1.5".to_vec(),
        prime.as_bytes().to_vec(),
        vec![0xff, 0xfe, 0x00],
    ]
    .into_iter()
    .chain(two_to_the_256_and_up().map(String::into_bytes))
    {
        let result = org
            .client
            .upload_inputs(program, csv.clone(), &named("bad"))
            .await;
        assert_code(result, ErrorCode::InvalidInputs);
    }
    for name in ["", "   ", &"n".repeat(129)] {
        let result = org
            .client
            .upload_inputs(program, b"1".to_vec(), &named(name))
            .await;
        assert_code(result, ErrorCode::InvalidRequest);
    }
    let page = org
        .client
        .input_groups(program, &PageQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total_elements_amount, 0);
}

async fn input_groups_of_another_organizations_program_are_not_found(app: TestApp) {
    let owner = app.org("Input Owner").await;
    let other = app.org("Input Other").await;
    let program = upload_program(&owner, "double", 10).await;
    let group = upload_inputs(&owner, program, "g", 1).await;
    assert_code(
        other
            .client
            .upload_inputs(program, b"1".to_vec(), &named("sneaky"))
            .await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        other
            .client
            .input_groups(program, &PageQuery::default())
            .await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        other.client.delete_input_group(program, group).await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        app.client
            .input_groups(program, &PageQuery::default())
            .await,
        ErrorCode::InvalidToken,
    );
    let page = owner
        .client
        .input_groups(program, &PageQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total_elements_amount, 1);
}

async fn an_oversized_input_group_is_refused(app: TestApp) {
    let org = app.org("Big Inputs").await;
    let program = upload_program(&org, "double", 10).await;
    let limit = app.settings.limits.inputs_bytes;
    let huge = "1\n".repeat(limit / 2 + 1).into_bytes();
    let result = org
        .client
        .upload_inputs(program, huge, &named("huge"))
        .await;
    assert_code(result, ErrorCode::PayloadTooLarge);
}

async fn unknown_input_groups_are_not_found(app: TestApp) {
    let org = app.org("Lost").await;
    let program = upload_program(&org, "double", 10).await;
    assert_code(
        app.client
            .input_group_csv(program, Some(Uuid::new_v4()))
            .await,
        ErrorCode::InputGroupNotFound,
    );
    assert_code(
        org.client.delete_input_group(program, Uuid::new_v4()).await,
        ErrorCode::InputGroupNotFound,
    );
    assert_code(
        app.client.input_group_csv(Uuid::new_v4(), None).await,
        ErrorCode::ProgramNotFound,
    );
    // A program without input groups has nothing to hand out.
    assert_code(
        app.client.input_group_csv(program, None).await,
        ErrorCode::NoInputGroupAvailable,
    );
}

/// 2^256 .. 2^256 + 3, and 2^256 written with leading zeros: decimals that wrap around 256 bits
/// to 0..3 if parsed carelessly.
fn two_to_the_256_and_up() -> impl Iterator<Item = String> {
    let two_256 = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
    let (head, last) = two_256.split_at(two_256.len() - 1);
    let last: u8 = last.parse().unwrap();
    (0..4)
        .map(move |k| format!("{head}{}", last + k))
        .chain(std::iter::once(format!("000{two_256}")))
}
