//! Donors: registration, signed requests (and forged, replayed, stale or misdirected ones), credit
//! that is exactly the verified steps and cannot be inflated, key rotation, teams, leaderboards
//! and public progress.

use distributor_api::signing::{self, DonorKey};
use distributor_api::{
    Client, ErrorCode, LeaderboardQuery, PageQuery, Period, UploadProofData,
    EXECUTION_CREDIT_PERCENT,
};
use program_distributor::configuration::RateSettings;
use program_distributor::testing::generous_rates;
use uuid::Uuid;

use crate::helpers::*;
use crate::{for_both_backends, on_both_backends};

on_both_backends!(
    donors_register_once_under_a_unique_valid_name,
    forged_replayed_stale_and_partial_signatures_are_refused,
    a_signed_proof_credits_its_donor_exactly_once,
    nobody_is_credited_under_another_donors_key,
    execution_only_credit_goes_to_the_executor_and_the_prover,
    a_rotated_key_keeps_the_credit_and_retires_the_old_key,
    a_team_is_credited_with_its_members_sum,
    leaderboards_rank_by_steps_and_are_paged,
    program_progress_is_public_until_its_organization_hides_it,
    a_proof_bound_to_a_donor_is_accepted_only_under_its_key,
);
for_both_backends!(donor_registrations_are_rate_limited);

/// A client of `app` that signs with a new key, registered under `name`.
async fn donor(app: &TestApp, name: &str) -> (Client, Uuid) {
    let client = app.client.with_donor(DonorKey::generate().unwrap());
    let id = client.register_donor(name).await.expect("register donor");
    (client, id)
}

/// The steps the accepted proof of `group` proves, as its organization sees them.
async fn group_steps(org: &Org, program: Uuid, group: Uuid) -> i64 {
    let page = org
        .client
        .input_groups(program, &PageQuery::new(50, 1))
        .await
        .unwrap();
    let group = page
        .program_input_groups
        .into_iter()
        .find(|g| g.input_group_id == group)
        .expect("listed");
    group.steps.expect("proven") as i64
}

async fn donors_register_once_under_a_unique_valid_name(app: TestApp) {
    let key = DonorKey::generate().unwrap();
    let client = app.client.with_donor(key.clone());
    let id = client.register_donor("  Ada Lovelace ").await.unwrap();
    let profile = app.client.donor(id).await.unwrap();
    assert_eq!(profile.name, "Ada Lovelace");
    assert_eq!(profile.public_key, key.public_hex());
    assert_eq!(
        (profile.total.steps, profile.total.jobs, profile.rank),
        (0, 0, None)
    );

    assert_code(
        client.register_donor("Someone Else").await,
        ErrorCode::DonorKeyTaken,
    );
    let other = app.client.with_donor(DonorKey::generate().unwrap());
    assert_code(
        other.register_donor("ADA LOVELACE").await,
        ErrorCode::DonorNameTaken,
    );
    for bad in ["", "   ", "a\u{202E}b", &"x".repeat(129)] {
        assert_code(other.register_donor(bad).await, ErrorCode::InvalidRequest);
    }
    // Registration proves possession of the key: an unsigned one is refused.
    assert_code(
        app.client.register_donor("Anonymous").await,
        ErrorCode::InvalidSignature,
    );
    assert_code(
        app.client.donor(Uuid::new_v4()).await,
        ErrorCode::DonorNotFound,
    );
}

