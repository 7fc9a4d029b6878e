//! Compiled programs: what the server accepts and what the prover runs.
//!
//! A program must be the JSON that `cairo-compile --proof_mode` writes: it parses with cairo-vm,
//! has a `main`, and has the `__start__`/`__end__` labels proof mode adds, and it uses only the
//! builtins the AIR supports.

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
        if let Some(unsupported) = program
            .iter_builtins()
            .find(|b| !SUPPORTED_BUILTINS.contains(b))
        {
            return Err(ProgramError::UnsupportedBuiltin(
                unsupported.to_str().to_string(),
            ));
        }
        Ok(Self { program })
    }

    /// The cairo-vm program, for the runner.
    pub fn vm_program(&self) -> &Program {
        &self.program
    }

    /// Number of words of bytecode (instructions and immediates).
    pub fn bytecode_len(&self) -> usize {
        self.program.data_len()
    }
}
