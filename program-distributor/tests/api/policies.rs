//! Verification policies per program, and proofs of an older format version.

use distributor_api::{ClientError, ErrorCode, PageQuery, ProofPolicy, UploadProgramData};
use program_distributor::testing::{as_older_format_version, OLDER_FORMAT_VERSION};
use uuid::Uuid;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_program_keeps_its_policy_and_proofs_are_checked_against_it,
    policies_no_proof_can_meet_are_refused,
    a_proof_of_an_older_format_version_is_refused_and_frees_the_group,
);

fn policy(conjectured: u32, provable: u32) -> ProofPolicy {
    ProofPolicy {
        min_conjectured_security_bits: conjectured,
        min_provable_security_bits: provable,
    }
}

async fn upload_with_policy(org: &Org, name: &str, policy: ProofPolicy) -> Uuid {
    let data = UploadProgramData {
        policy,
        ..program_data(name, 600)
    };
    org.client
        .upload_program(program_tar(), &data)
        .await
        .expect("upload program")
}

/// A real proof of the fixture on `[3]` with the test-only options (well under 100 bits).
async fn weak_proof_of_3() -> Vec<u8> {
    tokio::task::spawn_blocking(|| {
        let program =
            cairo_stark::CompiledProgram::parse(&fixture("proof_mode.json")).expect("fixture");
        let inputs = [cairo_stark::Felt::from(3u64)];
        let execution = cairo_stark::execute(&program, &inputs).expect("execute");
        cairo_stark::prove(&execution, &cairo_stark::ProofOptions::insecure_for_tests())
            .expect("prove")
            .to_bytes()
    })
    .await
    .expect("proving task")
}

/// Uploads `proof` for `group` under a fresh reservation; returns the refusal's code and message.
async fn refusal(app: &TestApp, org: &Org, program: Uuid, proof: Vec<u8>) -> (ErrorCode, String) {
    let metadata = app.client.reserve(program).await.unwrap().metadata;
    let reservation = metadata.reservation_id.expect("a reservation id");
    let under = ids_under(org, program, metadata.input_group_id, reservation);
    match app.client.upload_proof(proof, &under).await {
        Err(ClientError::Api { code, message, .. }) => (code, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn a_program_keeps_its_policy_and_proofs_are_checked_against_it(app: TestApp) {
    let org = app.org("Strict").await;
    let default = upload_program(&org, "default", 600).await;
    let strict = upload_with_policy(&org, "strict", policy(110, 0)).await;
    let lenient = upload_with_policy(&org, "lenient", policy(0, 0)).await;

    let listed = org.client.my_programs(&PageQuery::default()).await.unwrap();
    let policy_of = |id: Uuid| {
        listed
            .programs
            .iter()
            .find(|p| p.program_id == id)
            .expect("listed")
            .policy
    };
    assert_eq!(policy_of(default), policy(100, 0));
    assert_eq!(policy_of(strict), policy(110, 0));
    assert_eq!(policy_of(lenient), policy(0, 0));
    let status = org.client.program_status(strict).await.unwrap();
    assert_eq!(status.policy, policy(110, 0));

    // The default proof (102 bits) is too weak for the strict program, and says so.
    let group = upload_inputs(&org, strict, "g", 3).await;
    let (code, message) = refusal(&app, &org, strict, proof_of("3").await).await;
    assert_eq!(code, ErrorCode::InvalidProof, "{message}");
    assert!(message.contains("below the required 110"), "{message}");
    let status = org.client.program_status(strict).await.unwrap();
    assert_eq!((status.uploaded, status.reserved, status.proven), (1, 0, 0));
    assert_code(
        org.client.proof(strict, group).await,
        ErrorCode::ProofNotFound,
    );

    // A weak proof: refused by the default policy, accepted where the organization allows it.
    let weak = weak_proof_of_3().await;
    upload_inputs(&org, default, "g", 3).await;
    let (code, message) = refusal(&app, &org, default, weak.clone()).await;
    assert_eq!(code, ErrorCode::InvalidProof, "{message}");
    assert!(message.contains("below the required 100"), "{message}");
    let lenient_group = upload_inputs(&org, lenient, "g", 3).await;
    app.client
        .upload_proof(weak.clone(), &ids(&org, lenient, lenient_group))
        .await
        .expect("a program asking for 0 bits takes a weak proof");
    assert_eq!(
        org.client.proof(lenient, lenient_group).await.unwrap(),
        weak
    );
}

async fn policies_no_proof_can_meet_are_refused(app: TestApp) {
    let org = app.org("Greedy").await;
    for bad in [policy(129, 0), policy(100, 129), policy(u32::MAX, 0)] {
        let data = UploadProgramData {
            policy: bad,
            ..program_data("greedy", 600)
        };
        assert_code(
            org.client.upload_program(program_tar(), &data).await,
            ErrorCode::InvalidRequest,
        );
    }
    // A negative number is not a number of bits: the body is malformed.
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(program_tar()))
        .text(
            "data",
            r#"{"name":"n","description":"","execution_timeout":60,"min_conjectured_security_bits":-1}"#,
        );
    let response = org
        .client
        .request(reqwest::Method::POST, "/program/upload")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let listed = org.client.my_programs(&PageQuery::default()).await.unwrap();
    assert_eq!(listed.total_elements_amount, 0);
}

async fn a_proof_of_an_older_format_version_is_refused_and_frees_the_group(app: TestApp) {
    let org = app.org("Old Prover").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let honest = proof_of("3").await;

    let (code, message) = refusal(&app, &org, program, as_older_format_version(&honest)).await;
    assert_eq!(code, ErrorCode::UnsupportedProofVersion, "{message}");
    assert_eq!(code.http_status(), 422);
    let why = format!(
        "made by an older prover version {OLDER_FORMAT_VERSION}; this build reads version {}",
        cairo_stark::format::FORMAT_VERSION
    );
    assert!(message.contains(&why), "{message}");
    assert!(message.contains("update executor-client"), "{message}");
    // Nothing stored; the group is free for the next donor at once.
    assert_code(
        org.client.proof(program, group).await,
        ErrorCode::ProofNotFound,
    );
    let status = org.client.program_status(program).await.unwrap();
    assert_eq!((status.uploaded, status.reserved, status.proven), (1, 0, 0));
    // The same proof in the current format is accepted.
    app.client
        .upload_proof(honest, &ids(&org, program, group))
        .await
        .unwrap();
}
