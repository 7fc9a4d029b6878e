//! Polynomial evaluation and interpolation over power-of-two subgroups and their cosets.
//!
//! The butterflies are lambdaworks' radix-2 FFT, minus the multiplications by the twiddle 1
//! (about 11% less time); what this module adds is twiddles computed once per size and shared by
//! every column, rayon across columns (lambdaworks' FFT is single-threaded), evaluation on one
//! coset (or a smaller piece of one) at a time, and a pruned transform for a few points.
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

impl FftPlan {
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// In place, in parallel across columns: values on the subgroup -> coefficients.
    pub(crate) fn interpolate_columns(&self, columns: &mut [Vec<Felt>]) {
        let size_inv = Felt::from(self.size as u64)
            .inv()
            .unwrap_or_else(|_| unreachable!("size < p"));
        columns.par_iter_mut().for_each(|col| {
            self.inverse_unscaled(col);
            for c in col.iter_mut() {
                *c *= &size_inv;
            }
        });
    }

    /// In place, in parallel across columns: coefficients -> values on the subgroup.
    pub(crate) fn evaluate_columns(&self, columns: &mut [Vec<Felt>]) {
        columns.par_iter_mut().for_each(|col| self.forward(col));
    }

    /// Values of each coefficient vector on the coset `shift·⟨γ⟩`, `γ` the generator of this
    /// plan's subgroup (of order `size`): entry `r` is the value at `shift·γ^r`. The vectors
    /// all have the same length, a multiple of `size`; a longer one is first folded onto `size`
    /// coefficients (`γ^size = 1`), which costs one multiplication per coefficient.
    ///
    /// This is how the prover extends its columns: one coset of the evaluation domain at a
    /// time, so that only the coefficients and one coset's values are ever alive, never the
    /// whole `blowup`-times larger extension.
    pub(crate) fn evaluate_on_coset(
        &self,
        coefficients: &[&[Felt]],
        shift: &Felt,
    ) -> Vec<Vec<Felt>> {
        let len = coefficients.first().map_or(0, |c| c.len());
        debug_assert!(len.is_multiple_of(self.size));
        let powers = shift_powers(shift, len);
        coefficients
            .par_iter()
            .map(|coeffs| {
                let mut chunks = coeffs.chunks(self.size).zip(powers.chunks(self.size));
                let mut values: Vec<Felt> = match chunks.next() {
                    Some((c, s)) => c.iter().zip(s).map(|(c, s)| c * s).collect(),
                    None => Vec::new(),
                };
                for (c, s) in chunks {
                    for ((v, c), s) in values.iter_mut().zip(c).zip(s) {
                        *v = &*v + &(c * s);
                    }
                }
                self.forward(&mut values);
                values
            })
            .collect()
    }
}

/// `[1, x, x², …, x^(len−1)]`.
pub(crate) fn shift_powers(x: &Felt, len: usize) -> Vec<Felt> {
    scaled_powers(x, &Felt::one(), len)
}

/// Values of the polynomial with `coeffs` at `shift·g^i` for each `i` in `indices` (any order,
/// each below `coeffs.len()`), where `shift_powers[k] = shift^k` and `g_powers[k] = g^k` for
/// `k < coeffs.len() / 2`, `g` of order `coeffs.len()` (a power of two).
///
/// A pruned transform: each decimation-in-frequency split halves the problem for the even and
/// the odd output indices, and only the halves holding a wanted index are followed; a half
/// holding one index is finished by Horner's rule. For `q` indices this costs about
/// `len·(log2(q)/2 + 2)` multiplications instead of the whole transform's `len/2 · log2 len`.
pub(crate) fn evaluate_at_indices(
    coeffs: &[Felt],
    shift_powers: &[Felt],
    g_powers: &[Felt],
    indices: &[usize],
) -> Vec<Felt> {
    let shifted: Vec<Felt> = coeffs
        .iter()
        .zip(shift_powers)
        .map(|(c, s)| c * s)
        .collect();
    let wanted: Vec<(usize, usize)> = indices.iter().copied().enumerate().collect();
    let mut out = vec![Felt::zero(); indices.len()];
    pruned(&shifted, g_powers, 1, &wanted, &mut out);
    out
}

