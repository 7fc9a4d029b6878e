//! Request and response bodies, exactly as they travel.
//!
//! Ids are UUIDs (hyphenated strings on the wire); timestamps are RFC 3339 in UTC.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ErrorCode;

/// `POST /account/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub username: String,
    pub password: String,
    /// The organization's public name.
    pub name: String,
    /// The organization's public description.
    pub description: String,
}

/// `POST /account/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// A token and its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub token_id: Uuid,
    pub token: String,
}

/// Answer of `POST /account/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Short-lived JWT for the `token` header.
    pub basic_token: Token,
    /// Long-lived token that buys new basic tokens; its id logs out.
    pub refresh_token: Token,
}

/// `POST /account/refresh-token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenRequest {
    pub refresh_token: String,
}

/// `DELETE /account/refresh-token` (log out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteRefreshTokenRequest {
    pub token_id: Uuid,
    /// The refresh token itself, whose id is `token_id`: logging out proves possession of it
    /// (its id alone is no proof: every basic token carries it).
    pub refresh_token: String,
}

/// The largest page a listing answers (`limit`): a protocol fact the server enforces and both
/// clients check before asking.
pub const MAX_PAGE_SIZE: i64 = 50;
/// The page size when a listing is not given a `limit`.
pub const DEFAULT_PAGE_SIZE: i64 = 10;

/// Query of the paginated listings. `limit` is 1..=[`MAX_PAGE_SIZE`] (default
/// [`DEFAULT_PAGE_SIZE`]), `page` is 1-based (default 1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<i64>,
    /// Prefix of the name (only on `/account/organizations` and `/program/all`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_filter: Option<String>,
}

impl PageQuery {
    pub fn new(limit: i64, page: i64) -> Self {
        PageQuery {
            limit: Some(limit),
            page: Some(page),
            name_filter: None,
        }
    }

    pub fn with_name_filter(mut self, prefix: impl Into<String>) -> Self {
        self.name_filter = Some(prefix.into());
        self
    }
}

/// A registered organization (public).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub organization_id: Uuid,
    pub name: String,
    pub description: String,
}

/// Answer of `GET /account/organizations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationsPage {
    pub organizations: Vec<Organization>,
    /// How many there are in all (without pagination).
    pub total_elements_amount: i64,
}

/// A published program (public).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub organization_id: Uuid,
    pub program_id: Uuid,
    pub name: String,
    pub description: String,
    /// Seconds a reservation of one of its input groups lasts.
    pub input_lock_timeout: i64,
    #[serde(flatten)]
    pub policy: ProofPolicy,
    /// Failed runs an input group may have before it is `failed` (no longer handed out).
    #[serde(default = "default_max_failures")]
    pub max_failures: u32,
}

/// Failed runs an input group may have, unless its program says otherwise at upload.
pub const DEFAULT_MAX_FAILURES: u32 = 3;
/// The most failed runs a program may allow per input group.
pub const MAX_MAX_FAILURES: u32 = 100;

fn default_max_failures() -> u32 {
    DEFAULT_MAX_FAILURES
}

/// Proofs under this many bits of conjectured security are refused unless a program asks
/// otherwise: the verifier's own default.
pub const DEFAULT_MIN_CONJECTURED_SECURITY_BITS: u32 = stark::DEFAULT_MIN_CONJECTURED_BITS;
/// No security estimate of a proof exceeds 128 bits (the hash's collision bound), so a policy
/// asking for more could never be met.
pub const MAX_SECURITY_BITS: u32 = 128;

/// A program's verification policy: the least security a proof of it must have. The server
/// refuses weaker proofs on upload, and the uploader requires it by default when it verifies.
/// Absent fields take their defaults (100 conjectured bits, no provable requirement), so bodies
/// of clients and servers that predate the policy still parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofPolicy {
    /// Least bits of conjectured security (0..=128).
    #[serde(default = "default_min_conjectured")]
    pub min_conjectured_security_bits: u32,
    /// Least bits of provable security (0..=128).
    #[serde(default)]
    pub min_provable_security_bits: u32,
}

fn default_min_conjectured() -> u32 {
    DEFAULT_MIN_CONJECTURED_SECURITY_BITS
}

impl Default for ProofPolicy {
    fn default() -> Self {
        ProofPolicy {
            min_conjectured_security_bits: DEFAULT_MIN_CONJECTURED_SECURITY_BITS,
            min_provable_security_bits: 0,
        }
    }
}

/// Answer of the program listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramsPage {
    pub programs: Vec<Program>,
    pub total_elements_amount: i64,
}

