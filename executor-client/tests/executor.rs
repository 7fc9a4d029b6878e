//! The client as a donor uses it: the binary, against the real server started in this process.

mod common;

use assert_cmd::Command as AssertCommand;
use common::{
    collatz_json, executor, organization, publish, spawn, status, workspace_file, CountingProxy,
    Server,
};
use distributor_api::UploadProofData;
use serde_json::Value;
use uuid::Uuid;

fn events_named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

fn assert_cmd() -> AssertCommand {
    AssertCommand::from_std(executor())
}

fn output_of(command: &mut AssertCommand) -> (Option<i32>, String, String) {
    let output = command.output().expect("run executor-client");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

on_both_backends!(
    the_loop_proves_every_input_group_and_the_server_marks_each_proven,
    with_no_work_the_loop_backs_off_and_ctrl_c_stops_it_cleanly,
    a_refused_proof_is_reported_and_the_loop_goes_on,
    a_job_whose_reservation_would_expire_first_is_dropped_not_uploaded,
    one_donor_executes_another_proves_and_the_proof_verifies,
    a_failing_group_is_reported_until_failed_while_the_others_are_proven,
);

async fn the_loop_proves_every_input_group_and_the_server_marks_each_proven(server: Server) {
    let org = organization(&server, "Collatz Lab").await;
    let (program, _) = publish(&org, "collatz", 600, &[(1, 3), (3, 5), (5, 7)]).await;
    let other = organization(&server, "Idle Lab").await;
    publish(&other, "nothing-to-do", 600, &[]).await;

    // By organization name: only Collatz Lab's program is worked on.
    let url = server.url.clone();
    let running = spawn(&[
        "--json",
        "--server",
        &url,
        "run",
        "--organization",
        "Collatz Lab",
        "--jobs",
        "3",
        "--cpus",
        "1",
    ]);
    let (code, events, stderr) = tokio::task::spawn_blocking(move || running.finish(300))
        .await
        .expect("join");
    assert_eq!(code, Some(0), "stderr: {stderr}");
    let jobs = events_named(&events, "job");
    assert_eq!(jobs.len(), 3, "{events:?}");
    for job in &jobs {
        assert_eq!(job["result"], "accepted", "{job}");
        assert_eq!(job["program_id"], program.to_string());
        assert!(job["steps"].as_u64().unwrap_or(0) > 0, "{job}");
        assert!(job["steps_per_sec"].as_f64().unwrap_or(0.0) > 0.0, "{job}");
    }
    for stage in ["reserved", "executed", "proving", "uploading"] {
        assert!(
            !events_named(&events, stage).is_empty(),
            "no {stage} event: {events:?}"
        );
    }
    let summary = events_named(&events, "summary");
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0]["accepted"], 3);

    let status = status(&org, program).await;
    assert_eq!(
        (
            status.total,
            status.proven,
            status.uploaded,
            status.reserved
        ),
        (3, 3, 0, 0)
    );
}

const RESERVATIONS: &str = "GET /program/program-and-inputs/";
const FAILURE_REPORTS: &str = "POST /program/failure ";

/// One group that always fails (a > b breaks the program's `assert_le(a + 1, b)`) among good
/// ones: the donor reports each failure, the good groups are proven, the bad one ends failed
/// after the maximum with its reasons, and the donor never asks more than once per wait.
async fn a_failing_group_is_reported_until_failed_while_the_others_are_proven(server: Server) {
    let org = organization(&server, "Failing Lab").await;
    let (program, groups) = publish(&org, "collatz", 600, &[(20, 10), (1, 3), (3, 5)]).await;
    let proxy = CountingProxy::start(&server.url, &[RESERVATIONS, FAILURE_REPORTS]).await;
    let (url, id) = (proxy.url.clone(), program.to_string());
    let (code, events, stderr) = tokio::task::spawn_blocking(move || {
        let mut running = spawn(&[
            "--json",
            "--server",
            &url,
            "run",
            "--program",
            &id,
            "--cpus",
            "1",
            "--retry-delay",
            "0.05",
            "--max-backoff",
            "0.4",
        ]);
        // Three failures (the default maximum) and two proofs, then nothing is left to do.
        let mut events = Vec::new();
        while events_named(&events, "job").len() < 5 {
            events.push(running.next_event(300));
        }
        while events.last().is_none_or(|e| e["event"] != "no_work") {
            events.push(running.next_event(60));
        }
        running.interrupt();
        let (code, mut rest, stderr) = running.finish(60);
        events.append(&mut rest);
        (code, events, stderr)
    })
    .await
    .expect("join");
    assert_eq!(code, Some(8), "some jobs failed; stderr: {stderr}");

    let jobs = events_named(&events, "job");
    let failed: Vec<_> = jobs.iter().filter(|j| j["result"] == "failed").collect();
    let accepted = jobs.iter().filter(|j| j["result"] == "accepted").count();
    assert_eq!((failed.len(), accepted), (3, 2), "{jobs:?}");
    for job in &failed {
        assert_eq!(job["input_group_name"], "range-20-10");
        let message = job["message"].as_str().unwrap_or_default();
        assert!(!message.contains('\n'), "one line: {message}");
        assert!(
            message.starts_with("a value is outside the range check's bound"),
            "{message}"
        );
        assert!(
            !job["cause"].as_str().unwrap_or_default().is_empty(),
            "{job}"
        );
    }
    assert!(
        failed[2]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("hands this input group out no more"),
        "{:?}",
        failed[2]
    );

    // Each failure is reported once, and each job is one reservation: the donor never asks
    // while it waits (the waits double from --retry-delay).
    assert_eq!(proxy.count(FAILURE_REPORTS), 3);
    let asked = proxy.count(RESERVATIONS);
    let idle_rounds = events_named(&events, "no_work").len() + 1;
    assert!(asked <= 5 + idle_rounds, "{asked} reservations for 5 jobs");
    let waits: Vec<f64> = events_named(&events, "backing_off")
        .iter()
        .map(|e| e["retry_in_secs"].as_f64().unwrap_or(0.0))
        .collect();
    assert_eq!(waits.len(), 3, "one wait after each failure: {events:?}");
    assert!(waits.iter().all(|&w| w >= 0.05), "{waits:?}");

    let status = status(&org, program).await;
    assert_eq!((status.proven, status.failed, status.uploaded), (2, 1, 0));
    let listed = org
        .client
        .input_groups(program, &distributor_api::PageQuery::new(50, 1))
        .await
        .unwrap();
    let bad = listed
        .program_input_groups
        .iter()
        .find(|g| g.input_group_id == groups[0])
        .expect("listed");
    assert!(bad.failed);
    assert_eq!(bad.failure_reasons.len(), 3);
    assert!(bad
        .failure_reasons
        .iter()
        .all(|f| f.reason == distributor_api::FailureReason::RangeCheck));
}

