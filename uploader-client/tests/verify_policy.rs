//! `proofs verify` beyond the basics: the program's verification policy, `--recheck`, and proofs
//! of an older format version.

mod common;

use common::{prove, prove_with, Backend, Cli, Server};
use program_distributor::testing::{as_older_format_version, OLDER_FORMAT_VERSION};
use serde_json::Value;

fn verify_json(cli: &Cli, args: &[&str], expected_code: i32) -> Value {
    let mut all = vec!["--json", "proofs", "verify"];
    all.extend_from_slice(args);
    let output = cli.run(&all);
    assert_eq!(
        output.status.code(),
        Some(expected_code),
        "{all:?}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

#[test]
fn a_recheck_re_executes_a_sample_of_honest_proofs_and_they_agree() {
    let server = Server::start(Backend::Embedded);
    let cli = Cli::new(&server.url);
    cli.register_and_login("Recheck");
    let program_id = cli.upload_collatz("collatz");
    cli.upload_ranges(program_id, &[(1, 3), (3, 5), (5, 7), (7, 9), (9, 11)]);
    for _ in 0..3 {
        server.prove_one(program_id);
    }

    // A tiny fraction still re-executes one group; the human report says so.
    let output = cli.run(&["proofs", "verify", "collatz", "--recheck", "0.01"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout
            .contains("recheck: 1 verified group(s) re-executed in cairo-vm (1% asked): all agree"),
        "{stdout}"
    );
    assert_eq!(
        stderr.matches("re-executed: same outputs").count(),
        1,
        "{stderr}"
    );
    let lines = cli.result_lines(program_id);
    assert_eq!(lines.len(), 3);
    // Both figures are shown as verified; the provable one is real and below the conjectured.
    let (conjectured, provable) = (
        lines[0]["security_bits"].as_u64().unwrap(),
        lines[0]["provable_security_bits"].as_u64().unwrap(),
    );
    assert!(0 < provable && provable < conjectured, "{:?}", lines[0]);
    assert!(
        stderr.contains(&format!(
            "{conjectured} bits conjectured, {provable} bits provable"
        )),
        "{stderr}"
    );
    assert_eq!(lines.iter().filter(|l| l["rechecked"] == true).count(), 1);

    // FRACTION 1 re-executes every verified group.
    for _ in 0..2 {
        server.prove_one(program_id);
    }
    let report = verify_json(&cli, &["collatz", "--recheck", "1"], 0);
    let summary = &report["programs"][0];
    assert_eq!(summary["verified"], 2, "{report}");
    assert_eq!(summary["recheck"]["fraction"], 1.0);
    assert_eq!(summary["recheck"]["rechecked"], 2, "{report}");
    assert_eq!(summary["recheck"]["mismatches"], serde_json::json!([]));
    for group in summary["verified_groups"].as_array().expect("groups") {
        assert_eq!(group["rechecked"], true, "{group}");
        assert!(group["security_bits"].as_u64().unwrap() >= 100, "{group}");
        assert!(group["provable_security_bits"].is_u64(), "{group}");
    }
    let status = server.status(&cli, program_id);
    assert_eq!((status.confirmed, status.proven), (5, 0));
}

#[test]
fn recheck_fractions_outside_0_to_1_are_usage_errors() {
    let cli = Cli::new("http://127.0.0.1:9");
    for bad in ["0", "-0.1", "1.5", "all"] {
        let flag = format!("--recheck={bad}");
        let stderr = cli.fails(&["proofs", "verify", &flag], 2);
        assert!(
            stderr.contains("fraction above 0 and at most 1") || stderr.contains("not a number"),
            "{bad}: {stderr}"
        );
        assert!(stderr.contains("--recheck"), "{bad}: {stderr}");
    }
}

#[test]
fn verify_follows_the_program_policy_unless_a_flag_overrides_it() {
    let server = Server::start(Backend::Embedded);
    let cli = Cli::new(&server.url);
    cli.register_and_login("Policy");
    // This organization accepts weak proofs for this program: the server takes them, and so
    // does `proofs verify` by default.
    let program_id = cli.upload_collatz_with("collatz", &["--min-security-bits", "0"]);
    let listing = cli.ok(&["program", "list"]);
    assert!(
        listing.contains("MIN BITS") && listing.contains(" 0c "),
        "{listing}"
    );
    let status = cli.ok(&["program", "status", "collatz"]);
    assert!(
        status.contains("proofs need at least 0 bits conjectured, 0 bits provable"),
        "{status}"
    );
    cli.upload_ranges(program_id, &[(1, 3), (3, 5)]);
    let weak = cairo_stark::ProofOptions::insecure_for_tests();
    for _ in 0..2 {
        let reservation = server.reserve(program_id);
        let proof = prove_with(&reservation.program_json, &reservation.inputs_csv, &weak);
        server.upload_proof(&reservation, None, proof);
    }

    // The override: at least 100 bits here, whatever the program says.
    let report = verify_json(&cli, &["collatz", "--min-security-bits", "100"], 5);
    let summary = &report["programs"][0];
    assert_eq!(summary["policy"]["min_conjectured_security_bits"], 100);
    let rejected = summary["rejected"].as_array().expect("rejected");
    assert_eq!(rejected.len(), 2, "{report}");
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap()
            .contains("below the required 100"),
        "{report}"
    );

    // Offered again; weak proofs once more, now verified under the program's own policy.
    for _ in 0..2 {
        let reservation = server.reserve(program_id);
        let proof = prove_with(&reservation.program_json, &reservation.inputs_csv, &weak);
        server.upload_proof(&reservation, None, proof);
    }
    let report = verify_json(&cli, &["collatz"], 0);
    let summary = &report["programs"][0];
    assert_eq!(summary["policy"]["min_conjectured_security_bits"], 0);
    assert_eq!(summary["verified"], 2, "{report}");
}

#[test]
fn an_old_format_proof_is_rejected_and_its_group_offered_again() {
    let server = Server::start(Backend::Embedded);
    let cli = Cli::new(&server.url);
    cli.register_and_login("OldFormat");
    let program_id = cli.upload_collatz("collatz");
    cli.upload_ranges(program_id, &[(1, 3)]);
    let reservation = server.prove_one(program_id);
    let group = reservation.metadata.input_group_id;
    // What a server that accepted it before the format changed would still hold.
    let honest = prove(&reservation.program_json, &reservation.inputs_csv);
    server.replace_stored_proof(program_id, group, as_older_format_version(&honest));

    let report = verify_json(&cli, &["collatz"], 5);
    let rejected = &report["programs"][0]["rejected"];
    assert_eq!(rejected.as_array().map(Vec::len), Some(1), "{report}");
    let reason = rejected[0]["reason"].as_str().expect("reason");
    let why = format!(
        "made by an older prover version {OLDER_FORMAT_VERSION}; this build reads version {}",
        cairo_stark::format::FORMAT_VERSION
    );
    assert!(reason.contains(&why), "{reason}");
    assert!(reason.contains("offered to donors again"), "{reason}");
    assert!(cli.result_lines(program_id).is_empty());
    let status = server.status(&cli, program_id);
    assert_eq!((status.proven, status.uploaded + status.reserved), (0, 1));
    assert_eq!(server.reserve(program_id).metadata.input_group_id, group);
}
