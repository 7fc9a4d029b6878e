use distributor_api::{ErrorCode, PageQuery, UploadProofData};
use uuid::Uuid;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    bad_proof_uploads_get_their_documented_errors,
    only_the_owner_reads_confirms_or_rejects_proofs,
    of_racing_proofs_for_one_group_exactly_one_is_accepted,
);

async fn bad_proof_uploads_get_their_documented_errors(app: TestApp) {
    let org = app.org("Prover").await;
    let other = app.org("Not The Owner").await;
    let program = upload_program(&org, "double", 30).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let data = UploadProofData {
        organization_id: org.organization_id,
        program_id: program,
        input_group_id: group,
    };
    let proof = || b"proof".to_vec();
    // The ids must name one organization's program and one of its input groups.
    let wrong_org = UploadProofData {
        organization_id: other.organization_id,
        ..data.clone()
    };
    assert_code(
        app.client.upload_proof(proof(), &wrong_org).await,
        ErrorCode::ProgramNotFound,
    );
    let wrong_program = UploadProofData {
        program_id: Uuid::new_v4(),
        ..data.clone()
    };
    assert_code(
        app.client.upload_proof(proof(), &wrong_program).await,
        ErrorCode::ProgramNotFound,
    );
    let wrong_group = UploadProofData {
        input_group_id: Uuid::new_v4(),
        ..data.clone()
    };
    assert_code(
        app.client.upload_proof(proof(), &wrong_group).await,
        ErrorCode::InputGroupNotFound,
    );
    assert_code(
        app.client.upload_proof(Vec::new(), &data).await,
        ErrorCode::InvalidRequest,
    );
    let huge = vec![7u8; app.settings.limits.proof_bytes + 1];
    assert_code(
        app.client.upload_proof(huge, &data).await,
        ErrorCode::PayloadTooLarge,
    );

    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(proof()))
        .text("data", r#"{"organization_id": "nope", "program_id": 1}"#);
    let response = app
        .client
        .request(reqwest::Method::POST, "/program/proof")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "INVALID_REQUEST");

    // Nothing above changed the group; a good proof is accepted once, anonymously.
    app.client.upload_proof(proof(), &data).await.unwrap();
    assert_code(
        app.client.upload_proof(proof(), &data).await,
        ErrorCode::ProofAlreadySubmitted,
    );
}

async fn only_the_owner_reads_confirms_or_rejects_proofs(app: TestApp) {
    let owner = app.org("Proof Owner").await;
    let other = app.org("Proof Other").await;
    let program = upload_program(&owner, "double", 30).await;
    let group = upload_inputs(&owner, program, "g", 3).await;
    assert_code(
        owner.client.proof(program, group).await,
        ErrorCode::ProofNotFound,
    );
    app.client
        .upload_proof(
            b"proof".to_vec(),
            &UploadProofData {
                organization_id: owner.organization_id,
                program_id: program,
                input_group_id: group,
            },
        )
        .await
        .unwrap();
    assert_code(
        other.client.proof(program, group).await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        other.client.confirm_proof(program, group).await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        other.client.reject_proof(program, group).await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        other
            .client
            .proven_input_groups(program, &PageQuery::default())
            .await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        app.client.proof(program, group).await,
        ErrorCode::InvalidToken,
    );
    assert_code(
        app.client.programs_with_proofs(&PageQuery::default()).await,
        ErrorCode::InvalidToken,
    );
    let theirs = other
        .client
        .programs_with_proofs(&PageQuery::default())
        .await
        .unwrap();
    assert_eq!(theirs.total_elements_amount, 0);
    assert_code(
        owner.client.proof(program, Uuid::new_v4()).await,
        ErrorCode::InputGroupNotFound,
    );
    assert_eq!(owner.client.proof(program, group).await.unwrap(), b"proof");
}

async fn of_racing_proofs_for_one_group_exactly_one_is_accepted(app: TestApp) {
    let org = app.org("Racy").await;
    let program = upload_program(&org, "double", 30).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let data = UploadProofData {
        organization_id: org.organization_id,
        program_id: program,
        input_group_id: group,
    };
    let uploads: Vec<_> = (0..8u8)
        .map(|i| {
            let client = app.client.clone();
            let data = data.clone();
            tokio::spawn(async move { (i, client.upload_proof(vec![i; 64], &data).await) })
        })
        .collect();
    let mut winners = Vec::new();
    for upload in uploads {
        match upload.await.unwrap() {
            (i, Ok(())) => winners.push(i),
            (_, Err(e)) => assert_eq!(e.code(), Some(ErrorCode::ProofAlreadySubmitted), "{e}"),
        }
    }
    assert_eq!(winners.len(), 1);
    // The stored proof is the winner's.
    assert_eq!(
        org.client.proof(program, group).await.unwrap(),
        vec![winners[0]; 64]
    );
}
