//! The Collatz answer the demo computes, and the one it must be (example-program/README.md).

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;

/// The example program's outputs, by position from 1 (as `results aggregate --column` counts):
/// the range `[a, b)`, the total of its stopping times, the longest one and where it starts.
pub const A: usize = 1;
pub const B: usize = 2;
pub const TOTAL: usize = 3;
pub const LONGEST: usize = 4;
pub const LONGEST_START: usize = 5;

/// The answer for `[1, 257)`, the range `example-program/inputs/` covers.
const EXPECTED: Answer = Answer {
    total: 11515,
    longest: 127,
    start: 231,
    low: 1,
    high: 257,
    covered: 256,
};

/// One verified input group, as `uploader-client results show --json` lists it.
#[derive(Debug, Deserialize)]
pub struct ResultLine {
    pub name: String,
    /// The program's outputs, in order.
    pub outputs: Vec<String>,
    /// The Cairo steps its proof proves.
    pub steps: u64,
}

impl ResultLine {
    /// Output `column` (from 1) as a number.
    fn output(&self, column: usize) -> Result<u64> {
        let value = self
            .outputs
            .get(column - 1)
            .with_context(|| format!("group {} has no output {column}", self.name))?;
        value
            .parse()
            .with_context(|| format!("output {column} of group {} is {value:?}", self.name))
    }
}

/// The answer over every verified group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The sum of the totals (what `results aggregate` reduced).
    pub total: u64,
    /// The largest stopping time (what `results aggregate` reduced).
    pub longest: u64,
    /// Where the longest chain starts: the start of the group holding the maximum, the smallest
    /// one on ties.
    pub start: u64,
    /// The groups' ranges: the lowest `a`, the highest `b`, and how many values they hold.
    pub low: u64,
    pub high: u64,
    pub covered: u64,
}

impl Answer {
    /// The answer from the aggregated `total` and `longest` and the groups themselves (the start
    /// of the longest chain, and the ranges they cover, which no reducer gives).
    pub fn new(total: u64, longest: u64, lines: &[ResultLine]) -> Result<Answer> {
        let (mut best, mut start) = (None, 0);
        let (mut low, mut high, mut covered) = (u64::MAX, 0, 0u64);
        for line in lines {
            let (a, b) = (line.output(A)?, line.output(B)?);
            ensure!(a < b, "group {} has the empty range [{a}, {b})", line.name);
            let (longest, at) = (line.output(LONGEST)?, line.output(LONGEST_START)?);
            if best.is_none_or(|best| longest > best || (longest == best && at < start)) {
                (best, start) = (Some(longest), at);
            }
            (low, high, covered) = (low.min(a), high.max(b), covered.saturating_add(b - a));
        }
        ensure!(!lines.is_empty(), "no verified results");
        Ok(Answer {
            total,
            longest,
            start,
            low,
            high,
            covered,
        })
    }

    /// Fails unless this is the expected answer and the groups tile `[1, 257)`.
    pub fn check(&self) -> Result<()> {
        let expected = EXPECTED;
        ensure!(
            self.total == expected.total,
            "total is {}, expected {}",
            self.total,
            expected.total
        );
        ensure!(
            self.longest == expected.longest,
            "longest is {}, expected {}",
            self.longest,
            expected.longest
        );
        ensure!(
            self.start == expected.start,
            "longest chain starts at {}, expected {}",
            self.start,
            expected.start
        );
        if (self.low, self.high, self.covered) != (expected.low, expected.high, expected.covered) {
            bail!(
                "the groups cover [{}, {}) with {} values, expected [{}, {}) with {}",
                self.low,
                self.high,
                self.covered,
                expected.low,
                expected.high,
                expected.covered
            );
        }
        Ok(())
    }

    /// The line that closes a successful demo.
    pub fn ok_line() -> String {
        let e = EXPECTED;
        format!(
            "DEMO OK: the answer matches the expected one (total {}, longest {} at {})",
            e.total, e.longest, e.start
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(outputs: [u64; 5]) -> ResultLine {
        ResultLine {
            name: "g".into(),
            outputs: outputs.iter().map(u64::to_string).collect(),
            steps: 10,
        }
    }

    #[test]
    fn the_longest_chain_starts_at_the_smallest_start_on_ties() {
        let lines = [
            line([9, 17, 50, 19, 9]),
            line([1, 9, 40, 19, 7]),
            line([17, 25, 60, 12, 18]),
        ];
        let answer = Answer::new(150, 19, &lines).unwrap();
        assert_eq!((answer.start, answer.low, answer.high), (7, 1, 25));
        assert_eq!(answer.covered, 24);
        assert!(answer
            .check()
            .unwrap_err()
            .to_string()
            .contains("total is 150"));
    }

    #[test]
    fn the_expected_answer_passes_and_a_gap_does_not() {
        let mut answer = EXPECTED;
        assert!(answer.check().is_ok());
        answer.covered = 240;
        let error = answer.check().unwrap_err().to_string();
        assert!(error.contains("cover [1, 257) with 240 values"), "{error}");
    }

    #[test]
    fn bad_outputs_are_errors_not_panics() {
        let mut bad = line([1, 2, 3, 4, 5]);
        bad.outputs.truncate(3);
        assert!(Answer::new(0, 0, &[bad]).is_err());
        let mut bad = line([1, 2, 3, 4, 5]);
        bad.outputs[0] = "x".into();
        assert!(Answer::new(0, 0, &[bad]).is_err());
        assert!(Answer::new(0, 0, &[]).is_err());
        assert!(Answer::new(0, 0, &[line([5, 5, 0, 0, 5])]).is_err());
    }
}
