//! The prover: trace → low-degree extension → commitments → composition → DEEP → FRI.

use crate::air::{AuxTraceBuilder, Frame, TraceTable};
use crate::constraints::Composition;
use crate::fft::{
    evaluate_coset_columns, evaluate_poly, interpolate_coset_columns, root_of_unity, LdePlan,
};
use crate::hash::{push_felt_internal, Digest};
use crate::merkle::MerkleTree;
use crate::options::{HashFunction, ProofOptions};
use crate::proof::{Opening, StarkProof};
use crate::protocol::{
    draw_ood_point, draw_query_positions, generators, periodic_coefficients, pow2k,
    statement_transcript,
};
use crate::shape::{coset_offset, AirShapeError, ProofShape};
use crate::Felt;
use rayon::prelude::*;
use thiserror::Error;

/// Why no proof was produced.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProvingError {
    #[error("the AIR and options cannot be proven: {0}")]
    Shape(#[from] AirShapeError),
    #[error("main trace is {width} columns of {length} rows; the AIR expects {expected_width} of {expected_length}")]
    MainTraceShape {
        width: usize,
        length: usize,
        expected_width: usize,
        expected_length: usize,
    },
    #[error("auxiliary trace is {width} columns of {length} rows; the AIR expects {expected_width} of {expected_length}")]
    AuxTraceShape {
        width: usize,
        length: usize,
        expected_width: usize,
        expected_length: usize,
    },
    #[error("boundary constraint {0} refers to a column or row outside the trace")]
    BoundaryConstraint(usize),
    #[error("the trace does not satisfy the constraints (composition polynomial has too high a degree); use check_constraints to find which")]
    ConstraintsNotSatisfied,
    #[error("out-of-domain sampling failed")]
    OodSampling,
    #[error("query position sampling failed")]
    QuerySampling,
}

/// Rows per unit of parallel work when evaluating over the LDE domain: large enough to amortise
/// one field inversion per batch, small enough to balance two cores on small traces.
const CHUNK: usize = 1024;

/// Proves that `main_trace` (extended by `air`'s auxiliary columns) satisfies `air`.
///
/// Work runs on the current rayon thread pool (wrap the call in `ThreadPool::install` to bound
/// the threads). A trace that breaks a constraint yields
/// [`ProvingError::ConstraintsNotSatisfied`]; [`crate::check_constraints`] then names the
/// constraint and row.
pub fn prove<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    main_trace: TraceTable,
    options: &ProofOptions,
) -> Result<StarkProof, ProvingError> {
    prove_inner(air, main_trace, options, true, Fault::None)
}

/// Like [`prove`] but without the prover's self-checks (composition degree, out-of-domain
/// identity, FRI remainder degree), so it produces a proof even for a trace that breaks the
/// constraints. Exists only so tests can show the verifier rejects such proofs.
#[doc(hidden)]
pub fn prove_unchecked<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    main_trace: TraceTable,
    options: &ProofOptions,
) -> Result<StarkProof, ProvingError> {
    prove_inner(air, main_trace, options, false, Fault::None)
}

/// Deliberate deviations from the protocol, for tests of the verifier's later checks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    /// Claim a wrong trace value at `z`, and adjust the composition claim so the out-of-domain
    /// identity still holds: only DEEP + FRI can catch this.
    LieAtOodPoint,
}

#[cfg(test)]
pub(crate) fn prove_with_fault<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    main_trace: TraceTable,
    options: &ProofOptions,
    fault: Fault,
) -> Result<StarkProof, ProvingError> {
    prove_inner(air, main_trace, options, false, fault)
}

