//! Donors and teams: registration (signed by the key registered), key rotation and team
//! membership (signed by the donor), and the public leaderboards and pages.

use actix_web::{web, HttpRequest, HttpResponse};
use distributor_api::signing;
use distributor_api::{
    CreateTeamRequest, Credit, DonorProfile, DonorRegistered, DonorsPage, ErrorCode,
    JoinTeamRequest, LeaderboardQuery, Period, ProgramCredit, RankedDonor, RegisterDonorRequest,
    RotateKeyRequest, Team, TeamCreated, TeamProfile, TeamsPage, TOP_DONORS,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::convert::{self, days, history_start, stored_id};
use super::success;
use crate::db::models::{DonorRow, TeamRow};
use crate::db::now_millis;
use crate::db::queries::credit::{self, Scope, Sums, DAY_MILLIS};
use crate::db::queries::donors::{self, Taken, TeamStanding};
use crate::db::queries::Window;
use crate::domain::fields::{Description, Name};
use crate::domain::pagination::Pagination;
use crate::domain::parse_id;
use crate::error::ApiError;
use crate::signature::{self, Signer};
use crate::startup::AppState;

/// A signed JSON request: its signer and its body.
async fn signed_json<T: DeserializeOwned>(
    state: &AppState,
    request: &HttpRequest,
    body: &[u8],
) -> Result<(Signer, T), ApiError> {
    let signer = signature::check(state, request, &signing::body_hash(body))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidSignature,
                "this route must be signed with the donor's key (the donor-* headers)",
            )
        })?;
    let parsed = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("invalid JSON body: {e}")))?;
    Ok((signer, parsed))
}

/// `POST /donor`: registers the key that signed the request, under a unique display name.
pub async fn register(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    state.rates.register(&request)?;
    let (signer, body): (_, RegisterDonorRequest) = signed_json(&state, &request, &body).await?;
    if signer.donor.is_some() {
        return Err(key_taken());
    }
    let name = Name::parse("name", &body.name)?;
    let now = now_millis();
    let row = DonorRow {
        id: Uuid::new_v4().to_string(),
        public_key: signer.key,
        name_key: name.key(),
        name: name.into_inner(),
        team_id: None,
        created_at: now,
        last_seen_at: now,
        total_steps: 0,
        total_jobs: 0,
    };
    let id = row.id.clone();
    match state
        .db
        .write(move |conn| donors::insert(conn, &row))
        .await?
    {
        Ok(()) => Ok(success(DonorRegistered {
            donor_id: stored_id(&id)?,
        })),
        Err(Taken::Key) => Err(key_taken()),
        Err(Taken::Name) => Err(ApiError::new(
            ErrorCode::DonorNameTaken,
            "another donor has this name (names are compared ignoring case); choose another",
        )),
    }
}

fn key_taken() -> ApiError {
    ApiError::new(
        ErrorCode::DonorKeyTaken,
        "this public key is registered already; a key belongs to one donor",
    )
}

/// `POST /donor/key`: the donor (signing with its current key) moves to a new key, which signs
/// the rotation message. Its credit stays; the old key stops working at once.
pub async fn rotate_key(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (signer, body): (_, RotateKeyRequest) = signed_json(&state, &request, &body).await?;
    let old_key = signer.key.clone();
    let donor = signer.registered()?;
    let new_key = signing::parse_key(&body.new_public_key)
        .map_err(|e| ApiError::invalid_request(format!("`new_public_key`: {e}")))?;
    let proof = signing::rotation_message(&stored_id(&donor.id)?, &new_key);
    signing::verify(&new_key, &proof, &body.new_key_signature).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidSignature,
            format!("`new_key_signature` (by the new key, of the rotation message): {e}"),
        )
    })?;
    let new_key = signing::hex(&new_key);
    let rotated = state
        .db
        .write(move |conn| donors::rotate_key(conn, &donor.id, &old_key, &new_key))
        .await?;
    match rotated {
        Ok(true) => Ok(success(())),
        Ok(false) => Err(ApiError::new(
            ErrorCode::InvalidSignature,
            "the signing key was rotated meanwhile; sign with the donor's current key",
        )),
        Err(()) => Err(key_taken()),
    }
}

