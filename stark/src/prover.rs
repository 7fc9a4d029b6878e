//! The prover: trace → low-degree extension → commitments → composition → DEEP → FRI.

use crate::air::{AuxTraceBuilder, Frame, TraceTable};
use crate::constraints::Composition;
use crate::fft::{
    evaluate_at_indices, evaluate_poly, interpolate_coset_columns, root_of_unity, shift_powers,
    FftPlan,
};
use crate::fri::{self, FriCommitment};
use crate::hash::{push_felt_internal, Digest};
use crate::merkle::MerkleTree;
use crate::options::{HashFunction, ProofOptions};
use crate::progress::{Progress, Stage, Tracker};
use crate::proof::{Opening, StarkProof};
use crate::protocol::{
    draw_ood_point, draw_query_positions, generators, periodic_coefficients, pow2k,
    statement_transcript,
};
use crate::shape::{coset_offset, AirShapeError, ProofShape};
use crate::transcript::Transcript;
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
pub(crate) const CHUNK: usize = 1024;

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
    prove_with_progress(air, main_trace, options, MemoryMode::Lean, &mut |_, _| {})
}

/// How the prover trades memory for time. Either way the proof is the same, byte for byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MemoryMode {
    /// Keep only each committed column's coefficients, and evaluate its extension again where
    /// the composition and the queries need it (about 3.3 KB a row for the Cairo AIR at
    /// blowup 4).
    #[default]
    Lean,
    /// Keep each committed column's extension too (`blowup` values a row and column) and the
    /// main trace's values until the auxiliary trace is built: about three times the memory of
    /// [`MemoryMode::Lean`], for fewer transforms.
    Fast,
}

/// Like [`prove`], keeping what `memory` says, and reporting each stage and the fraction of the
/// proof done to `progress`.
pub fn prove_with_progress<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    main_trace: TraceTable,
    options: &ProofOptions,
    memory: MemoryMode,
    progress: Progress<'_>,
) -> Result<StarkProof, ProvingError> {
    prove_inner(
        air,
        main_trace,
        options,
        RunSettings::new(true, memory),
        progress,
    )
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
    prove_inner(
        air,
        main_trace,
        options,
        RunSettings::new(false, MemoryMode::Lean),
        &mut |_, _| {},
    )
}

/// How one proof runs: the self-checks, the memory mode, and any deliberate fault.
#[derive(Clone, Copy)]
struct RunSettings {
    self_check: bool,
    memory: MemoryMode,
    fault: Fault,
}

impl RunSettings {
    fn new(self_check: bool, memory: MemoryMode) -> Self {
        RunSettings {
            self_check,
            memory,
            fault: Fault::None,
        }
    }
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
    let run = RunSettings {
        fault,
        ..RunSettings::new(false, MemoryMode::Lean)
    };
    prove_inner(air, main_trace, options, run, &mut |_, _| {})
}

/// Every prover builds its proof here: one step per stage of the protocol, in transcript order.
fn prove_inner<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    main_trace: TraceTable,
    options: &ProofOptions,
    run: RunSettings,
    progress: Progress<'_>,
) -> Result<StarkProof, ProvingError> {
    let tracker = Tracker::new(progress, run.memory);
    let shape = ProofShape::new(air, options)?;
    check_main_trace_shape(&shape, &main_trace)?;
    let mut prover = Prover {
        air,
        options,
        run,
        plan: FftPlan::new(shape.trace_length),
        transcript: statement_transcript(air, options, &shape),
        tracker,
        shape,
    };
    let traces = prover.commit_traces(main_trace)?;
    let (composition, parts) = prover.commit_composition(&traces)?;
    let ood = prover.evaluate_out_of_domain(&traces, &composition, &parts)?;
    let fri = prover.commit_fri(&traces, &parts, &ood)?;
    let (pow_nonce, positions) = prover.grind_and_draw_queries()?;
    Ok(prover.open_queries(traces, parts, ood, fri, pow_nonce, &positions))
}

/// The main trace must have the AIR's width and length.
fn check_main_trace_shape(shape: &ProofShape, trace: &TraceTable) -> Result<(), ProvingError> {
    let n = shape.trace_length;
    if trace.width() != shape.main_width || trace.columns.iter().any(|c| c.len() != n) {
        return Err(ProvingError::MainTraceShape {
            width: trace.width(),
            length: trace.length(),
            expected_width: shape.main_width,
            expected_length: n,
        });
    }
    Ok(())
}

/// One proof in the making: what every step reads, and the transcript and progress they advance.
struct Prover<'a, 'p, A: ?Sized> {
    air: &'a A,
    options: &'a ProofOptions,
    run: RunSettings,
    shape: ProofShape,
    /// The FFT plan over the trace domain.
    plan: FftPlan,
    transcript: Transcript,
    tracker: Tracker<'p>,
}

