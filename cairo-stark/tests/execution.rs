//! Running programs: clear errors for programs that fail, never end, or are not proof mode;
//! and the facts an execution reports.

mod common;

use cairo_stark::{execute, execute_with_limit, CompiledProgram, ExecutionError, ProgramError};
use common::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(path).unwrap()
}

#[test]
fn failing_assert_is_a_program_failure_at_its_source_line() {
    let program = CompiledProgram::parse(&fixture("fails")).unwrap();
    let Err(ExecutionError::ProgramFailed(message)) = execute(&program, &[]) else {
        panic!("the assert must fail");
    };
    // `assert 1 = 2;` is line 4 of fails.cairo, whose debug info the fixture keeps.
    assert!(message.starts_with("fails.cairo:4:5: "), "{message}");
}

/// Without debug info the message still says where (the pc) and why there is no line.
#[test]
fn a_failure_without_debug_info_names_its_pc() {
    let mut json: serde_json::Value = serde_json::from_slice(&fixture("fails")).unwrap();
    json.as_object_mut().unwrap().remove("debug_info");
    let stripped = serde_json::to_vec(&json).unwrap();
    let program = CompiledProgram::parse(&stripped).unwrap();
    let Err(ExecutionError::ProgramFailed(message)) = execute(&program, &[]) else {
        panic!("the assert must fail");
    };
    assert!(
        message.starts_with("pc 0:") && message.contains("compiled without debug info"),
        "{message}"
    );
}

/// A program's debug info names files, and it comes from whoever uploaded the program: the
/// message shows a file name only (never a directory, never control characters), and nothing
/// is read from the disk.
#[test]
fn the_source_position_shows_only_a_clean_file_name() {
    let mut json: serde_json::Value = serde_json::from_slice(&fixture("fails")).unwrap();
    let locations = json["debug_info"]["instruction_locations"]
        .as_object_mut()
        .unwrap();
    for location in locations.values_mut() {
        location["inst"]["input_file"]["filename"] = "/etc/secret\u{1b}[2J/pass\nwd".into();
    }
    let program = CompiledProgram::parse(&serde_json::to_vec(&json).unwrap()).unwrap();
    let Err(ExecutionError::ProgramFailed(message)) = execute(&program, &[]) else {
        panic!("the assert must fail");
    };
    assert!(message.starts_with("passwd:4:5: "), "{message}");
    assert!(
        !message.contains('\u{1b}') && !message.contains("/etc"),
        "{message}"
    );
}

#[test]
fn endless_program_stops_at_the_step_limit() {
    let program = CompiledProgram::parse(&fixture("forever")).unwrap();
    assert!(matches!(
        execute_with_limit(&program, &[], 10_000),
        Err(ExecutionError::StepLimit(10_000))
    ));
}

#[test]
fn step_limit_applies_to_long_honest_runs() {
    let program = program("fibonacci");
    assert!(execute_with_limit(&program, &felts(&[1, 50]), 100).is_err());
    assert!(execute_with_limit(&program, &felts(&[1, 50]), 10_000).is_ok());
}

#[test]
fn program_not_compiled_in_proof_mode_is_refused() {
    assert!(matches!(
        CompiledProgram::parse(&fixture("not_proof_mode")),
        Err(ProgramError::NotProofMode)
    ));
}

#[test]
fn failing_input_check_is_a_program_failure() {
    // no_builtins asserts its inputs sum to 100.
    assert!(matches!(
        execute(&program("no_builtins"), &felts(&[1, 2])),
        Err(ExecutionError::ProgramFailed(_))
    ));
}

#[test]
fn execution_reports_layout_and_outputs() {
    let inputs = felts(&[3, 4, 5]);
    let program = guest();
    let execution = execute(&program, &inputs).unwrap();
    assert_eq!(execution.outputs, felts(&[3, 12]));
    // Program at address 1, then [n, inputs], then the execution segment.
    let bytecode_len = program.bytecode_len() as u64;
    assert_eq!(execution.execution_base, 1 + bytecode_len + 1 + 3);
    assert_eq!(execution.trace[0].pc, 1);
    assert_eq!(execution.trace[0].ap, execution.initial_ap());
    assert_eq!(execution.final_registers().pc, execution.end_pc);
    assert_eq!(execution.trace.len(), execution.steps + 1);
    let output = execution.output.unwrap();
    assert_eq!(output.stop - output.base, 2);
    assert!(execution.range_check.unwrap().stop > execution.range_check.unwrap().base);
    // The inputs sit right after the bytecode.
    let n_addr = (1 + bytecode_len) as usize;
    assert_eq!(
        execution.memory[n_addr],
        Some(cairo_stark::Felt::from(3u64))
    );
    assert_eq!(
        program.inputs_label().as_deref(),
        Some("__main__.main.inputs")
    );
}

#[test]
fn garbage_is_never_a_panic() {
    let program = guest();
    let inputs = felts(&[1]);
    let mut state = 0x1234_5678_u64;
    for len in [0usize, 1, 10, 100, 1000, 10_000] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assert!(cairo_stark::verify(
            &bytes,
            &program,
            &inputs,
            &cairo_stark::SecurityPolicy::conjectured(0)
        )
        .is_err());
        let mut with_magic = b"CAIROSTK\x01\x00".to_vec();
        with_magic.extend_from_slice(&bytes);
        assert!(cairo_stark::verify(
            &with_magic,
            &program,
            &inputs,
            &cairo_stark::SecurityPolicy::conjectured(0)
        )
        .is_err());
    }
}