fn prove_inner<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    main_trace: TraceTable,
    options: &ProofOptions,
    self_check: bool,
    fault: Fault,
) -> Result<StarkProof, ProvingError> {
    let shape = ProofShape::new(air, options)?;
    let n = shape.trace_length;
    let lde_size = shape.lde_size;
    if main_trace.width() != shape.main_width || main_trace.columns.iter().any(|c| c.len() != n) {
        return Err(ProvingError::MainTraceShape {
            width: main_trace.width(),
            length: main_trace.length(),
            expected_width: shape.main_width,
            expected_length: n,
        });
    }
    let hash = options.hash;
    let offset = coset_offset();
    let (g, omega) = generators(&shape);
    let mut transcript = statement_transcript(air, options, &shape);

    // 1. Main trace: interpolate over ⟨g⟩, extend to the coset offset·⟨ω⟩, commit its rows.
    let main_lde = low_degree_extension(&main_trace.columns, &offset, lde_size);
    let main_tree = commit_rows(hash, &main_lde);
    transcript.absorb(b"main root", &main_tree.root());

    // 2. Challenges, then the auxiliary trace built from them.
    let challenges = transcript.draw_felts(shape.num_challenges);
    let aux = if shape.aux_width > 0 {
        let aux = air.build_aux_trace(&main_trace, &challenges);
        if aux.width() != shape.aux_width || aux.columns.iter().any(|c| c.len() != n) {
            return Err(ProvingError::AuxTraceShape {
                width: aux.width(),
                length: aux.length(),
                expected_width: shape.aux_width,
                expected_length: n,
            });
        }
        Some(aux)
    } else {
        None
    };
    // The main trace's values live on in its extension; freeing it before extending the
    // auxiliary columns keeps it out of the peak (it is a quarter of the main extension).
    drop(main_trace);
    let (aux_lde, aux_tree) = match aux {
        Some(aux) => {
            let lde = low_degree_extension(&aux.columns, &offset, lde_size);
            drop(aux);
            let tree = commit_rows(hash, &lde);
            transcript.absorb(b"aux root", &tree.root());
            (lde, Some(tree))
        }
        None => (Vec::new(), None),
    };

    // 3. Composition polynomial over the LDE, split into parts of degree < n.
    let boundary = air.boundary_constraints(&challenges);
    if let Some(i) = boundary
        .iter()
        .position(|b| b.column >= shape.width() || b.row >= n)
    {
        return Err(ProvingError::BoundaryConstraint(i));
    }
    let coeffs = transcript.draw_felts(shape.num_transition + boundary.len());
    let composition = Composition::new(air, &boundary, &coeffs, &g);
    let columns: Vec<&[Felt]> = main_lde.iter().chain(&aux_lde).map(Vec::as_slice).collect();
    let periodic_lde = periodic_lde(air.periodic_columns(), &shape, &offset);
    // H has degree < P·n, so its values on a sub-coset of P'·n points (P' = P rounded up to a
    // power of two) determine it: evaluating the constraints there instead of on all
    // blowup·n points saves a factor blowup/P' of the most expensive step.
    let composition_domain = shape.composition_parts.next_power_of_two() * n;
    let h_values = evaluate_composition(
        air,
        &shape,
        &composition,
        &columns,
        &periodic_lde,
        &challenges,
        composition_domain,
    );
    let mut h_coeffs = interpolate_coset_columns(vec![h_values], &offset)
        .pop()
        .unwrap_or_default();
    let parts_len = shape.composition_parts * n;
    if self_check && h_coeffs[parts_len..].iter().any(|c| *c != Felt::zero()) {
        return Err(ProvingError::ConstraintsNotSatisfied);
    }
    h_coeffs.truncate(parts_len);
    let parts: Vec<Vec<Felt>> = h_coeffs.chunks(n).map(<[Felt]>::to_vec).collect();
    drop(h_coeffs);
    let parts_lde = evaluate_coset_columns(&parts, &offset, lde_size);
    let parts_tree = commit_rows(hash, &parts_lde);
    transcript.absorb(b"composition root", &parts_tree.root());

    // 4. Out-of-domain evaluations.
    let z = draw_ood_point(&mut transcript, &shape, &offset).ok_or(ProvingError::OodSampling)?;
    let gz = g * z;
    let mut ood_current = evaluate_at(&columns, shape.blowup, &z, &offset, &g);
    let ood_next = evaluate_at(&columns, shape.blowup, &gz, &offset, &g);
    let mut ood_composition: Vec<Felt> = parts.iter().map(|c| evaluate_poly(c, &z)).collect();
    drop(parts);
    if fault == Fault::LieAtOodPoint {
        ood_current[0] += Felt::one();
        let h = composition
            .ood_value(air, &z, &ood_current, &ood_next, &challenges)
            .ok_or(ProvingError::OodSampling)?;
        let z_n = pow2k(&z, n.trailing_zeros());
        let mut rest = Felt::zero();
        let mut z_pn = z_n;
        for v in &ood_composition[1..] {
            rest += z_pn * v;
            z_pn *= z_n;
        }
        ood_composition[0] = h - rest;
    }
    // The verifier's out-of-domain check, run here so that a trace breaking its constraints
    // is reported instead of producing a proof that cannot verify.
    if self_check
        && composition.ood_identity_holds(
            air,
            &z,
            &ood_current,
            &ood_next,
            &ood_composition,
            &challenges,
        ) != Some(true)
    {
        return Err(ProvingError::ConstraintsNotSatisfied);
    }
    transcript.absorb_felts(b"ood current", &ood_current);
    transcript.absorb_felts(b"ood next", &ood_next);
    transcript.absorb_felts(b"ood composition", &ood_composition);

    // 5. DEEP composition, then FRI on it.
    let deep_coeffs = transcript.draw_felts(2 * shape.width() + shape.composition_parts);
    let deep_values = deep_composition(
        &columns,
        &parts_lde,
        &ood_current,
        &ood_next,
        &ood_composition,
        &deep_coeffs,
        &z,
        &gz,
        &offset,
        &omega,
    );
    let (fri_layers, fri_remainder) = fri_commit(
        &mut transcript,
        &shape,
        hash,
        deep_values,
        offset,
        self_check,
    )?;
    transcript.absorb_felts(b"fri remainder", &fri_remainder);

    // 6. Proof of work, then the queries it makes expensive to steer.
    let pow_nonce = transcript.grind(options.grinding_bits);
    transcript.absorb(b"pow nonce", &pow_nonce.to_le_bytes());
    let positions = draw_query_positions(&mut transcript, options, lde_size)
        .ok_or(ProvingError::QuerySampling)?;

    let main_opening = open_rows(&main_tree, &main_lde, &positions);
    let aux_opening = aux_tree
        .as_ref()
        .map(|t| open_rows(t, &aux_lde, &positions));
    let composition_opening = open_rows(&parts_tree, &parts_lde, &positions);
    let mut fri_roots = Vec::with_capacity(fri_layers.len());
    let mut fri_openings = Vec::with_capacity(fri_layers.len());
    for layer in &fri_layers {
        fri_roots.push(layer.tree.root());
        let leaves_count = layer.values.len() / shape.folding;
        let mut leaves: Vec<usize> = positions.iter().map(|p| p % leaves_count).collect();
        leaves.sort_unstable();
        leaves.dedup();
        let mut values = Vec::with_capacity(leaves.len() * shape.folding);
        for &j in &leaves {
            values.extend((0..shape.folding).map(|t| layer.values[j + t * leaves_count]));
        }
        fri_openings.push(Opening {
            values,
            siblings: layer.tree.prove_batch(&leaves),
        });
    }

    Ok(StarkProof {
        options: *options,
        main_root: main_tree.root(),
        aux_root: aux_tree.as_ref().map(MerkleTree::root),
        composition_root: parts_tree.root(),
        ood_current,
        ood_next,
        ood_composition,
        fri_roots,
        fri_remainder,
        pow_nonce,
        main_opening,
        aux_opening,
        composition_opening,
        fri_openings,
    })
}

