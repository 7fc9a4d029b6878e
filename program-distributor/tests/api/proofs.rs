use std::time::Duration;

use distributor_api::{ErrorCode, PageQuery, UploadProofData};
use uuid::Uuid;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    bad_proof_uploads_get_their_documented_errors,
    proofs_that_do_not_verify_are_refused_and_free_the_group,
    oversized_proofs_are_refused_before_they_are_read,
    only_the_owner_reads_confirms_or_rejects_proofs,
    of_racing_proofs_for_one_group_exactly_one_is_accepted,
    a_program_keeps_only_its_newest_refusals,
);

async fn bad_proof_uploads_get_their_documented_errors(app: TestApp) {
    let org = app.org("Prover").await;
    let other = app.org("Not The Owner").await;
    let program = upload_program(&org, "double", 30).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let data = ids(&org, program, group);
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
    let valid = proof_of("3").await;
    app.client.upload_proof(valid.clone(), &data).await.unwrap();
    assert_code(
        app.client.upload_proof(valid, &data).await,
        ErrorCode::ProofAlreadySubmitted,
    );
    // None of these files reached the verifier, so none is a refusal the organization reads.
    let refused = org.client.refusals(program, &PageQuery::default()).await;
    assert_eq!(refused.unwrap().total_elements_amount, 0);
    // The prover's step count is kept.
    let page = org
        .client
        .input_groups(program, &PageQuery::default())
        .await
        .unwrap();
    let steps = page.program_input_groups[0]
        .steps
        .expect("steps of a proven group");
    assert!(steps > 0);
}

/// A reservation: `(its input group, its expiry, its id)`.
async fn reserve_one(app: &TestApp, program: Uuid) -> (Uuid, chrono::DateTime<chrono::Utc>, Uuid) {
    let metadata = app.client.reserve(program).await.unwrap().metadata;
    let reservation = metadata.reservation_id.expect("a reservation id");
    (
        metadata.input_group_id,
        metadata.lock_expires_at,
        reservation,
    )
}

async fn proofs_that_do_not_verify_are_refused_and_free_the_group(app: TestApp) {
    let org = app.org("Verifier").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let data = ids(&org, program, group);
    let valid = proof_of("3").await;
    let mut flipped = valid.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    let refused: Vec<(&str, Vec<u8>, &str)> = vec![
        ("garbage", b"not a proof at all".to_vec(), ""),
        ("truncated", valid[..valid.len() / 3].to_vec(), ""),
        ("a flipped byte", flipped, ""),
        (
            "another input group",
            proof_of("4").await,
            "another input group",
        ),
        (
            "another program",
            proof_of_program(&example_program_json(), "1,3").await,
            "another program",
        ),
    ];
    let mut told = Vec::new();
    for (what, bytes, reason) in refused {
        // The group is reserved (for 10 minutes) by a donor; its refused proof frees it.
        let (reserved, until, reservation) = reserve_one(&app, program).await;
        assert_eq!(reserved, group);
        assert!(until > chrono::Utc::now() + chrono::Duration::seconds(60));
        assert_code(
            app.client.reserve(program).await,
            ErrorCode::NoInputGroupAvailable,
        );
        let under = ids_under(&org, program, group, reservation);
        match app.client.upload_proof(bytes, &under).await {
            Err(distributor_api::ClientError::Api { code, message, .. }) => {
                assert_eq!(code, ErrorCode::InvalidProof, "{what}: {message}");
                assert!(message.contains(reason), "{what}: {message}");
                told.push(message);
            }
            other => panic!("{what}: expected INVALID_PROOF, got {other:?}"),
        }
        // Nothing stored, and the group is free for the next donor at once.
        assert_code(
            org.client.proof(program, group).await,
            ErrorCode::ProofNotFound,
        );
        let status = org.client.program_status(program).await.unwrap();
        assert_eq!(
            (status.uploaded, status.reserved, status.proven),
            (1, 0, 0),
            "{what}"
        );
    }
    // The valid proof is still accepted afterwards.
    app.client.upload_proof(valid.clone(), &data).await.unwrap();
    assert_eq!(org.client.proof(program, group).await.unwrap(), valid);
    refusals_are_the_organizations_to_read(&app, &org, program, group, &told).await;
}

/// The organization reads each refused proof, newest first, with the reason its donor was told;
/// nobody else reads them.
async fn refusals_are_the_organizations_to_read(
    app: &TestApp,
    org: &Org,
    program: Uuid,
    group: Uuid,
    told: &[String],
) {
    let page = org
        .client
        .refusals(program, &PageQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total_elements_amount, told.len() as i64);
    let messages: Vec<&str> = page.refusals.iter().map(|r| r.message.as_str()).collect();
    let newest_first: Vec<&str> = told.iter().rev().map(String::as_str).collect();
    assert_eq!(messages, newest_first);
    for refusal in &page.refusals {
        assert_eq!(refusal.code, ErrorCode::InvalidProof);
        assert_eq!(refusal.kind, distributor_api::UploadKind::Proof);
        assert_eq!(
            (refusal.input_group_id, refusal.input_group_name.as_str()),
            (group, "g")
        );
        assert_eq!(refusal.donor_id, None, "the uploads were anonymous");
    }
    assert!(page.refusals.windows(2).all(|w| w[0].at >= w[1].at));
    let second = org
        .client
        .refusals(program, &PageQuery::new(2, 2))
        .await
        .unwrap();
    assert_eq!(second.refusals, page.refusals[2..4]);
    let stranger = app.org("Curious Stranger").await;
    assert_code(
        stranger
            .client
            .refusals(program, &PageQuery::default())
            .await,
        ErrorCode::ProgramNotFound,
    );
}

