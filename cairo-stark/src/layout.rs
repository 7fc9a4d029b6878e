//! Layout facts that the statement, the AIR and program validation all rely on.

/// Encoding of `jmp rel 0` (the immediate 0 follows it), what `--proof_mode` puts at `__end__`:
/// a run that reaches it stays there, which makes "first arrival at `__end__`" a step count.
pub(crate) const JMP_REL_0: u64 = 0x0107_8001_7fff_7fff;

/// Rows per range-check builtin cell in the AIR (16 limbs of 8 bits = 128 bits).
pub const RC_BLOCK: usize = 16;