/// `POST /donor/team`: joins a team, or leaves the current one (`team_id: null`).
pub async fn join_team(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (signer, body): (_, JoinTeamRequest) = signed_json(&state, &request, &body).await?;
    let donor = signer.registered()?;
    let team = body.team_id.map(|id| id.to_string());
    let joined = state
        .db
        .write(move |conn| {
            if let Some(team) = &team {
                if donors::find_team(conn, team)?.is_none() {
                    return Ok(false);
                }
            }
            donors::set_team(conn, &donor.id, team.as_deref())?;
            Ok(true)
        })
        .await?;
    if !joined {
        return Err(team_not_found());
    }
    Ok(success(()))
}

/// `POST /team`: creates a team, which its creator joins (leaving its team if it had one).
pub async fn create_team(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (signer, body): (_, CreateTeamRequest) = signed_json(&state, &request, &body).await?;
    let donor = signer.registered()?;
    let name = Name::parse("name", &body.name)?;
    let row = TeamRow {
        id: Uuid::new_v4().to_string(),
        name_key: name.key(),
        name: name.into_inner(),
        description: Description::parse(&body.description)?.into_inner(),
        created_at: now_millis(),
    };
    let id = row.id.clone();
    let created = state
        .db
        .write(move |conn| {
            if !donors::insert_team(conn, &row)? {
                return Ok(false);
            }
            donors::set_team(conn, &donor.id, Some(&row.id))?;
            Ok(true)
        })
        .await?;
    if !created {
        return Err(ApiError::new(
            ErrorCode::TeamNameTaken,
            "another team has this name (names are compared ignoring case)",
        ));
    }
    Ok(success(TeamCreated {
        team_id: stored_id(&id)?,
    }))
}

fn team_not_found() -> ApiError {
    ApiError::new(ErrorCode::TeamNotFound, "no such team")
}

fn donor_not_found() -> ApiError {
    ApiError::new(ErrorCode::DonorNotFound, "no such donor")
}

/// `GET /donors`: the leaderboard by all-time steps (`period=all`, the default) or by the steps
/// of the last 24 hours (`period=day`).
pub async fn leaderboard(
    state: web::Data<AppState>,
    query: web::Query<LeaderboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let window = Pagination::parse(query.limit, query.page)?.window();
    let period = query.period.unwrap_or_default();
    let since = state.clock.now_millis() - DAY_MILLIS;
    let (donors, total) = state
        .db
        .run(move |conn| match period {
            Period::All => {
                let (rows, total) = credit::ranking(conn, window)?;
                let sums = rows
                    .iter()
                    .map(|r| (r.id.clone(), r.total_steps, r.total_jobs))
                    .collect();
                Ok((named(rows, sums), total))
            }
            Period::Day => {
                let (sums, total) = credit::ranking_since(conn, since, window)?;
                let ids: Vec<String> = sums.iter().map(|s| s.0.clone()).collect();
                Ok((named(donors::find_all(conn, &ids)?, sums), total))
            }
        })
        .await?;
    Ok(success(DonorsPage {
        period,
        donors: ranked(donors, window)?,
        total_elements_amount: total,
    }))
}

/// `sums` (in rank order) with the rows of their donors.
fn named(rows: Vec<DonorRow>, sums: Sums) -> Vec<(DonorRow, Credit)> {
    sums.into_iter()
        .filter_map(|(id, steps, jobs)| {
            let row = rows.iter().find(|r| r.id == id)?.clone();
            Some((row, Credit { steps, jobs }))
        })
        .collect()
}

/// Leaderboard lines, ranked from the window's first row.
pub(super) fn ranked(
    donors: Vec<(DonorRow, Credit)>,
    window: Window,
) -> Result<Vec<RankedDonor>, ApiError> {
    donors
        .into_iter()
        .enumerate()
        .map(|(i, (row, credit))| {
            Ok(RankedDonor {
                rank: window.offset + i as i64 + 1,
                donor_id: stored_id(&row.id)?,
                name: row.name,
                team_id: row.team_id.as_deref().map(stored_id).transpose()?,
                credit,
            })
        })
        .collect()
}

/// What a donor page shows besides the donor's row.
struct ProfileParts {
    team_name: Option<String>,
    rank: Option<i64>,
    last_day: (i64, i64),
    programs: Sums,
    names: Vec<(String, String)>,
    days: Vec<(i64, i64, i64)>,
}

