//! The verifier against structurally malformed proofs: every field of a valid proof is made too
//! long, too short or inconsistent; each must be rejected with an error, never a panic.

#[path = "../tests/common/mod.rs"]
mod common;

use crate::{prove, verify, Felt, ProofOptions, StarkProof, VerificationPolicy};
use common::{fib_trace, FibAir};

type Mutation = (&'static str, fn(&mut StarkProof));

fn mutations() -> Vec<Mutation> {
    vec![
        ("ood_current longer", |p| p.ood_current.push(Felt::one())),
        ("ood_current shorter", |p| {
            p.ood_current.pop();
        }),
        ("ood_next shorter", |p| {
            p.ood_next.pop();
        }),
        ("ood_composition longer", |p| {
            p.ood_composition.push(Felt::one())
        }),
        ("ood value changed", |p| p.ood_next[0] += Felt::one()),
        ("fri root removed", |p| {
            p.fri_roots.pop();
        }),
        ("fri root added", |p| p.fri_roots.push([0; 32])),
        ("fri remainder shorter", |p| {
            p.fri_remainder.pop();
        }),
        ("fri remainder longer", |p| {
            p.fri_remainder.push(Felt::zero())
        }),
        ("fri remainder changed", |p| {
            p.fri_remainder[0] += Felt::one()
        }),
        ("fri opening removed", |p| {
            p.fri_openings.pop();
        }),
        ("fri opening values truncated", |p| {
            p.fri_openings[0].values.truncate(3)
        }),
        ("fri opening siblings cleared", |p| {
            p.fri_openings[0].siblings.clear()
        }),
        ("fri opening value changed", |p| {
            p.fri_openings[1].values[2] += Felt::one()
        }),
        ("main values shorter", |p| {
            p.main_opening.values.pop();
        }),
        ("main values empty", |p| p.main_opening.values.clear()),
        ("main siblings shorter", |p| {
            p.main_opening.siblings.pop();
        }),
        ("main siblings longer", |p| {
            p.main_opening.siblings.push([1; 32])
        }),
        ("main value changed", |p| {
            p.main_opening.values[0] += Felt::one()
        }),
        ("aux commitment removed", |p| p.aux_root = None),
        ("aux opening removed", |p| p.aux_opening = None),
        ("composition values longer", |p| {
            p.composition_opening.values.push(Felt::zero())
        }),
        ("composition root changed", |p| p.composition_root[5] ^= 1),
        ("nonce changed", |p| p.pow_nonce ^= 1 << 40),
        ("more queries claimed", |p| p.options.num_queries += 1),
        ("larger blowup claimed", |p| p.options.blowup_factor *= 2),
        ("other folding factor claimed", |p| {
            p.options.fri_folding_factor = 2
        }),
        ("other hash claimed", |p| {
            p.options.hash = crate::HashFunction::Keccak256
        }),
    ]
}

#[test]
fn structurally_malformed_proofs_are_rejected_without_panicking() {
    let n = 256;
    let (trace, result) = fib_trace(n);
    let air = FibAir::new(n, result, true);
    let proof = prove(&air, trace, &ProofOptions::insecure_for_tests()).unwrap();
    let policy = VerificationPolicy::with_min_security_bits(0);
    verify(&air, &proof, &policy).unwrap();
    assert!(proof.fri_openings.len() >= 2);
    for (name, mutate) in mutations() {
        let mut bad = proof.clone();
        mutate(&mut bad);
        assert!(
            verify(&air, &bad, &policy).is_err(),
            "{name} still verifies"
        );
        // The encoding of a malformed proof must decode to the same malformed proof, which
        // is rejected again: decoding does not repair anything.
        if let Ok(decoded) = StarkProof::from_bytes(&bad.to_bytes()) {
            assert!(verify(&air, &decoded, &policy).is_err(), "{name} (decoded)");
        }
    }
}

#[test]
fn an_auxiliary_commitment_where_the_air_has_none_is_rejected() {
    let n = 64;
    let (trace, result) = fib_trace(n);
    let air = FibAir::new(n, result, false);
    let policy = VerificationPolicy::with_min_security_bits(0);
    let mut proof = prove(&air, trace, &ProofOptions::insecure_for_tests()).unwrap();
    verify(&air, &proof, &policy).unwrap();
    proof.aux_root = Some([0; 32]);
    proof.aux_opening = Some(proof.main_opening.clone());
    assert!(verify(&air, &proof, &policy).is_err());
}

#[test]
fn pseudo_random_bytes_never_panic_the_decoder() {
    let (trace, result) = fib_trace(64);
    let air = FibAir::new(64, result, true);
    let valid = prove(&air, trace, &ProofOptions::insecure_for_tests())
        .unwrap()
        .to_bytes();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..2000 {
        let len = (next() % 4096) as usize;
        // Half the inputs keep a valid prefix so the decoder gets deep before failing.
        let keep = if round % 2 == 0 {
            (next() as usize) % valid.len()
        } else {
            0
        };
        let mut bytes: Vec<u8> = valid[..keep.min(len)].to_vec();
        while bytes.len() < len {
            bytes.push(next() as u8);
        }
        if let Ok(p) = StarkProof::from_bytes(&bytes) {
            let _ = verify(&air, &p, &VerificationPolicy::with_min_security_bits(0));
        }
    }
}

#[test]
fn false_out_of_domain_values_are_caught_by_fri() {
    use crate::prover::{prove_with_fault, Fault};
    use crate::VerificationError;
    let n = 256;
    let (trace, result) = fib_trace(n);
    let air = FibAir::new(n, result, true);
    let proof = prove_with_fault(
        &air,
        trace,
        &ProofOptions::insecure_for_tests(),
        Fault::LieAtOodPoint,
    )
    .unwrap();
    let err = verify(&air, &proof, &VerificationPolicy::with_min_security_bits(0)).unwrap_err();
    assert!(
        matches!(
            err,
            VerificationError::FriLayerMismatch { .. } | VerificationError::FriRemainderMismatch
        ),
        "{err}"
    );
}

#[test]
fn proofs_open_exactly_num_queries_distinct_rows() {
    // 40 queries into a 64-row evaluation domain: drawn with replacement, some would repeat.
    let n = 16;
    let (trace, result) = fib_trace(n);
    let air = FibAir::new(n, result, true);
    let options = ProofOptions {
        num_queries: 40,
        ..ProofOptions::insecure_for_tests()
    };
    let proof = prove(&air, trace, &options).unwrap();
    verify(&air, &proof, &VerificationPolicy::with_min_security_bits(0)).unwrap();
    assert_eq!(proof.main_opening.values.len(), 40 * 5);
    assert_eq!(proof.composition_opening.values.len(), 40 * 2);
}