/// The committed trace columns and the challenges drawn between the two commitments.
struct Traces {
    main: Committed,
    aux: Option<Committed>,
    challenges: Vec<Felt>,
}

impl Traces {
    /// Every trace column's coefficients, main then auxiliary.
    fn columns(&self) -> Vec<&[Felt]> {
        self.main
            .coeffs
            .iter()
            .chain(self.aux.iter().flat_map(|a| &a.coeffs))
            .map(Vec::as_slice)
            .collect()
    }
}

impl<A: AuxTraceBuilder + ?Sized> Prover<'_, '_, A> {
    /// Steps 1 and 2: the main trace, interpolated in place over `⟨g⟩`, its extension to
    /// `offset·⟨ω⟩` committed coset by coset (and kept only in the fast mode, with the trace's
    /// values); then the challenges, and the auxiliary trace built from them, committed alike.
    fn commit_traces(&mut self, main_trace: TraceTable) -> Result<Traces, ProvingError> {
        let (hash, shape) = (self.options.hash, &self.shape);
        let keep = self.run.memory == MemoryMode::Fast;
        self.tracker.enter(Stage::Commit, 0.0, 0.1);
        let trace_values = (keep && shape.aux_width > 0).then(|| main_trace.columns.clone());
        let mut main = main_trace.columns;
        self.plan.interpolate_columns(&mut main);
        self.tracker.enter(Stage::Commit, 0.1, 0.6);
        let mut main = Committed::new(hash, shape, main, keep, &mut self.tracker);
        self.transcript.absorb(b"main root", &main.tree.root());

        let challenges = self.transcript.draw_felts(shape.num_challenges);
        let aux = if shape.aux_width > 0 {
            self.tracker.enter(Stage::Commit, 0.6, 0.75);
            let aux = aux_trace(
                self.air,
                &self.plan,
                shape,
                &mut main,
                trace_values,
                &challenges,
            )?;
            self.tracker.enter(Stage::Commit, 0.75, 1.0);
            let mut aux = aux.columns;
            self.plan.interpolate_columns(&mut aux);
            let aux = Committed::new(hash, shape, aux, keep, &mut self.tracker);
            self.transcript.absorb(b"aux root", &aux.tree.root());
            Some(aux)
        } else {
            None
        };
        Ok(Traces {
            main,
            aux,
            challenges,
        })
    }

    /// Step 3: the composition polynomial from coefficients drawn after the traces' commitments,
    /// split into parts of degree `< n` and committed.
    fn commit_composition(
        &mut self,
        traces: &Traces,
    ) -> Result<(Composition, Committed), ProvingError> {
        let (n, width) = (self.shape.trace_length, self.shape.width());
        let boundary = self.air.boundary_constraints(&traces.challenges);
        if let Some(i) = boundary
            .iter()
            .position(|b| b.column >= width || b.row >= n)
        {
            return Err(ProvingError::BoundaryConstraint(i));
        }
        let coeffs = self
            .transcript
            .draw_felts(self.shape.num_transition + boundary.len());
        let (g, _) = generators(&self.shape);
        let composition = Composition::new(self.air, &boundary, &coeffs, &g);
        let parts = self.composition_parts(&composition, traces)?;
        let parts = Committed::new(
            self.options.hash,
            &self.shape,
            parts,
            false,
            &mut self.tracker,
        );
        self.transcript
            .absorb(b"composition root", &parts.tree.root());
        Ok((composition, parts))
    }

    /// The composition's parts `H_p` (`H = Σ x^(p·n) H_p`), each `n` coefficients; with the
    /// self-check, a composition of too high a degree (a trace breaking its constraints) is an
    /// error.
    fn composition_parts(
        &mut self,
        composition: &Composition,
        traces: &Traces,
    ) -> Result<Vec<Vec<Felt>>, ProvingError> {
        let n = self.shape.trace_length;
        // H has degree < P·n, so its values on a coset of P'·n points (P' = P rounded up to a
        // power of two) determine it: evaluating the constraints there instead of on all
        // blowup·n points saves a factor blowup/P' of the most expensive step.
        let composition_domain = self.shape.composition_parts.next_power_of_two() * n;
        self.tracker.enter(Stage::Composition, 0.0, 0.85);
        let extension: Option<Vec<&[Felt]>> = std::iter::once(&traces.main)
            .chain(traces.aux.iter())
            .map(Committed::extension)
            .collect::<Option<Vec<_>>>()
            .map(|columns| columns.concat());
        let (air, challenges) = (self.air, &traces.challenges);
        let h_values = match extension {
            Some(extension) => composition_on_extension(
                air,
                composition,
                &extension,
                challenges,
                composition_domain,
                &mut self.tracker,
            ),
            None => evaluate_composition(
                air,
                composition,
                &traces.columns(),
                challenges,
                composition_domain,
                &mut self.tracker,
            ),
        };
        self.tracker.enter(Stage::Composition, 0.85, 1.0);
        let mut h_coeffs = interpolate_coset_columns(vec![h_values], &coset_offset())
            .pop()
            .unwrap_or_default();
        let parts_len = self.shape.composition_parts * n;
        if self.run.self_check && h_coeffs[parts_len..].iter().any(|c| *c != Felt::zero()) {
            return Err(ProvingError::ConstraintsNotSatisfied);
        }
        h_coeffs.truncate(parts_len);
        Ok(h_coeffs.chunks(n).map(<[Felt]>::to_vec).collect())
    }

