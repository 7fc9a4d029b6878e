//! Exit codes scripts can rely on, and the error type that carries one to `main`.

/// Shown at the end of `--help` (and kept in sync with README.md by a test).
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
    0    success (for `run`: stopped after --jobs or by Ctrl-C, every job accepted)
    1    an unexpected local failure (a file could not be read or written, ...)
    2    bad usage or configuration (unknown flag, --cpus out of range, bad config file)
    3    the server could not be reached (gave up after --max-retries) or failed (HTTP 5xx)
    4    the server refused the request (unknown program or organization, ...)
    5    the proof does not verify
    6    the job itself is bad: the program or inputs are invalid, or the run or proof failed
    7    not enough memory for the job
    8    `run` finished, but some jobs were not accepted (see the summary lines)
    130  stopped at once by a second Ctrl-C";

/// The process exit code of each kind of outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Failure = 1,
    Usage = 2,
    Unreachable = 3,
    Refused = 4,
    NotVerified = 5,
    BadJob = 6,
    NoMemory = 7,
    JobsFailed = 8,
    Interrupted = 130,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// An error for the person at the terminal: what went wrong, and what to do about it.
#[derive(Debug)]
pub struct AppError {
    pub exit: Exit,
    pub message: String,
    pub hint: Option<String>,
}

impl AppError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        AppError {
            exit,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    pub fn local(message: impl Into<String>) -> Self {
        Self::new(Exit::Failure, message)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_code_is_documented_in_help_and_readme() {
        let readme = include_str!("../README.md");
        for exit in [
            Exit::Success,
            Exit::Failure,
            Exit::Usage,
            Exit::Unreachable,
            Exit::Refused,
            Exit::NotVerified,
            Exit::BadJob,
            Exit::NoMemory,
            Exit::JobsFailed,
            Exit::Interrupted,
        ] {
            let code = exit.code();
            let help_line = format!("\n    {code:<4} ");
            assert!(
                EXIT_CODES_HELP.contains(&help_line),
                "code {code} missing from --help"
            );
            let readme_line = format!("| {code} |");
            assert!(
                readme.contains(&readme_line),
                "code {code} missing from README.md"
            );
        }
    }
}