/// Runs `executor-client --json run --program ID --jobs N --cpus 1 <mode flags>` to the end.
async fn run_jobs(server: &Server, program: Uuid, jobs: u64, mode: &[&str]) -> Vec<Value> {
    let (url, program, jobs) = (server.url.clone(), program.to_string(), jobs.to_string());
    let mut args = vec![
        "--json",
        "--server",
        &url,
        "run",
        "--program",
        &program,
        "--jobs",
        &jobs,
        "--cpus",
        "1",
    ];
    args.extend_from_slice(mode);
    let running = spawn(&args);
    let (code, events, stderr) = tokio::task::spawn_blocking(move || running.finish(300))
        .await
        .expect("join");
    assert_eq!(code, Some(0), "{mode:?} stderr: {stderr}");
    events
}

async fn one_donor_executes_another_proves_and_the_proof_verifies(server: Server) {
    let org = organization(&server, "Split Lab").await;
    let ranges = [(1, 9), (9, 17)];
    let (program, groups) = publish(&org, "collatz-split", 600, &ranges).await;

    // The first donor only runs the jobs: executions are uploaded, nothing is proven.
    let events = run_jobs(&server, program, 2, &["--execute-only"]).await;
    let jobs = events_named(&events, "job");
    assert_eq!(jobs.len(), 2, "{events:?}");
    assert!(jobs.iter().all(|j| j["result"] == "accepted"), "{jobs:?}");
    assert!(events_named(&events, "proving").is_empty(), "{events:?}");
    let uploads = events_named(&events, "uploading");
    assert!(
        uploads.iter().all(|u| u["artifact"] == "execution"),
        "{uploads:?}"
    );
    let status = status(&org, program).await;
    assert_eq!((status.executed, status.proven, status.uploaded), (2, 0, 0));

    // The second donor proves what the first one ran.
    let events = run_jobs(&server, program, 2, &["--prove-executions"]).await;
    let jobs = events_named(&events, "job");
    assert_eq!(jobs.len(), 2, "{events:?}");
    assert!(jobs.iter().all(|j| j["result"] == "accepted"), "{jobs:?}");
    assert!(!events_named(&events, "proving").is_empty(), "{events:?}");
    let status = common::status(&org, program).await;
    assert_eq!((status.executed, status.proven), (0, 2));

    // The organization checks each proof against its own program and inputs.
    let compiled = cairo_stark::CompiledProgram::parse(&collatz_json()).expect("example program");
    for (group, (a, b)) in groups.iter().zip(ranges) {
        let proof = org.client.proof(program, *group).await.expect("download");
        let inputs = cairo_stark::inputs::parse_csv(format!("{a},{b}").as_bytes()).unwrap();
        let verified =
            cairo_stark::verify(&proof, &compiled, &inputs, &Default::default()).expect("verifies");
        assert_eq!(verified.outputs[..2], inputs[..], "outputs start with a, b");
    }
}

async fn with_no_work_the_loop_backs_off_and_ctrl_c_stops_it_cleanly(server: Server) {
    let org = organization(&server, "Empty Lab").await;
    let (program, _) = publish(&org, "collatz", 600, &[]).await;
    let program = program.to_string();
    let url = server.url.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut running = spawn(&[
            "--json",
            "--server",
            &url,
            "run",
            "--program",
            &program,
            "--retry-delay",
            "0.05",
            "--max-backoff",
            "0.2",
        ]);
        let waits: Vec<f64> = (0..4)
            .map(|_| {
                let event = running.wait_for("no_work", 30);
                assert_eq!(event["programs"], 1);
                event["retry_in_secs"].as_f64().expect("retry_in_secs")
            })
            .collect();
        running.interrupt();
        (waits, running.finish(30))
    })
    .await
    .expect("join");
    let (waits, (code, events, stderr)) = result;
    assert_eq!(waits, vec![0.05, 0.1, 0.2, 0.2], "doubles up to the cap");
    assert_eq!(
        code,
        Some(0),
        "a Ctrl-C while idle is a clean stop; stderr: {stderr}"
    );
    let summary = events_named(&events, "summary");
    assert_eq!(summary.len(), 1, "{events:?}");
    assert_eq!(summary[0]["jobs"], 0);

    // In text mode the wait is said in words, on stderr.
    let url = server.url.clone();
    let (code, said) = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut child = executor()
            .args([
                "--server",
                &url,
                "run",
                "--retry-delay",
                "0.05",
                "--max-backoff",
                "0.05",
            ])
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let said = lines.next().and_then(Result::ok).unwrap_or_default();
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        let status = child.wait().expect("wait");
        (status.code(), format!("{said}\n{}", rest.join("\n")))
    })
    .await
    .expect("join");
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.starts_with("no work available on 1 program; asking again in 0.1s"),
        "{said}"
    );
}