    /// Step 4: every column at the out-of-domain point `z` and at `g·z`, every composition part
    /// at `z`, checked against the constraints as the verifier will (with the self-check) and
    /// absorbed.
    fn evaluate_out_of_domain(
        &mut self,
        traces: &Traces,
        composition: &Composition,
        parts: &Committed,
    ) -> Result<Ood, ProvingError> {
        self.tracker.enter(Stage::Deep, 0.0, 0.2);
        let offset = coset_offset();
        let z = draw_ood_point(&mut self.transcript, &self.shape, &offset)
            .ok_or(ProvingError::OodSampling)?;
        let (g, _) = generators(&self.shape);
        let gz = g * z;
        let columns = traces.columns();
        let mut ood = Ood {
            current: evaluate_columns_at(&columns, &z),
            next: evaluate_columns_at(&columns, &gz),
            composition: evaluate_columns_at(&parts.column_refs(), &z),
            z,
            gz,
        };
        if self.run.fault == Fault::LieAtOodPoint {
            lie_at_ood_point(self.air, composition, &traces.challenges, &mut ood)?;
        }
        // The verifier's out-of-domain check, run here so that a trace breaking its constraints
        // is reported instead of producing a proof that cannot verify.
        if self.run.self_check
            && composition.ood_identity_holds(
                self.air,
                &z,
                &ood.current,
                &ood.next,
                &ood.composition,
                &traces.challenges,
            ) != Some(true)
        {
            return Err(ProvingError::ConstraintsNotSatisfied);
        }
        self.transcript.absorb_felts(b"ood current", &ood.current);
        self.transcript.absorb_felts(b"ood next", &ood.next);
        self.transcript
            .absorb_felts(b"ood composition", &ood.composition);
        Ok(ood)
    }

    /// Step 5: the DEEP composition from coefficients drawn after the out-of-domain values, then
    /// FRI on it.
    fn commit_fri(
        &mut self,
        traces: &Traces,
        parts: &Committed,
        ood: &Ood,
    ) -> Result<FriCommitment, ProvingError> {
        let shape = &self.shape;
        let deep_coeffs = self
            .transcript
            .draw_felts(2 * shape.width() + shape.composition_parts);
        self.tracker.enter(Stage::Deep, 0.2, 1.0);
        let deep_values = deep_composition(
            &self.plan,
            shape,
            &traces.columns(),
            &parts.column_refs(),
            ood,
            &deep_coeffs,
            &mut self.tracker,
        );
        self.tracker.enter(Stage::Fri, 0.0, 1.0);
        fri::commit(
            &mut self.transcript,
            shape,
            self.options.hash,
            deep_values,
            coset_offset(),
            self.run.self_check,
            &mut self.tracker,
        )
    }

    /// Step 6a: the proof of work, then the query positions it makes expensive to steer.
    fn grind_and_draw_queries(&mut self) -> Result<(u64, Vec<usize>), ProvingError> {
        self.tracker.enter(Stage::Queries, 0.0, 0.5);
        let pow_nonce = self.transcript.grind(self.options.grinding_bits);
        self.transcript
            .absorb(b"pow nonce", &pow_nonce.to_le_bytes());
        let positions =
            draw_query_positions(&mut self.transcript, self.options, self.shape.lde_size)
                .ok_or(ProvingError::QuerySampling)?;
        Ok((pow_nonce, positions))
    }