/// Interpolates each trace column over `⟨g⟩` and evaluates it on `offset·⟨ω⟩` (`lde_size`
/// points). The coefficients are not kept: out-of-domain values come from the extension itself.
fn low_degree_extension(columns: &[Vec<Felt>], offset: &Felt, lde_size: usize) -> Vec<Vec<Felt>> {
    let n = columns.first().map_or(1, Vec::len);
    LdePlan::new(n, lde_size / n, offset).extend_columns(columns)
}

/// Every column's polynomial at `zeta`, by the barycentric formula over the sub-coset
/// `offset·⟨g⟩` of the extension (points `x_i = offset·g^i` at extension index `i·blowup`), on
/// which each trace polynomial of degree < n is determined:
/// `t(ζ) = (ζ^n − offset^n) / (n·offset^n) · Σ_i t(x_i) · x_i / (ζ − x_i)`.
fn evaluate_at(
    columns: &[&[Felt]],
    blowup: usize,
    zeta: &Felt,
    offset: &Felt,
    g: &Felt,
) -> Vec<Felt> {
    let n = columns.first().map_or(0, |c| c.len()) / blowup;
    let mut weights = vec![Felt::zero(); n];
    weights
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let start = ci * CHUNK;
            let mut x = offset * g.pow(start as u64);
            let xs: Vec<Felt> = (0..chunk.len())
                .map(|_| {
                    let v = x;
                    x *= g;
                    v
                })
                .collect();
            for (w, x) in chunk.iter_mut().zip(&xs) {
                *w = zeta - x;
            }
            batch_inverse(chunk);
            for (w, x) in chunk.iter_mut().zip(&xs) {
                *w *= x;
            }
        });
    let log_n = n.trailing_zeros();
    let offset_n = pow2k(offset, log_n);
    let factor = (pow2k(zeta, log_n) - offset_n)
        * (Felt::from(n as u64) * offset_n)
            .inv()
            .unwrap_or_else(|_| unreachable!("n < p and offset ≠ 0"));
    columns
        .par_iter()
        .map(|col| {
            let sum = weights
                .iter()
                .zip(col.iter().step_by(blowup))
                .fold(Felt::zero(), |acc, (w, v)| &acc + &(w * v));
            sum * factor
        })
        .collect()
}