/// An input group of a program (owner only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputGroup {
    pub input_group_id: Uuid,
    pub program_id: Uuid,
    pub name: String,
    /// When it was last handed out, if ever (cleared when a proof is rejected).
    pub last_reserved: Option<DateTime<Utc>>,
    /// When a proof of it was accepted, if it is proven.
    pub proven_datetime: Option<DateTime<Utc>>,
    /// How many Cairo steps the accepted proof proves (set once proven; cleared when the proof
    /// is rejected).
    #[serde(default)]
    pub steps: Option<u64>,
    /// When the live reservation ends, if the group is reserved right now.
    #[serde(default)]
    pub reserved_until: Option<DateTime<Utc>>,
    /// Unproven, with an execution waiting for a prover (execution-only mode).
    #[serde(default)]
    pub executed: bool,
    /// Failed runs reported since it was uploaded or last retried.
    #[serde(default)]
    pub failures: u32,
    /// The failures reached the program's maximum: the group is no longer handed out until the
    /// organization asks for a retry.
    #[serde(default)]
    pub failed: bool,
    /// The reports behind `failures`, oldest first.
    #[serde(default)]
    pub failure_reasons: Vec<FailureRecord>,
}

/// Why a donor's run of an input group failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// An assertion of the program failed (`assert`, `assert_le`, an `assert x = y`).
    AssertFailed,
    /// A value was outside the range-check bound (often a negative number or one too large).
    RangeCheck,
    /// The run went past the step limit.
    StepLimit,
    /// The program uses a hint the VM does not know.
    UnknownHint,
    /// The job could not be done within its reservation.
    Timeout,
    /// Any other failure of the run or of the proof (also what a newer reason reads as).
    #[serde(other)]
    Other,
}

impl FailureReason {
    /// The reason as it travels (`assert_failed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::AssertFailed => "assert_failed",
            FailureReason::RangeCheck => "range_check",
            FailureReason::StepLimit => "step_limit",
            FailureReason::UnknownHint => "unknown_hint",
            FailureReason::Timeout => "timeout",
            FailureReason::Other => "other",
        }
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest message of a failure report, in characters.
pub const MAX_FAILURE_MESSAGE_CHARS: usize = 1000;

/// One reported failure of an input group, as the organization sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub at: DateTime<Utc>,
    pub reason: FailureReason,
    pub message: String,
}

/// `POST /program/failure`: the holder of a live reservation reports that its run failed. The
/// reservation ends, the group's failure count grows, and the group goes behind the program's
/// other groups; at the program's maximum it is `failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureReport {
    pub program_id: Uuid,
    pub input_group_id: Uuid,
    /// The [`ReservationMetadata::reservation_id`] of the failed job.
    pub reservation_id: Uuid,
    pub reason: FailureReason,
    /// What went wrong, up to [`MAX_FAILURE_MESSAGE_CHARS`] characters.
    pub message: String,
}

/// Answer of `POST /program/failure`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureReportResponse {
    /// The group's failures now.
    pub failures: u32,
    /// The program's maximum.
    pub max_failures: u32,
    /// Whether the group is `failed` now (no longer handed out).
    pub failed: bool,
}

/// What kind of file a donor uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadKind {
    Proof,
    Execution,
}

impl UploadKind {
    /// The kind as it travels and is stored (`proof`, `execution`).
    pub fn as_str(self) -> &'static str {
        match self {
            UploadKind::Proof => "proof",
            UploadKind::Execution => "execution",
        }
    }
}

/// An upload the server's own check refused (owner only, `GET /program/refusals/{program_id}`):
/// a proof that did not verify, of an unsupported format, or bound to another donor, or an
/// execution whose replay failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub at: DateTime<Utc>,
    pub input_group_id: Uuid,
    pub input_group_name: String,
    pub kind: UploadKind,
    /// The error code the upload was answered with.
    pub code: ErrorCode,
    /// The server's reason, as the donor was told.
    pub message: String,
    /// The registered donor who signed the upload (none for an anonymous one).
    pub donor_id: Option<Uuid>,
}

/// Answer of the refusal listing, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalsPage {
    pub refusals: Vec<Refusal>,
    pub total_elements_amount: i64,
}

/// Answer of the input group listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputGroupsPage {
    pub program_input_groups: Vec<InputGroup>,
    pub total_elements_amount: i64,
}