/// Writes `head`, then `body_bytes` of the `file` part in 64 KiB chunks, without ever finishing
/// the body, reading the answer at the same time. Returns the answer's status line and how many
/// body bytes were written before it came.
async fn send_unfinished_upload(
    app: &TestApp,
    head: String,
    chunked: bool,
    body_bytes: usize,
) -> (String, usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = written.clone();
    let sender = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![0x5au8; 64 * 1024];
        let mut sent = 0;
        while sent < body_bytes {
            if chunked {
                writer
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
            }
            writer.write_all(&chunk).await?;
            if chunked {
                writer.write_all(b"\r\n").await?;
            }
            sent += chunk.len();
            counter.store(sent, std::sync::atomic::Ordering::SeqCst);
        }
        // Never finish the body: keep the connection open.
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<_, std::io::Error>(writer)
    });
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = reader.read(&mut buffer).await.unwrap();
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
        }
    })
    .await;
    sender.abort();
    assert!(read.is_ok(), "no answer while the body was still coming");
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text.lines().next().unwrap_or_default().to_string();
    (status, written.load(std::sync::atomic::Ordering::SeqCst))
}

fn multipart_head(data: &UploadProofData) -> String {
    format!(
        "--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{}\r\n\
         --XBOUNDARYX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"proof.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n",
        serde_json::to_string(data).unwrap()
    )
}

async fn oversized_proofs_are_refused_before_they_are_read(app: TestApp) {
    let org = app.org("Big Prover").await;
    let program = upload_program(&org, "double", 30).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let data = ids(&org, program, group);
    let limit = app.settings.limits.proof_bytes;
    let headers = |framing: &str| {
        format!(
            "POST /program/proof HTTP/1.1\r\nHost: test\r\n\
             Content-Type: multipart/form-data; boundary=XBOUNDARYX\r\n{framing}\r\n"
        )
    };

    // A declared length over the limit: answered before a byte of the body is sent.
    let (status, written) =
        send_unfinished_upload(&app, headers("Content-Length: 4294967296\r\n"), false, 0).await;
    assert!(status.contains(" 413 "), "{status}");
    assert_eq!(written, 0);

    // No declared length (chunked): the part is cut off while it streams in; the answer comes
    // while the client is still sending (it never finishes here).
    let body = limit + 2 * 1024 * 1024;
    let first = multipart_head(&data);
    let head = format!(
        "{}{:x}\r\n{first}\r\n",
        headers("Transfer-Encoding: chunked\r\n"),
        first.len()
    );
    let (status, _) = send_unfinished_upload(&app, head, true, body).await;
    assert!(status.contains(" 413 "), "{status}");

    // Nothing was stored; the group takes a proof as usual.
    assert_code(
        org.client.proof(program, group).await,
        ErrorCode::ProofNotFound,
    );
    app.client
        .upload_proof(proof_of("3").await, &data)
        .await
        .unwrap();
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
    let proof = proof_of("3").await;
    app.client
        .upload_proof(proof.clone(), &ids(&owner, program, group))
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
    assert_eq!(owner.client.proof(program, group).await.unwrap(), proof);
}

async fn of_racing_proofs_for_one_group_exactly_one_is_accepted(app: TestApp) {
    let org = app.org("Racy").await;
    let program = upload_program(&org, "double", 30).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let data = ids(&org, program, group);
    let proof = proof_of("3").await;
    let uploads: Vec<_> = (0..8u8)
        .map(|i| {
            let client = app.client.clone();
            let data = data.clone();
            let proof = proof.clone();
            tokio::spawn(async move { (i, client.upload_proof(proof, &data).await) })
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
    assert_eq!(org.client.proof(program, group).await.unwrap(), proof);
    let status = org.client.program_status(program).await.unwrap();
    assert_eq!((status.total, status.proven), (1, 1));
}

/// Anyone can send bad files, so a program's refusals are bounded: the newest are kept.
async fn a_program_keeps_only_its_newest_refusals(app: TestApp) {
    let org = app.org("Busy Verifier").await;
    let program = upload_program(&org, "double", 600).await;
    let first = upload_inputs(&org, program, "first", 3).await;
    let later = upload_inputs(&org, program, "later", 4).await;
    let garbage = || b"not a proof at all".to_vec();
    for _ in 0..3 {
        let refused = app
            .client
            .upload_proof(garbage(), &ids(&org, program, first))
            .await;
        assert_code(refused, ErrorCode::InvalidProof);
    }
    let kept = program_distributor::db::queries::refusals::KEPT_PER_PROGRAM;
    for _ in 0..kept {
        let refused = app
            .client
            .upload_proof(garbage(), &ids(&org, program, later))
            .await;
        assert_code(refused, ErrorCode::InvalidProof);
    }
    let mut seen = Vec::new();
    let pages = (kept + distributor_api::MAX_PAGE_SIZE - 1) / distributor_api::MAX_PAGE_SIZE;
    for page in 1..=pages {
        let query = PageQuery::new(distributor_api::MAX_PAGE_SIZE, page);
        let listed = org.client.refusals(program, &query).await.unwrap();
        assert_eq!(listed.total_elements_amount, kept);
        seen.extend(listed.refusals);
    }
    assert_eq!(seen.len() as i64, kept);
    assert!(
        seen.iter().all(|r| r.input_group_id == later),
        "the three oldest refusals are forgotten"
    );
}
