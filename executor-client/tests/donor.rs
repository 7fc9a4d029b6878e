//! The donor identity as a donor uses it: `donor init` registers a key and saves it 0600, `run`
//! then signs its work and the server credits exactly the proven steps, `donor status` shows it.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{executor, organization, publish, Server};
use distributor_api::{PageQuery, Period};
use serde_json::Value;

/// `executor-client ARGS` with the donor key kept in `key`; returns (exit code, stdout, stderr).
fn donor_command(key: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = executor()
        .env("EXECUTOR_DONOR_FILE", key)
        .args(args)
        .output()
        .expect("run executor-client");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

on_both_backends!(a_registered_donor_is_credited_for_the_jobs_it_proves);

async fn a_registered_donor_is_credited_for_the_jobs_it_proves(server: Server) {
    let org = organization(&server, "Credit Lab").await;
    let (program, _) = publish(&org, "collatz", 600, &[(1, 3), (3, 5)]).await;
    let key = server.dir.path().join("conf").join("donor.json");
    let url = server.url.clone();

    let (code, out, err) = donor_command(&key, &["--server", &url, "donor", "status"]);
    assert_eq!(code, Some(2), "no key yet: {out} {err}");
    assert!(err.contains("donor init"), "{err}");
    let args = ["--json", "--server", &url, "donor", "init", "--name", "Ada"];
    let (code, out, err) = donor_command(&key, &args);
    assert_eq!(code, Some(0), "{out} {err}");
    let registered: Value = serde_json::from_str(out.trim()).expect("one JSON line");
    let donor_id: uuid::Uuid = registered["donor_id"].as_str().unwrap().parse().unwrap();
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key file is the owner's only");
    let (code, _, err) = donor_command(&key, &["--server", &url, "donor", "init", "--name", "B"]);
    assert_eq!(code, Some(2), "an existing key is kept: {err}");

    let run = [
        "--json",
        "--server",
        &url,
        "run",
        "--program",
        &program.to_string(),
        "--jobs",
        "2",
        "--cpus",
        "1",
    ]
    .map(String::from);
    let key_file = key.clone();
    let (code, out, stderr) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = run.iter().map(String::as_str).collect();
        donor_command(&key_file, &args)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{stderr}");

    let groups = org
        .client
        .input_groups(program, &PageQuery::new(50, 1))
        .await
        .unwrap();
    let proven: i64 = groups
        .program_input_groups
        .iter()
        .map(|g| g.steps.expect("proven") as i64)
        .sum();
    let profile = server.client.donor(donor_id).await.unwrap();
    assert_eq!((profile.total.steps, profile.total.jobs), (proven, 2));
    // Each proof is bound to the donor's key: the organization's own verification shows it.
    let key_hex = registered["public_key"].as_str().expect("public key");
    let program_json = cairo_stark::CompiledProgram::parse(&common::collatz_json()).unwrap();
    for group in &groups.program_input_groups {
        let proof = org
            .client
            .proof(program, group.input_group_id)
            .await
            .unwrap();
        // `publish` names the group of the range (a, b) "range-a-b".
        let range = group.name.trim_start_matches("range-").replace('-', ",");
        let inputs = cairo_stark::inputs::parse_csv(range.as_bytes()).unwrap();
        let policy = cairo_stark::SecurityPolicy::default();
        let verified = cairo_stark::verify(&proof, &program_json, &inputs, &policy).unwrap();
        let bound = verified
            .prover_key
            .map(|k| distributor_api::signing::hex(&k));
        assert_eq!(bound.as_deref(), Some(key_hex), "{}", group.name);
    }
    // After each accepted job the client told what it earned and the running total.
    let credits: Vec<Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "credit")
        .collect();
    assert_eq!(credits.len(), 2, "{out}");
    let earned: i64 = credits
        .iter()
        .map(|e| e["earned_steps"].as_i64().unwrap())
        .sum();
    assert_eq!(earned, proven);
    assert_eq!(credits[1]["total_steps"], proven);
    assert_eq!(credits[1]["rank"], 1);
    let board = server
        .client
        .donors(&distributor_api::LeaderboardQuery {
            period: Some(Period::Day),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(board.donors[0].donor_id, donor_id);

    let (code, out, err) = donor_command(&key, &["--server", &url, "donor", "status"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&format!("{proven} steps in 2 jobs")), "{out}");
    assert!(out.contains("rank: #1"), "{out}");
}