/// Merkle tree whose leaf `i` is the hash of row `i` across `columns`.
fn commit_rows(hash: HashFunction, columns: &[Vec<Felt>]) -> MerkleTree {
    let rows = columns.first().map_or(0, Vec::len);
    let mut leaves: Vec<Digest> = vec![[0u8; 32]; rows];
    leaves
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let mut scratch = Vec::with_capacity(32 * columns.len());
            for (k, leaf) in chunk.iter_mut().enumerate() {
                let i = ci * CHUNK + k;
                scratch.clear();
                for col in columns {
                    push_felt_internal(&col[i], &mut scratch);
                }
                *leaf = hash.hash_leaf(&scratch);
            }
        });
    MerkleTree::build(hash, leaves)
}

fn open_rows(tree: &MerkleTree, columns: &[Vec<Felt>], positions: &[usize]) -> Opening {
    let mut values = Vec::with_capacity(positions.len() * columns.len());
    for &p in positions {
        values.extend(columns.iter().map(|c| c[p]));
    }
    Opening {
        values,
        siblings: tree.prove_batch(positions),
    }
}

/// Each periodic column evaluated over the LDE domain, stored for one period: a column of
/// period `m` is `q(x^(n/m))`, and `(offset·ω^i)^(n/m)` repeats every `m·blowup` points.
fn periodic_lde(columns: Vec<Vec<Felt>>, shape: &ProofShape, offset: &Felt) -> Vec<Vec<Felt>> {
    let n = shape.trace_length;
    periodic_coefficients(columns)
        .into_iter()
        .map(|q| {
            let m = q.len();
            let ratio_log = (n / m).trailing_zeros();
            evaluate_coset_columns(
                std::slice::from_ref(&q),
                &pow2k(offset, ratio_log),
                m * shape.blowup,
            )
            .pop()
            .unwrap_or_default()
        })
        .collect()
}

/// `offset·ω^start, offset·ω^(start+1), …` (`len` values).
fn domain_points(offset: &Felt, omega: &Felt, start: usize, len: usize) -> Vec<Felt> {
    let mut x = offset * omega.pow(start as u64);
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        out.push(x);
        x *= omega;
    }
    out
}

fn batch_inverse(values: &mut [Felt]) {
    // Callers only invert values that cannot vanish (domain points minus points off the domain).
    Felt::inplace_batch_inverse(values)
        .unwrap_or_else(|_| unreachable!("denominators are non-zero by construction"));
}

