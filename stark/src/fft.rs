//! Polynomial evaluation and interpolation over power-of-two subgroups and their cosets.
//!
//! The butterflies are lambdaworks' radix-2 FFT, minus the multiplications by the twiddle 1
//! (about 11% less time); what this module adds is twiddles computed once per size and shared by
//! every column, rayon across columns (lambdaworks' FFT is single-threaded), and the coset
//! scaling fused with the `1/n` normalisation.
//!
//! All evaluation vectors are in natural order: entry `i` is the value at `offset · ω^i`, with `ω`
//! lambdaworks' canonical primitive root of unity of that size (these roots are consistent:
//! the root of order `2^k` squared is the root of order `2^(k-1)`).

use crate::Felt;
use lambdaworks_math::fft::cpu::bit_reversing::in_place_bit_reverse_permute;
use lambdaworks_math::fft::cpu::roots_of_unity::get_twiddles;
use lambdaworks_math::field::fields::fft_friendly::stark_252_prime_field::Stark252PrimeField;
use lambdaworks_math::field::traits::{IsFFTField, RootsConfig};
use rayon::prelude::*;

/// Largest supported domain: 2^40 points is far beyond memory, and keeps shifts well-defined.
pub(crate) const MAX_LOG_DOMAIN: u32 = 40;

/// Primitive root of unity of order `size` (a power of two, at most 2^40).
pub(crate) fn root_of_unity(size: usize) -> Felt {
    debug_assert!(size.is_power_of_two() && size.trailing_zeros() <= MAX_LOG_DOMAIN);
    // The Stark-252 field has two-adicity 192, so every order up to 2^40 exists.
    Stark252PrimeField::get_primitive_root_of_unity(size.trailing_zeros() as u64)
        .unwrap_or_else(|_| unreachable!("two-adicity 192 covers every supported domain"))
}

/// Radix-2 decimation-in-time butterflies: natural-order input, bit-reversed output, `twiddles`
/// the first half of the roots in bit-reversed order (lambdaworks' layout and algorithm).
///
/// Two changes make it faster than lambdaworks' loop: the first group of every stage has twiddle
/// 1, so its butterflies skip the multiplication (about `N` of the `N/2 · log2 N`
/// multiplications); and the stages run depth-first (after a group's butterflies, its two halves
/// are transformed independently, in parallel when large), so once a block fits in cache all its
/// remaining stages run there instead of streaming the whole vector once per stage.
pub(crate) fn nr_butterflies(input: &mut [Felt], twiddles: &[Felt]) {
    butterflies_from(input, twiddles, 0);
}

/// Blocks up to this many elements (128 KiB) finish breadth-first: they fit in L2.
const FFT_BLOCK: usize = 1 << 12;
/// Halves at least this large are transformed on separate rayon tasks.
const FFT_PARALLEL: usize = 1 << 14;

/// Transforms `data`, which is group `group` of the stage whose groups have `data.len()` elements.
/// (The children of group `g` are groups `2g` and `2g + 1` of the next stage.)
fn butterflies_from(data: &mut [Felt], twiddles: &[Felt], group: usize) {
    let len = data.len();
    if len <= FFT_BLOCK {
        // Breadth-first inside the block: stage by stage, group indices offset by `group`.
        let mut group_size = len;
        let mut groups = 1;
        while group_size > 1 {
            for (local, chunk) in data.chunks_exact_mut(group_size).enumerate() {
                butterfly_group(chunk, twiddles, group * groups + local);
            }
            groups *= 2;
            group_size /= 2;
        }
        return;
    }
    butterfly_group(data, twiddles, group);
    let (lo, hi) = data.split_at_mut(len / 2);
    if len / 2 >= FFT_PARALLEL {
        rayon::join(
            || butterflies_from(lo, twiddles, 2 * group),
            || butterflies_from(hi, twiddles, 2 * group + 1),
        );
    } else {
        butterflies_from(lo, twiddles, 2 * group);
        butterflies_from(hi, twiddles, 2 * group + 1);
    }
}

/// One group's butterflies `(a, b) -> (a + w·b, a − w·b)` across its two halves.
#[inline]
fn butterfly_group(chunk: &mut [Felt], twiddles: &[Felt], group: usize) {
    let (lo, hi) = chunk.split_at_mut(chunk.len() / 2);
    if group == 0 {
        for (a, b) in lo.iter_mut().zip(hi.iter_mut()) {
            let sum = &*a + &*b;
            *b = &*a - &*b;
            *a = sum;
        }
    } else {
        let w = &twiddles[group];
        for (a, b) in lo.iter_mut().zip(hi.iter_mut()) {
            let wb = w * &*b;
            let sum = &*a + &wb;
            *b = &*a - &wb;
            *a = sum;
        }
    }
}

