//! Layout facts that the statement, the AIR and program validation all rely on.

/// The program segment starts at address 1: the memory argument anchors the first sorted
/// address there, so address 0 is never a cell.
pub(crate) const PROGRAM_BASE: u64 = 1;

/// The address of bytecode word `offset`.
pub(crate) fn code_address(offset: usize) -> u64 {
    PROGRAM_BASE + offset as u64
}

/// Encoding of `jmp rel 0` (the immediate 0 follows it), what `--proof_mode` puts at `__end__`:
/// a run that reaches it stays there, which makes "first arrival at `__end__`" a step count.
pub const JMP_REL_0: u64 = 0x0107_8001_7fff_7fff;

/// Rows per range-check builtin cell in the AIR (16 limbs of 8 bits = 128 bits).
pub const RC_BLOCK: usize = 16;