async fn a_refused_proof_is_reported_and_the_loop_goes_on(server: Server) {
    let org = organization(&server, "Race Lab").await;
    let ranges = [(1, 3), (3, 5)];
    let (program, groups) = publish(&org, "collatz", 600, &ranges).await;
    let url = server.url.clone();
    let handle = tokio::runtime::Handle::current();
    let client = server.client.clone();
    let org_id = org.id;
    let (code, events, stderr, raced) = tokio::task::spawn_blocking(move || {
        // A small share makes the first proof slow enough for someone else to prove it first.
        let mut running = spawn(&[
            "--json",
            "--server",
            &url,
            "run",
            "--program",
            &program.to_string(),
            "--jobs",
            "2",
            "--cpus",
            "0.1",
        ]);
        let reserved = running.wait_for("reserved", 60);
        let group: Uuid = reserved["input_group_id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("input_group_id");
        let data = UploadProofData {
            organization_id: org_id,
            program_id: program,
            input_group_id: group,
            // Someone else does not know the donor's reservation id.
            reservation_id: None,
        };
        // A forged proof from someone else is refused by the server's verification...
        let forged = handle.block_on(client.upload_proof(b"a forged proof".to_vec(), &data));
        match forged {
            Err(distributor_api::ClientError::Api { code, .. }) => {
                assert_eq!(code, distributor_api::ErrorCode::InvalidProof)
            }
            other => panic!("a forged proof must be refused, got {other:?}"),
        }
        // ... while another donor's real proof of the same group is accepted first.
        let (a, b) = ranges[groups
            .iter()
            .position(|g| *g == group)
            .expect("a known group")];
        let proof = real_proof(&format!("{a},{b}"));
        handle
            .block_on(client.upload_proof(proof, &data))
            .expect("the other donor's proof is accepted first");
        let (code, events, stderr) = running.finish(300);
        (code, events, stderr, group)
    })
    .await
    .expect("join");
    assert_eq!(code, Some(8), "some job was not accepted; stderr: {stderr}");
    let jobs = events_named(&events, "job");
    assert_eq!(jobs.len(), 2, "{events:?}");
    assert_eq!(jobs[0]["result"], "rejected");
    assert_eq!(jobs[0]["input_group_id"], raced.to_string());
    let message = jobs[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("PROOF_ALREADY_SUBMITTED"), "{message}");
    assert_eq!(
        jobs[1]["result"], "accepted",
        "the loop went on: {:?}",
        jobs[1]
    );
    let status = status(&org, program).await;
    assert_eq!(status.proven, 2);
}

async fn a_job_whose_reservation_would_expire_first_is_dropped_not_uploaded(server: Server) {
    let org = organization(&server, "Hurried Lab").await;
    // A 2-second lock leaves less than the time kept for the upload.
    let (program, _) = publish(&org, "collatz", 2, &[(1, 3)]).await;
    let url = server.url.clone();
    let (code, events, stderr) = tokio::task::spawn_blocking(move || {
        spawn(&[
            "--json",
            "--server",
            &url,
            "run",
            "--program",
            &program.to_string(),
            "--jobs",
            "1",
        ])
        .finish(120)
    })
    .await
    .expect("join");
    assert_eq!(code, Some(8), "stderr: {stderr}");
    let jobs = events_named(&events, "job");
    assert_eq!(jobs.len(), 1, "{events:?}");
    assert_eq!(jobs[0]["result"], "dropped");
    assert!(
        jobs[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("reservation"),
        "{:?}",
        jobs[0]
    );
    assert!(
        events_named(&events, "uploading").is_empty(),
        "never uploaded late"
    );
    let status = status(&org, program).await;
    assert_eq!(status.proven, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn programs_and_organizations_are_listed_filtered_and_paged() {
    let server = common::start(common::Backend::Embedded).await;
    let lab = organization(&server, "Listing Lab").await;
    let other = organization(&server, "Other Lab").await;
    let (alpha, _) = publish(&lab, "alpha-collatz", 600, &[]).await;
    publish(&lab, "beta-collatz", 600, &[]).await;
    publish(&other, "alpha-other", 600, &[]).await;
    let url = server.url.clone();
    let runs = tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            let mut command = assert_cmd();
            command.arg("--server").arg(&url).args(args);
            output_of(&mut command)
        };
        vec![
            run(&[
                "--json",
                "programs",
                "--organization",
                "Listing Lab",
                "--name",
                "alpha",
            ]),
            run(&["--json", "programs", "--page-size", "2", "--page", "2"]),
            run(&["programs", "--name", "alpha"]),
            run(&["--json", "organizations", "--name", "Listing"]),
            run(&["programs", "--page-size", "51"]),
            run(&["programs", "--organization", "No Such Lab"]),
        ]
    })
    .await
    .expect("join");

    let page: Value = serde_json::from_str(runs[0].1.trim()).expect("JSON page");
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["program_id"], alpha.to_string());

    let page: Value = serde_json::from_str(runs[1].1.trim()).expect("JSON page");
    assert_eq!(
        (page["total"].as_i64(), page["page"].as_i64()),
        (Some(3), Some(2))
    );
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));

    let (code, table, _) = &runs[2];
    assert_eq!(*code, Some(0));
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains("alpha-collatz") && table.contains("Listing Lab"),
        "{table}"
    );
    assert!(
        table.contains("alpha-other") && !table.contains("beta-collatz"),
        "{table}"
    );
    assert!(table.contains("page 1 of 1 (2 programs)"), "{table}");

    let page: Value = serde_json::from_str(runs[3].1.trim()).expect("JSON page");
    assert_eq!(page["items"][0]["name"], "Listing Lab");

    let (code, _, stderr) = &runs[4];
    assert_eq!(*code, Some(2), "{stderr}");
    assert!(
        stderr.contains("at most 50 entries (the server's maximum)"),
        "{stderr}"
    );

    let (code, _, stderr) = &runs[5];
    assert_eq!(*code, Some(4), "{stderr}");
    assert!(
        stderr.contains("no organization is named \"No Such Lab\""),
        "{stderr}"
    );
    drop(other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flag_overrides_the_environment_which_overrides_the_config_file() {
    let server = common::start(common::Backend::Embedded).await;
    let dead = "http://127.0.0.1:9"; // discard port: nothing listens
    let config = server.dir.path().join("dev.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"program_distributor_url": "{}", "default_page_size": 5, "max_page_size": 20}}"#,
            server.url
        ),
    )
    .expect("write config");
    let url = server.url.clone();
    let runs = tokio::task::spawn_blocking(move || {
        let run = |env: Option<&str>, flag: Option<&str>, extra: &[&str]| {
            let mut command = assert_cmd();
            command.env("EXECUTOR_CONFIG", &config);
            if let Some(env) = env {
                command.env("PROGRAM_DISTRIBUTOR_URL", env);
            }
            if let Some(flag) = flag {
                command.arg("--server").arg(flag);
            }
            command.arg("--json").arg("organizations").args(extra);
            output_of(&mut command)
        };
        vec![
            run(None, None, &[]),
            run(Some(dead), None, &[]),
            run(Some(dead), Some(&url), &[]),
            run(None, None, &["--page-size", "21"]),
        ]
    })
    .await
    .expect("join");
    assert_eq!(runs[0].0, Some(0), "the file's URL: {}", runs[0].2);
    let page: Value = serde_json::from_str(runs[0].1.trim()).expect("JSON");
    assert_eq!(page["page_size"], 5, "the file's default page size");
    assert_eq!(
        runs[1].0,
        Some(3),
        "the environment wins over the file: {}",
        runs[1].2
    );
    assert!(runs[1].2.contains("http://127.0.0.1:9"), "{}", runs[1].2);
    assert_eq!(
        runs[2].0,
        Some(0),
        "the flag wins over the environment: {}",
        runs[2].2
    );
    assert_eq!(
        runs[3].0,
        Some(2),
        "the file's max page size: {}",
        runs[3].2
    );
}

