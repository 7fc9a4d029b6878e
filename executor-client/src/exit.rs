//! Exit codes scripts can rely on, and the error type that carries one to `main`.

/// The process exit code of each kind of outcome: the table both clients share (in
/// `distributor_api::cli`, shown at the end of `--help` and in README.md).
pub use distributor_api::cli::ExitCode as Exit;

/// An error for the person at the terminal: what went wrong, and what to do about it.
#[derive(Debug)]
pub struct AppError {
    pub exit: Exit,
    pub message: String,
    pub hint: Option<String>,
    /// The whole technical cause, when the message sums it up (printed with `-v`, and in the
    /// `--json` error line as `cause`).
    pub cause: Option<String>,
}

impl AppError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        AppError {
            exit,
            message: message.into(),
            hint: None,
            cause: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
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
    #[test]
    fn the_readme_shows_the_shared_exit_code_table() {
        let checked = distributor_api::cli::check_readme_exit_codes(include_str!("../README.md"));
        assert_eq!(checked, Ok(()));
    }
}
