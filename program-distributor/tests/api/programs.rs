use std::io::Read;

use distributor_api::{ErrorCode, PageQuery, UploadProgramData};
use program_distributor::domain::archive::hostile::{entry, finished, pax_record};
use program_distributor::storage::keys;
use uuid::Uuid;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_program_is_uploaded_listed_downloaded_and_deleted,
    program_names_are_unique_per_organization,
    programs_of_an_unknown_organization_are_account_not_found,
    unsafe_or_unreadable_archives_are_refused,
    programs_that_are_not_proof_mode_cairo_are_refused,
    a_program_whose_input_label_is_not_at_its_end_is_refused_with_the_fix,
    bad_program_metadata_is_refused,
    an_oversized_program_is_refused,
    other_organizations_see_not_found,
    the_template_holds_the_guest_files,
    a_blob_missing_from_storage_is_an_internal_error,
);

async fn a_program_is_uploaded_listed_downloaded_and_deleted(app: TestApp) {
    let org = app.org("Uploader").await;
    let tar = program_tar();
    let id = org
        .client
        .upload_program(tar.clone(), &program_data("double", 30))
        .await
        .unwrap();
    upload_program(&org, "second", 60).await;

    let mine = org.client.my_programs(&PageQuery::default()).await.unwrap();
    assert_eq!(mine.total_elements_amount, 2);
    let program = &mine.programs[0];
    assert_eq!(program.program_id, id);
    assert_eq!(program.organization_id, org.organization_id);
    assert_eq!(program.name, "double");
    assert_eq!(program.description, "double: doubles its input");
    assert_eq!(program.input_lock_timeout, 30);

    let all = app
        .client
        .all_programs(&PageQuery::default())
        .await
        .unwrap();
    assert_eq!(all.total_elements_amount, 2);
    let filtered = app
        .client
        .all_programs(&PageQuery::default().with_name_filter("dou"))
        .await
        .unwrap();
    assert_eq!(filtered.total_elements_amount, 1);
    assert_eq!(filtered.programs[0].program_id, id);
    let paged = app
        .client
        .all_programs(&PageQuery::new(1, 2))
        .await
        .unwrap();
    assert_eq!(paged.programs.len(), 1);
    assert_eq!(paged.programs[0].name, "second");
    let of_org = app
        .client
        .organization_programs(org.organization_id, &PageQuery::default())
        .await
        .unwrap();
    assert_eq!(of_org.total_elements_amount, 2);

    assert_eq!(app.client.program_archive(id).await.unwrap(), tar);

    org.client.delete_program(id).await.unwrap();
    assert_code(
        app.client.program_archive(id).await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        org.client.delete_program(id).await,
        ErrorCode::ProgramNotFound,
    );
    let mine = org.client.my_programs(&PageQuery::default()).await.unwrap();
    assert_eq!(mine.total_elements_amount, 1);
}

async fn program_names_are_unique_per_organization(app: TestApp) {
    let first = app.org("First Org").await;
    let second = app.org("Second Org").await;
    upload_program(&first, "same name", 10).await;
    assert_code(
        first
            .client
            .upload_program(program_tar(), &program_data("same name", 10))
            .await,
        ErrorCode::ProgramNameTaken,
    );
    upload_program(&second, "same name", 10).await;
}