/// Values of the composition polynomial on the whole evaluation domain.
fn evaluate_composition<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    shape: &ProofShape,
    composition: &Composition,
    columns: &[&[Felt]],
    periodic_lde: &[Vec<Felt>],
    challenges: &[Felt],
    domain_size: usize,
) -> Vec<Felt> {
    let n = shape.trace_length;
    let lde_size = shape.lde_size;
    // Point k of the sub-coset offset·⟨ω^stride⟩ is extension index stride·k.
    let stride = lde_size / domain_size;
    let sub_omega = root_of_unity(domain_size);
    let blowup = shape.blowup;
    let offset = coset_offset();
    let omega = root_of_unity(lde_size);
    // x^n on the coset takes only `blowup` values: (offset·ω^i)^n = offset^n · (ω^n)^(i mod blowup).
    let log_n = n.trailing_zeros();
    let mut zerofier_inv: Vec<Felt> = {
        let offset_n = pow2k(&offset, log_n);
        let omega_n = pow2k(&omega, log_n);
        let mut x = offset_n;
        (0..blowup)
            .map(|_| {
                let v = x - Felt::one();
                x *= omega_n;
                v
            })
            .collect()
    };
    batch_inverse(&mut zerofier_inv);

    let width = columns.len();
    let groups = composition.boundary_groups.len();
    let num_exemption_groups = composition.exemption_groups.len();
    let mut result = vec![Felt::zero(); domain_size];
    result
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let start = ci * CHUNK;
            let len = chunk.len();
            let xs = domain_points(&offset, &sub_omega, start, len);
            let mut boundary_inv = Vec::with_capacity(groups * len);
            for group in &composition.boundary_groups {
                boundary_inv.extend(xs.iter().map(|x| x - group.point));
            }
            batch_inverse(&mut boundary_inv);

            let mut current = vec![Felt::zero(); width];
            let mut next = vec![Felt::zero(); width];
            let mut periodic = vec![Felt::zero(); periodic_lde.len()];
            let mut out = vec![Felt::zero(); shape.num_transition];
            let mut exemptions = vec![Felt::zero(); num_exemption_groups];
            let mut binv = vec![Felt::zero(); groups];
            for (k, h) in chunk.iter_mut().enumerate() {
                let i = (start + k) * stride;
                // g = ω^blowup, so the next trace row sits `blowup` points further on.
                let i_next = (i + blowup) & (lde_size - 1);
                for (c, col) in columns.iter().enumerate() {
                    current[c] = col[i];
                    next[c] = col[i_next];
                }
                for (p, col) in periodic.iter_mut().zip(periodic_lde) {
                    *p = col[i & (col.len() - 1)];
                }
                let frame = Frame {
                    current: &current,
                    next: &next,
                };
                air.evaluate_transition(&frame, &periodic, challenges, &mut out);
                composition.exemption_values(&xs[k], &mut exemptions);
                for (r, b) in binv.iter_mut().enumerate() {
                    *b = boundary_inv[r * len + k];
                }
                *h = composition.combine(
                    &out,
                    &current,
                    &exemptions,
                    &zerofier_inv[i & (blowup - 1)],
                    &binv,
                );
            }
        });
    result
}

/// DEEP composition over the evaluation domain:
/// `D(x) = Σ_c γ_c (t_c(x) − t_c(z))/(x − z) + γ'_c (t_c(x) − t_c(gz))/(x − gz)
///        + Σ_p δ_p (H_p(x) − H_p(z))/(x − z)`,
/// a polynomial of degree < n − 1 exactly when the claimed evaluations are right.
#[allow(clippy::too_many_arguments)]
fn deep_composition(
    columns: &[&[Felt]],
    parts: &[Vec<Felt>],
    ood_current: &[Felt],
    ood_next: &[Felt],
    ood_composition: &[Felt],
    coeffs: &[Felt],
    z: &Felt,
    gz: &Felt,
    offset: &Felt,
    omega: &Felt,
) -> Vec<Felt> {
    let width = columns.len();
    let (gamma, rest) = coeffs.split_at(width);
    let (gamma_next, delta) = rest.split_at(width);
    let k_current: Felt = gamma
        .iter()
        .zip(ood_current)
        .chain(delta.iter().zip(ood_composition))
        .map(|(a, b)| a * b)
        .fold(Felt::zero(), |acc, v| acc + v);
    let k_next: Felt = gamma_next
        .iter()
        .zip(ood_next)
        .map(|(a, b)| a * b)
        .fold(Felt::zero(), |acc, v| acc + v);
    let lde_size = columns.first().map_or(0, |c| c.len());
    let mut result = vec![Felt::zero(); lde_size];
    result
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let start = ci * CHUNK;
            let len = chunk.len();
            let xs = domain_points(offset, omega, start, len);
            let mut inv: Vec<Felt> = xs
                .iter()
                .map(|x| x - z)
                .chain(xs.iter().map(|x| x - gz))
                .collect();
            batch_inverse(&mut inv);
            for (k, d) in chunk.iter_mut().enumerate() {
                let i = start + k;
                let mut a = -&k_current;
                let mut b = -&k_next;
                for ((col, g1), g2) in columns.iter().zip(gamma).zip(gamma_next) {
                    let v = &col[i];
                    a += g1 * v;
                    b += g2 * v;
                }
                for (part, dl) in parts.iter().zip(delta) {
                    a += dl * &part[i];
                }
                *d = &(&a * &inv[k]) + &(&b * &inv[len + k]);
            }
        });
    result
}