#[test]
fn an_unreachable_server_is_retried_with_backoff_then_given_up() {
    let (code, _, stderr) = output_of(assert_cmd().args([
        "--server",
        "http://127.0.0.1:9",
        "run",
        "--max-retries",
        "2",
        "--retry-delay",
        "0.01",
    ]));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot reach the program distributor at http://127.0.0.1:9"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("retrying in").count(), 2, "{stderr}");
    assert!(
        stderr.contains("giving up after 3 failures in a row"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: check that the server is running"),
        "{stderr}"
    );

    let (code, _, stderr) =
        output_of(assert_cmd().args(["--server", "http://127.0.0.1:9", "organizations"]));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("error: cannot reach"), "{stderr}");
}

/// `prove` refuses a program whose input label is not right after its last instruction (it
/// would prove a wrong answer), saying how to fix it.
#[test]
fn prove_refuses_a_program_whose_input_label_is_misplaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = dir.path().join("inputs.csv");
    std::fs::write(&inputs, "21\n").expect("write");
    let proof = dir.path().join("wrong.proof");
    let (code, stdout, stderr) = output_of(
        assert_cmd()
            .arg("prove")
            .arg(workspace_file(
                "cairo-stark/tests/fixtures/misplaced_inputs.json",
            ))
            .arg(&inputs)
            .arg("-o")
            .arg(&proof)
            .args(["--cpus", "1"]),
    );
    assert_ne!(code, Some(0), "{stdout}");
    assert!(
        stderr.contains("move the functions defined after `main` above it"),
        "{stderr}"
    );
    assert!(!proof.exists(), "no proof of a wrong answer");
}