/// Sends a request signed by the headers `signed`, for `method path` with `body`.
async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: &[u8],
    signed: &[(&'static str, String)],
) -> (u16, String) {
    let mut request = app
        .client
        .request(method, path)
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in signed {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (
        status,
        body["error_code"].as_str().unwrap_or("").to_string(),
    )
}

fn nonce() -> String {
    signing::hex(Uuid::new_v4().as_bytes())
}

async fn forged_replayed_stale_and_partial_signatures_are_refused(app: TestApp) {
    let org = app.org("Signed Work").await;
    let program = upload_program(&org, "double", 60).await;
    upload_inputs(&org, program, "g", 3).await;
    let key = DonorKey::generate().unwrap();
    app.client
        .with_donor(key.clone())
        .register_donor("Signer")
        .await
        .unwrap();
    let path = format!("/program/program-and-inputs/{program}");
    let empty = signing::body_hash(b"");
    let now = chrono::Utc::now().timestamp();
    let get = reqwest::Method::GET;

    // Forged: the headers name the donor's key, the signature is another key's.
    let forger = DonorKey::generate().unwrap();
    let mut forged = forger.headers_at("GET", &path, &empty, now, &nonce());
    forged[0].1 = key.public_hex();
    let refused = send(&app, get.clone(), &path, b"", &forged).await;
    assert_eq!(refused, (401, "INVALID_SIGNATURE".into()));
    // Signed for another path or method.
    let elsewhere = key.headers_at("GET", "/program/all", &empty, now, &nonce());
    let refused = send(&app, get.clone(), &path, b"", &elsewhere).await;
    assert_eq!(refused, (401, "INVALID_SIGNATURE".into()));
    // Stale, either way.
    for skew in [-400, 400] {
        let stale = key.headers_at("GET", &path, &empty, now + skew, &nonce());
        let refused = send(&app, get.clone(), &path, b"", &stale).await;
        assert_eq!(refused, (401, "STALE_SIGNATURE".into()));
    }
    // Some headers only.
    let good = key.headers_at("GET", &path, &empty, now, &nonce());
    let refused = send(&app, get.clone(), &path, b"", &good[..3]).await;
    assert_eq!(refused, (401, "INVALID_SIGNATURE".into()));
    // A good signature works once; its replay is refused.
    let (status, _) = send(&app, get.clone(), &path, b"", &good).await;
    assert_eq!(status, 200);
    let replayed = send(&app, get.clone(), &path, b"", &good).await;
    assert_eq!(replayed, (401, "REPLAYED_SIGNATURE".into()));
    // A signed body cannot be swapped for another.
    let stranger = DonorKey::generate().unwrap();
    let body = br#"{"name":"Mallory"}"#;
    let signed = stranger.headers_at("POST", "/donor", &signing::body_hash(b"{}"), now, &nonce());
    let refused = send(&app, reqwest::Method::POST, "/donor", body, &signed).await;
    assert_eq!(refused, (401, "INVALID_SIGNATURE".into()));
    // A key nobody registered cannot reserve.
    assert_code(
        app.client.with_donor(stranger).reserve(program).await,
        ErrorCode::InvalidSignature,
    );
}

async fn a_signed_proof_credits_its_donor_exactly_once(app: TestApp) {
    let org = app.org("Credit").await;
    let program = upload_program(&org, "double", 60).await;
    let first = upload_inputs(&org, program, "first", 3).await;
    let second = upload_inputs(&org, program, "second", 4).await;
    let (ada, ada_id) = donor(&app, "Ada").await;
    let (bob, bob_id) = donor(&app, "Bob").await;

    // Ada reserves one of the groups (signed) and proves it; the other is proven anonymously.
    let reservation = ada.reserve(program).await.unwrap().metadata;
    let (first, second, values) = if reservation.input_group_id == first {
        (first, second, ("3", "4"))
    } else {
        (second, first, ("4", "3"))
    };
    let data = ids_under(&org, program, first, reservation.reservation_id.unwrap());
    let proof = proof_of(values.0).await;
    ada.upload_proof(proof.clone(), &data).await.unwrap();
    // Re-uploading the accepted proof, by anyone, credits nothing more.
    for client in [&ada, &bob, &app.client] {
        assert_code(
            client
                .upload_proof(proof.clone(), &ids(&org, program, first))
                .await,
            ErrorCode::ProofAlreadySubmitted,
        );
    }
    // An anonymous proof is accepted and credits nobody.
    app.client
        .upload_proof(proof_of(values.1).await, &ids(&org, program, second))
        .await
        .unwrap();

    let steps = group_steps(&org, program, first).await;
    let profile = app.client.donor(ada_id).await.unwrap();
    assert_eq!((profile.total.steps, profile.total.jobs), (steps, 1));
    assert_eq!((profile.last_day.steps, profile.last_day.jobs), (steps, 1));
    assert_eq!(profile.rank, Some(1));
    assert_eq!(profile.programs.len(), 1);
    assert_eq!(profile.programs[0].program_id, program);
    assert_eq!(profile.programs[0].program_name.as_deref(), Some("double"));
    assert_eq!(profile.programs[0].credit.steps, steps);
    assert_eq!(profile.days.len(), 1);
    assert_eq!(profile.days[0].day, chrono::Utc::now().date_naive());
    assert!(profile.last_seen >= profile.first_seen);
    let bob = app.client.donor(bob_id).await.unwrap();
    assert_eq!((bob.total.steps, bob.total.jobs, bob.rank), (0, 0, None));

    // The credit outlives the program.
    org.client.delete_program(program).await.unwrap();
    let profile = app.client.donor(ada_id).await.unwrap();
    assert_eq!(profile.total.steps, steps);
    assert_eq!(profile.programs[0].program_name, None);
}

/// Posts a proof upload of `file` about `data` signed by `signer` but carrying `sent_file`.
async fn upload_signed_as(
    app: &TestApp,
    signer: &DonorKey,
    claimed_key: Option<String>,
    data: &UploadProofData,
    file: &[u8],
    sent_file: Vec<u8>,
) -> (u16, String) {
    let data = serde_json::to_string(data).unwrap();
    let hash = signing::upload_hash(data.as_bytes(), file);
    let mut headers = signer.headers("POST", "/program/proof", &hash).unwrap();
    if let Some(key) = claimed_key {
        headers[0].1 = key;
    }
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(sent_file))
        .text("data", data);
    let mut request = app
        .client
        .request(reqwest::Method::POST, "/program/proof")
        .multipart(form);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["error_code"].as_str().unwrap_or("").to_string(),
    )
}

