//! Running a compiled program on an input group in cairo-vm (proof mode, layout `small`).
//!
//! The input group `[x1..xn]` is bound by appending `[n, x1..xn]` to the program segment right
//! after the last instruction (`vm.load_data` after `initialize()`): the program finds it through
//! a label at the very end of its code, and the cells belong to the public program memory the
//! verifier rebuilds. The run stops at `__end__` (the proof-mode `jmp rel 0`); no padding steps
//! are executed here, the AIR pads the trace itself.
//!
//! What comes out is an [`Execution`]: the register trace, the relocated memory and the facts
//! the statement is made of (segments, builtin pointers, outputs, step count).

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::felt::{felt_from_vm, felt_to_u64, felt_to_vm};
use crate::layout::code_address;
use cairo_vm::hint_processor::builtin_hint_processor::builtin_hint_processor_definition::BuiltinHintProcessor;
use cairo_vm::serde::deserialize_program::Location;
use cairo_vm::types::builtin_name::BuiltinName;
use cairo_vm::types::layout_name::LayoutName;
use cairo_vm::types::relocatable::{MaybeRelocatable, Relocatable};
use cairo_vm::vm::errors::vm_errors::VirtualMachineError;
use cairo_vm::vm::errors::vm_exception::{get_error_attr_value, get_location};
use cairo_vm::vm::runners::cairo_runner::{CairoRunner, RunResources};

use crate::program::{CompiledProgram, SUPPORTED_BUILTINS};
use crate::Felt;

/// Default bound on the number of Cairo steps of one run: a trace of 2^22 rows, which the prover
/// fits in about 14 GB (its memory grows linearly with the rows; see `cairo-stark/BENCHMARKS.md`).
pub const DEFAULT_MAX_STEPS: usize = (1 << 22) - 1;

/// Largest input group accepted (the cells are appended to the program segment).
pub const MAX_INPUTS: usize = 1 << 22;

#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    #[error("the program failed in cairo-vm: {0}")]
    ProgramFailed(String),
    #[error("the program did not reach `__end__` within {0} steps")]
    StepLimit(usize),
    #[error("the program uses the `{0}` builtin; only `output` and `range_check` are supported")]
    UnsupportedBuiltin(String),
    #[error("too many inputs: {0} (at most {MAX_INPUTS})")]
    TooManyInputs(usize),
    #[error("cairo-vm produced an execution the prover cannot use: {0}")]
    Unusable(String),
}

/// Registers before one step (relocated addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registers {
    pub pc: u64,
    pub ap: u64,
    pub fp: u64,
}

/// A relocated builtin segment `[base, stop)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub base: u64,
    pub stop: u64,
}

/// One finished run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    /// The program's bytecode (without the inputs).
    pub bytecode: Vec<Felt>,
    pub inputs: Vec<Felt>,
    /// Declared builtins in declaration order.
    pub builtins: Vec<BuiltinName>,
    /// `trace[t]` holds the registers before step `t`; `trace[steps]` is the final state
    /// (pc at `__end__`).
    pub trace: Vec<Registers>,
    /// Relocated memory: `memory[a]` is the value at address `a` (address 0 is never used).
    pub memory: Vec<Option<Felt>>,
    pub steps: usize,
    /// Base of the execution segment; the initial `ap = fp = execution_base + 2`.
    pub execution_base: u64,
    pub start_pc: u64,
    pub end_pc: u64,
    pub output: Option<Segment>,
    pub range_check: Option<Segment>,
    /// The values written to the output builtin.
    pub outputs: Vec<Felt>,
}

impl Execution {
    pub fn initial_ap(&self) -> u64 {
        self.execution_base + 2
    }

    pub fn final_registers(&self) -> Registers {
        self.trace[self.steps]
    }

