//! The execution file: a run survives the round trip and proves; a file of another program,
//! other inputs or a run that is wrong anywhere is refused by the replay; hostile bytes are
//! refused without a panic.

mod common;

use std::io::Read;

use cairo_stark::execution_file::{read_execution_within, ReadLimits};
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

/// A DEFLATE stream of `prefix` followed by `zeros` MiB of zeros, as an execution file.
fn bomb(prefix: &[u8], zeros: u64) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::DeflateEncoder::new(
        b"CAIROEXE\x01\x00".to_vec(),
        flate2::Compression::best(),
    );
    encoder.write_all(prefix).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..zeros {
        encoder.write_all(&chunk).unwrap();
    }
    encoder.finish().unwrap()
}

#[test]
fn a_decompression_bomb_is_cut_off_at_its_first_wrong_field() {
    let bomb = bomb(&[], (ReadLimits::default().max_decoded_bytes >> 20) + 1);
    assert!(bomb.len() < 2 << 20);
    let (program, inputs, _) = fibonacci_run();
    // 32 zero bytes are not the program's hash: refused before the rest is inflated.
    assert!(matches!(
        read_execution(&bomb, &program, &inputs),
        Err(ExecutionFileError::OtherProgram)
    ));
}

#[test]
fn a_body_larger_than_its_claimed_steps_allow_is_cut_off() {
    let (program, inputs, execution) = fibonacci_run();
    let limits = ReadLimits::for_steps(execution.steps);
    // Memory cells the run's few steps cannot have written, each a full-size felt: the decoder
    // stops at the bound the claimed steps set (a few KiB), far below the configured limit.
    let big = -Felt::from(3u64).inv().unwrap();
    let padded = tampered(&execution, |e| e.memory.extend(vec![Some(big); 60_000]));
    match read_execution_within(&padded, &program, &inputs, &limits) {
        Err(ExecutionFileError::TooLarge(limit)) => assert!(
            limit < 1 << 20,
            "a limit of {limit} bytes for {} steps",
            execution.steps
        ),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // Trailing bytes after a whole run are refused without inflating them.
    let mut body = Vec::new();
    flate2::read::DeflateDecoder::new(&execution.to_file_bytes()[10..])
        .read_to_end(&mut body)
        .unwrap();
    assert!(matches!(
        read_execution_within(&bomb(&body, 64), &program, &inputs, &limits),
        Err(ExecutionFileError::Corrupt(_))
    ));
    // The run itself is read within the same limits.
    read_execution_within(&execution.to_file_bytes(), &program, &inputs, &limits).unwrap();
}

#[test]
fn a_trace_that_is_not_a_possible_run_is_refused_before_the_replay() {
    let (program, inputs, execution) = fibonacci_run();
    let steps = execution.steps;
    let zero = cairo_stark::vm::Registers {
        pc: 0,
        ap: 0,
        fp: 0,
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "an all-zero trace",
            tampered(&execution, |e| e.trace = vec![zero; steps + 1]),
        ),
        (
            "a row repeated",
            tampered(&execution, |e| e.trace[2] = e.trace[1]),
        ),
        (
            "`__end__` before the last row",
            tampered(&execution, |e| e.trace[1].pc = e.end_pc),
        ),
        (
            "a pc outside the program",
            tampered(&execution, |e| e.trace[1].pc = e.execution_base + 7),
        ),
        (
            "more steps than the trace can hold",
            tampered(&execution, |e| {
                e.steps = 1_000_000;
                let last = e.trace[steps];
                e.trace.truncate(steps);
                e.trace.resize(1_000_000, e.trace[steps - 1]);
                e.trace.push(last);
            }),
        ),
    ];
    for (what, bytes) in cases {
        // read_execution does not replay: refused by the reader alone.
        let refused = read_execution(&bytes, &program, &inputs);
        assert!(
            matches!(refused, Err(ExecutionFileError::NotTheRun(_))),
            "{what}: {refused:?}"
        );
    }
}

#[test]
fn a_claim_over_the_step_limit_is_refused() {
    let (program, inputs, execution) = fibonacci_run();
    let bytes = execution.to_file_bytes();
    let limits = ReadLimits::for_steps(execution.steps - 1);
    assert!(matches!(
        read_execution_within(&bytes, &program, &inputs, &limits),
        Err(ExecutionFileError::NotTheRun(_))
    ));
}