async fn nobody_is_credited_under_another_donors_key(app: TestApp) {
    let org = app.org("Impersonation").await;
    let program = upload_program(&org, "double", 60).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let ada_key = DonorKey::generate().unwrap();
    let ada_id = app
        .client
        .with_donor(ada_key.clone())
        .register_donor("Ada")
        .await
        .unwrap();
    let (_, mallory_id) = donor(&app, "Mallory").await;
    let mallory_key = DonorKey::generate().unwrap();
    let data = ids(&org, program, group);
    let proof = proof_of("3").await;

    // Mallory signs with her key but claims Ada's: the signature does not check.
    let refused = upload_signed_as(
        &app,
        &mallory_key,
        Some(ada_key.public_hex()),
        &data,
        &proof,
        proof.clone(),
    )
    .await;
    assert_eq!(refused, (401, "INVALID_SIGNATURE".into()));
    // Ada's signature of another file does not cover this one.
    let refused = upload_signed_as(&app, &ada_key, None, &data, b"other", proof.clone()).await;
    assert_eq!(refused, (401, "INVALID_SIGNATURE".into()));
    // Nothing was accepted: the group is still unproven, and nobody has credit.
    let accepted = upload_signed_as(&app, &ada_key, None, &data, &proof, proof.clone()).await;
    assert_eq!(accepted.0, 200, "{accepted:?}");
    let steps = group_steps(&org, program, group).await;
    assert_eq!(app.client.donor(ada_id).await.unwrap().total.steps, steps);
    assert_eq!(app.client.donor(mallory_id).await.unwrap().total.steps, 0);
}