async fn programs_of_an_unknown_organization_are_account_not_found(app: TestApp) {
    assert_code(
        app.client
            .organization_programs(Uuid::new_v4(), &PageQuery::default())
            .await,
        ErrorCode::AccountNotFound,
    );
    let response = app
        .client
        .request(reqwest::Method::GET, "/program/organization/not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

async fn unsafe_or_unreadable_archives_are_refused(app: TestApp) {
    let org = app.org("Hostile").await;
    let program = fixture("proof_mode.json");
    let traversal = finished(entry(
        "../program.json",
        tar::EntryType::Regular,
        &program,
        None,
    ));
    let deep_traversal = {
        let mut entries = entry("program.json", tar::EntryType::Regular, &program, None);
        entries.extend(entry(
            "x/../../../etc/cron.d/evil",
            tar::EntryType::Regular,
            b"boom",
            None,
        ));
        finished(entries)
    };
    let absolute = finished(entry(
        "/program.json",
        tar::EntryType::Regular,
        &program,
        None,
    ));
    let symlink = finished(entry(
        "program.json",
        tar::EntryType::Symlink,
        b"",
        Some("/etc/passwd"),
    ));
    let hardlink = {
        let mut entries = entry("program.json", tar::EntryType::Regular, &program, None);
        entries.extend(entry(
            "evil",
            tar::EntryType::Link,
            b"",
            Some("/etc/shadow"),
        ));
        finished(entries)
    };
    let device = {
        let mut entries = entry("program.json", tar::EntryType::Regular, &program, None);
        entries.extend(entry("dev", tar::EntryType::Char, b"", None));
        finished(entries)
    };
    // A regular entry that a PAX header declares sparse, of 1 TiB once expanded.
    let sparse = {
        let mut records = pax_record("GNU.sparse.major", "1");
        records.extend(pax_record("GNU.sparse.realsize", "1099511627776"));
        let mut entries = entry(
            "PaxHeaders/program.json",
            tar::EntryType::XHeader,
            &records,
            None,
        );
        entries.extend(entry(
            "program.json",
            tar::EntryType::Regular,
            &program,
            None,
        ));
        finished(entries)
    };
    let no_program = tar_of(&[("code/main.cairo", b"func main() {}")]);
    let garbage = b"this is not a tar archive at all, just some text".repeat(20);
    for (what, tar) in [
        ("traversal", traversal),
        ("deep traversal", deep_traversal),
        ("absolute", absolute),
        ("symlink", symlink),
        ("hard link", hardlink),
        ("device", device),
        ("sparse (PAX)", sparse),
        ("no program.json", no_program),
        ("garbage", garbage),
    ] {
        let result = org
            .client
            .upload_program(tar, &program_data(what, 10))
            .await;
        assert_code(result, ErrorCode::InvalidArchive);
    }
    let mine = org.client.my_programs(&PageQuery::default()).await.unwrap();
    assert_eq!(mine.total_elements_amount, 0, "nothing was stored");
}

async fn programs_that_are_not_proof_mode_cairo_are_refused(app: TestApp) {
    let org = app.org("Sloppy").await;
    for (what, json) in [
        ("not cairo", br#"{"hello": "world"}"#.to_vec()),
        ("not json", b"\x00\x01\x02 definitely not json".to_vec()),
        ("not proof mode", fixture("not_proof_mode.json")),
    ] {
        let tar = tar_of(&[("program.json", &json)]);
        let result = org
            .client
            .upload_program(tar, &program_data(what, 10))
            .await;
        assert_code(result, ErrorCode::InvalidProgram);
    }
    // The same program at the root of the tar (not in a folder) is fine.
    let tar = tar_of(&[("program.json", &fixture("proof_mode.json"))]);
    org.client
        .upload_program(tar, &program_data("at the root", 10))
        .await
        .unwrap();
}

/// A function defined after `main` leaves the input label short of the end of the bytecode: the
/// program would read its own code as inputs, so the upload is refused, saying how to fix it.
async fn a_program_whose_input_label_is_not_at_its_end_is_refused_with_the_fix(app: TestApp) {
    let org = app.org("Misplaced").await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cairo-stark/tests/fixtures/misplaced_inputs.json");
    let json = std::fs::read(&path).expect("fixture");
    let tar = tar_of(&[("job/program.json", &json)]);
    let result = org
        .client
        .upload_program(tar, &program_data("misplaced", 10))
        .await;
    match &result {
        Err(distributor_api::ClientError::Api { message, .. }) => {
            assert!(message.contains("job/program.json"), "{message}");
            assert!(message.contains("`inputs` at word 24 of 27"), "{message}");
            assert!(message.contains("move the functions defined after `main` above it"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_code(result, ErrorCode::InvalidProgram);
    let mine = org.client.my_programs(&PageQuery::default()).await.unwrap();
    assert_eq!(mine.total_elements_amount, 0, "nothing was stored");
}

async fn bad_program_metadata_is_refused(app: TestApp) {
    let org = app.org("Careless").await;
    let bad_data = [
        UploadProgramData {
            name: String::new(),
            ..program_data("x", 10)
        },
        UploadProgramData {
            name: "n".repeat(129),
            ..program_data("x", 10)
        },
        UploadProgramData {
            description: "d".repeat(4097),
            ..program_data("x", 10)
        },
        program_data("zero timeout", 0),
        program_data("negative timeout", -5),
        program_data("too long timeout", 7 * 24 * 3600 + 1),
    ];
    for data in bad_data {
        assert_code(
            org.client.upload_program(program_tar(), &data).await,
            ErrorCode::InvalidRequest,
        );
    }
    // Hand-made multipart bodies: bad JSON in `data`, missing parts, unknown parts.
    let send = |form: reqwest::multipart::Form| {
        let client = org.client.clone();
        async move {
            let response = client
                .request(reqwest::Method::POST, "/program/upload")
                .multipart(form)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (
                status,
                body["error_code"].as_str().unwrap_or_default().to_string(),
            )
        }
    };
    let file = || reqwest::multipart::Part::bytes(program_tar()).file_name("p.tar");
    let cases = [
        reqwest::multipart::Form::new()
            .part("file", file())
            .text("data", "{not json"),
        reqwest::multipart::Form::new()
            .part("file", file())
            .text("data", r#"{"name": "no description"}"#),
        reqwest::multipart::Form::new().part("file", file()),
        reqwest::multipart::Form::new().text(
            "data",
            r#"{"name":"a","description":"","execution_timeout":5}"#,
        ),
        reqwest::multipart::Form::new()
            .part("file", file())
            .text(
                "data",
                r#"{"name":"a","description":"","execution_timeout":5}"#,
            )
            .text("extra", "x"),
    ];
    for form in cases {
        assert_eq!(send(form).await, (400, "INVALID_REQUEST".to_string()));
    }
    // Not multipart at all.
    let response = org
        .client
        .request(reqwest::Method::POST, "/program/upload")
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "INVALID_REQUEST");
    // Without a token, nothing is accepted.
    assert_code(
        app.client
            .upload_program(program_tar(), &program_data("anon", 10))
            .await,
        ErrorCode::InvalidToken,
    );
}

async fn an_oversized_program_is_refused(app: TestApp) {
    let org = app.org("Bulky").await;
    let limit = app.settings.limits.program_bytes;
    let huge = vec![b' '; limit + 1];
    let result = org
        .client
        .upload_program(huge, &program_data("huge", 10))
        .await;
    assert_code(result, ErrorCode::PayloadTooLarge);
    // The server still answers afterwards.
    upload_program(&org, "small", 10).await;
}

async fn other_organizations_see_not_found(app: TestApp) {
    let owner = app.org("Owner").await;
    let other = app.org("Other").await;
    let program = upload_program(&owner, "private ops", 10).await;
    assert_code(
        other.client.delete_program(program).await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        other.client.program_status(program).await,
        ErrorCode::ProgramNotFound,
    );
    // Not found and not owned look the same.
    assert_code(
        other.client.program_status(Uuid::new_v4()).await,
        ErrorCode::ProgramNotFound,
    );
    let response = other
        .client
        .request(reqwest::Method::DELETE, "/program/not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // The owner still has it.
    owner.client.program_status(program).await.unwrap();
}

async fn the_template_holds_the_guest_files(app: TestApp) {
    let tar = app.client.template().await.unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert!(!content.is_empty(), "{name} is empty");
        names.push(name);
    }
    names.sort();
    assert_eq!(
        names,
        [
            "guest-template/README.md",
            "guest-template/guest.cairo",
            "guest-template/guest.json"
        ]
    );
}

async fn a_blob_missing_from_storage_is_an_internal_error(app: TestApp) {
    let org = app.org("Unlucky").await;
    let program = upload_program(&org, "vanishing", 10).await;
    let key = keys::program_archive(&program.to_string());
    app.object_store().delete(&key).await.unwrap();
    let result = app.client.program_archive(program).await;
    assert_code(result, ErrorCode::InternalServerError);
}