/// The `data` field of `POST /program/upload`. On the wire the policy's two fields sit next to
/// the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "UploadProgramWire", into = "UploadProgramWire")]
pub struct UploadProgramData {
    pub name: String,
    pub description: String,
    /// Seconds a reservation lasts (1..=604800).
    pub execution_timeout: i64,
    /// Optional: the proofs the program accepts (defaults when absent).
    pub policy: ProofPolicy,
    /// Optional: failed runs an input group may have before it is `failed` (1..=100, default 3).
    pub max_failures: u32,
}

/// [`UploadProgramData`] as it travels: flat, so that unknown fields can be refused (serde's
/// `flatten` cannot be combined with `deny_unknown_fields`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadProgramWire {
    name: String,
    description: String,
    execution_timeout: i64,
    #[serde(default = "default_min_conjectured")]
    min_conjectured_security_bits: u32,
    #[serde(default)]
    min_provable_security_bits: u32,
    #[serde(default = "default_max_failures")]
    max_failures: u32,
}

impl From<UploadProgramWire> for UploadProgramData {
    fn from(wire: UploadProgramWire) -> Self {
        UploadProgramData {
            name: wire.name,
            description: wire.description,
            execution_timeout: wire.execution_timeout,
            policy: ProofPolicy {
                min_conjectured_security_bits: wire.min_conjectured_security_bits,
                min_provable_security_bits: wire.min_provable_security_bits,
            },
            max_failures: wire.max_failures,
        }
    }
}

impl From<UploadProgramData> for UploadProgramWire {
    fn from(data: UploadProgramData) -> Self {
        UploadProgramWire {
            name: data.name,
            description: data.description,
            execution_timeout: data.execution_timeout,
            min_conjectured_security_bits: data.policy.min_conjectured_security_bits,
            min_provable_security_bits: data.policy.min_provable_security_bits,
            max_failures: data.max_failures,
        }
    }
}

/// Answer of `POST /program/upload`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadProgramResponse {
    pub program_id: Uuid,
}

/// The `data` field of `POST /program/inputs/{program_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadInputsData {
    pub name: String,
}

/// Answer of `POST /program/inputs/{program_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadInputsResponse {
    pub input_group_id: Uuid,
}

/// The `data` field of `POST /program/proof`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadProofData {
    pub organization_id: Uuid,
    pub program_id: Uuid,
    pub input_group_id: Uuid,
    /// The reservation the upload was made under ([`ReservationMetadata::reservation_id`]).
    /// Optional: a valid file is accepted without it. A refused file ends the group's live
    /// reservation only when it names that reservation, so that nobody else can take a donor's
    /// group away with a bad upload. Left out of the JSON when absent, so the body of older
    /// clients (and of the original spec) is unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<Uuid>,
}

/// The `data` field of `POST /program/execution`: the same ids as a proof upload.
pub type UploadExecutionData = UploadProofData;

/// `metadata.json` inside the reservation tar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationMetadata {
    pub organization_id: Uuid,
    pub program_id: Uuid,
    pub input_group_id: Uuid,
    pub input_group_name: String,
    /// Until when the input group is reserved for this caller.
    pub lock_expires_at: DateTime<Utc>,
    /// This reservation's id: a secret that only its holder knows, which lets the holder give
    /// the group back early (`POST /program/reservation/release`) and lets a refused upload end
    /// the reservation. Always set by this server; `None` in the tars of older servers.
    #[serde(default)]
    pub reservation_id: Option<Uuid>,
}

/// `POST /program/reservation/release`: gives a live reservation back before its lock expires,
/// so the next donor gets the group at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseReservationRequest {
    pub program_id: Uuid,
    pub input_group_id: Uuid,
    /// The [`ReservationMetadata::reservation_id`] of the reservation to end.
    pub reservation_id: Uuid,
}

/// Answer of `GET /program/status/{program_id}`: the input groups by state. The six states
/// partition `total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramStatus {
    pub program_id: Uuid,
    pub total: i64,
    /// Waiting for a donor, without an execution (never reserved, or the reservation expired, or
    /// a proof was rejected).
    pub uploaded: i64,
    /// Reserved by a donor right now (to run it whole, to execute it or to prove its execution).
    pub reserved: i64,
    /// Executed by an execution-only donor, waiting for a prover (not reserved right now).
    /// Defaults to 0 when absent, so answers of servers without execution-only mode still parse.
    #[serde(default)]
    pub executed: i64,
    /// Proven, the proof waits for the organization's verification.
    pub proven: i64,
    /// Proven and confirmed by the organization (the proof was deleted).
    pub confirmed: i64,
    /// Failed too often: no longer handed out until the organization asks for a retry.
    #[serde(default)]
    pub failed: i64,
    /// The program's verification policy.
    #[serde(flatten)]
    pub policy: ProofPolicy,
}

