//! Conversions between the prover's field elements, cairo-vm's, and machine integers.

use lambdaworks_math::unsigned_integer::element::UnsignedInteger;

use crate::Felt;

/// Converts a cairo-vm felt (same Montgomery form as lambdaworks, so no arithmetic).
pub(crate) fn felt_from_vm(felt: &cairo_vm::Felt252) -> Felt {
    Felt::from_raw(UnsignedInteger::from_limbs(felt.to_raw()))
}

pub(crate) fn felt_to_vm(felt: &Felt) -> cairo_vm::Felt252 {
    cairo_vm::Felt252::from_raw(felt.to_raw().limbs)
}

/// The value as a `u64` when it is one.
pub(crate) fn felt_to_u64(x: &Felt) -> Option<u64> {
    let limbs = x.representative().limbs;
    (limbs[0] == 0 && limbs[1] == 0 && limbs[2] == 0).then_some(limbs[3])
}