#[test]
fn execute_only_and_prove_executions_do_not_mix() {
    let (code, _, stderr) = output_of(assert_cmd().args([
        "--server",
        "http://127.0.0.1:9",
        "run",
        "--execute-only",
        "--prove-executions",
    ]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--prove-executions"), "{stderr}");
}

#[test]
fn cpu_shares_outside_the_machine_are_refused_with_its_limit() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let too_many = (cpus + 1).to_string();
    let program = workspace_file("example-program/collatz.json");
    let program = program.to_str().expect("path");
    for (env, args) in [
        (None, vec!["run", "--cpus", "0"]),
        (None, vec!["run", "--cpus", "-1"]),
        (None, vec!["run", "--cpus", "0.0005"]),
        (None, vec!["run", "--cpus", too_many.as_str()]),
        (Some(too_many.as_str()), vec!["run"]),
        (
            None,
            vec!["prove", program, program, "--cpus", too_many.as_str()],
        ),
    ] {
        let mut command = assert_cmd();
        command.args(["--server", "http://127.0.0.1:9"]).args(&args);
        if let Some(value) = env {
            command.env("EXECUTOR_CPUS", value);
        }
        let (code, _, stderr) = output_of(&mut command);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("this machine has {cpus} CPU")),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("between 0.001 and"), "{stderr}");
    }
    let (code, _, stderr) = output_of(assert_cmd().args(["run", "--cpus", "many"]));
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn an_offline_proof_verifies_and_pins_its_program_and_inputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = workspace_file("example-program/collatz.json");
    let inputs = dir.path().join("inputs.csv");
    let other_inputs = dir.path().join("other.csv");
    let proof = dir.path().join("collatz.proof");
    std::fs::write(&inputs, "1,3\n").expect("write");
    std::fs::write(&other_inputs, "1,5\n").expect("write");

    let (code, stdout, stderr) = output_of(
        assert_cmd()
            .arg("prove")
            .arg(&program)
            .arg(&inputs)
            .arg("-o")
            .arg(&proof)
            .args(["--cpus", "1"]),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("outputs: 1, 3, 1, 1, 2"), "{stdout}");
    assert!(stdout.contains("client overhead"), "{stdout}");

    let (code, stdout, stderr) = output_of(
        assert_cmd()
            .arg("--json")
            .arg("verify")
            .arg(&proof)
            .arg(&program)
            .arg(&inputs),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let verified: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(verified["event"], "verified");
    assert_eq!(
        verified["outputs"],
        serde_json::json!(["1", "3", "1", "1", "2"])
    );
    assert!(verified["security_bits"].as_u64().unwrap_or(0) >= 100);
    assert!(verified["provable_security_bits"].is_u64(), "{verified}");
    let (code, stdout, stderr) = output_of(
        assert_cmd()
            .arg("verify")
            .arg(&proof)
            .arg(&program)
            .arg(&inputs),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("bits conjectured, "), "{stdout}");
    assert!(stdout.contains(" bits provable"), "{stdout}");

    // The same proof as an older prover wrote it: refused, saying why and what to do.
    let honest = std::fs::read(&proof).expect("read proof");
    let old = dir.path().join("old.proof");
    std::fs::write(
        &old,
        program_distributor::testing::as_older_format_version(&honest),
    )
    .expect("write");
    let (code, _, stderr) = output_of(
        assert_cmd()
            .arg("verify")
            .arg(&old)
            .arg(&program)
            .arg(&inputs),
    );
    assert_eq!(code, Some(5), "{stderr}");
    let why = format!(
        "made by an older prover version {}; this build reads version {}",
        program_distributor::testing::OLDER_FORMAT_VERSION,
        cairo_stark::format::FORMAT_VERSION
    );
    assert!(stderr.contains(&why), "{stderr}");
    assert!(
        stderr.contains("update executor-client and prove the job again"),
        "{stderr}"
    );

    let (code, _, stderr) = output_of(
        assert_cmd()
            .arg("verify")
            .arg(&proof)
            .arg(&program)
            .arg(&other_inputs),
    );
    assert_eq!(code, Some(5), "{stderr}");
    assert!(stderr.contains("another input group"), "{stderr}");

    let mut garbled = std::fs::read(&proof).expect("read proof");
    let middle = garbled.len() / 2;
    garbled[middle] ^= 0x55;
    garbled.truncate(garbled.len() - 7);
    std::fs::write(&proof, garbled).expect("write");
    let (code, _, stderr) = output_of(
        assert_cmd()
            .arg("verify")
            .arg(&proof)
            .arg(&program)
            .arg(&inputs),
    );
    assert_eq!(code, Some(5), "{stderr}");

    let (code, _, stderr) = output_of(
        assert_cmd()
            .arg("prove")
            .arg(&inputs)
            .arg(&inputs)
            .arg("-o")
            .arg(&proof),
    );
    assert_eq!(code, Some(6), "a CSV is not a program: {stderr}");
    assert!(stderr.contains("cairo-compile --proof_mode"), "{stderr}");
}

