//! FRI, the low-degree test on the DEEP composition, shared by prover and verifier.
//!
//! Each committed layer holds a function on a coset of `M` points; leaf `j` of its Merkle tree
//! holds the `k` values at positions `j + t·M/k`, `t < k` (`k` the folding factor), which are the
//! points `x·ζ^t` that fold together into one value of the next layer at `x^k`. The transcript
//! sees, in order: each layer's root followed by its folding challenge `β`, then the remainder's
//! coefficients. At each query the verifier opens the leaf holding the running value in every
//! layer, folds it, and finally checks the last value against the remainder polynomial.
//!
//! `fold` holds the folding formula in both of its forms (whole layer, one leaf), `prover` the
//! commit and opening phases, `verifier` the query checks.

mod fold;
mod prover;
mod verifier;

pub(crate) use prover::{commit, FriCommitment};
pub(crate) use verifier::{check_queries, read_commitments};

use crate::hash::Digest;
use crate::transcript::Transcript;
use crate::Felt;

/// Absorbs one layer's root and draws the challenge `β` that folds that layer: `β` depends on
/// the committed layer, so the prover cannot pick the layer to suit it.
fn absorb_layer_root(transcript: &mut Transcript, root: &Digest) -> Felt {
    transcript.absorb(b"fri layer root", root);
    transcript.draw_felt()
}

/// Absorbs the remainder's coefficients: the proof of work and the query positions drawn after
/// it depend on them.
fn absorb_remainder(transcript: &mut Transcript, remainder: &[Felt]) {
    transcript.absorb_felts(b"fri remainder", remainder);
}

/// The leaves holding the positions (`positions % leaves_count`, sorted and distinct): the
/// leaves a layer of `leaves_count` leaves opens.
fn queried_leaves(positions: &[usize], leaves_count: usize) -> Vec<usize> {
    let mut leaves: Vec<usize> = positions.iter().map(|p| p % leaves_count).collect();
    leaves.sort_unstable();
    leaves.dedup();
    leaves
}

/// The `k` values leaf `j` of a layer of `leaves_count` leaves holds: those at
/// `j + t·leaves_count`, `t < k`.
fn leaf_values(
    layer: &[Felt],
    j: usize,
    leaves_count: usize,
    k: usize,
) -> impl Iterator<Item = &Felt> {
    (0..k).map(move |t| &layer[j + t * leaves_count])
}
