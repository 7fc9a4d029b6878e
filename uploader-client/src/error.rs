//! The one error type of the CLI: a message, an optional hint saying what to do, and the exit
//! code scripts can rely on (documented in the README).

use distributor_api::{ClientError, ErrorCode};

/// Exit codes. Clap uses 2 for usage errors.
pub mod exit {
    /// Something failed (I/O, a server error, bad input).
    pub const FAILURE: i32 = 1;
    /// Not logged in, session expired, wrong credentials.
    pub const AUTH: i32 = 3;
    /// The server could not be reached.
    pub const UNREACHABLE: i32 = 4;
    /// `proofs verify` rejected at least one proof (everything else went through).
    pub const REJECTED: i32 = 5;
    /// `proofs verify --recheck`: re-executing contradicted a verified proof (a prover or
    /// verifier bug); those proofs were rejected. Wins over every other outcome.
    pub const RECHECK_MISMATCH: i32 = 6;
    /// Interrupted (Ctrl-C) after finishing the item in progress.
    pub const INTERRUPTED: i32 = 130;
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

    /// A server error, with the hint that fits its code.
    pub fn api(context: &str, error: ClientError) -> Self {
        let message = format!("{context}: {error}");
        match &error {
            ClientError::Http(e) if e.is_connect() || e.is_timeout() => CliError::new(message)
                .with_hint(
                    "is the server running? Check `program_distributor_url` in the config \
                     file, `PROGRAM_DISTRIBUTOR_URL` or `--server`",
                )
                .with_code(exit::UNREACHABLE),
            ClientError::Http(_) => CliError::new(message).with_code(exit::UNREACHABLE),
            _ => match error.code() {
                Some(ErrorCode::WrongCredentials) => CliError::new(message)
                    .with_hint("check the username and password")
                    .with_code(exit::AUTH),
                Some(ErrorCode::InvalidToken) | Some(ErrorCode::RefreshTokenNotFound) => {
                    CliError::new(message)
                        .with_hint("run `uploader-client login` again")
                        .with_code(exit::AUTH)
                }
                Some(ErrorCode::UsernameAlreadyExists) => CliError::new(message)
                    .with_hint("pick another username, or `uploader-client login` with it"),
                Some(ErrorCode::ProgramNameTaken) => CliError::new(message)
                    .with_hint("pick another `--name`, or delete the old program first"),
                Some(ErrorCode::ProgramNotFound) => CliError::new(message)
                    .with_hint("list your programs with `uploader-client program list`"),
                Some(ErrorCode::InputGroupNotFound) => CliError::new(message)
                    .with_hint("list the input groups with `uploader-client inputs list PROGRAM`"),
                Some(ErrorCode::PayloadTooLarge) => CliError::new(message)
                    .with_hint("split the inputs with `uploader-client inputs split`"),
                _ => CliError::new(message),
            },
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