/// Answer of `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `"ok"` when the database and the object storage answer.
    pub status: String,
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_of_an_older_server_parses_without_a_reservation_id() {
        let metadata: ReservationMetadata = serde_json::from_str(
            r#"{"organization_id":"00000000-0000-0000-0000-000000000001",
                "program_id":"00000000-0000-0000-0000-000000000002",
                "input_group_id":"00000000-0000-0000-0000-000000000003",
                "input_group_name":"g","lock_expires_at":"2026-11-21T12:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(metadata.reservation_id, None);
    }

    #[test]
    fn an_upload_without_a_reservation_id_serializes_as_before() {
        let data = UploadProofData {
            organization_id: Uuid::from_u128(1),
            program_id: Uuid::from_u128(2),
            input_group_id: Uuid::from_u128(3),
            reservation_id: None,
        };
        assert_eq!(
            serde_json::to_string(&data).unwrap(),
            r#"{"organization_id":"00000000-0000-0000-0000-000000000001","#.to_owned()
                + r#""program_id":"00000000-0000-0000-0000-000000000002","#
                + r#""input_group_id":"00000000-0000-0000-0000-000000000003"}"#
        );
        let with_id = UploadProofData {
            reservation_id: Some(Uuid::from_u128(4)),
            ..data.clone()
        };
        let json = serde_json::to_string(&with_id).unwrap();
        assert!(json.ends_with(r#","reservation_id":"00000000-0000-0000-0000-000000000004"}"#));
        let parsed: UploadProofData = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed, with_id);
    }

    /// Parses `json` as `T`, then the same object with one more field: the first must parse,
    /// the second must not.
    fn refuses_an_extra_field<T: serde::de::DeserializeOwned>(json: &str) {
        let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
        serde_json::from_value::<T>(value.clone()).unwrap();
        value["extra"] = serde_json::Value::Bool(true);
        let refused = serde_json::from_value::<T>(value).err().expect("refused");
        assert!(
            refused.to_string().contains("unknown field `extra`"),
            "{refused}"
        );
    }

    #[test]
    fn every_request_body_refuses_unknown_fields() {
        let id = r#""00000000-0000-0000-0000-000000000002""#;
        refuses_an_extra_field::<ReleaseReservationRequest>(&format!(
            r#"{{"program_id":{id},"input_group_id":{id},"reservation_id":{id}}}"#
        ));
        refuses_an_extra_field::<RegisterRequest>(
            r#"{"username":"u","password":"p","name":"n","description":"d"}"#,
        );
        refuses_an_extra_field::<LoginRequest>(r#"{"username":"u","password":"p"}"#);
        refuses_an_extra_field::<RefreshTokenRequest>(r#"{"refresh_token":"t"}"#);
        refuses_an_extra_field::<DeleteRefreshTokenRequest>(&format!(
            r#"{{"token_id":{id},"refresh_token":"t"}}"#
        ));
        refuses_an_extra_field::<UploadInputsData>(r#"{"name":"n"}"#);
        refuses_an_extra_field::<UploadProofData>(&format!(
            r#"{{"organization_id":{id},"program_id":{id},"input_group_id":{id}}}"#
        ));
        refuses_an_extra_field::<UploadProgramData>(
            r#"{"name":"p","description":"","execution_timeout":60,
                "min_conjectured_security_bits":110}"#,
        );
    }

    #[test]
    fn a_program_upload_without_a_policy_takes_the_defaults() {
        let data: UploadProgramData =
            serde_json::from_str(r#"{"name":"p","description":"","execution_timeout":60}"#)
                .unwrap();
        assert_eq!(data.policy, ProofPolicy::default());
        assert_eq!(data.policy.min_conjectured_security_bits, 100);
        assert_eq!(data.policy.min_provable_security_bits, 0);
        let strict: UploadProgramData = serde_json::from_str(
            r#"{"name":"p","description":"","execution_timeout":60,
                "min_conjectured_security_bits":110,"min_provable_security_bits":80}"#,
        )
        .unwrap();
        assert_eq!(
            strict.policy,
            ProofPolicy {
                min_conjectured_security_bits: 110,
                min_provable_security_bits: 80
            }
        );
        let json = serde_json::to_value(&strict).unwrap();
        assert_eq!(json["min_provable_security_bits"], 80);
    }
}