async fn execution_only_credit_goes_to_the_executor_and_the_prover(app: TestApp) {
    let org = app.org("Split Work").await;
    let program = upload_program(&org, "double", 60).await;
    let group = upload_inputs(&org, program, "g", 5).await;
    let (executor, executor_id) = donor(&app, "Executor").await;
    let (prover, prover_id) = donor(&app, "Prover").await;

    let reservation = executor.reserve_for_execution(program).await.unwrap();
    let data = ids_under(
        &org,
        program,
        group,
        reservation.metadata.reservation_id.unwrap(),
    );
    let run = run_of("5").await;
    let replayed = run.steps as i64;
    executor
        .upload_execution(run.to_file_bytes(), &data)
        .await
        .unwrap();
    let share = replayed * EXECUTION_CREDIT_PERCENT / 100;
    let credited = app.client.donor(executor_id).await.unwrap().total;
    assert_eq!((credited.steps, credited.jobs), (share, 1));

    let to_prove = prover.reserve_for_proving(program).await.unwrap();
    let data = ids_under(
        &org,
        program,
        group,
        to_prove.metadata.reservation_id.unwrap(),
    );
    prover
        .upload_proof(proof_of("5").await, &data)
        .await
        .unwrap();
    let steps = group_steps(&org, program, group).await;
    assert_eq!(steps, replayed);
    let credited = app.client.donor(prover_id).await.unwrap().total;
    assert_eq!((credited.steps, credited.jobs), (steps, 1));
    let credited = app.client.donor(executor_id).await.unwrap().total;
    assert_eq!(credited.steps, share, "the executor's credit is unchanged");
}

async fn a_rotated_key_keeps_the_credit_and_retires_the_old_key(app: TestApp) {
    let org = app.org("Rotation").await;
    let program = upload_program(&org, "double", 60).await;
    let first = upload_inputs(&org, program, "first", 3).await;
    let second = upload_inputs(&org, program, "second", 4).await;
    let (old, id) = donor(&app, "Rotator").await;
    old.upload_proof(proof_of("3").await, &ids(&org, program, first))
        .await
        .unwrap();

    let new_key = DonorKey::generate().unwrap();
    // The new key must sign the rotation: a signature by another key is refused.
    let impostor = app.client.with_donor(DonorKey::generate().unwrap());
    assert_code(
        impostor.rotate_donor_key(id, &new_key).await,
        ErrorCode::InvalidSignature,
    );
    old.rotate_donor_key(id, &new_key).await.unwrap();
    assert_code(
        old.upload_proof(proof_of("4").await, &ids(&org, program, second))
            .await,
        ErrorCode::InvalidSignature,
    );
    let new = app.client.with_donor(new_key.clone());
    new.upload_proof(proof_of("4").await, &ids(&org, program, second))
        .await
        .unwrap();
    let profile = app.client.donor(id).await.unwrap();
    assert_eq!(profile.public_key, new_key.public_hex());
    let both = group_steps(&org, program, first).await + group_steps(&org, program, second).await;
    assert_eq!((profile.total.steps, profile.total.jobs), (both, 2));
    // A donor cannot rotate another donor's key.
    let (_, other) = donor(&app, "Someone").await;
    assert_code(
        new.rotate_donor_key(other, &DonorKey::generate().unwrap())
            .await,
        ErrorCode::InvalidSignature,
    );
}

