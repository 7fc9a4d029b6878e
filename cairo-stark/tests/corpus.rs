//! Honest proofs of the corpus verify and return the program's outputs.

mod common;

use cairo_stark::{
    execute, prove, prove_with_progress, verify, Felt, MemoryMode, ProofOptions, ProveSettings,
    SecurityPolicy,
};
use common::*;

fn prove_and_verify(name: &str, inputs: &[Felt], expected: &[Felt]) {
    let program = if name == "guest" {
        guest()
    } else {
        program(name)
    };
    let execution = execute(&program, inputs).unwrap();
    assert_eq!(execution.outputs, expected, "{name}: cairo-vm outputs");
    let proof = prove(&execution, &fast_options()).unwrap();
    let bytes = proof.to_bytes();
    // The fast memory mode keeps the extension instead of recomputing it: the same proof.
    let fast = ProveSettings {
        memory: MemoryMode::Fast,
        ..ProveSettings::default()
    };
    let fast = prove_with_progress(&execution, &fast_options(), &fast, |_| {}).unwrap();
    assert!(
        fast.to_bytes() == bytes,
        "{name}: the fast mode's proof differs"
    );
    let verified = verify(
        &bytes,
        &program,
        inputs,
        &SecurityPolicy::conjectured(fast_security(proof.trace_length())),
    )
    .unwrap();
    assert_eq!(verified.outputs, expected, "{name}: verified outputs");
    assert_eq!(verified.steps, execution.steps as u64);
}

#[test]
fn loop_fibonacci_verifies() {
    prove_and_verify(
        "fibonacci",
        &felts(&[10, 1, 0, 20]),
        &felts(&[55, 1, 0, 6765]),
    );
}

#[test]
fn recursion_factorial_verifies() {
    prove_and_verify("factorial_recursive", &felts(&[10]), &felts(&[3628800]));
}

#[test]
fn calls_and_asserts_verify() {
    prove_and_verify(
        "calls_and_asserts",
        &felts(&[1, 2, 3, 4, 5, 6]),
        &felts(&[3, 32]),
    );
}

#[test]
fn range_check_builtin_program_verifies() {
    let big = 1u64 << 40;
    let sum = 1 + 5 + 9 + 100 + big;
    prove_and_verify(
        "range_checks",
        &felts(&[1, 5, 9, 100, big]),
        &felts(&[big, sum / 7, sum % 7]),
    );
}

#[test]
fn many_outputs_verify() {
    let inputs: Vec<u64> = (0..50).collect();
    let mut expected: Vec<u64> = inputs.iter().map(|x| x * x + 1).collect();
    expected.push(50);
    prove_and_verify("many_outputs", &felts(&inputs), &felts(&expected));
}

#[test]
fn empty_inputs_verify() {
    prove_and_verify("no_inputs", &[], &felts(&[1024]));
}

#[test]
fn program_without_builtins_verifies() {
    prove_and_verify("no_builtins", &felts(&[50, 25, 25]), &[]);
}

#[test]
fn guest_template_verifies() {
    prove_and_verify("guest", &felts(&[3, 4, 5]), &felts(&[3, 12]));
}

#[test]
fn large_input_group_verifies() {
    let inputs: Vec<u64> = (0..1000).map(|i| i * 7919 % 10007).collect();
    let mut expected: Vec<u64> = inputs.iter().map(|x| x * x + 1).collect();
    expected.push(1000);
    prove_and_verify("many_outputs", &felts(&inputs), &felts(&expected));
}

#[test]
fn large_field_values_as_inputs_verify() {
    // -1 (p - 1) and other values near the prime: squares wrap modulo p.
    let minus_one = -Felt::one();
    let inputs = vec![minus_one, Felt::from(2u64), minus_one - Felt::from(5u64)];
    let mut expected: Vec<Felt> = inputs.iter().map(|x| x * x + Felt::one()).collect();
    expected.push(Felt::from(3u64));
    prove_and_verify("many_outputs", &inputs, &expected);
}

#[test]
fn default_options_give_100_bits_and_verify() {
    let program = guest();
    let inputs = felts(&[7, 8]);
    let execution = execute(&program, &inputs).unwrap();
    let proof = prove(&execution, &ProofOptions::default()).unwrap();
    let verified = verify(
        &proof.to_bytes(),
        &program,
        &inputs,
        &SecurityPolicy::conjectured(100),
    )
    .unwrap();
    assert!(verified.security_bits >= 100);
    assert_eq!(verified.outputs, felts(&[2, 15]));
}

#[test]
fn alloc_array_copy_and_sum_verifies() {
    prove_and_verify("alloc_sum", &felts(&[10, 20, 30]), &felts(&[60, 30]));
    prove_and_verify("alloc_sum", &felts(&[10, 20, 0]), &felts(&[30, 0]));
}

#[test]
fn felts_above_2_128_in_an_alloc_array_verify() {
    let big = Felt::from(1u64 << 63).pow(3u64); // 2^189
    let inputs = vec![big + Felt::from(5u64), -Felt::from(3u64), big * big];
    let sum_of_squares = inputs.iter().fold(Felt::zero(), |s, x| s + x * x);
    let product = inputs.iter().fold(Felt::one(), |p, x| p * x);
    prove_and_verify("big_felts", &inputs, &[sum_of_squares, product]);
}

#[test]
fn pointer_heavy_recursion_over_a_linked_list_verifies() {
    // Newest first: 42 − 23 + 16 − 15 + 8 − 4.
    prove_and_verify(
        "linked_list",
        &felts(&[4, 8, 15, 16, 23, 42]),
        &felts(&[6, 24]),
    );
}

#[test]
fn dict_pattern_in_plain_memory_verifies() {
    // Three keys; writes 0 := 5, 2 := 9, 0 := 6, 1 := 1.
    prove_and_verify(
        "plain_dict",
        &felts(&[3, 0, 5, 2, 9, 0, 6, 1, 1]),
        &felts(&[6, 1, 9]),
    );
}

/// A memory limit ends a proof whose trace would need more, once the trace's real size is known
/// and before the prover allocates for it; a limit with room to spare changes nothing.
#[test]
fn a_proof_over_its_memory_limit_stops_before_proving() {
    let execution = execute(&program("range_checks"), &felts(&[1, 5, 9])).unwrap();
    let options = fast_options();
    let tight = ProveSettings {
        memory_limit: Some(1 << 20),
        ..ProveSettings::default()
    };
    match prove_with_progress(&execution, &options, &tight, |_| {}) {
        Err(cairo_stark::ProveError::TooLarge {
            rows,
            needed,
            limit,
        }) => {
            assert!(rows >= execution.steps && needed > limit, "{rows} {needed}");
            assert_eq!(needed, cairo_stark::cost::memory_bytes(rows, &options));
        }
        other => panic!("expected TooLarge, got {:?}", other.map(|_| ())),
    }
    let roomy = ProveSettings {
        memory_limit: Some(1 << 40),
        ..ProveSettings::default()
    };
    assert!(prove_with_progress(&execution, &options, &roomy, |_| {}).is_ok());
}
