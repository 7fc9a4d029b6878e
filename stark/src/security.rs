//! The two security figures of a parameter set for a computation: the conjectured one, which
//! rests on a conjecture about Reed–Solomon codes beyond the Johnson bound and is what STARK
//! deployments usually quote, and a provable one, which follows from published theorems alone.
//!
//! The provable figure is a soundness bound of DEEP-ALI with batched FRI in the list-decoding
//! regime (agreement just above the Johnson bound `√ρ`), assembled from:
//! - ethSTARK (StarkWare, <https://eprint.iacr.org/2021/582>): the protocol this crate follows,
//!   its proven (list-decoding) soundness, and grinding;
//! - Haböck, "A summary on the FRI low degree test" (<https://eprint.iacr.org/2022/1216>):
//!   the soundness of batched FRI (section 3.4, from Ben-Sasson, Carmon, Ishai, Kopparty, Saraf,
//!   "Proximity gaps for Reed–Solomon codes", Theorem 3.8) and of DEEP-ALI for an AIR (section
//!   5.2), which slightly improves ethSTARK's bound.
//!
//! See [`SecurityLevel::of`] for the formula and how each term maps onto this crate's protocol.

use crate::air::Air;
use crate::options::{ProofOptions, FIELD_BITS, HASH_COLLISION_BITS};
use crate::shape::fri_fold_count;

/// Bits of security of one parameter set for one computation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SecurityLevel {
    /// Under the ethSTARK conjecture; see [`ProofOptions::conjectured_security_bits`].
    pub conjectured: u32,
    /// Implied by proven theorems; see [`SecurityLevel::of`]. Never above `conjectured`.
    pub provable: u32,
}

/// What the provable bound needs to know about a computation besides the options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AirShape {
    /// Rows of the trace, `n`.
    pub trace_length: usize,
    /// Committed trace columns, main plus auxiliary, `w`.
    pub columns: usize,
    /// Largest transition-constraint degree in the trace cells (and periodic values), `d`.
    pub max_constraint_degree: usize,
}

impl AirShape {
    pub fn of<A: Air + ?Sized>(air: &A) -> Self {
        AirShape {
            trace_length: air.trace_length(),
            columns: air.main_width() + air.aux_width(),
            // Boundary constraints are linear, so an AIR has degree at least 1.
            max_constraint_degree: air
                .transition_constraints()
                .iter()
                .map(|c| c.degree)
                .max()
                .unwrap_or(1)
                .max(1),
        }
    }
}

/// Johnson parameters tried: `3·2^j` for `j ≤ JOHNSON_STEPS`. Every `m ≥ 3` gives a valid bound,
/// so the grid only decides how close to the best one the figure gets (within a fraction of a
/// bit at the sizes we use).
const JOHNSON_STEPS: i32 = 20;

