//! The verifier: replays the transcript, checks the out-of-domain composition identity, then
//! checks every query against the commitments and the FRI folding chain.
//!
//! It treats the proof as hostile: every length is compared with what the AIR and options imply
//! before anything is indexed, so a malformed proof yields an error, never a panic.

use crate::air::Air;
use crate::constraints::Composition;
use crate::fri;
use crate::hash::Digest;
use crate::merkle::verify_batch;
use crate::options::{HashFunction, ProofOptions};
use crate::proof::{Opening, StarkProof};
use crate::protocol::{draw_ood_point, draw_query_positions, generators, statement_transcript};
use crate::security::{AirShape, SecurityLevel};
use crate::shape::{coset_offset, AirShapeError, ProofShape};
use crate::transcript::Transcript;
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

/// The least conjectured security, in bits, that verification accepts unless its caller says
/// otherwise: the one home of this figure (the server's default program policy and both clients
/// take it from here).
pub const DEFAULT_MIN_CONJECTURED_BITS: u32 = 100;

impl Default for VerificationPolicy {
    /// At least [`DEFAULT_MIN_CONJECTURED_BITS`] conjectured bits, any provable figure and any options otherwise: the
    /// default options give about 60 provable bits, and rejecting them by default would turn
    /// away every proof made without choosing options.
    fn default() -> Self {
        VerificationPolicy {
            min_conjectured_bits: DEFAULT_MIN_CONJECTURED_BITS,
            min_provable_bits: 0,
            required_options: None,
        }
    }
}

impl VerificationPolicy {
    /// Accepts proofs of at least `bits` conjectured bits. Lowering this below the default is a
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
    let (shape, level) = accept_options(air, proof, policy)?;
    check_proof_shape(&shape, proof)?;
    let mut transcript = statement_transcript(air, &proof.options, &shape);
    let constraints = replay_commitments(air, &shape, proof, &mut transcript)?;
    let z = check_out_of_domain(air, &shape, proof, &constraints, &mut transcript)?;
    let deep_coeffs = transcript.draw_felts(2 * shape.width() + shape.composition_parts);
    let betas = fri::read_commitments(&mut transcript, &proof.fri_roots, &proof.fri_remainder);
    let positions = check_pow_and_draw_queries(&shape, proof, &mut transcript)?;
    let rows = open_query_rows(&shape, proof, &positions)?;
    let values = deep_at_queries(&shape, proof, &rows, &positions, &deep_coeffs, &z)?;
    fri::check_queries(&shape, proof, &betas, positions, values)?;
    Ok(level)
}

/// Refuses options the policy does not allow, so that a prover cannot pick weak parameters
/// (few queries, a small blowup) to make forging cheap; returns the shape they imply and their
/// security level.
fn accept_options<A: Air + ?Sized>(
    air: &A,
    proof: &StarkProof,
    policy: &VerificationPolicy,
) -> Result<(ProofShape, SecurityLevel), VerificationError> {
    let options = proof.options;
    if policy.required_options.is_some_and(|o| o != options) {
        return Err(VerificationError::OptionsNotAccepted);
    }
    let shape = ProofShape::new(air, &options)?;
    let level = SecurityLevel::of(&options, &AirShape::of(air));
    policy.check(level)?;
    Ok((shape, level))
}

/// Compares every length in the proof with what the AIR and options imply, before anything is
/// indexed: a malformed proof is an error, never a panic or a read out of bounds.
fn check_proof_shape(shape: &ProofShape, proof: &StarkProof) -> Result<(), VerificationError> {
    use VerificationError::MalformedProof;
    let width = shape.width();
    let num_layers = shape.fri_layer_sizes.len();
    if proof.aux_root.is_some() != (shape.aux_width > 0)
        || proof.aux_opening.is_some() != (shape.aux_width > 0)
    {
        return Err(MalformedProof("auxiliary commitment presence"));
    }
    if proof.ood_current.len() != width || proof.ood_next.len() != width {
        return Err(MalformedProof("out-of-domain trace evaluations"));
    }
    if proof.ood_composition.len() != shape.composition_parts {
        return Err(MalformedProof("out-of-domain composition evaluations"));
    }
    if proof.fri_roots.len() != num_layers || proof.fri_openings.len() != num_layers {
        return Err(MalformedProof("number of FRI layers"));
    }
    if proof.fri_remainder.len() != shape.remainder_len {
        return Err(MalformedProof("FRI remainder length"));
    }
    Ok(())
}

/// The constraints as the transcript fixes them: the challenges the auxiliary trace was built
/// from, and the composition with its random coefficients.
struct Constraints {
    challenges: Vec<Felt>,
    composition: Composition,
}

/// Replays the trace and composition commitments, drawing the challenges and the composition's
/// coefficients after the commitments they bind, as the prover did: the prover could not choose
/// a trace to suit them. A boundary constraint outside the trace is refused.
fn replay_commitments<A: Air + ?Sized>(
    air: &A,
    shape: &ProofShape,
    proof: &StarkProof,
    transcript: &mut Transcript,
) -> Result<Constraints, VerificationError> {
    transcript.absorb(b"main root", &proof.main_root);
    let challenges = transcript.draw_felts(shape.num_challenges);
    if let Some(root) = &proof.aux_root {
        transcript.absorb(b"aux root", root);
    }
    let boundary = air.boundary_constraints(&challenges);
    if let Some(i) = boundary
        .iter()
        .position(|b| b.column >= shape.width() || b.row >= shape.trace_length)
    {
        return Err(VerificationError::BoundaryConstraint(i));
    }
    let coeffs = transcript.draw_felts(shape.num_transition + boundary.len());
    let (g, _) = generators(shape);
    let composition = Composition::new(air, &boundary, &coeffs, &g);
    transcript.absorb(b"composition root", &proof.composition_root);
    Ok(Constraints {
        challenges,
        composition,
    })
}

