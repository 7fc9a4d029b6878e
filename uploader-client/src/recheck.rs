//! `proofs verify --recheck`: re-executing a random sample of the verified input groups in
//! cairo-vm, on this machine's own copies of the program and inputs, and comparing what the run
//! produced with what the proof established.
//!
//! A verified proof is already a proof of the outputs; this is the guard against a bug in the
//! prover or the verifier (an unsound constraint, a mis-encoded claim) that would let a wrong
//! proof through. Execution costs a few hundredths of a percent of proving, so rechecking a few
//! percent of the groups is cheap. A disagreement is never explained away: the proof is rejected.
//!
//! The sample: the groups are verified in a random order, and a verified group is re-executed
//! whenever fewer than `ceil(fraction × verified so far)` have been; so the first verified group
//! always is, and the rechecked ones are a uniformly random subset of the verified ones.

use cairo_stark::inputs::to_decimal;
use cairo_stark::{CompiledProgram, Execution, ExecutionError, Felt, Verified};

/// The share of verified groups to re-execute: `0 < fraction <= 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fraction(f64);

impl Fraction {
    /// Parses a command-line value (`0.05`, `1`).
    pub fn parse(text: &str) -> Result<Fraction, String> {
        let value: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not a number; give a fraction such as 0.05"))?;
        if !(value > 0.0 && value <= 1.0) {
            return Err(format!(
                "{text} is not a fraction above 0 and at most 1 (0.05 re-executes 5% of the \
                 verified groups, 1 all of them)"
            ));
        }
        Ok(Fraction(value))
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

/// Decides, one verified group after another, which ones are re-executed.
#[derive(Debug)]
pub struct Sampler {
    fraction: Fraction,
    verified: usize,
    rechecked: usize,
}

impl Sampler {
    pub fn new(fraction: Fraction) -> Self {
        Sampler {
            fraction,
            verified: 0,
            rechecked: 0,
        }
    }

    /// Called once per verified group: whether to re-execute this one.
    pub fn take(&mut self) -> bool {
        self.verified += 1;
        let quota = (self.fraction.0 * self.verified as f64).ceil() as usize;
        let take = self.rechecked < quota;
        if take {
            self.rechecked += 1;
        }
        take
    }
}

/// How a re-execution contradicted a verified proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error("the proof verified, but re-executing the program on this machine failed: {0}")]
    ExecutionFailed(String),
    #[error(
        "the proof verified, but re-executing gives other outputs: proven [{}], executed [{}]",
        .proven.join(", "), .executed.join(", ")
    )]
    Outputs {
        proven: Vec<String>,
        executed: Vec<String>,
    },
    #[error(
        "the proof verified, but re-executing takes {executed} steps where it proves {proven}"
    )]
    Steps { proven: u64, executed: u64 },
}

/// Runs `program` on `inputs` and compares the run with `verified`.
pub fn recheck(
    program: &CompiledProgram,
    inputs: &[Felt],
    verified: &Verified,
) -> Result<(), Mismatch> {
    compare(verified, cairo_stark::execute(program, inputs))
}

