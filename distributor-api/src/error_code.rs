//! The error codes the server answers with, and the HTTP status that goes with each.

use serde::{Deserialize, Serialize};

/// Every `error_code` the server can put in an error envelope.
///
/// The first ten come from the original specification; the others cover cases a client can cause
/// that the specification left without a code. The HTTP status of a response always equals
/// [`ErrorCode::http_status`] of its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// No organization with that id.
    AccountNotFound,
    /// No program with that id (or it belongs to another organization and the caller must own it).
    ProgramNotFound,
    /// The organization already has a program with that name.
    ProgramNameTaken,
    /// No input group with that id in that program (or the caller does not own the program).
    InputGroupNotFound,
    /// Kept from the specification for compatibility; this server takes binary multipart uploads and
    /// never sends it.
    #[serde(rename = "BAD_BASE_64_ENCODING")]
    BadBase64Encoding,
    /// Unknown username or wrong password (the two are not told apart).
    WrongCredentials,
    /// The username is registered already.
    UsernameAlreadyExists,
    /// No refresh token with that id (never issued, or logged out already).
    RefreshTokenNotFound,
    /// The `token` header (or refresh token) is missing, malformed, forged, expired or revoked.
    InvalidToken,
    /// A fault on the server's side (database or object storage); the message does not say more.
    InternalServerError,
    /// The request is malformed: bad JSON, missing or bad multipart fields, bad query parameters,
    /// bad pagination, empty or too long names, bad field values.
    InvalidRequest,
    /// The uploaded program tar is unreadable or unsafe (absolute path, `..`, link, device, too many
    /// entries, too large) or has no `program.json`.
    InvalidArchive,
    /// `program.json` is not a compiled proof-mode Cairo program this prover supports.
    InvalidProgram,
    /// The input CSV does not parse to field elements.
    InvalidInputs,
    /// The request body is over the endpoint's size limit.
    PayloadTooLarge,
    /// The program exists but none of its input groups can be reserved now (all proven or
    /// reserved); retry later.
    NoInputGroupAvailable,
    /// The input group has no proof waiting (never proven, or confirmed/rejected already).
    ProofNotFound,
    /// The input group is proven already; a proof is accepted once.
    ProofAlreadySubmitted,
    /// The proof does not verify against the stored program and input group, or is weaker than
    /// the program's verification policy.
    InvalidProof,
    /// The proof file has another format version than this server reads (made by an older, or
    /// newer, prover); the donor must prove the job again with a current executor-client.
    UnsupportedProofVersion,
    /// The input group has an execution already (execution-only mode); one is accepted per group
    /// until it is proven.
    ExecutionAlreadyUploaded,
    /// The uploaded execution file is not exactly the run of the stored program on the stored
    /// input group (malformed, of other inputs, of another program, tampered with).
    InvalidExecution,
    /// No live reservation with that id on that input group: the id is wrong, or the reservation
    /// was released, expired or ended by a proof or an execution (or the group or program is
    /// unknown).
    ReservationNotFound,
    /// No such route.
    RouteNotFound,
    /// The route exists but not with this HTTP method.
    MethodNotAllowed,
    /// The request body did not arrive within the server's body timeout; the connection is
    /// closed.
    RequestTimeout,
    /// Over a rate limit (logins, registrations, uploads, reservations per client address,
    /// logins per username) or the password-hashing pool is full; `Retry-After` says when to
    /// try again.
    TooManyRequests,
    /// The server's object storage is full: the write (an upload) was not made; reads still work,
    /// and `Retry-After` says when to try again.
    InsufficientStorage,
    /// No donor with that id.
    DonorNotFound,
    /// No team with that id.
    TeamNotFound,
    /// Another donor has this display name (names are compared ignoring case).
    DonorNameTaken,
    /// This public key is registered already (to this or another donor).
    DonorKeyTaken,
    /// Another team has this name.
    TeamNameTaken,
    /// The donor signature headers are incomplete or malformed, the signature does not match
    /// the request, or no donor has the signing key.
    InvalidSignature,
    /// The signed timestamp is too far from the server's clock (more than 5 minutes): check the
    /// clock, sign again.
    StaleSignature,
    /// This nonce was used already by this key: a replayed request.
    ReplayedSignature,
    /// The program's organization does not publish its progress.
    ProgressNotPublic,
    /// A code this version of the client does not know (from a newer server).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// All codes the server can send, in documentation order.
    pub const ALL: [ErrorCode; 37] = [
        ErrorCode::AccountNotFound,
        ErrorCode::ProgramNotFound,
        ErrorCode::ProgramNameTaken,
        ErrorCode::InputGroupNotFound,
        ErrorCode::BadBase64Encoding,
        ErrorCode::WrongCredentials,
        ErrorCode::UsernameAlreadyExists,
        ErrorCode::RefreshTokenNotFound,
        ErrorCode::InvalidToken,
        ErrorCode::InternalServerError,
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidArchive,
        ErrorCode::InvalidProgram,
        ErrorCode::InvalidInputs,
        ErrorCode::PayloadTooLarge,
        ErrorCode::NoInputGroupAvailable,
        ErrorCode::ProofNotFound,
        ErrorCode::ProofAlreadySubmitted,
        ErrorCode::InvalidProof,
        ErrorCode::UnsupportedProofVersion,
        ErrorCode::ExecutionAlreadyUploaded,
        ErrorCode::InvalidExecution,
        ErrorCode::ReservationNotFound,
        ErrorCode::RouteNotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::RequestTimeout,
        ErrorCode::TooManyRequests,
        ErrorCode::InsufficientStorage,
        ErrorCode::DonorNotFound,
        ErrorCode::TeamNotFound,
        ErrorCode::DonorNameTaken,
        ErrorCode::DonorKeyTaken,
        ErrorCode::TeamNameTaken,
        ErrorCode::InvalidSignature,
        ErrorCode::StaleSignature,
        ErrorCode::ReplayedSignature,
        ErrorCode::ProgressNotPublic,
    ];

    /// The HTTP status code that accompanies this error code.
    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            AccountNotFound
            | ProgramNotFound
            | InputGroupNotFound
            | RefreshTokenNotFound
            | NoInputGroupAvailable
            | ProofNotFound
            | ReservationNotFound
            | RouteNotFound
            | DonorNotFound
            | TeamNotFound => 404,
            ProgramNameTaken
            | UsernameAlreadyExists
            | ProofAlreadySubmitted
            | ExecutionAlreadyUploaded
            | DonorNameTaken
            | DonorKeyTaken
            | TeamNameTaken => 409,
            BadBase64Encoding
            | InvalidArchive
            | InvalidProgram
            | InvalidInputs
            | InvalidProof
            | UnsupportedProofVersion
            | InvalidExecution => 422,
            WrongCredentials | InvalidToken | ProgressNotPublic => 403,
            InvalidSignature | StaleSignature | ReplayedSignature => 401,
            InvalidRequest => 400,
            PayloadTooLarge => 413,
            MethodNotAllowed => 405,
            RequestTimeout => 408,
            TooManyRequests => 429,
            InsufficientStorage => 507,
            InternalServerError | Unknown => 500,
        }
    }

    /// The wire spelling, e.g. `"PROGRAM_NOT_FOUND"`.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            AccountNotFound => "ACCOUNT_NOT_FOUND",
            ProgramNotFound => "PROGRAM_NOT_FOUND",
            ProgramNameTaken => "PROGRAM_NAME_TAKEN",
            InputGroupNotFound => "INPUT_GROUP_NOT_FOUND",
            BadBase64Encoding => "BAD_BASE_64_ENCODING",
            WrongCredentials => "WRONG_CREDENTIALS",
            UsernameAlreadyExists => "USERNAME_ALREADY_EXISTS",
            RefreshTokenNotFound => "REFRESH_TOKEN_NOT_FOUND",
            InvalidToken => "INVALID_TOKEN",
            InternalServerError => "INTERNAL_SERVER_ERROR",
            InvalidRequest => "INVALID_REQUEST",
            InvalidArchive => "INVALID_ARCHIVE",
            InvalidProgram => "INVALID_PROGRAM",
            InvalidInputs => "INVALID_INPUTS",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            NoInputGroupAvailable => "NO_INPUT_GROUP_AVAILABLE",
            ProofNotFound => "PROOF_NOT_FOUND",
            ProofAlreadySubmitted => "PROOF_ALREADY_SUBMITTED",
            InvalidProof => "INVALID_PROOF",
            UnsupportedProofVersion => "UNSUPPORTED_PROOF_VERSION",
            ExecutionAlreadyUploaded => "EXECUTION_ALREADY_UPLOADED",
            InvalidExecution => "INVALID_EXECUTION",
            ReservationNotFound => "RESERVATION_NOT_FOUND",
            RouteNotFound => "ROUTE_NOT_FOUND",
            MethodNotAllowed => "METHOD_NOT_ALLOWED",
            RequestTimeout => "REQUEST_TIMEOUT",
            TooManyRequests => "TOO_MANY_REQUESTS",
            InsufficientStorage => "INSUFFICIENT_STORAGE",
            DonorNotFound => "DONOR_NOT_FOUND",
            TeamNotFound => "TEAM_NOT_FOUND",
            DonorNameTaken => "DONOR_NAME_TAKEN",
            DonorKeyTaken => "DONOR_KEY_TAKEN",
            TeamNameTaken => "TEAM_NAME_TAKEN",
            InvalidSignature => "INVALID_SIGNATURE",
            StaleSignature => "STALE_SIGNATURE",
            ReplayedSignature => "REPLAYED_SIGNATURE",
            ProgressNotPublic => "PROGRESS_NOT_PUBLIC",
            Unknown => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_spelling_matches_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, code);
        }
    }

    #[test]
    fn unknown_codes_from_a_newer_server_still_parse() {
        let code: ErrorCode = serde_json::from_str("\"SOMETHING_NEW\"").unwrap();
        assert_eq!(code, ErrorCode::Unknown);
    }

    #[test]
    fn the_ten_specified_codes_keep_their_statuses() {
        use ErrorCode::*;
        let spec = [
            (AccountNotFound, 404),
            (ProgramNotFound, 404),
            (ProgramNameTaken, 409),
            (InputGroupNotFound, 404),
            (BadBase64Encoding, 422),
            (WrongCredentials, 403),
            (UsernameAlreadyExists, 409),
            (RefreshTokenNotFound, 404),
            (InvalidToken, 403),
            (InternalServerError, 500),
        ];
        for (code, status) in spec {
            assert_eq!(code.http_status(), status, "{code}");
        }
    }
}
