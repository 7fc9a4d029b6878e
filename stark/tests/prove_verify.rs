//! End-to-end behaviour of the generic prover and verifier on a small test AIR.

mod common;

use common::{fib_trace, FibAir, AP, D};
use stark::{
    check_constraints, prove, prove_unchecked, prove_with_progress, verify, AirShape,
    ConstraintViolation, Felt, HashFunction, MemoryMode, ProofOptions, ProvingError, SecurityKind,
    SecurityLevel, StarkProof, TraceTable, VerificationError, VerificationPolicy,
};

fn lenient() -> VerificationPolicy {
    VerificationPolicy::with_min_security_bits(0)
}

fn honest(n: usize, with_aux: bool) -> (FibAir, TraceTable) {
    let (trace, result) = fib_trace(n);
    (FibAir::new(n, result, with_aux), trace)
}

#[test]
fn honest_proofs_verify_across_options() {
    let base = ProofOptions::insecure_for_tests();
    let variants = [
        base,
        ProofOptions {
            hash: HashFunction::Keccak256,
            ..base
        },
        ProofOptions {
            fri_folding_factor: 2,
            fri_remainder_max_degree: 0,
            ..base
        },
        ProofOptions {
            fri_folding_factor: 8,
            fri_remainder_max_degree: 3,
            ..base
        },
        ProofOptions {
            fri_folding_factor: 16,
            blowup_factor: 8,
            ..base
        },
        ProofOptions {
            blowup_factor: 2,
            fri_remainder_max_degree: 255,
            ..base
        },
    ];
    for (i, options) in variants.iter().enumerate() {
        for with_aux in [true, false] {
            for n in [8, 64, 256] {
                let (air, trace) = honest(n, with_aux);
                let proof = prove(&air, trace.clone(), options)
                    .unwrap_or_else(|e| panic!("variant {i}, n {n}, aux {with_aux}: {e}"));
                verify(&air, &proof, &lenient())
                    .unwrap_or_else(|e| panic!("variant {i}, n {n}, aux {with_aux}: {e}"));
                // The fast mode keeps the extension instead of recomputing it: same proof.
                let mut fractions = Vec::new();
                let fast =
                    prove_with_progress(&air, trace, options, MemoryMode::Fast, &mut |_, f| {
                        fractions.push(f)
                    })
                    .unwrap_or_else(|e| panic!("variant {i}, n {n}, aux {with_aux}, fast: {e}"));
                assert!(
                    fast.to_bytes() == proof.to_bytes(),
                    "variant {i}, n {n}, aux {with_aux}: the fast mode's proof differs"
                );
                assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
                assert!(fractions.last().is_some_and(|f| (f - 1.0).abs() < 1e-9));
            }
        }
    }
}

#[test]
fn tiny_and_wide_traces_prove_and_verify() {
    let options = ProofOptions::insecure_for_tests();
    // The test AIR's periodic column has period 4, so 2 rows cannot hold it.
    let (air, trace) = honest(2, true);
    assert!(matches!(
        prove(&air, trace, &options),
        Err(ProvingError::Shape(_))
    ));
    for n in [4, 8] {
        for with_aux in [true, false] {
            let (air, trace) = honest(n, with_aux);
            let proof = prove(&air, trace, &options).unwrap();
            verify(&air, &proof, &lenient()).unwrap();
        }
    }
    let (trace, result) = common::fib_trace_wide(128, 7);
    let air = FibAir::new(128, result, true).with_extra_columns(7);
    let proof = prove(&air, trace, &options).unwrap();
    verify(&air, &proof, &lenient()).unwrap();
}

#[test]
fn default_options_proof_verifies_under_default_policy() {
    let (air, trace) = honest(1 << 10, true);
    let options = ProofOptions::default();
    assert!(options.conjectured_security_bits(1 << 10) >= 100);
    let proof = prove(&air, trace, &options).unwrap();
    verify(&air, &proof, &VerificationPolicy::default()).unwrap();
    let bytes = proof.to_bytes();
    let decoded = StarkProof::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, proof);
    verify(&air, &decoded, &VerificationPolicy::default()).unwrap();
}

#[test]
fn proof_for_one_public_input_is_rejected_for_another() {
    let (air, trace) = honest(64, true);
    let proof = prove(&air, trace, &ProofOptions::insecure_for_tests()).unwrap();
    let other = FibAir::new(64, air.result + Felt::one(), true);
    assert!(verify(&other, &proof, &lenient()).is_err());
    let shorter = FibAir::new(32, air.result, true);
    assert!(verify(&shorter, &proof, &lenient()).is_err());
}

#[test]
fn weak_options_are_rejected_unless_the_policy_allows_them() {
    let (air, trace) = honest(64, true);
    let options = ProofOptions::insecure_for_tests();
    let proof = prove(&air, trace, &options).unwrap();
    let bits = options.conjectured_security_bits(64);
    assert_eq!(
        verify(&air, &proof, &VerificationPolicy::default()),
        Err(VerificationError::InsecureOptions {
            kind: SecurityKind::Conjectured,
            bits,
            required: 100
        })
    );
    verify(
        &air,
        &proof,
        &VerificationPolicy::with_min_security_bits(bits),
    )
    .unwrap();
    let exact = VerificationPolicy {
        min_conjectured_bits: 0,
        min_provable_bits: 0,
        required_options: Some(ProofOptions {
            num_queries: 9,
            ..options
        }),
    };
    assert_eq!(
        verify(&air, &proof, &exact),
        Err(VerificationError::OptionsNotAccepted)
    );
}

