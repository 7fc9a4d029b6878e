//! The proof object and its compact binary encoding.
//!
//! Layout (all integers little-endian, field elements as 32-byte big-endian canonical integers):
//!
//! ```text
//! version: u8 (= 2)        options: 7 bytes (ProofOptions::to_bytes)
//! main_root: 32            aux: u8 flag (0/1) [+ aux_root: 32]     composition_root: 32
//! ood_current, ood_next, ood_composition: felt vectors
//! fri_roots: digest vector  fri_remainder: felt vector              pow_nonce: u64
//! main opening, [aux opening if flag], composition opening
//! fri openings: u8 count, then that many openings
//! opening = values: felt vector, siblings: digest vector
//! vector  = u32 count, then the items
//! ```
//!
//! Decoding never trusts a count: each must fit in the bytes that remain before anything is
//! allocated, so garbage fails fast and allocates at most the input's size.

use crate::hash::Digest;
use crate::options::ProofOptions;
use crate::Felt;
use lambdaworks_math::field::fields::fft_friendly::stark_252_prime_field::MontgomeryConfigStark252PrimeField;
use lambdaworks_math::field::fields::montgomery_backed_prime_fields::IsModulus;
use lambdaworks_math::unsigned_integer::element::UnsignedInteger;
use thiserror::Error;

/// 2 since leaves and nodes are hashed in separate domains: same layout, new meaning.
const FORMAT_VERSION: u8 = 2;
/// No valid proof has more FRI layers than this (domains are at most 2^40 points).
const MAX_FRI_LAYERS: usize = 40;

/// Values of some committed rows, with the batched Merkle siblings authenticating them.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Opening {
    /// Opened rows, concatenated in increasing index order.
    pub values: Vec<Felt>,
    pub siblings: Vec<Digest>,
}

/// A STARK proof: commitments, out-of-domain evaluations, FRI data and query openings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StarkProof {
    pub(crate) options: ProofOptions,
    pub(crate) main_root: Digest,
    pub(crate) aux_root: Option<Digest>,
    pub(crate) composition_root: Digest,
    /// Main then auxiliary columns at the out-of-domain point `z`.
    pub(crate) ood_current: Vec<Felt>,
    /// The same columns at `g·z`.
    pub(crate) ood_next: Vec<Felt>,
    /// Each composition part at `z`.
    pub(crate) ood_composition: Vec<Felt>,
    pub(crate) fri_roots: Vec<Digest>,
    /// Coefficients of the last FRI polynomial, lowest degree first.
    pub(crate) fri_remainder: Vec<Felt>,
    pub(crate) pow_nonce: u64,
    pub(crate) main_opening: Opening,
    pub(crate) aux_opening: Option<Opening>,
    pub(crate) composition_opening: Opening,
    pub(crate) fri_openings: Vec<Opening>,
}

/// Why bytes are not a proof.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error("proof is truncated")]
    Truncated,
    #[error("{0} bytes follow the proof")]
    TrailingBytes(usize),
    #[error("unsupported proof encoding version {0}")]
    UnsupportedVersion(u8),
    #[error("invalid proof options")]
    InvalidOptions,
    #[error("a field element is not below the modulus")]
    NonCanonicalFieldElement,
    #[error("invalid flag byte {0}")]
    InvalidFlag(u8),
    #[error("too many FRI layers ({0})")]
    TooManyFriLayers(usize),
}