/// `out[slot] = Σ_k a_k·r^(i·k)` for each `(slot, i)` in `wanted`, where `r = g^stride` has
/// order `a.len()` and `g_powers[k] = g^k`.
fn pruned(
    a: &[Felt],
    g_powers: &[Felt],
    stride: usize,
    wanted: &[(usize, usize)],
    out: &mut [Felt],
) {
    let len = a.len();
    if wanted.len() == 1 || len <= 16 {
        let root = if len > 1 {
            g_powers[stride]
        } else {
            Felt::one()
        };
        for &(slot, i) in wanted {
            out[slot] = evaluate_poly(a, &root.pow(i as u64));
        }
        return;
    }
    let half = len / 2;
    let (even, odd): (Vec<_>, Vec<_>) = wanted.iter().partition(|(_, i)| i % 2 == 0);
    let (lo, hi) = a.split_at(half);
    if !even.is_empty() {
        let b: Vec<Felt> = lo.iter().zip(hi).map(|(x, y)| x + y).collect();
        let even: Vec<_> = even.iter().map(|&(s, i)| (s, i / 2)).collect();
        pruned(&b, g_powers, 2 * stride, &even, out);
    }
    if !odd.is_empty() {
        let c: Vec<Felt> = lo
            .iter()
            .zip(hi)
            .zip(g_powers.iter().step_by(stride))
            .map(|((x, y), w)| &(x - y) * w)
            .collect();
        let odd: Vec<_> = odd.iter().map(|&(s, i)| (s, i / 2)).collect();
        pruned(&c, g_powers, 2 * stride, &odd, out);
    }
}

/// `[s · base^0, s · base^1, ..., s · base^(len-1)]`, computed in parallel chunks.
pub(crate) fn scaled_powers(base: &Felt, s: &Felt, len: usize) -> Vec<Felt> {
    const CHUNK: usize = 1 << 12;
    let mut out = vec![Felt::zero(); len];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let mut acc = s * base.pow((ci * CHUNK) as u64);
            for o in chunk {
                *o = acc;
                acc *= base;
            }
        });
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

/// Horner evaluation of a coefficient vector at `x`.
pub(crate) fn evaluate_poly(coeffs: &[Felt], x: &Felt) -> Felt {
    coeffs
        .iter()
        .rev()
        .fold(Felt::zero(), |acc, c| &(&acc * x) + c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambdaworks_math::fft::cpu::fft::in_place_nr_2radix_fft;

    /// The polynomial at each of the `size` points `offset·ω^i`, one Horner evaluation each.
    fn evaluate_directly(coeffs: &[Felt], offset: &Felt, size: usize) -> Vec<Felt> {
        let w = root_of_unity(size);
        (0..size)
            .map(|i| evaluate_poly(coeffs, &(offset * w.pow(i as u64))))
            .collect()
    }

    #[test]
    fn coset_interpolation_inverts_evaluation() {
        let offset = Felt::from(3u64);
        let coeffs: Vec<Felt> = (0..16u64).map(|i| Felt::from(i * i + 7)).collect();
        let evals = vec![evaluate_directly(&coeffs, &offset, 64)];
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
    fn coset_evaluation_and_pruned_evaluation_match_the_padded_transform() {
        let offset = Felt::from(3u64);
        let values: Vec<Felt> = (0..256u64).map(|i| Felt::from(i * i * i + 1)).collect();
        let plan = FftPlan::new(256);
        let mut coeffs = vec![values.clone()];
        plan.interpolate_columns(&mut coeffs);
        let expected = evaluate_directly(&coeffs[0], &offset, 1024);
        let omega = root_of_unity(1024);
        let g = root_of_unity(256);
        for j in 0..4usize {
            let shift = offset * omega.pow(j as u64);
            let coset = plan.evaluate_on_coset(&[&coeffs[0]], &shift).pop().unwrap();
            let wanted: Vec<Felt> = (0..256).map(|i| expected[j + 4 * i]).collect();
            assert_eq!(coset, wanted, "coset {j}");
            let indices = [255usize, 0, 5, 6, 7, 20, 21, 128, 130, 64];
            let pruned = evaluate_at_indices(
                &coeffs[0],
                &shift_powers(&shift, 256),
                &shift_powers(&g, 128),
                &indices,
            );
            let direct: Vec<Felt> = indices.iter().map(|&i| wanted[i]).collect();
            assert_eq!(pruned, direct, "coset {j}");
        }
        // Folded onto a quarter of the coset: the points shift·g^(4r).
        let quarter = FftPlan::new(64).evaluate_on_coset(&[&coeffs[0]], &offset);
        let every_fourth: Vec<Felt> = (0..64).map(|r| expected[16 * r]).collect();
        assert_eq!(quarter[0], every_fourth);
        let mut back = coeffs;
        plan.evaluate_columns(&mut back);
        assert_eq!(back[0], values);
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