    /// Step 6b: every commitment opened at the query positions, and the proof.
    fn open_queries(
        mut self,
        traces: Traces,
        parts: Committed,
        ood: Ood,
        fri: FriCommitment,
        pow_nonce: u64,
        positions: &[usize],
    ) -> StarkProof {
        let shape = &self.shape;
        self.tracker.enter(Stage::Queries, 0.5, 1.0);
        let main_opening = traces.main.open(shape, positions);
        let aux_opening = traces.aux.as_ref().map(|a| a.open(shape, positions));
        let composition_opening = parts.open(shape, positions);
        let (fri_roots, fri_openings) = fri.open(positions, shape.folding);
        self.tracker.step(1.0);
        StarkProof {
            options: *self.options,
            main_root: traces.main.tree.root(),
            aux_root: traces.aux.as_ref().map(|a| a.tree.root()),
            composition_root: parts.tree.root(),
            ood_current: ood.current,
            ood_next: ood.next,
            ood_composition: ood.composition,
            fri_roots,
            fri_remainder: fri.remainder,
            pow_nonce,
            main_opening,
            aux_opening,
            composition_opening,
            fri_openings,
        }
    }
}

/// [`Fault::LieAtOodPoint`]: a wrong first trace value at `z`, with the first composition part
/// adjusted so that the out-of-domain identity still holds.
fn lie_at_ood_point<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    composition: &Composition,
    challenges: &[Felt],
    ood: &mut Ood,
) -> Result<(), ProvingError> {
    ood.current[0] += Felt::one();
    let h = composition
        .ood_value(air, &ood.z, &ood.current, &ood.next, challenges)
        .ok_or(ProvingError::OodSampling)?;
    let z_n = pow2k(&ood.z, air.trace_length().trailing_zeros());
    let mut rest = Felt::zero();
    let mut z_pn = z_n;
    for v in &ood.composition[1..] {
        rest += z_pn * v;
        z_pn *= z_n;
    }
    ood.composition[0] = h - rest;
    Ok(())
}

/// The auxiliary trace, built from the main trace's values: `values` when the caller kept
/// them, or else `main`'s coefficients transformed back in place, and afterwards forward again.
fn aux_trace<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    plan: &FftPlan,
    shape: &ProofShape,
    main: &mut Committed,
    values: Option<Vec<Vec<Felt>>>,
    challenges: &[Felt],
) -> Result<TraceTable, ProvingError> {
    let aux = match values {
        Some(values) => air.build_aux_trace(&TraceTable::new(values), challenges),
        None => {
            let mut trace = TraceTable::new(std::mem::take(&mut main.coeffs));
            plan.evaluate_columns(&mut trace.columns);
            let aux = air.build_aux_trace(&trace, challenges);
            plan.interpolate_columns(&mut trace.columns);
            main.coeffs = trace.columns;
            aux
        }
    };
    let n = shape.trace_length;
    if aux.width() != shape.aux_width || aux.columns.iter().any(|c| c.len() != n) {
        return Err(ProvingError::AuxTraceShape {
            width: aux.width(),
            length: aux.length(),
            expected_width: shape.aux_width,
            expected_length: n,
        });
    }
    Ok(aux)
}

/// In the lean mode, the extension is hashed in pieces of `n / 2^COMMIT_SPLIT_LOG` rows, and the
/// composition evaluated in pieces of `n / 2^COMPOSITION_SPLIT_LOG` rows (of which it holds
/// three: the first, the current and the next). Smaller pieces hold less memory but fold every
/// coefficient once more per piece. With these two the hashing holds half a trace's worth of
/// values and the composition a sixth, so neither phase's peak stands above the other's
/// (`bench --single 16 --memory lean` prints each phase's peak: 183 and 186 MB at 2^16, where
/// pieces of `n/8` made the composition's 215 MB).
const COMMIT_SPLIT_LOG: u32 = 1;
const COMPOSITION_SPLIT_LOG: u32 = 4;

/// Levels of each trace commitment's Merkle tree not kept in memory (the leaves and the level
/// above: three quarters of the tree). An opening evaluates the `2^levels` rows of the block
/// around each query instead of one, which the pruned transform does for little more.
const TREE_DROPPED_LEVELS: u32 = 2;

/// The FFT plan for pieces of `n / 2^split_log` points (at least one).
fn piece_plan(n: usize, split_log: u32) -> FftPlan {
    FftPlan::new((n >> split_log).max(1))
}

/// Columns committed through their low-degree extension. The extension is evaluated one coset
/// of `offset·⟨ω⟩` at a time to hash its rows; in the lean mode only the coefficients are kept,
/// and the few rows the queries open are evaluated again from them.
struct Committed {
    /// Each column's coefficients (`n` of them) over the trace domain.
    coeffs: Vec<Vec<Felt>>,
    /// Fast mode only: each column's extension, coset after coset: entry `j·n + r` is the value
    /// at `offset·ω^j·g^r`, the point of leaf `j + blowup·r`.
    extension: Option<Vec<Vec<Felt>>>,
    /// Leaf `i` is the row at `offset·ω^i`; the lowest levels are dropped.
    tree: MerkleTree,
    hash: HashFunction,
}