/// The comparison itself: the outputs, then the step count, must be the same.
pub fn compare(
    verified: &Verified,
    execution: Result<Execution, ExecutionError>,
) -> Result<(), Mismatch> {
    let execution = execution.map_err(|e| Mismatch::ExecutionFailed(e.to_string()))?;
    if execution.outputs != verified.outputs {
        return Err(Mismatch::Outputs {
            proven: verified.outputs.iter().map(to_decimal).collect(),
            executed: execution.outputs.iter().map(to_decimal).collect(),
        });
    }
    if execution.steps as u64 != verified.steps {
        return Err(Mismatch::Steps {
            proven: verified.steps,
            executed: execution.steps as u64,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairo_stark::{ProofOptions, SecurityPolicy};

    fn collatz() -> CompiledProgram {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../example-program/collatz.json");
        CompiledProgram::parse(&std::fs::read(path).unwrap()).unwrap()
    }

    fn felts(values: &[u64]) -> Vec<Felt> {
        values.iter().map(|&v| Felt::from(v)).collect()
    }

    /// A real proof of Collatz on `inputs`, verified.
    fn verified(program: &CompiledProgram, inputs: &[Felt]) -> Verified {
        let execution = cairo_stark::execute(program, inputs).unwrap();
        let proof = cairo_stark::prove(&execution, &ProofOptions::insecure_for_tests()).unwrap();
        cairo_stark::verify(
            &proof.to_bytes(),
            program,
            inputs,
            &SecurityPolicy::conjectured(0),
        )
        .unwrap()
    }

    #[test]
    fn fractions_must_be_above_0_and_at_most_1() {
        assert_eq!(Fraction::parse("1").unwrap().value(), 1.0);
        assert_eq!(Fraction::parse(" 0.05").unwrap().value(), 0.05);
        for bad in ["0", "-0.5", "1.01", "2", "NaN", "inf", "", "five"] {
            let err = Fraction::parse(bad).unwrap_err();
            assert!(err.contains("fraction"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_sample_has_at_least_one_group_and_follows_the_fraction() {
        let taken = |fraction: &str, verified: usize| {
            let mut sampler = Sampler::new(Fraction::parse(fraction).unwrap());
            (0..verified).filter(|_| sampler.take()).count()
        };
        assert_eq!(taken("0.001", 1), 1);
        assert_eq!(taken("0.001", 50), 1);
        assert_eq!(taken("0.25", 8), 2);
        assert_eq!(taken("0.3", 10), 3);
        assert_eq!(taken("1", 7), 7);
        let mut sampler = Sampler::new(Fraction::parse("0.5").unwrap());
        assert!(
            sampler.take(),
            "the first verified group is always re-executed"
        );
    }

    #[test]
    fn an_honest_proof_agrees_with_its_re_execution() {
        let program = collatz();
        let inputs = felts(&[1, 3]);
        let verified = verified(&program, &inputs);
        assert_eq!(recheck(&program, &inputs, &verified), Ok(()));
    }

    #[test]
    fn outputs_that_differ_from_a_re_execution_are_a_mismatch() {
        // A valid proof of [1, 3] compared with the run on [3, 5]: what a prover bug that let
        // wrong outputs through would look like to the comparison.
        let program = collatz();
        let proven = verified(&program, &felts(&[1, 3]));
        let other_run = cairo_stark::execute(&program, &felts(&[3, 5]));
        let mismatch = compare(&proven, other_run).unwrap_err();
        let Mismatch::Outputs {
            proven: p,
            executed,
        } = &mismatch
        else {
            panic!("expected an output mismatch, got {mismatch:?}");
        };
        assert_eq!(p[..2], ["1".to_string(), "3".to_string()]);
        assert_eq!(executed[..2], ["3".to_string(), "5".to_string()]);
        assert!(mismatch.to_string().contains("other outputs"), "{mismatch}");
    }

    #[test]
    fn a_run_that_fails_or_takes_other_steps_is_a_mismatch() {
        let program = collatz();
        let inputs = felts(&[1, 3]);
        let proven = verified(&program, &inputs);
        let cut_short = cairo_stark::execute_with_limit(&program, &inputs, 5);
        assert!(matches!(
            compare(&proven, cut_short),
            Err(Mismatch::ExecutionFailed(_))
        ));
        // Same outputs, another step count (a claim the prover got wrong).
        let mut wrong_steps = proven.clone();
        wrong_steps.steps += 1;
        let run = cairo_stark::execute(&program, &inputs);
        assert_eq!(
            compare(&wrong_steps, run),
            Err(Mismatch::Steps {
                proven: proven.steps + 1,
                executed: proven.steps
            })
        );
    }
}
