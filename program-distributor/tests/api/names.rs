//! One Unicode normalization (NFC) and one case rule for names on both backends: usernames and
//! program names are unique regardless of case and of how an accent is encoded, and distinct
//! when the letters differ (MariaDB's collation alone would also merge `é` and `e`); hostile
//! characters are refused everywhere.

use distributor_api::{ErrorCode, LoginRequest, PageQuery, RegisterRequest};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    usernames_are_one_name_whatever_their_case_or_encoding,
    program_names_are_unique_under_the_same_rule,
    hostile_characters_are_refused_in_every_name,
);

const COMPOSED: &str = "Caf\u{e9}";
const DECOMPOSED: &str = "Cafe\u{301}";

fn registration(username: &str, name: &str) -> RegisterRequest {
    RegisterRequest {
        username: username.into(),
        password: PASSWORD.into(),
        name: name.into(),
        description: String::new(),
    }
}

async fn usernames_are_one_name_whatever_their_case_or_encoding(app: TestApp) {
    app.client
        .register(&registration(DECOMPOSED, DECOMPOSED))
        .await
        .unwrap();
    for taken in [COMPOSED, "CAF\u{c9}", "cafe\u{301}"] {
        assert_code(
            app.client.register(&registration(taken, "Other")).await,
            ErrorCode::UsernameAlreadyExists,
        );
    }
    // Different letters are different usernames, on both backends.
    app.client
        .register(&registration("Cafe", "Plain"))
        .await
        .unwrap();
    for spelling in [COMPOSED, "caf\u{e9}", DECOMPOSED] {
        app.client
            .login(&LoginRequest {
                username: spelling.into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap_or_else(|e| panic!("login as {spelling:?}: {e}"));
    }
    // The organization's name is stored in NFC.
    let page = app
        .client
        .organizations(&PageQuery::default())
        .await
        .unwrap();
    let names: Vec<_> = page.organizations.iter().map(|o| o.name.as_str()).collect();
    assert!(names.contains(&COMPOSED), "{names:?}");
    assert!(!names.contains(&DECOMPOSED), "{names:?}");
}

async fn program_names_are_unique_under_the_same_rule(app: TestApp) {
    let org = app.org("Namer").await;
    let program = upload_program(&org, DECOMPOSED, 30).await;
    for taken in [COMPOSED, "caf\u{c9}", " CAFE\u{301} "] {
        assert_code(
            org.client
                .upload_program(program_tar(), &program_data(taken, 30))
                .await,
            ErrorCode::ProgramNameTaken,
        );
    }
    upload_program(&org, "Cafe", 30).await;
    // Another organization may use the name.
    let other = app.org("Other namer").await;
    upload_program(&other, COMPOSED, 30).await;
    let mine = org.client.my_programs(&PageQuery::default()).await.unwrap();
    let names: Vec<_> = mine.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, [COMPOSED, "Cafe"]);
    assert_eq!(mine.programs[0].program_id, program);
}

async fn hostile_characters_are_refused_in_every_name(app: TestApp) {
    let org = app.org("Careful").await;
    let program = upload_program(&org, "careful", 30).await;
    let hostile = [
        "evil\u{202E}txt.exe",
        "\u{2066}isolated",
        "\u{200B}\u{200C}\u{FEFF}",
        " \u{200B} ",
        "bell\u{7}",
    ];
    for name in hostile {
        assert_code(
            app.client.register(&registration("careful2", name)).await,
            ErrorCode::InvalidRequest,
        );
        assert_code(
            app.client.register(&registration(name, "Fine")).await,
            ErrorCode::InvalidRequest,
        );
        assert_code(
            org.client
                .upload_program(program_tar(), &program_data(name, 30))
                .await,
            ErrorCode::InvalidRequest,
        );
        assert_code(
            org.client
                .upload_inputs(
                    program,
                    b"1".to_vec(),
                    &distributor_api::UploadInputsData { name: name.into() },
                )
                .await,
            ErrorCode::InvalidRequest,
        );
    }
    // A zero-width joiner inside a visible name (emoji sequences) is fine in names, not in
    // usernames.
    upload_program(&org, "team \u{1F469}\u{200D}\u{1F52C}", 30).await;
    assert_code(
        app.client
            .register(&registration("a\u{200D}b", "Joined"))
            .await,
        ErrorCode::InvalidRequest,
    );
    let tar = tar_of(&[
        ("double/program.json", &fixture("proof_mode.json")),
        ("double/\u{202E}cairo.txt", b""),
    ]);
    assert_code(
        org.client
            .upload_program(tar, &program_data("bidi tar", 30))
            .await,
        ErrorCode::InvalidArchive,
    );
}
