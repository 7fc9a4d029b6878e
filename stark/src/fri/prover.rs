//! The prover's side of FRI: committing the layers, and opening them at the query positions.

use super::fold::fold_layer;
use super::{absorb_layer_root, absorb_remainder, leaf_values, queried_leaves};
use crate::fft::interpolate_coset_columns;
use crate::hash::{push_felt_internal, Digest};
use crate::merkle::MerkleTree;
use crate::options::HashFunction;
use crate::progress::Tracker;
use crate::proof::Opening;
use crate::protocol::pow2k;
use crate::prover::{ProvingError, CHUNK};
use crate::shape::ProofShape;
use crate::transcript::Transcript;
use crate::Felt;
use rayon::prelude::*;

/// One committed layer: its values on its coset, and the tree over its leaves.
struct FriLayer {
    values: Vec<Felt>,
    tree: MerkleTree,
}

/// The committed layers, and the coefficients of the last folded function.
pub(crate) struct FriCommitment {
    layers: Vec<FriLayer>,
    pub(crate) remainder: Vec<Felt>,
}

/// FRI commit phase on `values` (on `offset·⟨ω⟩`): commit each layer, draw its folding
/// challenge, fold; finally interpolate the remainder and absorb it. With `self_check`, a
/// remainder of too high a degree (a DEEP composition that is not low-degree) is an error
/// instead of a proof that cannot verify.
pub(crate) fn commit(
    transcript: &mut Transcript,
    shape: &ProofShape,
    hash: HashFunction,
    mut values: Vec<Felt>,
    mut offset: Felt,
    self_check: bool,
    tracker: &mut Tracker<'_>,
) -> Result<FriCommitment, ProvingError> {
    let k = shape.folding;
    let layer_count = shape.fri_layer_sizes.len();
    let mut layers = Vec::with_capacity(layer_count);
    for layer in 0..layer_count {
        let tree = commit_layer(hash, &values, k);
        let beta = absorb_layer_root(transcript, &tree.root());
        let folded = fold_layer(&values, &beta, &offset, k);
        layers.push(FriLayer { values, tree });
        values = folded;
        offset = pow2k(&offset, k.trailing_zeros());
        // Each layer is a quarter of the previous one's work, or less.
        tracker.step(1.0 - 0.25f64.powi(layer as i32 + 1));
    }
    let remainder = remainder(shape, values, &offset, self_check)?;
    absorb_remainder(transcript, &remainder);
    Ok(FriCommitment { layers, remainder })
}

/// The Merkle tree over a layer's leaves, each the hash of the `k` values that fold together.
fn commit_layer(hash: HashFunction, values: &[Felt], k: usize) -> MerkleTree {
    let leaves_count = values.len() / k;
    let mut leaves: Vec<Digest> = vec![[0u8; 32]; leaves_count];
    leaves
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let mut scratch = Vec::with_capacity(32 * k);
            for (m, leaf) in chunk.iter_mut().enumerate() {
                scratch.clear();
                for v in leaf_values(values, ci * CHUNK + m, leaves_count, k) {
                    push_felt_internal(v, &mut scratch);
                }
                *leaf = hash.hash_leaf(&scratch);
            }
        });
    MerkleTree::build(hash, leaves)
}

/// The coefficients of the last folded function (on `offset·⟨ω⟩`), `shape.remainder_len` of
/// them; with `self_check`, any higher non-zero coefficient is an error.
fn remainder(
    shape: &ProofShape,
    values: Vec<Felt>,
    offset: &Felt,
    self_check: bool,
) -> Result<Vec<Felt>, ProvingError> {
    let mut remainder = interpolate_coset_columns(vec![values], offset)
        .pop()
        .unwrap_or_default();
    if self_check
        && remainder[shape.remainder_len..]
            .iter()
            .any(|c| *c != Felt::zero())
    {
        return Err(ProvingError::ConstraintsNotSatisfied);
    }
    remainder.truncate(shape.remainder_len);
    Ok(remainder)
}

impl FriCommitment {
    /// Each layer's root and its opening at the leaves holding `positions` (of the first
    /// layer's domain).
    pub(crate) fn open(&self, positions: &[usize], k: usize) -> (Vec<Digest>, Vec<Opening>) {
        self.layers
            .iter()
            .map(|layer| {
                let leaves_count = layer.values.len() / k;
                let leaves = queried_leaves(positions, leaves_count);
                let mut values = Vec::with_capacity(leaves.len() * k);
                for &j in &leaves {
                    values.extend(leaf_values(&layer.values, j, leaves_count, k));
                }
                let opening = Opening {
                    values,
                    siblings: layer.tree.prove_batch(&leaves),
                };
                (layer.tree.root(), opening)
            })
            .unzip()
    }
}