impl Committed {
    /// Commits to the extension of `coeffs`, keeping the extension too when `keep` is set.
    fn new(
        hash: HashFunction,
        shape: &ProofShape,
        coeffs: Vec<Vec<Felt>>,
        keep: bool,
        tracker: &mut Tracker<'_>,
    ) -> Self {
        // Kept, the extension is stored whole cosets at a time, so pieces are whole cosets.
        let split_log = if keep { 0 } else { COMMIT_SPLIT_LOG };
        let plan = piece_plan(shape.trace_length, split_log);
        let m = plan.size();
        let mut extension: Option<Vec<Vec<Felt>>> = keep.then(|| {
            (0..coeffs.len())
                .map(|_| Vec::with_capacity(shape.lde_size))
                .collect()
        });
        // Piece u is the coset offset·ω^u·⟨ω^pieces⟩: its row r is leaf u + pieces·r.
        let pieces = shape.lde_size / m;
        let omega = root_of_unity(shape.lde_size);
        let refs: Vec<&[Felt]> = coeffs.iter().map(Vec::as_slice).collect();
        let mut leaves: Vec<Digest> = vec![[0u8; 32]; shape.lde_size];
        let mut piece_leaves: Vec<Digest> = vec![[0u8; 32]; m];
        for u in 0..pieces {
            let shift = coset_offset() * omega.pow(u as u64);
            let values = plan.evaluate_on_coset(&refs, &shift);
            hash_rows(hash, &values, &mut piece_leaves);
            if let Some(extension) = extension.as_mut() {
                for (column, piece) in extension.iter_mut().zip(&values) {
                    column.extend_from_slice(piece);
                }
            }
            drop(values);
            for (r, leaf) in piece_leaves.iter().enumerate() {
                leaves[u + pieces * r] = *leaf;
            }
            // One share more than the pieces: the Merkle tree built after them.
            tracker.step((u + 1) as f64 / (pieces + 1) as f64);
        }
        drop(piece_leaves);
        let mut tree = MerkleTree::build(hash, leaves);
        tree.drop_lower_levels(TREE_DROPPED_LEVELS);
        Committed {
            coeffs,
            extension,
            tree,
            hash,
        }
    }

    fn column_refs(&self) -> Vec<&[Felt]> {
        as_slices(&self.coeffs)
    }

    /// The kept extension of each column (fast mode), coset after coset.
    fn extension(&self) -> Option<Vec<&[Felt]>> {
        self.extension.as_deref().map(as_slices)
    }

    /// The committed rows at `positions` (sorted), row after row, with their Merkle proof.
    fn open(&self, shape: &ProofShape, positions: &[usize]) -> Opening {
        // The tree lacks its lowest levels: evaluate every row of each block of leaves holding
        // an opened one, and rebuild the block's nodes from them.
        let block = 1usize << self.tree.dropped_levels();
        let mut blocks: Vec<usize> = positions.iter().map(|p| p / block).collect();
        blocks.dedup();
        let rows: Vec<usize> = blocks
            .iter()
            .flat_map(|b| b * block..(b + 1) * block)
            .collect();
        let values = self.columns_at(shape, &rows);
        let mut digests = vec![[0u8; 32]; rows.len()];
        hash_rows(self.hash, &values, &mut digests);
        let mut opened = Vec::with_capacity(positions.len() * values.len());
        for p in positions {
            let k = rows
                .binary_search(p)
                .unwrap_or_else(|_| unreachable!("every opened row was evaluated"));
            opened.extend(values.iter().map(|column| column[k]));
        }
        Opening {
            values: opened,
            siblings: self.tree.prove_batch_from_leaves(positions, &digests),
        }
    }

    /// Each column at the extension points `offset·ω^p` for `p` in `positions` (sorted):
    /// `result[c][k]` is column `c` at `positions[k]`.
    fn columns_at(&self, shape: &ProofShape, positions: &[usize]) -> Vec<Vec<Felt>> {
        let (n, blowup) = (shape.trace_length, shape.blowup);
        if let Some(extension) = &self.extension {
            return extension
                .iter()
                .map(|column| {
                    positions
                        .iter()
                        .map(|p| column[(p % blowup) * n + p / blowup])
                        .collect()
                })
                .collect();
        }
        let omega = root_of_unity(shape.lde_size);
        let g_powers = shift_powers(&root_of_unity(n), n / 2);
        let width = self.coeffs.len();
        // values[c][k]: column c at positions[k], filled one coset j (positions j + blowup·i)
        // at a time.
        let mut values = vec![vec![Felt::zero(); positions.len()]; width];
        for j in 0..blowup {
            let (slots, rows): (Vec<usize>, Vec<usize>) = positions
                .iter()
                .enumerate()
                .filter(|(_, &p)| p % blowup == j)
                .map(|(k, &p)| (k, p / blowup))
                .unzip();
            if rows.is_empty() {
                continue;
            }
            let powers = shift_powers(&(coset_offset() * omega.pow(j as u64)), n);
            let coset_values: Vec<Vec<Felt>> = self
                .coeffs
                .par_iter()
                .map(|c| evaluate_at_indices(c, &powers, &g_powers, &rows))
                .collect();
            for (column, coset_column) in values.iter_mut().zip(coset_values) {
                for (&k, v) in slots.iter().zip(coset_column) {
                    column[k] = v;
                }
            }
        }
        values
    }
}

