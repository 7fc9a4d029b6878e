//! Rows as stored.

use diesel::prelude::*;
use distributor_api::ProofPolicy;

use super::schema::{accounts, input_groups, programs, refresh_tokens};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub name: String,
    pub description: String,
    pub created_at: i64,
    /// The username's uniqueness and lookup key (`domain::text::unique_key`).
    pub username_key: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct OrganizationRow {
    pub id: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: String,
    pub account_id: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = programs)]
pub struct ProgramRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub description: String,
    pub lock_timeout_secs: i64,
    pub created_at: i64,
    /// The verification policy (`domain::fields::Policy`): least conjectured and provable bits.
    pub min_conjectured_bits: i32,
    pub min_provable_bits: i32,
    /// Failed runs an input group may have before it is `failed` (no longer handed out).
    pub max_failures: i32,
    /// The name's uniqueness key within its organization (`domain::text::unique_key`).
    pub name_key: String,
}

impl ProgramRow {
    /// The program's verification policy. A corrupt (negative) column reads as a demand no proof
    /// meets, which refuses proofs rather than accepting weak ones.
    pub fn policy(&self) -> ProofPolicy {
        let bits = |column: i32| u32::try_from(column).unwrap_or(u32::MAX);
        ProofPolicy {
            min_conjectured_security_bits: bits(self.min_conjectured_bits),
            min_provable_security_bits: bits(self.min_provable_bits),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = input_groups)]
pub struct InputGroupRow {
    pub id: String,
    pub program_id: String,
    pub name: String,
    pub created_at: i64,
    pub last_reserved: Option<i64>,
    pub lock_expires: i64,
    pub proven: bool,
    pub proven_at: Option<i64>,
    pub confirmed: bool,
    pub proof_id: Option<String>,
    /// The Cairo steps the accepted proof proves (`None` until proven, and after a reject).
    pub steps: Option<i64>,
    /// The accepted execution file of an unproven group (execution-only mode), waiting for a
    /// prover; `None` when it has none and once the group is proven.
    pub execution_id: Option<String>,
    /// The id of the group's current reservation (its holder's secret); meaningful only while
    /// `lock_expires` is in the future, cleared whenever the lock is.
    pub reservation_id: Option<String>,
    /// Failed runs reported since the group was uploaded or last retried.
    pub failures: i32,
    /// Whether `failures` reached the program's maximum: the group is no longer handed out.
    pub failed: bool,
    /// The reports behind `failures`, oldest first: a JSON array of
    /// [`distributor_api::FailureRecord`] (`None` when there are none).
    pub failure_log: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = input_groups)]
pub struct NewInputGroup {
    pub id: String,
    pub program_id: String,
    pub name: String,
    pub created_at: i64,
}

/// A registered donor.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::donors)]
pub struct DonorRow {
    pub id: String,
    /// The current Ed25519 public key, 64 lower-case hex digits.
    pub public_key: String,
    pub name: String,
    /// The name's uniqueness key (`domain::text::unique_key`).
    pub name_key: String,
    pub team_id: Option<String>,
    pub created_at: i64,
    /// The last signed request.
    pub last_seen_at: i64,
    /// All-time credit (the sum of the donor's credit entries, kept in step with them).
    pub total_steps: i64,
    pub total_jobs: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::teams)]
pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub created_at: i64,
}

/// Credit for one accepted proof or execution of a registered donor.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::credit_entries)]
pub struct CreditEntryRow {
    pub id: String,
    pub donor_id: String,
    pub program_id: String,
    pub input_group_id: String,
    /// `proof` or `execution`.
    pub kind: String,
    /// The stored proof's or execution's id: one accepted file is credited once.
    pub object_id: String,
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    pub created_at: i64,
    pub steps: i64,
    pub jobs: i64,
}

/// An upload refused by the server's check of its file.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::refusals)]
pub struct RefusalRow {
    pub id: String,
    pub program_id: String,
    pub input_group_id: String,
    /// `proof` or `execution`.
    pub kind: String,
    /// The error code the upload was answered with.
    pub code: String,
    pub message: String,
    /// The registered donor who signed the upload.
    pub donor_id: Option<String>,
    pub created_at: i64,
}
