//! The contract between a computation and the generic STARK machinery.
//!
//! A trace is a table of `trace_length()` rows (a power of two). The *main* columns are committed
//! first; then the verifier's challenges (drawn from the transcript after that commitment) let the
//! prover build the *auxiliary* columns (permutation / lookup arguments), which are committed next.
//! Transition constraints look at two consecutive rows; boundary constraints pin one cell.

use crate::Felt;

/// Column-major trace: `columns[c][row]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceTable {
    pub columns: Vec<Vec<Felt>>,
}

impl TraceTable {
    pub fn new(columns: Vec<Vec<Felt>>) -> Self {
        Self { columns }
    }

    pub fn width(&self) -> usize {
        self.columns.len()
    }

    pub fn length(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }
}

/// Two consecutive rows of the trace, main columns first, then auxiliary ones.
/// On the last row `next` is row 0 (the trace domain is cyclic).
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub current: &'a [Felt],
    pub next: &'a [Felt],
}

/// Shape of one transition constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransitionConstraint {
    /// Degree of the constraint as a polynomial in the trace cells (and periodic values).
    pub degree: usize,
    /// How many rows at the end of the trace the constraint does not hold on: 0 for a
    /// constraint that only reads the current row, 1 for a usual two-row transition.
    pub end_exemptions: usize,
}

/// `column` (main columns first, then auxiliary) equals `value` on `row`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundaryConstraint {
    pub column: usize,
    pub row: usize,
    pub value: Felt,
}

/// What the verifier knows about a computation: its shape and its constraints.
pub trait Air: Sync {
    /// Number of rows, a power of two.
    fn trace_length(&self) -> usize;
    fn main_width(&self) -> usize;
    /// Number of auxiliary columns (0 when the AIR needs no challenges).
    fn aux_width(&self) -> usize;
    /// Number of random field elements the auxiliary trace is built from.
    fn num_challenges(&self) -> usize;
    /// One entry per transition constraint, in the order `evaluate_transition` writes them.
    fn transition_constraints(&self) -> &[TransitionConstraint];
    /// Public periodic columns; each length is a power of two dividing `trace_length()`.
    fn periodic_columns(&self) -> Vec<Vec<Felt>> {
        Vec::new()
    }
    /// Evaluates every transition constraint on `frame`; `out[i]` must be zero on an honest trace
    /// for every row the constraint covers. Called by the prover on the whole LDE domain and by
    /// the verifier at the out-of-domain point: one definition for both.
    fn evaluate_transition(
        &self,
        frame: &Frame<'_>,
        periodic: &[Felt],
        challenges: &[Felt],
        out: &mut [Felt],
    );
    /// Boundary constraints; those on auxiliary columns may depend on the challenges.
    fn boundary_constraints(&self, challenges: &[Felt]) -> Vec<BoundaryConstraint>;
    /// Canonical encoding of everything the statement is about (program, inputs, outputs,
    /// step count, ...). Absorbed into the transcript before any commitment.
    fn public_input_bytes(&self) -> Vec<u8>;
}

/// The prover's side: how to build the auxiliary columns from the main trace and the challenges.
pub trait AuxTraceBuilder: Air {
    fn build_aux_trace(&self, main: &TraceTable, challenges: &[Felt]) -> TraceTable;
}