#[test]
fn help_teaches_the_commands_and_the_exit_codes() {
    let (code, stdout, _) = output_of(assert_cmd().arg("--help"));
    assert_eq!(code, Some(0));
    for word in [
        "programs",
        "organizations",
        "run",
        "prove",
        "verify",
        "Exit codes:",
        "130",
    ] {
        assert!(
            stdout.contains(word),
            "{word} missing from --help:\n{stdout}"
        );
    }
    assert!(!stdout.contains("prove-worker"), "the worker is internal");
    let (_, stdout, _) = output_of(assert_cmd().args(["run", "--help"]));
    for flag in [
        "--cpus",
        "--pause-when-busy",
        "--jobs",
        "--max-retries",
        "EXECUTOR_CPUS",
    ] {
        assert!(stdout.contains(flag), "{flag} missing from run --help");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_once_finishes_the_current_job_and_twice_stops_at_once() {
    let server = common::start(common::Backend::Embedded).await;
    let org = organization(&server, "Patient Lab").await;
    let (program, _) = publish(&org, "collatz", 600, &[(1, 3), (3, 5), (5, 7)]).await;
    let url = server.url.clone();
    let id = program.to_string();
    let (once, twice) = tokio::task::spawn_blocking(move || {
        let mut running = spawn(&[
            "--json",
            "--server",
            &url,
            "run",
            "--program",
            &id,
            "--cpus",
            "0.5",
        ]);
        running.wait_for("reserved", 60);
        running.interrupt();
        let stopping = running.wait_for("stopping", 30);
        assert_eq!(stopping["now"], false);
        let once = running.finish(120);

        // A share this small keeps the worker busy long enough to be interrupted twice.
        let mut running = spawn(&[
            "--json",
            "--server",
            &url,
            "run",
            "--program",
            &id,
            "--cpus",
            "0.005",
        ]);
        running.wait_for("reserved", 60);
        running.interrupt();
        running.wait_for("stopping", 30);
        running.interrupt();
        (once, running.finish(30))
    })
    .await
    .expect("join");

    let (code, events, stderr) = once;
    assert_eq!(code, Some(0), "{stderr}");
    let jobs = events_named(&events, "job");
    assert_eq!(
        jobs.len(),
        1,
        "the current job is finished, no other is started: {events:?}"
    );
    assert_eq!(jobs[0]["result"], "accepted");

    let (code, events, stderr) = twice;
    assert_eq!(code, Some(130), "{stderr}");
    let jobs = events_named(&events, "job");
    assert_eq!(jobs.len(), 1, "{events:?}");
    assert_eq!(jobs[0]["result"], "interrupted");
    assert!(stderr.contains("is given back to the pool"), "{stderr}");
    let summary = events_named(&events, "summary");
    assert_eq!(
        summary.len(),
        1,
        "the interrupted job is counted: {events:?}"
    );
    assert_eq!(
        (
            summary[0]["jobs"].as_u64(),
            summary[0]["interrupted"].as_u64()
        ),
        (Some(1), Some(1))
    );

    // The interrupted job's reservation (600 s) was given back: nothing is left reserved.
    let status = status(&org, program).await;
    assert_eq!((status.proven, status.reserved, status.uploaded), (1, 0, 2));
}

#[test]
fn proving_pauses_while_the_rest_of_the_machine_is_busy() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let burners: Vec<_> = (0..std::thread::available_parallelism().map_or(1, |n| n.get()))
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            })
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = dir.path().join("inputs.csv");
    std::fs::write(&inputs, "1,33\n").expect("write");
    let program = workspace_file("example-program/collatz.json");
    let proof = dir.path().join("proof.bin");
    let mut running = spawn(&[
        "--json",
        "prove",
        program.to_str().expect("path"),
        inputs.to_str().expect("path"),
        "-o",
        proof.to_str().expect("path"),
        "--pause-when-busy",
        "20",
    ]);
    let paused = running.wait_for("paused", 60);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for burner in burners {
        burner.join().expect("burner");
    }
    assert!(
        paused["others_cpu_pct"].as_f64().unwrap_or(0.0) > 20.0,
        "{paused}"
    );
    // Offline, nothing is reserved: one Ctrl-C stops at once.
    running.interrupt();
    let (code, _, stderr) = running.finish(30);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(!proof.exists(), "no proof is written when stopped");
}

