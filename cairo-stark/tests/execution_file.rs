//! The execution file: a run survives the round trip and proves; a file of another program,
//! other inputs or a run that is wrong anywhere is refused by the replay; hostile bytes are
//! refused without a panic.

mod common;

use cairo_stark::execution_file::MAX_DECODED_BYTES;
use cairo_stark::{
    check_execution, execute, read_execution, verify, CompiledProgram, Execution,
    ExecutionFileError, Felt, SecurityPolicy,
};
use common::*;

fn fibonacci_run() -> (CompiledProgram, Vec<Felt>, Execution) {
    let program = program("fibonacci");
    let inputs = felts(&[10, 1, 0, 20]);
    let execution = execute(&program, &inputs).unwrap();
    (program, inputs, execution)
}

#[test]
fn every_corpus_run_survives_the_round_trip_and_the_replay() {
    for (name, inputs) in [
        ("fibonacci", felts(&[10, 1, 0, 20])),
        ("range_checks", felts(&[1, 5, 9, 100, 1 << 40])),
        ("many_outputs", felts(&(0..50).collect::<Vec<_>>())),
        ("no_builtins", felts(&[50, 25, 25])),
        ("no_inputs", vec![]),
        ("calls_and_asserts", felts(&[1, 2, 3, 4, 5, 6])),
        ("factorial_recursive", felts(&[10])),
    ] {
        let program = program(name);
        let execution = execute(&program, &inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = execution.to_file_bytes();
        assert_eq!(
            read_execution(&bytes, &program, &inputs).unwrap(),
            execution,
            "{name}"
        );
        assert_eq!(
            check_execution(&bytes, &program, &inputs).unwrap(),
            execution,
            "{name}"
        );
    }
}

#[test]
fn a_decoded_execution_proves_and_the_proof_verifies() {
    let (program, inputs, execution) = fibonacci_run();
    let decoded = check_execution(&execution.to_file_bytes(), &program, &inputs).unwrap();
    let proof = cairo_stark::prove(&decoded, &fast_options()).unwrap();
    let verified = verify(
        &proof.to_bytes(),
        &program,
        &inputs,
        &SecurityPolicy::conjectured(fast_security(proof.trace_length())),
    )
    .unwrap();
    assert_eq!(verified.outputs, execution.outputs);
    assert_eq!(verified.steps, execution.steps as u64);
}

#[test]
fn the_file_is_much_smaller_than_the_raw_run() {
    let (_, _, execution) = fibonacci_run();
    let bytes = execution.to_file_bytes();
    let raw = execution.memory.len() * 32 + execution.trace.len() * 24;
    assert!(
        bytes.len() * 8 < raw,
        "{} bytes for a run of {raw} raw bytes",
        bytes.len()
    );
}

#[test]
fn another_program_or_other_inputs_are_refused() {
    let (program, inputs, execution) = fibonacci_run();
    let bytes = execution.to_file_bytes();
    assert!(matches!(
        read_execution(&bytes, &common::program("no_builtins"), &inputs),
        Err(ExecutionFileError::OtherProgram)
    ));
    assert!(matches!(
        check_execution(&bytes, &program, &felts(&[10, 1, 0, 21])),
        Err(ExecutionFileError::OtherInputs)
    ));
}

/// Re-encodes the run after `tamper` changed it.
fn tampered(execution: &Execution, tamper: impl FnOnce(&mut Execution)) -> Vec<u8> {
    let mut copy = execution.clone();
    tamper(&mut copy);
    copy.to_file_bytes()
}

#[test]
fn a_run_that_is_wrong_anywhere_is_refused_by_the_replay() {
    let (program, inputs, execution) = fibonacci_run();
    let last_address = execution.memory.len() - 1;
    let steps = execution.steps;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "a memory cell",
            tampered(&execution, |e| {
                e.memory[last_address] = Some(Felt::from(12345u64))
            }),
        ),
        (
            "a missing memory cell",
            tampered(&execution, |e| e.memory[last_address] = None),
        ),
        (
            "an extra memory cell",
            tampered(&execution, |e| e.memory.push(Some(Felt::from(1u64)))),
        ),
        (
            "a register",
            tampered(&execution, |e| e.trace[steps / 2].ap += 1),
        ),
        (
            "an output",
            tampered(&execution, |e| e.outputs[0] += Felt::from(1u64)),
        ),
        (
            "one step less",
            tampered(&execution, |e| {
                e.steps -= 1;
                e.trace.pop();
            }),
        ),
        (
            "one step more",
            tampered(&execution, |e| {
                e.steps += 1;
                let last = *e.trace.last().unwrap();
                e.trace.push(last);
            }),
        ),
        (
            "the output segment",
            tampered(&execution, |e| {
                if let Some(s) = e.output.as_mut() {
                    s.stop += 1;
                }
            }),
        ),
        (
            "the final registers",
            tampered(&execution, |e| e.trace[steps].fp += 1),
        ),
    ];
    for (what, bytes) in cases {
        let refused = check_execution(&bytes, &program, &inputs);
        assert!(
            matches!(refused, Err(ExecutionFileError::NotTheRun(_))),
            "{what}: {refused:?}"
        );
    }
    // The bytecode and the inputs are bound without a replay.
    let bytes = tampered(&execution, |e| e.memory[1] = Some(Felt::from(0u64)));
    assert!(matches!(
        read_execution(&bytes, &program, &inputs),
        Err(ExecutionFileError::NotTheRun(_))
    ));
}

#[test]
fn hostile_bytes_are_refused_without_a_panic() {
    let (program, inputs, execution) = fibonacci_run();
    let bytes = execution.to_file_bytes();
    assert!(matches!(
        read_execution(b"CAIROSTK\x01\x00", &program, &inputs),
        Err(ExecutionFileError::NotAnExecution)
    ));
    let mut other_version = bytes.clone();
    other_version[8] = 9;
    assert!(matches!(
        read_execution(&other_version, &program, &inputs),
        Err(ExecutionFileError::Version(9))
    ));
    for len in (0..bytes.len()).step_by(7) {
        assert!(read_execution(&bytes[..len], &program, &inputs).is_err());
    }
    // DEFLATE has no checksum: a flip may decode to the same run (in a code the decoder never
    // uses), never to a different run that the replay accepts.
    for i in (10..bytes.len()).step_by(3) {
        for bit in [0, 3, 7] {
            let mut flipped = bytes.clone();
            flipped[i] ^= 1 << bit;
            if let Ok(run) = check_execution(&flipped, &program, &inputs) {
                assert_eq!(run, execution, "flip of bit {bit} of byte {i}");
            }
        }
    }
}

#[test]
fn a_decompression_bomb_is_cut_off() {
    use std::io::Write;
    let mut encoder = flate2::write::DeflateEncoder::new(
        b"CAIROEXE\x01\x00".to_vec(),
        flate2::Compression::best(),
    );
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..=(MAX_DECODED_BYTES >> 20) {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let (program, inputs, _) = fibonacci_run();
    assert!(matches!(
        read_execution(&bomb, &program, &inputs),
        Err(ExecutionFileError::TooLarge)
    ));
}