/// Precomputed twiddles for forward and inverse transforms of one size.
pub(crate) struct FftPlan {
    size: usize,
    forward: Vec<Felt>,
    inverse: Vec<Felt>,
}

impl FftPlan {
    pub(crate) fn new(size: usize) -> Self {
        debug_assert!(size.is_power_of_two());
        let order = size.trailing_zeros() as u64;
        let tw = |config| {
            if size == 1 {
                Vec::new()
            } else {
                get_twiddles::<Stark252PrimeField>(order, config)
                    .unwrap_or_else(|_| unreachable!("order is at most 40"))
            }
        };
        FftPlan {
            size,
            forward: tw(RootsConfig::BitReverse),
            inverse: tw(RootsConfig::BitReverseInversed),
        }
    }

    /// In place: coefficients -> evaluations on the subgroup (natural order).
    pub(crate) fn forward(&self, values: &mut [Felt]) {
        debug_assert_eq!(values.len(), self.size);
        if self.size > 1 {
            nr_butterflies(values, &self.forward);
            in_place_bit_reverse_permute(values);
        }
    }

    /// In place: evaluations on the subgroup -> coefficients times `size` (not normalised).
    pub(crate) fn inverse_unscaled(&self, values: &mut [Felt]) {
        debug_assert_eq!(values.len(), self.size);
        if self.size > 1 {
            nr_butterflies(values, &self.inverse);
            in_place_bit_reverse_permute(values);
        }
    }
}

/// Low-degree extension of trace columns from the subgroup `⟨g⟩` (size `n`) to the coset
/// `offset·⟨ω⟩` (size `blowup·n`, `ω^blowup = g`).
///
/// Instead of one transform of size `blowup·n` over a zero-padded vector, it runs `blowup`
/// transforms of size `n`, one per coset `offset·ω^j·⟨g⟩`: the same arithmetic (the padded
/// transform's first `log2 blowup` stages only copy), but a working set `blowup` times smaller,
/// which keeps the butterflies in cache. Point `offset·ω^(j + blowup·i)` is output index
/// `j + blowup·i`, so results are scattered into natural order.
pub(crate) struct LdePlan {
    n: usize,
    blowup: usize,
    plan: FftPlan,
    /// `(offset·ω^j)^k / n` at index `j·n + k`: folds the interpolation's normalisation and the
    /// coset shift into one multiplication per coefficient.
    shifts: Vec<Felt>,
}

impl LdePlan {
    pub(crate) fn new(n: usize, blowup: usize, offset: &Felt) -> Self {
        let omega = root_of_unity(n * blowup);
        let n_inv = Felt::from(n as u64)
            .inv()
            .unwrap_or_else(|_| unreachable!("n < p"));
        let mut shifts = Vec::with_capacity(n * blowup);
        let mut coset = *offset;
        for _ in 0..blowup {
            shifts.extend(scaled_powers(&coset, &n_inv, n));
            coset *= omega;
        }
        LdePlan {
            n,
            blowup,
            plan: FftPlan::new(n),
            shifts,
        }
    }

    /// Extends one column of `n` trace values to `blowup·n` evaluations (natural order).
    pub(crate) fn extend(&self, values: &[Felt]) -> Vec<Felt> {
        debug_assert_eq!(values.len(), self.n);
        // Only this per-column copy is transient: the caller's trace is never cloned whole.
        let mut values = values.to_vec();
        self.plan.inverse_unscaled(&mut values);
        let log_n = self.n.trailing_zeros();
        let mut out = vec![Felt::zero(); self.n * self.blowup];
        let mut buf = vec![Felt::zero(); self.n];
        for j in 0..self.blowup {
            let shifts = &self.shifts[j * self.n..(j + 1) * self.n];
            for ((b, c), s) in buf.iter_mut().zip(&values).zip(shifts) {
                *b = c * s;
            }
            // Butterflies only; the bit-reversal is folded into the scatter below.
            if self.n > 1 {
                nr_butterflies(&mut buf, &self.plan.forward);
            }
            for (r, v) in buf.iter().enumerate() {
                let i = if log_n == 0 {
                    0
                } else {
                    r.reverse_bits() >> (usize::BITS - log_n)
                };
                out[j + self.blowup * i] = *v;
            }
        }
        out
    }

    /// Extends every column, in parallel.
    pub(crate) fn extend_columns(&self, columns: &[Vec<Felt>]) -> Vec<Vec<Felt>> {
        columns.par_iter().map(|c| self.extend(c)).collect()
    }
}

/// `[s · base^0, s · base^1, ..., s · base^(len-1)]`.
pub(crate) fn scaled_powers(base: &Felt, s: &Felt, len: usize) -> Vec<Felt> {
    let mut out = Vec::with_capacity(len);
    let mut acc = *s;
    for _ in 0..len {
        out.push(acc);
        acc *= base;
    }
    out
}

