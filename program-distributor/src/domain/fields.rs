//! Names, descriptions, credentials, timeouts and verification policies.

use distributor_api::{
    ProofPolicy, MAX_FAILURE_MESSAGE_CHARS, MAX_MAX_FAILURES, MAX_SECURITY_BITS,
};

use super::{text, Invalid};

pub const MAX_NAME_CHARS: usize = 128;
pub const MAX_DESCRIPTION_CHARS: usize = 4096;
pub const MAX_USERNAME_CHARS: usize = 64;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// Longest reservation: one week.
pub const MAX_LOCK_TIMEOUT_SECS: i64 = 7 * 24 * 3600;

/// A name (organization, program, input group): in NFC, 1 to 128 characters after trimming, no
/// control or bidirectional formatting characters, something visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &str, value: &str) -> Result<Self, Invalid> {
        let value = text::nfc(value.trim());
        if value.is_empty() {
            return Err(Invalid(format!("`{field}` must not be empty")));
        }
        if value.chars().count() > MAX_NAME_CHARS {
            return Err(Invalid(format!(
                "`{field}` is longer than {MAX_NAME_CHARS} characters"
            )));
        }
        if let Some(problem) = text::name_problem(&value) {
            return Err(Invalid(format!("`{field}` {problem}")));
        }
        Ok(Name(value))
    }

    /// The key the name is unique under ([`text::unique_key`]).
    pub fn key(&self) -> String {
        text::unique_key(&self.0)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The `name_filter` of a listing: a name prefix, absent when empty, at most as long as a name
/// (a longer one could match nothing).
pub fn name_prefix(filter: Option<&str>) -> Result<Option<String>, Invalid> {
    match filter.filter(|p| !p.is_empty()) {
        Some(prefix) if prefix.chars().count() > MAX_NAME_CHARS => Err(Invalid(format!(
            "`name_filter` is longer than {MAX_NAME_CHARS} characters (the longest name)"
        ))),
        prefix => Ok(prefix.map(str::to_string)),
    }
}

/// A free-text description: up to 4096 characters (may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        if value.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(Invalid(format!(
                "`description` is longer than {MAX_DESCRIPTION_CHARS} characters"
            )));
        }
        Ok(Description(value.to_string()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A username: in NFC, 1 to 64 characters, no whitespace, control, bidirectional formatting or
/// zero-width characters. Usernames are unique regardless of case ([`Username::key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = text::nfc(value);
        if value.is_empty() || value.chars().count() > MAX_USERNAME_CHARS {
            return Err(Invalid(format!(
                "`username` must have 1 to {MAX_USERNAME_CHARS} characters"
            )));
        }
        let invisible = value
            .chars()
            .any(|c| c.is_whitespace() || text::is_zero_width(c));
        if let Some(problem) = text::name_problem(&value) {
            return Err(Invalid(format!("`username` {problem}")));
        }
        if invisible {
            return Err(Invalid(
                "`username` must not contain spaces or zero-width characters".into(),
            ));
        }
        Ok(Username(value))
    }

    /// The key the username is unique and looked up under ([`text::unique_key`]).
    pub fn key(&self) -> String {
        text::unique_key(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 8 to 1024 characters, at least 8 of them neither whitespace nor control
/// characters (a password of blanks or invisible characters is not one).
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let chars = value.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            return Err(Invalid(format!(
                "`password` must have {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
            )));
        }
        let visible = value
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .count();
        if visible < MIN_PASSWORD_CHARS {
            return Err(Invalid(format!(
                "`password` must have at least {MIN_PASSWORD_CHARS} characters that are neither \
                 whitespace nor control characters"
            )));
        }
        Ok(NewPassword(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How long a reservation lasts, in seconds: 1 to one week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockTimeout(i64);

impl LockTimeout {
    pub fn parse(seconds: i64) -> Result<Self, Invalid> {
        if !(1..=MAX_LOCK_TIMEOUT_SECS).contains(&seconds) {
            return Err(Invalid(format!(
                "`execution_timeout` must be 1 to {MAX_LOCK_TIMEOUT_SECS} seconds"
            )));
        }
        Ok(LockTimeout(seconds))
    }

    pub fn seconds(self) -> i64 {
        self.0
    }
}

/// A program's verification policy: each bound at most [`MAX_SECURITY_BITS`], which no proof
/// exceeds, so a program cannot ask for proofs nobody can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy(ProofPolicy);

impl Policy {
    pub fn parse(policy: ProofPolicy) -> Result<Self, Invalid> {
        for (field, bits) in [
            (
                "min_conjectured_security_bits",
                policy.min_conjectured_security_bits,
            ),
            (
                "min_provable_security_bits",
                policy.min_provable_security_bits,
            ),
        ] {
            if bits > MAX_SECURITY_BITS {
                return Err(Invalid(format!(
                    "`{field}` must be 0 to {MAX_SECURITY_BITS} bits (no proof has more)"
                )));
            }
        }
        Ok(Policy(policy))
    }

    /// The stored columns `(min_conjectured_bits, min_provable_bits)`; both fit (at most 128).
    pub fn columns(self) -> (i32, i32) {
        let column = |bits: u32| i32::try_from(bits).unwrap_or(i32::MAX);
        (
            column(self.0.min_conjectured_security_bits),
            column(self.0.min_provable_security_bits),
        )
    }
}

/// Failed runs an input group may have before it is `failed`: 1 to [`MAX_MAX_FAILURES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxFailures(i32);

impl MaxFailures {
    pub fn parse(value: u32) -> Result<Self, Invalid> {
        match i32::try_from(value) {
            Ok(n) if (1..=MAX_MAX_FAILURES).contains(&value) => Ok(MaxFailures(n)),
            _ => Err(Invalid(format!(
                "`max_failures` must be 1 to {MAX_MAX_FAILURES}"
            ))),
        }
    }

    /// The stored column.
    pub fn column(self) -> i32 {
        self.0
    }
}

/// The message of a failure report: at most [`MAX_FAILURE_MESSAGE_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureMessage(String);

impl FailureMessage {
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        if value.chars().count() > MAX_FAILURE_MESSAGE_CHARS {
            return Err(Invalid(format!(
                "`message` is longer than {MAX_FAILURE_MESSAGE_CHARS} characters; send its \
                 first lines"
            )));
        }
        Ok(FailureMessage(value.to_string()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_bounded_by_what_a_proof_can_reach() {
        let policy = |c, p| ProofPolicy {
            min_conjectured_security_bits: c,
            min_provable_security_bits: p,
        };
        assert_eq!(Policy::parse(policy(100, 0)).unwrap().columns(), (100, 0));
        assert_eq!(Policy::parse(policy(0, 128)).unwrap().columns(), (0, 128));
        assert!(Policy::parse(policy(129, 0)).is_err());
        let err = Policy::parse(policy(100, 200)).unwrap_err();
        assert!(err.0.contains("min_provable_security_bits"), "{err}");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("name", "  a b ").unwrap().as_ref(), "a b");
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", &"x".repeat(129)).is_err());
        assert!(Name::parse("name", &"é".repeat(128)).is_ok());
        assert!(Name::parse("name", "a\nb").is_err());
    }

    #[test]
    fn credentials_are_checked() {
        assert!(Username::parse("org-1").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("long enough").is_ok());
    }

    #[test]
    fn lock_timeouts_are_bounded() {
        assert!(LockTimeout::parse(0).is_err());
        assert!(LockTimeout::parse(-5).is_err());
        assert_eq!(LockTimeout::parse(60).unwrap().seconds(), 60);
        assert!(LockTimeout::parse(MAX_LOCK_TIMEOUT_SECS + 1).is_err());
    }

    #[test]
    fn failure_settings_are_bounded() {
        assert!(MaxFailures::parse(0).is_err());
        assert_eq!(MaxFailures::parse(1).unwrap().column(), 1);
        assert_eq!(MaxFailures::parse(MAX_MAX_FAILURES).unwrap().column(), 100);
        assert!(MaxFailures::parse(MAX_MAX_FAILURES + 1).is_err());
        assert!(MaxFailures::parse(u32::MAX).is_err());
        assert!(FailureMessage::parse(&"é".repeat(MAX_FAILURE_MESSAGE_CHARS)).is_ok());
        assert!(FailureMessage::parse(&"e".repeat(MAX_FAILURE_MESSAGE_CHARS + 1)).is_err());
    }

    #[test]
    fn descriptions_may_be_empty_but_bounded() {
        assert!(Description::parse("").is_ok());
        assert!(Description::parse(&"d".repeat(4097)).is_err());
    }
}