/// `leaves[i]` = hash of row `i` across `columns`.
fn hash_rows(hash: HashFunction, columns: &[Vec<Felt>], leaves: &mut [Digest]) {
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
}

/// Every column's polynomial (given by its coefficients) at `x`.
fn evaluate_columns_at(columns: &[&[Felt]], x: &Felt) -> Vec<Felt> {
    columns.par_iter().map(|c| evaluate_poly(c, x)).collect()
}

fn batch_inverse(values: &mut [Felt]) {
    // Callers only invert values that cannot vanish (domain points minus points off the domain).
    Felt::inplace_batch_inverse(values)
        .unwrap_or_else(|_| unreachable!("denominators are non-zero by construction"));
}

/// `shift·g^start, shift·g^(start+1), …` (`len` values).
fn coset_points(shift: &Felt, g: &Felt, start: usize, len: usize) -> Vec<Felt> {
    let mut x = shift * g.pow(start as u64);
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        out.push(x);
        x *= g;
    }
    out
}

/// Values of the composition polynomial on `offset·⟨ω'⟩` (`domain_size` points, natural
/// order), computed one coset at a time. The domain is the union of `P' = domain_size / n`
/// cosets `offset·ω'^j·⟨g⟩`, on each of which the next row of point `x` is `g·x`, and `x^n` is
/// constant. Each is evaluated in `L` pieces `offset·ω'^(j + P'·t)·⟨g^L⟩`, `t < L`: the next row
/// of piece `t`'s row `r` is piece `t + 1`'s row `r`, or for the last piece, the first piece's
/// row `r + 1`.
fn evaluate_composition<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    composition: &Composition,
    columns: &[&[Felt]],
    challenges: &[Felt],
    domain_size: usize,
    tracker: &mut Tracker<'_>,
) -> Vec<Felt> {
    let n = air.trace_length();
    let plan = piece_plan(n, COMPOSITION_SPLIT_LOG);
    let m = plan.size();
    let cosets = domain_size / n;
    let pieces_per_coset = n / m;
    let pieces = domain_size / m;
    let omega = root_of_unity(domain_size);
    let periodic = periodic_coefficients(air.periodic_columns());
    let mut result = vec![Felt::zero(); domain_size];
    let evaluate = |u: usize| {
        let shift = coset_offset() * omega.pow(u as u64);
        (shift, plan.evaluate_on_coset(columns, &shift))
    };
    for j in 0..cosets {
        let first = evaluate(j);
        let mut current: Option<(Felt, Vec<Vec<Felt>>)> = None;
        for t in 0..pieces_per_coset {
            let u = j + cosets * t;
            let next = (t + 1 < pieces_per_coset).then(|| evaluate(u + cosets));
            let (shift, values) = current.as_ref().unwrap_or(&first);
            let rows = Piece {
                values: &as_slices(values),
                next: &as_slices(next.as_ref().map_or(&first.1, |(_, v)| v)),
                next_offset: usize::from(next.is_none()),
                periodic: &periodic_on_piece(&periodic, shift, n, m),
            };
            let piece_h = composition_on_piece(air, composition, &rows, shift, challenges);
            for (r, h) in piece_h.iter().enumerate() {
                result[u + pieces * r] = *h;
            }
            tracker.step((j * pieces_per_coset + t + 1) as f64 / pieces as f64);
            current = next;
        }
    }
    result
}

