//! Compiled programs: what the server accepts and what the prover runs.
//!
//! A program must be the JSON that `cairo-compile --proof_mode` writes: it parses with cairo-vm,
//! has a `main`, and has the `__start__`/`__end__` labels proof mode adds, and it uses only the
//! builtins the AIR supports.
//!
//! The input group is placed right after the bytecode, and a program finds it at a label there
//! (`get_label_location(inputs)`). A program that reads a label's address but has no label right
//! after its last instruction (its input label sits before a function defined after `main`)
//! would read its own bytecode as inputs and prove a wrong answer; it is refused.

use cairo_vm::types::builtin_name::BuiltinName;
use cairo_vm::types::program::Program;

/// Builtins the prover's AIR constrains.
pub const SUPPORTED_BUILTINS: [BuiltinName; 2] = [BuiltinName::output, BuiltinName::range_check];

#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("not a compiled Cairo program: {0}")]
    Parse(String),
    #[error("the program was not compiled in proof mode (no `__start__`/`__end__` labels); compile it with `cairo-compile --proof_mode`")]
    NotProofMode,
    #[error("the program uses the `{0}` builtin; only `output` and `range_check` are supported")]
    UnsupportedBuiltin(String),
    #[error("the program's bytecode is empty")]
    Empty,
    #[error(
        "the program reads a label's address (get_label_location) but no label is right after \
         its last instruction, where the input group is placed, so it would read its own \
         bytecode as inputs{found}; put the input label (e.g. `inputs:`) at the very end of the \
         file, after every function: move the functions defined after `main` above it"
    )]
    MisplacedInputs {
        /// The labels that may have been meant, with their places, as a clause of the message
        /// (" (labels found: `inputs` at word 40 of 57)"), or empty.
        found: String,
    },
}

/// A parsed, validated compiled program.
#[derive(Debug, Clone)]
pub struct CompiledProgram {
    program: Program,
}

impl CompiledProgram {
    pub fn parse(json: &[u8]) -> Result<Self, ProgramError> {
        let program = Program::from_bytes(json, Some("main"))
            .map_err(|e| ProgramError::Parse(e.to_string()))?;
        if program.data_len() == 0 {
            return Err(ProgramError::Empty);
        }
        let is_label = |name: &str| program.get_identifier(name).is_some_and(|i| i.pc.is_some());
        if !is_label("__main__.__start__") || !is_label("__main__.__end__") {
            return Err(ProgramError::NotProofMode);
        }
        // Proof mode ends in `__end__: jmp rel 0`; the AIR's step count relies on it.
        let end = program
            .get_identifier("__main__.__end__")
            .and_then(|i| i.pc)
            .unwrap_or(usize::MAX);
        let word = |i: usize| -> Option<u64> {
            match program.iter_data().nth(i)? {
                cairo_vm::types::relocatable::MaybeRelocatable::Int(f) => {
                    crate::felt::felt_to_u64(&crate::felt::felt_from_vm(f))
                }
                _ => None,
            }
        };
        if word(end) != Some(crate::layout::JMP_REL_0) || word(end.saturating_add(1)) != Some(0) {
            return Err(ProgramError::NotProofMode);
        }
        if program.iter_data().any(|word| {
            matches!(
                word,
                cairo_vm::types::relocatable::MaybeRelocatable::RelocatableValue(_)
            )
        }) {
            return Err(ProgramError::Parse(
                "the bytecode holds a relocatable value".into(),
            ));
        }
        if let Some(unsupported) = program
            .iter_builtins()
            .find(|b| !SUPPORTED_BUILTINS.contains(b))
        {
            return Err(ProgramError::UnsupportedBuiltin(
                unsupported.to_str().to_string(),
            ));
        }
        let program = Self { program };
        program.check_inputs_label()?;
        Ok(program)
    }