#[test]
fn a_job_larger_than_the_free_memory_is_refused_by_the_worker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = dir.path().join("inputs.csv");
    std::fs::write(&inputs, "1,3\n").expect("write");
    let output = executor()
        .arg("prove-worker")
        .arg("--program")
        .arg(workspace_file("example-program/collatz.json"))
        .arg("--inputs")
        .arg(&inputs)
        .arg("--output")
        .arg(dir.path().join("proof.bin"))
        .args(["--memory-limit", "1000"])
        .output()
        .expect("run the worker");
    assert_eq!(output.status.code(), Some(1));
    let last: Value = String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .expect("a JSON event");
    assert_eq!(last["failed"]["kind"], "memory", "{last}");
    let message = last["failed"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("only 1000 B is available"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_program_is_reported_and_left_out_while_the_others_are_worked_on() {
    let server = common::start(common::Backend::Embedded).await;
    let org = organization(&server, "Careful Lab").await;
    let (program, _) = publish(&org, "collatz", 600, &[(1, 3)]).await;
    let unknown = Uuid::new_v4().to_string();
    let url = server.url.clone();
    let id = program.to_string();
    let (mixed, alone) = tokio::task::spawn_blocking(move || {
        let mixed = spawn(&[
            "--json",
            "--server",
            &url,
            "run",
            "--program",
            &unknown,
            "--program",
            &id,
            "--jobs",
            "1",
        ])
        .finish(120);
        let alone = spawn(&["--json", "--server", &url, "run", "--program", &unknown]).finish(60);
        (mixed, alone)
    })
    .await
    .expect("join");

    let (code, events, stderr) = mixed;
    assert_eq!(code, Some(0), "{stderr}");
    let skipped = events_named(&events, "program_skipped");
    assert_eq!(skipped.len(), 1, "{events:?}");
    assert!(
        skipped[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("PROGRAM_NOT_FOUND"),
        "{:?}",
        skipped[0]
    );
    assert_eq!(events_named(&events, "job")[0]["result"], "accepted");

    let (code, events, stderr) = alone;
    assert_eq!(code, Some(4), "{events:?} {stderr}");
    assert!(
        stderr.contains("none of the programs given can be worked on"),
        "{stderr}"
    );
}

/// A real proof (default options) of the example program on the input CSV `csv`, as another
/// donor would make it.
fn real_proof(csv: &str) -> Vec<u8> {
    let program = cairo_stark::CompiledProgram::parse(&collatz_json()).expect("example program");
    let inputs = cairo_stark::inputs::parse_csv(csv.as_bytes()).expect("inputs");
    let execution = cairo_stark::execute(&program, &inputs).expect("execute");
    cairo_stark::prove(&execution, &cairo_stark::ProofOptions::default())
        .expect("prove")
        .to_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn programs_are_named_by_id_or_name_and_an_ambiguous_name_is_refused() {
    let server = common::start(common::Backend::Embedded).await;
    let lab = organization(&server, "Name Lab").await;
    let other = organization(&server, "Twin Lab").await;
    let (solo, _) = publish(&lab, "solo-collatz", 600, &[(1, 3)]).await;
    let (twin_a, _) = publish(&lab, "twin", 600, &[]).await;
    let (twin_b, _) = publish(&other, "twin", 600, &[]).await;
    let url = server.url.clone();
    let runs = tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            let mut command = assert_cmd();
            command.arg("--server").arg(&url).args(args);
            output_of(&mut command)
        };
        vec![
            run(&[
                "--json",
                "run",
                "--program",
                "solo-collatz",
                "--jobs",
                "1",
                "--cpus",
                "1",
            ]),
            run(&["run", "--program", "twin", "--jobs", "1"]),
            run(&["--json", "run", "--program", "count_primes", "--jobs", "1"]),
        ]
    })
    .await
    .expect("join");

    // By name, the program's job is done as by id.
    let (code, stdout, stderr) = &runs[0];
    assert_eq!(*code, Some(0), "{stderr}");
    let job = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "job")
        .expect("a job event");
    assert_eq!(job["program_id"], solo.to_string());
    assert_eq!(job["result"], "accepted");

    // Two organizations' programs share a name: refused, listing both ids.
    let (code, _, stderr) = &runs[1];
    assert_eq!(*code, Some(4), "{stderr}");
    assert!(stderr.contains("2 programs are named \"twin\""), "{stderr}");
    assert!(
        stderr.contains(&twin_a.to_string()) && stderr.contains(&twin_b.to_string()),
        "{stderr}"
    );

    // An unknown name: refused, with the error as one JSON line on stdout under --json.
    let (code, stdout, stderr) = &runs[2];
    assert_eq!(*code, Some(4), "{stderr}");
    let error: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(error["event"], "error");
    assert_eq!(error["exit_code"], 4);
    assert_eq!(error["error"], "no program is named \"count_primes\"");
    assert!(
        error["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("executor-client programs"),
        "{error}"
    );
    drop(other);
}

/// Every exit code of the shared table that the executor can produce without a long job, as a
/// script sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exit_codes_are_the_shared_tables() {
    use distributor_api::cli::ExitCode;
    let server = common::start(common::Backend::Embedded).await;
    let url = server.url.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = dir.path().join("inputs.csv");
    std::fs::write(&inputs, "1,3\n").expect("write");
    let garbage = dir.path().join("garbage.proof");
    std::fs::write(&garbage, b"not a proof").expect("write");
    let program = workspace_file("example-program/collatz.json");
    let cases: Vec<(ExitCode, Vec<String>)> = vec![
        (ExitCode::Success, vec!["organizations".into()]),
        (
            ExitCode::Usage,
            vec!["programs".into(), "--page-size".into(), "51".into()],
        ),
        (
            ExitCode::Unreachable,
            vec![
                "--server".into(),
                "http://127.0.0.1:9".into(),
                "programs".into(),
            ],
        ),
        (
            ExitCode::Refused,
            vec!["programs".into(), "--organization".into(), "Nobody".into()],
        ),
        (
            ExitCode::NotVerified,
            vec![
                "verify".into(),
                garbage.display().to_string(),
                program.display().to_string(),
                inputs.display().to_string(),
            ],
        ),
        (
            ExitCode::BadJob,
            vec![
                "prove".into(),
                inputs.display().to_string(),
                inputs.display().to_string(),
                "-o".into(),
                dir.path().join("p").display().to_string(),
            ],
        ),
    ];
    let results = tokio::task::spawn_blocking(move || {
        cases
            .into_iter()
            .map(|(exit, args)| {
                let mut command = assert_cmd();
                if !args.iter().any(|a| a == "--server") {
                    command.arg("--server").arg(&url);
                }
                command.args(&args);
                (exit, args, output_of(&mut command))
            })
            .collect::<Vec<_>>()
    })
    .await
    .expect("join");
    for (exit, args, (code, _, stderr)) in results {
        assert_eq!(code, Some(exit.code()), "{args:?}: {stderr}");
    }
}

