//! Failed runs in plain words: what went wrong with a job, as one short line for people, as a
//! reason category for the server (`POST /program/failure`), and with the full cause kept for
//! `--json` and `-v`.
//!
//! cairo-vm's errors are precise but long and technical (a hint's Python source, a `pc`, two
//! field elements, sometimes several lines); the common ones are recognised by their wording and
//! named in words a program's author acts on.

use distributor_api::{FailureReason, MAX_FAILURE_MESSAGE_CHARS};

use crate::worker::FailureKind;

/// How `cairo_stark::ExecutionError::ProgramFailed` begins: it says nothing about this failure.
const VM_PREAMBLE: &str = "the program failed in cairo-vm: ";

/// The longest summary line, in characters (the first line of the cause is cut there).
const SUMMARY_CHARS: usize = 160;

/// A failed run, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub reason: FailureReason,
    /// One line: the plain-words reason and the first line of the cause.
    pub summary: String,
    /// Everything the worker said.
    pub cause: String,
}

impl Diagnosis {
    /// The cause as the server takes it (without the words every failed run starts with): at
    /// most [`MAX_FAILURE_MESSAGE_CHARS`] characters.
    pub fn report_message(&self) -> String {
        let cause = self.cause.trim_start();
        let cause = cause.strip_prefix(VM_PREAMBLE).unwrap_or(cause);
        cause.chars().take(MAX_FAILURE_MESSAGE_CHARS).collect()
    }
}

/// Whether a failure of this kind belongs to the job (every donor would fail the same way), so
/// that the server should count it, rather than to this machine (memory, files).
pub fn is_the_jobs(kind: FailureKind) -> bool {
    matches!(
        kind,
        FailureKind::Program | FailureKind::Inputs | FailureKind::Execution | FailureKind::Prove
    )
}

/// Names the failure `message` of a worker's `kind` of work.
pub fn diagnose(kind: FailureKind, message: &str) -> Diagnosis {
    let (reason, words) = match kind {
        FailureKind::Execution => classify(message),
        FailureKind::Program => (FailureReason::Other, "the program is not usable"),
        FailureKind::Inputs => (FailureReason::Other, "the input group is not usable"),
        _ => (FailureReason::Other, "proving failed"),
    };
    let first = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut summary = format!("{words}: {}", without_preamble(first.trim()));
    if summary.chars().count() > SUMMARY_CHARS {
        summary = summary.chars().take(SUMMARY_CHARS - 1).collect();
        summary.push('…');
    }
    Diagnosis {
        reason,
        summary,
        cause: message.to_string(),
    }
}

/// The line without the words that say nothing about this failure (every failed run, or every
/// failed hint, has them; a hint's come after the source position).
fn without_preamble(line: &str) -> String {
    let line = line.strip_prefix(VM_PREAMBLE).unwrap_or(line);
    line.replacen("Got an exception while executing a hint: ", "", 1)
}

/// The reason of a failed cairo-vm run, by the wording of its error, and its plain words.
fn classify(message: &str) -> (FailureReason, &'static str) {
    let text = message.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if has(&["did not reach `__end__` within", "step limit"]) {
        (
            FailureReason::StepLimit,
            "the run did not finish within the step limit (an endless loop, or inputs too large)",
        )
    } else if has(&["unknown hint"]) {
        (
            FailureReason::UnknownHint,
            "the program uses a hint this VM does not know (only the common library's hints run)",
        )
    } else if has(&[
        "range_check_builtin.bound",
        "range-check validation failed",
        "out of valid range",
        "rangecheck",
    ]) {
        (
            FailureReason::RangeCheck,
            "a value is outside the range check's bound (negative, or 2^128 or more)",
        )
    } else if has(&["assert"]) {
        (
            FailureReason::AssertFailed,
            "an assertion of the program does not hold for these inputs",
        )
    } else {
        (FailureReason::Other, "the program failed on these inputs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(path: &str) -> cairo_stark::CompiledProgram {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        cairo_stark::CompiledProgram::parse(&std::fs::read(path).expect("program"))
            .expect("a valid program")
    }

    /// The real cairo-vm message of running `program` on `inputs` with at most `steps` steps.
    fn failure_of(program: &cairo_stark::CompiledProgram, inputs: &[u64], steps: usize) -> String {
        let inputs: Vec<cairo_stark::Felt> = inputs.iter().map(|&v| v.into()).collect();
        match cairo_stark::execute_with_limit(program, &inputs, steps) {
            Ok(_) => panic!("the run should fail"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn real_cairo_vm_failures_get_their_reason() {
        let collatz = program("../example-program/collatz.json");
        // `assert [inputs] = 2` does not hold for three inputs.
        let assert = failure_of(&collatz, &[1, 2, 3], 1 << 20);
        let diagnosis = diagnose(FailureKind::Execution, &assert);
        assert_eq!(diagnosis.reason, FailureReason::AssertFailed, "{assert}");
        // The program was compiled with its debug info: the failing line is named.
        assert!(
            diagnosis.summary.contains(": collatz.cairo:58:5: "),
            "{}",
            diagnosis.summary
        );
        // The server gets the cause from the source position on.
        let reported = diagnosis.report_message();
        assert!(reported.starts_with("collatz.cairo:58:5: "), "{reported}");
        let steps = failure_of(&collatz, &[1, 1000], 50);
        assert_eq!(
            diagnose(FailureKind::Execution, &steps).reason,
            FailureReason::StepLimit,
            "{steps}"
        );
        // `assert_le(a + 1, b)` with a > b fails in its range-check hint.
        let range = failure_of(&collatz, &[20, 10], 1 << 20);
        let diagnosis = diagnose(FailureKind::Execution, &range);
        assert_eq!(diagnosis.reason, FailureReason::RangeCheck, "{range}");
        assert!(diagnosis
            .summary
            .starts_with("a value is outside the range check's bound"));
        assert!(
            diagnosis
                .summary
                .contains("(called from collatz.cairo:62:5): Assertion failed"),
            "{}",
            diagnosis.summary
        );
        assert!(
            range.contains("\ncalled from collatz.cairo:62:5"),
            "{range}"
        );
    }

    #[test]
    fn unknown_hints_and_other_failures_are_named() {
        let hint = diagnose(FailureKind::Execution, "Unknown Hint: memory[ap] = 7");
        assert_eq!(hint.reason, FailureReason::UnknownHint);
        let other = diagnose(FailureKind::Prove, "the prover ran out of patience");
        assert_eq!(other.reason, FailureReason::Other);
        assert_eq!(
            other.summary,
            "proving failed: the prover ran out of patience"
        );
    }

    #[test]
    fn the_summary_is_one_bounded_line_and_the_cause_is_kept_whole() {
        let cause = format!("\nError at pc=0:12:\n{}\nmore", "x".repeat(500));
        let diagnosis = diagnose(FailureKind::Execution, &cause);
        assert!(!diagnosis.summary.contains('\n'));
        assert!(diagnosis.summary.contains("Error at pc=0:12:"));
        assert!(diagnosis.summary.chars().count() <= SUMMARY_CHARS);
        assert_eq!(diagnosis.cause, cause);
        let long = diagnose(FailureKind::Execution, &"y".repeat(5000));
        assert_eq!(
            long.report_message().chars().count(),
            MAX_FAILURE_MESSAGE_CHARS
        );
    }

    #[test]
    fn only_failures_of_the_job_are_the_jobs() {
        assert!(is_the_jobs(FailureKind::Execution));
        assert!(!is_the_jobs(FailureKind::Memory));
        assert!(!is_the_jobs(FailureKind::Io));
    }
}
