//! Donors, credit, teams and public progress: the bodies of the donor routes.
//!
//! A donor is an Ed25519 key with a display name ([`crate::signing`] says how requests are
//! signed). Credit is what the server verified itself: a donor whose signed proof upload is
//! accepted earns the proof's Cairo steps and one job; a donor whose signed execution is accepted
//! (execution-only mode) earns [`EXECUTION_CREDIT_PERCENT`] % of the replayed steps and one job,
//! and the prover of that execution later earns the proof's credit in full.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The share (percent, rounded down) of an execution's replayed steps credited to the donor who
/// executed it, in execution-only mode. Replaying costs a small fraction of proving, and the
/// prover is credited with the whole proof.
pub const EXECUTION_CREDIT_PERCENT: i64 = 25;

/// Days of history a donor page and a progress page show.
pub const HISTORY_DAYS: i64 = 30;

/// The most donors a program's progress or a team's page lists.
pub const TOP_DONORS: i64 = 10;

/// `POST /donor` (signed by the key being registered): registers the signing key under `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterDonorRequest {
    /// The public display name (validated like an organization's name, unique ignoring case).
    pub name: String,
}

/// Answer of `POST /donor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DonorRegistered {
    pub donor_id: Uuid,
}

/// `POST /donor/key` (signed by the donor's current key): the donor's new key, which signs
/// [`crate::signing::rotation_message`] to show it is held. The credit stays with the donor; the
/// old key stops working at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKeyRequest {
    /// 64 hex digits.
    pub new_public_key: String,
    /// The new key's signature of the rotation message, 128 hex digits.
    pub new_key_signature: String,
}

/// `POST /donor/team` (signed): joins a team (a donor is in one team at most), or leaves its
/// team when `team_id` is `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinTeamRequest {
    pub team_id: Option<Uuid>,
}

/// `POST /team` (signed): creates a team; its creator joins it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamRequest {
    pub name: String,
    pub description: String,
}

/// Answer of `POST /team`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamCreated {
    pub team_id: Uuid,
}

/// Which credit a leaderboard ranks by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Everything since the donor registered.
    #[default]
    All,
    /// The last 24 hours.
    Day,
}

/// Query of `GET /donors` and `GET /teams`: a page (`limit` 1..=50, default 10; `page` from 1)
/// and the period to rank by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
}

/// Steps and jobs credited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    /// Cairo steps: proven ones, plus the execution share of replayed ones.
    pub steps: i64,
    /// Accepted proofs and executions.
    pub jobs: i64,
}

/// A donor on a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedDonor {
    /// 1 for the first; donors with equal steps are ordered by id.
    pub rank: i64,
    pub donor_id: Uuid,
    pub name: String,
    pub team_id: Option<Uuid>,
    /// The credit in the period ranked by.
    #[serde(flatten)]
    pub credit: Credit,
}

/// Answer of `GET /donors`. Only donors with credit in the period are ranked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DonorsPage {
    pub period: Period,
    pub donors: Vec<RankedDonor>,
    pub total_elements_amount: i64,
}

/// A donor's credit for one program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramCredit {
    pub program_id: Uuid,
    /// `None` once the program was deleted (its credit stays).
    pub program_name: Option<String>,
    #[serde(flatten)]
    pub credit: Credit,
}

/// Credit earned on one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyCredit {
    pub day: NaiveDate,
    #[serde(flatten)]
    pub credit: Credit,
}

/// Answer of `GET /donor/{donor_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DonorProfile {
    pub donor_id: Uuid,
    pub name: String,
    /// The current public key (hex).
    pub public_key: String,
    pub team_id: Option<Uuid>,
    pub team_name: Option<String>,
    /// Everything credited.
    pub total: Credit,
    /// Credited in the last 24 hours.
    pub last_day: Credit,
    /// Place on the all-time leaderboard (`None` without credit).
    pub rank: Option<i64>,
    /// When the donor registered.
    pub first_seen: DateTime<Utc>,
    /// Its last signed request.
    pub last_seen: DateTime<Utc>,
    /// Credit per program, most steps first.
    pub programs: Vec<ProgramCredit>,
    /// Credit per day over the last [`HISTORY_DAYS`] days (days without credit left out).
    pub days: Vec<DailyCredit>,
}

/// A team and its credit (the sum of its members').
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// Place by all-time steps.
    pub rank: i64,
    pub team_id: Uuid,
    pub name: String,
    pub description: String,
    pub members: i64,
    #[serde(flatten)]
    pub credit: Credit,
}

/// Answer of `GET /teams`, all-time steps first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamsPage {
    pub teams: Vec<Team>,
    pub total_elements_amount: i64,
}

/// Answer of `GET /team/{team_id}`: the team and its [`TOP_DONORS`] best members (all time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamProfile {
    pub team: Team,
    pub top_members: Vec<RankedDonor>,
}

/// Answer of `GET /program/progress/{program_id}` (public unless its organization turned it
/// off): the input groups by state, the steps proven, who contributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramProgress {
    pub program_id: Uuid,
    pub name: String,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub total: i64,
    pub uploaded: i64,
    pub reserved: i64,
    pub executed: i64,
    pub proven: i64,
    pub confirmed: i64,
    pub failed: i64,
    /// Cairo steps of the input groups proven (waiting or confirmed).
    pub steps_proven: i64,
    /// Registered donors credited for this program.
    pub donors_contributing: i64,
    /// The [`TOP_DONORS`] registered donors with the most steps on this program.
    pub top_donors: Vec<RankedDonor>,
    /// Credit earned on this program per day over the last [`HISTORY_DAYS`] days.
    pub days: Vec<DailyCredit>,
}

/// `PUT /program/progress/{program_id}` (owner): whether the program's progress is public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressVisibility {
    pub public: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_is_flat_on_the_wire() {
        let donor = RankedDonor {
            rank: 1,
            donor_id: Uuid::from_u128(1),
            name: "ada".into(),
            team_id: None,
            credit: Credit { steps: 9, jobs: 2 },
        };
        let json = serde_json::to_value(&donor).unwrap();
        assert_eq!(json["steps"], 9);
        assert_eq!(json["jobs"], 2);
        assert_eq!(serde_json::from_value::<RankedDonor>(json).unwrap(), donor);
    }

    #[test]
    fn periods_travel_in_snake_case() {
        let query: LeaderboardQuery = serde_json::from_str(r#"{"period":"day"}"#).unwrap();
        assert_eq!(query.period, Some(Period::Day));
        assert!(serde_json::from_str::<RegisterDonorRequest>(r#"{"name":"a","x":1}"#).is_err());
    }
}