/// The percentages a progress bar drew, in order (from a terminal's raw output).
fn drawn_percentages(screen: &str) -> Vec<u32> {
    screen
        .split(['\r', '\n'])
        .filter_map(|segment| {
            let (before, _) = segment.split_once("% proving: ")?;
            let digits: String = before
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            digits.parse().ok()
        })
        .collect()
}

/// On a terminal (a pty from `script`), `prove` draws a bar that advances through the prover's
/// phases, with the percentage, the time left and the speed.
#[test]
fn the_progress_bar_advances_during_a_proof_on_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = dir.path().join("guest.json");
    let inputs = dir.path().join("inputs.csv");
    let proof = dir.path().join("guest.proof");
    std::fs::write(&program, cairo_stark::guest_template::COMPILED).expect("write");
    let csv: String = (1..=600).map(|v| format!("{v}\n")).collect();
    std::fs::write(&inputs, csv).expect("write");
    let command = format!(
        "stty cols 200 rows 40; exec '{}' prove '{}' '{}' -o '{}' --cpus 1",
        env!("CARGO_BIN_EXE_executor-client"),
        program.display(),
        inputs.display(),
        proof.display()
    );
    let output = std::process::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("XDG_CONFIG_HOME", common::measured_config_home())
        .output()
        .expect("`script` (util-linux) runs the client on a pty");
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    assert!(proof.is_file(), "{screen}");
    let drawn = drawn_percentages(&screen);
    assert!(
        drawn.windows(2).all(|w| w[0] <= w[1]),
        "the bar never goes back: {drawn:?}"
    );
    let mut distinct = drawn.clone();
    distinct.dedup();
    assert!(distinct.len() >= 5, "the bar advanced: {drawn:?}");
    assert!(distinct.last().copied().unwrap_or(0) >= 90, "{drawn:?}");
    for phase in ["commit", "composition", "fri"] {
        assert!(
            screen.contains(&format!("proving: {phase}")),
            "{phase}: {screen}"
        );
    }
    assert!(
        screen.contains("ETA ") && screen.contains(" rows/s"),
        "{screen}"
    );
}

/// With no speed kept, `run` measures it once with a small proof before its first job, keeps it
/// in the config directory, and refreshes it with the job's proof.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_run_calibrates_the_proving_speed_and_keeps_it() {
    let server = common::start(common::Backend::Embedded).await;
    let org = organization(&server, "Speed Lab").await;
    let (program, _) = publish(&org, "collatz", 600, &[(1, 3)]).await;
    let home = tempfile::tempdir().expect("config home");
    let url = server.url.clone();
    let home_path = home.path().to_path_buf();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        let mut command = assert_cmd();
        command.env("XDG_CONFIG_HOME", &home_path).args([
            "--json",
            "--server",
            &url,
            "run",
            "--program",
            &program.to_string(),
            "--jobs",
            "1",
            "--cpus",
            "1",
        ]);
        output_of(&mut command)
    })
    .await
    .expect("join");
    assert_eq!(code, Some(0), "{stderr}");
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let position = |name: &str| events.iter().position(|e| e["event"] == name);
    let calibrated = position("calibrated").expect("a calibrated event");
    assert!(
        calibrated < position("reserved").expect("reserved"),
        "{events:?}"
    );
    let event = &events[calibrated];
    assert!(event["rows"].as_u64().unwrap_or(0) >= 1 << 13, "{event}");
    assert!(
        event["rows_per_sec"].as_f64().unwrap_or(0.0) > 0.0,
        "{event}"
    );
    let kept: Value = serde_json::from_slice(
        &std::fs::read(home.path().join("executor-client/speed.json")).expect("speed file"),
    )
    .expect("JSON");
    assert_eq!(kept["proofs"], 2, "the calibration and the job: {kept}");
    assert!(kept["units_per_cpu_sec"].as_f64().unwrap_or(0.0) > 0.0);
}

/// A run that fails in cairo-vm is summed up on one line in plain words, naming the inputs; the
/// whole error comes with -v (and in the JSON error line as `cause`).
#[test]
fn a_failed_offline_run_is_one_plain_line_and_the_cause_comes_with_v() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = dir.path().join("backwards.csv");
    std::fs::write(&inputs, "20,10\n").expect("write");
    let program = workspace_file("example-program/collatz.json");
    let prove = |extra: &[&str]| {
        let mut command = assert_cmd();
        command
            .args(extra)
            .arg("prove")
            .arg(&program)
            .arg(&inputs)
            .arg("-o")
            .arg(dir.path().join("p"));
        output_of(&mut command)
    };
    let (code, _, stderr) = prove(&[]);
    assert_eq!(code, Some(6), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 2, "an error line and a hint: {stderr}");
    assert!(lines[0].starts_with("error: on "), "{stderr}");
    assert!(lines[0].contains("backwards.csv: a value is outside the range check's bound"));
    assert!(lines[1].starts_with("hint: -v"), "{stderr}");
    let (_, _, verbose) = prove(&["-v"]);
    assert!(verbose.contains("cause: "), "{verbose}");
    let (_, stdout, _) = prove(&["--json"]);
    let error: Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap_or("")).expect("JSON");
    let cause = error["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("ids.a % PRIME"),
        "cairo-vm's own words: {error}"
    );
    assert_eq!(error["exit_code"], 6);
}