/// `GET /donor/{donor_id}`.
pub async fn profile(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path).ok_or_else(donor_not_found)?.to_string();
    let now = state.clock.now_millis();
    let found = state
        .db
        .run(move |conn| {
            let Some(donor) = donors::find(conn, &id)? else {
                return Ok(None);
            };
            let team_name = match &donor.team_id {
                Some(team) => donors::find_team(conn, team)?.map(|t| t.name),
                None => None,
            };
            let programs = credit::donor_programs(conn, &donor.id)?;
            let ids: Vec<String> = programs.iter().map(|p| p.0.clone()).collect();
            let parts = ProfileParts {
                team_name,
                rank: (donor.total_jobs > 0)
                    .then(|| credit::rank(conn, &donor))
                    .transpose()?,
                last_day: credit::donor_since(conn, &donor.id, now - DAY_MILLIS)?,
                names: credit::program_names(conn, &ids)?,
                programs,
                days: credit::per_day(conn, Scope::Donor(&donor.id), history_start(now))?,
            };
            Ok(Some((donor, parts)))
        })
        .await?;
    let (donor, parts) = found.ok_or_else(donor_not_found)?;
    Ok(success(donor_profile(donor, parts)?))
}

fn donor_profile(donor: DonorRow, parts: ProfileParts) -> Result<DonorProfile, ApiError> {
    let programs = parts
        .programs
        .into_iter()
        .map(|(id, steps, jobs)| {
            Ok(ProgramCredit {
                program_id: stored_id(&id)?,
                program_name: parts
                    .names
                    .iter()
                    .find(|(p, _)| *p == id)
                    .map(|(_, n)| n.clone()),
                credit: Credit { steps, jobs },
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(DonorProfile {
        donor_id: stored_id(&donor.id)?,
        name: donor.name,
        public_key: donor.public_key,
        team_id: donor.team_id.as_deref().map(stored_id).transpose()?,
        team_name: parts.team_name,
        total: Credit {
            steps: donor.total_steps,
            jobs: donor.total_jobs,
        },
        last_day: Credit {
            steps: parts.last_day.0,
            jobs: parts.last_day.1,
        },
        rank: parts.rank,
        first_seen: convert::time(donor.created_at),
        last_seen: convert::time(donor.last_seen_at),
        programs,
        days: days(parts.days),
    })
}

fn team(rank: usize, standing: TeamStanding) -> Result<Team, ApiError> {
    Ok(Team {
        rank: rank as i64 + 1,
        team_id: stored_id(&standing.row.id)?,
        name: standing.row.name,
        description: standing.row.description,
        members: standing.members,
        credit: Credit {
            steps: standing.steps,
            jobs: standing.jobs,
        },
    })
}

/// `GET /teams`: the teams by their members' all-time steps.
pub async fn teams(
    state: web::Data<AppState>,
    query: web::Query<LeaderboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let window = Pagination::parse(query.limit, query.page)?.window();
    let ranking = state.db.run(donors::team_ranking).await?;
    let total = ranking.len() as i64;
    let teams = ranking
        .into_iter()
        .enumerate()
        .skip(usize::try_from(window.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(window.limit).unwrap_or(0))
        .map(|(rank, standing)| team(rank, standing))
        .collect::<Result<_, _>>()?;
    Ok(success(TeamsPage {
        teams,
        total_elements_amount: total,
    }))
}

/// `GET /team/{team_id}`: the team and its best members.
pub async fn team_page(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path).ok_or_else(team_not_found)?.to_string();
    let top = Window {
        limit: TOP_DONORS,
        offset: 0,
    };
    let found = state
        .db
        .run(move |conn| {
            let ranking = donors::team_ranking(conn)?;
            let Some(place) = ranking.iter().position(|t| t.row.id == id) else {
                return Ok(None);
            };
            let members = donors::team_members(conn, &id, top)?;
            let standing = ranking.into_iter().nth(place);
            Ok(standing.map(|s| (place, s, members)))
        })
        .await?;
    let (place, standing, members) = found.ok_or_else(team_not_found)?;
    let members = members
        .into_iter()
        .map(|row| {
            let credit = Credit {
                steps: row.total_steps,
                jobs: row.total_jobs,
            };
            (row, credit)
        })
        .collect();
    Ok(success(TeamProfile {
        team: team(place, standing)?,
        top_members: ranked(members, top)?,
    }))
}
