//! The verifier's side of FRI: replaying the layer commitments, then following each query
//! through the folds down to the remainder.

use super::fold::fold_coset;
use super::{absorb_layer_root, absorb_remainder, queried_leaves};
use crate::fft::{evaluate_poly, root_of_unity};
use crate::hash::Digest;
use crate::options::HashFunction;
use crate::proof::{Opening, StarkProof};
use crate::protocol::pow2k;
use crate::shape::{coset_offset, ProofShape};
use crate::transcript::Transcript;
use crate::verifier::{check_rows, VerificationError};
use crate::Felt;

/// Absorbs the layer roots (drawing each layer's folding challenge) and then the remainder, in
/// the prover's order; returns the challenges.
pub(crate) fn read_commitments(
    transcript: &mut Transcript,
    roots: &[Digest],
    remainder: &[Felt],
) -> Vec<Felt> {
    let betas = roots
        .iter()
        .map(|root| absorb_layer_root(transcript, root))
        .collect();
    absorb_remainder(transcript, remainder);
    betas
}

/// Where each query stands in the current layer (on the coset `offset·⟨ω⟩`): its position in
/// the layer's domain and the value the layer's function must take there.
struct Queries {
    positions: Vec<usize>,
    values: Vec<Felt>,
    offset: Felt,
}

/// One committed layer as the proof presents it, with its folding challenge.
struct Layer<'a> {
    index: usize,
    size: usize,
    root: &'a Digest,
    opening: &'a Opening,
    beta: &'a Felt,
}

/// Follows each query (at `positions` of the evaluation domain, where the DEEP composition is
/// `values`) through every layer and into the remainder: this is what makes a DEEP composition
/// of high degree, and so any false out-of-domain claim, fail with high probability. The proof's
/// FRI lengths must have been checked against `shape`.
pub(crate) fn check_queries(
    shape: &ProofShape,
    proof: &StarkProof,
    betas: &[Felt],
    positions: Vec<usize>,
    values: Vec<Felt>,
) -> Result<(), VerificationError> {
    let mut queries = Queries {
        positions,
        values,
        offset: coset_offset(),
    };
    for (index, ((&size, opening), beta)) in shape
        .fri_layer_sizes
        .iter()
        .zip(&proof.fri_openings)
        .zip(betas)
        .enumerate()
    {
        let layer = Layer {
            index,
            size,
            root: &proof.fri_roots[index],
            opening,
            beta,
        };
        check_layer(proof.options.hash, shape.folding, &layer, &mut queries)?;
    }
    check_remainder(shape, &proof.fri_remainder, &queries)
}

/// Checks that each query's opened leaf holds its running value, which stops a prover from
/// committing a layer that is not the fold of the one before (or of the DEEP composition), then
/// folds the leaf into the query's value in the next layer.
fn check_layer(
    hash: HashFunction,
    k: usize,
    layer: &Layer<'_>,
    queries: &mut Queries,
) -> Result<(), VerificationError> {
    use VerificationError::*;
    let leaves_count = layer.size / k;
    let leaf_indices = queried_leaves(&queries.positions, leaves_count);
    let leaf_values = check_rows(
        hash,
        layer.root,
        leaves_count.trailing_zeros(),
        &leaf_indices,
        k,
        layer.opening,
        "FRI layer",
    )?;
    let omega_inv = root_of_unity(layer.size).inv().map_err(|_| OodSampling)?;
    let offset_inv = queries.offset.inv().map_err(|_| OodSampling)?;
    // ζ = ω^(M/k) generates the k points that fold together.
    let zeta_inv = omega_inv.pow(leaves_count as u64);
    for (pos, value) in queries.positions.iter_mut().zip(queries.values.iter_mut()) {
        let j = *pos % leaves_count;
        let slot = *pos / leaves_count;
        let Ok(li) = leaf_indices.binary_search(&j) else {
            return Err(MalformedProof("FRI leaf index"));
        };
        let mut leaf = leaf_values[li * k..(li + 1) * k].to_vec();
        if leaf.get(slot) != Some(value) {
            return Err(FriLayerMismatch { layer: layer.index });
        }
        let x_inv = offset_inv * omega_inv.pow(j as u64);
        *value = fold_coset(&mut leaf, layer.beta, &x_inv, &zeta_inv);
        *pos = j;
    }
    queries.offset = pow2k(&queries.offset, k.trailing_zeros());
    Ok(())
}

/// The last folded values must lie on the remainder polynomial, whose degree the proof's length
/// bounds: this stops a last layer of high degree, which no fold is left to catch.
fn check_remainder(
    shape: &ProofShape,
    remainder: &[Felt],
    queries: &Queries,
) -> Result<(), VerificationError> {
    let omega_last = root_of_unity(shape.remainder_domain);
    for (pos, value) in queries.positions.iter().zip(&queries.values) {
        let x = queries.offset * omega_last.pow(*pos as u64);
        if evaluate_poly(remainder, &x) != *value {
            return Err(VerificationError::FriRemainderMismatch);
        }
    }
    Ok(())
}