impl SecurityLevel {
    /// Both figures for proofs made with `options` of a computation of shape `air`.
    ///
    /// The provable figure is `min(128, ⌊max_m −log2 ε(m)⌋)` (at least 0), the 128 bits being the
    /// hash's collision resistance, where `ε(m)` bounds the probability that a false statement
    /// is accepted, for any Johnson parameter `m ≥ 3`:
    ///
    /// ```text
    /// ε(m) = ε_ALI + ε_DEEP + ε_batch + ε_fold + ε_query
    ///   ε_ALI   = L⁺ / |F|
    ///   ε_DEEP  = L⁺ · (d + 1)(n + 2) / |F|
    ///   ε_batch = (B − ½) · (m + ½)⁷ / (2 ρ^(3/2)) · N² / |F|
    ///   ε_fold  = (2m + 1) · (N + 1) · r·k / |F|
    ///   ε_query = α⁺^s · 2^(−g)
    /// with ρ = n/N, ρ⁺ = (n + 2)/N, α⁺ = (1 + 1/(2m)) · √ρ⁺, L⁺ = (m + ½) / √ρ⁺, B = 2w + d.
    /// ```
    ///
    /// Terms: `n` trace rows, `N = blowup · n` evaluation-domain size, `w` committed columns,
    /// `d` largest constraint degree, `s` queries, `g` grinding bits, `k` FRI folding factor,
    /// `r` number of FRI folds, and `|F| = 2^251`: every challenge is drawn uniformly from
    /// `[0, 2^251)`, so that is the space each count of bad challenges is divided by.
    ///
    /// - `L⁺` bounds (Johnson / Guruswami–Sudan) how many low-degree candidates a committed
    ///   trace can agree with on an `α⁺` fraction of the domain; `ρ⁺` is the rate of the degree
    ///   bound `n + 2` at which Haböck's DEEP theorem lists them.
    /// - `ε_ALI`: a wrong candidate survives the random combination of the constraints with
    ///   probability `1/|F|`, since every constraint gets its own random coefficient. (Haböck's
    ///   `L⁺·C/|F|` is for `C` constraints combined by powers of one challenge.)
    /// - `ε_DEEP`: for a wrong candidate, the out-of-domain identity multiplied by `xⁿ − 1` is a
    ///   nonzero polynomial of degree below `(d + 1)(n + 2)` in `z`: Haböck's `d·(n + 1) + n − 1`
    ///   plus room for our end exemptions and boundary quotients. Sampling `z` outside the
    ///   `N + n` domain points changes the denominator by a factor below `2^−200`, dropped.
    /// - `ε_batch + ε_fold`: the commit phase of batched FRI (Haböck 3.4) on the `2w + parts`
    ///   DEEP quotients (`parts ≤ d`). The factor `B − ½` is the one for functions batched by
    ///   powers of one challenge; independent coefficients, as we draw, would allow `3/2`, but
    ///   the larger factor costs a few bits (6 for the Cairo AIR) of a term that sits far below
    ///   the query term, and keeps the figure valid if the batching changes. Each fold by `k`
    ///   combines `k` functions by powers of one challenge (`Σ aᵢ = r·k`). The theorem wants
    ///   agreement at most `(1 + 1/6)·√ρ` (its parameter at least 3) and is stated with its own
    ///   parameter, which is below `m`; using `m` only enlarges these terms, and values of `m`
    ///   whose `α⁺` exceeds that agreement are skipped.
    /// - `ε_query`: the `s` query positions are distinct (drawn without replacement), so they all
    ///   land where the committed functions agree with low-degree ones with probability at most
    ///   `α⁺^s`. Each new draw of positions costs the prover `2^g` hashes of proof of work.
    ///
    /// Summing the terms bounds the interactive protocol; after Fiat–Shamir each term bounds
    /// the success of one round per hash query (round-by-round soundness, as in ethSTARK), which
    /// is what lets grinding divide the query term, and the sum stands in for their maximum.
    pub fn of(options: &ProofOptions, air: &AirShape) -> Self {
        SecurityLevel {
            conjectured: options.conjectured_security_bits(air.trace_length),
            provable: provable_bits(options, air),
        }
    }
}

fn provable_bits(options: &ProofOptions, air: &AirShape) -> u32 {
    // The bound is only defined for options the protocol is (a folding factor of 1 would never
    // finish folding).
    if options.validate().is_err() {
        return 0;
    }
    let bound = SoundnessBound::new(options, air);
    let best = (0..=JOHNSON_STEPS)
        .filter_map(|j| bound.bits(3.0 * 2f64.powi(j)))
        .fold(0.0, f64::max);
    (best.floor() as u32).min(HASH_COLLISION_BITS)
}

/// The quantities `ε(m)` is built from, as `f64`.
struct SoundnessBound {
    n: f64,
    lde: f64,
    rho: f64,
    rho_plus: f64,
    /// `B`: the DEEP quotients FRI batches, bounded by `2w + d`.
    deep_quotients: f64,
    degree: f64,
    fold_sum: f64,
    queries: f64,
    grinding: f64,
}

impl SoundnessBound {
    fn new(options: &ProofOptions, air: &AirShape) -> Self {
        let n = air.trace_length.max(1) as f64;
        let lde = n * options.blowup_factor as f64;
        let degree = air.max_constraint_degree.max(1) as f64;
        let folds = fri_fold_count(air.trace_length, options);
        SoundnessBound {
            n,
            lde,
            rho: n / lde,
            rho_plus: (n + 2.0) / lde,
            deep_quotients: 2.0 * air.columns as f64 + degree,
            degree,
            fold_sum: (folds * options.fri_folding_factor) as f64,
            queries: options.num_queries as f64,
            grinding: options.grinding_bits as f64,
        }
    }

    /// `−log2 ε(m)`, or `None` when FRI's theorem does not cover the agreement `m` implies.
    fn bits(&self, m: f64) -> Option<f64> {
        let agreement = (1.0 + 0.5 / m) * self.rho_plus.sqrt();
        if agreement > (1.0 + 1.0 / 6.0) * self.rho.sqrt() {
            return None;
        }
        let list = (m + 0.5) / self.rho_plus.sqrt();
        let ali = list;
        let deep = list * (self.degree + 1.0) * (self.n + 2.0);
        let batch = (self.deep_quotients - 0.5) * (m + 0.5).powi(7) / (2.0 * self.rho.powf(1.5))
            * self.lde
            * self.lde;
        let fold = (2.0 * m + 1.0) * (self.lde + 1.0) * self.fold_sum;
        let field_bits = FIELD_BITS as f64 - (ali + deep + batch + fold).log2();
        let query_bits = -self.queries * agreement.log2() + self.grinding;
        Some(bits_of_sum(field_bits, query_bits))
    }
}