#[test]
fn a_provable_minimum_rejects_default_proofs_and_accepts_conservative_ones() {
    let n = 256;
    let air = honest(n, true).0;
    let shape = AirShape {
        trace_length: n,
        columns: 6,
        max_constraint_degree: 3,
    };
    assert_eq!(AirShape::of(&air), shape);
    let policy = VerificationPolicy::with_min_provable_bits(80);

    let default = ProofOptions::default();
    let weak = prove(&air, honest(n, true).1, &default).unwrap();
    let level = SecurityLevel::of(&default, &shape);
    assert!(level.provable < 80 && level.conjectured >= 100, "{level:?}");
    assert_eq!(
        verify(&air, &weak, &VerificationPolicy::default()),
        Ok(level)
    );
    assert_eq!(
        verify(&air, &weak, &policy),
        Err(VerificationError::InsecureOptions {
            kind: SecurityKind::Provable,
            bits: level.provable,
            required: 80
        })
    );

    let conservative = ProofOptions::conservative();
    let strong = prove(&air, honest(n, true).1, &conservative).unwrap();
    let level = SecurityLevel::of(&conservative, &shape);
    assert!(level.provable >= 80, "{level:?}");
    assert_eq!(verify(&air, &strong, &policy), Ok(level));
}

/// Tampers one cell, checks the constraint checker sees it, that `prove` refuses, and that a
/// proof forced out of the broken trace does not verify.
fn assert_tampered_trace_rejected(column: usize, row: usize, with_aux: bool) {
    let n = 64;
    let (air, mut trace) = honest(n, with_aux);
    trace.columns[column][row] += Felt::from(7u64);
    let aux = if with_aux {
        use stark::AuxTraceBuilder;
        air.build_aux_trace(&trace, &[Felt::from(11u64), Felt::from(13u64)])
    } else {
        TraceTable::default()
    };
    let challenges: Vec<Felt> = if with_aux {
        vec![Felt::from(11u64), Felt::from(13u64)]
    } else {
        vec![]
    };
    assert!(check_constraints(&air, &trace, &aux, &challenges).is_err());
    let options = ProofOptions::insecure_for_tests();
    assert!(matches!(
        prove(&air, trace.clone(), &options),
        Err(ProvingError::ConstraintsNotSatisfied)
    ));
    let proof = prove_unchecked(&air, trace, &options).unwrap();
    assert!(
        verify(&air, &proof, &lenient()).is_err(),
        "column {column}, row {row}"
    );
}

#[test]
fn tampered_traces_do_not_yield_verifying_proofs() {
    assert_tampered_trace_rejected(D, 5, true); // breaks a degree-2 and the degree-3 constraint
    assert_tampered_trace_rejected(AP, 9, true); // breaks only the cyclic permutation product
    assert_tampered_trace_rejected(0, 0, false); // breaks a boundary and a transition constraint
    assert_tampered_trace_rejected(2, 63, false); // last row: only the wrap-free transition
}

#[test]
fn check_constraints_names_the_failing_constraint_and_row() {
    let (air, mut trace) = honest(32, false);
    let aux = TraceTable::default();
    assert_eq!(check_constraints(&air, &trace, &aux, &[]), Ok(()));
    trace.columns[D][7] += Felt::one();
    assert_eq!(
        check_constraints(&air, &trace, &aux, &[]),
        Err(ConstraintViolation::Transition {
            constraint: 3,
            row: 7
        })
    );
}

#[test]
fn wrong_trace_shapes_are_errors() {
    let (air, mut trace) = honest(64, true);
    trace.columns.pop();
    assert!(matches!(
        prove(&air, trace, &ProofOptions::insecure_for_tests()),
        Err(ProvingError::MainTraceShape { .. })
    ));
}

#[test]
fn byte_flips_and_truncations_never_verify_or_panic() {
    let (air, trace) = honest(256, true);
    let proof = prove(&air, trace, &ProofOptions::insecure_for_tests()).unwrap();
    let bytes = proof.to_bytes();
    verify(&air, &StarkProof::from_bytes(&bytes).unwrap(), &lenient()).unwrap();

    // Every byte of the header and out-of-domain section, then a stride through the rest.
    let stride = (bytes.len() / 600).max(1);
    let positions = (0..bytes.len().min(400)).chain((400..bytes.len()).step_by(stride));
    let mut checked = 0;
    for pos in positions {
        for mask in [0x01u8, 0x80] {
            let mut flipped = bytes.clone();
            flipped[pos] ^= mask;
            if let Ok(p) = StarkProof::from_bytes(&flipped) {
                assert!(
                    verify(&air, &p, &lenient()).is_err(),
                    "flip of bit {mask:#x} at byte {pos} still verifies"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 1000);

    for len in (0..bytes.len()).step_by((bytes.len() / 300).max(1)) {
        assert!(
            StarkProof::from_bytes(&bytes[..len]).is_err(),
            "truncated to {len}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(StarkProof::from_bytes(&longer).is_err());
    assert!(StarkProof::from_bytes(&[]).is_err());
    assert!(StarkProof::from_bytes(&[0xff; 4096]).is_err());
}