async fn a_team_is_credited_with_its_members_sum(app: TestApp) {
    let org = app.org("Teamwork").await;
    let program = upload_program(&org, "double", 60).await;
    let (ada, ada_id) = donor(&app, "Ada").await;
    let (bob, bob_id) = donor(&app, "Bob").await;
    let (_, carol_id) = donor(&app, "Carol").await;
    let team = ada.create_team("Lovelace Lab", "we prove").await.unwrap();
    assert_code(
        bob.create_team("LOVELACE LAB", "").await,
        ErrorCode::TeamNameTaken,
    );
    assert_code(
        bob.join_team(Some(Uuid::new_v4())).await,
        ErrorCode::TeamNotFound,
    );
    bob.join_team(Some(team)).await.unwrap();
    let mut expected = 0;
    for (i, client) in [&ada, &bob, &ada].into_iter().enumerate() {
        let value = 3 + i as u64;
        let group = upload_inputs(&org, program, &format!("g{i}"), value).await;
        client
            .upload_proof(
                proof_of(&value.to_string()).await,
                &ids(&org, program, group),
            )
            .await
            .unwrap();
        expected += group_steps(&org, program, group).await;
    }
    let page = app
        .client
        .teams(&LeaderboardQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total_elements_amount, 1);
    let listed = &page.teams[0];
    assert_eq!((listed.team_id, listed.members, listed.rank), (team, 2, 1));
    assert_eq!((listed.credit.steps, listed.credit.jobs), (expected, 3));
    let profile = app.client.team(team).await.unwrap();
    let members: Vec<Uuid> = profile.top_members.iter().map(|m| m.donor_id).collect();
    assert_eq!(members, vec![ada_id, bob_id], "most steps first");
    assert!(!members.contains(&carol_id));
    assert_eq!(
        app.client.donor(bob_id).await.unwrap().team_name.as_deref(),
        Some("Lovelace Lab")
    );
    // A donor who leaves takes its credit along.
    bob.join_team(None).await.unwrap();
    let profile = app.client.team(team).await.unwrap();
    assert_eq!(profile.team.members, 1);
    let ada_steps = app.client.donor(ada_id).await.unwrap().total.steps;
    assert_eq!(profile.team.credit.steps, ada_steps);
    assert_code(
        app.client.team(Uuid::new_v4()).await,
        ErrorCode::TeamNotFound,
    );
}

async fn leaderboards_rank_by_steps_and_are_paged(app: TestApp) {
    let org = app.org("Ranking").await;
    let program = upload_program(&org, "double", 60).await;
    let (ada, ada_id) = donor(&app, "Ada").await;
    let (bob, bob_id) = donor(&app, "Bob").await;
    donor(&app, "Idle").await;
    let work = [(&ada, 3u64), (&bob, 4), (&ada, 5)];
    for (i, (client, value)) in work.into_iter().enumerate() {
        let group = upload_inputs(&org, program, &format!("g{i}"), value).await;
        client
            .upload_proof(
                proof_of(&value.to_string()).await,
                &ids(&org, program, group),
            )
            .await
            .unwrap();
    }
    for period in [Period::All, Period::Day] {
        let query = |limit, page| LeaderboardQuery {
            limit: Some(limit),
            page: Some(page),
            period: Some(period),
        };
        let all = app.client.donors(&query(50, 1)).await.unwrap();
        assert_eq!(all.period, period);
        assert_eq!(all.total_elements_amount, 2, "only donors with credit");
        let order: Vec<(i64, Uuid, i64)> = all
            .donors
            .iter()
            .map(|d| (d.rank, d.donor_id, d.credit.jobs))
            .collect();
        assert_eq!(order, vec![(1, ada_id, 2), (2, bob_id, 1)]);
        assert!(all.donors[0].credit.steps > all.donors[1].credit.steps);
        let second = app.client.donors(&query(1, 2)).await.unwrap();
        assert_eq!(second.donors.len(), 1);
        assert_eq!(
            (second.donors[0].rank, second.donors[0].donor_id),
            (2, bob_id)
        );
        assert!(app
            .client
            .donors(&query(1, 3))
            .await
            .unwrap()
            .donors
            .is_empty());
        assert_code(
            app.client.donors(&query(51, 1)).await,
            ErrorCode::InvalidRequest,
        );
        assert_code(
            app.client.donors(&query(10, 0)).await,
            ErrorCode::InvalidRequest,
        );
    }
}