/// Draws the out-of-domain point `z` and checks the claimed values there satisfy the
/// constraints: a trace that breaks them cannot have a composition consistent with its parts.
/// Returns `z`.
fn check_out_of_domain<A: Air + ?Sized>(
    air: &A,
    shape: &ProofShape,
    proof: &StarkProof,
    constraints: &Constraints,
    transcript: &mut Transcript,
) -> Result<Felt, VerificationError> {
    let z =
        draw_ood_point(transcript, shape, &coset_offset()).ok_or(VerificationError::OodSampling)?;
    // Out-of-domain: H(z) from the claimed trace values must equal Σ_p z^(p·n) · H_p(z).
    let ood_ok = constraints.composition.ood_identity_holds(
        air,
        &z,
        &proof.ood_current,
        &proof.ood_next,
        &proof.ood_composition,
        &constraints.challenges,
    );
    if ood_ok != Some(true) {
        return Err(VerificationError::OodConstraintMismatch);
    }
    transcript.absorb_felts(b"ood current", &proof.ood_current);
    transcript.absorb_felts(b"ood next", &proof.ood_next);
    transcript.absorb_felts(b"ood composition", &proof.ood_composition);
    Ok(z)
}

/// Checks the proof-of-work nonce, which makes every attempt to steer the query positions (by
/// committing anew) cost `2^grinding_bits` hashes, then draws the positions.
fn check_pow_and_draw_queries(
    shape: &ProofShape,
    proof: &StarkProof,
    transcript: &mut Transcript,
) -> Result<Vec<usize>, VerificationError> {
    let options = &proof.options;
    if !transcript.pow_is_valid(proof.pow_nonce, options.grinding_bits) {
        return Err(VerificationError::InvalidProofOfWork);
    }
    transcript.absorb(b"pow nonce", &proof.pow_nonce.to_le_bytes());
    draw_query_positions(transcript, options, shape.lde_size)
        .ok_or(VerificationError::QuerySampling)
}

/// The opened rows at the query positions, row-major: main trace, auxiliary trace (empty without
/// one), composition parts.
struct QueryRows<'a> {
    main: &'a [Felt],
    aux: &'a [Felt],
    parts: &'a [Felt],
}

/// Checks the trace and composition rows at the query positions against their commitments,
/// which ties the values DEEP is computed from to what the prover committed before `z` was drawn.
fn open_query_rows<'a>(
    shape: &ProofShape,
    proof: &'a StarkProof,
    positions: &[usize],
) -> Result<QueryRows<'a>, VerificationError> {
    let hash = proof.options.hash;
    let lde_log = shape.lde_size.trailing_zeros();
    let main = check_rows(
        hash,
        &proof.main_root,
        lde_log,
        positions,
        shape.main_width,
        &proof.main_opening,
        "main trace",
    )?;
    let aux = match (&proof.aux_root, &proof.aux_opening) {
        (Some(root), Some(opening)) => check_rows(
            hash,
            root,
            lde_log,
            positions,
            shape.aux_width,
            opening,
            "auxiliary trace",
        )?,
        _ => &[],
    };
    let parts = check_rows(
        hash,
        &proof.composition_root,
        lde_log,
        positions,
        shape.composition_parts,
        &proof.composition_opening,
        "composition",
    )?;
    Ok(QueryRows { main, aux, parts })
}

/// DEEP composition at each query point, as the prover computed it: the values FRI must find on
/// a function of low degree, which they are only if the out-of-domain claims are true.
fn deep_at_queries(
    shape: &ProofShape,
    proof: &StarkProof,
    rows: &QueryRows<'_>,
    positions: &[usize],
    deep_coeffs: &[Felt],
    z: &Felt,
) -> Result<Vec<Felt>, VerificationError> {
    let (width, parts) = (shape.width(), shape.composition_parts);
    let (g, omega) = generators(shape);
    let gz = g * z;
    let (gamma, rest) = deep_coeffs.split_at(width);
    let (gamma_next, delta) = rest.split_at(width);
    let offset = coset_offset();
    let xs: Vec<Felt> = positions
        .iter()
        .map(|&p| offset * omega.pow(p as u64))
        .collect();
    let mut denominators: Vec<Felt> = xs
        .iter()
        .map(|x| x - z)
        .chain(xs.iter().map(|x| x - gz))
        .collect();
    Felt::inplace_batch_inverse(&mut denominators).map_err(|_| VerificationError::OodSampling)?;
    let q = positions.len();
    let values = (0..q)
        .map(|i| {
            let main = &rows.main[i * shape.main_width..(i + 1) * shape.main_width];
            let aux = rows
                .aux
                .get(i * shape.aux_width..(i + 1) * shape.aux_width)
                .unwrap_or(&[]);
            let part = &rows.parts[i * parts..(i + 1) * parts];
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
    Ok(values)
}

/// Checks an opening of `indices` (sorted, distinct) in a tree of `2^depth` rows of `width`
/// elements, returning the opened values (row-major).
pub(crate) fn check_rows<'a>(
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
