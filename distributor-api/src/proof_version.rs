//! Proofs of another proof-file format version than this build reads: one wording of why, for
//! the server and both CLIs (each adds what its user should do).

/// A proof file whose format version this build does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofVersionMismatch {
    /// The version written in the proof.
    pub found: u16,
    /// The version this build reads.
    pub supported: u16,
}

impl ProofVersionMismatch {
    /// The proof comes from an older prover (rather than from a newer one).
    pub fn is_older(&self) -> bool {
        self.found < self.supported
    }
}

impl std::fmt::Display for ProofVersionMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let age = if self.is_older() {
            "an older"
        } else {
            "a newer"
        };
        write!(
            f,
            "the proof was made by {age} prover version {}; this build reads version {}",
            self.found, self.supported
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_says_which_side_is_older() {
        let old = ProofVersionMismatch {
            found: 1,
            supported: 2,
        };
        assert!(old.is_older());
        assert_eq!(
            old.to_string(),
            "the proof was made by an older prover version 1; this build reads version 2"
        );
        let new = ProofVersionMismatch {
            found: 3,
            supported: 2,
        };
        assert!(!new.is_older());
        assert!(new.to_string().contains("a newer prover version 3"));
    }
}
