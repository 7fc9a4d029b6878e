//! The verifier: replays the transcript, checks the out-of-domain composition identity, then
//! checks every query against the commitments and the FRI folding chain.
//!
//! It treats the proof as hostile: every length is compared with what the AIR and options imply
//! before anything is indexed, so a malformed proof yields an error, never a panic.

use crate::air::Air;
use crate::constraints::Composition;
use crate::fft::evaluate_poly;
use crate::hash::Digest;
use crate::merkle::verify_batch;
use crate::options::{HashFunction, ProofOptions};
use crate::proof::{Opening, StarkProof};
use crate::protocol::{
    draw_ood_point, draw_query_positions, fold_coset, generators, pow2k, statement_transcript,
};
use crate::security::{AirShape, SecurityLevel};
use crate::shape::{coset_offset, AirShapeError, ProofShape};
use crate::Felt;
use std::fmt;
use thiserror::Error;

/// What a verifier accepts besides a valid proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerificationPolicy {
    /// Proofs whose options give fewer conjectured bits (for the AIR) are rejected.
    pub min_conjectured_bits: u32,
    /// Proofs whose options give fewer provable bits (for the AIR) are rejected.
    pub min_provable_bits: u32,
    /// When set, the proof must use exactly these options.
    pub required_options: Option<ProofOptions>,
}

impl Default for VerificationPolicy {
    /// At least 100 conjectured bits, any provable figure and any options otherwise: the
    /// default options give about 60 provable bits, and rejecting them by default would turn
    /// away every proof made without choosing options.
    fn default() -> Self {
        VerificationPolicy {
            min_conjectured_bits: 100,
            min_provable_bits: 0,
            required_options: None,
        }
    }
}

impl VerificationPolicy {
    /// Accepts proofs of at least `bits` conjectured bits. Lowering this below 100 is a
    /// deliberate choice of the caller (tests, experiments).
    pub fn with_min_security_bits(bits: u32) -> Self {
        VerificationPolicy {
            min_conjectured_bits: bits,
            min_provable_bits: 0,
            required_options: None,
        }
    }

    /// Accepts proofs of at least `bits` provable bits, whatever their conjectured figure (which
    /// is never lower).
    pub fn with_min_provable_bits(bits: u32) -> Self {
        VerificationPolicy {
            min_conjectured_bits: 0,
            min_provable_bits: bits,
            required_options: None,
        }
    }

    fn check(&self, level: SecurityLevel) -> Result<(), VerificationError> {
        for (kind, bits, required) in [
            (
                SecurityKind::Conjectured,
                level.conjectured,
                self.min_conjectured_bits,
            ),
            (
                SecurityKind::Provable,
                level.provable,
                self.min_provable_bits,
            ),
        ] {
            if bits < required {
                return Err(VerificationError::InsecureOptions {
                    kind,
                    bits,
                    required,
                });
            }
        }
        Ok(())
    }
}

/// Which of the two figures of a [`SecurityLevel`] a policy found too low.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecurityKind {
    Conjectured,
    Provable,
}

