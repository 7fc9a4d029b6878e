//! The address-0 forgery (the Trust issue): a prover that chooses the pointer `alloc()` returns
//! puts an array at p − 2, p − 1, 0 and reads a value at address 0 that it never stored. Before
//! the memory was anchored (first sorted address = 1), this proof verified with a false sum.
//! The tests keep the attack alive against an AIR with the anchor dropped, so they show both
//! that the forgery is real and that the anchor is what stops it.

mod common;

use cairo_stark::air::cols;
use cairo_stark::{execute, CompiledProgram, Execution, Felt, ProofFile, SecurityPolicy};
use common::forge::*;
use common::*;

/// The pc of the hint whose code is `code` in the compiled program `name`.
fn hint_pc(name: &str, code: &str) -> u64 {
    let path = format!("{}/tests/programs/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let hints = json["hints"].as_object().unwrap();
    let (offset, _) = hints
        .iter()
        .find(|(_, hs)| hs.as_array().unwrap().iter().any(|h| h["code"] == code))
        .unwrap_or_else(|| panic!("no hint `{code}` in {name}"));
    1 + offset.parse::<u64>().unwrap()
}

const ALLOC_HINT: &str = "memory[ap] = segments.add()";

/// Runs `alloc_sum` with `alloc()` returning p − 2 (so the array is p − 2, p − 1, 0) and every
/// read of address 0 returning `read_back`, whatever was stored there.
fn forge_alloc_sum(exec: &Execution, read_back: Felt) -> Forged {
    let program = program("alloc_sum");
    let alloc_pc = Felt::from(hint_pc("alloc_sum", ALLOC_HINT));
    let mut vm = FreeVm::like(exec).hook(move |vm| {
        if vm.pc == alloc_pc {
            vm.mem.insert(vm.ap, minus(2));
        }
    });
    vm.forged_reads.insert(Felt::zero(), read_back);
    vm.run(exec.end_pc, 10_000).unwrap();
    let layout = Layout {
        sorted_start: Some(minus(2)),
        ..Layout::default()
    };
    forge_trace(&vm, &program, &exec.inputs, exec, &layout).unwrap()
}

fn anchor_index(forged: &Forged) -> usize {
    use stark::Air;
    forged
        .air()
        .boundary_constraints(&some_challenges())
        .iter()
        .position(|b| b.column == cols::SORTED_MEM && b.row == 0)
        .expect("the first sorted address is pinned")
}

/// Proves `forged` against the AIR with the memory anchor dropped and verifies it there.
fn verifies_without_anchor(forged: &Forged) -> bool {
    let weakened = Weakened::dropping_boundary(forged.air(), anchor_index(forged));
    let proof = stark::prove(&weakened, forged.trace.clone(), &fast_options()).unwrap();
    let policy = stark::VerificationPolicy::with_min_security_bits(0);
    stark::verify(&weakened, &proof, &policy).is_ok()
}

/// The real `stark::prove` refuses the forged trace, and a proof made without the prover's
/// checks does not pass the public verifier.
fn assert_rejected(forged: &Forged, program: &CompiledProgram, inputs: &[Felt]) {
    let air = forged.air();
    assert!(stark::prove(&air, forged.trace.clone(), &fast_options()).is_err());
    let stark = stark::prove_unchecked(&air, forged.trace.clone(), &fast_options()).unwrap();
    let file = ProofFile {
        options: fast_options(),
        program_hash: program.hash(),
        inputs: inputs.to_vec(),
        claim: forged.statement.claim.clone(),
        stark,
    };
    let result = cairo_stark::verify(
        &file.to_bytes(),
        program,
        inputs,
        &SecurityPolicy::conjectured(0),
    );
    assert!(result.is_err(), "a forged proof verified: {result:?}");
}

#[test]
fn honest_replay_by_the_free_vm_verifies() {
    for (name, inputs) in [
        ("alloc_sum", felts(&[10, 20, 30])),
        ("range_checks", felts(&[1, 5, 9, 100, 1 << 40])),
        ("linked_list", felts(&[4, 8, 15, 16, 23, 42])),
    ] {
        let program = program(name);
        let exec = execute(&program, &inputs).unwrap();
        let mut vm = FreeVm::like(&exec);
        vm.run(exec.end_pc, 100_000).unwrap();
        let forged = forge_trace(&vm, &program, &inputs, &exec, &Layout::default()).unwrap();
        assert_eq!(forged.statement.claim.outputs, exec.outputs, "{name}");
        assert_eq!(
            violations(&forged.air(), &forged.trace, &some_challenges()),
            []
        );
        let stark = stark::prove(&forged.air(), forged.trace, &fast_options()).unwrap();
        let file = ProofFile {
            options: fast_options(),
            program_hash: program.hash(),
            inputs: inputs.clone(),
            claim: forged.statement.claim,
            stark,
        };
        let verified = cairo_stark::verify(
            &file.to_bytes(),
            &program,
            &inputs,
            &SecurityPolicy::conjectured(0),
        )
        .unwrap();
        assert_eq!(verified.outputs, exec.outputs, "{name}");
    }
}

#[test]
fn array_at_address_zero_cannot_change_the_sum() {
    let inputs = felts(&[10, 20, 30]);
    let program = program("alloc_sum");
    let exec = execute(&program, &inputs).unwrap();
    assert_eq!(exec.outputs, felts(&[60, 30]));
    // The stored 30 reads back as 0: sum 30, last element 0.
    let forged = forge_alloc_sum(&exec, Felt::zero());
    assert_eq!(forged.statement.claim.outputs, felts(&[30, 0]));
    // The anchor is the only constraint the forgery breaks, and without it the proof verifies.
    let anchor = Violation::Boundary(anchor_index(&forged));
    assert_eq!(
        violations(&forged.air(), &forged.trace, &some_challenges()),
        [anchor]
    );
    assert!(verifies_without_anchor(&forged));
    assert_rejected(&forged, &program, &inputs);
}

#[test]
fn array_at_address_zero_cannot_make_any_sum() {
    // An input group ending in 0: the stored 0 doubles as a public-memory placeholder, and the
    // read-back returns whatever the sorted side claims for address 0.
    let inputs = felts(&[10, 20, 0]);
    let program = program("alloc_sum");
    let exec = execute(&program, &inputs).unwrap();
    assert_eq!(exec.outputs, felts(&[30, 0]));
    let forged = forge_alloc_sum(&exec, Felt::from(1000u64));
    assert_eq!(forged.statement.claim.outputs, felts(&[1030, 1000]));
    assert!(verifies_without_anchor(&forged));
    assert_rejected(&forged, &program, &inputs);
}

#[test]
fn spare_slots_at_address_zero_need_the_sorted_side_at_zero() {
    // What the honest builder did before the fix: spare extra slots (0, 0). With the anchor, the
    // sorted side cannot hold them, so such a trace no longer verifies.
    let inputs = felts(&[10, 20, 30]);
    let program = program("alloc_sum");
    let exec = execute(&program, &inputs).unwrap();
    let mut vm = FreeVm::like(&exec);
    vm.run(exec.end_pc, 10_000).unwrap();
    let layout = Layout {
        spare: Some((Felt::zero(), Felt::zero())),
        sorted_start: Some(Felt::zero()),
        ..Layout::default()
    };
    let forged = forge_trace(&vm, &program, &inputs, &exec, &layout).unwrap();
    let anchor = Violation::Boundary(anchor_index(&forged));
    assert_eq!(
        violations(&forged.air(), &forged.trace, &some_challenges()),
        [anchor]
    );
    assert!(verifies_without_anchor(&forged));
}