    /// Refuses a program that reads a label's address but has no label where its inputs are
    /// (see the module documentation). A program that reads no label takes no inputs.
    fn check_inputs_label(&self) -> Result<(), ProgramError> {
        const READS_A_LABEL: &str = "starkware.cairo.common.registers.get_label_location";
        if self.program.get_identifier(READS_A_LABEL).is_none() || self.inputs_label().is_some() {
            return Ok(());
        }
        let len = self.bytecode_len();
        let misplaced: Vec<String> = self
            .program
            .iter_identifiers()
            .filter(|(name, id)| {
                id.type_.as_deref() == Some("label")
                    && name.starts_with("__main__.")
                    && !matches!(*name, "__main__.__start__" | "__main__.__end__")
            })
            .filter_map(|(name, id)| {
                let short = name.rsplit('.').next().unwrap_or(name);
                id.pc.map(|pc| format!("`{short}` at word {pc} of {len}"))
            })
            .collect();
        let found = if misplaced.is_empty() {
            String::new()
        } else {
            format!(" (labels found: {})", misplaced.join(", "))
        };
        Err(ProgramError::MisplacedInputs { found })
    }

    /// The cairo-vm program, for the runner.
    pub fn vm_program(&self) -> &Program {
        &self.program
    }

    /// Number of words of bytecode (instructions and immediates).
    pub fn bytecode_len(&self) -> usize {
        self.program.data_len()
    }

    /// The bytecode as field elements, in memory order (address 1 holds the first word).
    ///
    /// Compiled programs hold integers only; a relocatable word (never produced by
    /// `cairo-compile`) is refused at parse time, so this cannot fail.
    pub fn bytecode(&self) -> Vec<crate::Felt> {
        self.program
            .iter_data()
            .map(|word| match word {
                cairo_vm::types::relocatable::MaybeRelocatable::Int(felt) => {
                    crate::felt::felt_from_vm(felt)
                }
                cairo_vm::types::relocatable::MaybeRelocatable::RelocatableValue(_) => {
                    crate::Felt::zero()
                }
            })
            .collect()
    }

    /// Offset (from the program start) of the proof-mode entry point `__start__`.
    pub fn start_offset(&self) -> usize {
        self.label_pc("__main__.__start__").unwrap_or(0)
    }

    /// Offset of `__end__`, the `jmp rel 0` the run stops at.
    pub fn end_offset(&self) -> usize {
        self.label_pc("__main__.__end__").unwrap_or(0)
    }

    /// The builtins the program declares, in declaration order (the order of its initial
    /// stack and of its return values).
    pub fn builtins(&self) -> Vec<BuiltinName> {
        self.program.iter_builtins().copied().collect()
    }

    /// Name of a label placed right after the last instruction, where the input group lands;
    /// `None` when the program has no such label (it then cannot read its inputs).
    pub fn inputs_label(&self) -> Option<String> {
        let end = self.bytecode_len();
        self.program
            .iter_identifiers()
            .find(|(_, id)| id.type_.as_deref() == Some("label") && id.pc == Some(end))
            .map(|(name, _)| name.to_string())
    }

    /// Keccak-256 of the bytecode (each word as 32 big-endian bytes): a short name for the
    /// program in proof files and logs. Verification always uses the bytecode itself.
    pub fn hash(&self) -> [u8; 32] {
        crate::program_hash(&self.bytecode())
    }

    fn label_pc(&self, name: &str) -> Option<usize> {
        self.program.get_identifier(name).and_then(|i| i.pc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn a_program_with_its_input_label_at_the_end_is_accepted() {
        let program = CompiledProgram::parse(&read("guest-template/guest.json")).unwrap();
        assert_eq!(
            program.inputs_label().as_deref(),
            Some("__main__.main.inputs")
        );
    }

    /// `tests/fixtures/misplaced_inputs.cairo`: a function defined after `main` puts code
    /// between the input label and the end of the bytecode.
    #[test]
    fn a_program_whose_input_label_is_not_at_the_end_is_refused_with_the_fix() {
        let error =
            CompiledProgram::parse(&read("tests/fixtures/misplaced_inputs.json")).unwrap_err();
        assert!(
            matches!(error, ProgramError::MisplacedInputs { .. }),
            "{error}"
        );
        let message = error.to_string();
        assert!(message.contains("`inputs` at word 24 of 27"), "{message}");
        assert!(message.contains("move the functions defined after `main` above it"));
    }

    #[test]
    fn a_program_that_reads_no_label_needs_no_input_label() {
        let program = CompiledProgram::parse(&read("tests/programs/no_inputs.json")).unwrap();
        assert_eq!(program.inputs_label(), None);
    }
}