struct FriLayer {
    values: Vec<Felt>,
    tree: MerkleTree,
}

/// FRI commit phase: commit each layer (leaf `j` holds the `k` values at `j + t·M/k`, which fold
/// together), draw its folding challenge, fold; finally interpolate the remainder.
fn fri_commit(
    transcript: &mut crate::transcript::Transcript,
    shape: &ProofShape,
    hash: HashFunction,
    mut values: Vec<Felt>,
    mut offset: Felt,
    self_check: bool,
) -> Result<(Vec<FriLayer>, Vec<Felt>), ProvingError> {
    let k = shape.folding;
    let mut layers = Vec::with_capacity(shape.fri_layer_sizes.len());
    for _ in &shape.fri_layer_sizes {
        let leaves_count = values.len() / k;
        let mut leaves: Vec<Digest> = vec![[0u8; 32]; leaves_count];
        leaves
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(ci, chunk)| {
                let mut scratch = Vec::with_capacity(32 * k);
                for (m, leaf) in chunk.iter_mut().enumerate() {
                    let j = ci * CHUNK + m;
                    scratch.clear();
                    for t in 0..k {
                        push_felt_internal(&values[j + t * leaves_count], &mut scratch);
                    }
                    *leaf = hash.hash_leaf(&scratch);
                }
            });
        let tree = MerkleTree::build(hash, leaves);
        transcript.absorb(b"fri layer root", &tree.root());
        let beta = transcript.draw_felt();
        let folded = fold_layer(&values, &beta, &offset, k);
        layers.push(FriLayer { values, tree });
        values = folded;
        offset = pow2k(&offset, k.trailing_zeros());
    }
    let mut remainder = interpolate_coset_columns(vec![values], &offset)
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
    Ok((layers, remainder))
}

/// Folds a whole layer by `k` through `log2 k` binary folds (see `protocol::fold_coset`).
fn fold_layer(values: &[Felt], beta: &Felt, offset: &Felt, k: usize) -> Vec<Felt> {
    let mut current = fold_binary(values, beta, offset);
    let mut beta = beta.square();
    let mut offset = offset.square();
    let mut remaining = k / 2;
    while remaining > 1 {
        current = fold_binary(&current, &beta, &offset);
        beta = beta.square();
        offset = offset.square();
        remaining /= 2;
    }
    current
}

/// `f'(x_j²) = (f(x_j) + f(−x_j)) + β·(f(x_j) − f(−x_j))/x_j` with `x_j = offset·ω^j`,
/// `−x_j = x_{j + M/2}`.
fn fold_binary(values: &[Felt], beta: &Felt, offset: &Felt) -> Vec<Felt> {
    let m = values.len();
    let half = m / 2;
    let omega_inv = root_of_unity(m)
        .inv()
        .unwrap_or_else(|_| unreachable!("roots of unity are non-zero"));
    let offset_inv = offset
        .inv()
        .unwrap_or_else(|_| unreachable!("coset offsets are non-zero"));
    let mut out = vec![Felt::zero(); half];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let start = ci * CHUNK;
            let mut x_inv = offset_inv * omega_inv.pow(start as u64);
            for (k, o) in chunk.iter_mut().enumerate() {
                let (a, b) = (&values[start + k], &values[start + k + half]);
                let (sum, diff) = (a + b, a - b);
                *o = &sum + &(&(beta * &diff) * &x_inv);
                x_inv *= omega_inv;
            }
        });
    out
}