    /// The public memory of this run, as the verifier rebuilds it: bytecode and `[n, inputs]`,
    /// the initial stack, the final builtin pointers and the outputs.
    pub fn public_memory(&self) -> Vec<(u64, Felt)> {
        let pointers: Vec<(u64, u64)> = self
            .builtins
            .iter()
            .map(|b| {
                let segment = match *b {
                    BuiltinName::output => self.output,
                    BuiltinName::range_check => self.range_check,
                    _ => None,
                };
                segment.map_or((0, 0), |s| (s.base, s.stop))
            })
            .collect();
        crate::statement::public_memory_cells(
            &self.bytecode,
            &self.inputs,
            &pointers,
            self.final_registers().ap,
            self.output.map_or(0, |s| s.base),
            &self.outputs,
        )
    }
}

/// Runs `program` on `inputs` with at most [`DEFAULT_MAX_STEPS`] steps.
pub fn execute(program: &CompiledProgram, inputs: &[Felt]) -> Result<Execution, ExecutionError> {
    execute_with_limit(program, inputs, DEFAULT_MAX_STEPS)
}

/// Runs `program` on `inputs`, failing if `__end__` is not reached within `max_steps` steps.
pub fn execute_with_limit(
    program: &CompiledProgram,
    inputs: &[Felt],
    max_steps: usize,
) -> Result<Execution, ExecutionError> {
    if inputs.len() > MAX_INPUTS {
        return Err(ExecutionError::TooManyInputs(inputs.len()));
    }
    if let Some(b) = program
        .builtins()
        .iter()
        .find(|b| !SUPPORTED_BUILTINS.contains(b))
    {
        return Err(ExecutionError::UnsupportedBuiltin(b.to_str().to_string()));
    }
    // cairo-vm is not written for hostile programs; a panic inside it must not take the caller
    // (a server, a donor's client) down with it.
    catch_unwind(AssertUnwindSafe(|| run(program, inputs, max_steps))).unwrap_or_else(|_| {
        Err(ExecutionError::ProgramFailed(
            "cairo-vm panicked while running the program".into(),
        ))
    })
}

fn failed(e: impl std::fmt::Display) -> ExecutionError {
    ExecutionError::ProgramFailed(e.to_string())
}

/// The message of a run that failed at the current pc, in the program's own terms: first the
/// source position of the failing instruction (or hint), when the program was compiled with its
/// debug info, and the first caller in another file (a failed library check names the line of
/// the program that called it), then the messages of the `with_attr error_message(...)` blocks
/// around it, then cairo-vm's error; a line per caller follows ("called from guest.cairo:30:5").
///
/// cairo-vm's own `VmException` text is not used: it reads the source files the debug info
/// names from the disk, and a program's debug info is written by whoever uploaded it.
fn located(runner: &CairoRunner, error: VirtualMachineError) -> String {
    let pc = runner.vm.get_pc();
    let hint = match &error {
        VirtualMachineError::Hint(hint) => Some(hint.0),
        _ => None,
    };
    let code_location = |pc: Relocatable, hint| {
        (pc.segment_index == 0)
            .then(|| get_location(pc.offset, runner, hint))
            .flatten()
    };
    let callers: Vec<Location> = runner
        .vm
        .get_traceback_entries()
        .into_iter()
        .filter_map(|(_, call)| code_location(call, None))
        // `<start>`: the proof-mode entry the compiler adds, no line of anybody's source.
        .filter(|at| !at.input_file.filename.starts_with('<'))
        .collect();
    let mut message = match code_location(pc, hint) {
        Some(at) => {
            let caller = callers
                .iter()
                .find(|c| c.input_file.filename != at.input_file.filename);
            match caller {
                Some(caller) => format!("{} (called from {}): ", position(&at), position(caller)),
                None => format!("{}: ", position(&at)),
            }
        }
        None => format!("pc {pc} (no source line: compiled without debug info): "),
    };
    let notes = (pc.segment_index == 0)
        .then(|| get_error_attr_value(pc.offset, runner))
        .flatten()
        .unwrap_or_default();
    for note in notes
        .lines()
        .filter_map(|l| l.strip_prefix("Error message: "))
    {
        message.push_str(note.trim());
        message.push_str(": ");
    }
    message.push_str(&error.to_string());
    for caller in &callers {
        message.push_str(&format!("\ncalled from {}", position(caller)));
    }
    message
}