/// `−log2(2^−a + 2^−b)`, without forming powers that could underflow.
fn bits_of_sum(a: f64, b: f64) -> f64 {
    a.min(b) - (1.0 + (-(a - b).abs()).exp2()).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Cairo AIR's shape at `2^log_n` rows: 59 columns, degree 3.
    fn cairo(log_n: u32) -> AirShape {
        AirShape {
            trace_length: 1 << log_n,
            columns: 59,
            max_constraint_degree: 3,
        }
    }

    fn options(blowup_factor: usize, num_queries: usize, grinding_bits: u32) -> ProofOptions {
        ProofOptions {
            blowup_factor,
            num_queries,
            grinding_bits,
            ..ProofOptions::default()
        }
    }

    #[test]
    fn provable_bits_match_hand_computed_values() {
        // In all three the query term binds; the field terms sit ~100 bits lower even at the
        // m that makes the query term's (1 + 1/(2m))^s loss negligible.
        //
        // Blowup 4, 64 queries, 20 grinding, n = 2^16: ρ⁺ = (2^16 + 2)/2^18, so
        // −log2 √ρ⁺ = (2 − log2(1 + 2^−15)) / 2 = 0.999978; 64 · 0.999978 + 20 = 83.9986.
        // At m = 3·2^14: the loss is 64 · log2(1 + 1/98304) = 0.0009, and
        // ε_batch = 120.5 · 49152.5^7 · 8/2 · 2^36 / 2^251 ≈ 2^(6.9 + 109.1 + 2 + 36 − 251)
        // = 2^−97, adding ~2^−13 bits. So 83.
        assert_eq!(
            SecurityLevel::of(&options(4, 64, 20), &cairo(16)).provable,
            83
        );
        // The default options (blowup 4, 41 queries, 20 grinding) at n = 2^20:
        // 41 · (2 − log2(1 + 2^−19)) / 2 + 20 = 60.99997 minus a negligible loss: 60.
        assert_eq!(
            SecurityLevel::of(&ProofOptions::default(), &cairo(20)).provable,
            60
        );
        // Blowup 8, 30 queries, no grinding, n = 2^10, 6 columns of degree 3:
        // ρ⁺ = 1026/8192, −log2 √ρ⁺ = (13 − log2 1026)/2 = (13 − 10.00282)/2 = 1.49859;
        // 30 · 1.49859 = 44.958: 44.
        let small = AirShape {
            trace_length: 1 << 10,
            columns: 6,
            max_constraint_degree: 3,
        };
        assert_eq!(SecurityLevel::of(&options(8, 30, 0), &small).provable, 44);
    }

    #[test]
    fn provable_bits_are_capped_by_the_hash() {
        // 255 queries at blowup 256 give ~1000 query bits; the batching term at m = 3 is about
        // 2^(6.9 + 12.7 + 11 + 48 − 251) = 2^−172 at N = 2^24: the 128-bit hash cap binds.
        let strong = options(256, 255, 32);
        assert_eq!(SecurityLevel::of(&strong, &cairo(16)).provable, 128);
    }

    #[test]
    fn traces_too_short_for_the_theorem_get_no_provable_bits() {
        // At n = 4, ρ⁺/ρ = 6/4: √1.5 = 1.22 exceeds the 1 + 1/6 the FRI theorem allows for any m.
        let tiny = AirShape {
            trace_length: 4,
            columns: 2,
            max_constraint_degree: 1,
        };
        let options = ProofOptions {
            fri_remainder_max_degree: 0,
            ..ProofOptions::default()
        };
        assert_eq!(SecurityLevel::of(&options, &tiny).provable, 0);
    }

    #[test]
    fn invalid_options_get_no_provable_bits() {
        let never_folds = ProofOptions {
            fri_folding_factor: 1,
            ..ProofOptions::conservative()
        };
        assert_eq!(SecurityLevel::of(&never_folds, &cairo(16)).provable, 0);
    }

    #[test]
    fn provable_never_exceeds_conjectured_and_grows_with_queries_and_blowup() {
        for log_n in [3, 8, 16, 22, 30] {
            for grinding in [0, 20, 32] {
                for log_b in 1..=8 {
                    let mut previous = 0;
                    for queries in 1..=255 {
                        let level = SecurityLevel::of(
                            &options(1 << log_b, queries, grinding),
                            &cairo(log_n),
                        );
                        assert!(level.provable <= level.conjectured, "{level:?}");
                        assert!(level.provable >= previous, "{log_n} {log_b} {queries}");
                        previous = level.provable;
                    }
                }
                for queries in [1, 10, 41, 64, 128, 255] {
                    let mut previous = 0;
                    for log_b in 1..=8 {
                        let level = SecurityLevel::of(
                            &options(1 << log_b, queries, grinding),
                            &cairo(log_n),
                        );
                        assert!(level.provable >= previous, "{log_n} {log_b} {queries}");
                        previous = level.provable;
                    }
                }
            }
        }
    }
}