async fn program_progress_is_public_until_its_organization_hides_it(app: TestApp) {
    let org = app.org("Open Science").await;
    let other = app.org("Someone Else").await;
    let program = upload_program(&org, "double", 60).await;
    let first = upload_inputs(&org, program, "first", 3).await;
    upload_inputs(&org, program, "second", 4).await;
    let (ada, ada_id) = donor(&app, "Ada").await;
    ada.upload_proof(proof_of("3").await, &ids(&org, program, first))
        .await
        .unwrap();

    let progress = app.client.program_progress(program).await.unwrap();
    let steps = group_steps(&org, program, first).await;
    assert_eq!(progress.name, "double");
    assert_eq!(progress.organization_name, "Open Science");
    assert_eq!(
        (progress.total, progress.uploaded, progress.proven),
        (2, 1, 1)
    );
    assert_eq!(progress.steps_proven, steps);
    assert_eq!(progress.donors_contributing, 1);
    assert_eq!(progress.top_donors[0].donor_id, ada_id);
    assert_eq!(progress.top_donors[0].credit.steps, steps);
    assert_eq!(progress.days.len(), 1);
    assert_eq!(progress.days[0].credit.jobs, 1);

    assert_code(
        other.client.set_progress_public(program, false).await,
        ErrorCode::ProgramNotFound,
    );
    assert_code(
        app.client.set_progress_public(program, false).await,
        ErrorCode::InvalidToken,
    );
    org.client
        .set_progress_public(program, false)
        .await
        .unwrap();
    assert_code(
        app.client.program_progress(program).await,
        ErrorCode::ProgressNotPublic,
    );
    org.client.set_progress_public(program, true).await.unwrap();
    assert!(app.client.program_progress(program).await.is_ok());
    assert_code(
        app.client.program_progress(Uuid::new_v4()).await,
        ErrorCode::ProgramNotFound,
    );
}

async fn donor_registrations_are_rate_limited(backend: Backend) {
    let rates = RateSettings {
        register_per_ip: 2,
        ..generous_rates()
    };
    let app = spawn_app_with(backend, |s| s.rate_limits = rates).await;
    donor(&app, "One").await;
    donor(&app, "Two").await;
    let third = app.client.with_donor(DonorKey::generate().unwrap());
    assert_code(
        third.register_donor("Three").await,
        ErrorCode::TooManyRequests,
    );
}

/// A proof of the fixture program on `csv` bound to `key` (format 4's prover key).
async fn bound_proof(csv: &str, key: [u8; 32]) -> Vec<u8> {
    let execution = run_of(csv).await;
    tokio::task::spawn_blocking(move || {
        let settings = cairo_stark::ProveSettings {
            prover_key: Some(key),
            ..Default::default()
        };
        let options = cairo_stark::ProofOptions::default();
        cairo_stark::prove_with_progress(&execution, &options, &settings, |_| {})
            .expect("prove")
            .to_bytes()
    })
    .await
    .expect("proving task")
}

async fn a_proof_bound_to_a_donor_is_accepted_only_under_its_key(app: TestApp) {
    let org = app.org("Bound Proofs").await;
    let program = upload_program(&org, "double", 60).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    let ada_key = DonorKey::generate().unwrap();
    let ada = app.client.with_donor(ada_key.clone());
    let ada_id = ada.register_donor("Ada").await.unwrap();
    let (mallory, mallory_id) = donor(&app, "Mallory").await;
    let proof = bound_proof("3", ada_key.public()).await;
    let data = ids(&org, program, group);

    // Re-uploaded under another key, or anonymously: refused.
    assert_code(
        mallory.upload_proof(proof.clone(), &data).await,
        ErrorCode::InvalidProof,
    );
    assert_code(
        app.client.upload_proof(proof.clone(), &data).await,
        ErrorCode::InvalidProof,
    );
    // Under its own key: accepted and credited.
    ada.upload_proof(proof, &data).await.unwrap();
    let steps = group_steps(&org, program, group).await;
    assert_eq!(app.client.donor(ada_id).await.unwrap().total.steps, steps);
    assert_eq!(app.client.donor(mallory_id).await.unwrap().total.steps, 0);
}
