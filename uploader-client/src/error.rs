//! The one error type of the CLI: a message, an optional hint saying what to do, and the exit
//! code scripts can rely on (documented in the README).

use distributor_api::{ClientError, ErrorCode};

/// Exit codes: the table both clients share (`distributor_api::cli::EXIT_CODES`, in the README).
pub mod exit {
    use distributor_api::cli::ExitCode;

    /// Something failed (I/O, bad input, a proof that could not be checked here).
    pub const FAILURE: i32 = ExitCode::Failure as i32;
    /// Bad usage (clap uses it too).
    pub const USAGE: i32 = ExitCode::Usage as i32;
    /// The server refused the request.
    pub const REFUSED: i32 = ExitCode::Refused as i32;
    /// Not logged in, session expired, wrong credentials.
    pub const AUTH: i32 = ExitCode::Auth as i32;
    /// The server could not be reached (or failed).
    pub const UNREACHABLE: i32 = ExitCode::Unreachable as i32;
    /// `proofs verify` rejected at least one proof (everything else went through).
    pub const REJECTED: i32 = ExitCode::NotVerified as i32;
    /// `proofs verify --recheck`: re-executing contradicted a verified proof (a prover or
    /// verifier bug); those proofs were rejected. Wins over every other outcome.
    pub const RECHECK_MISMATCH: i32 = ExitCode::RecheckMismatch as i32;
    /// Interrupted (Ctrl-C) after finishing the item in progress.
    pub const INTERRUPTED: i32 = ExitCode::Interrupted as i32;
}

#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub hint: Option<String>,
    pub code: i32,
}

pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    pub fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            hint: None,
            code: exit::FAILURE,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }

    pub fn not_logged_in() -> Self {
        CliError::new("not logged in")
            .with_hint("run `uploader-client login`")
            .with_code(exit::AUTH)
    }

    pub fn session_expired(detail: &str) -> Self {
        CliError::new(format!("the session has expired ({detail})"))
            .with_hint("run `uploader-client login` again")
            .with_code(exit::AUTH)
    }

    /// An I/O error on a local file, naming the file.
    pub fn io(what: &str, path: &std::path::Path, error: std::io::Error) -> Self {
        CliError::new(format!("cannot {what} {}: {error}", path.display()))
    }

    /// A server error, with the hint that fits its code and the shared exit code.
    pub fn api(context: &str, error: ClientError) -> Self {
        let code = distributor_api::cli::ExitCode::of_client_error(&error).code();
        let message = format!("{context}: {error}");
        let error = match &error {
            ClientError::Http(e) if e.is_connect() || e.is_timeout() => CliError::new(message)
                .with_hint(
                    "is the server running? Check `program_distributor_url` in the config \
                     file, `PROGRAM_DISTRIBUTOR_URL` or `--server`",
                ),
            _ => match error.code().and_then(hint_for) {
                Some(hint) => CliError::new(message).with_hint(hint),
                None => CliError::new(message),
            },
        };
        error.with_code(code)
    }

    /// A name that matches nothing or several things.
    pub fn name(error: distributor_api::cli::NameError, list_hint: &str) -> Self {
        CliError::new(error.to_string())
            .with_hint(list_hint.to_string())
            .with_code(exit::REFUSED)
    }
}

/// What to do about a server error code, when there is something to say.
fn hint_for(code: ErrorCode) -> Option<&'static str> {
    Some(match code {
        ErrorCode::WrongCredentials => "check the username and password",
        ErrorCode::InvalidToken | ErrorCode::RefreshTokenNotFound => {
            "run `uploader-client login` again"
        }
        ErrorCode::UsernameAlreadyExists => {
            "pick another username, or `uploader-client login` with it"
        }
        ErrorCode::ProgramNameTaken => "pick another `--name`, or delete the old program first",
        ErrorCode::ProgramNotFound => "list your programs with `uploader-client program list`",
        ErrorCode::InputGroupNotFound => {
            "list the input groups with `uploader-client inputs list PROGRAM`"
        }
        ErrorCode::PayloadTooLarge => "split the inputs with `uploader-client inputs split`",
        _ => return None,
    })
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_shows_the_shared_exit_code_table() {
        let checked = distributor_api::cli::check_readme_exit_codes(include_str!("../README.md"));
        assert_eq!(checked, Ok(()));
    }

    #[test]
    fn the_protocols_default_policy_is_the_provers() {
        // The wire default of a program's policy (distributor-api cannot depend on the prover)
        // must stay the prover's own default.
        assert_eq!(
            distributor_api::DEFAULT_MIN_CONJECTURED_SECURITY_BITS,
            cairo_stark::SecurityPolicy::default().min_conjectured_bits
        );
    }
}