/// `file:line:column` of a source location: the file's name only (not the directory it was
/// compiled in), without control characters, at most 80 characters.
fn position(at: &Location) -> String {
    let path = &at.input_file.filename;
    let name: String = path
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
        .chars()
        .filter(|c| !c.is_control())
        .take(80)
        .collect();
    format!("{name}:{}:{}", at.start_line, at.start_col)
}

fn unusable(what: impl Into<String>) -> ExecutionError {
    ExecutionError::Unusable(what.into())
}

fn run(
    program: &CompiledProgram,
    inputs: &[Felt],
    max_steps: usize,
) -> Result<Execution, ExecutionError> {
    let (runner, last) = run_to_end(program, inputs, max_steps)?;
    let table = runner.vm.segments.relocate_segments().map_err(failed)?;
    let memory: Vec<Option<Felt>> = runner
        .relocated_memory
        .iter()
        .map(|cell| cell.as_ref().map(felt_from_vm))
        .collect();
    let trace = register_trace(&runner, &table, last)?;
    let steps = trace.len() - 1;
    let execution_base = execution_base(program, inputs.len(), &table)?;
    let builtins = program.builtins();
    let segments = builtin_segments(&runner, &builtins, &table, &memory, trace[steps].ap)?;
    let outputs = match segments.output {
        Some(seg) => output_cells(&memory, seg)?,
        None => Vec::new(),
    };
    Ok(Execution {
        bytecode: program.bytecode(),
        inputs: inputs.to_vec(),
        builtins,
        trace,
        memory,
        steps,
        execution_base,
        start_pc: code_address(program.start_offset()),
        end_pc: code_address(program.end_offset()),
        output: segments.output,
        range_check: segments.range_check,
        outputs,
    })
}

/// The registers `(pc, ap, fp)` at `__end__`, before the runner's end of run.
type FinalRegisters = (Relocatable, Relocatable, Relocatable);

/// Runs `program` on `inputs` (appended right after the bytecode as `[n, x1..xn]`) until
/// `__end__`, within `max_steps`, and relocates its memory and trace. Returns the runner and
/// the registers at `__end__`, read before the end of the run can move them.
fn run_to_end(
    program: &CompiledProgram,
    inputs: &[Felt],
    max_steps: usize,
) -> Result<(CairoRunner, FinalRegisters), ExecutionError> {
    let mut runner = CairoRunner::new(
        program.vm_program(),
        LayoutName::small,
        None,
        true,
        true,
        true,
    )
    .map_err(failed)?;
    let end = runner.initialize(false).map_err(failed)?;
    let mut appended = Vec::with_capacity(inputs.len() + 1);
    appended.push(MaybeRelocatable::from(cairo_vm::Felt252::from(
        inputs.len() as u64,
    )));
    appended.extend(inputs.iter().map(|x| MaybeRelocatable::from(felt_to_vm(x))));
    let inputs_start = Relocatable::from((0, program.bytecode_len()));
    runner
        .vm
        .load_data(inputs_start, &appended)
        .map_err(failed)?;

    let mut hints = BuiltinHintProcessor::new(HashMap::new(), RunResources::new(max_steps));
    match runner.run_until_pc(end, &mut hints) {
        Ok(()) => {}
        Err(VirtualMachineError::UnfinishedExecution) => {
            return Err(ExecutionError::StepLimit(max_steps))
        }
        Err(e) => return Err(ExecutionError::ProgramFailed(located(&runner, e))),
    }
    if runner.vm.get_pc() != end {
        return Err(ExecutionError::StepLimit(max_steps));
    }
    let last = (runner.vm.get_pc(), runner.vm.get_ap(), runner.vm.get_fp());
    runner
        .end_run(true, false, &mut hints, false)
        .map_err(failed)?;
    runner.relocate(true, true).map_err(failed)?;
    Ok((runner, last))
}

