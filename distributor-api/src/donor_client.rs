//! The donor routes of [`Client`]: registration, key rotation, teams, leaderboards, progress.

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::client::{encode, json};
use crate::donors::*;
use crate::paths::{self, fill};
use crate::signing::{self, DonorKey};
use crate::{Client, ClientError};

impl Client {
    /// Registers this client's donor key (see [`Client::with_donor`]) under `name`.
    pub async fn register_donor(&self, name: &str) -> Result<Uuid, ClientError> {
        let body = RegisterDonorRequest {
            name: name.to_string(),
        };
        let answer: DonorRegistered = self.signed_json(paths::DONOR_REGISTER, &body).await?;
        Ok(answer.donor_id)
    }

    /// Replaces the donor's key by `new_key` (signed with the current key; the new key signs the
    /// rotation message). Use a client `with_donor(new_key)` afterwards.
    pub async fn rotate_donor_key(
        &self,
        donor_id: Uuid,
        new_key: &DonorKey,
    ) -> Result<(), ClientError> {
        let body = RotateKeyRequest {
            new_public_key: new_key.public_hex(),
            new_key_signature: new_key
                .sign_hex(&signing::rotation_message(&donor_id, &new_key.public())),
        };
        self.signed_json(paths::DONOR_KEY, &body).await
    }

    /// Joins the team `team_id`, or leaves the donor's team with `None`.
    pub async fn join_team(&self, team_id: Option<Uuid>) -> Result<(), ClientError> {
        self.signed_json(paths::DONOR_TEAM, &JoinTeamRequest { team_id })
            .await
    }

    /// Creates a team, which the donor joins.
    pub async fn create_team(&self, name: &str, description: &str) -> Result<Uuid, ClientError> {
        let body = CreateTeamRequest {
            name: name.to_string(),
            description: description.to_string(),
        };
        let answer: TeamCreated = self.signed_json(paths::TEAM_CREATE, &body).await?;
        Ok(answer.team_id)
    }

    /// The donor leaderboard.
    pub async fn donors(&self, query: &LeaderboardQuery) -> Result<DonorsPage, ClientError> {
        json(self.request(Method::GET, paths::DONORS).query(query)).await
    }

    pub async fn donor(&self, donor_id: Uuid) -> Result<DonorProfile, ClientError> {
        json(self.request(Method::GET, &fill(paths::DONOR, &[&donor_id]))).await
    }

    /// The team leaderboard (all-time steps; `period` is not used).
    pub async fn teams(&self, query: &LeaderboardQuery) -> Result<TeamsPage, ClientError> {
        json(self.request(Method::GET, paths::TEAMS).query(query)).await
    }

    pub async fn team(&self, team_id: Uuid) -> Result<TeamProfile, ClientError> {
        json(self.request(Method::GET, &fill(paths::TEAM, &[&team_id]))).await
    }

    /// A program's public progress.
    pub async fn program_progress(&self, program_id: Uuid) -> Result<ProgramProgress, ClientError> {
        json(self.request(Method::GET, &fill(paths::PROGRAM_PROGRESS, &[&program_id]))).await
    }

    /// Publishes or hides the progress of the caller's program (needs a token).
    pub async fn set_progress_public(
        &self,
        program_id: Uuid,
        public: bool,
    ) -> Result<(), ClientError> {
        let path = fill(paths::PROGRAM_PROGRESS, &[&program_id]);
        json(
            self.request(Method::PUT, &path)
                .json(&ProgressVisibility { public }),
        )
        .await
    }

    /// POSTs `body` as JSON to `path`, signed with the donor key.
    async fn signed_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let body = encode(body)?.into_bytes();
        let hash = signing::body_hash(&body);
        json(
            self.signed(Method::POST, path, &hash)?
                .header(CONTENT_TYPE, "application/json")
                .body(body),
        )
        .await
    }
}
