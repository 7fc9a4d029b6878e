//! A forged proof must never verify: each test changes one thing about an honest proof (or the
//! verifier's view of the statement) and expects rejection.

mod common;

use cairo_stark::air::{build_main_trace, cols, CairoAir};
use cairo_stark::{
    execute, prove, prove_with_progress, verify, Felt, ProofFile, ProofOptions, ProveSettings,
    SecurityPolicy, VerifyError,
};
use common::*;
use std::sync::OnceLock;

struct Honest {
    bytes: Vec<u8>,
    inputs: Vec<Felt>,
    security: u32,
}

/// One honest proof of the range-check program (both builtins, outputs, range checks).
fn honest() -> &'static Honest {
    static HONEST: OnceLock<Honest> = OnceLock::new();
    HONEST.get_or_init(|| {
        let inputs = felts(&[1, 5, 9, 100, 1 << 40]);
        let execution = execute(&program("range_checks"), &inputs).unwrap();
        let proof = prove(&execution, &fast_options()).unwrap();
        let security = fast_security(proof.trace_length());
        Honest {
            bytes: proof.to_bytes(),
            inputs,
            security,
        }
    })
}

fn verify_honest_program(bytes: &[u8], inputs: &[Felt]) -> Result<Vec<Felt>, VerifyError> {
    verify(
        bytes,
        &program("range_checks"),
        inputs,
        &SecurityPolicy::conjectured(honest().security),
    )
    .map(|v| v.outputs)
}

/// Decodes the honest proof, lets `edit` change it, re-encodes.
fn edited(edit: impl FnOnce(&mut ProofFile)) -> Vec<u8> {
    let mut file = ProofFile::from_bytes(&honest().bytes).unwrap();
    edit(&mut file);
    file.to_bytes()
}

fn assert_stark_rejects(result: Result<Vec<Felt>, VerifyError>) {
    match result {
        Err(VerifyError::Stark(_)) | Err(VerifyError::Claim(_)) => {}
        other => panic!("expected a STARK or claim rejection, got {other:?}"),
    }
}

#[test]
fn honest_proof_verifies() {
    let h = honest();
    assert!(verify_honest_program(&h.bytes, &h.inputs).is_ok());
}

#[test]
fn changed_output_value_is_rejected() {
    let bytes = edited(|f| f.claim.outputs[1] += Felt::one());
    assert_stark_rejects(verify_honest_program(&bytes, &honest().inputs));
}

#[test]
fn dropped_or_extra_output_is_rejected() {
    let bytes = edited(|f| {
        f.claim.outputs.pop();
    });
    assert_stark_rejects(verify_honest_program(&bytes, &honest().inputs));
    let bytes = edited(|f| f.claim.outputs.push(Felt::zero()));
    assert_stark_rejects(verify_honest_program(&bytes, &honest().inputs));
}

#[test]
fn changed_input_is_rejected() {
    let mut other = honest().inputs.clone();
    other[2] = Felt::from(10u64);
    // The caller's inputs differ from the proof's.
    assert!(matches!(
        verify_honest_program(&honest().bytes, &other),
        Err(VerifyError::OtherInputs)
    ));
    // Even when the file is edited to name the caller's inputs, the STARK does not verify.
    let bytes = edited(|f| f.inputs = other.clone());
    assert_stark_rejects(verify_honest_program(&bytes, &other));
}

#[test]
fn reordered_inputs_are_rejected() {
    let mut other = honest().inputs.clone();
    other.swap(0, 1);
    let bytes = edited(|f| f.inputs = other.clone());
    assert_stark_rejects(verify_honest_program(&bytes, &other));
}

#[test]
fn extra_or_missing_input_is_rejected() {
    let mut longer = honest().inputs.clone();
    longer.push(Felt::from(1u64 << 41));
    let bytes = edited(|f| f.inputs = longer.clone());
    assert_stark_rejects(verify_honest_program(&bytes, &longer));
    let shorter = honest().inputs[..4].to_vec();
    let bytes = edited(|f| f.inputs = shorter.clone());
    assert_stark_rejects(verify_honest_program(&bytes, &shorter));
}

