//! End to end, on MariaDB + S3: an organization publishes the example program (Collatz) with a few
//! small input groups through `uploader-client`; a donor's `executor-client run` proves them
//! through the server; the organization verifies every proof locally and aggregates the results.
//! Plus the adversarial cases: a garbage proof, a proof of the right program on another input
//! group and a proof of another program are refused by the server (`INVALID_PROOF`, the group
//! free again at once) and by the organization's own verification (`cairo_stark::verify`,
//! `executor-client verify`, and `uploader-client proofs verify` when storage hands them back).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{prove, repo_root, Backend, Cli, Server, PASSWORD};
use distributor_api::{ClientError, ErrorCode, LoginRequest, PageQuery, UploadProofData};
use serde_json::Value;
use uuid::Uuid;

/// The input groups: `[a, b)` ranges of starting values, small so that proving is quick.
const RANGES: [(u64, u64); 4] = [(1, 3), (3, 5), (5, 7), (7, 9)];

/// Makes the bytes a donor uploads for an input group's `[a, b)` range.
type ProofFor<'a> = Box<dyn Fn((u64, u64)) -> Vec<u8> + 'a>;

/// Collatz stopping time of `n` (steps to reach 1), computed here independently of Cairo.
fn stopping_time(mut n: u64) -> u64 {
    let mut steps = 0;
    while n != 1 {
        n = if n.is_multiple_of(2) {
            n / 2
        } else {
            3 * n + 1
        };
        steps += 1;
    }
    steps
}

/// The newest modification time under `path` (a file or a folder).
fn newest(path: &Path) -> std::time::SystemTime {
    let own = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH);
    match std::fs::read_dir(path) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| newest(&e.path()))
            .fold(own, std::cmp::max),
        Err(_) => own,
    }
}

/// The `executor-client` binary of this workspace, next to the binary under test. `cargo test
/// --workspace` (the project's test command) builds it; when it is missing or older than its
/// sources (e.g. `cargo test -p uploader-client` alone), it is built here.
fn executor_binary() -> PathBuf {
    let uploader = PathBuf::from(env!("CARGO_BIN_EXE_uploader-client"));
    let dir = uploader.parent().expect("target directory").to_path_buf();
    let binary = dir.join(format!("executor-client{}", std::env::consts::EXE_SUFFIX));
    let root = repo_root();
    let sources = [
        "executor-client",
        "cairo-stark/src",
        "stark/src",
        "distributor-api/src",
        "Cargo.lock",
    ]
    .iter()
    .map(|p| newest(&root.join(p)))
    .max()
    .unwrap_or(std::time::UNIX_EPOCH);
    let built = std::fs::metadata(&binary).and_then(|m| m.modified()).ok();
    if built.is_none_or(|at| at < sources) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.current_dir(&root).args([
            "build",
            "-p",
            "executor-client",
            "--bin",
            "executor-client",
        ]);
        // The uploader binary's directory is `<target>/<profile>`: build into the same one.
        if let Some(target) = dir.parent() {
            build.env("CARGO_TARGET_DIR", target);
        }
        if dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo to build executor-client");
        assert!(status.success(), "building executor-client failed");
    }
    assert!(binary.is_file(), "{} is missing", binary.display());
    binary
}

