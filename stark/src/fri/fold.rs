//! The fold `f'(x²) = (f(x) + f(−x)) + β · (f(x) − f(−x)) / x`, in the prover's form (a whole
//! layer at once) and the verifier's (the `k` values of one leaf). Both apply it by `log2 k`
//! binary folds with `β, β², β⁴, …`, so they agree value for value.

use crate::fft::root_of_unity;
use crate::prover::CHUNK;
use crate::Felt;
use rayon::prelude::*;

/// Folds `v` (the values at `x·ζ^t`, `t < k`, for the `k`-th root of unity `ζ`) into the
/// value at `x^k` of the next FRI function. `x_inv` is `1/x`; `zeta_inv` is `1/ζ`.
pub(super) fn fold_coset(v: &mut [Felt], beta: &Felt, x_inv: &Felt, zeta_inv: &Felt) -> Felt {
    let mut len = v.len();
    let mut beta = *beta;
    let mut x_inv = *x_inv;
    let mut zeta_inv = *zeta_inv;
    while len > 1 {
        let half = len / 2;
        let mut xi = x_inv;
        for t in 0..half {
            let (a, b) = (v[t], v[t + half]);
            v[t] = (a + b) + beta * (a - b) * xi;
            xi *= zeta_inv;
        }
        len = half;
        beta = beta.square();
        x_inv = x_inv.square();
        zeta_inv = zeta_inv.square();
    }
    v[0]
}

/// Folds a whole layer on `offset·⟨ω⟩` by `k` through `log2 k` binary folds.
pub(super) fn fold_layer(values: &[Felt], beta: &Felt, offset: &Felt, k: usize) -> Vec<Felt> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fri::leaf_values;

    #[test]
    fn a_leaf_folds_to_the_value_the_whole_layer_folds_to() {
        let (m, k) = (64usize, 4usize);
        let values: Vec<Felt> = (0..m as u64).map(|i| Felt::from(i * i + 7)).collect();
        let (beta, offset) = (Felt::from(11u64), Felt::from(3u64));
        let folded = fold_layer(&values, &beta, &offset, k);
        let leaves_count = m / k;
        let omega_inv = root_of_unity(m).inv().unwrap();
        let zeta_inv = omega_inv.pow(leaves_count as u64);
        for (j, expected) in folded.iter().enumerate() {
            let mut leaf: Vec<Felt> = leaf_values(&values, j, leaves_count, k).copied().collect();
            let x_inv = offset.inv().unwrap() * omega_inv.pow(j as u64);
            assert_eq!(fold_coset(&mut leaf, &beta, &x_inv, &zeta_inv), *expected);
        }
    }
}
