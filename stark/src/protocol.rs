//! Steps of the protocol that prover and verifier must perform identically.

use crate::fft::{interpolate_coset_columns, root_of_unity};
use crate::options::ProofOptions;
use crate::shape::ProofShape;
use crate::transcript::Transcript;
use crate::{Air, Felt};
use std::collections::BTreeSet;

/// v2: Merkle leaves and nodes hashed in separate domains, query positions drawn without
/// replacement. A v1 proof cannot verify under v2 (nor back).
const DOMAIN_SEPARATOR: &[u8] = b"stark-252/generic-air/v2";

/// Rejection sampling the out-of-domain point gives up after this many draws; each draw fails with
/// probability about 2^-200, so reaching it means the transcript is broken, not unlucky.
const MAX_OOD_ATTEMPTS: usize = 64;

/// A transcript that has absorbed the statement before any commitment: the public input, the
/// trace shape, the constraint shapes and the options. A proof is thereby bound to all of them.
pub(crate) fn statement_transcript<A: Air + ?Sized>(
    air: &A,
    options: &ProofOptions,
    shape: &ProofShape,
) -> Transcript {
    let mut t = Transcript::new(options.hash, DOMAIN_SEPARATOR);
    t.absorb(b"public input", &air.public_input_bytes());
    let mut layout = Vec::new();
    for v in [
        shape.trace_length,
        shape.main_width,
        shape.aux_width,
        shape.num_challenges,
        shape.num_transition,
    ] {
        layout.extend_from_slice(&(v as u64).to_le_bytes());
    }
    for c in air.transition_constraints() {
        layout.extend_from_slice(&(c.degree as u64).to_le_bytes());
        layout.extend_from_slice(&(c.end_exemptions as u64).to_le_bytes());
    }
    t.absorb(b"trace layout", &layout);
    t.absorb(b"options", &options.to_bytes());
    t
}

/// `x^(2^k)` by `k` squarings.
pub(crate) fn pow2k(x: &Felt, k: u32) -> Felt {
    let mut y = *x;
    for _ in 0..k {
        y = y.square();
    }
    y
}

/// Draws `z` outside the trace domain (`z^n ≠ 1`, so zerofiers and boundary denominators are
/// invertible) and outside the evaluation coset (`z^N ≠ offset^N`, so DEEP quotients are).
/// `g·z` is then outside both too, as `g` lies in both subgroups.
pub(crate) fn draw_ood_point(
    transcript: &mut Transcript,
    shape: &ProofShape,
    offset: &Felt,
) -> Option<Felt> {
    let log_n = shape.trace_length.trailing_zeros();
    let log_lde = shape.lde_size.trailing_zeros();
    let offset_pow = pow2k(offset, log_lde);
    for _ in 0..MAX_OOD_ATTEMPTS {
        let z = transcript.draw_felt();
        if pow2k(&z, log_n) != Felt::one() && pow2k(&z, log_lde) != offset_pow {
            return Some(z);
        }
    }
    None
}

/// Draws per wanted query position before giving up. Even when every position of the domain is
/// wanted (coupon collecting, the worst case), some position stays undrawn after `128·N` draws
/// with probability at most `N·e^-128`; reaching it means the transcript is broken.
const QUERY_DRAWS_PER_POSITION: usize = 128;

/// `num_queries` distinct query positions in the evaluation domain (all of it, if it is smaller),
/// sorted. Drawing without replacement is what lets the security figures count `num_queries`
/// independent checks: repeats would check nothing new.
pub(crate) fn draw_query_positions(
    transcript: &mut Transcript,
    options: &ProofOptions,
    lde_size: usize,
) -> Option<Vec<usize>> {
    let wanted = options.num_queries.min(lde_size);
    let mut positions = BTreeSet::new();
    for _ in 0..wanted * QUERY_DRAWS_PER_POSITION {
        if positions.len() == wanted {
            break;
        }
        positions.insert(transcript.draw_index(lde_size));
    }
    (positions.len() == wanted).then(|| positions.into_iter().collect())
}

/// Coefficients `q` of each periodic column: the column's polynomial is `q(x^(n/m))` where `m` is
/// its period, since `q` interpolates the `m` values over the `m`-th roots of unity.
pub(crate) fn periodic_coefficients(columns: Vec<Vec<Felt>>) -> Vec<Vec<Felt>> {
    columns
        .into_iter()
        .map(|c| {
            interpolate_coset_columns(vec![c], &Felt::one())
                .pop()
                .unwrap_or_default()
        })
        .collect()
}

/// The trace-domain generator `g` and the evaluation-domain generator `ω` (`g = ω^blowup`).
pub(crate) fn generators(shape: &ProofShape) -> (Felt, Felt) {
    (
        root_of_unity(shape.trace_length),
        root_of_unity(shape.lde_size),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::HashFunction;

    fn options(num_queries: usize) -> ProofOptions {
        ProofOptions {
            num_queries,
            ..ProofOptions::insecure_for_tests()
        }
    }

    #[test]
    fn query_positions_are_num_queries_distinct_ones_even_when_draws_collide() {
        // 40 draws from 64 positions all differ with probability Π_{i<40} (1 − i/64) < 2^−20.
        for seed in 0u8..16 {
            let label = [seed];
            let mut raw = Transcript::new(HashFunction::Blake3, &label);
            let mut with_replacement: Vec<usize> = (0..40).map(|_| raw.draw_index(64)).collect();
            with_replacement.sort_unstable();
            with_replacement.dedup();
            assert!(with_replacement.len() < 40, "seed {seed} drew no repeat");

            let mut t = Transcript::new(HashFunction::Blake3, &label);
            let positions = draw_query_positions(&mut t, &options(40), 64).unwrap();
            assert_eq!(positions.len(), 40, "seed {seed}");
            assert!(positions.windows(2).all(|w| w[0] < w[1]));
            assert!(positions.iter().all(|&p| p < 64));
        }
    }

    #[test]
    fn a_domain_smaller_than_the_query_count_is_queried_everywhere() {
        let mut t = Transcript::new(HashFunction::Keccak256, b"small");
        let positions = draw_query_positions(&mut t, &options(40), 16).unwrap();
        assert_eq!(positions, (0..16).collect::<Vec<_>>());
    }
}
