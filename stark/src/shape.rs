//! Everything about a proof's shape that follows from the AIR and the options alone, computed
//! identically by prover and verifier (so the verifier knows every length before it reads).

use crate::fft::MAX_LOG_DOMAIN;
use crate::options::{InvalidOptions, ProofOptions};
use crate::{Air, Felt};
use thiserror::Error;

/// Offset of the evaluation coset. 3 generates the multiplicative group of the Stark-252 field, so
/// it lies in no proper subgroup: the coset `3·⟨ω⟩` is disjoint from every power-of-two subgroup,
/// in particular from the trace domain (where the zerofiers vanish).
pub(crate) fn coset_offset() -> Felt {
    Felt::from(3u64)
}

/// Largest constraint degree accepted; far above what any sensible AIR needs, and it bounds the
/// number of composition parts.
pub const MAX_CONSTRAINT_DEGREE: usize = 16;
/// Largest number of columns (main + auxiliary) and of challenges accepted.
pub const MAX_COLUMNS: usize = 4096;

/// The AIR (together with the options) describes a computation this crate cannot prove.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AirShapeError {
    #[error(transparent)]
    Options(#[from] InvalidOptions),
    #[error("trace length {0} must be a power of two between 2 and 2^{max}", max = MAX_LOG_DOMAIN - 8)]
    TraceLength(usize),
    #[error("the AIR must have between 1 and {MAX_COLUMNS} columns and at most {MAX_COLUMNS} challenges")]
    Width,
    #[error("transition constraint {0}: degree must be 1..={MAX_CONSTRAINT_DEGREE} and end exemptions below the trace length")]
    TransitionConstraint(usize),
    #[error("periodic column {0}: length must be a power of two dividing the trace length")]
    PeriodicColumn(usize),
    #[error("boundary constraint {0}: column or row out of range")]
    BoundaryConstraint(usize),
    #[error(
        "blowup factor {blowup} is below the {parts} composition parts the constraint degrees need"
    )]
    BlowupTooSmall { blowup: usize, parts: usize },
    #[error("trace too short for FRI folding factor {0}")]
    TooShortForFri(usize),
}

#[derive(Clone, Debug)]
pub(crate) struct ProofShape {
    pub trace_length: usize,
    pub blowup: usize,
    pub lde_size: usize,
    pub main_width: usize,
    pub aux_width: usize,
    pub num_challenges: usize,
    pub num_transition: usize,
    pub composition_parts: usize,
    pub folding: usize,
    /// Domain size of each committed FRI layer (the first is `lde_size`).
    pub fri_layer_sizes: Vec<usize>,
    /// Number of coefficients of the remainder polynomial sent in clear.
    pub remainder_len: usize,
    /// Domain size after the last fold.
    pub remainder_domain: usize,
}

impl ProofShape {
    pub(crate) fn new<A: Air + ?Sized>(
        air: &A,
        options: &ProofOptions,
    ) -> Result<Self, AirShapeError> {
        options.validate()?;
        let n = air.trace_length();
        if !n.is_power_of_two() || n < 2 || n.trailing_zeros() > MAX_LOG_DOMAIN - 8 {
            return Err(AirShapeError::TraceLength(n));
        }
        let (main_width, aux_width) = (air.main_width(), air.aux_width());
        let width = main_width.saturating_add(aux_width);
        if main_width == 0 || width > MAX_COLUMNS || air.num_challenges() > MAX_COLUMNS {
            return Err(AirShapeError::Width);
        }
        let mut parts = 1usize;
        for (i, c) in air.transition_constraints().iter().enumerate() {
            if c.degree == 0 || c.degree > MAX_CONSTRAINT_DEGREE || c.end_exemptions >= n {
                return Err(AirShapeError::TransitionConstraint(i));
            }
            // The quotient C(x)·Π(x − g^k) / (x^n − 1) has degree d·(n−1) + e − n; the
            // composition needs P parts of degree < n with P·n above that.
            let quotient_degree = (c.degree * (n - 1) + c.end_exemptions) as i128 - n as i128;
            if quotient_degree >= 0 {
                parts = parts.max(quotient_degree as usize / n + 1);
            }
        }
        for (i, col) in air.periodic_columns().iter().enumerate() {
            let m = col.len();
            if !m.is_power_of_two() || n & (m - 1) != 0 {
                return Err(AirShapeError::PeriodicColumn(i));
            }
        }
        let blowup = options.blowup_factor;
        if blowup < parts {
            return Err(AirShapeError::BlowupTooSmall { blowup, parts });
        }
        let lde_size = n * blowup;

        let k = options.fri_folding_factor;
        let log_k = k.trailing_zeros();
        let folds = fri_fold_count(n, options) as u32;
        let fri_layer_sizes: Vec<usize> = (0..folds).map(|i| lde_size >> (i * log_k)).collect();
        if fri_layer_sizes.last().is_some_and(|&domain| domain < 2 * k) {
            return Err(AirShapeError::TooShortForFri(k));
        }
        Ok(ProofShape {
            trace_length: n,
            blowup,
            lde_size,
            main_width,
            aux_width,
            num_challenges: air.num_challenges(),
            num_transition: air.transition_constraints().len(),
            composition_parts: parts,
            folding: k,
            fri_layer_sizes,
            remainder_len: (n >> (folds * log_k)).max(1),
            remainder_domain: lde_size >> (folds * log_k),
        })
    }

    pub(crate) fn width(&self) -> usize {
        self.main_width + self.aux_width
    }
}

/// Number of FRI folds (= committed FRI layers): the DEEP composition has degree < n and each
/// fold divides that bound by the folding factor, until it fits the remainder.
pub(crate) fn fri_fold_count(trace_length: usize, options: &ProofOptions) -> usize {
    let mut degree_bound = trace_length;
    let mut folds = 0;
    while degree_bound > options.fri_remainder_max_degree + 1 {
        degree_bound = (degree_bound / options.fri_folding_factor).max(1);
        folds += 1;
    }
    folds
}