impl StarkProof {
    /// The options the proof was made with (the verifier checks them against its policy).
    pub fn options(&self) -> &ProofOptions {
        &self.options
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Vec::new();
        w.push(FORMAT_VERSION);
        w.extend_from_slice(&self.options.to_bytes());
        w.extend_from_slice(&self.main_root);
        match &self.aux_root {
            Some(r) => {
                w.push(1);
                w.extend_from_slice(r);
            }
            None => w.push(0),
        }
        w.extend_from_slice(&self.composition_root);
        write_felts(&mut w, &self.ood_current);
        write_felts(&mut w, &self.ood_next);
        write_felts(&mut w, &self.ood_composition);
        write_digests(&mut w, &self.fri_roots);
        write_felts(&mut w, &self.fri_remainder);
        w.extend_from_slice(&self.pow_nonce.to_le_bytes());
        write_opening(&mut w, &self.main_opening);
        if let Some(o) = &self.aux_opening {
            write_opening(&mut w, o);
        }
        write_opening(&mut w, &self.composition_opening);
        w.push(self.fri_openings.len() as u8);
        for o in &self.fri_openings {
            write_opening(&mut w, o);
        }
        w
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader { bytes };
        let version = r.u8()?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let opt_bytes: [u8; 7] = r.array()?;
        let options = ProofOptions::from_bytes(&opt_bytes).ok_or(DecodeError::InvalidOptions)?;
        let main_root = r.array()?;
        let aux_root = match r.u8()? {
            0 => None,
            1 => Some(r.array()?),
            f => return Err(DecodeError::InvalidFlag(f)),
        };
        let composition_root = r.array()?;
        let ood_current = r.felts()?;
        let ood_next = r.felts()?;
        let ood_composition = r.felts()?;
        let fri_roots = r.digests()?;
        if fri_roots.len() > MAX_FRI_LAYERS {
            return Err(DecodeError::TooManyFriLayers(fri_roots.len()));
        }
        let fri_remainder = r.felts()?;
        let pow_nonce = u64::from_le_bytes(r.array()?);
        let main_opening = r.opening()?;
        let aux_opening = match aux_root {
            Some(_) => Some(r.opening()?),
            None => None,
        };
        let composition_opening = r.opening()?;
        let num_fri = r.u8()? as usize;
        if num_fri > MAX_FRI_LAYERS {
            return Err(DecodeError::TooManyFriLayers(num_fri));
        }
        let fri_openings = (0..num_fri)
            .map(|_| r.opening())
            .collect::<Result<Vec<_>, _>>()?;
        if !r.bytes.is_empty() {
            return Err(DecodeError::TrailingBytes(r.bytes.len()));
        }
        Ok(StarkProof {
            options,
            main_root,
            aux_root,
            composition_root,
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
}

fn write_felts(w: &mut Vec<u8>, felts: &[Felt]) {
    w.extend_from_slice(&(felts.len() as u32).to_le_bytes());
    for f in felts {
        w.extend_from_slice(&f.to_bytes_be());
    }
}

fn write_digests(w: &mut Vec<u8>, digests: &[Digest]) {
    w.extend_from_slice(&(digests.len() as u32).to_le_bytes());
    for d in digests {
        w.extend_from_slice(d);
    }
}

fn write_opening(w: &mut Vec<u8>, o: &Opening) {
    write_felts(w, &o.values);
    write_digests(w, &o.siblings);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// A count of items of `item_size` bytes each, checked against the remaining input.
    fn count(&mut self, item_size: usize) -> Result<usize, DecodeError> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        if n.checked_mul(item_size)
            .is_none_or(|total| total > self.bytes.len())
        {
            return Err(DecodeError::Truncated);
        }
        Ok(n)
    }

    fn felts(&mut self) -> Result<Vec<Felt>, DecodeError> {
        let n = self.count(32)?;
        (0..n).map(|_| felt_from_bytes(&self.array()?)).collect()
    }

    fn digests(&mut self) -> Result<Vec<Digest>, DecodeError> {
        let n = self.count(32)?;
        (0..n).map(|_| self.array()).collect()
    }

    fn opening(&mut self) -> Result<Opening, DecodeError> {
        Ok(Opening {
            values: self.felts()?,
            siblings: self.digests()?,
        })
    }
}

/// Big-endian canonical bytes to a field element; values not below the modulus are rejected so
/// every element has exactly one encoding.
pub(crate) fn felt_from_bytes(b: &[u8; 32]) -> Result<Felt, DecodeError> {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(b.chunks_exact(8)) {
        let mut c = [0u8; 8];
        c.copy_from_slice(chunk);
        *limb = u64::from_be_bytes(c);
    }
    let value = UnsignedInteger::from_limbs(limbs);
    if value >= MontgomeryConfigStark252PrimeField::MODULUS {
        return Err(DecodeError::NonCanonicalFieldElement);
    }
    Ok(Felt::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_elements_round_trip_and_reject_non_canonical_bytes() {
        let x = -Felt::from(5u64);
        assert_eq!(felt_from_bytes(&x.to_bytes_be()), Ok(x));
        let modulus = (-Felt::one()).to_bytes_be();
        let mut p = modulus;
        p[31] += 1; // p − 1 + 1 = p
        assert_eq!(
            felt_from_bytes(&p),
            Err(DecodeError::NonCanonicalFieldElement)
        );
        assert!(felt_from_bytes(&[0xff; 32]).is_err());
    }

    #[test]
    fn huge_counts_are_rejected_without_allocating() {
        let mut r = Reader {
            bytes: &[0xff, 0xff, 0xff, 0xff, 0, 0],
        };
        assert_eq!(r.felts(), Err(DecodeError::Truncated));
    }
}