/// The composition on `offset·⟨ω'⟩` (`domain_size` points, natural order) from the columns'
/// kept extensions (`extension[c][j·n + r]` at `offset·ω^j·g^r`). The domain's coset
/// `offset·ω'^j·⟨g⟩` is the extension's coset `j·blowup/P'`, and on it the next row of row `r` is
/// row `r + 1`: no transform is needed.
fn composition_on_extension<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    composition: &Composition,
    extension: &[&[Felt]],
    challenges: &[Felt],
    domain_size: usize,
    tracker: &mut Tracker<'_>,
) -> Vec<Felt> {
    let n = air.trace_length();
    let cosets = domain_size / n;
    let stride = extension.first().map_or(0, |c| c.len()) / domain_size;
    let omega = root_of_unity(domain_size);
    let periodic = periodic_coefficients(air.periodic_columns());
    let mut result = vec![Felt::zero(); domain_size];
    for j in 0..cosets {
        let rows = j * stride * n..(j * stride + 1) * n;
        let values: Vec<&[Felt]> = extension.iter().map(|c| &c[rows.clone()]).collect();
        let shift = coset_offset() * omega.pow(j as u64);
        let piece = Piece {
            values: &values,
            next: &values,
            next_offset: 1,
            periodic: &periodic_on_piece(&periodic, &shift, n, n),
        };
        let coset_h = composition_on_piece(air, composition, &piece, &shift, challenges);
        for (r, h) in coset_h.iter().enumerate() {
            result[j + cosets * r] = *h;
        }
        tracker.step((j + 1) as f64 / cosets as f64);
    }
    result
}

fn as_slices(columns: &[Vec<Felt>]) -> Vec<&[Felt]> {
    columns.iter().map(Vec::as_slice).collect()
}

/// Each periodic column on the piece `shift·⟨γ⟩` (`γ` of order `m`): a column of period `p` is
/// `q(x^(n/p))`, and `(shift·γ^r)^(n/p)` repeats every `max(m·p/n, 1)` rows.
fn periodic_on_piece(periodic: &[Vec<Felt>], shift: &Felt, n: usize, m: usize) -> Vec<Vec<Felt>> {
    periodic
        .iter()
        .map(|q| {
            let p = q.len();
            let repeat = (m * p / n).max(1);
            FftPlan::new(repeat).evaluate_on_coset(&[q], &pow2k(shift, (n / p).trailing_zeros()))
        })
        .map(|mut v| v.pop().unwrap_or_default())
        .collect()
}

/// One piece's column values, the values of the piece holding its rows' next rows (shifted by
/// `next_offset` rows), and its periodic values.
struct Piece<'a> {
    values: &'a [&'a [Felt]],
    next: &'a [&'a [Felt]],
    next_offset: usize,
    periodic: &'a [Vec<Felt>],
}

/// The composition on the piece `shift·⟨γ⟩`, row by row.
fn composition_on_piece<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    composition: &Composition,
    piece: &Piece<'_>,
    shift: &Felt,
    challenges: &[Felt],
) -> Vec<Felt> {
    let n = air.trace_length();
    let m = piece.values.first().map_or(1, |c| c.len());
    let gamma = root_of_unity(m);
    let zerofier_inv = (pow2k(shift, n.trailing_zeros()) - Felt::one())
        .inv()
        .unwrap_or_else(|_| unreachable!("the evaluation domain misses the trace domain"));
    let mut out = vec![Felt::zero(); m];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let xs = coset_points(shift, &gamma, ci * CHUNK, chunk.len());
            composition_chunk(
                air,
                composition,
                piece,
                ci * CHUNK,
                &xs,
                challenges,
                &zerofier_inv,
                chunk,
            );
        });
    out
}

/// The composition at the points `xs` (rows `start..` of a piece) into `out`.
#[allow(clippy::too_many_arguments)]
fn composition_chunk<A: AuxTraceBuilder + ?Sized>(
    air: &A,
    composition: &Composition,
    piece: &Piece<'_>,
    start: usize,
    xs: &[Felt],
    challenges: &[Felt],
    zerofier_inv: &Felt,
    out: &mut [Felt],
) {
    let width = piece.values.len();
    let m = piece.values.first().map_or(0, |c| c.len());
    let len = xs.len();
    let groups = composition.boundary_groups.len();
    let mut boundary_inv = Vec::with_capacity(groups * len);
    for group in &composition.boundary_groups {
        boundary_inv.extend(xs.iter().map(|x| x - group.point));
    }
    batch_inverse(&mut boundary_inv);
    let mut current = vec![Felt::zero(); width];
    let mut next = vec![Felt::zero(); width];
    let mut periodic = vec![Felt::zero(); piece.periodic.len()];
    let mut constraint_values = vec![Felt::zero(); composition.transition_coeffs.len()];
    let mut exemptions = vec![Felt::zero(); composition.exemption_groups.len()];
    let mut binv = vec![Felt::zero(); groups];
    for (k, h) in out.iter_mut().enumerate() {
        let r = start + k;
        let r_next = (r + piece.next_offset) & (m - 1);
        for (c, (col, next_col)) in piece.values.iter().zip(piece.next).enumerate() {
            current[c] = col[r];
            next[c] = next_col[r_next];
        }
        for (p, col) in periodic.iter_mut().zip(piece.periodic) {
            *p = col[r & (col.len() - 1)];
        }
        let frame = Frame {
            current: &current,
            next: &next,
        };
        air.evaluate_transition(&frame, &periodic, challenges, &mut constraint_values);
        composition.exemption_values(&xs[k], &mut exemptions);
        for (g, b) in binv.iter_mut().enumerate() {
            *b = boundary_inv[g * len + k];
        }
        *h = composition.combine(
            &constraint_values,
            &current,
            &exemptions,
            zerofier_inv,
            &binv,
        );
    }
}