/// The relocated registers before each step, then the final state `last` (`trace[steps]`).
fn register_trace(
    runner: &CairoRunner,
    table: &[usize],
    last: FinalRegisters,
) -> Result<Vec<Registers>, ExecutionError> {
    let relocate = |r: Relocatable| -> Result<u64, ExecutionError> {
        let base = usize::try_from(r.segment_index)
            .ok()
            .and_then(|i| table.get(i))
            .ok_or_else(|| unusable("a register points into a temporary segment"))?;
        Ok((base + r.offset) as u64)
    };
    let (final_pc, final_ap, final_fp) = last;
    let relocated_trace = runner
        .relocated_trace
        .as_ref()
        .ok_or_else(|| unusable("no trace was recorded"))?;
    if relocated_trace.is_empty() {
        return Err(unusable("the program ran no step"));
    }
    let mut trace: Vec<Registers> = relocated_trace
        .iter()
        .map(|e| Registers {
            pc: e.pc as u64,
            ap: e.ap as u64,
            fp: e.fp as u64,
        })
        .collect();
    trace.push(Registers {
        pc: relocate(final_pc)?,
        ap: relocate(final_ap)?,
        fp: relocate(final_fp)?,
    });
    Ok(trace)
}

/// Where the execution segment starts, checked against the layout the statement assumes: the
/// program segment at address 1, then the bytecode, the inputs and nothing else before it.
fn execution_base(
    program: &CompiledProgram,
    inputs: usize,
    table: &[usize],
) -> Result<u64, ExecutionError> {
    let program_base = *table
        .first()
        .ok_or_else(|| unusable("no program segment"))? as u64;
    let execution_base = *table
        .get(1)
        .ok_or_else(|| unusable("no execution segment"))? as u64;
    if program_base != 1 {
        return Err(unusable("the program segment does not start at address 1"));
    }
    let expected = crate::statement::execution_base(program.bytecode_len(), inputs);
    if execution_base != expected {
        return Err(unusable(format!(
            "the execution segment starts at {execution_base}, expected {expected} (the program wrote past its bytecode and inputs)"
        )));
    }
    Ok(execution_base)
}

/// The segments of the builtins the AIR supports.
#[derive(Default)]
struct BuiltinSegments {
    output: Option<Segment>,
    range_check: Option<Segment>,
}

/// The program's builtin segments: bases from the runners, stops from the final stack, where
/// main's return values sit in declaration order just below the final `ap`.
fn builtin_segments(
    runner: &CairoRunner,
    builtins: &[BuiltinName],
    table: &[usize],
    memory: &[Option<Felt>],
    final_ap: u64,
) -> Result<BuiltinSegments, ExecutionError> {
    let mut segments = BuiltinSegments::default();
    for (i, name) in builtins.iter().enumerate() {
        let runner_base = runner
            .vm
            .builtin_runners
            .iter()
            .find(|b| b.name() == *name)
            .map(|b| b.base())
            .ok_or_else(|| ExecutionError::UnsupportedBuiltin(name.to_str().to_string()))?;
        let base = *table
            .get(runner_base)
            .ok_or_else(|| unusable("builtin segment was not relocated"))?
            as u64;
        let stop_addr = (final_ap as usize + i)
            .checked_sub(builtins.len())
            .ok_or_else(|| unusable("final ap below the builtin pointers"))?;
        let stop = memory
            .get(stop_addr)
            .and_then(|c| c.as_ref())
            .and_then(felt_to_u64)
            .ok_or_else(|| unusable(format!("no pointer at address {stop_addr}")))?;
        if stop < base {
            return Err(unusable(format!(
                "the {} pointer moved backwards",
                name.to_str()
            )));
        }
        let segment = Some(Segment { base, stop });
        match *name {
            BuiltinName::output => segments.output = segment,
            BuiltinName::range_check => segments.range_check = segment,
            other => return Err(ExecutionError::UnsupportedBuiltin(other.to_str().into())),
        }
    }
    Ok(segments)
}

/// The values written to the output builtin's segment.
fn output_cells(memory: &[Option<Felt>], segment: Segment) -> Result<Vec<Felt>, ExecutionError> {
    (segment.base..segment.stop)
        .map(|a| {
            memory
                .get(a as usize)
                .copied()
                .flatten()
                .ok_or_else(|| unusable(format!("output cell {a} was never written")))
        })
        .collect()
}