/// `executor-client` with this test's config only (no developer settings leaking in).
fn executor(binary: &Path, cli: &Cli, args: &[&str]) -> std::process::Output {
    let config = cli.path("executor.json");
    std::fs::write(
        &config,
        serde_json::json!({ "program_distributor_url": cli.url }).to_string(),
    )
    .expect("executor config");
    Command::new(binary)
        .current_dir(cli.dir.path())
        .env_remove("PROGRAM_DISTRIBUTOR_URL")
        .env_remove("EXECUTOR_CPUS")
        .env_remove("EXECUTOR_CONFIG")
        // Its proving speed (calibrated on the first run) is kept here, not in the user's home.
        .env("XDG_CONFIG_HOME", cli.path("executor-config-home"))
        .arg("--config")
        .arg(&config)
        .args(args)
        .output()
        .expect("run executor-client")
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Runs the donor's work loop until `jobs` jobs are done; every one must be accepted.
fn donate(binary: &Path, cli: &Cli, program_id: Uuid, jobs: usize) {
    let output = executor(
        binary,
        cli,
        &[
            "--json",
            "run",
            "--program",
            &program_id.to_string(),
            "--jobs",
            &jobs.to_string(),
            "--cpus",
            "1",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "executor run failed: {stderr}"
    );
    let events = json_lines(&output.stdout);
    let accepted = events
        .iter()
        .filter(|e| e["event"] == "job" && e["result"] == "accepted")
        .count();
    assert_eq!(accepted, jobs, "{events:?}");
}

/// A donor reserves a group and uploads `proof_for(its range)`: refused with `INVALID_PROOF` and a
/// reason; nothing stored, and the group is free again at once. Returns the group's range and the
/// refused bytes.
fn refused_by_server(
    server: &Server,
    cli: &Cli,
    program_id: Uuid,
    proof_for: impl Fn((u64, u64)) -> Vec<u8>,
    reason: &str,
    what: &str,
) -> ((u64, u64), Vec<u8>) {
    let reservation = server.reserve(program_id);
    let inputs = cairo_stark::inputs::parse_csv(&reservation.inputs_csv).expect("inputs");
    let range = RANGES
        .iter()
        .copied()
        .find(|(a, b)| inputs == [cairo_stark::Felt::from(*a), cairo_stark::Felt::from(*b)])
        .expect("the reserved group is one of ours");
    assert_eq!(server.status(cli, program_id).reserved, 1, "{what}");
    let proof = proof_for(range);
    let data = UploadProofData {
        organization_id: reservation.metadata.organization_id,
        program_id,
        input_group_id: reservation.metadata.input_group_id,
        // The donor's own reservation: its refused proof ends it.
        reservation_id: reservation.metadata.reservation_id,
    };
    match server.block_on(server.client.upload_proof(proof.clone(), &data)) {
        Err(ClientError::Api {
            status,
            code,
            message,
        }) => {
            assert_eq!(
                (status, code),
                (422, ErrorCode::InvalidProof),
                "{what}: {message}"
            );
            assert!(message.contains(reason), "{what}: {message}");
        }
        other => panic!("{what}: the server must refuse it with INVALID_PROOF, got {other:?}"),
    }
    // Nothing accepted, and the reservation is over: the group is free for the next donor.
    let status = server.status(cli, program_id);
    assert_eq!(
        (status.uploaded, status.reserved, status.proven),
        (RANGES.len() as i64, 0, 0),
        "{what}"
    );
    (range, proof)
}

/// The organization's own check, on its own copies: the library and the donor CLI's `verify`.
fn refused_locally(executor_bin: &Path, cli: &Cli, proof: &[u8], csv: &Path, what: &str) {
    let program_json = std::fs::read(common::collatz_json()).expect("program");
    let program = cairo_stark::CompiledProgram::parse(&program_json).expect("program");
    let inputs = cairo_stark::inputs::parse_csv(&std::fs::read(csv).expect("csv")).expect("inputs");
    let verdict = cairo_stark::verify(proof, &program, &inputs, &Default::default());
    assert!(verdict.is_err(), "{what}: cairo_stark::verify accepted it");

    let file = cli.path("suspect.bin");
    std::fs::write(&file, proof).expect("write the proof");
    let output = executor(
        executor_bin,
        cli,
        &[
            "verify",
            file.to_str().expect("utf-8"),
            common::collatz_json().to_str().expect("utf-8"),
            csv.to_str().expect("utf-8"),
        ],
    );
    assert!(
        !output.status.success(),
        "{what}: executor-client verify accepted it"
    );
}

#[test]
fn the_example_program_is_proven_verified_and_aggregated_and_bad_proofs_are_refused() {
    let started = std::time::Instant::now();
    let server = Server::start(Backend::MariaDbS3);
    let executor_bin = executor_binary();
    let cli = Cli::new(&server.url);
    let username = cli.register_and_login("E2E");
    let org = server.block_on(async {
        let login = server
            .client
            .login(&LoginRequest {
                username: username.clone(),
                password: PASSWORD.into(),
            })
            .await
            .expect("login");
        server.client.with_token(&login.basic_token.token)
    });
    let program_id = cli.upload_collatz("collatz");
    let upload = cli.upload_ranges(program_id, &RANGES);
    assert_eq!(upload["uploaded"], RANGES.len(), "{upload}");
    let csv_of = |(a, b): (u64, u64)| cli.path("inputs").join(format!("r-{a:03}-{b:03}.csv"));
    let collatz = std::fs::read(common::collatz_json()).expect("collatz.json");
    let double =
        std::fs::read(repo_root().join("program-distributor/tests/fixtures/proof_mode.json"))
            .expect("another program");
    let another_range = |range: (u64, u64)| {
        let (a, b) = RANGES
            .iter()
            .copied()
            .find(|r| *r != range)
            .expect("another");
        format!("{a},{b}")
    };

    // --- Adversarial uploads, refused by the server and by the organization's checks. -----
    let cases: Vec<(&str, ProofFor, &str)> = vec![
        (
            "a garbage proof",
            Box::new(|_| b"\x00garbage, not a proof".to_vec()),
            "",
        ),
        (
            "a proof of the right program on another input group",
            Box::new(|range| prove(&collatz, another_range(range).as_bytes())),
            "another input group",
        ),
        (
            "a proof of another program",
            Box::new(|_| prove(&double, b"5")),
            "another program",
        ),
    ];
    for (what, proof_for, reason) in &cases {
        let (range, proof) = refused_by_server(&server, &cli, program_id, proof_for, reason, what);
        refused_locally(&executor_bin, &cli, &proof, &csv_of(range), what);
    }

    // --- The honest flow: a donor proves every group through the server. ---------------------
    donate(&executor_bin, &cli, program_id, RANGES.len());
    let status = server.status(&cli, program_id);
    assert_eq!((status.proven, status.uploaded), (RANGES.len() as i64, 0));
    let page = server
        .block_on(org.input_groups(program_id, &PageQuery::new(50, 1)))
        .expect("input groups");
    let group_of = |range: (u64, u64)| {
        let name = format!("r-{:03}-{:03}", range.0, range.1);
        page.program_input_groups
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("group {name}"))
            .input_group_id
    };
    for group in &page.program_input_groups {
        assert!(group.steps.is_some_and(|s| s > 0), "{group:?}");
    }

    // Storage that hands back something else is caught by the organization's verification:
    // two stored proofs are replaced behind the server's back.
    server.replace_stored_proof(
        program_id,
        group_of(RANGES[0]),
        prove(&collatz, another_range(RANGES[0]).as_bytes()),
    );
    server.replace_stored_proof(program_id, group_of(RANGES[2]), prove(&double, b"5"));
    let output = cli.run(&["proofs", "verify", "collatz", "--json"]);
    assert_eq!(
        output.status.code(),
        Some(5),
        "verify must reject the replaced proofs\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let summary = &report["programs"][0];
    assert_eq!(summary["verified"], RANGES.len() - 2, "{report}");
    let rejected = summary["rejected"].as_array().expect("rejected");
    let reason_of = |group: Uuid| {
        rejected
            .iter()
            .find(|r| r["input_group_id"] == group.to_string())
            .and_then(|r| r["reason"].as_str())
            .unwrap_or_else(|| panic!("{group} was not rejected: {report}"))
            .to_string()
    };
    assert!(reason_of(group_of(RANGES[0])).contains("another input group"));
    assert!(reason_of(group_of(RANGES[2])).contains("another program"));
    // The rejected jobs are offered again: the donor proves them anew, the organization verifies.
    donate(&executor_bin, &cli, program_id, 2);
    let report = cli.json(&["proofs", "verify", "collatz"]);
    assert_eq!(report["programs"][0]["verified"], 2, "{report}");
    let status = server.status(&cli, program_id);
    assert_eq!(
        (
            status.confirmed,
            status.proven,
            status.uploaded,
            status.reserved
        ),
        (RANGES.len() as i64, 0, 0, 0)
    );

    // --- The answer. ---------------------------------------------------------------------
    let lines = cli.result_lines(program_id);
    assert_eq!(lines.len(), RANGES.len());
    let page = server
        .block_on(org.input_groups(program_id, &PageQuery::new(50, 1)))
        .expect("input groups");
    for line in &lines {
        let group = page
            .program_input_groups
            .iter()
            .find(|g| line["input_group_id"] == g.input_group_id.to_string())
            .expect("a group of the program");
        // The steps the server kept are the steps the organization verified.
        assert_eq!(group.steps, line["steps"].as_u64(), "{line}");
    }
    let aggregate = cli.json(&[
        "results",
        "aggregate",
        "collatz",
        "--column",
        "3:sum",
        "--column",
        "4:max",
    ]);
    let times: Vec<u64> = (RANGES[0].0..RANGES[RANGES.len() - 1].1)
        .map(stopping_time)
        .collect();
    let total: u64 = times.iter().sum();
    let longest = *times.iter().max().expect("max");
    assert_eq!((total, longest), (42, 16));
    assert_eq!(aggregate["columns"][0]["value"], total.to_string());
    assert_eq!(aggregate["columns"][1]["value"], longest.to_string());
    // The start of the longest chain: output 5 of the group holding the maximum.
    let start = lines
        .iter()
        .filter(|l| l["outputs"][3].as_str().and_then(|v| v.parse::<u64>().ok()) == Some(longest))
        .filter_map(|l| l["outputs"][4].as_str()?.parse::<u64>().ok())
        .min();
    assert_eq!(start, Some(7));
    eprintln!("end to end: {:.1}s", started.elapsed().as_secs_f64());
}