/// Coefficients of the polynomials taking `columns[c][i]` at `offset · ω^i` (ω of order
/// `columns[c].len()`, the same for every column), computed in parallel across columns.
pub(crate) fn interpolate_coset_columns(columns: Vec<Vec<Felt>>, offset: &Felt) -> Vec<Vec<Felt>> {
    let Some(size) = columns.first().map(Vec::len) else {
        return columns;
    };
    let plan = FftPlan::new(size);
    // c_j = (1/size) · offset^-j · (inverse transform)_j
    let n_inv = Felt::from(size as u64)
        .inv()
        .unwrap_or_else(|_| unreachable!("size < p"));
    let offset_inv = offset
        .inv()
        .unwrap_or_else(|_| unreachable!("coset offsets are non-zero"));
    let scale = scaled_powers(&offset_inv, &n_inv, size);
    columns
        .into_par_iter()
        .map(|mut col| {
            plan.inverse_unscaled(&mut col);
            for (c, s) in col.iter_mut().zip(&scale) {
                *c *= s;
            }
            col
        })
        .collect()
}

/// Evaluations of each coefficient vector (length at most `size`) on `offset · ⟨ω⟩`, `|⟨ω⟩| = size`.
pub(crate) fn evaluate_coset_columns(
    coefficients: &[Vec<Felt>],
    offset: &Felt,
    size: usize,
) -> Vec<Vec<Felt>> {
    let plan = FftPlan::new(size);
    let max_len = coefficients.iter().map(Vec::len).max().unwrap_or(0);
    let scale = scaled_powers(offset, &Felt::one(), max_len);
    coefficients
        .par_iter()
        .map(|coeffs| evaluate_with_plan(&plan, coeffs, &scale, size))
        .collect()
}

fn evaluate_with_plan(plan: &FftPlan, coeffs: &[Felt], scale: &[Felt], size: usize) -> Vec<Felt> {
    let mut values = Vec::with_capacity(size);
    values.extend(coeffs.iter().zip(scale).map(|(c, s)| c * s));
    values.resize(size, Felt::zero());
    plan.forward(&mut values);
    values
}

/// Horner evaluation of a coefficient vector at `x`.
pub(crate) fn evaluate_poly(coeffs: &[Felt], x: &Felt) -> Felt {
    coeffs.iter().rev().fold(Felt::zero(), |acc, c| acc * x + c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambdaworks_math::fft::cpu::fft::in_place_nr_2radix_fft;

    #[test]
    fn coset_interpolation_inverts_evaluation() {
        let offset = Felt::from(3u64);
        let coeffs: Vec<Felt> = (0..16u64).map(|i| Felt::from(i * i + 7)).collect();
        let evals = evaluate_coset_columns(std::slice::from_ref(&coeffs), &offset, 64);
        let w = root_of_unity(64);
        for i in [0usize, 1, 17, 63] {
            let x = offset * w.pow(i as u64);
            assert_eq!(evals[0][i], evaluate_poly(&coeffs, &x));
        }
        let back = interpolate_coset_columns(evals, &offset);
        assert_eq!(&back[0][..16], &coeffs[..]);
        assert!(back[0][16..].iter().all(|c| *c == Felt::zero()));
    }

    #[test]
    fn coset_by_coset_extension_matches_padded_transform() {
        let offset = Felt::from(3u64);
        let values: Vec<Felt> = (0..32u64).map(|i| Felt::from(i * i * i + 1)).collect();
        let coeffs = interpolate_coset_columns(vec![values.clone()], &Felt::one());
        let expected = evaluate_coset_columns(&coeffs, &offset, 128);
        let plan = LdePlan::new(32, 4, &offset);
        assert_eq!(plan.extend(&values), expected[0]);
        let single = LdePlan::new(1, 2, &offset);
        assert_eq!(
            single.extend(&[Felt::from(5u64)]),
            vec![Felt::from(5u64); 2]
        );
    }

    #[test]
    fn butterflies_match_lambdaworks() {
        for log in [1u32, 2, 5, 10, 13, 16] {
            let size = 1usize << log;
            let plan = FftPlan::new(size);
            let input: Vec<Felt> = (0..size as u64).map(|i| Felt::from(i * i + 3)).collect();
            let mut ours = input.clone();
            nr_butterflies(&mut ours, &plan.forward);
            let mut theirs = input;
            in_place_nr_2radix_fft(&mut theirs, &plan.forward);
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn roots_of_unity_are_consistent_across_sizes() {
        assert_eq!(root_of_unity(1 << 10).square(), root_of_unity(1 << 9));
        assert_eq!(root_of_unity(2), -Felt::one());
    }
}
