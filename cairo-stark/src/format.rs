//! The proof file: a versioned binary that carries the statement's claim next to the STARK.
//!
//! Layout (integers little-endian, field elements 32-byte big-endian canonical):
//!
//! ```text
//! magic "CAIROSTK" (8) | format version u16 (= 4)
//! options (7 bytes, stark::ProofOptions::to_bytes: blowup, queries, grinding, folding,
//!          remainder degree, hash)
//! program hash (32, Keccak-256 of the bytecode)
//! inputs:  u32 count, felts        outputs: u32 count, felts
//! steps u64 | log2 trace rows u8 | final ap u64 | output base u64
//! range-check base u64 | range-check stop u64 | offset min, max u16
//! prover key: u8 0 (none) or 1 followed by the 32-byte key
//! STARK proof: u64 length, then stark::StarkProof::to_bytes
//! ```
//!
//! The program hash and inputs are informational (they let a verifier say "this proof is for
//! another program" plainly); verification always uses the caller's program and inputs.
//! Decoding checks every count against the bytes left before allocating and refuses trailing
//! bytes and non-canonical field elements.

use lambdaworks_math::traits::ByteConversion;
use stark::{ProofOptions, StarkProof};

use crate::statement::{push_prover_key, Claim};
use crate::Felt;

pub const MAGIC: &[u8; 8] = b"CAIROSTK";
/// Version 2: the memory is anchored at address 1 and flag rules follow cairo-vm (the Trust
/// fix); queries are distinct and Merkle leaves and nodes are domain-separated. Version 1 proofs
/// may prove false statements and are refused.
/// Version 3: the AIR dropped the constraints the others imply (SOUNDNESS.md), so a version 2
/// proof no longer matches its constraint set.
/// Version 4: the claim may bind the proof to a donor's key (`Claim::prover_key`), which the
/// statement, and so the transcript, includes.
pub const FORMAT_VERSION: u16 = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("not a cairo-stark proof file (bad magic bytes)")]
    BadMagic,
    #[error("proof file format version {0} is not supported (this build reads version {FORMAT_VERSION}): {hint}", hint = version_hint(*.0))]
    UnsupportedVersion(u16),
    #[error("proof file is truncated (while reading {0})")]
    Truncated(&'static str),
    #[error("proof file has {0} unexpected bytes at the end")]
    TrailingBytes(usize),
    #[error("proof file holds invalid proof options")]
    InvalidOptions,
    #[error("proof file holds a field element that is not below the Stark prime ({0})")]
    NonCanonicalFelt(&'static str),
    #[error("proof file holds an invalid prover-key marker (neither 0 nor 1)")]
    InvalidProverKey,
    #[error("the options in the header differ from the options of the STARK proof")]
    OptionsMismatch,
    #[error("the STARK proof is malformed: {0}")]
    Stark(#[from] stark::DecodeError),
}

fn version_hint(version: u16) -> &'static str {
    if version < 2 {
        "it was made by an older prover, whose proofs of programs using alloc() could be forged; \
         prove the job again with a current executor-client"
    } else if version < 3 {
        "it was made by an older prover, for an earlier constraint set; prove the job again with a \
         current executor-client"
    } else if version < FORMAT_VERSION {
        "it was made by an older prover, whose statement had no donor key; prove the job again with a \
         current executor-client"
    } else {
        "it was made by a newer prover; update this program"
    }
}

/// A decoded proof file.
#[derive(Clone, Debug)]
pub struct ProofFile {
    pub options: ProofOptions,
    pub program_hash: [u8; 32],
    pub inputs: Vec<Felt>,
    pub claim: Claim,
    pub stark: StarkProof,
}

impl ProofFile {
    pub fn to_bytes(&self) -> Vec<u8> {
        let stark = self.stark.to_bytes();
        let c = &self.claim;
        let mut w =
            Vec::with_capacity(stark.len() + 200 + 32 * (self.inputs.len() + c.outputs.len()));
        w.extend_from_slice(MAGIC);
        w.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        w.extend_from_slice(&self.options.to_bytes());
        w.extend_from_slice(&self.program_hash);
        write_felts(&mut w, &self.inputs);
        write_felts(&mut w, &c.outputs);
        w.extend_from_slice(&c.steps.to_le_bytes());
        w.push(c.log_trace_length);
        for v in [
            c.final_ap,
            c.output_base,
            c.range_check_base,
            c.range_check_stop,
        ] {
            w.extend_from_slice(&v.to_le_bytes());
        }
        for v in [c.offset_min, c.offset_max] {
            w.extend_from_slice(&v.to_le_bytes());
        }
        push_prover_key(&mut w, c.prover_key.as_ref());
        w.extend_from_slice(&(stark.len() as u64).to_le_bytes());
        w.extend_from_slice(&stark);
        w
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader { bytes };
        if r.take(8, "magic")? != MAGIC {
            return Err(FormatError::BadMagic);
        }
        let version = u16::from_le_bytes(r.array("version")?);
        if version != FORMAT_VERSION {
            return Err(FormatError::UnsupportedVersion(version));
        }
        let options =
            ProofOptions::from_bytes(&r.array("options")?).ok_or(FormatError::InvalidOptions)?;
        let program_hash = r.array("program hash")?;
        let inputs = r.felts("inputs")?;
        let outputs = r.felts("outputs")?;
        let steps = r.u64("step count")?;
        let log_trace_length = r.array::<1>("trace length")?[0];
        let final_ap = r.u64("final ap")?;
        let output_base = r.u64("output base")?;
        let range_check_base = r.u64("range-check base")?;
        let range_check_stop = r.u64("range-check stop")?;
        let mut bounds = [0u16; 2];
        for b in bounds.iter_mut() {
            *b = u16::from_le_bytes(r.array("range-check bounds")?);
        }
        let prover_key = match r.array::<1>("prover key")?[0] {
            0 => None,
            1 => Some(r.array("prover key")?),
            _ => return Err(FormatError::InvalidProverKey),
        };
        let stark_len = r.u64("STARK proof length")?;
        let remaining = r.bytes.len();
        if stark_len > remaining as u64 {
            return Err(FormatError::Truncated("STARK proof"));
        }
        if stark_len < remaining as u64 {
            return Err(FormatError::TrailingBytes(remaining - stark_len as usize));
        }
        let stark = StarkProof::from_bytes(r.bytes)?;
        if *stark.options() != options {
            return Err(FormatError::OptionsMismatch);
        }
        Ok(ProofFile {
            options,
            program_hash,
            inputs,
            claim: Claim {
                outputs,
                steps,
                log_trace_length,
                final_ap,
                output_base,
                range_check_base,
                range_check_stop,
                offset_min: bounds[0],
                offset_max: bounds[1],
                prover_key,
            },
            stark,
        })
    }
}

fn write_felts(w: &mut Vec<u8>, xs: &[Felt]) {
    w.extend_from_slice(&(xs.len() as u32).to_le_bytes());
    for x in xs {
        w.extend_from_slice(&x.to_bytes_be());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        if self.bytes.len() < len {
            return Err(FormatError::Truncated(what));
        }
        let (head, tail) = self.bytes.split_at(len);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], FormatError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn felts(&mut self, what: &'static str) -> Result<Vec<Felt>, FormatError> {
        let count = u32::from_le_bytes(self.array(what)?) as usize;
        // The count must fit in what is left before anything is allocated.
        if count > self.bytes.len() / 32 {
            return Err(FormatError::Truncated(what));
        }
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let raw = self.take(32, what)?;
            let felt = Felt::from_bytes_be(raw).map_err(|_| FormatError::NonCanonicalFelt(what))?;
            if felt.to_bytes_be().as_slice() != raw {
                return Err(FormatError::NonCanonicalFelt(what));
            }
            out.push(felt);
        }
        Ok(out)
    }
}
