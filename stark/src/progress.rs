//! Progress reports from the prover: which stage runs, and how much of the whole proof is done.
//!
//! The overall fraction weighs each stage by its share of a proof's time in the memory mode the
//! proof runs in, measured with the Cairo prover's bench (`cargo run --release -p cairo-stark
//! --bin bench -- --single 16 --memory lean|fast`, which prints the shares): they barely move
//! with the trace length, since every stage is `O(n log n)` in the rows. The fraction is a guide
//! for a progress bar and an ETA, not a promise.

use crate::MemoryMode;

/// The prover's stages, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Interpolating and committing the main and auxiliary trace columns.
    Commit,
    /// Evaluating, interpolating and committing the composition polynomial.
    Composition,
    /// Out-of-domain evaluations and the DEEP composition.
    Deep,
    /// FRI folding and its layer commitments.
    Fri,
    /// Proof of work and the query openings.
    Queries,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Commit,
        Stage::Composition,
        Stage::Deep,
        Stage::Fri,
        Stage::Queries,
    ];

    /// Share of a proof's time spent in this stage (the shares add up to 1 in each mode). The
    /// fast mode keeps the extension, so the composition and the openings need no transforms.
    fn weight(self, memory: MemoryMode) -> f64 {
        match (memory, self) {
            (MemoryMode::Lean, Stage::Commit) => 0.55,
            (MemoryMode::Lean, Stage::Composition) => 0.30,
            (MemoryMode::Lean, Stage::Deep) => 0.045,
            (MemoryMode::Lean, Stage::Fri) => 0.005,
            (MemoryMode::Lean, Stage::Queries) => 0.10,
            (MemoryMode::Fast, Stage::Commit) => 0.81,
            (MemoryMode::Fast, Stage::Composition) => 0.11,
            (MemoryMode::Fast, Stage::Deep) => 0.055,
            (MemoryMode::Fast, Stage::Fri) => 0.01,
            (MemoryMode::Fast, Stage::Queries) => 0.015,
        }
    }

    /// Fraction of a proof done when this stage starts.
    fn start(self, memory: MemoryMode) -> f64 {
        Stage::ALL
            .iter()
            .take_while(|s| **s != self)
            .map(|s| s.weight(memory))
            .sum()
    }
}

/// Receives the stage now running and the fraction of the whole proof done (`0..=1`, never
/// decreasing). Called on the thread that called the prover.
pub type Progress<'a> = &'a mut dyn FnMut(Stage, f64);

/// Turns the prover's position (a stage, a window of it, a fraction of that window) into
/// reports of the overall fraction done.
pub(crate) struct Tracker<'a> {
    report: Progress<'a>,
    memory: MemoryMode,
    stage: Stage,
    /// The part of the current stage (as fractions of it) the next `step`s cover.
    window: (f64, f64),
    last: f64,
}

impl<'a> Tracker<'a> {
    pub(crate) fn new(report: Progress<'a>, memory: MemoryMode) -> Self {
        Tracker {
            report,
            memory,
            stage: Stage::Commit,
            window: (0.0, 1.0),
            last: 0.0,
        }
    }

    /// The coming steps cover the fractions `from..to` of `stage`; reports its start.
    pub(crate) fn enter(&mut self, stage: Stage, from: f64, to: f64) {
        self.stage = stage;
        self.window = (from, to);
        self.step(0.0);
    }

    /// `done` (0..=1) of the current window is done.
    pub(crate) fn step(&mut self, done: f64) {
        let (from, to) = self.window;
        let within = from + (to - from) * done.clamp(0.0, 1.0);
        let (start, weight) = (
            self.stage.start(self.memory),
            self.stage.weight(self.memory),
        );
        let overall = (start + weight * within).min(1.0);
        self.last = self.last.max(overall);
        (self.report)(self.stage, self.last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_cover_the_whole_proof() {
        for memory in [MemoryMode::Lean, MemoryMode::Fast] {
            let total: f64 = Stage::ALL.iter().map(|s| s.weight(memory)).sum();
            assert!(
                (total - 1.0).abs() < 1e-9,
                "{memory:?}: weights add up to {total}"
            );
            assert_eq!(Stage::Commit.start(memory), 0.0);
            let end = Stage::Queries.start(memory) + Stage::Queries.weight(memory);
            assert!((end - 1.0).abs() < 1e-9, "{memory:?}: ends at {end}");
        }
    }

    #[test]
    fn reports_never_go_back() {
        let mut seen = Vec::new();
        let mut record = |stage: Stage, f: f64| seen.push((stage, f));
        let mut tracker = Tracker::new(&mut record, MemoryMode::Lean);
        tracker.enter(Stage::Commit, 0.0, 0.5);
        tracker.step(1.0);
        // A window that starts before the last report must not move the fraction back.
        tracker.enter(Stage::Commit, 0.2, 1.0);
        tracker.step(0.5);
        tracker.enter(Stage::Queries, 0.0, 1.0);
        tracker.step(1.0);
        let fractions: Vec<f64> = seen.iter().map(|(_, f)| *f).collect();
        assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
        let (stage, last) = seen[seen.len() - 1];
        assert_eq!(stage, Stage::Queries);
        assert!((last - 1.0).abs() < 1e-9, "ends at {last}");
        let half_commit = 0.5 * Stage::Commit.weight(MemoryMode::Lean);
        assert_eq!(seen[1], (Stage::Commit, half_commit));
    }
}