/// The range-check program with one bytecode word changed.
fn program_with_changed_word(index: usize, delta: u64) -> cairo_stark::CompiledProgram {
    let path = format!(
        "{}/tests/programs/range_checks.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let word = json["data"][index].as_str().unwrap();
    let value = u64::from_str_radix(word.trim_start_matches("0x"), 16).unwrap();
    json["data"][index] = serde_json::Value::String(format!("{:#x}", value + delta));
    cairo_stark::CompiledProgram::parse(&serde_json::to_vec(&json).unwrap()).unwrap()
}

#[test]
fn one_changed_instruction_is_rejected() {
    let h = honest();
    // Several positions: an instruction of the entry code, an immediate, a word of main.
    for (index, delta) in [(0usize, 1u64), (1, 1), (10, 1 << 16), (30, 1)] {
        let changed = program_with_changed_word(index, delta);
        assert!(matches!(
            verify(
                &h.bytes,
                &changed,
                &h.inputs,
                &SecurityPolicy::conjectured(h.security)
            ),
            Err(VerifyError::OtherProgram)
        ));
        let bytes = edited(|f| f.program_hash = changed.hash());
        let result = verify(
            &bytes,
            &changed,
            &h.inputs,
            &SecurityPolicy::conjectured(h.security),
        )
        .map(|v| v.outputs);
        assert_stark_rejects(result);
    }
}

#[test]
fn another_program_is_rejected() {
    let h = honest();
    for other in ["fibonacci", "many_outputs", "calls_and_asserts"] {
        let other = program(other);
        assert!(verify(
            &h.bytes,
            &other,
            &h.inputs,
            &SecurityPolicy::conjectured(h.security)
        )
        .is_err());
        let bytes = edited(|f| f.program_hash = other.hash());
        assert!(verify(
            &bytes,
            &other,
            &h.inputs,
            &SecurityPolicy::conjectured(h.security)
        )
        .is_err());
    }
    // A program with the same builtins: the claim parses, the STARK rejects.
    let guest = guest();
    let bytes = edited(|f| f.program_hash = guest.hash());
    assert!(verify(
        &bytes,
        &guest,
        &h.inputs,
        &SecurityPolicy::conjectured(h.security)
    )
    .is_err());
}

#[test]
fn a_proof_is_bound_to_its_donor_key() {
    let inputs = &honest().inputs;
    let execution = execute(&program("range_checks"), inputs).unwrap();
    let settings = ProveSettings {
        prover_key: Some([7; 32]),
        ..ProveSettings::default()
    };
    let proof = prove_with_progress(&execution, &fast_options(), &settings, |_| {}).unwrap();
    let bytes = proof.to_bytes();
    let policy = SecurityPolicy::conjectured(honest().security);
    let verified = verify(&bytes, &program("range_checks"), inputs, &policy).unwrap();
    assert_eq!(verified.prover_key, Some([7; 32]));
    // Claimed for another donor, or made anonymous: every challenge changes, nothing verifies.
    let mut other = [7; 32];
    other[31] ^= 1;
    for key in [Some(other), Some([0; 32]), None] {
        let mut file = ProofFile::from_bytes(&bytes).unwrap();
        file.claim.prover_key = key;
        assert_stark_rejects(verify_honest_program(&file.to_bytes(), inputs));
    }
    // And an anonymous proof cannot be claimed by a donor.
    let claimed = edited(|f| f.claim.prover_key = Some([7; 32]));
    assert_stark_rejects(verify_honest_program(&claimed, inputs));
}

#[test]
fn different_step_count_is_rejected() {
    for delta in [-2i64, -1, 1, 2, 64] {
        let bytes = edited(|f| f.claim.steps = (f.claim.steps as i64 + delta) as u64);
        assert_stark_rejects(verify_honest_program(&bytes, &honest().inputs));
    }
}

#[test]
fn changed_final_ap_or_segments_are_rejected() {
    let h = honest();
    type Edit = Box<dyn Fn(&mut ProofFile)>;
    let edits: Vec<Edit> = vec![
        Box::new(|f| f.claim.final_ap += 1),
        Box::new(|f| f.claim.final_ap -= 1),
        Box::new(|f| f.claim.output_base += 1),
        Box::new(|f| f.claim.range_check_base += 1),
        Box::new(|f| f.claim.range_check_stop -= 1),
        Box::new(|f| f.claim.range_check_stop += 1),
        Box::new(|f| f.claim.offset_min -= 1),
        Box::new(|f| f.claim.offset_max += 1),
        Box::new(|f| f.claim.log_trace_length += 1),
    ];
    for edit in edits {
        let bytes = edited(edit);
        assert_stark_rejects(verify_honest_program(&bytes, &h.inputs));
    }
}

#[test]
fn weaker_options_are_rejected() {
    let program = guest();
    let inputs = felts(&[1, 2]);
    let execution = execute(&program, &inputs).unwrap();
    let weak = ProofOptions {
        num_queries: 20,
        ..ProofOptions::default()
    };
    let proof = prove(&execution, &weak).unwrap();
    match verify(
        &proof.to_bytes(),
        &program,
        &inputs,
        &SecurityPolicy::conjectured(100),
    ) {
        Err(VerifyError::Stark(stark::VerificationError::InsecureOptions { .. })) => {}
        other => panic!("expected InsecureOptions, got {other:?}"),
    }
    // Claiming stronger options in the header than the STARK proof used is a format error.
    let mut file = ProofFile::from_bytes(&proof.to_bytes()).unwrap();
    file.options = ProofOptions::default();
    assert!(matches!(
        verify(
            &file.to_bytes(),
            &program,
            &inputs,
            &SecurityPolicy::conjectured(100)
        ),
        Err(VerifyError::Format(
            cairo_stark::FormatError::OptionsMismatch
        ))
    ));
}

#[test]
fn single_byte_flips_are_rejected() {
    let h = honest();
    let len = h.bytes.len();
    // The whole header byte by byte, then a spread of positions through the STARK proof.
    let header_len = 200.min(len);
    let positions: Vec<usize> = (0..header_len)
        .chain((header_len..len).step_by((len / 300).max(1)))
        .chain([len - 1])
        .collect();
    for pos in positions {
        for mask in [0x01u8, 0x80] {
            let mut bytes = h.bytes.clone();
            bytes[pos] ^= mask;
            assert!(
                verify_honest_program(&bytes, &h.inputs).is_err(),
                "flip of byte {pos} with mask {mask:#x} verified"
            );
        }
    }
}

#[test]
fn truncated_or_extended_files_are_errors() {
    let h = honest();
    for len in [
        0,
        1,
        7,
        8,
        10,
        17,
        49,
        100,
        h.bytes.len() / 2,
        h.bytes.len() - 1,
    ] {
        assert!(matches!(
            verify_honest_program(&h.bytes[..len], &h.inputs),
            Err(VerifyError::Format(_))
        ));
    }
    let mut longer = h.bytes.clone();
    longer.push(0);
    assert!(matches!(
        verify_honest_program(&longer, &h.inputs),
        Err(VerifyError::Format(_))
    ));
    assert!(ProofFile::from_bytes(&[0xff; 4096]).is_err());
}

/// Proves a tampered trace with the engine's unchecked prover and wraps it as a proof file.
fn forged_proof(tamper: impl FnOnce(&mut stark::TraceTable)) -> Vec<u8> {
    let h = honest();
    let program = program("range_checks");
    let execution = execute(&program, &h.inputs).unwrap();
    let (statement, mut trace) = build_main_trace(&execution, 0).unwrap();
    tamper(&mut trace);
    let claim = statement.claim.clone();
    let air = CairoAir::new(statement);
    let stark_proof = stark::prove_unchecked(&air, trace, &fast_options()).unwrap();
    ProofFile {
        options: fast_options(),
        program_hash: program.hash(),
        inputs: h.inputs.clone(),
        claim,
        stark: stark_proof,
    }
    .to_bytes()
}

#[test]
fn prover_fed_a_tampered_memory_value_cannot_make_a_verifying_proof() {
    let bytes = forged_proof(|t| t.columns[cols::DST][5] += Felt::one());
    assert_stark_rejects(verify_honest_program(&bytes, &honest().inputs));
    // Consistently changing the sorted copy too still breaks the permutation with the public
    // memory (the value is an output).
    let bytes = forged_proof(|t| {
        let out_row = (0..t.length())
            .find(|&r| t.columns[cols::DST][r] == Felt::from(1u64 << 40))
            .unwrap();
        t.columns[cols::DST][out_row] += Felt::one();
    });
    assert_stark_rejects(verify_honest_program(&bytes, &honest().inputs));
}

#[test]
fn prover_fed_a_tampered_flag_cannot_make_a_verifying_proof() {
    let bytes = forged_proof(|t| {
        let f = &mut t.columns[cols::FLAGS + cairo_stark::air::flags::AP_ADD1][3];
        *f = Felt::one() - *f;
    });
    assert_stark_rejects(verify_honest_program(&bytes, &honest().inputs));
}

#[test]
fn prover_fed_a_tampered_register_cannot_make_a_verifying_proof() {
    let bytes = forged_proof(|t| t.columns[cols::AP][7] += Felt::one());
    assert_stark_rejects(verify_honest_program(&bytes, &honest().inputs));
}

#[test]
fn changed_initial_or_final_registers_are_rejected() {
    use stark::Air;
    let h = honest();
    let file = ProofFile::from_bytes(&h.bytes).unwrap();
    let statement =
        cairo_stark::Statement::new(&program("range_checks"), &h.inputs, file.claim.clone())
            .unwrap();
    let steps = file.claim.steps as usize;
    let policy = stark::VerificationPolicy::with_min_security_bits(h.security);
    let honest_air = CairoAir::new(statement.clone());
    assert!(stark::verify(&honest_air, &file.stark, &policy).is_ok());
    // The final pc is no boundary: "done rows sit at __end__" pins it to the statement's end_pc.
    for (column, row) in [
        (cols::PC, 0),
        (cols::AP, 0),
        (cols::FP, 0),
        (cols::AP, steps),
    ] {
        // A verifier that believed in other initial or final registers.
        let air = forge::Weakened::shifting_boundary(CairoAir::new(statement.clone()), column, row);
        assert!(air.boundary_constraints(&[Felt::one(); 4]).len() > 4);
        assert!(
            stark::verify(&air, &file.stark, &policy).is_err(),
            "register column {column} at row {row} is not bound"
        );
    }
}

/// A claimed trace length that does not match the proof is refused by the claim's own checks or
/// by the proof's shape (its FRI layer count), before any trace-sized work: the error says which.
#[test]
fn huge_claimed_trace_is_rejected_cheaply() {
    let honest_log = ProofFile::from_bytes(&honest().bytes)
        .unwrap()
        .claim
        .log_trace_length;
    for log in [honest_log - 1, honest_log + 1, 20, 26, 27, 255] {
        let bytes = edited(|f| f.claim.log_trace_length = log);
        match verify_honest_program(&bytes, &honest().inputs) {
            Err(VerifyError::Claim(_))
            | Err(VerifyError::Stark(stark::VerificationError::MalformedProof(_))) => {}
            other => panic!("log trace length {log}: not refused up front: {other:?}"),
        }
    }
}

#[test]
fn every_short_prefix_is_a_format_error() {
    let h = honest();
    for len in 0..400.min(h.bytes.len()) {
        match ProofFile::from_bytes(&h.bytes[..len]) {
            Err(_) => {}
            Ok(_) => panic!("a {len}-byte prefix decoded"),
        }
    }
    // The encoding round-trips.
    let file = ProofFile::from_bytes(&h.bytes).unwrap();
    assert_eq!(file.to_bytes(), h.bytes);
}