/// The out-of-domain values and their points.
struct Ood {
    /// Every trace column at `z`.
    current: Vec<Felt>,
    /// Every trace column at `g·z`.
    next: Vec<Felt>,
    /// Every composition part at `z`.
    composition: Vec<Felt>,
    z: Felt,
    gz: Felt,
}

/// DEEP composition over the evaluation domain:
/// `D(x) = Σ_c γ_c (t_c(x) − t_c(z))/(x − z) + γ'_c (t_c(x) − t_c(gz))/(x − gz)
///        + Σ_p δ_p (H_p(x) − H_p(z))/(x − z)`,
/// a polynomial of degree < n − 1 exactly when the claimed evaluations are right.
///
/// By linearity `D(x) = (A(x) − a)/(x − z) + (B(x) − b)/(x − gz)` with
/// `A = Σ γ_c t_c + Σ δ_p H_p`, `B = Σ γ'_c t_c` and `a`, `b` the same sums of the claimed
/// values: two polynomials to extend instead of every column.
fn deep_composition(
    plan: &FftPlan,
    shape: &ProofShape,
    columns: &[&[Felt]],
    parts: &[&[Felt]],
    ood: &Ood,
    coeffs: &[Felt],
    tracker: &mut Tracker<'_>,
) -> Vec<Felt> {
    let (n, blowup) = (shape.trace_length, shape.blowup);
    let width = columns.len();
    let (gamma, rest) = coeffs.split_at(width);
    let (gamma_next, delta) = rest.split_at(width);
    let dot = |w: &[Felt], v: &[Felt]| -> Felt {
        w.iter()
            .zip(v)
            .map(|(a, b)| a * b)
            .fold(Felt::zero(), |acc, v| acc + v)
    };
    let a = dot(gamma, &ood.current) + dot(delta, &ood.composition);
    let b = dot(gamma_next, &ood.next);
    let mut poly_a = vec![Felt::zero(); n];
    let mut poly_b = vec![Felt::zero(); n];
    poly_a
        .par_chunks_mut(CHUNK)
        .zip(poly_b.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(ci, (ca, cb))| {
            let start = ci * CHUNK;
            for (k, (pa, pb)) in ca.iter_mut().zip(cb.iter_mut()).enumerate() {
                let i = start + k;
                let (mut sa, mut sb) = (Felt::zero(), Felt::zero());
                for ((col, g1), g2) in columns.iter().zip(gamma).zip(gamma_next) {
                    let v = &col[i];
                    sa += g1 * v;
                    sb += g2 * v;
                }
                for (part, dl) in parts.iter().zip(delta) {
                    sa += dl * &part[i];
                }
                *pa = sa;
                *pb = sb;
            }
        });
    let omega = root_of_unity(shape.lde_size);
    let g = root_of_unity(n);
    let mut result = vec![Felt::zero(); shape.lde_size];
    for j in 0..blowup {
        let shift = coset_offset() * omega.pow(j as u64);
        let values = plan.evaluate_on_coset(&[&poly_a, &poly_b], &shift);
        let mut coset_d = vec![Felt::zero(); n];
        coset_d
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(ci, chunk)| {
                let start = ci * CHUNK;
                let len = chunk.len();
                let xs = coset_points(&shift, &g, start, len);
                let mut inv: Vec<Felt> = xs
                    .iter()
                    .map(|x| x - ood.z)
                    .chain(xs.iter().map(|x| x - ood.gz))
                    .collect();
                batch_inverse(&mut inv);
                for (k, d) in chunk.iter_mut().enumerate() {
                    let i = start + k;
                    let da = &values[0][i] - &a;
                    let db = &values[1][i] - &b;
                    *d = &(&da * &inv[k]) + &(&db * &inv[len + k]);
                }
            });
        for (i, d) in coset_d.iter().enumerate() {
            result[j + blowup * i] = *d;
        }
        tracker.step((j + 1) as f64 / blowup as f64);
    }
    result
}
