//! The CLI against the real server: the binary is run as a process, the server runs in-process.

mod common;

use common::{outputs, prove, Backend, Cli, Server, PASSWORD};
use serde_json::Value;
use uuid::Uuid;

fn uuid(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().expect("an id string")).expect("uuid")
}

on_both_backends!(
    proven_groups_are_verified_saved_confirmed_and_aggregated,
    tampered_or_mismatched_proofs_are_rejected_and_offered_again,
    an_interrupted_verify_is_finished_by_a_rerun_without_duplicates,
    a_failed_group_is_shown_with_its_reason_and_retried,
);

/// A donor's failure report makes the group `failed` (the program allows one): `inputs list`
/// and `program status` show it with the reason and say what to do; `inputs retry` hands it out
/// again. A program whose input label is misplaced is refused before anything is uploaded.
fn a_failed_group_is_shown_with_its_reason_and_retried(server: Server) {
    let cli = Cli::new(&server.url);
    cli.register_and_login("Failures");
    let misplaced = common::repo_root().join("cairo-stark/tests/fixtures/misplaced_inputs.json");
    let stderr = cli.fails(&["program", "upload", misplaced.to_str().expect("path")], 1);
    assert!(
        stderr.contains("move the functions defined after `main` above it"),
        "{stderr}"
    );

    // A Cairo source is not a compiled program: the client says to compile it first.
    let source = common::repo_root().join("example-program/collatz.cairo");
    let stderr = cli.fails(&["program", "upload", source.to_str().expect("path")], 1);
    assert!(stderr.contains("compile it first"), "{stderr}");

    let program_id = cli.upload_collatz_with("collatz", &["--max-failures", "1"]);
    cli.upload_ranges(program_id, &[(20, 10)]);
    let reservation = server.reserve(program_id);
    let group = reservation.metadata.input_group_id;
    let report = distributor_api::FailureReport {
        program_id,
        input_group_id: group,
        reservation_id: reservation.metadata.reservation_id.expect("reservation id"),
        reason: distributor_api::FailureReason::RangeCheck,
        message: "a value is outside the range check's bound\nat pc 42".into(),
    };
    let answer = server
        .block_on(server.client.report_failure(&report))
        .expect("failure report");
    assert!(answer.failed);

    let text = cli.ok(&["inputs", "list", "collatz"]);
    assert!(text.contains("failed"), "{text}");
    assert!(
        text.contains("range_check: a value is outside the range check's bound"),
        "{text}"
    );
    assert!(!text.contains("at pc 42"), "only the first line: {text}");
    let listed = cli.json(&["inputs", "list", "collatz"]);
    assert_eq!(
        listed["program_input_groups"][0]["failure_reasons"][0]["message"],
        "a value is outside the range check's bound\nat pc 42"
    );
    let status = server.status(&cli, program_id);
    assert_eq!((status.failed, status.uploaded), (1, 0));
    let output = cli.run(&["program", "status", "collatz"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(stdout.contains("! failed 1"), "{stdout}");
    assert!(stderr.contains("uploader-client inputs retry"), "{stderr}");

    let retried = cli.json(&["inputs", "retry", "collatz", &group.to_string()]);
    assert_eq!(retried["retried"][0]["failed"], false);
    let status = server.status(&cli, program_id);
    assert_eq!((status.failed, status.uploaded), (0, 1));
    assert_eq!(server.reserve(program_id).metadata.input_group_id, group);
}

fn proven_groups_are_verified_saved_confirmed_and_aggregated(server: Server) {
    let cli = Cli::new(&server.url);
    cli.register_and_login("Lab");
    let who = cli.json(&["whoami"]);
    assert_eq!(who["server"], server.url.as_str());
    let program_id = cli.upload_collatz("collatz");

    let ranges = [(1, 3), (3, 5), (5, 7)];
    let upload = cli.upload_ranges(program_id, &ranges);
    assert_eq!(upload["uploaded"], 3, "{upload}");
    // Uploading the same folder again is a no-op: the ledger knows these groups.
    let again = cli.upload_ranges(program_id, &ranges);
    assert_eq!(again["uploaded"], 0, "{again}");
    assert_eq!(again["already_uploaded"], 3, "{again}");

    let status = server.status(&cli, program_id);
    assert_eq!((status.total, status.uploaded), (3, 3));

    let mut expected = Vec::new();
    for _ in ranges {
        let reservation = server.prove_one(program_id);
        expected.push((
            reservation.metadata.input_group_id,
            outputs(&reservation.program_json, &reservation.inputs_csv),
        ));
    }
    let status = server.status(&cli, program_id);
    assert_eq!((status.proven, status.uploaded), (3, 0));
    let waiting = cli.json(&["proofs", "list", "collatz"]);
    assert_eq!(waiting["total_elements_amount"], 3);

    let report = cli.json(&["proofs", "verify"]);
    let summary = &report["programs"][0];
    assert_eq!(uuid(&summary["program_id"]), program_id);
    assert_eq!(summary["verified"], 3, "{report}");
    assert_eq!(summary["rejected"].as_array().map(Vec::len), Some(0));

    // The results file holds each group once, with the outputs of an honest run.
    let lines = cli.result_lines(program_id);
    assert_eq!(lines.len(), 3);
    for (group, outs) in &expected {
        let line = lines
            .iter()
            .find(|l| uuid(&l["input_group_id"]) == *group)
            .expect("a result line for every proven group");
        let got: Vec<u64> = line["outputs"]
            .as_array()
            .expect("outputs")
            .iter()
            .map(|v| v.as_str().expect("decimal").parse().expect("u64"))
            .collect();
        assert_eq!(&got, outs);
        assert!(line["name"].as_str().expect("name").starts_with("r-"));
    }

    let text = cli.ok(&["inputs", "list", "collatz"]);
    assert!(text.contains("verified"), "{text}");

    // Confirmed on the server: nothing waits any more.
    let status = server.status(&cli, program_id);
    assert_eq!((status.confirmed, status.proven), (3, 0));
    assert_eq!(
        cli.json(&["proofs", "list", &program_id.to_string()])["total_elements_amount"],
        0
    );

    // Collatz: output 3 is the total of stopping times, output 4 the longest chain.
    let total: u64 = expected.iter().map(|(_, o)| o[2]).sum();
    let longest = expected.iter().map(|(_, o)| o[3]).max().expect("max");
    let aggregate = cli.json(&[
        "results",
        "aggregate",
        "collatz",
        "--column",
        "3:sum",
        "--column",
        "4:max",
        "--column",
        "1:count",
    ]);
    assert_eq!(aggregate["input_groups"], 3);
    assert_eq!(aggregate["columns"][0]["value"], total.to_string());
    assert_eq!(aggregate["columns"][1]["value"], longest.to_string());
    assert_eq!(aggregate["columns"][2]["value"], "3");

    // --exec hands the results to the organization's own program.
    let piped = cli.path("piped.csv");
    let command = format!("cat > '{}'", piped.display());
    cli.ok(&[
        "results",
        "aggregate",
        "collatz",
        "--exec",
        &command,
        "--csv",
    ]);
    let csv = std::fs::read_to_string(&piped).expect("the command wrote its input");
    assert!(csv.starts_with("input_group_id,name,output1,"), "{csv}");
    assert_eq!(csv.lines().count(), 4);
    cli.fails(&["results", "aggregate", "collatz", "--exec", "exit 7"], 7);
    let shown = cli.ok(&["results", "show", "collatz", "--csv"]);
    assert_eq!(shown.lines().count(), 4, "{shown}");
    let text = cli.ok(&["results", "aggregate", "collatz", "-c", "3:sum"]);
    assert_eq!(text.trim(), format!("column 3 sum: {total}"));
    // A column no output has is a usage error naming how many there are.
    let stderr = cli.fails(&["results", "aggregate", "collatz", "-c", "99:sum"], 2);
    assert!(stderr.contains("column 99 does not exist"), "{stderr}");

    // A second verify has nothing to do and writes nothing.
    let report = cli.json(&["proofs", "verify", "collatz"]);
    assert_eq!(report["programs"][0]["verified"], 0);
    assert_eq!(cli.result_lines(program_id).len(), 3);
}

fn tampered_or_mismatched_proofs_are_rejected_and_offered_again(server: Server) {
    let cli = Cli::new(&server.url);
    cli.register_and_login("Tamper");
    let program_id = cli.upload_collatz("collatz");
    cli.upload_ranges(program_id, &[(1, 3), (3, 5)]);

    // The server verifies proofs and refuses bad ones, so both groups get honest proofs; then the
    // stored objects are replaced behind the server's back: the uploader must not trust what
    // the server (or its storage) hands back.
    let first = server.prove_one(program_id);
    let second = server.prove_one(program_id);
    let honest = prove(&first.program_json, &first.inputs_csv);
    // First group: its own proof with one byte flipped deep inside the STARK part.
    let mut tampered = honest.clone();
    let at = tampered.len() * 3 / 4;
    tampered[at] ^= 0x5a;
    server.replace_stored_proof(program_id, first.metadata.input_group_id, tampered);
    // Second group: a perfectly valid proof, but of the first group's inputs.
    server.replace_stored_proof(program_id, second.metadata.input_group_id, honest);
    assert_eq!(server.status(&cli, program_id).proven, 2);

    let output = cli.run(&["proofs", "verify", "collatz", "--json"]);
    assert_eq!(
        output.status.code(),
        Some(5),
        "verify must exit 5 when it rejected proofs\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let summary = &report["programs"][0];
    assert_eq!(summary["verified"], 0);
    let rejected = summary["rejected"].as_array().expect("rejected list");
    assert_eq!(rejected.len(), 2, "{report}");
    let reason_of = |group: Uuid| {
        rejected
            .iter()
            .find(|r| uuid(&r["input_group_id"]) == group)
            .and_then(|r| r["reason"].as_str())
            .expect("a reason")
            .to_string()
    };
    assert!(
        reason_of(second.metadata.input_group_id).contains("another input group"),
        "{report}"
    );
    assert!(!reason_of(first.metadata.input_group_id).is_empty());

    // Nothing was saved; both jobs are back in the pool and a donor gets one at once.
    assert!(cli.result_lines(program_id).is_empty());
    let status = server.status(&cli, program_id);
    assert_eq!((status.proven, status.confirmed), (0, 0));
    assert_eq!(status.uploaded + status.reserved, 2);
    let again = server.reserve(program_id);
    assert!([
        first.metadata.input_group_id,
        second.metadata.input_group_id
    ]
    .contains(&again.metadata.input_group_id));
    let log = std::fs::read_to_string(cli.state_dir().join("rejected.jsonl")).expect("log");
    assert_eq!(log.lines().count(), 2);

    // An honest proof of the re-offered job then goes through.
    let proof = prove(&again.program_json, &again.inputs_csv);
    server.upload_proof(&again, None, proof);
    let report = cli.json(&["proofs", "verify", "collatz"]);
    assert_eq!(report["programs"][0]["verified"], 1);
}

fn an_interrupted_verify_is_finished_by_a_rerun_without_duplicates(server: Server) {
    let cli = Cli::new(&server.url);
    cli.register_and_login("Rerun");
    let program_id = cli.upload_collatz("collatz");
    cli.upload_ranges(program_id, &[(1, 3), (3, 5)]);
    let saved = server.prove_one(program_id);
    let fresh = server.prove_one(program_id);

    // An earlier run saved the first group's result and was killed before confirming it, in the
    // middle of writing a second line.
    let outs = outputs(&saved.program_json, &saved.inputs_csv);
    let line = serde_json::json!({
        "program_id": program_id,
        "input_group_id": saved.metadata.input_group_id,
        "name": saved.metadata.input_group_name,
        "outputs": outs.iter().map(u64::to_string).collect::<Vec<_>>(),
        "steps": 1,
        "security_bits": 102,
        "verified_at": "2026-11-21T00:00:00Z",
    });
    let results = cli.results_file(program_id);
    std::fs::create_dir_all(results.parent().expect("dir")).expect("results dir");
    std::fs::write(
        &results,
        format!("{line}\n{{\"program_id\":\"{program_id}\",\"inp"),
    )
    .expect("seed");

    let report = cli.json(&["proofs", "verify", "collatz"]);
    let summary = &report["programs"][0];
    assert_eq!(summary["confirmed_earlier_results"], 1, "{report}");
    assert_eq!(summary["verified"], 1, "{report}");

    let lines = cli.result_lines_lenient(program_id);
    let groups: Vec<Uuid> = lines.iter().map(|l| uuid(&l["input_group_id"])).collect();
    assert_eq!(groups.len(), 2, "{lines:?}");
    assert!(groups.contains(&saved.metadata.input_group_id));
    assert!(groups.contains(&fresh.metadata.input_group_id));
    let status = server.status(&cli, program_id);
    assert_eq!((status.confirmed, status.proven), (2, 0));

    // Rerunning again is harmless.
    cli.json(&["proofs", "verify", "collatz"]);
    assert_eq!(cli.result_lines_lenient(program_id).len(), 2);
}

trait Lenient {
    fn result_lines_lenient(&self, program_id: Uuid) -> Vec<Value>;
}

impl Lenient for Cli {
    /// The well-formed lines (a torn line left by a killed run is skipped, as the client does).
    fn result_lines_lenient(&self, program_id: Uuid) -> Vec<Value> {
        std::fs::read_to_string(self.results_file(program_id))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

#[test]
fn an_expired_basic_token_is_renewed_and_a_revoked_session_asks_to_log_in() {
    use jsonwebtoken::{encode, EncodingKey, Header};

    let server = Server::start(Backend::Embedded);
    let cli = Cli::new(&server.url);
    cli.register_and_login("Tokens");
    let session_path = cli.state_dir().join("session.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&session_path)
            .expect("session")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the session file must be private");
    }

    // Forge what the server would have issued an hour ago: same session, expired.
    let forge_expired = || {
        let session: Value =
            serde_json::from_slice(&std::fs::read(&session_path).expect("read")).expect("json");
        let token = session["basic_token"]["token"].as_str().expect("token");
        let payload = token.split('.').nth(1).expect("jwt payload");
        use base64::Engine;
        let mut claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .expect("base64"),
        )
        .expect("claims");
        let now = chrono::Utc::now().timestamp();
        claims["iat"] = (now - 3600).into();
        claims["exp"] = (now - 60).into();
        let expired = encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(common::BASIC_SECRET.as_bytes()),
        )
        .expect("sign");
        (session, expired)
    };

    // 1. The client does not know it expired (no local expiry): the server refuses it with
    //    INVALID_TOKEN, the client renews and retries.
    let (mut session, expired) = forge_expired();
    session["basic_token"]["token"] = expired.clone().into();
    session["basic_expires_at"] = Value::Null;
    std::fs::write(&session_path, session.to_string()).expect("write");
    cli.json(&["program", "list"]);
    let renewed: Value =
        serde_json::from_slice(&std::fs::read(&session_path).expect("read")).expect("json");
    assert_ne!(renewed["basic_token"]["token"], expired.as_str());
    assert!(renewed["basic_expires_at"].as_i64().expect("exp") > chrono::Utc::now().timestamp());

    // 2. The client knows it expired: it renews before calling.
    let (mut session, expired) = forge_expired();
    session["basic_token"]["token"] = expired.clone().into();
    session["basic_expires_at"] = (chrono::Utc::now().timestamp() - 60).into();
    std::fs::write(&session_path, session.to_string()).expect("write");
    cli.json(&["whoami"]);
    let renewed: Value =
        serde_json::from_slice(&std::fs::read(&session_path).expect("read")).expect("json");
    assert_ne!(renewed["basic_token"]["token"], expired.as_str());

    // 3. The session was closed on the server (refresh token revoked): log in again.
    let refresh: distributor_api::Token =
        serde_json::from_value(renewed["refresh_token"].clone()).expect("refresh token");
    server
        .block_on(server.client.logout(&refresh))
        .expect("revoke on the server");
    let stderr = cli.fails(&["program", "list"], 9);
    assert!(stderr.contains("uploader-client login"), "{stderr}");

    // 4. logout forgets the tokens even when the server forgot them first.
    cli.ok(&["logout"]);
    assert!(!session_path.exists());
    let stderr = cli.fails(&["whoami"], 9);
    assert!(stderr.contains("not logged in"), "{stderr}");
    assert!(stderr.contains("uploader-client login"), "{stderr}");
}

#[test]
fn a_basic_token_that_really_expired_on_the_server_is_renewed() {
    // The shortest basic token the server's configuration allows: one minute.
    let server = Server::start_with(Backend::Embedded, |s| s.tokens.basic_minutes = 1);
    let cli = Cli::new(&server.url);
    cli.register_and_login("Minute");
    let session_path = cli.state_dir().join("session.json");
    let read = || -> Value {
        serde_json::from_slice(&std::fs::read(&session_path).expect("read")).expect("json")
    };
    let mut session = read();
    let expires = session["basic_expires_at"]
        .as_i64()
        .expect("the client read exp");
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now + 50..=now + 61).contains(&expires),
        "{expires} vs {now}"
    );

    // Hide the expiry from the client so that it learns it from the server's refusal.
    let old = session["basic_token"]["token"].clone();
    session["basic_expires_at"] = Value::Null;
    std::fs::write(&session_path, session.to_string()).expect("write");
    let wait = expires + 2 - chrono::Utc::now().timestamp();
    std::thread::sleep(std::time::Duration::from_secs(wait.max(0) as u64));
    let mine = cli.json(&["program", "list"]);
    assert_eq!(mine["total_elements_amount"], 0);
    let renewed = read();
    assert_ne!(renewed["basic_token"]["token"], old);
    assert!(renewed["basic_expires_at"].as_i64().expect("exp") > chrono::Utc::now().timestamp());
}

#[test]
fn wrong_password_and_missing_login_fail_with_exit_code_9_and_a_hint() {
    let server = Server::start(Backend::Embedded);
    let cli = Cli::new(&server.url);
    let stderr = cli.fails(&["program", "list"], 9);
    assert!(stderr.contains("not logged in"), "{stderr}");
    let output = cli.run(&["program", "list", "--json"]);
    assert_eq!(output.status.code(), Some(9));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let error: Value = serde_json::from_str(stdout.trim()).expect("a JSON error line on stdout");
    assert_eq!(error["event"], "error");
    assert_eq!(error["exit_code"], 9);
    assert!(error["hint"]
        .as_str()
        .expect("hint")
        .contains("uploader-client login"));

    let username = cli.register_and_login("Pw");
    cli.ok(&["logout"]);
    let output = cli.run_with_stdin(
        &["login", "--username", &username, "--password-stdin"],
        "not the password\n",
    );
    assert_eq!(output.status.code(), Some(9));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("WRONG_CREDENTIALS"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!cli.state_dir().join("session.json").exists());

    let output = cli.run_with_stdin(
        &["login", "--username", &username, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    common::assert_success(&["login"], &output);

    // Registering a taken username says so.
    let output = cli.run_with_stdin(
        &[
            "register",
            "--username",
            &username,
            "--name",
            "Other",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(output.status.code(), Some(4), "a refusal");
    assert!(String::from_utf8_lossy(&output.stderr).contains("USERNAME_ALREADY_EXISTS"));
}

#[test]
fn an_unreachable_server_exits_with_3_and_says_what_to_check() {
    let cli = Cli::new("http://127.0.0.1:9");
    let output = cli.run_with_stdin(&["login", "--username", "x", "--password-stdin"], "pw\n");
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("PROGRAM_DISTRIBUTOR_URL"));
}

#[test]
fn programs_and_input_groups_are_listed_and_deleted() {
    let server = Server::start(Backend::Embedded);
    let cli = Cli::new(&server.url);
    cli.register_and_login("Lists");
    let who = cli.json(&["whoami"]);
    let organization = who["organization_id"].as_str().expect("org id").to_string();

    // A folder upload takes the compiled JSON and the Cairo source next to it.
    let folder = common::repo_root().join("example-program");
    let uploaded = cli.json(&[
        "program",
        "upload",
        folder.to_str().expect("path"),
        "--name",
        "from-folder",
    ]);
    let sources = uploaded["sources"].as_array().expect("sources");
    assert!(sources
        .iter()
        .any(|s| s.as_str().is_some_and(|s| s.ends_with("collatz.cairo"))));
    let program_id = uuid(&uploaded["program_id"]);
    let other = cli.upload_collatz("second");

    let mine = cli.json(&["program", "list"]);
    assert_eq!(mine["total_elements_amount"], 2);
    let by_org = cli.json(&["program", "list", "--organization", &organization]);
    assert_eq!(by_org["total_elements_amount"], 2);
    let all = cli.json(&["program", "list", "--all", "--name-filter", "from-f"]);
    assert!(all["programs"]
        .as_array()
        .expect("programs")
        .iter()
        .any(|p| uuid(&p["program_id"]) == program_id));
    let text = cli.ok(&["program", "list"]);
    assert!(
        text.contains("from-folder") && text.contains("PROGRAM ID"),
        "{text}"
    );

    // Same name twice is refused with the server's code and a hint.
    let stderr = cli.fails(
        &[
            "program",
            "upload",
            common::collatz_json().to_str().expect("path"),
            "--name",
            "second",
        ],
        4,
    );
    assert!(stderr.contains("PROGRAM_NAME_TAKEN"), "{stderr}");

    // Split a range into groups, upload them; a broken CSV fails alone.
    let out = cli.path("split");
    cli.ok(&[
        "inputs",
        "split",
        "--range",
        "1..9",
        "--groups",
        "4",
        "--out",
        out.to_str().expect("path"),
    ]);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("split folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "range-1-3.csv",
            "range-3-5.csv",
            "range-5-7.csv",
            "range-7-9.csv"
        ]
    );
    std::fs::write(out.join("zz-broken.csv"), "1,x\n").expect("broken csv");
    let stderr = cli.fails(
        &[
            "inputs",
            "upload",
            "from-folder",
            out.to_str().expect("path"),
        ],
        1,
    );
    assert!(stderr.contains("zz-broken.csv"), "{stderr}");
    assert_eq!(server.status(&cli, program_id).total, 4);

    // A page above the configured maximum (2 here) is an error that states it.
    let stderr = cli.fails(&["inputs", "list", "from-folder", "--page-size", "3"], 2);
    assert!(stderr.contains("at most 2"), "{stderr}");
    let stderr = cli.fails(&["inputs", "list", "from-folder", "--page-size", "51"], 2);
    assert!(stderr.contains("at most 50"), "{stderr}");
    let listed = cli.json(&["inputs", "list", "from-folder", "--page-size", "2"]);
    assert_eq!(listed["total_elements_amount"], 4);
    let groups = listed["program_input_groups"]
        .as_array()
        .expect("groups")
        .clone();
    assert_eq!(groups.len(), 2);
    // Page 2 of 2 says so, and the next-page hint is on stderr only without --json.
    let output = cli.run(&["inputs", "list", "from-folder", "--page-size", "2"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("page 1 of 2 (4 input groups)"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("next: uploader-client inputs"));
    let output = cli.run(&["inputs", "list", "from-folder", "--page", "99"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("page 99 is past the last page"));
    let output = cli.run(&[
        "--json",
        "inputs",
        "list",
        "from-folder",
        "--page-size",
        "2",
    ]);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("next:"));
    let text = cli.ok(&["program", "status", "from-folder"]);
    assert!(
        text.contains("[") && text.contains("4 input group(s)"),
        "{text}"
    );
    // Nothing confirmed yet: the bar is empty, not drawn full of waiting groups.
    assert!(
        text.contains(&format!("[{}] 0% confirmed", " ".repeat(40))),
        "{text}"
    );

    let victim = groups[0]["input_group_id"]
        .as_str()
        .expect("id")
        .to_string();
    cli.ok(&["inputs", "delete", "from-folder", &victim]);
    assert_eq!(server.status(&cli, program_id).total, 3);

    cli.fails(&["program", "delete", "second"], 1);
    cli.ok(&["program", "delete", "second", "--yes"]);
    let stderr = cli.fails(&["program", "status", &other.to_string()], 4);
    assert!(stderr.contains("PROGRAM_NOT_FOUND"), "{stderr}");
    assert_eq!(cli.json(&["program", "list"])["total_elements_amount"], 1);
}

#[test]
fn a_large_csv_is_split_into_even_groups() {
    let cli = Cli::new("http://127.0.0.1:9");
    let csv = cli.path("big.csv");
    let values: Vec<String> = (1..=10).map(|v| v.to_string()).collect();
    std::fs::write(&csv, values.join(",")).expect("csv");
    let out = cli.path("parts");
    let report = cli.json(&[
        "inputs",
        "split",
        csv.to_str().expect("path"),
        "--groups",
        "3",
        "--out",
        out.to_str().expect("path"),
    ]);
    assert_eq!(report["groups"], 3);
    let read = |name: &str| {
        cairo_stark::inputs::parse_csv(&std::fs::read(out.join(name)).expect("part")).expect("csv")
    };
    let sizes: Vec<usize> = ["big-1.csv", "big-2.csv", "big-3.csv"]
        .iter()
        .map(|n| read(n).len())
        .collect();
    assert_eq!(sizes, [4, 3, 3]);
    assert_eq!(read("big-3.csv")[2], cairo_stark::Felt::from(10u64));
    // The values keep the notation they were given in (decimal here).
    let text = std::fs::read_to_string(out.join("big-3.csv")).expect("part");
    assert!(text.ends_with("10\n") && !text.contains("0x"), "{text}");
}

#[test]
fn the_template_is_downloaded_and_unpacked() {
    let server = Server::start(Backend::Embedded);
    let cli = Cli::new(&server.url);
    let tar = cli.path("t.tar");
    let dir = cli.path("t");
    let report = cli.json(&[
        "template",
        "--out",
        tar.to_str().expect("path"),
        "--extract",
        dir.to_str().expect("path"),
    ]);
    assert!(report["bytes"].as_u64().expect("bytes") > 0);
    assert!(tar.is_file());
    let extracted = report["extracted"].as_array().expect("extracted");
    assert!(!extracted.is_empty(), "{report}");

    // --extract alone unpacks and leaves no tar behind.
    let only = cli.path("only");
    let report = cli.json(&["template", "--extract", only.to_str().expect("path")]);
    assert!(report["tar"].is_null(), "{report}");
    assert!(!cli.path("guest-template.tar").exists());
    assert!(std::fs::read_dir(&only).expect("unpacked").count() > 0);
}

#[test]
fn proofs_of_programs_missing_from_the_ledger_are_left_waiting() {
    let server = Server::start(Backend::Embedded);
    let first = Cli::new(&server.url);
    let username = first.register_and_login("Ledger");
    let program_id = first.upload_collatz("collatz");
    first.upload_ranges(program_id, &[(1, 3)]);
    server.prove_one(program_id);

    // Another machine (another state directory) of the same organization has no record of it.
    let second = Cli::new(&server.url);
    let output = second.run_with_stdin(
        &["login", "--username", &username, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    common::assert_success(&["login"], &output);
    let stderr = second.fails(&["proofs", "verify"], 1);
    assert!(stderr.contains("ledger"), "{stderr}");
    assert_eq!(server.status(&second, program_id).proven, 1);

    // Tampering with the local copy is noticed, not trusted.
    let store = first.state_dir().join("store/inputs");
    for entry in std::fs::read_dir(&store).expect("store") {
        std::fs::write(entry.expect("entry").path(), "2\n9\n").expect("tamper");
    }
    let stderr = first.fails(&["proofs", "verify"], 1);
    assert!(stderr.contains("modified"), "{stderr}");
    assert_eq!(server.status(&first, program_id).proven, 1);
}

#[test]
fn ctrl_c_during_verify_keeps_every_confirmed_result_and_a_rerun_finishes() {
    use std::io::{BufRead, BufReader};

    let server = Server::start(Backend::Embedded);
    let cli = Cli::new(&server.url);
    cli.register_and_login("Sigint");
    let program_id = cli.upload_collatz("collatz");
    let ranges: Vec<(u64, u64)> = (0..8).map(|i| (1 + 2 * i, 3 + 2 * i)).collect();
    cli.upload_ranges(program_id, &ranges);
    for _ in &ranges {
        server.prove_one(program_id);
    }

    let mut child = cli
        .command(&["proofs", "verify", "collatz"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn verify");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    // Interrupt as soon as the first proof is through (the handler is installed by then).
    while stderr.read_line(&mut line).expect("read stderr") > 0 {
        if line.starts_with("verified") {
            // SAFETY: sends SIGINT to the child we spawned.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGINT);
            }
            break;
        }
        line.clear();
    }
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    let status = child.wait().expect("wait verify");
    // 130 when the signal arrived mid-run; 0 if the last proofs were done before it landed.
    assert!(
        matches!(status.code(), Some(130) | Some(0)),
        "{status:?}\n{line}{rest}"
    );

    // Whatever was confirmed has its result saved, once.
    let saved: Vec<Uuid> = cli
        .result_lines(program_id)
        .iter()
        .map(|l| uuid(&l["input_group_id"]))
        .collect();
    let unique: std::collections::HashSet<_> = saved.iter().collect();
    assert_eq!(unique.len(), saved.len());
    let progress = server.status(&cli, program_id);
    assert!(
        progress.confirmed as usize <= saved.len(),
        "{progress:?} vs {saved:?}"
    );
    assert_eq!(progress.confirmed + progress.proven, 8);

    // The rerun finishes the job without writing anything twice.
    cli.json(&["proofs", "verify", "collatz"]);
    let progress = server.status(&cli, program_id);
    assert_eq!((progress.confirmed, progress.proven), (8, 0));
    let saved: Vec<Uuid> = cli
        .result_lines(program_id)
        .iter()
        .map(|l| uuid(&l["input_group_id"]))
        .collect();
    let unique: std::collections::HashSet<_> = saved.iter().collect();
    assert_eq!((saved.len(), unique.len()), (8, 8));
}

#[test]
fn proofs_are_accepted_or_rejected_by_hand_naming_groups_by_name_or_id() {
    let server = Server::start(Backend::Embedded);
    let cli = Cli::new(&server.url);
    cli.register_and_login("Manual");
    let program_id = cli.upload_collatz("manual");
    cli.upload_ranges(program_id, &[(1, 3), (3, 5)]);
    let first = server.prove_one(program_id).metadata.input_group_id;
    let second = server.prove_one(program_id).metadata.input_group_id;
    let listed = cli.json(&["inputs", "list", "manual"]);
    let name_of = |id: Uuid| {
        listed["program_input_groups"]
            .as_array()
            .expect("groups")
            .iter()
            .find(|g| uuid(&g["input_group_id"]) == id)
            .and_then(|g| g["name"].as_str())
            .expect("listed")
            .to_string()
    };

    // Rejected by its name: offered again at once, and logged.
    let text = cli.ok(&["proofs", "reject", "manual", &name_of(first)]);
    assert!(text.contains("offered to donors again"), "{text}");
    let status = server.status(&cli, program_id);
    assert_eq!((status.proven, status.uploaded), (1, 1));
    let log = std::fs::read_to_string(cli.state_dir().join("rejected.jsonl")).expect("log");
    assert!(log.contains("rejected by hand"), "{log}");

    // Accepted by its id: confirmed; a second time there is no proof to accept (refused, 4).
    let report = cli.json(&["proofs", "accept", "manual", &second.to_string()]);
    assert_eq!(report["accepted"][0], second.to_string());
    assert_eq!(server.status(&cli, program_id).confirmed, 1);
    let stderr = cli.fails(&["proofs", "accept", "manual", &second.to_string()], 4);
    assert!(stderr.contains("PROOF_NOT_FOUND"), "{stderr}");

    // -q: no summary line (and no hint).
    let extra = cli.path("extra.csv");
    std::fs::write(&extra, "9,11\n").expect("csv");
    let output = cli.run(&[
        "-q",
        "inputs",
        "upload",
        "manual",
        extra.to_str().expect("path"),
    ]);
    common::assert_success(&["inputs", "upload"], &output);
    assert!(
        output.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    // Nor a confirmation of what was done: the files are the answer.
    let quiet_split = cli.path("quiet-split");
    let output = cli.run(&[
        "-q",
        "inputs",
        "split",
        "--range",
        "1..5",
        "--groups",
        "2",
        "--out",
        quiet_split.to_str().expect("path"),
    ]);
    common::assert_success(&["inputs", "split"], &output);
    assert!(
        output.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(std::fs::read_dir(&quiet_split).expect("split").count(), 2);

    // A name that matches no group is refused with what to do.
    let stderr = cli.fails(&["proofs", "reject", "manual", "no-such-group"], 4);
    assert!(
        stderr.contains("no input group is named \"no-such-group\""),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

/// The exit codes of the shared table that the uploader produces, as a script sees them.
#[test]
fn the_exit_codes_are_the_shared_tables() {
    use distributor_api::cli::ExitCode;
    let server = Server::start(Backend::Embedded);
    let cli = Cli::new(&server.url);
    cli.fails(&["whoami"], ExitCode::Auth.code());
    cli.fails(
        &["program", "list", "--page-size", "51"],
        ExitCode::Usage.code(),
    );
    cli.register_and_login("Codes");
    cli.ok(&["whoami"]);
    let stderr = cli.fails(
        &["program", "status", &Uuid::new_v4().to_string()],
        ExitCode::Refused.code(),
    );
    assert!(stderr.contains("PROGRAM_NOT_FOUND"), "{stderr}");
    cli.fails(
        &["program", "status", "no-such-program"],
        ExitCode::Refused.code(),
    );
    let unreachable = Cli::new("http://127.0.0.1:9");
    unreachable.fails(&["program", "list", "--all"], ExitCode::Unreachable.code());
}