impl fmt::Display for SecurityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecurityKind::Conjectured => "conjectured",
            SecurityKind::Provable => "provable",
        })
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum VerificationError {
    #[error("proof options give {bits} bits of {kind} security, below the required {required}")]
    InsecureOptions {
        kind: SecurityKind,
        bits: u32,
        required: u32,
    },
    #[error("proof options differ from the required ones")]
    OptionsNotAccepted,
    #[error("the AIR and options cannot be verified: {0}")]
    Shape(#[from] AirShapeError),
    #[error("boundary constraint {0} refers to a column or row outside the trace")]
    BoundaryConstraint(usize),
    #[error("proof does not have the shape the AIR implies: {0}")]
    MalformedProof(&'static str),
    #[error("out-of-domain sampling failed")]
    OodSampling,
    #[error(
        "the composition polynomial does not match the constraints at the out-of-domain point"
    )]
    OodConstraintMismatch,
    #[error("query position sampling failed")]
    QuerySampling,
    #[error("proof-of-work nonce is invalid")]
    InvalidProofOfWork,
    #[error("Merkle opening of the {0} commitment is invalid")]
    MerkleOpening(&'static str),
    #[error("FRI layer {layer} is inconsistent with the previous layer or the DEEP composition")]
    FriLayerMismatch { layer: usize },
    #[error("the FRI remainder does not match the last folded values")]
    FriRemainderMismatch,
}

/// Verifies `proof` for `air`, accepting only options allowed by `policy`; returns the security
/// level the proof's options give for `air`.
pub fn verify<A: Air + ?Sized>(
    air: &A,
    proof: &StarkProof,
    policy: &VerificationPolicy,
) -> Result<SecurityLevel, VerificationError> {
    use VerificationError::*;
    let options = proof.options;
    if policy.required_options.is_some_and(|o| o != options) {
        return Err(OptionsNotAccepted);
    }
    let shape = ProofShape::new(air, &options)?;
    let level = SecurityLevel::of(&options, &AirShape::of(air));
    policy.check(level)?;
    let n = shape.trace_length;
    let width = shape.width();
    let parts = shape.composition_parts;
    let num_layers = shape.fri_layer_sizes.len();
    if proof.aux_root.is_some() != (shape.aux_width > 0)
        || proof.aux_opening.is_some() != (shape.aux_width > 0)
    {
        return Err(MalformedProof("auxiliary commitment presence"));
    }
    if proof.ood_current.len() != width || proof.ood_next.len() != width {
        return Err(MalformedProof("out-of-domain trace evaluations"));
    }
    if proof.ood_composition.len() != parts {
        return Err(MalformedProof("out-of-domain composition evaluations"));
    }
    if proof.fri_roots.len() != num_layers || proof.fri_openings.len() != num_layers {
        return Err(MalformedProof("number of FRI layers"));
    }
    if proof.fri_remainder.len() != shape.remainder_len {
        return Err(MalformedProof("FRI remainder length"));
    }

    let hash = options.hash;
    let offset = coset_offset();
    let (g, omega) = generators(&shape);
    let mut transcript = statement_transcript(air, &options, &shape);
    transcript.absorb(b"main root", &proof.main_root);
    let challenges = transcript.draw_felts(shape.num_challenges);
    if let Some(root) = &proof.aux_root {
        transcript.absorb(b"aux root", root);
    }
    let boundary = air.boundary_constraints(&challenges);
    if let Some(i) = boundary
        .iter()
        .position(|b| b.column >= width || b.row >= n)
    {
        return Err(BoundaryConstraint(i));
    }
    let coeffs = transcript.draw_felts(shape.num_transition + boundary.len());
    let composition = Composition::new(air, &boundary, &coeffs, &g);
    transcript.absorb(b"composition root", &proof.composition_root);

    // Out-of-domain: H(z) from the claimed trace values must equal Σ_p z^(p·n) · H_p(z).
    let z = draw_ood_point(&mut transcript, &shape, &offset).ok_or(OodSampling)?;
    let gz = g * z;
    let ood_ok = composition.ood_identity_holds(
        air,
        &z,
        &proof.ood_current,
        &proof.ood_next,
        &proof.ood_composition,
        &challenges,
    );
    if ood_ok != Some(true) {
        return Err(OodConstraintMismatch);
    }
    transcript.absorb_felts(b"ood current", &proof.ood_current);
    transcript.absorb_felts(b"ood next", &proof.ood_next);
    transcript.absorb_felts(b"ood composition", &proof.ood_composition);

    let deep_coeffs = transcript.draw_felts(2 * width + parts);
    let mut betas = Vec::with_capacity(num_layers);
    for root in &proof.fri_roots {
        transcript.absorb(b"fri layer root", root);
        betas.push(transcript.draw_felt());
    }
    transcript.absorb_felts(b"fri remainder", &proof.fri_remainder);
    if !transcript.pow_is_valid(proof.pow_nonce, options.grinding_bits) {
        return Err(InvalidProofOfWork);
    }
    transcript.absorb(b"pow nonce", &proof.pow_nonce.to_le_bytes());
    let positions =
        draw_query_positions(&mut transcript, &options, shape.lde_size).ok_or(QuerySampling)?;

    // Trace and composition rows at the query positions.
    let lde_log = shape.lde_size.trailing_zeros();
    let main_rows = check_rows(
        hash,
        &proof.main_root,
        lde_log,
        &positions,
        shape.main_width,
        &proof.main_opening,
        "main trace",
    )?;
    let aux_rows = match (&proof.aux_root, &proof.aux_opening) {
        (Some(root), Some(opening)) => check_rows(
            hash,
            root,
            lde_log,
            &positions,
            shape.aux_width,
            opening,
            "auxiliary trace",
        )?,
        _ => &[],
    };
    let parts_rows = check_rows(
        hash,
        &proof.composition_root,
        lde_log,
        &positions,
        parts,
        &proof.composition_opening,
        "composition",
    )?;

    // DEEP composition at each query point, as the prover computed it.
    let (gamma, rest) = deep_coeffs.split_at(width);
    let (gamma_next, delta) = rest.split_at(width);
    let xs: Vec<Felt> = positions
        .iter()
        .map(|&p| offset * omega.pow(p as u64))
        .collect();
    let mut denominators: Vec<Felt> = xs
        .iter()
        .map(|x| x - z)
        .chain(xs.iter().map(|x| x - gz))
        .collect();
    Felt::inplace_batch_inverse(&mut denominators).map_err(|_| OodSampling)?;
    let q = positions.len();
    let mut values: Vec<Felt> = (0..q)
        .map(|i| {
            let main = &main_rows[i * shape.main_width..(i + 1) * shape.main_width];
            let aux = aux_rows
                .get(i * shape.aux_width..(i + 1) * shape.aux_width)
                .unwrap_or(&[]);
            let part = &parts_rows[i * parts..(i + 1) * parts];
            let mut a = Felt::zero();
            let mut b = Felt::zero();
            for (c, v) in main.iter().chain(aux).enumerate() {
                a += gamma[c] * (v - proof.ood_current[c]);
                b += gamma_next[c] * (v - proof.ood_next[c]);
            }
            for (p, v) in part.iter().enumerate() {
                a += delta[p] * (v - proof.ood_composition[p]);
            }
            a * denominators[i] + b * denominators[q + i]
        })
        .collect();

    // FRI: each layer's opened leaf must hold the running value; fold it into the next one.
    let k = shape.folding;
    let mut layer_offset = offset;
    let mut layer_positions = positions.clone();
    for (layer, ((&size, opening), beta)) in shape
        .fri_layer_sizes
        .iter()
        .zip(&proof.fri_openings)
        .zip(&betas)
        .enumerate()
    {
        let leaves_count = size / k;
        let mut leaf_indices: Vec<usize> =
            layer_positions.iter().map(|p| p % leaves_count).collect();
        leaf_indices.sort_unstable();
        leaf_indices.dedup();
        let leaf_values = check_rows(
            hash,
            &proof.fri_roots[layer],
            leaves_count.trailing_zeros(),
            &leaf_indices,
            k,
            opening,
            "FRI layer",
        )?;
        let omega_layer = crate::fft::root_of_unity(size);
        let omega_inv = omega_layer.inv().map_err(|_| OodSampling)?;
        let offset_inv = layer_offset.inv().map_err(|_| OodSampling)?;
        // ζ = ω^(M/k) generates the k points that fold together.
        let zeta_inv = omega_inv.pow(leaves_count as u64);
        for (pos, value) in layer_positions.iter_mut().zip(values.iter_mut()) {
            let j = *pos % leaves_count;
            let slot = *pos / leaves_count;
            let Ok(li) = leaf_indices.binary_search(&j) else {
                return Err(MalformedProof("FRI leaf index"));
            };
            let mut leaf = leaf_values[li * k..(li + 1) * k].to_vec();
            if leaf.get(slot) != Some(value) {
                return Err(FriLayerMismatch { layer });
            }
            let x_inv = offset_inv * omega_inv.pow(j as u64);
            *value = fold_coset(&mut leaf, beta, &x_inv, &zeta_inv);
            *pos = j;
        }
        layer_offset = pow2k(&layer_offset, k.trailing_zeros());
    }

    // The last folded values must lie on the remainder polynomial.
    let omega_last = crate::fft::root_of_unity(shape.remainder_domain);
    for (pos, value) in layer_positions.iter().zip(&values) {
        let x = layer_offset * omega_last.pow(*pos as u64);
        if evaluate_poly(&proof.fri_remainder, &x) != *value {
            return Err(FriRemainderMismatch);
        }
    }
    Ok(level)
}

/// Checks an opening of `indices` (sorted, distinct) in a tree of `2^depth` rows of `width`
/// elements, returning the opened values (row-major).
fn check_rows<'a>(
    hash: HashFunction,
    root: &Digest,
    depth: u32,
    indices: &[usize],
    width: usize,
    opening: &'a Opening,
    what: &'static str,
) -> Result<&'a [Felt], VerificationError> {
    if opening.values.len() != indices.len() * width {
        return Err(VerificationError::MalformedProof(what));
    }
    let mut scratch = Vec::with_capacity(32 * width);
    let leaves: Vec<Digest> = opening
        .values
        .chunks(width.max(1))
        .map(|row| hash.hash_felts(row, &mut scratch))
        .collect();
    if !verify_batch(hash, root, depth, indices, &leaves, &opening.siblings) {
        return Err(VerificationError::MerkleOpening(what));
    }
    Ok(&opening.values)
}
