//! The program-distributor protocol: one definition for the server and both CLIs.
//!
//! - [`ErrorCode`]: every error the server answers with, and its HTTP status.
//! - [`Envelope`]: the `{"status": …}` wrapper around every JSON answer.
//! - [`types`]: request and response bodies.
//! - [`archive`]: the tar layouts the server hands out.
//! - [`Client`]: a typed async HTTP client covering every endpoint.
//! - [`ProofVersionMismatch`]: why a proof of another format version is refused.
//! - [`cli`]: the contract both command-line clients keep (exit codes, paging, JSON lines, names).
//! - [`donors`]: donors, credit, teams and public progress; [`signing`]: how a donor signs.
//!
//! The endpoint paths live in [`paths`], so the client and the server's route table cannot drift
//! apart silently (the server's tests compare both with its OpenAPI document).

pub mod archive;
pub mod cli;
mod client;
mod donor_client;
pub mod donors;
mod envelope;
mod error_code;
pub mod paths;
mod proof_version;
pub mod signing;
pub mod types;

pub use archive::Reservation;
pub use client::{check_response, Client, ClientError};
pub use donors::*;
pub use envelope::{Envelope, ErrorBody};
pub use error_code::ErrorCode;
pub use proof_version::ProofVersionMismatch;
pub use types::*;

/// Name of the header that carries the basic token on protected routes.
pub const TOKEN_HEADER: &str = "token";
